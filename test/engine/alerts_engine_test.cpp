// opex's alerts through the engine, on an injected clock: breaking a target makes its
// error-rate alert fire once and resolve once, each delivered once to a signed loopback webhook
// and to a catalogue tool; the states survive a restart; a failed delivery is retried with the
// same idempotency key.
#include "opex/engine.hpp"
#include "opex/policies/webhook_signature.hpp"

#include "support/engine_options.hpp"
#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string header(const test::recorded_request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return {};
}

engine_options alert_setup(const test::temp_dir& dir, const std::string& target_base, const std::string& hook_url,
                           std::shared_ptr<const opex::clock> time) {
  std::ofstream(dir.file("tools.yml"))
    << "- {id: FLAKY_A, category: productivity, target: {type: webhook, url: \"http://x/flaky/a\"}, auto_allowed_levels: [3]}\n"
       "- {id: NOTIFY, category: monitoring, target: {type: webhook, url: \"http://x/notify\"}, auto_allowed_levels: [3]}\n";
  return test::options_with_yaml(
    dir,
    "catalogue: tools.yml\nautonomy_level: 3\ntargets:\n  mode: webhook\n  webhook_base_url: " + target_base
      + "\nexecution:\n  retry: {maximum_attempts: 1}\ncircuit_breaker:\n  enabled: false\n"
        "alerts:\n  evaluation_interval_ms: 0\n  max_delivery_attempts: 3\n  targets:\n"
        "    - {name: hook, type: webhook, url: \""
      + hook_url
      + "\", secret_env: OPEX_TEST_ALERT_SECRET}\n"
        "    - {name: notify, type: tool, tool: NOTIFY}\n"
        "  rules:\n"
        "    - {name: flaky_errors, kind: error_rate, threshold: 0.10, window_ms: 3600000, min_count: 5, tools: [FLAKY_A]}\n",
    std::move(time));
}

void run_flaky(engine& eng, int n) {
  for (int i = 0; i < n; ++i) {
    auto f = eng.submit_output(json::parse(R"({"type":"tool_call","tool":"FLAKY_A","payload":{"i":1}})"));
    REQUIRE(f.wait_for(60s) == std::future_status::ready);  // a bound, not a measurement
    f.get();
  }
}

json::object evaluate(engine& eng) {
  auto r = eng.evaluate_alerts();
  REQUIRE(r);
  return *r;
}

} // namespace

TEST_CASE("alerts engine: a broken target fires its error-rate alert once and resolves it once") {
  ::setenv("OPEX_TEST_ALERT_SECRET", "alert-signing-secret", 1);
  std::atomic<bool> broken{true};
  test::loopback_server targets([&](const test::recorded_request& req) {
    if (req.target.starts_with("/flaky") && broken)
      return test::scripted_response{500, R"({"error":"broken"})"};
    return test::scripted_response{200, R"({"ok":true})"};
  });
  test::loopback_server hook([](const test::recorded_request&) { return test::scripted_response{204, ""}; });
  auto time = std::make_shared<manual_clock>(zoned_time{parse_iso8601("2026-12-03T12:00:00Z")->utc});
  test::temp_dir dir;
  {
    engine eng(alert_setup(dir, targets.base_url(), hook.base_url() + "/alerts", time));

    run_flaky(eng, 4);
    CHECK(evaluate(eng).at("transitions").as_array().empty());  // 4 failures < min_count 5: no page
    run_flaky(eng, 2);
    auto fired = evaluate(eng);
    INFO(json::serialize(fired));
    const auto& transitions = fired.at("transitions").as_array();
    REQUIRE(transitions.size() == 1);
    CHECK(transitions[0].at("to") == "firing");
    CHECK(transitions[0].at("alert").at("subject") == "FLAKY_A");
    CHECK(transitions[0].at("alert").at("count") == 6);
    CHECK(fired.at("deliveries").as_array().size() == 2);
    for (const auto& d : fired.at("deliveries").as_array())
      CHECK(d.at("delivered") == true);
    const std::string firing_id(transitions[0].at("transition_id").as_string());

    auto sent = hook.requests();
    REQUIRE(sent.size() == 1);
    CHECK(header(sent[0], "idempotency-key") == firing_id);
    policies::signature_verifier verifier;
    auto now_s = std::chrono::duration_cast<std::chrono::seconds>(time->now().utc.time_since_epoch()).count();
    CHECK_FALSE(verifier.verify("alert-signing-secret", header(sent[0], "x-opex-timestamp"),
                                header(sent[0], "x-opex-signature"), sent[0].body, now_s, 300));
    CHECK(json::parse(sent[0].body).at("to") == "firing");

    std::size_t notified = 0;
    for (const auto& r : targets.requests())
      if (r.target == "/notify") {
        ++notified;
        auto body = json::parse(r.body);
        CHECK(body.at("error_type") == "workflow_failure");
        CHECK(body.at("source").at("workflow_id") == "FLAKY_A");
      }
    CHECK(notified == 1);

    // Still breached: nothing new, nothing sent again.
    run_flaky(eng, 1);
    CHECK(evaluate(eng).at("transitions").as_array().empty());
    CHECK(hook.requests().size() == 1);

    // The target is repaired and the failures leave the window.
    broken = false;
    time->advance(61min);
    run_flaky(eng, 5);
    auto resolved = evaluate(eng);
    REQUIRE(resolved.at("transitions").as_array().size() == 1);
    CHECK(resolved.at("transitions").at(0).at("to") == "resolved");
    CHECK(evaluate(eng).at("transitions").as_array().empty());
    sent = hook.requests();
    REQUIRE(sent.size() == 2);
    CHECK(json::parse(sent[1].body).at("to") == "resolved");
    CHECK(header(sent[1], "idempotency-key") != firing_id);

    auto listed = eng.alerts();
    REQUIRE(listed);
    REQUIRE(listed->at("alerts").as_array().size() == 1);
    CHECK(listed->at("alerts").at(0).at("state") == "resolved");
    CHECK(listed->at("deliveries").as_array().empty());

    journal_query q;
    q.agent = "system";
    auto entries = eng.journal(q);
    REQUIRE(entries);
    int transitions_journaled = 0, deliveries_journaled = 0;
    for (const auto& e : *entries)
      if (e.at("action_type") == "alert") {
        const auto tag = e.at("tags").at(1);
        (tag == "delivery" ? deliveries_journaled : transitions_journaled) += 1;
      }
    CHECK(transitions_journaled == 2);
    CHECK(deliveries_journaled == 4);
  }
  // A restart finds the states where they were: nothing is delivered again.
  engine again(alert_setup(dir, targets.base_url(), hook.base_url() + "/alerts", time));
  auto listed = again.alerts();
  REQUIRE(listed);
  CHECK(listed->at("alerts").at(0).at("state") == "resolved");
  CHECK(evaluate(again).at("transitions").as_array().empty());
  CHECK(hook.requests().size() == 2);
}

TEST_CASE("alerts engine: a failed delivery is retried with the same idempotency key") {
  ::setenv("OPEX_TEST_ALERT_SECRET", "alert-signing-secret", 1);
  test::loopback_server targets([](const test::recorded_request& req) {
    return req.target.starts_with("/flaky") ? test::scripted_response{500, "{}"} : test::scripted_response{200, "{}"};
  });
  std::atomic<int> hook_calls{0};
  test::loopback_server hook([&](const test::recorded_request&) {
    return ++hook_calls == 1 ? test::scripted_response{503, "{}"} : test::scripted_response{200, "{}"};
  });
  auto time = std::make_shared<manual_clock>(zoned_time{parse_iso8601("2026-12-03T12:00:00Z")->utc});
  test::temp_dir dir;
  engine eng(alert_setup(dir, targets.base_url(), hook.base_url() + "/alerts", time));
  run_flaky(eng, 5);
  auto first = evaluate(eng);
  bool hook_failed = false;
  for (const auto& d : first.at("deliveries").as_array())
    if (d.at("target") == "hook")
      hook_failed = d.at("delivered") == false;
  CHECK(hook_failed);
  auto pending = eng.alerts();
  REQUIRE(pending);
  REQUIRE(pending->at("deliveries").as_array().size() == 1);
  CHECK(pending->at("deliveries").at(0).at("state") == "pending");

  auto second = evaluate(eng);  // no transition; the open delivery is retried
  CHECK(second.at("transitions").as_array().empty());
  REQUIRE(second.at("deliveries").as_array().size() == 1);
  CHECK(second.at("deliveries").at(0).at("delivered") == true);
  auto sent = hook.requests();
  REQUIRE(sent.size() == 2);
  CHECK(header(sent[0], "idempotency-key") == header(sent[1], "idempotency-key"));
  CHECK(header(sent[1], "x-opex-attempt") == "2");
  CHECK(eng.alerts()->at("deliveries").as_array().empty());
}
