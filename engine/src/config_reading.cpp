// The helpers opex.yml's section readers share, and the table of sections in reading order.
#include "config_reading.hpp"

#include "opex/json_util.hpp"

#include <yaml-cpp/yaml.h>

#include <array>
#include <charconv>
#include <cctype>
#include <filesystem>

namespace opex::config_detail {

namespace json = boost::json;
namespace fs = std::filesystem;

error_info config_error(std::string_view origin, std::string_view key, std::string reason) {
  return make_error(error_code::config_error,
                    std::string(origin) + ": " + std::string(key) + ": " + reason,
                    json::object{{"path", origin}, {"key", key}, {"reason", reason}});
}

const json::object* object_at(const json::object& obj, std::string_view key) {
  const auto* v = get_member(obj, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::vector<std::string> strings_at(const json::object& obj, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = get_member(obj, key); v && v->is_array())
    for (const auto& item : v->get_array()) {
      if (item.is_string())
        out.emplace_back(item.get_string());
      else if (item.is_int64())
        out.push_back(std::to_string(item.get_int64()));
    }
  return out;
}

std::optional<double> number_at(const json::object& obj, std::string_view key) {
  if (const auto* v = get_member(obj, key); v && v->is_number())
    return v->to_number<double>();
  return std::nullopt;
}

std::optional<int> int_at(const json::object& obj, std::string_view key) {
  if (const auto* v = get_member(obj, key); v && v->is_int64())
    return static_cast<int>(v->get_int64());
  return std::nullopt;
}

/// True for header names that carry credentials (they must be env:/file: references).
bool secret_looking(std::string_view name) {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (std::string_view word : {"auth", "token", "key", "secret", "password", "cookie"})
    if (lower.find(word) != std::string::npos)
      return true;
  return false;
}

bool is_reference(std::string_view v) { return v.starts_with("env:") || v.starts_with("file:"); }

std::map<std::string, std::string> string_map_at(const json::object& obj, std::string_view key) {
  std::map<std::string, std::string> out;
  if (const auto* o = object_at(obj, key))
    for (const auto& kv : *o)
      if (kv.value().is_string())
        out[std::string(kv.key())] = std::string(kv.value().get_string());
  return out;
}

std::string resolve_path(const std::string& base_dir, std::string_view p) {
  fs::path path{std::string(p)};
  if (path.is_relative() && !base_dir.empty())
    path = fs::path(base_dir) / path;
  return path.lexically_normal().string();
}

std::string anchor_reference(const std::string& base_dir, const std::string& value) {
  if (!value.starts_with("file:") || value.size() == 5 || value[5] == '/')
    return value;
  return "file:" + resolve_path(base_dir, value.substr(5));
}

std::string section_schema_id(std::string_view key) {
  return "schemas/config/sections/" + std::string(key) + ".schema.json";
}

namespace {

/// The keys and indices of a valijson context ("<root>[execution][retry]" -> execution, retry).
std::vector<std::string> context_path(std::string_view where) {
  std::vector<std::string> path;
  for (auto open = where.find('['); open != std::string_view::npos; open = where.find('[', open + 1)) {
    auto close = where.find(']', open);
    if (close == std::string_view::npos)
      break;
    path.emplace_back(where.substr(open + 1, close - open - 1));
  }
  return path;
}

/// The mark of the deepest YAML node of `path` that exists (const lookups: nothing is inserted).
YAML::Mark mark_at(const YAML::Node& node, const std::vector<std::string>& path, std::size_t i) {
  if (i == path.size())
    return node.Mark();
  if (node.IsMap()) {
    const YAML::Node next = node[path[i]];
    return next.IsDefined() ? mark_at(next, path, i + 1) : node.Mark();
  }
  std::size_t index = 0;
  const auto& step = path[i];
  auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), index);
  if (!node.IsSequence() || ec != std::errc{} || end != step.data() + step.size() || index >= node.size())
    return node.Mark();
  const YAML::Node next = node[index];
  return mark_at(next, path, i + 1);
}

/// "line L, column C" of the YAML node at `path` (the deepest one that exists), "" when unknown.
std::string yaml_position(const YAML::Node& root, const std::vector<std::string>& path) {
  if (!root.IsDefined() || root.IsNull())
    return "";
  auto mark = mark_at(root, path, 0);
  if (mark.line < 0)
    return "";
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

} // namespace

std::vector<std::string> schema_violations(const schema_registry& schemas, std::string_view schema_id,
                                           const boost::json::value& value, std::string_view key,
                                           const YAML::Node& yaml) {
  std::vector<std::string> out;
  for (const auto& v : schemas.validate(schema_id, value)) {
    auto colon = v.find(": ");
    std::string where = v.substr(0, colon == std::string::npos ? 0 : colon);
    std::string reason = colon == std::string::npos ? v : v.substr(colon + 2);
    if (reason.starts_with("Failed to validate against schema associated with"))
      continue;  // the parent of a violation already listed
    auto path = context_path(where);
    if (!key.empty())
      path.insert(path.begin(), std::string(key));
    std::string shown = "<root>";
    for (const auto& p : path)
      shown += "[" + p + "]";
    // An unknown key: point at the key itself, not at its mapping.
    constexpr std::string_view unknown = "'additionalProperties' constraints: '";
    auto position_path = path;
    if (auto k = reason.find(unknown); k != std::string::npos) {
      auto name_at = k + unknown.size();
      position_path.push_back(reason.substr(name_at, reason.find('\'', name_at) - name_at));
    }
    auto at = yaml_position(yaml, position_path);
    out.push_back(shown + ": " + reason + (at.empty() ? "" : " (" + at + ")"));
  }
  return out;
}

std::span<const config_section> config_sections() noexcept {
  static constexpr std::array<config_section, 23> all{{
    {"storage", read_storage},
    {"journal", read_journal},
    {"targets", read_targets},
    {"kimmy", read_kimmy},
    {"prolex", read_prolex, true},  // the default planning table when absent
    {"execution", read_execution},
    {"circuit_breaker", read_circuit_breaker},
    {"server", read_server},
    {"idempotency", read_idempotency},
    {"masking", read_masking},
    {"tenants", read_tenants},
    {"approvals", read_approvals},
    {"guard", read_guard},
    {"protected_workflows", read_protected_workflows, true},  // the default list when absent
    {"tool_costs", read_tool_costs},
    {"secrets", read_secrets},
    {"mcp", read_mcp},
    {"llm", read_llm},
    {"n8n", read_n8n},  // after llm: its design model is one of llm's endpoints
    {"tracing", read_tracing},
    {"logging", read_logging},
    {"alerts", read_alerts},
    {"improvement", read_improvement},
  }};
  return all;
}

} // namespace opex::config_detail
