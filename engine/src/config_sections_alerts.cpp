// opex.yml's `alerts` and `improvement` sections: opex's own alert rules and notification
// targets (opex/alerts.hpp; docs/operations.md, "Alerts") and the daily improvement run
// (opex/improvement.hpp). The schema fragments check shapes; this reader checks what refers to
// something else (target names, catalogue tools).
#include "config_reading.hpp"

#include "opex/json_util.hpp"

#include <algorithm>
#include <set>

namespace opex::config_detail {

namespace json = boost::json;

namespace {

std::int64_t millis_at(const json::object& o, std::string_view key, std::int64_t fallback) {
  auto n = number_at(o, key);
  return n ? static_cast<std::int64_t>(*n) : fallback;
}

alert_rule rule_from(const json::object& o) {
  alert_rule rule;
  rule.name = std::string(get_string(o, "name").value_or(""));
  rule.kind = parse_alert_kind(get_string(o, "kind").value_or("")).value_or(alert_kind::error_rate);
  // The same defaults as the spec's rule of that kind.
  for (const auto& d : default_alert_rules())
    if (d.kind == rule.kind) {
      rule.window_ms = d.window_ms;
      rule.min_count = d.min_count;
      rule.severity = d.severity;
    }
  rule.threshold = number_at(o, "threshold").value_or(rule.threshold);
  rule.window_ms = millis_at(o, "window_ms", rule.window_ms);
  rule.min_count = millis_at(o, "min_count", rule.min_count);
  rule.for_ms = millis_at(o, "for_ms", rule.for_ms);
  rule.statistic = parse_latency_statistic(get_string(o, "statistic").value_or("")).value_or(rule.statistic);
  rule.tools = strings_at(o, "tools");
  rule.severity = std::string(get_string(o, "severity").value_or(rule.severity));
  rule.targets = strings_at(o, "targets");
  return rule;
}

alert_target target_from(const json::object& o) {
  alert_target t;
  t.name = std::string(get_string(o, "name").value_or(""));
  t.type = get_string(o, "type").value_or("") == "tool" ? alert_target::kind::tool : alert_target::kind::webhook;
  t.url = std::string(get_string(o, "url").value_or(""));
  t.secret_env = std::string(get_string(o, "secret_env").value_or(""));
  t.timeout_ms = millis_at(o, "timeout_ms", t.timeout_ms);
  t.tool = std::string(get_string(o, "tool").value_or(""));
  t.tenant = std::string(get_string(o, "tenant").value_or(t.tenant));
  return t;
}

error_info check_target(const alert_target& t, const opex_config& cfg, const std::string& key,
                        const config_reading& r) {
  if (t.type == alert_target::kind::webhook && t.url.empty())
    return config_error(r.origin, key + ".url", "a webhook target needs a url");
  if (t.type == alert_target::kind::tool && !cfg.catalogue.find(t.tool))
    return config_error(r.origin, key + ".tool",
                        "a tool target needs a catalogue tool; '" + t.tool + "' is not in the catalogue");
  return {};
}

} // namespace

error_info read_alerts(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* a = section.is_object() ? &section.get_object() : nullptr;
  if (!a)
    return {};
  auto& out = cfg.alerts;
  if (const auto* v = get_member(*a, "enabled"); v && v->is_bool())
    out.enabled = v->get_bool();
  out.evaluation_interval_ms = millis_at(*a, "evaluation_interval_ms", out.evaluation_interval_ms);
  out.max_delivery_attempts = int_at(*a, "max_delivery_attempts").value_or(out.max_delivery_attempts);
  std::set<std::string, std::less<>> targets;
  if (const auto* list = get_member(*a, "targets"); list && list->is_array())
    for (const auto& v : list->get_array()) {
      auto t = target_from(v.as_object());
      const auto key = "alerts.targets[" + std::to_string(out.targets.size()) + "]";
      if (!targets.insert(t.name).second)
        return config_error(r.origin, key + ".name", "target '" + t.name + "' is named twice");
      if (auto err = check_target(t, cfg, key, r))
        return err;
      out.targets.push_back(std::move(t));
    }
  if (const auto* list = get_member(*a, "rules"); list && list->is_array()) {
    out.rules.clear();
    std::set<std::string, std::less<>> names;
    for (const auto& v : list->get_array()) {
      auto rule = rule_from(v.as_object());
      const auto key = "alerts.rules[" + std::to_string(out.rules.size()) + "]";
      if (!names.insert(rule.name).second)
        return config_error(r.origin, key + ".name", "rule '" + rule.name + "' is named twice");
      for (const auto& t : rule.targets)
        if (!targets.contains(t))
          return config_error(r.origin, key + ".targets", "rule '" + rule.name + "' names target '" + t
                                                            + "', which alerts.targets does not define");
      out.rules.push_back(std::move(rule));
    }
  }
  return {};
}

error_info read_improvement(const json::value& section, opex_config& cfg, const config_reading& r) {
  const auto* o = section.is_object() ? &section.get_object() : nullptr;
  if (!o)
    return {};
  auto& out = cfg.improvement;
  if (const auto* v = get_member(*o, "daily"); v && v->is_bool())
    out.daily = v->get_bool();
  if (auto at = get_string(*o, "at")) {  // the schema's pattern: HH:MM
    const int h = std::stoi(std::string(at->substr(0, 2))), m = std::stoi(std::string(at->substr(3, 2)));
    if (h > 23 || m > 59)
      return config_error(r.origin, "improvement.at", "not a time of day: " + std::string(*at));
    out.at_minute = h * 60 + m;
  }
  out.window_days = int_at(*o, "window_days").value_or(out.window_days);
  auto& s = out.settings;
  s.failure_rate = number_at(*o, "failure_rate").value_or(s.failure_rate);
  s.min_executions = int_at(*o, "min_executions").value_or(s.min_executions);
  s.latency_target_ms = number_at(*o, "latency_target_ms").value_or(s.latency_target_ms);
  s.cost_factor = number_at(*o, "cost_factor").value_or(s.cost_factor);
  s.unused_days = int_at(*o, "unused_days").value_or(s.unused_days);
  return {};
}

} // namespace opex::config_detail
