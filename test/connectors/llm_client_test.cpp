// The LLM connector against loopback servers speaking each wire format exactly: the Anthropic
// Messages API and OpenAI chat completions (streaming off), usage and cost, error bodies, 429
// with Retry-After, 529 overloaded; then the engine with Prolex and Kimmy in llm modes and an
// `llm` tool step, over real HTTP.
#include "opex/connectors/llm_client.hpp"
#include "opex/engine.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/retry_policy.hpp"

#include "support/loopback_server.hpp"
#include "support/engine_options.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>

using namespace opex;
using namespace opex::connectors;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string anthropic_body(const std::string& text, int in = 120, int out = 40) {
  return json::serialize(json::object{
    {"id", "msg_01"},
    {"type", "message"},
    {"role", "assistant"},
    {"model", "claude-test-1"},
    {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
    {"stop_reason", "end_turn"},
    {"stop_sequence", nullptr},
    {"usage", json::object{{"input_tokens", in}, {"output_tokens", out}, {"cache_read_input_tokens", 0}}}});
}

std::string openai_body(const std::string& text, int in = 80, int out = 20) {
  return json::serialize(json::object{
    {"id", "chatcmpl-1"},
    {"object", "chat.completion"},
    {"created", 1795000000},
    {"model", "gpt-test"},
    {"choices", json::array{json::object{{"index", 0},
                                         {"message", json::object{{"role", "assistant"}, {"content", text}}},
                                         {"finish_reason", "stop"}}}},
    {"usage", json::object{{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}}}});
}

llm_endpoint_settings endpoint(const std::string& provider, const std::string& base) {
  llm_endpoint_settings e;
  e.name = provider;
  e.provider = provider;
  e.base_url = base;
  e.model = provider == "openai" ? "gpt-test" : "claude-test";
  e.api_key = "env:OPEX_TEST_LLM_KEY";
  e.input_cost_per_mtok_usd = 3.0;
  e.output_cost_per_mtok_usd = 15.0;
  e.timeout_ms = 5000;
  return e;
}

result<llm_response> complete(const llm_client& c, const std::string& name, llm_request r) {
  std::promise<result<llm_response>> p;
  auto f = p.get_future();
  c.complete(name, r, [&p](result<llm_response> out) { p.set_value(std::move(out)); });
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

std::string header(const test::recorded_request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return {};
}

llm_request ask(std::string text) {
  llm_request r;
  r.system = "You answer briefly.";
  r.messages.push_back({"user", std::move(text)});
  return r;
}

struct key_env {
  key_env() { ::setenv("OPEX_TEST_LLM_KEY", "sk-test-123", 1); }
  ~key_env() { ::unsetenv("OPEX_TEST_LLM_KEY"); }
};

} // namespace

TEST_CASE("llm anthropic: the Messages request and response, usage and cost", "[llm]") {
  key_env key;
  test::loopback_server server([](const test::recorded_request&) {
    return test::scripted_response{200, anthropic_body("Bonjour !", 1000, 200), {{"Content-Type", "application/json"}}};
  });
  auto http = std::make_shared<http_client>();
  llm_settings s;
  s.endpoints["anthropic"] = endpoint("anthropic", server.base_url());
  llm_client client(s, http);
  auto r = complete(client, "anthropic", ask("Say hello"));
  REQUIRE(r);
  CHECK(r->text == "Bonjour !");
  CHECK(r->model == "claude-test-1");
  CHECK(r->stop_reason == "end_turn");
  CHECK(r->usage.input_tokens == 1000);
  CHECK(r->usage.output_tokens == 200);
  CHECK(r->usage.cost_usd == Approx((1000 * 3.0 + 200 * 15.0) / 1e6));

  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/messages");
  CHECK(header(reqs[0], "x-api-key") == "sk-test-123");
  CHECK(header(reqs[0], "anthropic-version") == "2023-06-01");
  CHECK(header(reqs[0], "content-type") == "application/json");
  CHECK(header(reqs[0], "authorization").empty());
  auto body = parse_json(reqs[0].body).value().as_object();
  CHECK(body.at("model") == "claude-test");
  CHECK(body.at("max_tokens") == 1024);
  CHECK(body.at("stream") == false);
  CHECK(body.at("system") == "You answer briefly.");
  CHECK(body.at("messages").as_array().size() == 1);
  CHECK(body.at("messages").at(0).at("role") == "user");
}

TEST_CASE("llm openai: the chat completions request and response", "[llm]") {
  key_env key;
  test::loopback_server server([](const test::recorded_request&) {
    return test::scripted_response{200, openai_body("Hello!"), {{"Content-Type", "application/json"}}};
  });
  llm_settings s;
  s.endpoints["openai"] = endpoint("openai", server.base_url() + "/v1");
  llm_client client(s, std::make_shared<http_client>());
  auto r = complete(client, "openai", ask("Say hello"));
  REQUIRE(r);
  CHECK(r->text == "Hello!");
  CHECK(r->stop_reason == "stop");
  CHECK(r->usage.input_tokens == 80);
  CHECK(r->usage.output_tokens == 20);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].target == "/v1/chat/completions");
  CHECK(header(reqs[0], "authorization") == "Bearer sk-test-123");
  auto body = parse_json(reqs[0].body).value().as_object();
  CHECK(body.at("messages").at(0).at("role") == "system");
  CHECK(body.at("messages").at(1).at("content") == "Say hello");
  CHECK(body.at("stream") == false);
}

TEST_CASE("llm errors: 529 overloaded, 429 Retry-After and 400 map to retryable or not", "[llm]") {
  key_env key;
  std::atomic<int> n{0};
  test::loopback_server server([&n](const test::recorded_request&) {
    switch (n++) {
      case 0:
        return test::scripted_response{529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"};
      case 1:
        return test::scripted_response{429, R"({"type":"error","error":{"type":"rate_limit_error","message":"Too many"}})",
                                       {{"Retry-After", "7"}}};
      case 2:
        return test::scripted_response{400, R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens too large"}})"};
      default:
        return test::scripted_response{200, "<html>not json</html>"};
    }
  });
  llm_settings s;
  s.endpoints["anthropic"] = endpoint("anthropic", server.base_url());
  llm_client client(s, std::make_shared<http_client>());
  auto overloaded = complete(client, "anthropic", ask("x"));
  REQUIRE_FALSE(overloaded);
  CHECK(overloaded.error().code == error_code::http_error);
  CHECK(overloaded.error().details.at("status") == 529);
  CHECK(overloaded.error().details.at("error_type") == "overloaded_error");
  CHECK(policies::is_retryable(overloaded.error(), retry_settings{}));

  auto limited = complete(client, "anthropic", ask("x"));
  REQUIRE_FALSE(limited);
  CHECK(limited.error().details.at("retry_after") == "7");
  std::mt19937_64 rng(1);
  auto d = policies::decide_retry(retry_settings{}, 2, limited.error(), std::nullopt, rng, std::chrono::system_clock::now());
  CHECK(d.retry);
  CHECK(d.delay == 7000ms);

  auto invalid = complete(client, "anthropic", ask("x"));
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().details.at("error_message") == "max_tokens too large");
  CHECK_FALSE(policies::is_retryable(invalid.error(), retry_settings{}));

  auto garbage = complete(client, "anthropic", ask("x"));
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error().code == error_code::protocol_error);
}

TEST_CASE("llm: a key reference that resolves to nothing is SECRET_NOT_FOUND, never sent", "[llm]") {
  test::loopback_server server([](const test::recorded_request&) { return test::scripted_response{200, "{}"}; });
  llm_settings s;
  s.endpoints["anthropic"] = endpoint("anthropic", server.base_url());
  s.endpoints["anthropic"].api_key = "env:OPEX_TEST_NO_SUCH_KEY";
  llm_client client(s, std::make_shared<http_client>());
  auto r = complete(client, "anthropic", ask("x"));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == error_code::secret_not_found);
  CHECK(server.requests().empty());
}

namespace {

/// opex.yml for an engine whose Prolex (and optionally Kimmy) use the loopback endpoint.
std::string llm_config(const std::string& provider, const std::string& base, const std::string& prolex_mode,
                       const std::string& kimmy_mode = "rules") {
  return "llm:\n  default: model\n  endpoints:\n    model:\n      provider: " + provider + "\n      base_url: " + base
         + "\n      model: test-model\n      api_key: env:OPEX_TEST_LLM_KEY\n      input_cost_per_mtok_usd: 3\n"
           "      output_cost_per_mtok_usd: 15\n      retry: {initial_interval_ms: 10}\n"
           "prolex:\n  mode: " + prolex_mode + "\nkimmy:\n  mode: " + kimmy_mode + "\n";
}

engine_options options(const test::temp_dir& dir, const std::string& yaml) {
  return test::options_with_yaml(dir, yaml, make_fixed_clock(*parse_iso8601("2026-11-18T09:00:00+01:00")));
}

const char* kimmy_payload_json = R"({"request_id":"5b0c5c52-3f5e-4a55-9b1e-0d1c2c3d4e5f","source":"api",
  "raw_input":"Create a task to review the Prolex architecture by Friday","language":"en",
  "kimmy_summary":"Create a task to review the Prolex architecture.","intent":"task_create","complexity":"simple",
  "confidence":0.9,"requires_prolex":true,
  "parameters":{"title":"review the Prolex architecture","due_date":"2026-11-20"},
  "constraints":{"sensitivity":"low"}})";

} // namespace

TEST_CASE("engine llm: Prolex against an Anthropic server that first answers invalid JSON", "[llm]") {
  key_env key;
  std::atomic<int> n{0};
  test::loopback_server server([&n](const test::recorded_request&) {
    if (n++ == 0)
      return test::scripted_response{200, anthropic_body("Here is the plan: {\"type\": \"tool_call\", \"tool\": TASK_CREATE}")};
    return test::scripted_response{
      200, anthropic_body(R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Review the Prolex architecture","due_date":"2026-11-20","priority":"high"}})")};
  });
  test::temp_dir dir;
  engine eng(options(dir, llm_config("anthropic", server.base_url(), "llm_with_rules_fallback")));
  auto r = eng.submit_payload(parse_json(kimmy_payload_json).value()).get();
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  CHECK(r.planned_by == "prolex");
  CHECK(r.steps[0].data.at("priority") == "high");  // the model's plan, not the rules'
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  auto second = parse_json(reqs[1].body).value().as_object();
  REQUIRE(second.at("messages").as_array().size() == 3);
  CHECK(second.at("messages").at(1).at("role") == "assistant");
  CHECK(json::serialize(second.at("messages").at(2)).find("not one bare JSON object") != std::string::npos);

  journal_query q;
  q.request_id = r.request_id;
  q.agent = "prolex";
  auto entries = eng.journal(q).value();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].at("metadata").at("model") == "claude-test-1");
  CHECK(entries[0].at("metadata").at("tokens_used") == 320);
  CHECK(entries[0].at("metadata").at("cost_usd").as_double() == Approx(2 * (120 * 3.0 + 40 * 15.0) / 1e6));
  CHECK(entries[0].at("result").at("data").at("llm").at("calls") == 2);
}

TEST_CASE("engine llm: garbage from an OpenAI-format server falls back to the rules", "[llm]") {
  key_env key;
  test::loopback_server server([](const test::recorded_request&) {
    return test::scripted_response{200, openai_body("I cannot help with that.")};
  });
  test::temp_dir dir;
  engine eng(options(dir, llm_config("openai", server.base_url() + "/v1", "llm_with_rules_fallback")));
  auto r = eng.submit_payload(parse_json(kimmy_payload_json).value()).get();
  REQUIRE(r.status == request_status::succeeded);
  CHECK(r.steps[0].data.at("title") == "review the Prolex architecture");  // the rules' plan
  CHECK(server.requests().size() == 2);
  journal_query q;
  q.request_id = r.request_id;
  q.agent = "prolex";
  auto e = eng.journal(q).value().at(0);
  CHECK(e.at("result").at("data").at("llm").at("fallback_reason") == "invalid_output");
}

TEST_CASE("engine llm: an overloaded server is retried, then the answer is used", "[llm]") {
  key_env key;
  std::atomic<int> n{0};
  test::loopback_server server([&n](const test::recorded_request&) {
    if (n++ == 0)
      return test::scripted_response{529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"};
    return test::scripted_response{200, anthropic_body(R"({"type":"clarification","questions":["Which project should the review cover?"]})")};
  });
  test::temp_dir dir;
  engine eng(options(dir, llm_config("anthropic", server.base_url(), "llm")));
  auto r = eng.submit_payload(parse_json(kimmy_payload_json).value()).get();
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.output);
  CHECK(r.output->type == output_type::clarification);
  CHECK(server.requests().size() == 2);
  bool breaker = false;
  for (const auto& b : eng.breakers())
    breaker = breaker || b.target == "llm:model";
  CHECK(breaker);
}

TEST_CASE("engine llm: an llm tool step records the answer, tokens and cost", "[llm]") {
  key_env key;
  test::loopback_server server([](const test::recorded_request&) {
    return test::scripted_response{200, anthropic_body("Three bullet points.", 2000, 100)};
  });
  test::temp_dir dir;
  std::ofstream(dir.file("tools-llm.yml")) << "- id: LLM_SUMMARIZE\n  category: llm\n  auto_allowed_levels: [1, 2, 3]\n"
                                               "  target: {type: llm, name: model}\n";
  engine eng(options(dir, llm_config("anthropic", server.base_url(), "rules") + "extra_catalogues: [tools-llm.yml]\n"));
  auto r = eng.submit_output(parse_json(R"({"type":"tool_call","tool":"LLM_SUMMARIZE","payload":{"prompt":"Summarize opex"}})").value()).get();
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  CHECK(r.steps[0].data.at("text") == "Three bullet points.");
  CHECK(r.steps[0].data.at("usage").at("input_tokens") == 2000);
  CHECK(r.steps[0].cost_usd == Approx((2000 * 3.0 + 100 * 15.0) / 1e6));
}

TEST_CASE("engine llm: Kimmy classifies through the model over HTTP", "[llm]") {
  key_env key;
  test::loopback_server server([](const test::recorded_request&) {
    return test::scripted_response{200, openai_body(R"({"language":"fr","intent":"task_create","complexity":"simple",
      "confidence":0.93,"summary":"Créer une tâche pour réviser l'architecture Prolex.",
      "parameters":{"title":"Réviser l'architecture Prolex","due_date":"2026-11-20"}})")};
  });
  test::temp_dir dir;
  engine eng(options(dir, llm_config("openai", server.base_url() + "/v1", "rules", "llm")));
  auto r = eng.submit_text("Créer une tâche pour réviser l'architecture Prolex avant vendredi").get();
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  REQUIRE(r.kimmy);
  CHECK(r.kimmy->confidence == 0.93);
  CHECK(r.steps[0].data.at("due_date") == "2026-11-20");
  CHECK(r.steps[0].data.at("title") == "Réviser l'architecture Prolex");
}

TEST_CASE("config llm: endpoints and modes are checked at load", "[llm]") {
  auto literal = load_config_text("llm:\n  endpoints:\n    m: {model: x, api_key: sk-live-123}\n", "/tmp", "test");
  REQUIRE_FALSE(literal);
  CHECK(literal.error().code == error_code::config_error);
  auto no_endpoint = load_config_text("prolex:\n  mode: llm\n", "/tmp", "test");
  REQUIRE_FALSE(no_endpoint);
  CHECK(no_endpoint.error().details.at("key") == "prolex.mode");
  auto unknown = load_config_text("llm:\n  endpoints:\n    m: {model: x}\nkimmy:\n  mode: llm\n  llm: other\n", "/tmp", "test");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().details.at("key") == "kimmy.llm");
  auto ok = load_config_text("llm:\n  endpoints:\n    m: {model: x, provider: openai, api_key: 'env:K'}\nprolex:\n  mode: llm\n",
                             "/tmp", "test");
  REQUIRE(ok);
  CHECK(ok->llm.find("")->base_url == "https://api.openai.com/v1");
  auto relative = load_config_text("llm:\n  endpoints:\n    m: {model: x, api_key: 'file:keys/claude'}\n", "/etc/opex", "test");
  REQUIRE(relative);
  CHECK(relative->llm.find("")->api_key == "file:/etc/opex/keys/claude");  // from the configuration's folder
}

TEST_CASE("engine llm: N8N_WORKFLOW_DESIGN through the model, checked, else templates", "[llm]") {
  key_env key;
  std::atomic<int> n{0};
  test::loopback_server server([&n](const test::recorded_request&) {
    if (n++ == 0)
      return test::scripted_response{200, anthropic_body(R"({"name":"x","nodes":[
        {"id":"1","name":"Webhook","type":"n8n-nodes-base.webhook","typeVersion":2,"position":[0,0],
         "parameters":{"httpMethod":"POST","path":"invoices","responseMode":"lastNode","options":{}}},
        {"id":"2","name":"Filter","type":"n8n-nodes-base.filter","typeVersion":2,"position":[220,0],"parameters":{}},
        {"id":"3","name":"Store","type":"n8n-nodes-base.set","typeVersion":3.4,"position":[440,0],"parameters":{}}],
        "connections":{"Webhook":{"main":[[{"node":"Filter","type":"main","index":0}]]},
                       "Filter":{"main":[[{"node":"Store","type":"main","index":0}]]}}})")};
    // Second call: a design that uses a credential n8n does not have.
    return test::scripted_response{200, anthropic_body(R"({"name":"y","nodes":[
        {"id":"1","name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,"position":[0,0],"parameters":{}},
        {"id":"2","name":"Mail","type":"n8n-nodes-base.gmail","typeVersion":2,"position":[220,0],"parameters":{},
         "credentials":{"gmailOAuth2":{"id":"99","name":"Somebody's Gmail"}}}],
        "connections":{"Start":{"main":[[{"node":"Mail","type":"main","index":0}]]}}})")};
  });
  test::temp_dir dir;
  std::ofstream(dir.file("key")) << "unused\n";
  auto yaml = llm_config("anthropic", server.base_url(), "rules")
              + "autonomy_level: 3\nn8n:\n  instances:\n    sandbox: {base_url: 'http://127.0.0.1:9', api_key: 'file:key'}\n";
  engine eng(options(dir, yaml));
  const char* plan = R"({"type":"tool_call","tool":"N8N_WORKFLOW_DESIGN","payload":{
      "goal":"Store filtered invoices","workflow_name":"AUTO_PROLEX_Invoices","constraints":{"max_nodes":4}}})";
  auto by_model = eng.submit_output(parse_json(plan).value()).get();
  INFO(json::serialize(to_json(by_model)));
  REQUIRE(by_model.status == request_status::succeeded);
  CHECK(by_model.steps[0].data.at("designed_by") == "llm");
  CHECK(by_model.steps[0].data.at("node_count") == 3);
  CHECK(by_model.steps[0].data.at("spec").at("name") == "AUTO_PROLEX_Invoices");
  CHECK(by_model.steps[0].data.at("spec").at("settings").at("executionOrder") == "v1");
  auto first = parse_json(server.requests()[0].body).value();
  CHECK(json::serialize(first).find("At most 4 nodes") != std::string::npos);

  auto refused = eng.submit_output(parse_json(plan).value()).get();
  REQUIRE(refused.status == request_status::succeeded);
  CHECK(refused.steps[0].data.at("designed_by") == "template");
  CHECK(json::serialize(refused.steps[0].data.at("notes")).find("credential gmailOAuth2 that does not exist") != std::string::npos);
}
