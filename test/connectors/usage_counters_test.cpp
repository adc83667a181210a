// Usage counters and journal marks: quotas and budgets read counters the journal keeps in its own transaction, so
// they stay the same when the journal rows they came from are gone, and an older database gets
// them filled from its journal once.
#include "opex/connectors/journal_marks.hpp"
#include "opex/connectors/plan_store.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"
#include "opex/connectors/usage_counters.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::connectors;
namespace json = boost::json;

namespace {

/// A journal entry; `workflow`: a tested workflow, recorded as the guard asks today
/// (metadata.facts), or as journals before facts had it (payload_snapshot) when `legacy`.
json::object entry(std::string ts, std::string request, std::string agent, std::string tool, std::string status,
                   std::string tenant, double cost = 0.0, std::string workflow = "", bool legacy = false) {
  json::object e{{"timestamp", ts},       {"request_id", request}, {"agent", agent},
                 {"action_type", "execution"}, {"result", {{"status", status}}},
                 {"metadata", {{"tenant", tenant}}}, {"tags", json::array{agent == "opex" ? "step" : "decision"}}};
  if (!tool.empty())
    e["tool_used"] = tool;
  if (cost != 0.0)
    e["metadata"].as_object()["cost_usd"] = cost;
  if (!workflow.empty() && legacy)
    e["payload_snapshot"] = {{"workflow_name", workflow}};
  else if (!workflow.empty())
    e["metadata"].as_object()["facts"] = json::array{json::object{{"kind", "workflow_tested"}, {"subject", workflow}}};
  return e;
}

std::vector<json::object> sample(bool legacy = false) {
  return {
    entry("2026-11-30T23:59:59.000Z", "r0", "opex", "TASK_CREATE", "success", "acme", 1.0),   // before today
    entry("2026-12-01T00:00:00.000Z", "r1", "proxy", "", "success", "acme"),
    entry("2026-12-01T00:00:01.000Z", "r1", "proxy", "", "success", "acme"),                  // same request
    entry("2026-12-01T00:00:02.000Z", "r1", "opex", "TASK_CREATE", "success", "acme", 0.25),
    entry("2026-12-01T09:14:59.000Z", "r2", "proxy", "", "success", "globex"),
    entry("2026-12-01T09:15:00.000Z", "r2", "opex", "TASK_CREATE", "success", "globex", 0.5),
    entry("2026-12-01T09:16:00.000Z", "r2", "opex", "TASK_CREATE", "failure", "globex", 0.125),
    entry("2026-12-01T10:00:00.000Z", "r3", "kimmy", "", "success", "acme", 0.01),
    entry("2026-12-01T10:00:01.000Z", "r3", "opex", "N8N_WORKFLOW_TEST", "success", "acme", 0.0, "Weekly report", legacy),
  };
}

void check_facts(plan_store& store) {
  auto f = store.facts("acme", {"TASK_CREATE", "N8N_WORKFLOW_TEST"}, {"Weekly report", "Other"},
                       "2026-12-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z");
  CHECK(f.tool_executions_today.at("TASK_CREATE") == 2);         // acme's and globex's successes
  CHECK(f.tenant_tool_executions_today.at("TASK_CREATE") == 1);
  CHECK(f.tool_executions_today.at("N8N_WORKFLOW_TEST") == 1);
  CHECK(f.cost_today_usd == Approx(0.25 + 0.5 + 0.125 + 0.01));  // failures cost too
  CHECK(f.cost_month_usd == Approx(1.0 + 0.25 + 0.5 + 0.125 + 0.01));
  CHECK(f.tenant_cost_today_usd == Approx(0.25 + 0.01));
  CHECK(f.tenant_requests_today == 1);                            // r1, counted once
  CHECK(f.workflow_tested.at("Weekly report"));
  CHECK_FALSE(f.workflow_tested.at("Other"));
  // A day that starts at 09:15 UTC (a +14:45 zone would): the 09:14:59 request is before it.
  auto late = store.facts("globex", {"TASK_CREATE"}, {}, "2026-12-01T09:15:00.000Z", "2026-11-01T00:00:00.000Z");
  CHECK(late.tenant_requests_today == 0);
  CHECK(late.tenant_tool_executions_today.at("TASK_CREATE") == 1);
}

} // namespace

TEST_CASE("usage_counters: the 15-minute bucket of a timestamp") {
  CHECK(usage_counters::bucket_of("2026-12-02T07:44:10.123Z") == "2026-12-02T07:30");
  CHECK(usage_counters::bucket_of("2026-12-02T07:00:00.000Z") == "2026-12-02T07:00");
  CHECK(usage_counters::bucket_of("2026-12-02T23:59:59.999Z") == "2026-12-02T23:45");
  CHECK(usage_counters::bucket_of("short") == "short");
}

TEST_CASE("usage_counters: quotas and budgets read counters, not the journal rows") {
  test::temp_dir dir;
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  auto store = plan_store::open_on(db).value();
  REQUIRE(journal->append(sample()).value() == 9);
  check_facts(*store);
  db->exec("DELETE FROM journal");  // the counters alone answer
  check_facts(*store);
}

TEST_CASE("usage_counters: a database made before them is counted from its journal once") {
  test::temp_dir dir;
  {
    auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
    auto journal = sqlite_journal::open_on(db).value();
    REQUIRE(journal->append(sample(true)).value() == 9);
    db->exec("DROP TABLE usage_counters");
  }
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  auto store = plan_store::open_on(db).value();
  check_facts(*store);
  {  // opened again: filled once, not twice
    auto again = plan_store::open_on(db).value();
    check_facts(*again);
  }
}

TEST_CASE("usage_counters: recounting a journal keeps the facts the guard recorded (metadata.facts)") {
  test::temp_dir dir;
  {
    auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
    auto journal = sqlite_journal::open_on(db).value();
    REQUIRE(journal->append(sample(false)).value() == 9);
    db->exec("DROP TABLE usage_counters");
  }
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  auto store = plan_store::open_on(db).value();
  check_facts(*store);
}

TEST_CASE("journal_marks: a time window is an id range that holds every entry in it") {
  test::temp_dir dir;
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  CHECK(journal_marks::first_id_since(*db, "2026-12-01T00:00:00.000Z") == 1);  // empty: past the end
  // Inserted a little out of order across a bucket boundary, as actors may write them.
  REQUIRE(journal->append({entry("2026-12-01T10:14:00.000Z", "a", "kimmy", "", "success", "acme"),
                           entry("2026-12-01T10:15:00.001Z", "b", "kimmy", "", "success", "acme"),
                           entry("2026-12-01T10:14:59.999Z", "c", "kimmy", "", "success", "acme"),
                           entry("2026-12-01T10:31:00.000Z", "d", "kimmy", "", "success", "acme")})
            .ok());
  CHECK(journal_marks::first_id_since(*db, "2026-12-01T10:20:00.000Z") == 2);  // b opened 10:15
  CHECK(journal_marks::first_id_since(*db, "2026-12-01T10:00:00.000Z") == 1);
  CHECK(journal_marks::first_id_since(*db, "2026-12-01T10:45:00.000Z") == 5);  // nothing after
  auto in_window = [&](const char* since) {
    sqlite_statement st(db->handle(), "SELECT COUNT(*) FROM journal WHERE id >= ?1 AND timestamp >= ?2");
    st.bind(1, journal_marks::first_id_since(*db, since));
    st.bind(2, std::string_view(since));
    st.step();
    return st.column_int(0);
  };
  CHECK(in_window("2026-12-01T10:14:30.000Z") == 3);  // c is found although inserted after b
  CHECK(in_window("2026-12-01T10:15:00.000Z") == 2);
  // The marks of an older database are made from its rows.
  db->exec("DROP TABLE journal_marks");
  auto reopened = sqlite_journal::open_on(db).value();
  CHECK(journal_marks::first_id_since(*db, "2026-12-01T10:20:00.000Z") == 2);
  CHECK(in_window("2026-12-01T10:14:30.000Z") == 3);
}
