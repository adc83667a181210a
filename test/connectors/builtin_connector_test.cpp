// Builtin tools on a real SQLite file: tasks, notes, events, errors, noop.
#include "opex/connectors/builtin_connector.hpp"
#include "opex/connectors/sqlite_journal.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <future>

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
  call_outcome call(const std::string& builtin, const std::string& payload) {
    tool_definition t;
    t.id = "T";
    t.target.type = target_type::builtin;
    t.target.name = builtin;
    call_context ctx;
    ctx.request_id = "r";
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
}
