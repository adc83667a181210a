// opex's own alerts over the workflow metrics (docs/operations.md, "Alerts"): rules with a
// threshold, a window and a minimum count; per rule and subject (a tool, or "total") a state
// that goes inactive -> pending -> firing -> resolved; a transition to firing or resolved is
// delivered once to the rule's notification targets. Pure logic: the metrics and the time are
// given; the alert evaluator (actors/alerts) reads, commits and delivers.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex {

/// What a rule measures, per tool over its window (workflow metrics, opex/workflow_metrics.hpp):
/// - error_rate: failed / executions (a fraction, 0 to 1);
/// - latency: a latency statistic of the steps that ran (ms);
/// - daily_cost: the cost of every step of the window together (USD; subject "total");
/// - idle_workflow: how long since the tool's last step (ms), for tools expected active.
enum class alert_kind { error_rate, latency, daily_cost, idle_workflow };

/// inactive: not breached; pending: breached for less than the rule's `for_ms`; firing:
/// breached long enough (delivered); resolved: no longer breached after firing (delivered).
enum class alert_state { inactive, pending, firing, resolved };

/// The latency statistic a latency rule compares.
enum class latency_statistic { mean, p50, p95, p99 };

std::string_view alert_kind_name(alert_kind k) noexcept;
std::string_view alert_state_name(alert_state s) noexcept;
std::string_view latency_statistic_name(latency_statistic s) noexcept;
std::optional<alert_kind> parse_alert_kind(std::string_view s) noexcept;
std::optional<alert_state> parse_alert_state(std::string_view s) noexcept;
std::optional<latency_statistic> parse_latency_statistic(std::string_view s) noexcept;

/// One rule (`alerts.rules[]` in opex.yml).
struct alert_rule {
  std::string name;
  alert_kind kind = alert_kind::error_rate;
  /// error_rate: a fraction (0.10 = 10 %); latency: ms; daily_cost: USD; idle_workflow: ms
  /// without a step. Breached when the value is above it.
  double threshold = 0.10;
  /// The window the value is computed over, ending now (ms). idle_workflow: how far back a
  /// tool must have run to be expected active.
  std::int64_t window_ms = 3600000;
  /// Executions the window must hold before the rule can breach, so one failure does not
  /// page. idle_workflow: the executions in the window that make a tool expected active.
  std::int64_t min_count = 5;
  /// How long the rule stays breached (pending) before it fires (ms); 0 fires at once.
  std::int64_t for_ms = 0;
  latency_statistic statistic = latency_statistic::p95;  ///< latency rules only
  /// Only these tools (idle_workflow: also expected active when they never ran); empty = every tool.
  std::vector<std::string> tools;
  std::string severity = "warning";  ///< info | warning | critical
  std::vector<std::string> targets;  ///< names of alerts.targets; empty = every target
};

/// The spec's four defaults: workflow_error_rate (> 10 %, 1 h, at least 5 executions),
/// workflow_latency (p95 > 30 s, 1 h, at least 5), daily_cost (> 10 USD, 24 h, at least 1),
/// idle_workflow (> 7 days without a step for a tool that ran in the last 30 days).
std::vector<alert_rule> default_alert_rules();

/// Where transitions to firing and resolved go (`alerts.targets[]`).
struct alert_target {
  enum class kind { webhook, tool };
  std::string name;
  kind type = kind::webhook;
  /// webhook: POSTed the notification JSON, signed like opexd's inbound webhooks
  /// (X-Opex-Timestamp, X-Opex-Signature: sha256=HMAC("<timestamp>.<body>")), with
  /// Idempotency-Key = the transition id.
  std::string url;
  std::string secret_env;  ///< webhook: the env var holding the signing secret ("" = unsigned)
  std::int64_t timeout_ms = 10000;
  /// tool: a catalogue tool run through the guarded pipeline as a tool_call, idempotency key
  /// `alert:<transition id>:<target>`, with an error_alert payload (GLOBAL_ERROR_ALERT's
  /// schema) or, for LOG_APPEND, a journal line (alert_tool_payload).
  std::string tool;
  std::string tenant = "default";  ///< tool: the tenant the call runs as
};

std::string_view alert_target_kind_name(alert_target::kind k) noexcept;

/// `alerts:` in opex.yml.
struct alert_settings {
  bool enabled = true;
  /// Evaluated every this many ms (0: only on demand, `POST /v1/alerts/evaluate`).
  std::int64_t evaluation_interval_ms = 60000;
  /// A failed delivery is retried at the next evaluations, at most this many attempts in all,
  /// then kept as failed (a dead letter listed by `GET /v1/alerts`).
  int max_delivery_attempts = 10;
  std::vector<alert_rule> rules = default_alert_rules();
  std::vector<alert_target> targets;
};

/// A rule's value for one subject at one evaluation.
struct alert_observation {
  std::string subject;  ///< a tool, or "total" (daily_cost)
  double value = 0.0;
  std::int64_t count = 0;  ///< executions in the window
  bool breached = false;
};

/// The observations of `rule` from the workflow metrics of its window grouped by tool
/// (connectors::workflow_runs::metrics' JSON: workflows[] rows and total). `now` is the end of
/// the window (idle_workflow measures from it).
std::vector<alert_observation> observe_alert_rule(const alert_rule& rule, const boost::json::object& metrics,
                                                  std::chrono::system_clock::time_point now);

/// The state of one rule and subject.
/// JSON: {"rule", "kind", "subject", "state", "value", "threshold", "count", "severity",
///        "pending_since", "fired_at", "resolved_at", "updated_at" (ISO 8601 UTC or null),
///        "transition_id" (the last transition's, a UUID)}.
struct alert_status {
  std::string rule;
  alert_kind kind = alert_kind::error_rate;
  std::string subject;
  alert_state state = alert_state::inactive;
  double value = 0.0;
  double threshold = 0.0;
  std::int64_t count = 0;
  std::string severity;
  std::string pending_since;
  std::string fired_at;
  std::string resolved_at;
  std::string updated_at;
  std::string transition_id;

  boost::json::object to_json() const;
  /// Back from to_json (a stored row); nullopt when a member is missing or unknown.
  static std::optional<alert_status> from_json(const boost::json::object& o);
};

/// A change of state: the new status and where it came from. `notify`: it is delivered (to
/// firing or resolved).
struct alert_transition {
  alert_status status;
  alert_state from = alert_state::inactive;
  bool notify = false;
};

/// The transition one evaluation makes, or nullopt when the state stays (firing stays firing
/// while breached: it is delivered once). No observation counts as not breached (a window with
/// no executions resolves). `transition_id` is the id the transition gets; `now` its time.
std::optional<alert_transition> next_alert_status(const alert_rule& rule, const alert_status* current,
                                                  const alert_observation* observation,
                                                  std::chrono::system_clock::time_point now,
                                                  std::string transition_id);

/// The notification a transition delivers:
/// {"transition_id", "alert": alert_status JSON, "from", "to", "rule": {"name", "kind",
///  "threshold", "window_ms", "min_count"}, "summary": one sentence, "source": "opex"}.
boost::json::object alert_notification(const alert_transition& t, const alert_rule& rule);

/// The payload a tool target receives: for LOG_APPEND a journal line {"message": the summary,
/// "level" (warning or critical when firing, else info), "details": the notification, "tags":
/// ["alert", state, rule], "source": "opex alerts"}, else an error_alert payload {"error_type", "message", "severity"
/// (low | medium | high | critical), "source": {"component": "Opex", "workflow_id"},
/// "context": the notification, "notify_channels": ["systemjournal"], "timestamp"}.
boost::json::object alert_tool_payload(const alert_target& target, const boost::json::object& notification);

} // namespace opex
