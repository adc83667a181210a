// The engine end to end on real parts: builtin tools on SQLite, and the reference catalogue's
// webhooks pointed at a loopback server (the Prolex spec's multi_tool_plan examples).
#include "opex/engine.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string ref = OPEX_REFERENCE_DIR;

engine_options options_for(const test::temp_dir& dir, const std::string& config_text = "") {
  engine_options o;
  if (!config_text.empty()) {
    std::ofstream(dir.file("opex.yml")) << config_text;
    o.config_path = dir.file("opex.yml");
  }
  o.database = dir.file("opex.db");
  o.time = make_fixed_clock(*parse_iso8601("2026-11-18T09:00:00+01:00"));
  return o;
}

request_result wait(std::future<request_result> f) {
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  return f.get();
}

json::value plan_file(const std::string& name) {
  auto doc = read_json_file(std::string(OPEX_SOURCE_DIR) + "/examples/plans/" + name);
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

std::string reference_webhook_config(const std::string& base_url, int level) {
  return "catalogue: " + ref + "/rag/tools/tools.yml\nsystem: " + ref + "/config/system.yml\nautonomy: " + ref
         + "/config/autonomy.yml\nautonomy_level: " + std::to_string(level)
         + "\ntargets:\n  mode: webhook\n  webhook_base_url: " + base_url
         + "\nexecution:\n  retry:\n    initial_interval_ms: 10\n";
}

} // namespace

TEST_CASE("engine: the foundation request creates the task due the coming Friday, fully journaled") {
  test::temp_dir dir;
  engine eng(options_for(dir));
  auto r = wait(eng.submit_text("Créer une tâche pour réviser l'architecture Prolex avant vendredi"));
  REQUIRE(r.status == request_status::succeeded);
  REQUIRE(r.kimmy);
  CHECK(r.kimmy->intent == "task_create");
  REQUIRE(r.output);
  CHECK(r.output->type == output_type::tool_call);
  REQUIRE(r.steps.size() == 1);
  CHECK(r.steps[0].tool == "TASK_CREATE");
  CHECK(r.steps[0].data.at("status") == "created");
  CHECK(r.steps[0].data.at("due_date") == "2026-11-20");
  auto json_result = to_json(r);
  CHECK(json_result.at("result").at("steps").at(0).at("attempts") == 1);
  auto schemas = schema_registry::with_embedded();
  CHECK(schemas->validate(schema_ids::request_result, json::value(json_result)).empty());
  for (const auto& step : json_result.at("result").at("steps").as_array()) {
    auto errors = schemas->validate(schema_ids::step_result, step);
    INFO(json::serialize(step) << "\n" << (errors.empty() ? std::string{} : errors.front()));
    CHECK(errors.empty());
  }

  journal_query q;
  q.request_id = r.request_id;
  auto rows = eng.journal(q);
  REQUIRE(rows.ok());
  std::set<std::string> agents;
  for (const auto& row : *rows) {
    agents.insert(std::string(row.at("agent").as_string()));
    CHECK(schemas->validate(schema_ids::journal_entry, row).empty());
  }
  CHECK(agents == std::set<std::string>{"kimmy", "prolex", "proxy", "opex"});
}

TEST_CASE("engine: the spec's tool_call example runs on the builtin store") {
  test::temp_dir dir;
  engine eng(options_for(dir));
  auto r = wait(eng.submit_output(plan_file("tool_call_task_create.json")));
  REQUIRE(r.status == request_status::succeeded);
  CHECK(r.planned_by == "client");
  CHECK(r.steps[0].data.at("priority") == "high");
}

TEST_CASE("engine: N8N design -> upsert -> test -> log against loopback webhooks") {
  test::loopback_server server([](const test::recorded_request& req) {
    if (req.target == "/webhook/n8n-workflow-design")
      return test::scripted_response{200, R"({"spec":{"name":"GitHub Issue to Email","nodes":[{"name":"Webhook"},{"name":"Send Email"}],"connections":{}},"estimated_complexity":"low"})"};
    if (req.target == "/webhook/n8n-workflow-upsert")
      return test::scripted_response{200, R"({"workflow_id":"wf_42","status":"created","active":false})"};
    if (req.target == "/webhook/n8n-workflow-test")
      return test::scripted_response{200, R"({"test_status":"success","execution_id":"ex_1","execution_time_ms":120})"};
    if (req.target == "/webhook/systemjournal-entry")
      return test::scripted_response{200, R"({"logged":true})"};
    return test::scripted_response{404, R"({"error":"unknown"})"};
  });
  test::temp_dir dir;
  engine eng(options_for(dir, reference_webhook_config(server.base_url(), 3)));
  auto r = wait(eng.submit_output(plan_file("n8n_design_upsert_test_log.json")));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].target == "/webhook/n8n-workflow-design");
  CHECK(reqs[1].target == "/webhook/n8n-workflow-upsert");
  CHECK(reqs[2].target == "/webhook/n8n-workflow-test");
  CHECK(reqs[3].target == "/webhook/systemjournal-entry");
  // {{ step_1.result.spec }} arrives as the object step 1 returned, not as text.
  auto upsert = json::parse(reqs[1].body);
  CHECK(upsert.at("spec").is_object());
  CHECK(upsert.at("spec").at("nodes").as_array().size() == 2);
  CHECK(json::parse(reqs[2].body).at("workflow_id") == "wf_42");
  auto log = json::parse(reqs[3].body);
  CHECK(log.at("message") == "Workflow wf_42 designed, created in the sandbox and tested");
  CHECK(log.at("details").at("test_status") == "success");
  for (const auto& req : reqs) {
    bool idempotency = false;
    for (const auto& [k, v] : req.headers)
      idempotency |= k == "idempotency-key" && v.starts_with(r.request_id + ":");
    CHECK(idempotency);
  }
}

TEST_CASE("engine: a failing step 2 leaves steps 3 and 4 skipped with reasons") {
  test::loopback_server server([](const test::recorded_request& req) {
    if (req.target == "/webhook/n8n-workflow-design")
      return test::scripted_response{200, R"({"spec":{"name":"x","nodes":[],"connections":{}}})"};
    if (req.target == "/webhook/n8n-workflow-upsert")
      return test::scripted_response{400, R"({"error":"workflow rejected"})"};
    return test::scripted_response{200, "{}"};
  });
  test::temp_dir dir;
  engine eng(options_for(dir, reference_webhook_config(server.base_url(), 3)));
  auto r = wait(eng.submit_output(plan_file("n8n_design_upsert_test_log.json")));
  CHECK(r.status == request_status::partial);
  REQUIRE(r.steps.size() == 4);
  CHECK(r.steps[0].status == step_status::succeeded);
  CHECK(r.steps[1].status == step_status::failed);
  CHECK(r.steps[1].error.code == error_code::http_error);
  CHECK(r.steps[1].error.details.at("status") == 400);
  CHECK(r.steps[2].status == step_status::skipped);
  CHECK(r.steps[2].error.message == "dependency step 2 failed");
  CHECK(r.steps[3].status == step_status::skipped);
  CHECK(r.steps[3].error.message == "dependency step 3 skipped");
  CHECK(server.requests().size() == 2);
}

TEST_CASE("engine: WEB_SEARCH -> DOC_CREATE_NOTE -> LOG_APPEND with transient failures retried") {
  std::atomic<int> search_calls{0};
  test::loopback_server server([&](const test::recorded_request& req) {
    if (req.target == "/webhook/web-search") {
      if (search_calls++ == 0)
        return test::scripted_response{503, R"({"error":"busy"})"};
      return test::scripted_response{200, R"({"summary":"Use an error trigger workflow.","results":[{"url":"https://docs.n8n.io"}]})"};
    }
    if (req.target == "/webhook/doc-create-note")
      return test::scripted_response{200, R"({"doc_id":"doc_7","status":"created"})"};
    return test::scripted_response{200, R"({"logged":true})"};
  });
  test::temp_dir dir;
  engine eng(options_for(dir, reference_webhook_config(server.base_url(), 2)));
  auto r = wait(eng.submit_output(plan_file("search_note_log.json")));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  CHECK(r.steps[0].attempts.size() == 2);
  CHECK(r.steps[0].attempts[0].error_code == "HTTP_ERROR");
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(json::parse(reqs[2].body).at("content") == "Use an error trigger workflow.");
  auto details = json::parse(reqs[3].body).at("details");
  CHECK(details.at("note").at("doc_id") == "doc_7");
  CHECK(details.at("sources").at(0).at("url") == "https://docs.n8n.io");
}

TEST_CASE("engine: secrets in payloads and results never reach the journal, the rows or the answer in clear") {
  test::temp_dir dir;
  engine eng(options_for(dir));
  auto r = wait(eng.submit_output(json::parse(R"({"type":"tool_call","tool":"NOOP","payload":{
      "echo":{"user":"m","password":"hunter2","nested":{"api_key":"sk-live-123"}}}})")));
  REQUIRE(r.status == request_status::succeeded);
  // Answers are masked like everything stored (docs/durability.md, "Secrets at rest and in answers").
  CHECK(r.steps[0].data.at("echo").at("password") == "***");
  CHECK(json::serialize(to_json(r)).find("hunter2") == std::string::npos);
  auto stored = eng.request_state(r.request_id);
  REQUIRE(stored.ok());
  CHECK(json::serialize(*stored).find("hunter2") == std::string::npos);
  journal_query q;
  q.request_id = r.request_id;
  auto rows = eng.journal(q);
  REQUIRE(rows.ok());
  auto text = json::serialize(*rows);
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("sk-live-123") == std::string::npos);
  CHECK(text.find(R"("password":"***")") != std::string::npos);
}

TEST_CASE("engine: bad input is refused with the standard error, never a crash") {
  test::temp_dir dir;
  engine eng(options_for(dir));
  auto invalid = wait(eng.submit_output(json::parse(R"({"type":"tool_call"})")));
  CHECK(invalid.status == request_status::rejected);
  CHECK(invalid.error.code == error_code::validation_error);
  auto payload = wait(eng.submit_payload(json::parse(R"({"request_id":"x"})")));
  CHECK(payload.error.code == error_code::validation_error);
  auto empty = wait(eng.submit_text("   "));
  CHECK(empty.error.code == error_code::validation_error);
  submit_options bad_id;
  bad_id.request_id = "nope";
  auto id = wait(eng.submit_text("hello", bad_id));
  CHECK(id.error.code == error_code::validation_error);
  auto still = wait(eng.submit_text("Crée une tâche pour ranger le bureau"));
  CHECK(still.status == request_status::succeeded);
}

TEST_CASE("engine: COST_REPORT_RUN runs on the builtin cost report, periods and formats checked") {
  test::temp_dir dir;
  engine eng(options_for(dir));
  auto report = [&](const std::string& payload) {
    return wait(eng.submit_output(json::parse(R"({"type":"tool_call","tool":"COST_REPORT_RUN","payload":)" + payload + "}")));
  };
  REQUIRE(report(R"({"period":"monthly"})").status == request_status::succeeded);
  auto r = report(R"({"period":"weekly"})");
  REQUIRE(r.status == request_status::succeeded);
  const auto& data = r.steps[0].data.as_object();
  CHECK(data.at("tenant") == "default");
  CHECK(data.at("currency") == "USD");
  CHECK(data.at("until").as_string().starts_with("2026-11-18T08:00"));
  CHECK(data.at("since").as_string().starts_with("2026-11-11T08:00"));
  CHECK(data.at("requests").as_int64() >= 1);  // the first report, journaled before the second ran
  CHECK(data.at("total_cost_usd").as_double() == 0.0);  // builtins cost nothing
  REQUIRE(data.at("by_day").as_array().size() == 1);
  CHECK(data.at("by_day").at(0).at("day") == "2026-11-18");

  auto before = report(R"({"period":"custom","start_date":"2026-10-01","end_date":"2026-10-31"})");
  REQUIRE(before.status == request_status::succeeded);
  CHECK(before.steps[0].data.at("total_cost_usd").as_double() == 0.0);
  CHECK(before.steps[0].data.at("until") == "2026-11-01T00:00:00.000Z");

  auto pdf = report(R"({"format":"pdf"})");
  REQUIRE(pdf.status == request_status::failed);
  CHECK(pdf.steps[0].error.details.at("reason") == "unsupported_format");
  auto bad = report(R"({"period":"custom"})");
  REQUIRE(bad.status == request_status::failed);
  CHECK(bad.steps[0].error.details.at("reason") == "bad_period");
}

TEST_CASE("engine: an unknown guard policy in guard.step_policies stops the start with CONFIG_ERROR") {
  test::temp_dir dir;
  try {
    engine eng(options_for(dir, "guard:\n  step_policies: [autonomy, no_such_policy]\n"));
    FAIL("the engine started");
  } catch (const engine_error& e) {
    CHECK(e.info.code == error_code::config_error);
    CHECK(e.info.details.at("key") == "guard.step_policies");
    CHECK(std::string(e.what()).find("no_such_policy") != std::string::npos);
  }
}

TEST_CASE("engine: observers added in engine_options see each request start, its steps and its answer") {
  struct log_observer final : observer {
    std::mutex m;
    std::vector<std::string> lines;
    void on_request_start(const request_started& e) override {
      std::lock_guard lock(m);
      lines.push_back("start " + e.entry + " " + e.source + " " + e.tenant);
    }
    void on_step_end(const step_ended& e) override {
      std::lock_guard lock(m);
      lines.push_back("step " + e.tool + " " + std::string(step_status_name(e.status)));
    }
    void on_request_end(const request_result& r) override {
      std::lock_guard lock(m);
      lines.push_back("end " + std::string(request_status_name(r.status)));
    }
  };
  test::temp_dir dir;
  auto o = options_for(dir);
  std::atomic<int> progress_ends{0};  // on_progress is an observer too, beside the others
  o.on_progress = [&](const progress_event& ev) { progress_ends += ev.status == step_status::succeeded ? 1 : 0; };
  auto obs = std::make_shared<log_observer>();
  o.observers.push_back(obs);
  engine eng(std::move(o));
  auto r = wait(eng.submit_output(json::parse(R"({"type":"tool_call","tool":"NOOP","payload":{}})")));
  REQUIRE(r.status == request_status::succeeded);
  auto refused = wait(eng.submit_output(json::parse(R"({"type":"tool_call","tool":"NO_SUCH_TOOL","payload":{}})")));
  CHECK(refused.status == request_status::rejected);
  std::lock_guard lock(obs->m);
  CHECK(obs->lines == std::vector<std::string>{"start proxy api default", "step NOOP succeeded", "end succeeded",
                                              "start proxy api default", "end rejected"});
  CHECK(progress_ends == 1);
}
