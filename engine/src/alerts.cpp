// opex's alert rules and their states (opex/alerts.hpp; docs/operations.md, "Alerts").
#include "opex/alerts.hpp"

#include "opex/clock.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <array>
#include <cstdio>

namespace opex {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 4> kind_names{"error_rate", "latency", "daily_cost", "idle_workflow"};
constexpr std::array<std::string_view, 4> state_names{"inactive", "pending", "firing", "resolved"};
constexpr std::array<std::string_view, 4> statistic_names{"mean", "p50", "p95", "p99"};

template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<std::string_view, N>& names, std::string_view s) noexcept {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == s)
      return static_cast<E>(i);
  return std::nullopt;
}

bool selected(const alert_rule& rule, std::string_view tool) {
  return rule.tools.empty() || std::find(rule.tools.begin(), rule.tools.end(), tool) != rule.tools.end();
}

std::int64_t count_of(const json::object& row) {
  const auto n = get_number(row, "executions");
  return n ? static_cast<std::int64_t>(*n) : 0;
}

const json::array& rows_of(const json::object& metrics) {
  static const json::array none;
  const auto* w = metrics.if_contains("workflows");
  return w && w->is_array() ? w->get_array() : none;
}

std::string text_of(const json::object& o, std::string_view key) {
  auto s = get_string(o, key);
  return s ? std::string(*s) : std::string();
}

json::value text_or_null(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

std::string format_value(alert_kind k, double v) {
  char buf[64];
  switch (k) {
    case alert_kind::error_rate: std::snprintf(buf, sizeof buf, "%.1f %%", v * 100.0); break;
    case alert_kind::latency: std::snprintf(buf, sizeof buf, "%.0f ms", v); break;
    case alert_kind::daily_cost: std::snprintf(buf, sizeof buf, "%.2f USD", v); break;
    case alert_kind::idle_workflow: std::snprintf(buf, sizeof buf, "%.1f days", v / 86400000.0); break;
  }
  return buf;
}

void observe_per_tool(const alert_rule& rule, const json::object& metrics, std::vector<alert_observation>& out) {
  for (const auto& v : rows_of(metrics)) {
    const auto& row = v.as_object();
    auto tool = get_string(row, "tool");
    if (!tool || !selected(rule, *tool))
      continue;
    alert_observation o{std::string(*tool), 0.0, count_of(row), false};
    if (rule.kind == alert_kind::error_rate) {
      o.value = get_number(row, "failure_rate").value_or(0.0);
    } else {
      const auto* lat = row.if_contains("latency_ms");
      auto stat = lat && lat->is_object() ? get_number(lat->get_object(), latency_statistic_name(rule.statistic))
                                          : std::nullopt;
      if (!stat)
        continue;  // no step ran: nothing to compare
      o.value = *stat;
    }
    o.breached = o.count >= rule.min_count && o.value > rule.threshold;
    out.push_back(std::move(o));
  }
}

void observe_cost(const alert_rule& rule, const json::object& metrics, std::vector<alert_observation>& out) {
  alert_observation o{"total", 0.0, 0, false};
  for (const auto& v : rows_of(metrics)) {
    const auto& row = v.as_object();
    auto tool = get_string(row, "tool");
    if (!tool || !selected(rule, *tool))
      continue;
    o.count += count_of(row);
    const auto* cost = row.if_contains("cost_usd");
    if (cost && cost->is_object())
      o.value += get_number(cost->get_object(), "total").value_or(0.0);
  }
  o.breached = o.count >= rule.min_count && o.value > rule.threshold;
  out.push_back(std::move(o));
}

void observe_idle(const alert_rule& rule, const json::object& metrics, std::chrono::system_clock::time_point now,
                  std::vector<alert_observation>& out) {
  std::vector<std::string> seen;
  for (const auto& v : rows_of(metrics)) {
    const auto& row = v.as_object();
    auto tool = get_string(row, "tool");
    if (!tool || !selected(rule, *tool))
      continue;
    seen.emplace_back(*tool);
    auto last = get_string(row, "last_at");
    auto when = last ? parse_iso8601(*last) : std::nullopt;
    const bool listed = !rule.tools.empty();
    if (!when || (!listed && count_of(row) < rule.min_count))
      continue;
    const double idle = std::chrono::duration<double, std::milli>(now - when->utc).count();
    out.push_back({std::string(*tool), idle, count_of(row), idle > rule.threshold});
  }
  // A tool the rule lists that did not run in the whole window: idle at least that long.
  for (const auto& t : rule.tools)
    if (std::find(seen.begin(), seen.end(), t) == seen.end())
      out.push_back({t, static_cast<double>(rule.window_ms), 0, static_cast<double>(rule.window_ms) > rule.threshold});
}

} // namespace

std::string_view alert_kind_name(alert_kind k) noexcept { return kind_names[static_cast<std::size_t>(k)]; }
std::string_view alert_state_name(alert_state s) noexcept { return state_names[static_cast<std::size_t>(s)]; }
std::string_view latency_statistic_name(latency_statistic s) noexcept {
  return statistic_names[static_cast<std::size_t>(s)];
}
std::optional<alert_kind> parse_alert_kind(std::string_view s) noexcept { return parse_name<alert_kind>(kind_names, s); }
std::optional<alert_state> parse_alert_state(std::string_view s) noexcept {
  return parse_name<alert_state>(state_names, s);
}
std::optional<latency_statistic> parse_latency_statistic(std::string_view s) noexcept {
  return parse_name<latency_statistic>(statistic_names, s);
}
std::string_view alert_target_kind_name(alert_target::kind k) noexcept {
  return k == alert_target::kind::webhook ? "webhook" : "tool";
}

std::vector<alert_rule> default_alert_rules() {
  constexpr std::int64_t hour = 3600000, day = 24 * hour;
  std::vector<alert_rule> rules(4);
  rules[0].name = "workflow_error_rate";
  rules[0].kind = alert_kind::error_rate;
  rules[0].threshold = 0.10;
  rules[1].name = "workflow_latency";
  rules[1].kind = alert_kind::latency;
  rules[1].threshold = 30000;
  rules[2].name = "daily_cost";
  rules[2].kind = alert_kind::daily_cost;
  rules[2].threshold = 10.0;
  rules[2].window_ms = day;
  rules[2].min_count = 1;
  rules[3].name = "idle_workflow";
  rules[3].kind = alert_kind::idle_workflow;
  rules[3].threshold = 7.0 * day;
  rules[3].window_ms = 30 * day;
  rules[3].min_count = 1;
  rules[3].severity = "info";
  return rules;
}

std::vector<alert_observation> observe_alert_rule(const alert_rule& rule, const json::object& metrics,
                                                  std::chrono::system_clock::time_point now) {
  std::vector<alert_observation> out;
  switch (rule.kind) {
    case alert_kind::error_rate:
    case alert_kind::latency: observe_per_tool(rule, metrics, out); break;
    case alert_kind::daily_cost: observe_cost(rule, metrics, out); break;
    case alert_kind::idle_workflow: observe_idle(rule, metrics, now, out); break;
  }
  return out;
}

json::object alert_status::to_json() const {
  return json::object{{"rule", rule},
                      {"kind", alert_kind_name(kind)},
                      {"subject", subject},
                      {"state", alert_state_name(state)},
                      {"value", value},
                      {"threshold", threshold},
                      {"count", count},
                      {"severity", severity},
                      {"pending_since", text_or_null(pending_since)},
                      {"fired_at", text_or_null(fired_at)},
                      {"resolved_at", text_or_null(resolved_at)},
                      {"updated_at", text_or_null(updated_at)},
                      {"transition_id", text_or_null(transition_id)}};
}

std::optional<alert_status> alert_status::from_json(const json::object& o) {
  auto kind = parse_alert_kind(get_string(o, "kind").value_or(""));
  auto state = parse_alert_state(get_string(o, "state").value_or(""));
  if (!kind || !state || !get_string(o, "rule") || !get_string(o, "subject"))
    return std::nullopt;
  alert_status s;
  s.rule = text_of(o, "rule");
  s.kind = *kind;
  s.subject = text_of(o, "subject");
  s.state = *state;
  s.value = get_number(o, "value").value_or(0.0);
  s.threshold = get_number(o, "threshold").value_or(0.0);
  s.count = static_cast<std::int64_t>(get_number(o, "count").value_or(0.0));
  s.severity = text_of(o, "severity");
  s.pending_since = text_of(o, "pending_since");
  s.fired_at = text_of(o, "fired_at");
  s.resolved_at = text_of(o, "resolved_at");
  s.updated_at = text_of(o, "updated_at");
  s.transition_id = text_of(o, "transition_id");
  return s;
}

std::optional<alert_transition> next_alert_status(const alert_rule& rule, const alert_status* current,
                                                  const alert_observation* observation,
                                                  std::chrono::system_clock::time_point now,
                                                  std::string transition_id) {
  const auto from = current ? current->state : alert_state::inactive;
  const bool breached = observation && observation->breached;
  alert_status next = current ? *current : alert_status{};
  const auto at = format_timestamp(now);
  alert_state to = from;
  switch (from) {
    case alert_state::inactive:
    case alert_state::resolved:
      if (breached) {
        to = rule.for_ms <= 0 ? alert_state::firing : alert_state::pending;
        next.pending_since = at;
        next.fired_at.clear();
        next.resolved_at.clear();
      }
      break;
    case alert_state::pending: {
      auto since = parse_iso8601(next.pending_since);
      const auto held = since ? std::chrono::duration_cast<std::chrono::milliseconds>(now - since->utc).count() : 0;
      if (!breached)
        to = alert_state::inactive;
      else if (held >= rule.for_ms)
        to = alert_state::firing;
      break;
    }
    case alert_state::firing:
      if (!breached)
        to = alert_state::resolved;
      break;
  }
  if (to == from)
    return std::nullopt;
  next.rule = rule.name;
  next.kind = rule.kind;
  if (observation) {
    next.subject = observation->subject;
    next.value = observation->value;
    next.count = observation->count;
  } else {
    next.value = 0.0;
    next.count = 0;
  }
  next.threshold = rule.threshold;
  next.severity = rule.severity;
  next.state = to;
  next.updated_at = at;
  next.transition_id = std::move(transition_id);
  if (to == alert_state::firing)
    next.fired_at = at;
  if (to == alert_state::resolved)
    next.resolved_at = at;
  return alert_transition{std::move(next), from, to == alert_state::firing || to == alert_state::resolved};
}

json::object alert_notification(const alert_transition& t, const alert_rule& rule) {
  const auto& s = t.status;
  std::string summary = std::string(s.state == alert_state::firing ? "FIRING " : "RESOLVED ") + s.rule + " for "
                        + s.subject + ": " + format_value(s.kind, s.value) + " (threshold "
                        + format_value(s.kind, s.threshold) + ", " + std::to_string(s.count) + " executions)";
  return json::object{{"transition_id", s.transition_id},
                      {"alert", s.to_json()},
                      {"from", alert_state_name(t.from)},
                      {"to", alert_state_name(s.state)},
                      {"rule", json::object{{"name", rule.name},
                                            {"kind", alert_kind_name(rule.kind)},
                                            {"threshold", rule.threshold},
                                            {"window_ms", rule.window_ms},
                                            {"min_count", rule.min_count}}},
                      {"summary", summary},
                      {"source", "opex"}};
}

json::object alert_tool_payload(const alert_target& target, const json::object& notification) {
  const auto& alert = notification.at("alert").as_object();
  const auto state = text_of(alert, "state");
  const auto summary = text_of(notification, "summary");
  const auto at = text_of(alert, "updated_at");
  const auto severity = text_of(alert, "severity");
  if (target.tool == "LOG_APPEND")  // schemas/payloads/log_append.schema.json
    return json::object{{"message", summary},
                        {"level", state != "firing" ? "info" : severity == "critical" ? "critical" : "warning"},
                        {"details", notification},
                        {"tags", json::array{"alert", state, text_of(alert, "rule")}},
                        {"source", "opex alerts"}};
  const auto kind = text_of(alert, "kind");
  return json::object{{"error_type", kind == "latency" ? "timeout_error"
                                     : kind == "daily_cost" ? "quota_exceeded"
                                                            : "workflow_failure"},
                      {"message", summary},
                      {"severity", severity == "critical" ? "critical" : severity == "info" ? "low" : "medium"},
                      {"source", json::object{{"component", "Opex"}, {"workflow_id", text_of(alert, "subject")}}},
                      {"context", notification},
                      {"notify_channels", json::array{"systemjournal"}},
                      {"timestamp", at}};
}

} // namespace opex
