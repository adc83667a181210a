// The helpers opex.yml's section readers share, and the table of sections in reading order.
#include "config_reading.hpp"

#include "opex/json_util.hpp"

#include <array>
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

std::span<const config_section> config_sections() noexcept {
  static constexpr std::array<config_section, 19> all{{
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
  }};
  return all;
}

} // namespace opex::config_detail
