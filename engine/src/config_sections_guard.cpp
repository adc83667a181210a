// opex.yml's guard sections: targets, tenants, protected_workflows.
#include "config_reading.hpp"

#include "opex/catalogue.hpp"
#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

namespace opex::config_detail {

namespace json = boost::json;

error_info read_guard(const json::value& v, opex_config& cfg, const config_reading&) {
  if (const auto* g = v.is_object() ? &v.get_object() : nullptr)
    cfg.guard.step_policies = strings_at(*g, "step_policies");
  return {};
}

error_info read_targets(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* t = section.is_object() ? &section.get_object() : nullptr;
  if (!t)
    return {};
  cfg.targets.mode = std::string(get_string(*t, "mode").value_or(cfg.targets.mode));
  cfg.targets.webhook_base_url = std::string(get_string(*t, "webhook_base_url").value_or(""));
  while (cfg.targets.webhook_base_url.ends_with('/'))
    cfg.targets.webhook_base_url.pop_back();
  cfg.targets.timeout_ms = int_at(*t, "timeout_ms").value_or(cfg.targets.timeout_ms);
  cfg.targets.n8n_webhooks = std::string(get_string(*t, "n8n_webhooks").value_or(cfg.targets.n8n_webhooks));
  if (auto ca = get_string(*t, "ca_file"))
    cfg.targets.ca_file = resolve_path(r.base_dir, *ca);
  if (const auto* v = get_member(*t, "verify_tls"); v && v->is_bool())
    cfg.targets.verify_tls = v->get_bool();
  cfg.targets.max_connections_per_origin =
    int_at(*t, "max_connections_per_origin").value_or(cfg.targets.max_connections_per_origin);
  cfg.targets.idle_connection_timeout_ms =
    int_at(*t, "idle_connection_timeout_ms").value_or(cfg.targets.idle_connection_timeout_ms);
  if (const auto* o = object_at(*t, "overrides"))
    for (const auto& kv : *o) {
      auto target = parse_tool_target(kv.value(), r.origin, "targets.overrides." + std::string(kv.key()));
      if (!target)
        return target.error();
      cfg.targets.overrides[std::string(kv.key())] = std::move(target).value();
    }
  if (cfg.targets.mode == "webhook" && cfg.targets.webhook_base_url.empty())
    return config_error(r.origin, "targets.webhook_base_url", "required when targets.mode is webhook");
  return {};
}

error_info read_tenants(const json::value& section, opex_config& cfg, const config_reading& r) {
  if (!section.is_array())
    return {};
  const auto* t = &section;
  for (const auto& item : t->get_array()) {
    const auto& to = item.get_object();
    tenant_settings ts;
    ts.slug = std::string(get_string(to, "slug").value_or(""));
    ts.autonomy_level = int_at(to, "autonomy_level");
    if (ts.autonomy_level && !cfg.autonomy.find(*ts.autonomy_level))
      return config_error(r.origin, "tenants." + ts.slug + ".autonomy_level", "level not defined in autonomy.yml");
    ts.allowed_tools = strings_at(to, "allowed_tools");
    ts.api_keys_env = std::string(get_string(to, "api_keys_env").value_or(""));
    if (const auto* q = object_at(to, "quotas")) {
      ts.max_requests_per_day = int_at(*q, "max_requests_per_day");
      ts.max_cost_per_day_usd = number_at(*q, "max_cost_per_day_usd");
      if (const auto* tools = object_at(*q, "tools"))
        for (const auto& kv : *tools)
          if (kv.value().is_int64())
            ts.max_executions_per_day[std::string(kv.key())] = static_cast<int>(kv.value().get_int64());
    }
    if (const auto* rl = object_at(to, "rate_limit"))
      ts.rate_limit = rate_limit_from(*rl, cfg.server.rate_limit);
    if (const auto* sig = object_at(to, "signatures"))
      ts.signatures = signatures_from(*sig, r.base_dir);
    for (const auto& other : cfg.tenants)
      if (other.slug == ts.slug)
        return config_error(r.origin, "tenants." + ts.slug, "duplicate tenant slug");
    cfg.tenants.push_back(std::move(ts));
  }
  return {};
}

error_info read_protected_workflows(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* pw = section.is_object() ? &section.get_object() : nullptr;
  if (pw && get_string(*pw, "file")) {
    auto loaded = load_protected_workflows(resolve_path(r.base_dir, *get_string(*pw, "file")));
    if (!loaded)
      return loaded.error();
    cfg.protected_workflows = std::move(loaded).value();
  } else {
    auto def = parse_yaml(embedded_file("policies/default/protected_workflows.yml"),
                          "policies/default/protected_workflows.yml");
    if (def && def->is_object())
      for (const auto& w : def->get_object().contains("forbidden_workflows") ? def->at("forbidden_workflows").as_array()
                                                                            : json::array{})
        if (w.is_object())
          if (auto n = get_string(w.get_object(), "name"))
            cfg.protected_workflows.names.emplace_back(*n);
  }
  if (pw) {
    for (auto& n : strings_at(*pw, "names"))
      cfg.protected_workflows.names.push_back(std::move(n));
    for (auto& n : strings_at(*pw, "prefixes"))
      cfg.protected_workflows.prefixes.push_back(std::move(n));
    for (auto& n : strings_at(*pw, "keywords"))
      cfg.protected_workflows.keywords.push_back(std::move(n));
  }
  return {};
}

} // namespace opex::config_detail
