// opex's alert rules on metrics with known answers and an injected time: what each kind
// observes, the minimum count that keeps one failure from paging, and the states
// inactive -> pending -> firing -> resolved with one notifying transition each way.
#include "opex/alerts.hpp"
#include "opex/clock.hpp"

#include <boost/json/array.hpp>
#include <catch2/catch.hpp>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const auto t0 = parse_iso8601("2026-12-03T12:00:00Z")->utc;

json::object row(std::string tool, int executions, int failed, double p95, double cost, std::string last_at) {
  return json::object{{"tool", tool},
                      {"executions", executions},
                      {"failed", failed},
                      {"failure_rate", executions ? static_cast<double>(failed) / executions : 0.0},
                      {"latency_ms", {{"mean", p95 / 2}, {"p50", p95 / 3}, {"p95", p95}, {"p99", p95}}},
                      {"cost_usd", {{"total", cost}, {"mean", executions ? cost / executions : 0.0}}},
                      {"last_at", last_at}};
}

json::object metrics(json::array rows) {
  return json::object{{"workflows", std::move(rows)}};
}

alert_rule rule_named(std::string_view name) {
  for (auto& r : default_alert_rules())
    if (r.name == name)
      return r;
  FAIL("no default rule " << name);
  return {};
}

} // namespace

TEST_CASE("alerts: the spec's four defaults and what each observes") {
  auto rules = default_alert_rules();
  REQUIRE(rules.size() == 4);
  const auto m = metrics(json::array{row("GIT_CLONE", 20, 3, 800, 0.5, "2026-12-03T11:59:00.000Z"),   // 15 %
                                     row("WEB_SEARCH", 4, 4, 100, 0.1, "2026-12-03T11:00:00.000Z"),    // 100 %, 4 runs
                                     row("N8N_WORKFLOW_RUN", 10, 0, 45000, 11.0, "2026-11-20T12:00:00.000Z")});

  auto errors = observe_alert_rule(rule_named("workflow_error_rate"), m, t0);
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].subject == "GIT_CLONE");
  CHECK(errors[0].value == Approx(0.15));
  CHECK(errors[0].breached);
  CHECK(errors[1].subject == "WEB_SEARCH");
  CHECK_FALSE(errors[1].breached);  // every one failed, but 4 < min_count 5: one bad minute does not page
  CHECK_FALSE(errors[2].breached);

  auto latency = observe_alert_rule(rule_named("workflow_latency"), m, t0);
  CHECK(latency[2].subject == "N8N_WORKFLOW_RUN");
  CHECK(latency[2].value == Approx(45000));  // p95 above 30 s
  CHECK(latency[2].breached);
  CHECK_FALSE(latency[0].breached);

  auto cost = observe_alert_rule(rule_named("daily_cost"), m, t0);
  REQUIRE(cost.size() == 1);
  CHECK(cost[0].subject == "total");
  CHECK(cost[0].value == Approx(11.6));
  CHECK(cost[0].count == 34);
  CHECK(cost[0].breached);

  auto idle = observe_alert_rule(rule_named("idle_workflow"), m, t0);
  REQUIRE(idle.size() == 3);
  CHECK(idle[2].subject == "N8N_WORKFLOW_RUN");
  CHECK(idle[2].value == Approx(13.0 * 86400000.0));
  CHECK(idle[2].breached);  // 13 days > 7
  CHECK_FALSE(idle[0].breached);
}

TEST_CASE("alerts: a rule's tools filter, and an expected tool that never ran is idle") {
  auto idle = rule_named("idle_workflow");
  idle.tools = {"BACKUP_RUN", "GIT_CLONE"};
  const auto m = metrics(json::array{row("GIT_CLONE", 2, 0, 10, 0, "2026-12-03T10:00:00.000Z"),
                                     row("WEB_SEARCH", 9, 0, 10, 0, "2026-11-01T10:00:00.000Z")});
  auto obs = observe_alert_rule(idle, m, t0);
  REQUIRE(obs.size() == 2);
  CHECK(obs[0].subject == "GIT_CLONE");
  CHECK_FALSE(obs[0].breached);
  CHECK(obs[1].subject == "BACKUP_RUN");
  CHECK(obs[1].count == 0);
  CHECK(obs[1].breached);

  auto errors = rule_named("workflow_error_rate");
  errors.tools = {"WEB_SEARCH"};
  CHECK(observe_alert_rule(errors, m, t0).size() == 1);
}

TEST_CASE("alerts: fires once while breached and resolves once") {
  auto rule = rule_named("workflow_error_rate");
  alert_observation bad{"GIT_CLONE", 0.5, 10, true};
  alert_observation good{"GIT_CLONE", 0.0, 10, false};

  auto fired = next_alert_status(rule, nullptr, &bad, t0, "t-1");
  REQUIRE(fired);
  CHECK(fired->from == alert_state::inactive);
  CHECK(fired->status.state == alert_state::firing);  // for_ms 0: at once
  CHECK(fired->notify);
  CHECK(fired->status.fired_at == "2026-12-03T12:00:00.000Z");
  CHECK(fired->status.transition_id == "t-1");

  // Still breached: no transition, so nothing is delivered again.
  CHECK_FALSE(next_alert_status(rule, &fired->status, &bad, t0 + 1min, "t-2"));

  auto resolved = next_alert_status(rule, &fired->status, &good, t0 + 2min, "t-3");
  REQUIRE(resolved);
  CHECK(resolved->from == alert_state::firing);
  CHECK(resolved->status.state == alert_state::resolved);
  CHECK(resolved->notify);
  CHECK(resolved->status.resolved_at == "2026-12-03T12:02:00.000Z");
  CHECK(resolved->status.fired_at == "2026-12-03T12:00:00.000Z");
  CHECK_FALSE(next_alert_status(rule, &resolved->status, &good, t0 + 3min, "t-4"));

  // No observation at all (the window emptied) resolves a firing alert too.
  auto emptied = next_alert_status(rule, &fired->status, nullptr, t0 + 5min, "t-5");
  REQUIRE(emptied);
  CHECK(emptied->status.state == alert_state::resolved);
  CHECK(emptied->status.count == 0);

  // Breached again after resolving: a new cycle.
  auto again = next_alert_status(rule, &resolved->status, &bad, t0 + 10min, "t-6");
  REQUIRE(again);
  CHECK(again->status.state == alert_state::firing);
  CHECK(again->status.resolved_at.empty());
}

TEST_CASE("alerts: for_ms holds a breach pending, and a short one never notifies") {
  auto rule = rule_named("workflow_error_rate");
  rule.for_ms = 5 * 60000;
  alert_observation bad{"GIT_CLONE", 0.5, 10, true};
  alert_observation good{"GIT_CLONE", 0.0, 10, false};

  auto pending = next_alert_status(rule, nullptr, &bad, t0, "t-1");
  REQUIRE(pending);
  CHECK(pending->status.state == alert_state::pending);
  CHECK_FALSE(pending->notify);
  CHECK(pending->status.pending_since == "2026-12-03T12:00:00.000Z");
  CHECK_FALSE(next_alert_status(rule, &pending->status, &bad, t0 + 4min, "t-2"));  // not long enough

  auto firing = next_alert_status(rule, &pending->status, &bad, t0 + 5min, "t-3");
  REQUIRE(firing);
  CHECK(firing->status.state == alert_state::firing);
  CHECK(firing->notify);

  auto cleared = next_alert_status(rule, &pending->status, &good, t0 + 2min, "t-4");
  REQUIRE(cleared);
  CHECK(cleared->status.state == alert_state::inactive);
  CHECK_FALSE(cleared->notify);
}

TEST_CASE("alerts: the status JSON round-trips and the notification names the rule") {
  auto rule = rule_named("workflow_error_rate");
  alert_observation bad{"GIT_CLONE", 0.25, 8, true};
  auto t = next_alert_status(rule, nullptr, &bad, t0, "0b1c5e0e-0000-4000-8000-000000000001");
  REQUIRE(t);
  auto back = alert_status::from_json(t->status.to_json());
  REQUIRE(back);
  CHECK(back->to_json() == t->status.to_json());
  CHECK_FALSE(alert_status::from_json(json::object{{"rule", "x"}}));

  auto n = alert_notification(*t, rule);
  CHECK(n.at("to") == "firing");
  CHECK(n.at("from") == "inactive");
  CHECK(n.at("summary") == "FIRING workflow_error_rate for GIT_CLONE: 25.0 % (threshold 10.0 %, 8 executions)");
  CHECK(n.at("rule").at("min_count") == 5);

  alert_target global{"ops", alert_target::kind::tool, "", "", 1000, "GLOBAL_ERROR_ALERT", "default"};
  auto p = alert_tool_payload(global, n);
  CHECK(p.at("error_type") == "workflow_failure");
  CHECK(p.at("severity") == "medium");
  CHECK(p.at("source").at("workflow_id") == "GIT_CLONE");
  alert_target log{"log", alert_target::kind::tool, "", "", 1000, "LOG_APPEND", "default"};
  auto line = alert_tool_payload(log, n);
  CHECK(line.at("message") == n.at("summary"));
  CHECK(line.at("level") == "warning");
  CHECK(line.at("tags") == json::array{"alert", "firing", "workflow_error_rate"});
  CHECK(line.at("details").at("transition_id") == "0b1c5e0e-0000-4000-8000-000000000001");
}
