// Kimmy's and Prolex's llm modes under the deterministic scheduler, with a scripted model: the
// re-ask after an invalid answer, the fallbacks (unavailable, over budget, still invalid) and
// their journal entries, the llm mode's refusal, and the gateway's retry delays (Retry-After,
// backoff) measured on the test clock.
#include "actors/actor_fixture.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const char* valid_plan =
  R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"Planned by the model","due_date":"2026-11-20"}})";

llm_endpoint_settings test_endpoint(double price) {
  llm_endpoint_settings e;
  e.name = "test";
  e.model = "scripted-model";
  e.max_tokens = 512;
  e.input_cost_per_mtok_usd = price;
  e.output_cost_per_mtok_usd = price;
  return e;
}

std::function<void(opex_config&)> llm_mode(std::string prolex_mode, std::string kimmy_mode = "rules",
                                           double price = 0.0) {
  return [=](opex_config& c) {
    c.llm.endpoints["test"] = test_endpoint(price);
    c.prolex.mode = prolex_mode;
    c.kimmy.mode = kimmy_mode;
  };
}

/// The scripted model; its settings are what the agents read prices from.
std::shared_ptr<scripted_llm> model(scripted_llm::script s, double price = 0.0) {
  llm_settings settings;
  settings.endpoints["test"] = test_endpoint(price);
  return std::make_shared<scripted_llm>(settings, std::move(s));
}

result<connectors::llm_response> http_failure(int status, std::string retry_after = "") {
  json::object details{{"status", status}};
  if (!retry_after.empty())
    details["retry_after"] = retry_after;
  return make_error(error_code::http_error, "HTTP " + std::to_string(status), std::move(details));
}

/// Sends a KimmyPayload that needs Prolex (complex: the rules never act on it directly).
void submit_payload(actor_fixture& f, result_slot out, const std::string& request_id) {
  actors::request_context ctx;
  ctx.request_id = request_id;
  ctx.entry = actors::entry_point::prolex;
  ctx.received = std::chrono::steady_clock::now();
  json::object payload{{"request_id", request_id},
                       {"source", "api"},
                       {"raw_input", "Créer une tâche pour réviser l'architecture Prolex avant vendredi"},
                       {"language", "fr"},
                       {"kimmy_summary", "Créer une tâche « réviser l'architecture Prolex »."},
                       {"intent", "task_create"},
                       {"complexity", "simple"},
                       {"confidence", 0.9},
                       {"requires_prolex", true},
                       {"parameters", json::object{{"title", "réviser l'architecture Prolex"}, {"due_date", "2026-11-20"}}},
                       {"constraints", json::object{{"sensitivity", "low"}}}};
  ctx.raw = std::make_shared<const json::value>(payload);
  auto target = f.rt->prolex;
  f.sys->spawn([ctx, target, out](caf::event_based_actor* self) {
    self->request(target, std::chrono::minutes(10), actors::run_atom::value, ctx)
      .then([out](actors::request_outcome& o) { *out = std::move(*o.result); },
            [out](caf::error&) { *out = request_result{}; });
  });
}

json::object prolex_entry(actor_fixture& f, const std::string& request_id) {
  for (const auto& e : f.journal(request_id))
    if (e.at("agent") == "prolex")
      return e.as_object();
  return {};
}

} // namespace

TEST_CASE("prolex llm: a valid answer is the plan, journaled with model, tokens and cost", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) { return llm_text(valid_plan); });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(json::object{{"status", "created"}}); },
                  llm_mode("llm_with_rules_fallback"), m);
  auto out = slot();
  auto id = make_uuid_v4();
  submit_payload(f, out, id);
  f.sched->run();
  REQUIRE(*out);
  CHECK((*out)->status == request_status::succeeded);
  REQUIRE((*out)->output);
  CHECK((*out)->output->plan.front().payload.at("title") == "Planned by the model");
  REQUIRE(m->requests.size() == 1);
  // The prompt offers the tools of the level and shows the KimmyPayload.
  CHECK(m->requests[0].system.find("TASK_CREATE [low]") != std::string::npos);
  CHECK(m->requests[0].system.find("N8N_WORKFLOW_PROMOTE [high; approval]") != std::string::npos);
  CHECK(m->requests[0].messages[0].content.find("\"intent\":\"task_create\"") != std::string::npos);
  auto e = prolex_entry(f, id);
  CHECK(e.at("metadata").at("model") == "scripted-model");
  CHECK(e.at("metadata").at("tokens_used") == 150);
  CHECK(e.at("metadata").at("cost_usd") == 0.001);
  CHECK(e.at("result").at("data").at("rule") == "llm");
}

TEST_CASE("prolex llm: an invalid answer is asked again once with the validator's errors", "[llm]") {
  auto m = model([](int call, const connectors::llm_request&) {
    return llm_text(call == 0 ? R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"due_date":"soon"}})"
                              : valid_plan);
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm_with_rules_fallback"), m);
  auto out = slot();
  submit_payload(f, out, make_uuid_v4());
  f.sched->run();
  REQUIRE(*out);
  CHECK((*out)->status == request_status::succeeded);
  CHECK((*out)->output->plan.front().payload.at("title") == "Planned by the model");
  REQUIRE(m->requests.size() == 2);
  const auto& second = m->requests[1];
  REQUIRE(second.messages.size() == 3);
  CHECK(second.messages[1].role == "assistant");
  CHECK(second.messages[2].content.find("PAYLOAD_INVALID") != std::string::npos);
  CHECK(second.messages[2].content.find("title") != std::string::npos);
}

TEST_CASE("prolex llm: garbage twice falls back to the rules and journals why", "[llm]") {
  auto m = model([](int call, const connectors::llm_request&) {
    return llm_text(call == 0 ? "Sure! Here is your plan: ```json {} ```" : "{\"type\": \"tool_call\"");
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm_with_rules_fallback"), m);
  auto out = slot();
  auto id = make_uuid_v4();
  submit_payload(f, out, id);
  f.sched->run();
  REQUIRE(*out);
  CHECK((*out)->status == request_status::succeeded);
  CHECK((*out)->output->plan.front().payload.at("title") == "réviser l'architecture Prolex");  // the rules' plan
  CHECK(m->requests.size() == 2);
  auto e = prolex_entry(f, id);
  CHECK(e.at("result").at("data").at("llm").at("fallback_reason") == "invalid_output");
  CHECK(json::serialize(e.at("tags")).find("llm_fallback") != std::string::npos);
  CHECK(e.at("metadata").at("model") == "rules");
  CHECK(e.at("metadata").at("cost_usd") == 0.002);  // both calls were paid for
}

TEST_CASE("prolex llm: an unavailable model falls back after the retry policy gave up", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) { return http_failure(500); });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm_with_rules_fallback"), m);
  auto out = slot();
  auto id = make_uuid_v4();
  submit_payload(f, out, id);
  f.sched->run();
  CHECK_FALSE(*out);
  f.sched->advance_time(1000ms);  // default retry policy: 1 s, then 2 s
  f.sched->run();
  CHECK(m->requests.size() == 2);
  f.sched->advance_time(2000ms);
  f.sched->run();
  REQUIRE(*out);
  CHECK(m->requests.size() == 3);
  CHECK((*out)->status == request_status::succeeded);
  CHECK(prolex_entry(f, id).at("result").at("data").at("llm").at("fallback_reason") == "model_unavailable");
  CHECK(prolex_entry(f, id).at("result").at("data").at("llm").at("attempts") == 3);
}

TEST_CASE("prolex llm: a call over budget is not made", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) { return llm_text(valid_plan); }, 1000.0);
  // 1000 USD per million tokens: 512 output tokens alone cost 0.51 USD > max_cost_per_request_usd 0.50.
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm_with_rules_fallback", "rules", 1000.0), m);
  auto out = slot();
  auto id = make_uuid_v4();
  submit_payload(f, out, id);
  f.sched->run();
  REQUIRE(*out);
  CHECK(m->requests.empty());
  CHECK((*out)->status == request_status::succeeded);
  CHECK(prolex_entry(f, id).at("result").at("data").at("llm").at("fallback_reason") == "over_budget");
}

TEST_CASE("prolex llm mode without fallback refuses the request when the model fails", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) { return llm_text("not json"); });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm"), m);
  auto out = slot();
  submit_payload(f, out, make_uuid_v4());
  f.sched->run();
  REQUIRE(*out);
  CHECK((*out)->status == request_status::rejected);
  CHECK((*out)->error.code == error_code::output_invalid);
  CHECK(f.connector->calls.empty());
}

TEST_CASE("llm gateway: Retry-After on 429 sets the next attempt's delay", "[llm]") {
  auto m = model([](int call, const connectors::llm_request&) {
    return call == 0 ? http_failure(429, "3") : llm_text(valid_plan);
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm"), m);
  auto out = slot();
  submit_payload(f, out, make_uuid_v4());
  f.sched->run();
  CHECK(m->requests.size() == 1);
  f.sched->advance_time(2999ms);
  f.sched->run();
  CHECK(m->requests.size() == 1);
  f.sched->advance_time(1ms);
  f.sched->run();
  CHECK(m->requests.size() == 2);
  REQUIRE(*out);
  CHECK((*out)->status == request_status::succeeded);
}

TEST_CASE("llm gateway: 529 overloaded backs off and a 400 is not retried", "[llm]") {
  auto m = model([](int call, const connectors::llm_request&) {
    return call == 0 ? http_failure(529) : http_failure(400);
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("llm"), m);
  auto out = slot();
  submit_payload(f, out, make_uuid_v4());
  f.sched->run();
  f.sched->advance_time(999ms);
  f.sched->run();
  CHECK(m->requests.size() == 1);
  f.sched->advance_time(1ms);
  f.sched->run();
  CHECK(m->requests.size() == 2);
  REQUIRE(*out);  // 400: no third attempt
  CHECK((*out)->status == request_status::rejected);
  CHECK((*out)->error.code == error_code::http_error);
}

TEST_CASE("kimmy llm: the model classifies, opex grounds the parameters and decides", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) {
    return llm_text(R"({"language":"en","intent":"task_create","complexity":"simple","confidence":0.95,
      "summary":"Create a task to renew the certificate.",
      "parameters":{"title":"renew the TLS certificate","client_name":"Acme Corp","due_date":"2026-11-19","priority":"high","tags":[]}})");
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(json::object{{"status", "created"}}); },
                  llm_mode("rules", "llm_with_rules_fallback"), m);
  auto out = slot();
  auto id = make_uuid_v4();
  f.submit_text("Remind me to renew the TLS certificate tomorrow", out, id);
  f.sched->run();
  REQUIRE(*out);
  REQUIRE((*out)->kimmy);
  const auto& k = *(*out)->kimmy;
  CHECK(k.intent == "task_create");
  CHECK(k.confidence == 0.95);
  CHECK(k.parameters.at("title") == "renew the TLS certificate");
  CHECK(k.parameters.at("due_date") == "2026-11-19");
  CHECK(k.parameters.at("client_name").is_null());  // not in the text: dropped
  CHECK(k.parameters.at("priority").is_null());     // the text states none
  // The system prompt carries today's date for relative dates.
  CHECK(m->requests[0].system.find("Wednesday 2026-11-18") != std::string::npos);
  json::object entry;
  for (const auto& e : f.journal(id))
    if (e.at("agent") == "kimmy")
      entry = e.as_object();
  CHECK(entry.at("result").at("data").at("classified_by") == "llm");
  CHECK(json::serialize(entry.at("result").at("data").at("dropped_parameters")).find("client_name") != std::string::npos);
}

TEST_CASE("kimmy llm: sensitive keywords escalate whatever the model says", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) {
    return llm_text(R"({"language":"en","intent":"task_create","complexity":"simple","confidence":0.99,
      "summary":"Create a task about the production password.","parameters":{"title":"change the production password"}})");
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("rules", "llm"), m);
  auto out = slot();
  f.submit_text("Create a task to change the production password", out);
  f.sched->run();
  REQUIRE(*out);
  REQUIRE((*out)->decision);
  CHECK((*out)->decision->requires_prolex);
  bool sensitive = false;
  for (const auto& r : (*out)->decision->reasons)
    sensitive = sensitive || r.starts_with("sensitive keyword");
  CHECK(sensitive);
}

TEST_CASE("kimmy llm: an unknown intent twice falls back to the rules", "[llm]") {
  auto m = model([](int, const connectors::llm_request&) {
    return llm_text(R"({"language":"en","intent":"make_coffee","complexity":"simple","confidence":0.9,"parameters":{}})");
  });
  actor_fixture f([](auto&, auto&, int) { return ok_outcome(); }, llm_mode("rules", "llm_with_rules_fallback"), m);
  auto out = slot();
  f.submit_text("Create a task to water the plants tomorrow", out);
  f.sched->run();
  REQUIRE(*out);
  CHECK(m->requests.size() == 2);
  CHECK(m->requests[1].messages.back().content.find("intent must be one of the 13 intents") != std::string::npos);
  REQUIRE((*out)->kimmy);
  CHECK((*out)->kimmy->intent == "task_create");  // the rules' intent
}
