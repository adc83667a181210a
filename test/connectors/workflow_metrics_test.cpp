// Workflow metrics on a generated journal with known answers: counts, rates, nearest-rank
// latency percentiles, costs, tokens, days, filters and groups; the same answers from a database
// made before the workflow_runs table (filled from its journal once); query parameters checked.
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"
#include "opex/connectors/workflow_runs.hpp"
#include "opex/clock.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::connectors;
namespace json = boost::json;

namespace {

json::object step(std::string ts, std::string tool, std::string status, double ms, std::string tenant = "acme",
                  double cost = 0.0, std::int64_t tokens = 0, std::string intent = "task_create") {
  json::object md{{"tenant", tenant}, {"step", 1}, {"execution_time_ms", ms}, {"cost_usd", cost}};
  if (tokens > 0)
    md["tokens_used"] = tokens;
  json::object e{{"timestamp", ts},
                 {"request_id", "r-" + ts},
                 {"agent", "opex"},
                 {"action_type", "execution"},
                 {"tool_used", tool},
                 {"result", {{"status", status == "succeeded" ? "success" : "failure"}}},
                 {"metadata", std::move(md)},
                 {"tags", json::array{"step", status}}};
  if (!intent.empty())
    e["intent"] = intent;
  if (status == "failed")
    e["result"].as_object()["error_code"] = "CONNECTION_FAILED";
  return e;
}

/// 20 TASK_CREATE steps on 2026-12-01 taking 1..20 ms (3 failed, 1 timed out, 2 skipped with
/// no duration), 4 on 2026-12-02 for tenant globex, one before the window, one after it, plus
/// entries that are not step outcomes (a plan entry, an attempt, a proxy decision).
std::vector<json::object> journal_sample() {
  std::vector<json::object> out;
  for (int i = 1; i <= 20; ++i) {
    char ts[32];
    std::snprintf(ts, sizeof ts, "2026-12-01T10:%02d:00.000Z", i);
    std::string status = i <= 3 ? "failed" : i == 4 ? "timed_out" : "succeeded";
    out.push_back(step(ts, "TASK_CREATE", status, i, "acme", 0.01, 10));
  }
  out.push_back(step("2026-12-01T11:00:00.000Z", "TASK_CREATE", "skipped", 0));
  out.push_back(step("2026-12-01T11:01:00.000Z", "TASK_CREATE", "skipped", 0));
  for (int i = 1; i <= 4; ++i)
    out.push_back(step("2026-12-02T08:0" + std::to_string(i) + ":00.000Z", "N8N_WORKFLOW_RUN", "succeeded", 100.0 * i,
                       "globex", 0.5, 0, ""));
  out.push_back(step("2026-11-30T23:59:59.999Z", "TASK_CREATE", "failed", 999));  // before
  out.push_back(step("2026-12-03T00:00:00.000Z", "TASK_CREATE", "failed", 999));  // until is excluded
  auto plan = step("2026-12-01T12:00:00.000Z", "TASK_CREATE", "succeeded", 5);
  plan.erase("tool_used");
  out.push_back(plan);
  auto attempt = step("2026-12-01T12:00:01.000Z", "TASK_CREATE", "failed", 5);
  attempt["tags"] = json::array{"attempt", "retrying"};
  out.push_back(attempt);
  auto decision = step("2026-12-01T12:00:02.000Z", "TASK_CREATE", "succeeded", 5);
  decision["agent"] = "proxy";
  out.push_back(decision);
  return out;
}

workflow_metrics_query window(std::vector<workflow_dimension> by = {workflow_dimension::tool}) {
  workflow_metrics_query q;
  q.since = "2026-12-01T00:00:00.000Z";
  q.until = "2026-12-03T00:00:00.000Z";
  q.group_by = std::move(by);
  return q;
}

const json::object& row_of(const json::object& m, std::string_view tool) {
  for (const auto& r : m.at("workflows").as_array())
    if (r.at("tool").as_string() == tool)
      return r.as_object();
  FAIL("no row for " << tool << " in " << json::serialize(m));
  throw std::logic_error("unreachable");
}

void check_known_answers(sqlite_db& db) {
  auto m = workflow_runs::metrics(db, window());
  CHECK(m.at("days").as_double() == Approx(2.0));
  REQUIRE(m.at("workflows").as_array().size() == 2);
  CHECK(m.at("workflows").as_array()[0].at("tool") == "TASK_CREATE");  // most executions first
  const auto& task = row_of(m, "TASK_CREATE");
  CHECK(task.at("executions").as_int64() == 22);
  CHECK(task.at("succeeded").as_int64() == 16);
  CHECK(task.at("failed").as_int64() == 4);  // failed and timed_out
  CHECK(task.at("skipped").as_int64() == 2);
  CHECK(task.at("success_rate").as_double() == Approx(16.0 / 22));
  CHECK(task.at("failure_rate").as_double() == Approx(4.0 / 22));
  CHECK(task.at("skipped_rate").as_double() == Approx(2.0 / 22));
  CHECK(task.at("executions_per_day").as_double() == Approx(11.0));
  // The 20 steps that ran took 1..20 ms: nearest rank ceil(p * 20).
  const auto& lat = task.at("latency_ms").as_object();
  CHECK(lat.at("mean").as_double() == Approx(10.5));
  CHECK(lat.at("p50").as_double() == Approx(10));
  CHECK(lat.at("p95").as_double() == Approx(19));
  CHECK(lat.at("p99").as_double() == Approx(20));
  CHECK(task.at("cost_usd").at("total").as_double() == Approx(0.20));
  CHECK(task.at("cost_usd").at("mean").as_double() == Approx(0.20 / 22));
  CHECK(task.at("tokens").as_int64() == 200);
  CHECK(task.at("first_at") == "2026-12-01T10:01:00.000Z");
  CHECK(task.at("last_at") == "2026-12-01T11:01:00.000Z");
  const auto& run = row_of(m, "N8N_WORKFLOW_RUN");
  CHECK(run.at("executions").as_int64() == 4);
  CHECK(run.at("latency_ms").at("p50").as_double() == Approx(200));
  CHECK(run.at("latency_ms").at("p95").as_double() == Approx(400));
  const auto& total = m.at("total").as_object();
  CHECK(total.at("executions").as_int64() == 26);
  CHECK(total.at("cost_usd").at("total").as_double() == Approx(2.20));
  const auto& days = m.at("per_day").as_array();
  REQUIRE(days.size() == 2);
  CHECK(days[0].at("day") == "2026-12-01");
  CHECK(days[0].at("executions").as_int64() == 22);
  CHECK(days[0].at("failed").as_int64() == 4);
  CHECK(days[1].at("day") == "2026-12-02");
  CHECK(days[1].at("cost_usd").as_double() == Approx(2.0));
}

} // namespace

TEST_CASE("workflow metrics: counts, rates, percentiles and costs of a known journal") {
  test::temp_dir dir;
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  REQUIRE(journal->append(journal_sample()).value() == 31);
  check_known_answers(*db);

  SECTION("a tenant and a tool filter") {
    auto q = window();
    q.tenant = "globex";
    auto m = workflow_runs::metrics(*db, q);
    REQUIRE(m.at("workflows").as_array().size() == 1);
    CHECK(m.at("workflows").as_array()[0].at("tool") == "N8N_WORKFLOW_RUN");
    CHECK(m.at("tenant") == "globex");
    q = window();
    q.tool = "TASK_CREATE";
    q.since = "2026-12-01T10:10:00.000Z";
    CHECK(workflow_runs::metrics(*db, q).at("total").at("executions").as_int64() == 13);  // 10:10..11:01
  }
  SECTION("grouped by tenant and intent; a step without an intent has a null one") {
    auto m = workflow_runs::metrics(*db, window({workflow_dimension::tenant, workflow_dimension::intent}));
    const auto& rows = m.at("workflows").as_array();
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].at("tenant") == "acme");
    CHECK(rows[0].at("intent") == "task_create");
    CHECK(rows[1].at("tenant") == "globex");
    CHECK(rows[1].at("intent").is_null());
    CHECK_FALSE(rows[0].as_object().contains("tool"));
  }
  SECTION("an empty window has zero counts and null latencies") {
    auto q = window();
    q.since = "2025-01-01T00:00:00.000Z";
    q.until = "2025-01-02T00:00:00.000Z";
    auto m = workflow_runs::metrics(*db, q);
    CHECK(m.at("workflows").as_array().empty());
    CHECK(m.at("total").at("executions").as_int64() == 0);
    CHECK(m.at("total").at("latency_ms").at("p95").is_null());
  }
}

TEST_CASE("workflow metrics: a database made before workflow_runs is filled from its journal once") {
  test::temp_dir dir;
  {
    auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
    auto journal = sqlite_journal::open_on(db).value();
    REQUIRE(journal->append(journal_sample()).value() == 31);
    db->exec("DROP TABLE workflow_runs");
  }
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  check_known_answers(*db);
  auto again = sqlite_journal::open_on(db).value();  // opened again: filled once, not twice
  check_known_answers(*db);
}

TEST_CASE("workflow metrics: query parameters are checked and defaulted") {
  auto now = parse_iso8601("2026-12-03T12:00:00Z")->utc;
  auto q = make_workflow_metrics_query({}, now);
  REQUIRE(q);
  CHECK(q->until == "2026-12-03T12:00:00.000Z");
  CHECK(q->since == "2026-11-26T12:00:00.000Z");
  CHECK(q->group_by == std::vector{workflow_dimension::tool});
  q = make_workflow_metrics_query({{"since", "2026-12-01"}, {"until", "2026-12-02T06:00:00+02:00"},
                                   {"group_by", "intent,tenant"}, {"tool", "TASK_CREATE"}},
                                  now);
  REQUIRE(q);
  CHECK(q->since == "2026-12-01T00:00:00.000Z");
  CHECK(q->until == "2026-12-02T04:00:00.000Z");
  CHECK(q->group_by == std::vector{workflow_dimension::intent, workflow_dimension::tenant});
  CHECK(q->tool == "TASK_CREATE");
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
         {"since", "yesterday"}, {"until", "2026-13-01"}, {"since", "2026-12-04"}, {"group_by", "tool,tool"},
         {"group_by", "status"}}) {
    auto bad = make_workflow_metrics_query({{name, value}}, now);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == error_code::validation_error);
    CHECK(bad.error().details.at("parameter").as_string() == name);
  }
}
