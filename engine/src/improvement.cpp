// Improvement proposals (opex/improvement.hpp).
#include "opex/improvement.hpp"

#include "opex/clock.hpp"
#include "opex/json_util.hpp"

#include <algorithm>
#include <cstdio>

namespace opex {

namespace json = boost::json;

namespace {

std::string fixed(double v, const char* format) {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string today(std::chrono::system_clock::time_point now) {
  return format_timestamp(now).substr(0, 10);
}

improvement_proposal make(improvement_kind kind, std::string subject, std::string title, json::object evidence,
                          std::string notes, std::chrono::system_clock::time_point now) {
  improvement_proposal p;
  p.kind = kind;
  p.idempotency_key = "improve:" + std::string(improvement_kind_name(kind)) + ":" + subject + ":" + today(now);
  p.subject = std::move(subject);
  p.title = std::move(title);
  p.evidence = std::move(evidence);
  p.notes = std::move(notes);
  return p;
}

/// The window as dates: the same proposal made twice in a day has the same text, so applying
/// it again is a replay of its idempotency key, not a conflict.
std::string window_text(const json::object& metrics) {
  return std::string(get_string(metrics, "since").value_or("").substr(0, 10)) + " to "
         + std::string(get_string(metrics, "until").value_or("").substr(0, 10));
}

/// A tool failing more than the threshold, most of its failures with one error code.
void recurrent_errors(const improvement_input& in, const improvement_settings& s, std::vector<improvement_proposal>& out) {
  const auto* codes = get_member(in.evidence, "error_codes");
  for (const auto& w : in.metrics.at("workflows").as_array()) {
    const auto& row = w.as_object();
    auto tool = std::string(get_string(row, "tool").value_or(""));
    auto executions = row.at("executions").to_number<std::int64_t>();
    auto failed = row.at("failed").to_number<std::int64_t>();
    double rate = row.at("failure_rate").to_number<double>();
    if (executions < s.min_executions || rate <= s.failure_rate || !codes || !codes->is_array())
      continue;
    for (const auto& c : codes->get_array()) {  // most frequent code of each tool first
      const auto& code = c.as_object();
      if (get_string(code, "tool") != tool)
        continue;
      auto count = code.at("count").to_number<std::int64_t>();
      if (count * 2 < failed)  // no code accounts for most of the failures
        break;
      auto name = std::string(get_string(code, "error_code").value_or(""));
      json::object evidence{{"tool", tool}, {"executions", executions}, {"failed", failed}, {"failure_rate", rate},
                            {"error_code", name}, {"error_code_count", count},
                            {"request_ids", code.at("request_ids")}, {"window", window_text(in.metrics)}};
      std::string notes = tool + " failed " + std::to_string(failed) + " of " + std::to_string(executions) + " steps ("
                          + fixed(rate * 100, "%.1f") + " %) from " + window_text(in.metrics) + "; " + std::to_string(count)
                          + " with " + name + ". Requests: ";
      for (const auto& id : code.at("request_ids").as_array())
        notes += std::string(id.as_string()) + " ";
      out.push_back(make(improvement_kind::recurrent_error, tool,
                         "Investigate " + tool + ": " + fixed(rate * 100, "%.0f") + " % of its steps fail with " + name,
                         std::move(evidence), std::move(notes), in.now));
      out.back().priority = "high";
      break;
    }
  }
}

/// A workflow whose p95 exceeds its target.
void slow_workflows(const improvement_input& in, const improvement_settings& s, std::vector<improvement_proposal>& out) {
  for (const auto& w : in.metrics.at("workflows").as_array()) {
    const auto& row = w.as_object();
    auto tool = std::string(get_string(row, "tool").value_or(""));
    const auto& p95 = row.at("latency_ms").at("p95");
    auto executions = row.at("executions").to_number<std::int64_t>();
    auto target_it = s.latency_targets_ms.find(tool);
    double target = target_it == s.latency_targets_ms.end() ? s.latency_target_ms : target_it->second;
    if (executions < s.min_executions || p95.is_null() || p95.to_number<double>() <= target)
      continue;
    double value = p95.to_number<double>();
    json::object evidence{{"tool", tool}, {"executions", executions}, {"p95_ms", value}, {"target_ms", target},
                          {"p50_ms", row.at("latency_ms").at("p50")}, {"mean_ms", row.at("latency_ms").at("mean")},
                          {"window", window_text(in.metrics)}};
    out.push_back(make(improvement_kind::slow_workflow, tool,
                       "Speed up " + tool + ": p95 " + fixed(value, "%.0f") + " ms, target " + fixed(target, "%.0f") + " ms",
                       std::move(evidence),
                       tool + "'s p95 step duration was " + fixed(value, "%.0f") + " ms over " + std::to_string(executions)
                         + " steps from " + window_text(in.metrics) + " (target " + fixed(target, "%.0f") + " ms).",
                       in.now));
  }
}

/// A day costing more than cost_factor times the window's daily mean (at least 3 days of costs).
void cost_anomalies(const improvement_input& in, const improvement_settings& s, std::vector<improvement_proposal>& out) {
  const auto& days = in.metrics.at("per_day").as_array();
  if (days.size() < 3)
    return;
  double total = 0;
  for (const auto& d : days)
    total += d.at("cost_usd").to_number<double>();
  double mean = total / static_cast<double>(days.size());
  if (mean <= 0)
    return;
  for (const auto& d : days) {
    double cost = d.at("cost_usd").to_number<double>();
    if (cost <= s.cost_factor * mean)
      continue;
    auto day = std::string(d.at("day").as_string());
    json::object evidence{{"day", day}, {"cost_usd", cost}, {"daily_mean_usd", mean}, {"factor", cost / mean},
                          {"days", static_cast<std::int64_t>(days.size())}, {"executions", d.at("executions")}};
    out.push_back(make(improvement_kind::cost_anomaly, day,
                       "Review the cost of " + day + ": " + fixed(cost, "%.2f") + " USD, " + fixed(cost / mean, "%.1f")
                         + " times the daily mean",
                       std::move(evidence),
                       day + " cost " + fixed(cost, "%.4f") + " USD against a daily mean of " + fixed(mean, "%.4f")
                         + " USD over " + std::to_string(days.size()) + " days with costs recorded.",
                       in.now));
  }
}

/// A catalogue tool with no step for unused_days, once the journal is that old.
void unused_tools(const improvement_input& in, const improvement_settings& s, std::vector<improvement_proposal>& out) {
  const auto* first = get_member(in.evidence, "first_at");
  const auto* last_used = get_member(in.evidence, "last_used");
  auto cutoff = format_timestamp(in.now - std::chrono::hours(24) * s.unused_days);
  if (!first || !first->is_string() || std::string_view(first->get_string()) > cutoff || !last_used || !last_used->is_object())
    return;  // the journal is younger than the period: nothing can be said yet
  for (const auto& tool : in.catalogue_tools) {
    auto last = get_string(last_used->get_object(), tool);
    if (last && *last >= cutoff)
      continue;
    json::object evidence{{"tool", tool}, {"last_used", last ? json::value(*last) : json::value(nullptr)},
                          {"unused_days", s.unused_days}, {"journal_since", *first}};
    out.push_back(make(improvement_kind::unused_tool, tool,
                       "Review " + tool + ": no step for " + std::to_string(s.unused_days) + " days",
                       std::move(evidence),
                       tool + (last ? " last ran at " + std::string(*last) : std::string(" never ran")) + "; the journal goes back to "
                         + std::string(first->get_string()) + ". Keep it, or remove it from the catalogue.",
                       in.now));
    out.back().priority = "low";
  }
}

} // namespace

std::string_view improvement_kind_name(improvement_kind k) noexcept {
  switch (k) {
  case improvement_kind::recurrent_error:
    return "recurrent_error";
  case improvement_kind::slow_workflow:
    return "slow_workflow";
  case improvement_kind::cost_anomaly:
    return "cost_anomaly";
  case improvement_kind::unused_tool:
    return "unused_tool";
  }
  return "recurrent_error";
}

json::object improvement_proposal::to_json() const {
  return json::object{{"kind", improvement_kind_name(kind)},
                      {"subject", subject},
                      {"title", title},
                      {"evidence", evidence},
                      {"idempotency_key", idempotency_key},
                      {"todo", json::object{{"type", "tool_call"},
                                            {"tool", "TODO_CREATE"},
                                            {"payload", json::object{{"title", title.substr(0, 500)},
                                                                     {"notes", notes},
                                                                     {"priority", priority}}}}}};
}

std::optional<std::string> improvement_run_due(std::chrono::system_clock::time_point now, int at_minute,
                                               std::string_view last_run_day) {
  const auto day = std::chrono::floor<std::chrono::days>(now);
  const auto today = format_timestamp(day).substr(0, 10);
  if (today == last_run_day || now < day + std::chrono::minutes(at_minute))
    return std::nullopt;
  return today;
}

std::vector<improvement_proposal> propose_improvements(const improvement_input& in, const improvement_settings& s) {
  std::vector<improvement_proposal> out;
  recurrent_errors(in, s, out);
  slow_workflows(in, s, out);
  cost_anomalies(in, s, out);
  unused_tools(in, s, out);
  return out;
}

} // namespace opex
