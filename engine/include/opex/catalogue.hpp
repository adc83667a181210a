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

/// Where a tool runs: the connector type named by `target.type` and that connector's own keys.
/// YAML (tools.yml, `targets.overrides`): `{type: webhook, url, method, headers}`,
/// `{type: mcp_tool, mcp_server|server, tool_name}`, `{type: builtin, name}`,
/// `{type: n8n_api, operation}`, `{type: llm, name}`; any other type a registered connector
/// factory knows. The catalogue only reads the envelope; each connector's factory checks its
/// own keys at start-up (docs/architecture.md, "Adding a connector").
struct tool_target {
  /// The connector type ("webhook", "mcp_tool", ...); "" = the tool cannot run (no builtin and
  /// no reachable target).
  std::string type;
  /// The mapping's other keys, as written (strings, numbers, objects).
  boost::json::object spec;

  /// The target of `type` with `spec`.
  static tool_target of(std::string type, boost::json::object spec = {});
  /// `spec[key]` when it is a string, else `fallback`.
  std::string text(std::string_view key, std::string_view fallback = {}) const;
};

/// Reads a target mapping (`{type: ..., ...}`): `type` must be a non-empty string, the other keys
/// become the spec unchecked. Errors: CONFIG_ERROR {path: origin, key: where, reason}.
result<tool_target> parse_tool_target(const boost::json::value& v, std::string_view origin,
                                      const std::string& where);

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
  /// Words and phrases that name the tool in requests (opex extension; matched accent- and
  /// case-insensitively on word boundaries): the rule planner's tool choice among a planning
  /// entry's alternatives (docs/kimmy.md, "Tool choice").
  std::vector<std::string> keywords;

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
