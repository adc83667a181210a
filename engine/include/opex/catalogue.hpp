// The tool catalogue in the reference tools.yml format (rag/tools/tools.yml of Prolex v4, loaded
// unchanged) plus opex's extension keys, and the resolution of each tool's target.
#pragma once

#include "opex/error.hpp"

#include <boost/json/object.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex {

/// Connector kinds a tool may target (DESIGN.md §7). `none` marks a tool that cannot run
/// (no builtin and no reachable target).
enum class target_type { webhook, mcp_tool, n8n_api, builtin, llm, none };

std::string_view target_type_name(target_type t) noexcept;

/// Where a tool runs.
/// YAML: webhook `{type: webhook, url, method}`; MCP `{type: mcp_tool, mcp_server|server,
/// tool_name}`; `{type: builtin, name}`; `{type: n8n_api, operation}`; `{type: llm}`.
struct tool_target {
  target_type type = target_type::none;
  std::string url;             ///< webhook
  std::string method = "POST"; ///< webhook
  std::string server;          ///< mcp_tool
  std::string tool_name;       ///< mcp_tool
  std::string name;            ///< builtin implementation name; n8n_api operation
  /// webhook: extra request headers; a value "secret:NAME" is the calling tenant's secret NAME
  /// (scope tenant/<slug>/NAME), resolved per call and never journaled (opex extension key).
  std::map<std::string, std::string> headers;
};

/// `constraints:` of a tool (reference tools.yml).
struct tool_constraints {
  std::optional<int> max_executions_per_day;
  std::vector<std::string> requires_context;
  std::vector<std::string> allowed_environments;
  bool requires_confirmation = false;
};

/// One catalogue entry. Reference keys: id, name, description, category, risk_level
/// (low|medium|high), auto_allowed_levels, target, payload_schema, response_schema,
/// constraints, examples. opex extension keys: cost_usd (estimate per call, USD),
/// timeout_ms (per attempt), retry (retry policy object).
struct tool_definition {
  std::string id;
  std::string name;
  std::string description;
  std::string category;
  std::string risk_level = "low";
  std::vector<int> auto_allowed_levels;
  tool_target target;
  std::string payload_schema;   ///< path as written in the catalogue, "" when none
  std::string response_schema;  ///< idem
  tool_constraints constraints;
  double cost_usd = 0.0;
  std::optional<int> timeout_ms;
  boost::json::object retry;
  boost::json::array examples;

  /// True when `level` is in auto_allowed_levels.
  bool allowed_at(int level) const noexcept;
};

/// An immutable set of tools, shared by every actor (read-only after load: thread-safe).
class tool_catalogue {
public:
  tool_catalogue() = default;

  /// Loads a reference-format catalogue (a YAML sequence of tools). Unknown keys are refused
  /// with their path (`tools[3].taget`). Errors: CONFIG_ERROR with details {path, reason}.
  static result<tool_catalogue> load_file(const std::string& path);

  /// Same from YAML text (`origin` names it in errors).
  static result<tool_catalogue> load_text(std::string_view yaml, std::string_view origin);

  /// The tool with this id, or nullptr.
  const tool_definition* find(std::string_view id) const noexcept;

  /// Every tool, in catalogue order.
  const std::vector<tool_definition>& tools() const noexcept { return tools_; }

  /// Appends the tools of `other` (opex.yml `extra_catalogues`). Their relative payload and
  /// response schema paths become absolute from `other`'s folder. Errors: CONFIG_ERROR
  /// {path, key: "extra_catalogues", reason} when a tool id is already present.
  error_info append(const tool_catalogue& other);

  /// Mutable access, only while the engine resolves targets at start-up: entries may change,
  /// their ids and their number may not (the index by id is kept).
  std::vector<tool_definition>& mutable_tools() noexcept { return tools_; }

  /// Folder of the file it came from ("" for embedded text): payload_schema paths are looked
  /// up from there and its parents.
  const std::string& origin_dir() const noexcept { return origin_dir_; }

private:
  std::vector<tool_definition> tools_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::string origin_dir_;

  void reindex();
  friend result<tool_catalogue> catalogue_from_json(const boost::json::value& doc, std::string_view origin);
};

} // namespace opex
