// opexd's HTTP API in process, driven over real HTTP: every refusal has the standard error
// JSON, a distinct error_code and its HTTP status, and the server keeps serving.
#include "api_server.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include "support/opexd_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <future>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

struct server_fixture : test::opexd_fixture {
  server_fixture() {
    time = make_fixed_clock(*parse_iso8601("2026-11-18T09:00:00+01:00"));
    add_keys("k-all, k-read:read");
    adjust_server = [](tools::api_server_options& so) { so.max_body_bytes = 4096; };
    start();
  }

  using reply = test::http_reply;

  reply call(std::string method, std::string path, std::string body, std::string key = "k-all",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return opexd_fixture::call(method, path, body, key, std::move(headers));
  }
};

} // namespace

TEST_CASE("api_server: the spec's tool_call example runs through POST /webhook/proxy-exec") {
  server_fixture f;
  auto plan = read_file(std::string(OPEX_SOURCE_DIR) + "/examples/plans/tool_call_task_create.json");
  auto r = f.call("POST", "/webhook/proxy-exec", *plan);
  REQUIRE(r.status == 200);
  CHECK(r.body.at("status") == "succeeded");
  CHECK(r.body.at("result").at("steps").at(0).at("data").at("status") == "created");
  CHECK(r.raw.header("x-request-id") == std::string(r.body.at("request_id").as_string()));
}

TEST_CASE("api_server: refusals have distinct codes and HTTP statuses, and the server survives them") {
  server_fixture f;
  struct row {
    std::string method, path, body, key;
    int status;
    std::string code;
  };
  std::vector<row> rows{
    {"POST", "/webhook/proxy-exec", R"({"type":"tool_call",)", "k-all", 400, "INVALID_JSON"},
    {"POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"TASK_CREATE"})", "k-all", 400, "VALIDATION_ERROR"},
    {"POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"NO_SUCH_TOOL","payload":{}})", "k-all", 404, "TOOL_NOT_FOUND"},
    {"POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"GIT_SYNC","payload":{"repo_path":"/srv/x"}})", "k-all", 403, "PERMISSION_DENIED"},
    {"POST", "/webhook/proxy-exec", R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},"depends_on":[2]},{"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})", "k-all", 422, "PLAN_CYCLE"},
    {"POST", "/webhook/proxy-exec", R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},{"step":2,"tool":"NOOP","payload":{"echo":"{{ step_1.result }}"}}]})", "k-all", 422, "TEMPLATE_INVALID"},
    {"POST", "/webhook/proxy-exec", "{}", "", 401, "UNAUTHORIZED"},
    {"POST", "/webhook/proxy-exec", "{}", "wrong", 401, "UNAUTHORIZED"},
    {"POST", "/webhook/proxy-exec", "{}", "k-read", 403, "PERMISSION_DENIED"},
    {"POST", "/webhook/kimmy-intake", R"({"texte":"x"})", "k-all", 400, "VALIDATION_ERROR"},
    {"POST", "/webhook/prolex-intake", R"({"intent":"task_create"})", "k-all", 400, "VALIDATION_ERROR"},
    {"POST", "/webhook/proxy-exec", "[1,2]", "k-all", 400, "VALIDATION_ERROR"},
    {"GET", "/webhook/proxy-exec", "", "k-all", 405, "METHOD_NOT_ALLOWED"},
    {"GET", "/nowhere", "", "k-all", 404, "NOT_FOUND"},
    {"POST", "/webhook/proxy-exec", std::string(5000, ' '), "k-all", 413, "BODY_TOO_LARGE"},
  };
  for (const auto& r : rows) {
    INFO(r.method << " " << r.path << " " << r.body.substr(0, 80));
    auto reply = f.call(r.method, r.path, r.body, r.key);
    CHECK(reply.status == r.status);
    CHECK(f.error_code_of(reply) == r.code);
  }
  auto bad_id = f.call("POST", "/webhook/proxy-exec", "{}", "k-all", {{"X-Request-ID", "nope"}});
  CHECK(bad_id.status == 400);
  auto health = f.call("GET", "/healthz", "", "");
  CHECK(health.status == 200);
  CHECK(health.body.at("status") == "ok");
}

TEST_CASE("api_server: each route of the table has its methods, its query parameters and its key rule") {
  server_fixture f;
  const std::string id = "6f1c1d8e-2b6a-4c47-9a56-0c1e6a3f2b10";
  struct row {
    std::string method, path, key;
    int status;
    std::string allow;  ///< the 405's details.allow
  };
  std::vector<row> rows{
    {"POST", "/healthz", "", 405, "GET"},
    {"GET", "/healthz?probe=1", "", 200, ""},  // open, and its query is not checked
    {"PATCH", "/v1/requests/" + id, "k-all", 405, "GET, DELETE"},
    {"PUT", "/v1/approvals/appr-1", "k-all", 405, "GET, POST"},
    {"DELETE", "/v1/journal", "k-all", 405, "GET"},
    {"POST", "/v1/breakers", "", 401, ""},  // a key first, then the method
    {"GET", "/v1/breakers?x=1", "k-read", 400, ""},
    {"GET", "/v1/approvals?status=bogus", "k-read", 400, ""},
    {"GET", "/v1/approvals?status=pending", "k-read", 200, ""},
    {"GET", "/v1/journal?limit=5&agent=kimmy", "k-read", 200, ""},
    {"GET", "/v1/requests/not-a-uuid", "k-read", 400, ""},
    {"GET", "/v1/journalx", "k-read", 404, ""},
  };
  for (const auto& r : rows) {
    INFO(r.method << " " << r.path);
    auto reply = f.call(r.method, r.path, "", r.key);
    CHECK(reply.status == r.status);
    if (!r.allow.empty()) {
      CHECK(f.error_code_of(reply) == "METHOD_NOT_ALLOWED");
      CHECK(reply.body.at("details").at("allow").as_string() == r.allow);
    }
  }
}

TEST_CASE("api_server: kimmy-intake and prolex-intake run the pipeline and the journal is readable") {
  server_fixture f;
  auto id = "6f1c1d8e-2b6a-4c47-9a56-0c1e6a3f2b10";
  auto r = f.call("POST", "/webhook/kimmy-intake",
                  R"({"text":"Créer une tâche pour réviser l'architecture Prolex avant vendredi","source":"chat","user_id":"matthieu"})",
                  "k-all", {{"X-Request-ID", id}});
  REQUIRE(r.status == 200);
  CHECK(r.body.at("request_id") == id);
  CHECK(r.body.at("kimmy").at("parameters").at("due_date") == "2026-11-20");
  CHECK(r.body.at("user_id") == "matthieu");
  auto payload = r.body.at("kimmy");
  payload.as_object()["request_id"] = "0b7e2d5a-8c1f-4e3a-9d2b-5f6a7c8d9e01";
  auto p = f.call("POST", "/webhook/prolex-intake", json::serialize(payload));
  REQUIRE(p.status == 200);
  CHECK(p.body.at("planned_by") == "prolex");
  CHECK(p.body.at("result").at("steps").at(0).at("tool") == "TASK_CREATE");
  auto j = f.call("GET", std::string("/v1/journal?request_id=") + id, "", "k-read");
  REQUIRE(j.status == 200);
  CHECK(j.body.at("entries").as_array().size() >= 4);
}

TEST_CASE("api_server: DELETE /v1/requests/{id} cancels a running plan") {
  server_fixture f;
  const std::string id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  std::promise<test::http_reply> running;
  auto done = running.get_future();
  connectors::http_request req;
  req.url = "http://127.0.0.1:" + std::to_string(f.server->port()) + "/webhook/proxy-exec";
  req.body = R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{"delay_ms":60000}},
                 {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})";
  req.headers = {{"X-API-Key", "k-all"}, {"X-Request-ID", id}};
  req.timeout = 60s;
  f.client.send(std::move(req), [&running](error_info, connectors::http_response res) {
    test::http_reply r;
    r.status = res.status;
    r.body = parse_json(res.body).value();
    running.set_value(std::move(r));
  });
  // The plan registers when the Proxy Master routes it: DELETE answers 404 until then.
  int status = 404;
  for (int i = 0; i < 2000 && status == 404; ++i)
    status = f.call("DELETE", "/v1/requests/" + id, "").status;
  CHECK(status == 202);
  REQUIRE(done.wait_for(30s) == std::future_status::ready);
  auto r = done.get();
  CHECK(r.status == 200);
  CHECK(r.body.at("status") == "cancelled");
  CHECK(r.body.at("result").at("steps").at(0).at("status") == "cancelled");
  CHECK(r.body.at("result").at("steps").at(1).at("status") == "cancelled");
  auto gone = f.call("DELETE", "/v1/requests/" + id, "");
  CHECK(gone.status == 404);
  CHECK(f.error_code_of(gone) == "NOT_FOUND");
  CHECK(f.call("DELETE", "/v1/requests/not-a-uuid", "").status == 400);
}
