// Resilience over real HTTP against a fault-injecting loopback server: a 50-step plan on
// flaky targets, a dead target opening its breaker, recovery, cancellation of calls in flight.
#include "opex/engine.hpp"

#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <mutex>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// A catalogue of five webhook tools on five paths, and a config pointing them at `base`.
engine_options flaky_setup(const test::temp_dir& dir, const std::string& base, const std::string& extra = "") {
  std::ofstream(dir.file("tools.yml")) << R"(
- {id: FLAKY_A, category: productivity, target: {type: webhook, url: "http://x/flaky/a"}, auto_allowed_levels: [1, 2, 3]}
- {id: FLAKY_B, category: productivity, target: {type: webhook, url: "http://x/flaky/b"}, auto_allowed_levels: [1, 2, 3]}
- {id: FLAKY_C, category: documentation, target: {type: webhook, url: "http://x/flaky/c"}, auto_allowed_levels: [1, 2, 3]}
- {id: FLAKY_D, category: documentation, target: {type: webhook, url: "http://x/flaky/d"}, auto_allowed_levels: [1, 2, 3]}
- {id: FLAKY_E, category: reporting, target: {type: webhook, url: "http://x/flaky/e"}, auto_allowed_levels: [1, 2, 3]}
- {id: DEAD, category: monitoring, target: {type: webhook, url: "http://x/dead"}, auto_allowed_levels: [1, 2, 3]}
)";
  std::ofstream(dir.file("system.yml")) << "limits:\n  max_plan_steps: 100\n";
  std::ofstream(dir.file("autonomy.yml")) << "prolex_current_autonomy_level: 2\nautonomy_levels:\n"
                                              "  2: {name: open, allowed_actions: []}\n";
  std::ofstream(dir.file("opex.yml")) << "catalogue: tools.yml\nsystem: system.yml\nautonomy: autonomy.yml\n"
                                         "targets:\n  mode: webhook\n"
                                         "  webhook_base_url: "
                                      << base << "\n" << extra;
  engine_options o;
  o.config_path = dir.file("opex.yml");
  o.database = dir.file("opex.db");
  return o;
}

request_result wait(std::future<request_result> f) {
  REQUIRE(f.wait_for(60s) == std::future_status::ready);  // a bound, not a measurement
  return f.get();
}

std::string plan_of(const std::vector<std::string>& tools, const std::string& step_extra = "") {
  std::string plan = R"({"type":"multi_tool_plan","plan":[)";
  for (std::size_t i = 0; i < tools.size(); ++i)
    plan += std::string(i ? "," : "") + R"({"step":)" + std::to_string(i + 1) + R"(,"tool":")" + tools[i]
            + R"(","payload":{"i":)" + std::to_string(i) + "}" + step_extra + "}";
  return plan + "]}";
}

} // namespace

TEST_CASE("resilience: a 50-step plan on targets failing 30 percent of calls completes with the expected attempts") {
  // Failures are scripted per step and attempt (not per arrival order, which concurrency
  // shuffles). Each of the 5 targets gets 10 steps (j = i / 5): steps j in {1, 4, 7} fail their
  // first attempt and step j = 1 its second too: 4 failures in 14 calls per target, 20 in 70.
  std::mutex m;
  int calls = 0, failures = 0;
  test::loopback_server server([&](const test::recorded_request& req) {
    auto i = json::parse(req.body).at("i").as_int64();
    int attempt = 0;
    for (const auto& [k, v] : req.headers)
      if (k == "x-opex-attempt")
        attempt = std::stoi(v);
    auto j = i / 5;
    bool fail = (attempt == 1 && (j == 1 || j == 4 || j == 7)) || (attempt == 2 && j == 1);
    std::lock_guard lock(m);
    ++calls;
    failures += fail ? 1 : 0;
    return fail ? test::scripted_response{503, R"({"error":"flaky"})"} : test::scripted_response{200, R"({"ok":true})"};
  });
  test::temp_dir dir;
  engine eng(flaky_setup(dir, server.base_url(),
                         "execution:\n  retry: {initial_interval_ms: 1, maximum_attempts: 3}\n"));
  std::vector<std::string> tools;
  for (int i = 0; i < 50; ++i)
    tools.push_back(std::string("FLAKY_") + static_cast<char>('A' + i % 5));
  auto r = wait(eng.submit_output(json::parse(plan_of(tools))));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  std::size_t attempts = 0;
  for (const auto& s : r.steps)
    attempts += s.attempts.size();
  CHECK(attempts == 70);
  CHECK(r.steps[5].attempts.size() == 3);   // j = 1
  CHECK(r.steps[20].attempts.size() == 2);  // j = 4
  CHECK(r.steps[0].attempts.size() == 1);
  std::lock_guard lock(m);
  CHECK(calls == 70);
  CHECK(failures == 20);
  for (const auto& b : eng.breakers())
    CHECK(b.opened == 0);  // ~30 % stays under the 50 % threshold
}

TEST_CASE("resilience: a dead target opens its breaker, the rest fails fast, and it recovers") {
  std::atomic<bool> dead{true};
  test::loopback_server server([&](const test::recorded_request&) {
    test::scripted_response r{200, R"({"ok":true})"};
    if (dead)
      r.delay = 5000ms;  // hangs past every attempt timeout
    return r;
  });
  test::temp_dir dir;
  engine eng(flaky_setup(dir, server.base_url(),
                         "execution:\n  max_parallelism: 1\n  attempt_timeout_ms: 200\n"
                         "  retry: {maximum_attempts: 1}\n"
                         "circuit_breaker:\n  minimum_number_of_calls: 3\n  sliding_window_size: 3\n"
                         "  wait_duration_in_open_state_ms: 300\n  permitted_number_of_calls_in_half_open_state: 1\n"));
  auto r = wait(eng.submit_output(json::parse(plan_of(std::vector<std::string>(20, "DEAD")))));
  CHECK(r.status == request_status::failed);
  int timeouts = 0, fast = 0;
  for (const auto& s : r.steps) {
    timeouts += s.error.code == error_code::timeout ? 1 : 0;
    fast += s.error.code == error_code::circuit_open ? 1 : 0;
  }
  CHECK(timeouts == 3);  // three calls waited out their timeout and opened the breaker
  CHECK(fast == 17);     // the other seventeen never reached the target
  CHECK(server.requests().size() == 3);
  auto b = eng.breakers();
  REQUIRE(b.size() == 1);
  CHECK(b[0].state == "open");

  // The target comes back. The retry of a CIRCUIT_OPEN waits out the open time, then probes.
  dead = false;
  auto again = wait(eng.submit_output(json::parse(
    R"({"type":"tool_call","tool":"DEAD","payload":{}})")));
  auto probe = wait(eng.submit_output(json::parse(
    R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"DEAD","payload":{},"retry":{"maximum_attempts":5,"initial_interval_ms":50}}]})")));
  CHECK(probe.status == request_status::succeeded);
  b = eng.breakers();
  CHECK(b[0].state == "closed");
  CHECK(b[0].opened >= 1);
  CHECK(b[0].closed == 1);
  (void) again;
}

TEST_CASE("resilience: cancelling a request abandons its HTTP call in flight") {
  std::promise<void> arrived;
  std::atomic<bool> once{false};
  test::loopback_server server([&](const test::recorded_request&) {
    if (!once.exchange(true))
      arrived.set_value();
    test::scripted_response r{200, "{}"};
    r.delay = 30000ms;
    return r;
  });
  test::temp_dir dir;
  engine eng(flaky_setup(dir, server.base_url()));
  submit_options so;
  so.request_id = "5b7f2c1e-3d4a-4b5c-8d6e-7f8091a2b3c4";
  auto f = eng.submit_output(json::parse(plan_of({"FLAKY_A", "FLAKY_B"}, R"(,"depends_on":[])")), so);
  REQUIRE(arrived.get_future().wait_for(30s) == std::future_status::ready);
  CHECK(eng.cancel(so.request_id));
  auto r = wait(std::move(f));
  CHECK(r.status == request_status::cancelled);
  for (const auto& s : r.steps)
    CHECK(s.status == step_status::cancelled);
  CHECK_FALSE(eng.cancel(so.request_id));  // finished: nothing to cancel
  journal_query q;
  q.request_id = so.request_id;
  auto rows = eng.journal(q);
  REQUIRE(rows.ok());
  CHECK(json::serialize(*rows).find("CANCELLED") != std::string::npos);
}
