// Builtin tools on a real SQLite file: tasks, notes, events, errors, noop.
#include "opex/connectors/builtin_connector.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <set>
#include <thread>

using namespace opex;
using namespace opex::connectors;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {
struct store_fixture {
  std::string db = (std::filesystem::temp_directory_path() / ("opex-builtin-" + std::to_string(::getpid()) + ".db")).string();
  std::vector<journal_entry> logged;
  std::mutex m;
  std::unique_ptr<builtin_connector> c;
  store_fixture() {
    std::filesystem::remove(db);
    builtin_options o;
    o.database = db;
    o.time = make_fixed_clock(*parse_iso8601("2026-11-18T09:00:00+01:00"), false);
    o.journal_sink = [this](journal_entry e) {
      std::lock_guard lock(m);
      logged.push_back(std::move(e));
    };
    c = std::make_unique<builtin_connector>(std::move(o));
  }
  ~store_fixture() {
    c.reset();
    for (const auto& f : {db, db.substr(0, db.size() - 3) + "-items.db"})
      for (const auto* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(f + suffix);
  }
  call_outcome call(const std::string& builtin, const std::string& payload, const std::string& tenant = "default") {
    tool_definition t;
    t.id = "T";
    t.target = tool_target::of("builtin", boost::json::object{{"name", builtin}});
    call_context ctx;
    ctx.request_id = "r";
    ctx.tenant = tenant;
    std::promise<call_outcome> p;
    auto f = p.get_future();
    c->call(t, json::parse(payload).as_object(), ctx, [&p](call_outcome o) { p.set_value(std::move(o)); });
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
  }
};
} // namespace

TEST_CASE("builtin_connector: tasks are created, found by id or title, updated") {
  store_fixture s;
  auto created = s.call("task_create", R"({"title":"Réviser","due_date":"2026-11-20","priority":"high"})");
  REQUIRE(created.ok);
  auto id = std::string(created.data.at("task_id").as_string());
  CHECK(created.data.at("due_date") == "2026-11-20");
  auto by_title = s.call("task_update", R"({"task_id":"réviser","status":"completed"})");
  REQUIRE(by_title.ok);
  CHECK(by_title.data.at("task_id").as_string() == id);
  auto missing = s.call("task_update", R"({"task_id":"nope"})");
  REQUIRE_FALSE(missing.ok);
  CHECK(missing.error.code == error_code::tool_execution_failed);
  CHECK(missing.error.details.at("reason") == "task_not_found");
}

TEST_CASE("builtin_connector: events get an end from their duration, notes and documents are stored") {
  store_fixture s;
  auto ev = s.call("calendar_event_create", R"({"summary":"Point","start":"2026-11-20T10:00:00+01:00","duration_minutes":30})");
  REQUIRE(ev.ok);
  CHECK(ev.data.at("end") == "2026-11-20T10:30:00+01:00");
  auto allday = s.call("calendar_event_create", R"({"title":"Salon","date":"2026-11-25"})");
  REQUIRE(allday.ok);
  CHECK(allday.data.at("start") == "2026-11-25");
  auto nostart = s.call("calendar_event_create", R"({"title":"?"})");
  CHECK_FALSE(nostart.ok);
  auto note = s.call("note_create", R"({"title":"Idées","content":"a"})");
  REQUIRE(note.ok);
  auto upd = s.call("doc_update", R"({"doc_id":"idées","append_content":"b"})");
  REQUIRE(upd.ok);
  CHECK(upd.data.at("doc_id") == note.data.at("doc_id"));
  auto health = s.call("healthcheck", "{}");
  REQUIRE(health.ok);
  CHECK(health.data.at("checks").at("database").at("latest_rowid").at("notes") == 1);
  CHECK(health.data.at("checks").at("journal").at("status").is_string());
}

TEST_CASE("builtin_connector: log_append writes to the journal sink, noop echoes or fails as asked") {
  store_fixture s;
  auto log = s.call("log_append", R"({"message":"hello","level":"warning","details":{"k":1}})");
  REQUIRE(log.ok);
  REQUIRE(s.logged.size() == 1);
  CHECK(s.logged[0].notes == "hello");
  CHECK(s.logged[0].data.at("k") == 1);
  auto echo = s.call("noop", R"({"echo":{"x":[1]}})");
  REQUIRE(echo.ok);
  CHECK(echo.data.at("echo").at("x").at(0) == 1);
  auto fail = s.call("noop", R"({"fail_with":"TIMEOUT"})");
  REQUIRE_FALSE(fail.ok);
  CHECK(fail.error.code == error_code::timeout);
  auto delayed = s.call("noop", R"({"delay_ms":5,"echo":1})");
  CHECK(delayed.ok);
  CHECK(builtin_connector::builtin_for_tool("DOC_CREATE_NOTE") == "note_create");
  CHECK(builtin_connector::builtin_for_tool("WEB_SEARCH").empty());
}

TEST_CASE("sqlite_journal: batched appends and queries by request") {
  auto db = sqlite_journal::open(":memory:");
  REQUIRE(db.ok());
  std::vector<json::object> batch;
  for (int i = 0; i < 3; ++i)
    batch.push_back(json::parse(R"({"timestamp":"2026-11-18T08:00:0)" + std::to_string(i) + R"(.000Z","agent":"opex",
      "action_type":"execution","request_id":")" + std::string(i == 2 ? "b" : "a") + R"(","user_id":"u",
      "tool_used":"NOOP","result":{"status":"success"}})").as_object());
  REQUIRE((*db)->append(batch).ok());
  journal_query q;
  q.request_id = "a";
  auto rows = (*db)->query(q);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK(rows->at(0).at("id").as_int64() < rows->at(1).at("id").as_int64());
  CHECK((*db)->count_tool_since("NOOP", "2026-11-18T00:00:00Z").value() == 3);
  // Read back whole, though the row's JSON leaves out what its columns hold.
  const auto& first = rows->at(0);
  CHECK(first.at("timestamp") == "2026-11-18T08:00:00.000Z");
  CHECK(first.at("agent") == "opex");
  CHECK(first.at("action_type") == "execution");
  CHECK(first.at("request_id") == "a");
  CHECK(first.at("user_id") == "u");
  CHECK(first.at("tool_used") == "NOOP");
  CHECK(first.at("intent").is_null());
  CHECK(first.at("payload_snapshot").is_null());
  CHECK(first.at("result").at("status") == "success");
}

TEST_CASE("sqlite_journal: a row stores in JSON only what its columns do not hold") {
  auto path = (std::filesystem::temp_directory_path() / ("opex-journal-row-" + std::to_string(::getpid()) + ".db")).string();
  std::filesystem::remove(path);
  {
    auto db = sqlite_journal::open(path);
    REQUIRE(db.ok());
    std::vector<json::object> one{json::parse(R"({"timestamp":"2026-11-18T08:00:00.000Z","agent":"opex",
      "action_type":"execution","request_id":"0190b7c2-0000-7000-8000-000000000001","user_id":"u",
      "intent":null,"tool_used":"NOOP","payload_snapshot":{"x":1},"result":{"status":"success","error":null,
      "error_code":null,"data":{"kept":null}},"metadata":{"tenant":"acme","step":1}})").as_object()};
    REQUIRE((*db)->append(one).ok());
    // Read back, the entry is whole again: columns, nulls and the tenant in its place.
    journal_query q;
    auto rows = (*db)->query(q);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    const auto& whole = rows->at(0);
    CHECK(whole.at("tool_used") == "NOOP");
    CHECK(whole.at("intent").is_null());
    CHECK(whole.at("result").at("error").is_null());
    CHECK(whole.at("result").at("error_code").is_null());
    CHECK(whole.at("result").at("data").at("kept").is_null());
    CHECK(whole.at("metadata").at("tenant") == "acme");
    CHECK(whole.at("metadata").at("step") == 1);
  }
  auto raw = sqlite_db::open(path);
  REQUIRE(raw);
  sqlite_statement st((*raw)->handle(), "SELECT entry, request_id, tool_used, tenant FROM journal");
  REQUIRE(st.step());
  auto entry = json::parse(st.column_text(0)).as_object();
  for (const char* key : {"timestamp", "agent", "action_type", "request_id", "tool_used", "intent"})
    CHECK_FALSE(entry.contains(key));
  CHECK(entry.at("user_id") == "u");
  CHECK(entry.at("payload_snapshot").at("x") == 1);
  // Nulls the schema shows in result are left out, deeper ones stay; the tenant is a column.
  CHECK_FALSE(entry.at("result").as_object().contains("error"));
  CHECK_FALSE(entry.at("result").as_object().contains("error_code"));
  CHECK(entry.at("result").at("data").at("kept").is_null());
  CHECK_FALSE(entry.at("metadata").as_object().contains("tenant"));
  CHECK(entry.at("metadata").at("step") == 1);
  CHECK(st.column_text(1) == "0190b7c2-0000-7000-8000-000000000001");
  CHECK(st.column_text(2) == "NOOP");
  CHECK(st.column_text(3) == "acme");
  raw->reset();
  for (const auto* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
}

TEST_CASE("sqlite_transaction: inside a transaction it is a savepoint, undone alone") {
  auto opened = sqlite_db::open(":memory:");
  REQUIRE(opened);
  auto& db = **opened;
  db.exec("CREATE TABLE t (v INTEGER NOT NULL)");
  auto insert = [&](int v) {
    auto st = db.prepared("INSERT INTO t(v) VALUES (?1)");
    st->bind(1, static_cast<std::int64_t>(v));
    st->step();
  };
  {
    sqlite_transaction outer(db);
    {
      sqlite_transaction kept(db);
      insert(1);
      kept.commit();
    }
    {
      sqlite_transaction undone(db);  // destroyed without commit: rolled back to its start
      insert(2);
    }
    CHECK(db.in_transaction());
    insert(3);
    outer.commit();
  }
  sqlite_statement st(db.handle(), "SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY v)");
  REQUIRE(st.step());
  CHECK(st.column_text(0) == "1,3");
  CHECK_FALSE(db.in_transaction());
}

TEST_CASE("builtin_connector: calls queued together commit together, each kept or refused alone") {
  store_fixture s;
  tool_definition t;
  t.id = "TASK_CREATE";
  t.target = tool_target::of("builtin", boost::json::object{{"name", "task_create"}});
  tool_definition update = t;
  update.id = "TASK_UPDATE";
  update.target.spec["name"] = "task_update";
  constexpr int calls = 40;
  std::vector<std::promise<call_outcome>> promises(calls);
  std::vector<std::future<call_outcome>> futures;
  for (auto& p : promises)
    futures.push_back(p.get_future());
  // From two threads at once, so that the worker finds several calls queued at a time; every
  // fifth one updates a task that does not exist and fails, which must not undo its batch.
  auto submit = [&](int from) {
    for (int i = from; i < calls; i += 2) {
      call_context ctx;
      ctx.request_id = "r" + std::to_string(i);
      ctx.tenant = "default";
      ctx.idempotency_key = "r" + std::to_string(i) + ":1";
      auto payload = i % 5 == 0 ? json::parse(R"({"task_id":"task_none","status":"done"})").as_object()
                                : json::parse(R"({"title":"tâche )" + std::to_string(i) + R"("})").as_object();
      s.c->call(i % 5 == 0 ? update : t, payload, ctx, [&promises, i](call_outcome o) { promises[static_cast<std::size_t>(i)].set_value(std::move(o)); });
    }
  };
  std::thread a(submit, 0), b(submit, 1);
  a.join();
  b.join();
  std::set<std::string> ids;
  for (int i = 0; i < calls; ++i) {
    REQUIRE(futures[static_cast<std::size_t>(i)].wait_for(10s) == std::future_status::ready);
    auto o = futures[static_cast<std::size_t>(i)].get();
    if (i % 5 == 0) {
      CHECK_FALSE(o.ok);
      CHECK(o.error.code == error_code::tool_execution_failed);
    } else {
      REQUIRE(o.ok);
      ids.insert(std::string(o.data.at("task_id").as_string()));
    }
  }
  CHECK(ids.size() == calls - calls / 5);
  // Every success was committed before it was answered, and a repeat of its key is answered
  // from the stored effect instead of creating a second task.
  call_context again;
  again.request_id = "r1";
  again.tenant = "default";
  again.idempotency_key = "r1:1";
  std::promise<call_outcome> p;
  auto f = p.get_future();
  s.c->call(t, json::parse(R"({"title":"tâche 1"})").as_object(), again, [&p](call_outcome o) { p.set_value(std::move(o)); });
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  auto repeat = f.get();
  REQUIRE(repeat.ok);
  CHECK(ids.count(std::string(repeat.data.at("task_id").as_string())) == 1);
  s.c.reset();
  auto items = sqlite_db::open(s.db.substr(0, s.db.size() - 3) + "-items.db");
  REQUIRE(items);
  sqlite_statement count((*items)->handle(), "SELECT COUNT(*) FROM tasks");
  REQUIRE(count.step());
  CHECK(count.column_int(0) == calls - calls / 5);
}

TEST_CASE("builtin_connector: the weekly summary counts the last 7 days of the journal only") {
  store_fixture s;  // its clock: 2026-11-18T08:00:00Z, so the window starts 2026-11-11T08:00:00Z
  auto journal = sqlite_journal::open(s.db);
  REQUIRE(journal.ok());
  auto entry = [](std::string ts, std::string request, std::string agent, std::string status) {
    return json::parse(R"({"timestamp":")" + ts + R"(","agent":")" + agent + R"(","action_type":"execution",
      "request_id":")" + request + R"(","user_id":"u","tool_used":"NOOP","result":{"status":")" + status + R"("}})")
      .as_object();
  };
  REQUIRE((*journal)->append({entry("2026-11-01T10:00:00.000Z", "old", "opex", "failure"),
                              entry("2026-11-11T07:59:59.999Z", "edge", "opex", "failure"),
                              entry("2026-11-15T10:00:00.000Z", "a", "proxy", "success"),
                              entry("2026-11-15T10:00:01.000Z", "a", "opex", "success"),
                              entry("2026-11-11T08:00:00.000Z", "b", "opex", "failure")})  // late, in the window
            .ok());
  auto summary = s.call("journal_summary", "{}");
  REQUIRE(summary.ok);
  CHECK(summary.data.at("requests") == 2);  // a and b
  CHECK(summary.data.at("failures") == 1);
  CHECK(summary.data.at("by_agent").at("opex") == 2);
  CHECK(summary.data.at("by_agent").at("proxy") == 1);
  CHECK(summary.data.at("top_tools").at("NOOP") == 2);
}

TEST_CASE("builtin_connector: the cost report sums the tenant's journaled costs and requests by day, in its window") {
  store_fixture s;  // its clock: 2026-11-18T08:00:00Z
  auto journal = sqlite_journal::open(s.db);
  REQUIRE(journal.ok());
  auto entry = [](std::string ts, std::string request, std::string agent, double cost, std::string tenant) {
    auto e = json::parse(R"({"timestamp":")" + ts + R"(","agent":")" + agent + R"(","action_type":"execution",
      "request_id":")" + request + R"(","user_id":"u","tool_used":"LLM_CALL","result":{"status":"success"},
      "tags":["step"]})").as_object();
    e["metadata"] = json::object{{"cost_usd", cost}, {"tenant", tenant}};
    return e;
  };
  REQUIRE((*journal)->append({entry("2026-11-01T10:00:00.000Z", "old", "proxy", 0, "default"),
                              entry("2026-11-01T10:00:01.000Z", "old", "opex", 0.5, "default"),
                              entry("2026-11-16T10:00:00.000Z", "a", "proxy", 0, "default"),
                              entry("2026-11-16T10:00:01.000Z", "a", "opex", 0.25, "default"),
                              entry("2026-11-18T07:59:00.000Z", "b", "proxy", 0, "default"),
                              entry("2026-11-18T07:59:01.000Z", "b", "opex", 0.125, "default"),
                              entry("2026-11-17T10:00:00.000Z", "c", "proxy", 0, "acme"),
                              entry("2026-11-17T10:00:01.000Z", "c", "opex", 4.0, "acme")})
            .ok());
  auto weekly = s.call("cost_report", R"({"period":"weekly"})");
  REQUIRE(weekly.ok);
  CHECK(weekly.data.at("total_cost_usd").as_double() == Approx(0.375));  // not November 1st, not acme's
  CHECK(weekly.data.at("requests") == 2);
  const auto& days = weekly.data.at("by_day").as_array();
  REQUIRE(days.size() == 2);
  CHECK(days[0].at("day") == "2026-11-16");
  CHECK(days[0].at("cost_usd").as_double() == Approx(0.25));
  CHECK(days[1].at("day") == "2026-11-18");
  CHECK(days[1].at("requests") == 1);

  auto month = s.call("cost_report", R"({"period":"custom","start_date":"2026-11-01","end_date":"2026-11-16"})");
  REQUIRE(month.ok);
  CHECK(month.data.at("total_cost_usd").as_double() == Approx(0.75));
  CHECK(month.data.at("requests") == 2);

  auto acme = s.call("cost_report", R"({"period":"weekly"})", "acme");
  REQUIRE(acme.ok);
  CHECK(acme.data.at("tenant") == "acme");
  CHECK(acme.data.at("total_cost_usd").as_double() == Approx(4.0));
}
