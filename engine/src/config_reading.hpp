// Reading opex.yml, one section per reader (config_sections_*.cpp): the helpers they share and
// the section table load_config_text runs in order. Internal to the core.
#pragma once

#include "opex/config.hpp"
#include "opex/error.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace opex::config_detail {

/// Where a configuration comes from: its name in errors and the folder relative paths start from.
struct config_reading {
  std::string_view origin;
  std::string base_dir;
};

/// CONFIG_ERROR "<origin>: <key>: <reason>" with details {path, key, reason}.
error_info config_error(std::string_view origin, std::string_view key, std::string reason);

const boost::json::object* object_at(const boost::json::object& obj, std::string_view key);
/// Strings (and integers, as text) of an array member; empty when absent.
std::vector<std::string> strings_at(const boost::json::object& obj, std::string_view key);
std::optional<double> number_at(const boost::json::object& obj, std::string_view key);
std::optional<int> int_at(const boost::json::object& obj, std::string_view key);
std::map<std::string, std::string> string_map_at(const boost::json::object& obj, std::string_view key);
/// True for header names that carry credentials (they must be env:/file: references).
bool secret_looking(std::string_view name);
/// True for `env:NAME` and `file:PATH`.
bool is_reference(std::string_view v);
/// A relative path from the configuration's folder, normalised.
std::string resolve_path(const std::string& base_dir, std::string_view p);
/// A `file:` reference with a relative path resolves from the configuration's folder.
std::string anchor_reference(const std::string& base_dir, const std::string& value);

/// `rate_limit:` (server or tenant) over `base` (the server's, for a tenant).
rate_limit_settings rate_limit_from(const boost::json::object& o, rate_limit_settings base);
/// `signatures:` (server or tenant); a `file:` secret resolves from the configuration's folder.
signature_settings signatures_from(const boost::json::object& o, const std::string& base_dir);

/// One top-level section of opex.yml. `read` gets the section's value (null when absent, for
/// sections with `always`, which fill defaults then) and returns the first error.
struct config_section {
  std::string_view key;
  error_info (*read)(const boost::json::value& section, opex_config& cfg, const config_reading& r);
  bool always = false;
};

/// The schema fragment of section `key`: schemas/config/sections/<key>.schema.json.
std::string section_schema_id(std::string_view key);

/// Violations of `value` against `schema_id`, as "<root>[key][..]: reason (line L, column C)"
/// with the section `key` ("" for the root) in front of valijson's path and the position of the
/// deepest YAML node of that path; the "failed to validate against schema associated with" lines
/// that only repeat a child's violation are left out.
std::vector<std::string> schema_violations(const schema_registry& schemas, std::string_view schema_id,
                                           const boost::json::value& value, std::string_view key,
                                           const YAML::Node& yaml);

/// Every section, in the order they are read (later ones may look at earlier ones: n8n's design
/// model is checked against llm's endpoints).
std::span<const config_section> config_sections() noexcept;

// The readers, by file.
error_info read_alerts(const boost::json::value&, opex_config&, const config_reading&);
error_info read_improvement(const boost::json::value&, opex_config&, const config_reading&);
error_info read_storage(const boost::json::value&, opex_config&, const config_reading&);
error_info read_journal(const boost::json::value&, opex_config&, const config_reading&);
error_info read_execution(const boost::json::value&, opex_config&, const config_reading&);
error_info read_circuit_breaker(const boost::json::value&, opex_config&, const config_reading&);
error_info read_server(const boost::json::value&, opex_config&, const config_reading&);
error_info read_idempotency(const boost::json::value&, opex_config&, const config_reading&);
error_info read_tracing(const boost::json::value&, opex_config&, const config_reading&);
error_info read_logging(const boost::json::value&, opex_config&, const config_reading&);
error_info read_masking(const boost::json::value&, opex_config&, const config_reading&);
error_info read_approvals(const boost::json::value&, opex_config&, const config_reading&);
error_info read_tool_costs(const boost::json::value&, opex_config&, const config_reading&);
error_info read_secrets(const boost::json::value&, opex_config&, const config_reading&);
error_info read_guard(const boost::json::value&, opex_config&, const config_reading&);
error_info read_targets(const boost::json::value&, opex_config&, const config_reading&);
error_info read_tenants(const boost::json::value&, opex_config&, const config_reading&);
error_info read_protected_workflows(const boost::json::value&, opex_config&, const config_reading&);
error_info read_kimmy(const boost::json::value&, opex_config&, const config_reading&);
error_info read_prolex(const boost::json::value&, opex_config&, const config_reading&);
error_info read_mcp(const boost::json::value&, opex_config&, const config_reading&);
error_info read_llm(const boost::json::value&, opex_config&, const config_reading&);
error_info read_n8n(const boost::json::value&, opex_config&, const config_reading&);

} // namespace opex::config_detail
