// opex.yml's connector sections: mcp, llm, n8n.
#include "config_reading.hpp"

#include "opex/catalogue.hpp"
#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

namespace opex::config_detail {

namespace json = boost::json;

namespace {

result<mcp_server_settings> mcp_server_from_json(std::string name, const json::object& o,
                                                 const std::string& base_dir, std::string_view origin) {
  mcp_server_settings s;
  s.name = std::move(name);
  const std::string where = "mcp.servers." + s.name;
  s.transport = std::string(get_string(o, "transport").value_or("stdio"));
  if (auto c = get_string(o, "command")) {
    s.command = std::string(*c);
    if (s.command.find('/') != std::string::npos)
      s.command = resolve_path(base_dir, s.command);
  }
  s.args = strings_at(o, "args");
  s.env = string_map_at(o, "env");
  if (auto c = get_string(o, "cwd"))
    s.cwd = resolve_path(base_dir, *c);
  s.url = std::string(get_string(o, "url").value_or(""));
  s.headers = string_map_at(o, "headers");
  s.startup_timeout_ms = int_at(o, "startup_timeout_ms").value_or(s.startup_timeout_ms);
  if (const auto* r = object_at(o, "restart")) {
    s.restart.initial_interval_ms = number_at(*r, "initial_interval_ms").value_or(s.restart.initial_interval_ms);
    s.restart.backoff_coefficient = number_at(*r, "backoff_coefficient").value_or(s.restart.backoff_coefficient);
    s.restart.maximum_interval_ms = number_at(*r, "maximum_interval_ms").value_or(s.restart.maximum_interval_ms);
    s.restart.maximum_restarts = int_at(*r, "maximum_restarts").value_or(s.restart.maximum_restarts);
  }
  if (const auto* e = o.if_contains("expose")) {
    if (e->is_bool()) {
      s.expose = e->get_bool();
    } else if (e->is_object()) {
      s.expose = e->get_object().contains("enabled") ? e->get_object().at("enabled").as_bool() : true;
      s.expose_risk_level = std::string(get_string(e->get_object(), "risk_level").value_or(s.expose_risk_level));
      if (e->get_object().contains("auto_allowed_levels")) {
        s.expose_levels.clear();
        for (const auto& l : e->get_object().at("auto_allowed_levels").as_array())
          s.expose_levels.push_back(static_cast<int>(l.to_number<std::int64_t>()));
      }
    }
  }
  if (s.transport == "stdio" && s.command.empty())
    return config_error(origin, where + ".command", "required for the stdio transport");
  if (s.transport == "streamable_http" && s.url.empty())
    return config_error(origin, where + ".url", "required for the streamable_http transport");
  for (auto& [var, value] : s.env)
    value = anchor_reference(base_dir, value);
  for (auto& [header, value] : s.headers)
    value = anchor_reference(base_dir, value);
  for (const auto& [header, value] : s.headers)
    if (secret_looking(header) && !is_reference(value))
      return config_error(origin, where + ".headers." + header,
                          "credentials are references (env:NAME or file:PATH), never literals");
  for (const auto& [var, value] : s.env)
    if (secret_looking(var) && !is_reference(value))
      return config_error(origin, where + ".env." + var,
                          "credentials are references (env:NAME or file:PATH), never literals");
  return s;
}


} // namespace

error_info read_mcp(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* m = section.is_object() ? &section.get_object() : nullptr;
  if (!m)
    return {};
  cfg.mcp.protocol_version = std::string(get_string(*m, "protocol_version").value_or(cfg.mcp.protocol_version));
  if (auto d = get_string(*m, "log_dir"))
    cfg.mcp.log_dir = resolve_path(r.base_dir, *d);
  if (const auto* servers = object_at(*m, "servers"))
    for (const auto& kv : *servers) {
      auto server = mcp_server_from_json(std::string(kv.key()), kv.value().get_object(), r.base_dir, r.origin);
      if (!server)
        return server.error();
      cfg.mcp.servers.emplace(std::string(kv.key()), std::move(server).value());
    }
  return {};
}

error_info read_llm(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* l = section.is_object() ? &section.get_object() : nullptr;
  if (!l)
    return {};
  cfg.llm.default_endpoint = std::string(get_string(*l, "default").value_or(""));
  if (const auto* eps = object_at(*l, "endpoints"))
    for (const auto& kv : *eps) {
      const auto& o = kv.value().get_object();
      llm_endpoint_settings e;
      e.name = std::string(kv.key());
      e.provider = std::string(get_string(o, "provider").value_or("anthropic"));
      e.base_url = std::string(get_string(o, "base_url").value_or(
        e.provider == "anthropic" ? "https://api.anthropic.com" : "https://api.openai.com/v1"));
      while (e.base_url.ends_with('/'))
        e.base_url.pop_back();
      e.model = std::string(get_string(o, "model").value_or(""));
      e.api_key = anchor_reference(r.base_dir, std::string(get_string(o, "api_key").value_or("")));
      e.max_tokens = int_at(o, "max_tokens").value_or(e.max_tokens);
      e.temperature = number_at(o, "temperature").value_or(e.temperature);
      e.timeout_ms = int_at(o, "timeout_ms").value_or(e.timeout_ms);
      e.input_cost_per_mtok_usd = number_at(o, "input_cost_per_mtok_usd").value_or(0.0);
      e.output_cost_per_mtok_usd = number_at(o, "output_cost_per_mtok_usd").value_or(0.0);
      e.anthropic_version = std::string(get_string(o, "anthropic_version").value_or(e.anthropic_version));
      if (const auto* retry = object_at(o, "retry"))
        e.retry = retry_settings_from_json(*retry, e.retry);
      if (!e.api_key.empty() && !is_reference(e.api_key))
        return config_error(r.origin, "llm.endpoints." + e.name + ".api_key",
                            "credentials are references (env:NAME or file:PATH), never literals");
      cfg.llm.endpoints.emplace(e.name, std::move(e));
    }
  if (!cfg.llm.default_endpoint.empty() && !cfg.llm.endpoints.contains(cfg.llm.default_endpoint))
    return config_error(r.origin, "llm.default", "no endpoint named " + cfg.llm.default_endpoint);
  return {};
}

error_info read_n8n(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* n = section.is_object() ? &section.get_object() : nullptr;
  if (!n)
    return {};
  auto& ns = cfg.n8n;
  ns.default_instance = std::string(get_string(*n, "default_instance").value_or(""));
  if (const auto* v = get_member(*n, "route_tools"); v && v->is_bool())
    ns.route_tools = v->get_bool();
  if (const auto* d = object_at(*n, "design")) {
    ns.design_max_nodes = int_at(*d, "max_nodes").value_or(ns.design_max_nodes);
    ns.design_llm = std::string(get_string(*d, "llm").value_or(""));
  }
  ns.poll_interval_ms = int_at(*n, "poll_interval_ms").value_or(ns.poll_interval_ms);
  if (auto d = get_string(*n, "session_dir"))
    ns.session_dir = resolve_path(r.base_dir, *d);
  if (const auto* insts = object_at(*n, "instances"))
    for (const auto& kv : *insts) {
      const auto& o = kv.value().get_object();
      n8n_instance_settings i;
      i.name = std::string(kv.key());
      i.base_url = std::string(get_string(o, "base_url").value_or(""));
      while (i.base_url.ends_with('/'))
        i.base_url.pop_back();
      i.api_key = std::string(get_string(o, "api_key").value_or(""));
      i.environment = std::string(get_string(o, "environment").value_or("sandbox"));
      i.owner_email = std::string(get_string(o, "owner_email").value_or(""));
      i.owner_password = std::string(get_string(o, "owner_password").value_or(""));
      if (const auto* v = get_member(o, "allow_activation"); v && v->is_bool())
        i.allow_activation = v->get_bool();
      i.production_tag = std::string(get_string(o, "production_tag").value_or(i.production_tag));
      i.timeout_ms = int_at(o, "timeout_ms").value_or(i.timeout_ms);
      const std::string where = "n8n.instances." + i.name;
      if (!i.api_key.empty() && !is_reference(i.api_key))
        return config_error(r.origin, where + ".api_key", "credentials are references (env:NAME or file:PATH), never literals");
      if (!i.owner_password.empty() && !is_reference(i.owner_password))
        return config_error(r.origin, where + ".owner_password",
                            "credentials are references (env:NAME or file:PATH), never literals");
      i.api_key = anchor_reference(r.base_dir, i.api_key);
      i.owner_password = anchor_reference(r.base_dir, i.owner_password);
      i.owner_email = anchor_reference(r.base_dir, i.owner_email);
      ns.instances.emplace(i.name, std::move(i));
    }
  if (!ns.default_instance.empty() && !ns.instances.contains(ns.default_instance))
    return config_error(r.origin, "n8n.default_instance", "no instance named " + ns.default_instance);
  if (!ns.design_llm.empty() && !cfg.llm.endpoints.contains(ns.design_llm))
    return config_error(r.origin, "n8n.design.llm", "no endpoint named " + ns.design_llm + " under llm.endpoints");
  return {};
}

} // namespace opex::config_detail
