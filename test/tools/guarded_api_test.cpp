// Guarded execution through opexd's HTTP API, end to end: a plan mixing allowed, high-risk and
// over-budget steps; approvals parked, listed, approved (with opex's confirmation code) and
// resumed; rejections; expiry on an injected clock; an approval surviving a restart; tenant
// isolation; sensitive payloads journaled as digests.
#include "api_server.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/json_util.hpp"

#include "support/loopback_server.hpp"
#include "support/opexd_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string ref = OPEX_REFERENCE_DIR;

using reply = test::http_reply;

/// An engine on the reference files (level 3, two tenants) with opexd in front of it.
struct guarded_fixture : test::opexd_fixture {
  std::shared_ptr<manual_clock> manual = std::make_shared<manual_clock>(*parse_iso8601("2026-11-18T09:00:00+01:00"));
  test::loopback_server promote_target{[](const test::recorded_request&) {
    return test::scripted_response{200, R"({"promoted":true})"};
  }};

  guarded_fixture() {
    std::ostringstream yaml;
    yaml << "catalogue: " << ref << "/rag/tools/tools.yml\nsystem: " << ref << "/config/system.yml\nautonomy: " << ref
         << "/config/autonomy.yml\nautonomy_level: 3\n"
            "targets:\n  mode: builtin\n  overrides:\n"
            "    BACKUP_RUN: {type: builtin, name: noop}\n"
            "    WEB_SEARCH: {type: builtin, name: noop}\n"
            "    N8N_WORKFLOW_UPSERT: {type: builtin, name: noop}\n"
            "    N8N_WORKFLOW_TEST: {type: builtin, name: noop}\n"
            "    N8N_WORKFLOW_PROMOTE: {type: webhook, url: \""
         << promote_target.base_url()
         << "/webhook/n8n-workflow-promote\"}\n"
            "tool_costs: {WEB_SEARCH: 0.3}\n"
            "tenants:\n  - {slug: acme, autonomy_level: 3}\n  - {slug: globex, autonomy_level: 3}\n";
    write_config(yaml.str());
    time = manual;
    add_keys("acme-key", "acme");
    add_keys("globex-key", "globex");
    add_keys("ops-key:admin", "default");
    start();
  }

  reply call(const std::string& method, const std::string& path, const std::string& body, const std::string& key) {
    return opexd_fixture::call(method, path, body, key);
  }

  json::array approvals(const std::string& key, const std::string& status = "pending") {
    auto r = call("GET", "/v1/approvals?status=" + status, "", key);
    REQUIRE(r.status == 200);
    return r.body.at("approvals").as_array();
  }

  json::object finished(const std::string& request_id) {
    auto r = eng->wait(request_id, 30s);
    REQUIRE(r.ok());
    return std::move(r).value();
  }
};

std::string id_of(const json::value& v) {
  return std::string(v.at("id").as_string());
}

} // namespace

TEST_CASE("guarded: the high-risk step waits for approval while its independent siblings run") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/proxy-exec", R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"LOG_APPEND","payload":{"message":"start"}},
      {"step":2,"tool":"BACKUP_RUN","payload":{}},
      {"step":3,"tool":"DOC_CREATE_NOTE","payload":{"title":"Plan","content":"c"}},
      {"step":4,"tool":"LOG_APPEND","payload":{"message":"after the backup"},"depends_on":[2]}]})",
                  "acme-key");
  REQUIRE(r.status == 202);
  CHECK(r.body.at("status") == "awaiting_approval");
  const auto& steps = r.body.at("result").at("steps").as_array();
  CHECK(steps.at(0).at("status") == "succeeded");
  CHECK(steps.at(1).at("status") == "awaiting_approval");
  CHECK(steps.at(2).at("status") == "succeeded");
  CHECK(steps.at(3).at("status") == "pending");
  auto request_id = std::string(r.body.at("request_id").as_string());

  auto pending = f.approvals("acme-key");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].at("tool") == "BACKUP_RUN");
  CHECK(pending[0].at("requires_code") == false);
  CHECK(pending[0].at("payload_digest").as_string().size() == 64);
  CHECK(std::string(pending[0].at("reason").as_string()).find("requires_confirmation") != std::string::npos);
  CHECK(f.approvals("globex-key").empty());  // another tenant sees nothing
  auto id = id_of(pending[0]);
  CHECK(f.call("POST", "/v1/approvals/" + id, R"({"decision":"approve"})", "globex-key").status == 404);
  auto ok = f.call("POST", "/v1/approvals/" + id, R"({"decision":"approve","decided_by":"alice"})", "acme-key");
  REQUIRE(ok.status == 200);
  CHECK(ok.body.at("status") == "approved");
  auto done = f.finished(request_id);
  CHECK(done.at("status") == "succeeded");
  CHECK(done.at("result").at("steps").at(3).at("status") == "succeeded");
  auto again = f.call("POST", "/v1/approvals/" + id, R"({"decision":"approve"})", "acme-key");
  CHECK(again.status == 409);
  CHECK(again.body.at("error_code") == "CONFLICT");
  auto state = f.call("GET", "/v1/requests/" + request_id, "", "acme-key");
  REQUIRE(state.status == 200);
  CHECK(state.body.at("request").at("status") == "succeeded");
  auto journal = f.call("GET", "/v1/journal?request_id=" + request_id, "", "acme-key");
  CHECK(json::serialize(journal.body).find("alice") != std::string::npos);  // who decided
}

TEST_CASE("guarded: a rejected step is skipped with its dependents") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/proxy-exec", R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"BACKUP_RUN","payload":{}},
      {"step":2,"tool":"LOG_APPEND","payload":{"message":"x"},"depends_on":[1]}]})",
                  "acme-key");
  REQUIRE(r.status == 202);
  auto id = id_of(f.approvals("acme-key").at(0));
  auto no = f.call("POST", "/v1/approvals/" + id, R"({"decision":"reject","comment":"not today"})", "acme-key");
  REQUIRE(no.status == 200);
  CHECK(no.body.at("status") == "rejected");
  auto done = f.finished(std::string(r.body.at("request_id").as_string()));
  const auto& steps = done.at("result").at("steps").as_array();
  CHECK(steps.at(0).at("status") == "skipped");
  CHECK(steps.at(0).at("error").at("error_code") == "APPROVAL_REJECTED");
  CHECK(steps.at(1).at("status") == "skipped");
}

TEST_CASE("guarded: an over-budget plan is refused before anything runs, with the amounts") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/proxy-exec", R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"LOG_APPEND","payload":{"message":"never"}},
      {"step":2,"tool":"WEB_SEARCH","payload":{"query":"a"}},
      {"step":3,"tool":"WEB_SEARCH","payload":{"query":"b"}}]})",
                  "acme-key");
  REQUIRE(r.status == 422);
  CHECK(r.body.at("error_code") == "COST_LIMIT_EXCEEDED");
  CHECK(r.body.at("details").at("required").as_double() == Approx(0.5));
  CHECK(r.body.at("details").at("current").as_double() == Approx(0.6));
  auto journal = f.call("GET", "/v1/journal?request_id=" + std::string(r.body.at("request_id").as_string()), "", "acme-key");
  for (const auto& e : journal.body.at("entries").as_array())
    CHECK(e.at("agent") != "opex");  // nothing ran
}

TEST_CASE("guarded: promotion needs a recorded test, an approved review and opex's confirmation code") {
  guarded_fixture f;
  const char* promote = R"({"type":"tool_call","tool":"N8N_WORKFLOW_PROMOTE","payload":{"workflow_name":"AUTO_PROLEX_Demo"}})";
  auto upsert = f.call("POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"N8N_WORKFLOW_UPSERT","payload":{
      "workflow_name":"AUTO_PROLEX_Demo","spec":{"nodes":[]},"tags":["AUTO_PROLEX","sandbox"]}})",
                       "acme-key");
  REQUIRE(upsert.status == 200);
  auto untested = f.call("POST", "/webhook/proxy-exec", promote, "acme-key");
  CHECK(untested.status == 422);
  CHECK(untested.body.at("details").at("rule") == "tested_before_promotion");
  auto test = f.call("POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"N8N_WORKFLOW_TEST","payload":{
      "workflow_name":"AUTO_PROLEX_Demo","test_data":{}}})",
                     "acme-key");
  REQUIRE(test.status == 200);
  auto unreviewed = f.call("POST", "/webhook/proxy-exec", promote, "acme-key");
  CHECK(unreviewed.body.at("details").at("rule") == "reviewed_before_promotion");
  auto reviews = f.approvals("acme-key");
  REQUIRE(reviews.size() == 1);
  CHECK(reviews[0].at("kind") == "review");
  CHECK(reviews[0].at("subject") == "AUTO_PROLEX_Demo");
  REQUIRE(f.call("POST", "/v1/approvals/" + id_of(reviews[0]), R"({"decision":"approve"})", "acme-key").status == 200);

  auto parked = f.call("POST", "/webhook/proxy-exec", promote, "acme-key");
  REQUIRE(parked.status == 202);
  auto pending = f.approvals("acme-key");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].at("requires_code") == true);
  CHECK_FALSE(pending[0].as_object().contains("confirmation_code"));  // never over the API
  auto id = id_of(pending[0]);
  auto missing = f.call("POST", "/v1/approvals/" + id, R"({"decision":"approve"})", "acme-key");
  CHECK(missing.status == 403);
  CHECK(missing.body.at("error_code") == "CONFIRMATION_INVALID");
  auto wrong = f.call("POST", "/v1/approvals/" + id, R"({"decision":"approve","confirmation_code":"OPX-AAAAAAAAAAAA"})", "acme-key");
  CHECK(wrong.status == 403);
  auto code = f.eng->approval_code(id);  // the operator's console
  REQUIRE(code.ok());
  auto ok = f.call("POST", "/v1/approvals/" + id,
                   R"({"decision":"approve","confirmation_code":")" + *code + R"("})", "acme-key");
  REQUIRE(ok.status == 200);
  auto done = f.finished(std::string(parked.body.at("request_id").as_string()));
  CHECK(done.at("status") == "succeeded");
  auto sent = f.promote_target.requests();
  REQUIRE(sent.size() == 1);
  CHECK(json::parse(sent[0].body).at("confirmation_code").as_string() == *code);
  auto reuse = f.call("POST", "/v1/approvals/" + id,
                      R"({"decision":"approve","confirmation_code":")" + *code + R"("})", "acme-key");
  CHECK(reuse.status == 409);  // single use
}

TEST_CASE("guarded: a pending approval expires on the injected clock and its step is skipped") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"BACKUP_RUN","payload":{}})", "acme-key");
  REQUIRE(r.status == 202);
  f.manual->advance(std::chrono::hours(23) + std::chrono::minutes(59));
  CHECK(f.approvals("acme-key").size() == 1);
  f.manual->advance(std::chrono::minutes(2));
  CHECK(f.approvals("acme-key").empty());
  auto expired = f.approvals("acme-key", "expired");
  REQUIRE(expired.size() == 1);
  auto done = f.finished(std::string(r.body.at("request_id").as_string()));
  const auto& step = done.at("result").at("steps").at(0);
  CHECK(step.at("status") == "skipped");
  CHECK(step.at("error").at("error_code") == "APPROVAL_EXPIRED");
  CHECK(step.at("error").at("details").at("reason") == "expired");
  auto late = f.call("POST", "/v1/approvals/" + id_of(expired[0]), R"({"decision":"approve"})", "acme-key");
  CHECK(late.status == 409);
}

TEST_CASE("guarded: an approval survives an opexd restart and the plan resumes with its earlier results") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/proxy-exec", R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"LOG_APPEND","payload":{"message":"before","level":"warning"}},
      {"step":2,"tool":"BACKUP_RUN","payload":{}},
      {"step":3,"tool":"LOG_APPEND","payload":{"message":"level was {{ step_1.result.level }}"},"depends_on":[1,2]}]})",
                  "acme-key");
  REQUIRE(r.status == 202);
  auto request_id = std::string(r.body.at("request_id").as_string());
  f.stop();   // opexd goes down with the approval pending
  f.start();  // and comes back on the same database
  auto pending = f.approvals("acme-key");
  REQUIRE(pending.size() == 1);
  REQUIRE(f.call("POST", "/v1/approvals/" + id_of(pending[0]), R"({"decision":"approve"})", "acme-key").status == 200);
  auto done = f.finished(request_id);
  CHECK(done.at("status") == "succeeded");
  auto state = f.call("GET", "/v1/requests/" + request_id, "", "acme-key");
  const auto& steps = state.body.at("steps").as_array();
  REQUIRE(steps.size() == 3);
  CHECK(steps.at(2).at("status") == "succeeded");
  CHECK(steps.at(0).at("attempts") == 1);  // step 1 did not run again
  auto journal = f.call("GET", "/v1/journal?request_id=" + request_id, "", "acme-key");
  CHECK(json::serialize(journal.body).find("level was warning") != std::string::npos);
}

TEST_CASE("guarded: one tenant cannot read another's journal, requests or approvals") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"BACKUP_RUN","payload":{}})", "acme-key");
  REQUIRE(r.status == 202);
  auto id = std::string(r.body.at("request_id").as_string());
  auto theirs = f.call("GET", "/v1/journal?request_id=" + id, "", "globex-key");
  REQUIRE(theirs.status == 200);
  CHECK(theirs.body.at("entries").as_array().empty());
  auto mine = f.call("GET", "/v1/journal?request_id=" + id, "", "acme-key");
  CHECK_FALSE(mine.body.at("entries").as_array().empty());
  for (const auto& e : mine.body.at("entries").as_array())
    CHECK(e.at("metadata").at("tenant") == "acme");
  CHECK(f.call("GET", "/v1/requests/" + id, "", "globex-key").status == 404);
  CHECK(f.call("DELETE", "/v1/requests/" + id, "", "globex-key").status == 404);
  CHECK(f.approvals("globex-key").empty());
  CHECK(f.approvals("ops-key").size() == 1);  // operators see every tenant
  CHECK(f.call("DELETE", "/v1/requests/" + id, "", "acme-key").status == 202);
}

TEST_CASE("guarded: sensitivity high needs an approval and journals payloads as digests only") {
  guarded_fixture f;
  auto r = f.call("POST", "/webhook/prolex-intake", R"({"request_id":"3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c",
      "source":"chat","raw_input":"Crée une tâche: changer le mot de passe du NAS","language":"fr",
      "kimmy_summary":"Créer une tâche sensible","intent":"task_create","complexity":"simple","confidence":0.9,
      "requires_prolex":true,"parameters":{"title":"Changer le mot de passe du NAS"},
      "constraints":{"sensitivity":"high"}})",
                  "acme-key");
  REQUIRE(r.status == 202);
  auto pending = f.approvals("acme-key");
  REQUIRE(pending.size() == 1);
  CHECK(std::string(pending[0].at("reason").as_string()).find("sensitivity high") != std::string::npos);
  auto journal = f.call("GET", "/v1/journal?request_id=3f2b8c1a-9d4e-4f6a-8b7c-1d2e3f4a5b6c", "", "acme-key");
  bool digest = false;
  for (const auto& e : journal.body.at("entries").as_array())
    if (e.at("agent") == "proxy" || e.at("agent") == "opex") {
      CHECK(json::serialize(e.at("payload_snapshot")).find("NAS") == std::string::npos);
      digest |= e.at("payload_snapshot").is_object() && e.at("payload_snapshot").as_object().contains("sha256");
    }
  CHECK(digest);
}

TEST_CASE("guarded: each tenant's calls carry its own secrets, never another's") {
  test::temp_dir dir;
  std::filesystem::create_directories(dir.path / "secrets/tenant/globex");
  std::ofstream(dir.file("secrets/tenant/globex/search_token")) << "globex-token\n";
  ::setenv("OPEX_SECRET_ACME_SEARCH_TOKEN", "acme-token", 1);
  test::loopback_server search([](const test::recorded_request&) { return test::scripted_response{200, R"({"results":[]})"}; });
  std::ofstream(dir.file("opex.yml")) << "targets:\n  mode: builtin\n  overrides:\n    WEB_SEARCH: {type: webhook, url: \""
                                      << search.base_url()
                                      << "/search\", headers: {Authorization: \"secret:search_token\", X-Client: opex}}\n"
                                         "secrets:\n  dir: secrets\n"
                                         "tenants:\n  - {slug: acme}\n  - {slug: globex}\n  - {slug: initech}\n";
  engine_options o;
  o.config_path = dir.file("opex.yml");
  o.database = dir.file("opex.db");
  engine eng(std::move(o));
  auto run = [&](const std::string& tenant) {
    submit_options so;
    so.tenant = tenant;
    auto f = eng.submit_output(json::parse(R"({"type":"tool_call","tool":"WEB_SEARCH","payload":{"query":"x"}})"), so);
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    return f.get();
  };
  CHECK(run("acme").status == request_status::succeeded);
  CHECK(run("globex").status == request_status::succeeded);
  auto none = run("initech");
  CHECK(none.steps.at(0).error.code == error_code::secret_not_found);
  auto reqs = search.requests();
  REQUIRE(reqs.size() == 2);
  auto header = [](const test::recorded_request& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "authorization")
        return v;
    return std::string{};
  };
  CHECK(header(reqs[0]) == "acme-token");
  CHECK(header(reqs[1]) == "globex-token");
  auto rows = eng.journal(journal_query{});
  REQUIRE(rows.ok());
  auto text = json::serialize(*rows);
  CHECK(text.find("acme-token") == std::string::npos);
  CHECK(text.find("globex-token") == std::string::npos);
  ::unsetenv("OPEX_SECRET_ACME_SEARCH_TOKEN");
}
