// Loading of system.yml, autonomy.yml (reference formats) and opex.yml.
#include "opex/config.hpp"

#include "config_reading.hpp"

#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <tuple>

namespace opex {

const planning_entry& planning_entry::for_tool(std::string_view wanted) const noexcept {
  if (wanted.empty() || wanted == tool)
    return *this;
  for (const auto& a : alternatives)
    if (a.tool == wanted)
      return a;
  return *this;
}


namespace json = boost::json;
namespace fs = std::filesystem;

using namespace config_detail;

namespace {


result<system_config> system_from_json(const json::value& doc, std::string_view origin) {
  if (!doc.is_object())
    return config_error(origin, "(root)", "system.yml must be a mapping");
  const auto& root = doc.get_object();
  system_config c;
  if (auto env = get_string(root, "current_environment"))
    c.current_environment = std::string(*env);
  if (const auto* kimmy = object_at(root, "kimmy")) {
    if (auto mode = get_string(*kimmy, "mode")) {
      if (*mode != "safe" && *mode != "quick_actions")
        return config_error(origin, "kimmy.mode", "must be safe or quick_actions");
      c.kimmy_mode = std::string(*mode);
    }
    if (const auto* th = object_at(*kimmy, "thresholds"))
      if (auto v = number_at(*th, "min_confidence_for_direct_action"))
        c.min_confidence_for_direct_action = *v;
    c.allowed_quick_actions = strings_at(*kimmy, "allowed_quick_actions");
  }
  c.sensitive_intents = strings_at(root, "sensitive_intents");
  c.high_risk_tools = strings_at(root, "high_risk_tools");
  if (const auto* limits = object_at(root, "limits")) {
    c.max_cost_per_request_usd = number_at(*limits, "max_cost_per_request_usd").value_or(c.max_cost_per_request_usd);
    c.max_cost_per_day_usd = number_at(*limits, "max_cost_per_day_usd").value_or(c.max_cost_per_day_usd);
    c.max_cost_per_month_usd = number_at(*limits, "max_cost_per_month_usd").value_or(c.max_cost_per_month_usd);
    c.max_execution_time_minutes = int_at(*limits, "max_execution_time_minutes").value_or(c.max_execution_time_minutes);
    c.max_plan_steps = int_at(*limits, "max_plan_steps").value_or(c.max_plan_steps);
    c.max_requests_per_minute = int_at(*limits, "max_requests_per_minute").value_or(c.max_requests_per_minute);
    c.max_requests_per_hour = int_at(*limits, "max_requests_per_hour").value_or(c.max_requests_per_hour);
  }
  if (const auto* kw = object_at(root, "sensitive_keywords"))
    for (const auto& kv : *kw)
      c.sensitive_keywords[std::string(kv.key())] = strings_at(*kw, kv.key());
  if (const auto* tags = object_at(root, "workflow_tags")) {
    if (auto t = get_string(*tags, "auto_generated"))
      c.auto_generated_tag = std::string(*t);
    c.workflow_environments = strings_at(*tags, "environments");
    c.workflow_categories = strings_at(*tags, "categories");
  }
  if (const auto* sec = object_at(root, "security"))
    if (const auto* v = get_member(*sec, "log_sensitive_data"); v && v->is_bool())
      c.log_sensitive_data = v->get_bool();
  return c;
}

/// One entry of autonomy_levels: its number (0-9), name, actions and constraints.
result<autonomy_level_def> level_from_json(std::string_view key, const json::value& v, std::string_view origin) {
  autonomy_level_def def;
  try {
    std::size_t used = 0;
    def.level = std::stoi(std::string(key), &used);
    if (used != key.size() || def.level < 0 || def.level > 9)
      throw std::invalid_argument("level");
  } catch (const std::exception&) {
    return config_error(origin, "autonomy_levels." + std::string(key), "levels are integers 0-9");
  }
  if (!v.is_object())
    return config_error(origin, "autonomy_levels." + std::string(key), "must be a mapping");
  const auto& lo = v.get_object();
  def.name = std::string(get_string(lo, "name").value_or(""));
  def.allowed_actions = strings_at(lo, "allowed_actions");
  def.forbidden_actions = strings_at(lo, "forbidden_actions");
  if (const auto* cons = object_at(lo, "constraints")) {
    def.max_cost_per_request_usd = number_at(*cons, "max_cost_per_request_usd");
    def.max_tools_per_plan = int_at(*cons, "max_tools_per_plan");
    if (const auto* x = get_member(*cons, "sandbox_only_for_n8n"); x && x->is_bool())
      def.sandbox_only_for_n8n = x->get_bool();
  }
  return def;
}

/// Expands all_level_N inheritance into each level's tool ids (upper-case actions are tool ids).
void expand_allowed_tools(autonomy_config& c) {
  std::function<void(int, std::set<std::string>&, std::set<int>&)> collect =
    [&](int level, std::set<std::string>& out, std::set<int>& seen) {
      if (!seen.insert(level).second)
        return;
      auto it = c.levels.find(level);
      if (it == c.levels.end())
        return;
      for (const auto& a : it->second.allowed_actions) {
        if (a.starts_with("all_level_")) {
          try {
            collect(std::stoi(a.substr(10)), out, seen);
          } catch (const std::exception&) {
          }
        } else if (!a.empty() && std::all_of(a.begin(), a.end(), [](char ch) {
                     return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
                   })) {
          out.insert(a);
        }
      }
    };
  for (auto& [level, def] : c.levels) {
    std::set<std::string> tools;
    std::set<int> seen;
    collect(level, tools, seen);
    def.allowed_tools.assign(tools.begin(), tools.end());
  }
}

/// global_safeguards: confirmations, daily limits, environment restrictions.
void safeguards_from_json(const json::object& g, autonomy_config& c) {
  c.always_require_confirmation = strings_at(g, "always_require_confirmation");
  if (const auto* dl = object_at(g, "daily_limits"))
    for (const auto& kv : *dl)
      if (kv.value().is_int64())
        c.daily_limits[std::string(kv.key())] = static_cast<int>(kv.value().get_int64());
  if (const auto* er = object_at(g, "environment_restrictions"))
    for (const auto& kind : *er)
      if (kind.value().is_object())
        for (const auto& lvl : kind.value().get_object())
          c.environment_restrictions[std::string(kind.key())][std::string(lvl.key())] =
            strings_at(kind.value().get_object(), lvl.key());
}

result<autonomy_config> autonomy_from_json(const json::value& doc, std::string_view origin) {
  if (!doc.is_object())
    return config_error(origin, "(root)", "autonomy.yml must be a mapping");
  const auto& root = doc.get_object();
  autonomy_config c;
  if (auto lvl = int_at(root, "prolex_current_autonomy_level"))
    c.current_level = *lvl;
  const auto* levels = object_at(root, "autonomy_levels");
  if (!levels)
    return config_error(origin, "autonomy_levels", "missing");
  for (const auto& kv : *levels) {
    auto def = level_from_json(kv.key(), kv.value(), origin);
    if (!def)
      return def.error();
    c.levels[def->level] = std::move(def).value();
  }
  expand_allowed_tools(c);
  if (const auto* g = object_at(root, "global_safeguards"))
    safeguards_from_json(*g, c);
  if (const auto* envs = object_at(root, "environments"))
    for (const auto& kv : *envs)
      if (kv.value().is_object())
        if (auto l = int_at(kv.value().get_object(), "default_autonomy_level"))
          c.environment_default_levels[std::string(kv.key())] = *l;
  if (!c.levels.contains(c.current_level))
    return config_error(origin, "prolex_current_autonomy_level",
                        "level " + std::to_string(c.current_level) + " is not defined");
  return c;
}

} // namespace

result<std::string> resolve_reference(std::string_view value) {
  auto missing = [&] {
    return make_error(error_code::secret_not_found, "cannot resolve " + std::string(value),
                      json::object{{"reference", value}});
  };
  if (value.starts_with("env:")) {
    std::string name(value.substr(4));
    const char* v = std::getenv(name.c_str());
    if (v == nullptr)
      return missing();
    return std::string(v);
  }
  if (value.starts_with("file:")) {
    std::ifstream in{std::string(value.substr(5))};
    std::string line;
    if (!in || !std::getline(in, line))
      return missing();
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    return line;
  }
  return std::string(value);
}

retry_settings retry_settings_from_json(const json::object& obj, retry_settings base) {
  if (auto v = number_at(obj, "initial_interval_ms"))
    base.initial_interval_ms = *v;
  if (auto v = number_at(obj, "backoff_coefficient"))
    base.backoff_coefficient = *v;
  if (auto v = number_at(obj, "maximum_interval_ms"))
    base.maximum_interval_ms = *v;
  if (auto v = int_at(obj, "maximum_attempts"))
    base.maximum_attempts = *v;
  if (get_member(obj, "non_retryable_error_codes"))
    base.non_retryable_error_codes = strings_at(obj, "non_retryable_error_codes");
  if (auto j = get_string(obj, "jitter"))
    base.jitter = std::string(*j);
  if (auto v = number_at(obj, "jitter_ratio"))
    base.jitter_ratio = *v;
  return base;
}

result<system_config> system_config::load_text(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  return system_from_json(*doc, origin);
}

result<system_config> system_config::load_file(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  return system_from_json(*doc, path);
}

result<autonomy_config> autonomy_config::load_text(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  return autonomy_from_json(*doc, origin);
}

result<autonomy_config> autonomy_config::load_file(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  return autonomy_from_json(*doc, path);
}

const autonomy_level_def* autonomy_config::find(int level) const noexcept {
  auto it = levels.find(level);
  return it == levels.end() ? nullptr : &it->second;
}

namespace {

/// The reference-format files opex.yml names (catalogue, extra_catalogues, system, autonomy,
/// workflows), or opex's embedded defaults.
error_info load_reference_files(const json::object& root, const std::string& base_dir, opex_config& cfg) {
  if (auto p = get_string(root, "catalogue")) {
    auto cat = tool_catalogue::load_file(resolve_path(base_dir, *p));
    if (!cat)
      return std::move(cat).error();
    cfg.catalogue = std::move(cat).value();
  } else {
    auto cat = tool_catalogue::load_text(embedded_file("policies/default/tools.yml"),
                                         "policies/default/tools.yml");
    if (!cat)
      return std::move(cat).error();
    cfg.catalogue = std::move(cat).value();
  }
  for (const auto& extra : strings_at(root, "extra_catalogues")) {
    auto cat = tool_catalogue::load_file(resolve_path(base_dir, extra));
    if (!cat)
      return std::move(cat).error();
    if (auto err = cfg.catalogue.append(*cat))
      return err;
  }
  if (auto p = get_string(root, "system")) {
    auto sys = system_config::load_file(resolve_path(base_dir, *p));
    if (!sys)
      return std::move(sys).error();
    cfg.system = std::move(sys).value();
  } else {
    auto sys = system_config::load_text(embedded_file("policies/default/system.yml"),
                                        "policies/default/system.yml");
    if (!sys)
      return std::move(sys).error();
    cfg.system = std::move(sys).value();
  }
  if (auto p = get_string(root, "autonomy")) {
    auto aut = autonomy_config::load_file(resolve_path(base_dir, *p));
    if (!aut)
      return std::move(aut).error();
    cfg.autonomy = std::move(aut).value();
  } else {
    auto aut = autonomy_config::load_text(embedded_file("policies/default/autonomy.yml"),
                                          "policies/default/autonomy.yml");
    if (!aut)
      return std::move(aut).error();
    cfg.autonomy = std::move(aut).value();
  }
  if (auto p = get_string(root, "workflows")) {
    auto wfs = load_packaged_workflows(resolve_path(base_dir, *p));
    if (!wfs)
      return std::move(wfs).error();
    cfg.workflows = std::move(wfs).value();
  }
  return {};
}

/// One catalogue tool per MCP server with `expose:`, through which the gateway runs that
/// server's tools under the guard (target tool_name "*": the payload names the tool).
error_info add_exposed_mcp_tools(opex_config& cfg) {
  std::string yaml;
  for (const auto& [name, server] : cfg.mcp.servers) {
    if (!server.expose)
      continue;
    std::string levels;
    for (int l : server.expose_levels)
      levels += (levels.empty() ? "" : ", ") + std::to_string(l);
    yaml += "- id: " + exposed_mcp_tool_id(name) + "\n  name: \"MCP server " + name + "\"\n"
            "  description: \"The tools of the MCP server " + name + ", re-exposed through opex's MCP server\"\n"
            "  category: mcp\n  risk_level: " + server.expose_risk_level + "\n  auto_allowed_levels: [" + levels + "]\n"
            "  target: {type: mcp_tool, server: \"" + name + "\", tool_name: \"*\"}\n";
  }
  if (yaml.empty())
    return {};
  auto cat = tool_catalogue::load_text(yaml, "mcp.servers (expose)");
  if (!cat)
    return std::move(cat).error();
  return cfg.catalogue.append(*cat);
}

/// What sections name in one another: the agents' model endpoints, the overrides' MCP servers.
error_info check_references(const opex_config& cfg, std::string_view origin) {
  for (auto [agent, mode, name] : {std::tuple{"kimmy", cfg.kimmy.mode, cfg.kimmy.llm},
                                   std::tuple{"prolex", cfg.prolex.mode, cfg.prolex.llm}}) {
    if (!name.empty() && !cfg.llm.endpoints.contains(name))
      return config_error(origin, std::string(agent) + ".llm", "no endpoint named " + name + " under llm.endpoints");
    if (mode != "rules" && !cfg.llm.find(name))
      return config_error(origin, std::string(agent) + ".mode",
                          "mode " + mode + " needs an LLM endpoint (llm.endpoints and llm.default or " + agent + ".llm)");
  }
  // Catalogue tools may name MCP servers opex does not have (the reference names github and
  // n8n): they fail with CONNECTOR_UNAVAILABLE when called. Overrides are the user's own.
  for (const auto& [id, target] : cfg.targets.overrides)
    if (auto server = target.text("server", target.text("mcp_server"));
        target.type == "mcp_tool" && !cfg.mcp.servers.contains(server))
      return config_error(origin, "targets.overrides." + id + ".server",
                          "no MCP server named " + server + " under mcp.servers");
  return {};
}

/// The root schema (top-level keys), then each section against its own fragment
/// (schemas/config/sections/): CONFIG_ERROR "<origin>: invalid configuration" with details
/// {path, schema (the first that failed), errors ["<root>[key]..: reason (line L, column C)"]}.
error_info check_schemas(const json::value& doc, std::string_view yaml, std::string_view origin) {
  auto registry = schema_registry::with_embedded();
  YAML::Node node;
  try {
    node = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception&) {
    // parse_yaml read it already: positions are only a help
  }
  std::string failed;
  auto errors = config_detail::schema_violations(*registry, schema_ids::opex_config, doc, "", node);
  if (!errors.empty())
    failed = std::string(schema_ids::opex_config);
  if (const auto* root = doc.if_object())
    for (const auto& section : config_detail::config_sections())
      if (const auto* value = get_member(*root, section.key)) {
        auto id = config_detail::section_schema_id(section.key);
        auto more = config_detail::schema_violations(*registry, id, *value, section.key, node);
        if (!more.empty() && failed.empty())
          failed = id;
        errors.insert(errors.end(), more.begin(), more.end());
      }
  if (errors.empty())
    return {};
  json::array list;
  for (auto& e : errors)
    list.emplace_back(std::move(e));
  return make_error(error_code::config_error, std::string(origin) + ": invalid configuration",
                    json::object{{"path", origin}, {"schema", failed}, {"errors", std::move(list)}});
}

} // namespace

result<opex_config> load_config_text(std::string_view yaml, const std::string& base_dir,
                                     std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  if (doc->is_null())
    *doc = json::object{};
  if (auto err = check_schemas(*doc, yaml, origin))
    return err;
  const auto& root = doc->get_object();
  opex_config cfg;
  cfg.source_path = std::string(origin);

  if (auto err = load_reference_files(root, base_dir, cfg))
    return err;
  cfg.autonomy_level = int_at(root, "autonomy_level").value_or(cfg.autonomy.current_level);
  if (!cfg.autonomy.find(cfg.autonomy_level))
    return config_error(origin, "autonomy_level",
                        "level " + std::to_string(cfg.autonomy_level) + " is not defined in autonomy.yml");
  cfg.environment = std::string(get_string(root, "environment").value_or(cfg.system.current_environment));
  cfg.default_user_id = std::string(get_string(root, "default_user_id").value_or("system"));

  const config_detail::config_reading reading{origin, base_dir};
  for (const auto& section : config_detail::config_sections()) {
    const auto* value = get_member(root, section.key);
    if (!value && !section.always)
      continue;
    if (auto err = section.read(value ? *value : json::value(nullptr), cfg, reading))
      return err;
  }

  if (auto err = add_exposed_mcp_tools(cfg))
    return err;
  if (auto err = check_references(cfg, origin))
    return err;
  return cfg;
}

std::string exposed_mcp_tool_id(std::string_view server) {
  std::string id = "MCP_";
  for (char c : server)
    id += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
  return id;
}

const n8n_instance_settings* n8n_settings::for_environment(std::string_view environment) const noexcept {
  if (!environment.empty())
    for (const auto& [name, i] : instances)
      if (i.environment == environment)
        return &i;
  if (!default_instance.empty())
    if (auto it = instances.find(default_instance); it != instances.end())
      return &it->second;
  for (const auto& [name, i] : instances)
    if (i.environment == "sandbox")
      return &i;
  return instances.size() == 1 ? &instances.begin()->second : nullptr;
}

const llm_endpoint_settings* llm_settings::find(std::string_view name) const noexcept {
  if (name.empty()) {
    if (!default_endpoint.empty())
      name = default_endpoint;
    else if (endpoints.size() == 1)
      return &endpoints.begin()->second;
    else
      return nullptr;
  }
  auto it = endpoints.find(std::string(name));
  return it == endpoints.end() ? nullptr : &it->second;
}

const tenant_settings* opex_config::find_tenant(std::string_view slug) const noexcept {
  for (const auto& t : tenants)
    if (t.slug == slug)
      return &t;
  return nullptr;
}

int opex_config::level_for(std::string_view tenant) const noexcept {
  if (const auto* t = find_tenant(tenant); t && t->autonomy_level)
    return *t->autonomy_level;
  return autonomy_level;
}

result<protected_workflow_settings> load_protected_workflows(const std::string& path) {
  auto doc = read_yaml_file(path);
  if (!doc)
    return doc.error();
  if (!doc->is_object())
    return config_error(path, "(root)", "a protected-workflows file is a mapping");
  protected_workflow_settings out;
  const auto& root = doc->get_object();
  if (const auto* list = get_member(root, "forbidden_workflows"); list && list->is_array())
    for (const auto& w : list->get_array()) {
      if (!w.is_object())
        continue;
      if (auto n = get_string(w.get_object(), "name"))
        out.names.emplace_back(*n);
      if (auto f = get_string(w.get_object(), "file")) {
        std::string file(*f);
        out.names.push_back(file);
        if (file.ends_with(".json"))
          out.names.push_back(file.substr(0, file.size() - 5));
      }
    }
  if (const auto* pat = object_at(root, "forbidden_patterns")) {
    out.prefixes = strings_at(*pat, "numeric_prefixes");
    out.keywords = strings_at(*pat, "keywords");
  }
  return out;
}

result<opex_config> load_config(const std::string& path) {
  if (path.empty())
    return load_config_text(embedded_file("policies/default/opex.yml"), "", "(built-in default)");
  auto text = read_file(path);
  if (!text)
    return config_error(path, "(file)", "cannot read the configuration file");
  auto base = fs::absolute(path).parent_path().string();
  return load_config_text(*text, base, path);
}

std::string database_path(const opex_config& cfg) {
  if (!cfg.storage.database.empty())
    return cfg.storage.database;
  fs::path dir;
  if (const char* d = std::getenv("OPEX_DATA_DIR"); d && *d)
    dir = d;
  else if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    dir = fs::path(x) / "opex";
  else if (const char* h = std::getenv("HOME"); h && *h)
    dir = fs::path(h) / ".local/share/opex";
  else
    dir = fs::current_path() / ".opex";
  return (dir / "opex.db").string();
}

} // namespace opex
