// Improvement proposals on known metrics and evidence: each kind proposed past its threshold
// with its evidence and TODO_CREATE payload, and not below it (too few steps, failures spread
// over codes, a journal younger than the unused period).
#include "opex/clock.hpp"
#include "opex/improvement.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace opex;
namespace json = boost::json;

namespace {

json::object row(std::string tool, int executions, int failed, double p95) {
  return json::object{{"tool", tool},
                      {"executions", executions},
                      {"failed", failed},
                      {"failure_rate", static_cast<double>(failed) / executions},
                      {"latency_ms", {{"mean", p95 / 2}, {"p50", p95 / 3}, {"p95", p95}, {"p99", p95}}}};
}

improvement_input sample() {
  improvement_input in;
  in.now = parse_iso8601("2026-12-31T12:00:00Z")->utc;
  in.metrics = json::object{
    {"since", "2026-12-01T12:00:00.000Z"},
    {"until", "2026-12-31T12:00:00.000Z"},
    {"workflows", json::array{row("GIT_CLONE", 20, 6, 800),          // 30 %, 5 of 6 with one code
                              row("HTTP_REQUEST", 20, 6, 900),       // 30 %, codes spread
                              row("WEB_SEARCH", 4, 4, 100),          // 100 %, but 4 steps
                              row("N8N_WORKFLOW_RUN", 10, 0, 45000)}},  // slow
    {"per_day", json::array{json::object{{"day", "2026-12-28"}, {"cost_usd", 1.0}, {"executions", 10}},
                            json::object{{"day", "2026-12-29"}, {"cost_usd", 1.0}, {"executions", 10}},
                            json::object{{"day", "2026-12-30"}, {"cost_usd", 1.0}, {"executions", 10}},
                            json::object{{"day", "2026-12-31"}, {"cost_usd", 17.0}, {"executions", 12}}}}};
  in.evidence = json::object{
    {"error_codes", json::array{
      json::object{{"tool", "GIT_CLONE"}, {"error_code", "CONNECTION_FAILED"}, {"count", 5}, {"request_ids", json::array{"r-9", "r-8"}}},
      json::object{{"tool", "GIT_CLONE"}, {"error_code", "TIMEOUT"}, {"count", 1}, {"request_ids", json::array{"r-7"}}},
      json::object{{"tool", "HTTP_REQUEST"}, {"error_code", "HTTP_ERROR"}, {"count", 2}, {"request_ids", json::array{"r-1"}}},
      json::object{{"tool", "HTTP_REQUEST"}, {"error_code", "TIMEOUT"}, {"count", 2}, {"request_ids", json::array{"r-2"}}},
      json::object{{"tool", "HTTP_REQUEST"}, {"error_code", "CONNECTION_FAILED"}, {"count", 2}, {"request_ids", json::array{"r-3"}}},
      json::object{{"tool", "WEB_SEARCH"}, {"error_code", "HTTP_ERROR"}, {"count", 4}, {"request_ids", json::array{"r-4"}}}}},
    {"last_used", {{"GIT_CLONE", "2026-12-30T10:00:00.000Z"}, {"TASK_CREATE", "2026-11-01T10:00:00.000Z"}}},
    {"first_at", "2026-10-01T00:00:00.000Z"}};
  in.catalogue_tools = {"GIT_CLONE", "TASK_CREATE", "LOG_APPEND"};
  return in;
}

std::vector<std::string> kinds_and_subjects(const std::vector<improvement_proposal>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps)
    out.push_back(std::string(improvement_kind_name(p.kind)) + " " + p.subject);
  return out;
}

} // namespace

TEST_CASE("improvement: each kind past its threshold, with evidence and a TODO_CREATE payload") {
  auto ps = propose_improvements(sample(), improvement_settings{});
  CHECK(kinds_and_subjects(ps) == std::vector<std::string>{"recurrent_error GIT_CLONE", "slow_workflow N8N_WORKFLOW_RUN",
                                                           "cost_anomaly 2026-12-31", "unused_tool TASK_CREATE",
                                                           "unused_tool LOG_APPEND"});
  auto error = ps[0].to_json();
  CHECK(error.at("evidence").at("error_code") == "CONNECTION_FAILED");
  CHECK(error.at("evidence").at("error_code_count") == 5);
  CHECK(error.at("evidence").at("request_ids") == json::array{"r-9", "r-8"});
  CHECK(error.at("idempotency_key") == "improve:recurrent_error:GIT_CLONE:2026-12-31");
  const auto& todo = error.at("todo").as_object();
  CHECK(todo.at("tool") == "TODO_CREATE");
  CHECK(todo.at("payload").at("title") == "Investigate GIT_CLONE: 30 % of its steps fail with CONNECTION_FAILED");
  CHECK(todo.at("payload").at("priority") == "high");
  CHECK(std::string(todo.at("payload").at("notes").as_string()).find("r-9 r-8") != std::string::npos);
  CHECK(ps[1].evidence.at("p95_ms").as_double() == Approx(45000));
  CHECK(ps[2].evidence.at("daily_mean_usd").as_double() == Approx(5.0));
  CHECK(ps[2].evidence.at("factor").as_double() == Approx(3.4));
  CHECK(ps[3].evidence.at("last_used") == "2026-11-01T10:00:00.000Z");
  CHECK(ps[4].evidence.at("last_used").is_null());  // never ran
}

TEST_CASE("improvement: thresholds and targets are settings; a young journal says nothing of unused tools") {
  auto in = sample();
  improvement_settings s;
  s.failure_rate = 0.5;            // 30 % is fine now
  s.latency_targets_ms["N8N_WORKFLOW_RUN"] = 60000;
  s.cost_factor = 4.0;             // 3.4 times the mean is fine now
  s.min_executions = 4;            // WEB_SEARCH's 4 failing steps count now
  in.evidence["first_at"] = "2026-12-15T00:00:00.000Z";
  CHECK(kinds_and_subjects(propose_improvements(in, s)) == std::vector<std::string>{"recurrent_error WEB_SEARCH"});
}

TEST_CASE("improvement: the daily run is due once a day, after its time (UTC)") {
  const auto at6 = 6 * 60;
  CHECK_FALSE(improvement_run_due(parse_iso8601("2026-12-03T05:59:00Z")->utc, at6, ""));
  CHECK(improvement_run_due(parse_iso8601("2026-12-03T06:00:00Z")->utc, at6, "") == std::optional<std::string>("2026-12-03"));
  CHECK(improvement_run_due(parse_iso8601("2026-12-03T23:00:00Z")->utc, at6, "2026-12-02") == std::optional<std::string>("2026-12-03"));
  CHECK_FALSE(improvement_run_due(parse_iso8601("2026-12-03T23:00:00Z")->utc, at6, "2026-12-03"));  // ran today
  CHECK(improvement_run_due(parse_iso8601("2026-12-04T06:01:00+02:00")->utc, at6, "2026-12-03") == std::nullopt);  // 04:01 UTC
}
