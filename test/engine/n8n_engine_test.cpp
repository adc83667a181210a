// The n8n connector against a real n8n 1.123.81 on loopback, started by the n8n_peer CTest
// fixture (tools/scripts/n8n-peer.sh): N8N_WORKFLOW_DESIGN -> UPSERT -> TEST -> LIST in one
// plan, the guardrails refusing before any call, a failing test run, updates, and a promotion
// through its approvals. Every workflow name carries a random suffix: the instance's database
// outlives one run.
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/n8n_connector.hpp"
#include "opex/engine.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include "support/http_call.hpp"
#include "support/engine_options.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string peer = OPEX_N8N_DATA;

std::string first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string n8n_url() { return first_line(peer + "/url"); }

std::string suffix() {
  std::random_device rd;
  return std::to_string(rd() % 1000000);
}

std::string n8n_config(int level = 3) {
  return "autonomy_level: " + std::to_string(level) + "\n"
         "n8n:\n  poll_interval_ms: 100\n  session_dir: " + peer + "/sessions\n  instances:\n    sandbox:\n      base_url: " + n8n_url() + "\n"
         "      api_key: file:" + peer + "/api_key\n      environment: sandbox\n"
         "      owner_email: file:" + peer + "/owner_email\n      owner_password: file:" + peer + "/owner_password\n"
         "execution:\n  retry: {maximum_attempts: 1}\n";
}

engine_options options(const test::temp_dir& dir, const std::string& yaml) {
  return test::options_with_yaml(dir, yaml);
}

request_result run(engine& eng, const std::string& plan) {
  auto f = eng.submit_output(parse_json(plan).value());
  REQUIRE(f.wait_for(120s) == std::future_status::ready);
  return f.get();
}

/// A workflow answering {greeting: "hello " + body.name} from its webhook trigger.
json::object greeting_spec() {
  return parse_json(R"({"nodes":[
    {"id":"7a1c0000-0000-4000-8000-000000000001","name":"Webhook","type":"n8n-nodes-base.webhook","typeVersion":2,
     "position":[0,0],"parameters":{"httpMethod":"POST","path":"opex-greeting","responseMode":"lastNode","options":{}}},
    {"id":"7a1c0000-0000-4000-8000-000000000002","name":"Greet","type":"n8n-nodes-base.set","typeVersion":3.4,
     "position":[220,0],"parameters":{"mode":"manual","includeOtherFields":false,"assignments":{"assignments":[
       {"id":"g1","name":"greeting","type":"string","value":"={{ 'hello ' + $json.body.name }}"}]},"options":{}}}],
    "connections":{"Webhook":{"main":[[{"node":"Greet","type":"main","index":0}]]}},
    "settings":{"executionOrder":"v1"}})").value().as_object();
}

/// n8n's own view of a workflow by name (public API), or null.
json::value n8n_workflow(const std::string& name) {
  connectors::http_client client;
  auto r = test::http_call(client, "GET", n8n_url() + "/api/v1/workflows?name=" + name, "",
                           {{"X-N8N-API-KEY", first_line(peer + "/api_key")}});
  REQUIRE(r.status == 200);
  for (const auto& w : r.body.at("data").as_array())
    if (w.at("name").as_string() == name)
      return w;
  return nullptr;
}

/// Creates `name` from `spec` and runs its test once: what a promotion requires first.
void upsert_and_test(engine& eng, const std::string& name, const json::object& spec) {
  json::object upsert{{"type", "tool_call"},
                      {"tool", "N8N_WORKFLOW_UPSERT"},
                      {"payload", json::object{{"workflow_name", name}, {"spec", spec}, {"tags", json::array{"AUTO_PROLEX"}}}}};
  REQUIRE(run(eng, json::serialize(upsert)).status == request_status::succeeded);
  json::object test{{"type", "tool_call"},
                    {"tool", "N8N_WORKFLOW_TEST"},
                    {"payload", json::object{{"workflow_name", name}, {"test_data", json::object{{"name", "prod"}}}}}};
  REQUIRE(run(eng, json::serialize(test)).status == request_status::succeeded);
}

/// Approves the review the upsert of `name` opened.
void approve_review(engine& eng, const std::string& name) {
  auto reviews = std::move(eng.approvals("", "pending")).value();
  bool found = false;
  for (const auto& a : reviews)
    if (a.at("kind") == "review" && a.at("subject").as_string() == name) {
      approval_decision_request d;
      d.approval_id = std::string(a.at("id").as_string());
      d.decided_by = "reviewer";
      REQUIRE(eng.decide(d));
      found = true;
    }
  REQUIRE(found);
}

/// Submits N8N_WORKFLOW_PROMOTE with `payload`, which parks for an approval; approves it with
/// its confirmation code (the operator's console) and returns the request's final result.
json::object promote(engine& eng, const json::object& payload) {
  json::object plan{{"type", "tool_call"}, {"tool", "N8N_WORKFLOW_PROMOTE"}, {"payload", payload}};
  auto parked = run(eng, json::serialize(plan));
  INFO(json::serialize(to_json(parked)));
  REQUIRE(parked.status == request_status::awaiting_approval);
  std::string approval_id;
  auto pending = std::move(eng.approvals("", "pending")).value();
  for (const auto& a : pending)
    if (a.at("request_id").as_string() == parked.request_id)
      approval_id = std::string(a.at("id").as_string());
  REQUIRE_FALSE(approval_id.empty());
  approval_decision_request d;
  d.approval_id = approval_id;
  d.decided_by = "operator";
  d.confirmation_code = eng.approval_code(approval_id).value();
  REQUIRE(eng.decide(d));
  auto final = eng.wait(parked.request_id, 120s);
  REQUIRE(final);
  return std::move(final).value();
}

} // namespace

TEST_CASE("n8n: design, upsert, test and list in one plan on a real n8n", "[n8n]") {
  test::temp_dir dir;
  engine eng(options(dir, n8n_config()));
  auto name = "AUTO_PROLEX_opex_design_" + suffix();
  json::object plan{{"type", "multi_tool_plan"},
                    {"plan", json::array{
                               json::object{{"step", 1}, {"tool", "N8N_WORKFLOW_DESIGN"},
                                            {"payload", json::object{{"goal", "Greet whoever calls the webhook"},
                                                                     {"workflow_name", name},
                                                                     {"trigger_type", "webhook"},
                                                                     {"steps", json::array{json::object{{"action", "greet"}}}}}}},
                               json::object{{"step", 2}, {"tool", "N8N_WORKFLOW_UPSERT"}, {"depends_on", json::array{1}},
                                            {"payload", json::object{{"workflow_name", name},
                                                                     {"spec", "{{ step_1.result.spec }}"},
                                                                     {"tags", json::array{"AUTO_PROLEX"}}}}},
                               json::object{{"step", 3}, {"tool", "N8N_WORKFLOW_TEST"}, {"depends_on", json::array{2}},
                                            {"payload", json::object{{"workflow_name", name},
                                                                     {"test_data", json::object{{"who", "opex"}}}}}},
                               json::object{{"step", 4}, {"tool", "N8N_LIST_WORKFLOWS"}, {"depends_on", json::array{3}},
                                            {"payload", json::object{{"tags", json::array{"AUTO_PROLEX"}}}}}}}};
  auto r = run(eng, json::serialize(plan));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  CHECK(r.steps[0].data.at("designed_by") == "template");
  CHECK(r.steps[0].data.at("node_count") == 2);
  CHECK(r.steps[1].data.at("status") == "created");
  CHECK(r.steps[1].data.at("active") == false);  // review_required (default): inactive
  CHECK(json::serialize(r.steps[1].data.at("tags")).find("AUTO_PROLEX") != std::string::npos);
  CHECK(r.steps[2].data.at("test_status") == "success");
  CHECK(r.steps[2].data.at("status") == "success");
  CHECK(r.steps[2].data.at("output").at(0).at("step_1") == "greet");
  CHECK(r.steps[2].data.at("output").at(0).at("body").at("who") == "opex");
  bool listed = false;
  for (const auto& w : r.steps[3].data.at("workflows").as_array())
    listed = listed || w.at("name").as_string() == name;
  CHECK(listed);

  auto wf = n8n_workflow(name);
  REQUIRE(wf.is_object());
  CHECK(wf.at("active") == false);
  // The upsert opened a review approval for the workflow.
  auto approvals = std::move(eng.approvals("", "pending")).value();
  bool review = false;
  for (const auto& a : approvals)
    review = review || (a.at("kind") == "review" && a.at("subject").as_string() == name);
  CHECK(review);
}

TEST_CASE("n8n: the guardrails refuse a name without AUTO_PROLEX_ before any call", "[n8n]") {
  test::temp_dir dir;
  engine eng(options(dir, n8n_config()));
  auto name = "Invoices_" + suffix();
  json::object plan{{"type", "tool_call"},
                    {"tool", "N8N_WORKFLOW_UPSERT"},
                    {"payload", json::object{{"workflow_name", name}, {"spec", greeting_spec()}, {"tags", json::array{"AUTO_PROLEX"}}}}};
  auto r = run(eng, json::serialize(plan));
  CHECK(r.status == request_status::rejected);
  CHECK(r.error.code == error_code::guardrail_violation);
  CHECK(n8n_workflow(name).is_null());
}

TEST_CASE("n8n: upsert updates by name, the test reports the workflow's output", "[n8n]") {
  test::temp_dir dir;
  engine eng(options(dir, n8n_config()));
  auto name = "AUTO_PROLEX_greeting_" + suffix();
  json::object upsert{{"type", "tool_call"},
                      {"tool", "N8N_WORKFLOW_UPSERT"},
                      {"payload", json::object{{"workflow_name", name}, {"spec", greeting_spec()},
                                               {"tags", json::array{"AUTO_PROLEX", "opex-test"}}}}};
  auto created = run(eng, json::serialize(upsert));
  INFO(json::serialize(to_json(created)));
  REQUIRE(created.status == request_status::succeeded);
  CHECK(created.steps[0].data.at("status") == "created");
  auto again = run(eng, json::serialize(upsert));
  REQUIRE(again.status == request_status::succeeded);
  CHECK(again.steps[0].data.at("status") == "updated");
  CHECK(again.steps[0].data.at("workflow_id") == created.steps[0].data.at("workflow_id"));

  json::object test{{"type", "tool_call"},
                    {"tool", "N8N_WORKFLOW_TEST"},
                    {"payload", json::object{{"workflow_name", name},
                                             {"test_data", json::object{{"name", "opex"}}},
                                             {"expect", json::object{{"greeting", "hello opex"}}}}}};
  auto tested = run(eng, json::serialize(test));
  INFO(json::serialize(to_json(tested)));
  REQUIRE(tested.status == request_status::succeeded);
  CHECK(tested.steps[0].data.at("output").at(0).at("greeting") == "hello opex");
  CHECK(tested.steps[0].data.at("last_node") == "Greet");
  CHECK(tested.steps[0].data.at("duration_ms").as_double() >= 0);

  json::object unmet = test;
  unmet["payload"].as_object()["expect"] = json::object{{"greeting", "bonjour opex"}};
  auto failed = run(eng, json::serialize(unmet));
  CHECK(failed.status == request_status::failed);
  CHECK(failed.steps[0].error.code == error_code::tool_execution_failed);
  CHECK(failed.steps[0].error.details.at("test_status") == "failed");
}

TEST_CASE("n8n: a workflow that fails its run fails the test step with the node's error", "[n8n]") {
  test::temp_dir dir;
  engine eng(options(dir, n8n_config()));
  auto name = "AUTO_PROLEX_failing_" + suffix();
  auto spec = parse_json(R"({"nodes":[
    {"id":"7a1c0000-0000-4000-8000-000000000011","name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,
     "position":[0,0],"parameters":{}},
    {"id":"7a1c0000-0000-4000-8000-000000000012","name":"Refuse","type":"n8n-nodes-base.stopAndError","typeVersion":1,
     "position":[220,0],"parameters":{"errorMessage":"the invoice total is negative"}}],
    "connections":{"Start":{"main":[[{"node":"Refuse","type":"main","index":0}]]}}})").value();
  json::object plan{{"type", "multi_tool_plan"},
                    {"plan", json::array{json::object{{"step", 1}, {"tool", "N8N_WORKFLOW_UPSERT"},
                                                      {"payload", json::object{{"workflow_name", name}, {"spec", spec},
                                                                               {"tags", json::array{"AUTO_PROLEX"}}}}},
                                         json::object{{"step", 2}, {"tool", "N8N_WORKFLOW_TEST"}, {"depends_on", json::array{1}},
                                                      {"payload", json::object{{"workflow_name", name},
                                                                               {"test_data", json::object{{"total", -3}}}}}}}}};
  auto r = run(eng, json::serialize(plan));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.steps.size() == 2);
  CHECK(r.steps[0].status == step_status::succeeded);
  CHECK(r.steps[1].status == step_status::failed);
  CHECK(r.steps[1].error.code == error_code::tool_execution_failed);
  CHECK(json::serialize(r.steps[1].error.details.at("errors")).find("the invoice total is negative") != std::string::npos);
  CHECK(r.steps[1].error.details.at("status") == "error");
}

TEST_CASE("n8n: an unknown workflow and a wrong API key are clear errors", "[n8n]") {
  test::temp_dir dir;
  {
    engine eng(options(dir, n8n_config()));
    auto r = run(eng, R"({"type":"tool_call","tool":"N8N_WORKFLOW_TEST","payload":{"workflow_name":"AUTO_PROLEX_never_created"}})");
    CHECK(r.steps[0].error.code == error_code::not_found);
  }
  std::ofstream(dir.file("wrong_key")) << "not-a-key\n";
  auto cfg = n8n_config();
  cfg.replace(cfg.find("file:" + peer + "/api_key"), ("file:" + peer + "/api_key").size(), "file:" + dir.file("wrong_key"));
  engine eng(options(dir, cfg));
  auto r = run(eng, R"({"type":"tool_call","tool":"N8N_LIST_WORKFLOWS","payload":{}})");
  REQUIRE(r.steps.size() == 1);
  CHECK(r.steps[0].error.code == error_code::http_error);
  CHECK(r.steps[0].error.details.at("status") == 401);
}

TEST_CASE("n8n: a promotion runs after its test, review and confirmation code", "[n8n]") {
  test::temp_dir dir;
  engine eng(options(dir, n8n_config(3)));
  auto name = "AUTO_PROLEX_promoted_" + suffix();
  upsert_and_test(eng, name, greeting_spec());
  approve_review(eng, name);
  auto final = promote(eng, json::object{{"workflow_name", name}, {"from", "sandbox"}, {"to", "production"}});
  INFO(json::serialize(final));
  CHECK(final.at("status") == "succeeded");
  const auto& step = final.at("result").at("steps").at(0);
  CHECK(step.at("data").at("status") == "promoted");
  CHECK(step.at("data").at("mode") == "tag");  // one instance serves both environments
  CHECK(step.at("data").at("active") == false);  // allow_activation is off
  auto wf = n8n_workflow(name);
  CHECK(json::serialize(wf.at("tags")).find("production") != std::string::npos);
}

TEST_CASE("n8n: a promotion to another instance copies, backs up and activates where allowed", "[n8n-production]") {
  const std::string prod = OPEX_N8N_PROD_DATA;
  test::temp_dir dir;
  auto cfg = n8n_config();
  cfg.insert(cfg.find("n8n:\n") + 5, "  default_instance: sandbox\n");
  // The production instance, appended under n8n.instances.
  auto at = cfg.find("execution:");
  cfg.insert(at, "    production:\n      base_url: " + first_line(prod + "/url") + "\n      api_key: file:" + prod
                    + "/api_key\n      environment: production\n      allow_activation: true\n");
  engine eng(options(dir, cfg));
  auto name = "AUTO_PROLEX_to_production_" + suffix();
  auto spec = greeting_spec();
  spec["nodes"].as_array()[0].as_object()["parameters"].as_object()["path"] = "opex-prod-" + name.substr(name.size() - 6);
  upsert_and_test(eng, name, spec);
  approve_review(eng, name);
  auto promote_once = [&](bool activate) {
    auto final = promote(eng, json::object{{"workflow_name", name}, {"activate_immediately", activate}});
    INFO(json::serialize(final));
    REQUIRE(final.at("status") == "succeeded");
    return final.at("result").at("steps").at(0).at("data").as_object();
  };
  auto first = promote_once(false);
  CHECK(first.at("mode") == "copy");
  CHECK(first.at("target").at("instance") == "production");
  CHECK(first.at("target").at("action") == "created");
  CHECK(first.at("active") == false);
  CHECK_FALSE(first.contains("backup"));
  auto second = promote_once(true);
  CHECK(second.at("target").at("action") == "updated");
  CHECK(second.at("target").at("workflow_id") == first.at("target").at("workflow_id"));
  CHECK(second.at("active") == true);  // asked for, and allowed on this instance
  CHECK(second.at("backup").at("workflow_id") == first.at("target").at("workflow_id"));
  // n8n's own view of the production copy.
  connectors::http_client client;
  auto r = test::http_call(client, "GET", first_line(prod + "/url") + "/api/v1/workflows?name=" + name, "",
                           {{"X-N8N-API-KEY", first_line(prod + "/api_key")}});
  REQUIRE(r.status == 200);
  REQUIRE(r.body.at("data").as_array().size() == 1);
  CHECK(r.body.at("data").at(0).at("active") == true);
  CHECK(json::serialize(r.body.at("data").at(0).at("tags")).find("production") != std::string::npos);
}

TEST_CASE("n8n webhooks: response modes, an unregistered webhook, test paths", "[n8n]") {
  test::temp_dir dir;
  engine eng(options(dir, n8n_config()));
  auto id = suffix();
  auto name = "AUTO_PROLEX_on_received_" + id;
  auto spec = greeting_spec();
  auto& hook = spec["nodes"].as_array()[0].as_object();
  hook["parameters"].as_object()["path"] = "opex-received-" + id;
  hook["parameters"].as_object()["responseMode"] = "onReceived";
  hook["webhookId"] = "7a1c0000-0000-4000-8000-" + std::string(12 - id.size(), '0') + id;
  json::object upsert{{"type", "tool_call"},
                      {"tool", "N8N_WORKFLOW_UPSERT"},
                      {"payload", json::object{{"workflow_name", name}, {"spec", spec}, {"tags", json::array{"AUTO_PROLEX"}},
                                               {"review_required", false}, {"active", true}}}};
  auto created = run(eng, json::serialize(upsert));
  INFO(json::serialize(to_json(created)));
  REQUIRE(created.status == request_status::succeeded);
  REQUIRE(created.steps[0].data.at("active") == true);

  std::ofstream(dir.file("hooks.yml")) << "- id: HOOK_RECEIVED\n  category: n8n_webhooks\n  auto_allowed_levels: [1, 2, 3]\n"
                                           "  target: {type: webhook, url: \"" + n8n_url() + "/webhook/opex-received-" + id + "\"}\n"
                                           "- id: HOOK_MISSING\n  category: n8n_webhooks\n  auto_allowed_levels: [1, 2, 3]\n"
                                           "  target: {type: webhook, url: \"" + n8n_url() + "/webhook/opex-nowhere-" + id + "\"}\n";
  test::temp_dir dir2;
  std::filesystem::copy_file(dir.file("hooks.yml"), dir2.file("hooks.yml"));
  {
    engine hooks(options(dir2, n8n_config() + "extra_catalogues: [hooks.yml]\n"));
    auto received = run(hooks, R"({"type":"tool_call","tool":"HOOK_RECEIVED","payload":{"name":"x"}})");
    INFO(json::serialize(to_json(received)));
    REQUIRE(received.status == request_status::succeeded);
    CHECK(received.steps[0].data.at("message") == "Workflow was started");  // onReceived answers at once
    auto missing = run(hooks, R"({"type":"tool_call","tool":"HOOK_MISSING","payload":{}})");
    CHECK(missing.steps[0].error.code == error_code::http_error);
    CHECK(missing.steps[0].error.details.at("status") == 404);
    CHECK(missing.steps[0].error.details.at("message").as_string().find("not registered") != json::string::npos);
    CHECK(missing.steps[0].error.details.contains("hint"));
  }
  // targets.n8n_webhooks: test sends to /webhook-test/, where n8n listens only while a person
  // tests the workflow in its editor.
  test::temp_dir dir3;
  std::filesystem::copy_file(dir.file("hooks.yml"), dir3.file("hooks.yml"));
  engine test_paths(options(dir3, n8n_config() + "extra_catalogues: [hooks.yml]\ntargets:\n  n8n_webhooks: test\n"));
  CHECK(test_paths.configuration().catalogue.find("HOOK_RECEIVED")->target.text("url").find("/webhook-test/opex-received-")
        != std::string::npos);
  auto not_listening = run(test_paths, R"({"type":"tool_call","tool":"HOOK_RECEIVED","payload":{}})");
  CHECK(not_listening.steps[0].error.details.at("status") == 404);
}

TEST_CASE("n8n design: templates respect max_nodes, designs are checked", "[n8n-design]") {
  json::object payload{{"goal", "Sync invoices"},
                       {"trigger_type", "schedule"},
                       {"steps", json::array{json::object{{"action", "fetch"}}, json::object{{"action", "filter"}},
                                             json::object{{"action", "store"}}, json::object{{"action", "notify"}}}}};
  auto d = connectors::n8n_connector::template_design(payload, 3);
  CHECK(d.at("node_count") == 3);
  CHECK(d.at("workflow_name") == "AUTO_PROLEX_sync-invoices");
  CHECK(d.at("spec").at("nodes").at(0).at("type") == "n8n-nodes-base.scheduleTrigger");
  CHECK(json::serialize(d.at("notes")).find("merged") != std::string::npos);
  CHECK(connectors::n8n_connector::check_design(d.at("spec").as_object(), 3, {}).empty());

  auto spec = parse_json(R"({"nodes":[{"name":"A","type":"n8n-nodes-base.set","typeVersion":3,"position":[0,0],"parameters":{},
      "credentials":{"slackApi":{"id":"42","name":"Slack"}}},{"name":"A","type":"custom","position":[1],"parameters":{}}],
      "connections":{"A":{"main":[[{"node":"Z","type":"main","index":0}]]}}})").value().as_object();
  auto problems = connectors::n8n_connector::check_design(spec, 1, {"7"});
  auto all = json::serialize(json::value_from(problems));
  CHECK(all.find("more than max_nodes 1") != std::string::npos);
  CHECK(all.find("credential slackApi that does not exist") != std::string::npos);
  CHECK(all.find("two nodes are named A") != std::string::npos);
  CHECK(all.find("unknown node Z") != std::string::npos);
}
