// docs/durability.md through opexd's HTTP API and the engine: idempotency keys (sequential,
// concurrent, another body, another tenant), builtin effects never doubled on resume, one
// writer per database, tenant isolation of the builtin store, secrets masked in every stored
// table and answer, and the edge checks with the standard error JSON.
#include "api_server.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include "support/opexd_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <set>
#include <thread>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

using reply = test::http_reply;

/// opexd in process over a database in a temporary folder, with two tenants.
struct durable_fixture : test::opexd_fixture {
  durable_fixture() {
    write_config("tenants:\n  - {slug: acme}\n  - {slug: globex}\n");
    add_keys("acme-key, acme-read:read", "acme");
    add_keys("globex-key", "globex");
    start();
  }

  reply post(const std::string& body, const std::string& key, const std::string& request_id) {
    return call("POST", "/webhook/proxy-exec", body, key, {{"X-Request-ID", request_id}, {"Content-Type", "application/json"}});
  }

  /// Rows of a SQL count over the items database (the builtin store).
  std::int64_t items_count(const std::string& sql) {
    auto db = connectors::sqlite_db::open(dir.file("opex-items.db"));
    connectors::sqlite_statement st((*db)->handle(), sql);
    st.step();
    return st.column_int(0);
  }
};

const std::string task_plan = R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Relancer le fournisseur"}})";

} // namespace

TEST_CASE("durability: the same X-Request-ID twice runs once and answers the stored result") {
  durable_fixture f;
  auto id = make_uuid_v4();
  auto first = f.post(task_plan, "acme-key", id);
  REQUIRE(first.status == 200);
  auto second = f.post(task_plan, "acme-key", id);
  REQUIRE(second.status == 200);
  CHECK(second.raw.header("idempotent-replayed").value_or("") == "true");
  CHECK(first.raw.header("idempotent-replayed").value_or("").empty());
  CHECK(second.body.at("result").at("steps").at(0).at("data").at("task_id")
        == first.body.at("result").at("steps").at(0).at("data").at("task_id"));
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks") == 1);
}

TEST_CASE("durability: five concurrent repeats of one key execute once") {
  durable_fixture f;
  auto id = make_uuid_v4();
  std::vector<std::future<reply>> calls;
  for (int i = 0; i < 5; ++i)
    calls.push_back(std::async(std::launch::async, [&] {
      connectors::http_client own;
      return test::http_call(own, "POST", "http://127.0.0.1:" + std::to_string(f.server->port()) + "/webhook/proxy-exec",
                             task_plan, {{"X-API-Key", "acme-key"}, {"X-Request-ID", id}});
    }));
  std::set<std::string> task_ids;
  int replayed = 0;
  for (auto& c : calls) {
    auto r = c.get();
    REQUIRE(r.status == 200);
    task_ids.insert(std::string(r.body.at("result").at("steps").at(0).at("data").at("task_id").as_string()));
    replayed += r.raw.header("idempotent-replayed").value_or("") == "true" ? 1 : 0;
  }
  CHECK(task_ids.size() == 1);
  CHECK(replayed == 4);
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks") == 1);
}

TEST_CASE("durability: a key reused with another body is 409 IDEMPOTENCY_CONFLICT and runs nothing") {
  durable_fixture f;
  auto id = make_uuid_v4();
  REQUIRE(f.post(task_plan, "acme-key", id).status == 200);
  auto other = f.post(R"({"type":"tool_call","tool":"NOOP","payload":{}})", "acme-key", id);
  CHECK(other.status == 409);
  CHECK(f.error_code_of(other) == "IDEMPOTENCY_CONFLICT");
  CHECK(other.body.at("request_id") == json::value(id));
  // An Idempotency-Key header is a key of its own, separate from the request id.
  auto a = f.call("POST", "/webhook/proxy-exec", task_plan, "acme-key", {{"Idempotency-Key", "order-42"}});
  auto b = f.call("POST", "/webhook/proxy-exec", task_plan, "acme-key", {{"Idempotency-Key", "order-42"}});
  REQUIRE(a.status == 200);
  CHECK(b.raw.header("idempotent-replayed").value_or("") == "true");
  CHECK(b.body.at("request_id") == a.body.at("request_id"));
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks") == 2);
}

TEST_CASE("durability: another tenant's request id is refused, never run nor overwritten") {
  durable_fixture f;
  auto id = make_uuid_v4();
  auto mine = f.post(task_plan, "acme-key", id);
  REQUIRE(mine.status == 200);
  auto theirs = f.post(R"({"type":"tool_call","tool":"NOOP","payload":{"echo":"globex"}})", "globex-key", id);
  CHECK(theirs.status == 409);
  CHECK(f.error_code_of(theirs) == "IDEMPOTENCY_CONFLICT");
  // The same body under globex: still refused (keys are per tenant, request ids are global).
  CHECK(f.post(task_plan, "globex-key", id).status == 409);
  auto state = f.call("GET", "/v1/requests/" + id, "", "acme-key");
  REQUIRE(state.status == 200);
  CHECK(state.body.at("request").at("tenant") == "acme");
  CHECK(json::serialize(state.body).find("globex") == std::string::npos);
  CHECK(f.call("GET", "/v1/requests/" + id, "", "globex-key").status == 404);
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks") == 1);
}

TEST_CASE("durability: the builtin store is tenant-scoped: another tenant's task is not found") {
  durable_fixture f;
  auto created = f.post(task_plan, "acme-key", make_uuid_v4());
  REQUIRE(created.status == 200);
  auto task_id = std::string(created.body.at("result").at("steps").at(0).at("data").at("task_id").as_string());
  auto update = R"({"type":"tool_call","tool":"TASK_UPDATE","payload":{"task_id":")" + task_id + R"(","status":"done"}})";
  auto theirs = f.post(update, "globex-key", make_uuid_v4());
  REQUIRE(theirs.status == 200);
  CHECK(theirs.body.at("result").at("steps").at(0).at("status") == "failed");
  CHECK(theirs.body.at("result").at("steps").at(0).at("error").at("details").at("reason") == "task_not_found");
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks WHERE status = 'open'") == 1);
  auto mine = f.post(update, "acme-key", make_uuid_v4());
  CHECK(mine.body.at("result").at("steps").at(0).at("status") == "succeeded");
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks WHERE status = 'done' AND tenant = 'acme'") == 1);
}

TEST_CASE("durability: a resumed builtin step never creates a second task") {
  durable_fixture f;
  auto id = make_uuid_v4();
  REQUIRE(f.post(task_plan, "acme-key", id).status == 200);
  f.stop();
  {
    // As if the engine had died after the task was created and before the outcome committed.
    auto db = connectors::sqlite_db::open(f.dir.file("opex.db"));
    (*db)->exec("UPDATE requests SET status = 'running', result = NULL WHERE id = '" + id + "';"
                "UPDATE steps SET status = 'running', data = NULL WHERE request_id = '" + id + "'");
  }
  f.start();
  auto final = f.eng->wait(id, 30s);
  REQUIRE(final.ok());
  CHECK(final->at("status") == "succeeded");
  CHECK(f.items_count("SELECT COUNT(*) FROM tasks") == 1);
  auto log = final->at("result").at("steps").at(0).at("attempt_log").as_array();
  CHECK(std::string(log.back().at("note").as_string()).find("re-run after a restart") != std::string::npos);
}

TEST_CASE("durability: a second engine on the database is refused, a read-only one works beside") {
  durable_fixture f;
  engine_options o;
  o.config_path = f.dir.file("opex.yml");
  o.database = f.dir.file("opex.db");
  try {
    engine second(o);
    FAIL("a second engine started on a database in use");
  } catch (const engine_error& e) {
    CHECK(e.info.code == error_code::database_locked);
    CHECK(std::string(e.what()).find("in use by another opex engine") != std::string::npos);
  }
  REQUIRE(f.post(task_plan, "acme-key", make_uuid_v4()).status == 200);
  o.read_only = true;
  engine reader(o);
  auto rows = reader.journal({});
  REQUIRE(rows.ok());
  CHECK_FALSE(rows->empty());
  auto refused = reader.submit_output(json::parse(task_plan)).get();
  CHECK(refused.error.code == error_code::unavailable);
}

TEST_CASE("durability: no secret from a payload is stored or answered in clear") {
  durable_fixture f;
  const std::vector<std::string> secrets{"sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv", "AKIAIOSFODNN7EXAMPLE",
                                         "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXBhcnQ",
                                         "hunter2-the-password", "p4ssw0rd-in-url"};
  auto plan = R"({"type":"tool_call","tool":"NOOP","payload":{"echo":{
      "note":"key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv and AKIAIOSFODNN7EXAMPLE",
      "headers":["Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXBhcnQ"],
      "text":"login with password=hunter2-the-password please",
      "url":"https://bob:p4ssw0rd-in-url@example.com/x"}}})";
  auto id = make_uuid_v4();
  auto answer = f.post(plan, "acme-key", id);
  REQUIRE(answer.status == 200);
  auto state = f.call("GET", "/v1/requests/" + id, "", "acme-read");
  auto journal = f.call("GET", "/v1/journal?request_id=" + id, "", "acme-read");
  REQUIRE(state.status == 200);
  REQUIRE(journal.status == 200);
  f.stop();
  std::string tables;
  auto db = connectors::sqlite_db::open(f.dir.file("opex.db"));
  for (const char* sql : {"SELECT group_concat(coalesce(output, '') || coalesce(result, ''), '') FROM requests",
                          "SELECT group_concat(coalesce(payload, '') || coalesce(data, '') || coalesce(error, ''), '') FROM steps",
                          "SELECT group_concat(entry, '') FROM journal"}) {
    connectors::sqlite_statement st((*db)->handle(), sql);
    st.step();
    tables += st.column_text(0);
  }
  for (const auto& s : secrets) {
    INFO(s);
    CHECK(answer.raw.body.find(s) == std::string::npos);
    CHECK(json::serialize(state.body).find(s) == std::string::npos);
    CHECK(json::serialize(journal.body).find(s) == std::string::npos);
    CHECK(tables.find(s) == std::string::npos);
  }
  CHECK(answer.raw.body.find("https://***@example.com/x") != std::string::npos);
  CHECK(answer.raw.body.find("password=***") != std::string::npos);
}

TEST_CASE("durability: edge input gets the standard error, with the client's request id") {
  durable_fixture f;
  auto id = make_uuid_v4();
  auto post_raw = [&](const std::string& body, std::vector<std::pair<std::string, std::string>> h = {}) {
    h.emplace_back("X-Request-ID", id);
    return f.call("POST", "/webhook/proxy-exec", body, "acme-key", std::move(h));
  };
  for (const auto& bad : {std::string(R"({"type":"tool_call","tool":"NOOP","payload":{"n":1e999}})"),
                          std::string(R"({"type":"tool_call","tool":"RESTORE_BACKUP","tool":"NOOP","payload":{}})"),
                          std::string("{\"type\":\"tool_call\",\"tool\":\"NOOP\",\"payload\":{\"x\":\"\xc0\xaf\"}}"),
                          std::string("{\"type\":\"tool_call\",\"tool\":\"NOOP\",\"payload\":{\"x\":\"\xed\xa0\x80\"}}")}) {
    INFO(bad);
    auto r = post_raw(bad);
    CHECK(r.status == 400);
    CHECK(f.error_code_of(r) == "INVALID_JSON");
    CHECK(r.body.at("request_id") == json::value(id));
  }
  auto text = post_raw(R"({"type":"tool_call","tool":"NOOP","payload":{}})", {{"Content-Type", "text/plain"}});
  CHECK(text.status == 415);
  CHECK(f.error_code_of(text) == "UNSUPPORTED_MEDIA_TYPE");
  CHECK(text.body.at("request_id") == json::value(id));
  CHECK(post_raw(R"({"type":"tool_call","tool":"NOOP","payload":{}})", {{"Content-Type", "application/json; charset=utf-8"}})
          .status == 200);
  for (const auto& q : {"/v1/journal?limit=-1", "/v1/journal?limit=abc", "/v1/journal?limit=0", "/v1/journal?bogus=1",
                        "/v1/journal?limit=1&limit=2", "/v1/journal?request_id=nope", "/v1/approvals?status=done",
                        "/v1/breakers?x=1"}) {
    INFO(q);
    auto r = f.call("GET", q, "", "acme-key");
    CHECK(r.status == 400);
    CHECK(f.error_code_of(r) == "VALIDATION_ERROR");
  }
  CHECK(f.call("GET", "/v1/journal?limit=5&agent=proxy", "", "acme-key").status == 200);
  CHECK(f.call("POST", "/webhook/proxy-exec", task_plan, "acme-key", {{"Idempotency-Key", std::string(300, 'k')}}).status
        == 400);
  CHECK(f.call("GET", "/healthz", "", "").status == 200);  // still serving
}

TEST_CASE("overload: past execution.max_in_flight_requests a request is 503 OVERLOADED with Retry-After") {
  test::opexd_fixture f;
  f.write_config("execution:\n  max_in_flight_requests: 1\n");
  f.add_keys("k");
  f.start();
  std::promise<test::http_reply> first;
  auto first_done = first.get_future();
  connectors::http_request req;
  req.url = "http://127.0.0.1:" + std::to_string(f.server->port()) + "/webhook/proxy-exec";
  req.body = R"({"type":"tool_call","tool":"NOOP","payload":{"delay_ms":60000}})";
  const std::string slow_id = "3f2c1d8e-6b7a-4c59-9e0d-1a2b3c4d5e6f";
  req.headers = {{"X-API-Key", "k"}, {"Content-Type", "application/json"}, {"X-Request-ID", slow_id}};
  req.timeout = 60s;
  f.client.send(std::move(req), [&first](error_info, connectors::http_response res) {
    test::http_reply r;
    r.status = res.status;
    first.set_value(std::move(r));
  });
  // Each wait below polls a condition; the deadline is a bound, not a measurement. The
  // condition's last answer is returned, not asked again: cancel() is true only once.
  auto wait_until = [](auto&& condition) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    bool met = condition();
    while (!met && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
      met = condition();
    }
    return met;
  };
  REQUIRE(wait_until([&] { return f.eng->in_flight() == 1; }));  // the slow request is admitted

  auto refused = f.call("POST", "/webhook/proxy-exec", task_plan, "k", {{"Content-Type", "application/json"}});
  CHECK(refused.status == 503);
  CHECK(f.error_code_of(refused) == "OVERLOADED");
  CHECK(refused.body.at("details").at("limit") == 1);
  CHECK(refused.raw.header("retry-after") == "1");

  // Cancelling the slow one frees the slot; the next request is admitted and runs.
  REQUIRE(wait_until([&] { return f.eng->cancel(slow_id); }));  // false until the plan is routed
  REQUIRE(first_done.wait_for(30s) == std::future_status::ready);
  REQUIRE(wait_until([&] { return f.eng->in_flight() == 0; }));
  auto admitted = f.call("POST", "/webhook/proxy-exec", task_plan, "k", {{"Content-Type", "application/json"}});
  CHECK(admitted.status == 200);
  auto db = connectors::sqlite_db::open(f.dir.file("opex-items.db"));
  connectors::sqlite_statement st((*db)->handle(), "SELECT COUNT(*) FROM tasks");
  st.step();
  CHECK(st.column_int(0) == 1);  // the refused request created nothing
}
