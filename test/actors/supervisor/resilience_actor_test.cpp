// Resilience under the deterministic scheduler: circuit breakers across plans, CIRCUIT_OPEN
// retried after the open wait, Retry-After, step and request timeouts, cancellation mid-plan,
// bulkheads with a bounded queue, continue_on_failure, one journal entry per attempt.
#include "../actor_fixture.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {


std::string parallel_noops(int n, const std::string& extra = "") {
  std::string plan = R"({"type":"multi_tool_plan","plan":[)";
  for (int i = 1; i <= n; ++i)
    plan += std::string(i > 1 ? "," : "") + R"({"step":)" + std::to_string(i) + R"(,"tool":"NOOP","payload":{})" + extra + "}";
  return plan + "]}";
}

void breakers_on(opex_config& cfg) {
  cfg.circuit_breaker.minimum_number_of_calls = 3;
  cfg.circuit_breaker.sliding_window_size = 3;
  cfg.circuit_breaker.failure_rate_threshold = 50;
  cfg.circuit_breaker.wait_duration_in_open_state_ms = 5000;
  cfg.circuit_breaker.permitted_number_of_calls_in_half_open_state = 1;
  cfg.system.max_plan_steps = 0;
}

int count_error(const request_result& r, error_code code) {
  int n = 0;
  for (const auto& s : r.steps)
    n += s.error.code == code ? 1 : 0;
  return n;
}

} // namespace

TEST_CASE("resilience: a dead target opens its breaker and the rest of the plan fails fast") {
  bool healthy = false;
  actor_fixture f(
    [&](const tool_definition&, const json::object&, int) {
      return std::optional(healthy ? ok_outcome() : failed_outcome(error_code::connection_failed));
    },
    [](opex_config& cfg) {
      breakers_on(cfg);
      cfg.execution.retry.maximum_attempts = 1;
      cfg.execution.max_parallelism = 1;  // one call at a time: the breaker sees them in order
    });
  f.connector->breakers = true;
  auto out = slot();
  f.submit_output(parallel_noops(10), out);
  f.sched->run();
  REQUIRE(out->has_value());
  CHECK(f.connector->calls["NOOP"] == 3);  // the 3 calls that opened it; 7 never left
  CHECK(count_error(**out, error_code::connection_failed) == 3);
  CHECK(count_error(**out, error_code::circuit_open) == 7);
  auto snap = f.rt->breakers->snapshot();
  REQUIRE(snap.size() == 1);
  CHECK(snap[0].state == policies::breaker_state::open);
  CHECK(snap[0].rejected == 7);
  bool alert = false;
  for (const auto& row : f.journal((*out)->request_id))
    alert |= row.at("action_type") == "alert" && row.at("result").at("data").at("to") == "open";
  CHECK(alert);

  // Shared by every plan: a new plan fails fast too, until the wait is over.
  auto second = slot();
  f.submit_output(parallel_noops(1), second);
  f.sched->run();
  REQUIRE(second->has_value());
  CHECK((*second)->steps[0].error.code == error_code::circuit_open);
  CHECK((*second)->steps[0].error.details.at("retry_after_ms") == 5000);

  // The target recovers; after the open wait, one probe closes the breaker.
  healthy = true;
  f.sched->advance_time(5000ms);
  auto third = slot();
  f.submit_output(parallel_noops(3), third);
  f.sched->run();
  REQUIRE(third->has_value());
  CHECK((*third)->status == request_status::succeeded);
  snap = f.rt->breakers->snapshot();
  CHECK(snap[0].state == policies::breaker_state::closed);
  CHECK(snap[0].half_opened == 1);
  CHECK(snap[0].closed == 1);
}

TEST_CASE("resilience: CIRCUIT_OPEN is retried after the open wait, not before") {
  int failures_left = 3;
  actor_fixture f(
    [&](const tool_definition&, const json::object&, int) {
      if (failures_left > 0) {
        --failures_left;
        return std::optional(failed_outcome(error_code::connection_failed));
      }
      return std::optional(ok_outcome());
    },
    [](opex_config& cfg) {
      breakers_on(cfg);
      cfg.execution.retry.maximum_attempts = 1;
      cfg.execution.max_parallelism = 1;
    });
  f.connector->breakers = true;
  auto opener = slot();
  f.submit_output(parallel_noops(3), opener);  // three failures open the breaker at t = 0
  f.sched->run();
  REQUIRE(opener->has_value());
  f.sched->advance_time(1000ms);
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},
      "retry":{"maximum_attempts":3,"initial_interval_ms":100}}]})",
                  out);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 3);  // attempt 1 refused by the breaker (4000 ms left)
  f.sched->advance_time(3999ms);
  f.sched->run();
  CHECK_FALSE(out->has_value());
  CHECK(f.connector->calls["NOOP"] == 3);
  f.sched->advance_time(1ms);  // the open wait is over: the retry is the half-open probe
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& s = (*out)->steps[0];
  CHECK(s.status == step_status::succeeded);
  REQUIRE(s.attempts.size() == 2);
  CHECK(s.attempts[0].error_code == "CIRCUIT_OPEN");
  CHECK(f.connector->calls["NOOP"] == 4);
}

TEST_CASE("resilience: Retry-After from a 429 sets the next delay") {
  actor_fixture f([](const tool_definition&, const json::object&, int attempt) {
    if (attempt == 1)
      return std::optional(failed_outcome(error_code::http_error, {{"status", 429}, {"retry_after", "7"}}));
    return std::optional(ok_outcome());
  });
  auto out = slot();
  f.submit_output(R"({"type":"tool_call","tool":"NOOP","payload":{}})", out);
  f.sched->run();
  f.sched->advance_time(6999ms);
  f.sched->run();
  CHECK_FALSE(out->has_value());
  f.sched->advance_time(1ms);
  f.sched->run();
  REQUIRE(out->has_value());
  CHECK((*out)->steps[0].attempts.size() == 2);
}

TEST_CASE("resilience: schedule_to_close bounds a step's attempts and skips its dependents") {
  actor_fixture f(
    [](const tool_definition&, const json::object&, int) { return std::optional<connectors::call_outcome>{}; },
    [](opex_config& cfg) {
      cfg.execution.attempt_timeout_ms = 1000;
      cfg.execution.retry.maximum_attempts = 0;  // unlimited: only the step deadline stops it
    });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},"schedule_to_close_ms":3500},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})",
                  out);
  f.sched->run();
  f.sched->advance_time(1000ms);  // attempt 1 times out, retry in 1000 ms
  f.sched->run();
  f.sched->advance_time(1000ms);  // attempt 2 starts at 2000 ms, limited to the 1500 ms left
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);
  CHECK_FALSE(out->has_value());
  f.sched->advance_time(1500ms);  // 3500 ms: the step deadline
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.steps[0].status == step_status::timed_out);
  CHECK(r.steps[0].error.code == error_code::timeout);
  CHECK(r.steps[0].error.details.at("scope") == "step");
  CHECK(r.steps[0].attempts.size() == 2);
  CHECK(r.steps[1].status == step_status::skipped);
  CHECK(f.connector->cancelled >= 1);  // the abandoned attempt's call was cancelled
}

TEST_CASE("resilience: max_execution_time_minutes times the request out") {
  actor_fixture f(
    [](const tool_definition&, const json::object&, int) { return std::optional<connectors::call_outcome>{}; },
    [](opex_config& cfg) {
      cfg.system.max_execution_time_minutes = 1;
      cfg.execution.attempt_timeout_ms = 10 * 60 * 1000;
    });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})",
                  out);
  f.sched->run();
  f.sched->advance_time(59s);
  f.sched->run();
  CHECK_FALSE(out->has_value());
  f.sched->advance_time(1s);
  f.sched->run();
  REQUIRE(out->has_value());
  CHECK((*out)->status == request_status::timed_out);
  CHECK((*out)->steps[0].status == step_status::timed_out);
  CHECK((*out)->steps[0].error.details.at("scope") == "request");
  CHECK((*out)->steps[1].status == step_status::cancelled);
}

TEST_CASE("resilience: cancelling mid-plan cancels pending steps and abandons calls in flight") {
  actor_fixture f([](const tool_definition&, const json::object& payload, int) {
    if (payload.contains("hang"))
      return std::optional<connectors::call_outcome>{};
    return std::optional(ok_outcome());
  });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{"hang":true},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{},"depends_on":[2]},
      {"step":4,"tool":"NOOP","payload":{"hang":true}}]})",
                  out);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 3);
  REQUIRE_FALSE(out->has_value());
  // The request id is only known to the caller; find the running plan through the registry.
  std::string id;
  for (const auto& row : f.journal(""))
    if (row.at("agent") == "proxy")
      id = std::string(row.at("request_id").as_string());
  auto sup = f.rt->requests.find(id);
  REQUIRE(sup);
  caf::anon_send(sup, actors::cancel_atom::value);
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.status == request_status::cancelled);
  CHECK(r.steps[0].status == step_status::succeeded);
  CHECK(r.steps[1].status == step_status::cancelled);
  CHECK(r.steps[2].status == step_status::cancelled);
  CHECK(r.steps[3].status == step_status::cancelled);
  CHECK(f.connector->cancelled == 2);
  CHECK_FALSE(f.rt->requests.find(id));
  int cancelled_entries = 0;
  for (const auto& row : f.journal(id))
    if (row.at("result").at("error_code") == "CANCELLED")
      ++cancelled_entries;
  CHECK(cancelled_entries == 3);
}

TEST_CASE("resilience: the executor's bulkhead queues, then refuses with QUEUE_FULL") {
  actor_fixture f(
    [](const tool_definition&, const json::object&, int) { return std::optional<connectors::call_outcome>{}; },
    [](opex_config& cfg) {
      cfg.execution.executor_max_concurrency = 2;
      cfg.execution.queue_capacity = 1;
      cfg.execution.retry.maximum_attempts = 1;
      cfg.execution.attempt_timeout_ms = 10000;
      cfg.system.max_plan_steps = 0;
    });
  auto out = slot();
  f.submit_output(parallel_noops(5), out);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);  // two running, one queued, two refused
  REQUIRE(out->has_value() == false);
  // The attempt timeout runs from dispatch, queue wait included: at 10 s all three time out;
  // the two running calls are cancelled, the queued one never starts.
  f.sched->advance_time(10000ms);
  f.sched->run();
  REQUIRE(out->has_value());
  CHECK(count_error(**out, error_code::queue_full) == 2);
  CHECK(count_error(**out, error_code::timeout) == 3);
  CHECK(f.connector->calls["NOOP"] == 2);
  CHECK(f.connector->cancelled == 2);
}

TEST_CASE("resilience: continue_on_failure lets dependents run and see the failure") {
  actor_fixture f([](const tool_definition&, const json::object& payload, int) {
    if (payload.contains("fail"))
      return std::optional(failed_outcome(error_code::validation_error));
    return std::optional(ok_outcome(json::object{{"got", payload.contains("echo") ? payload.at("echo") : nullptr}}));
  });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"NOOP","payload":{"fail":true},"continue_on_failure":true},
      {"step":2,"tool":"NOOP","payload":{"echo":{"status":"{{ step_1.status }}","code":"{{ step_1.error.error_code }}"}},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{"fail":true}},
      {"step":4,"tool":"NOOP","payload":{},"depends_on":[3]}]})",
                  out);
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.steps[0].status == step_status::failed);
  CHECK(r.steps[1].status == step_status::succeeded);
  CHECK(r.steps[1].data.at("got").at("status") == "failed");
  CHECK(r.steps[1].data.at("got").at("code") == "VALIDATION_ERROR");
  CHECK(r.steps[3].status == step_status::skipped);
}

TEST_CASE("resilience: the journal has one start and one outcome entry per attempt") {
  actor_fixture f([](const tool_definition&, const json::object&, int attempt) {
    if (attempt < 3)
      return std::optional(failed_outcome(error_code::http_error, {{"status", 503}}));
    return std::optional(ok_outcome());
  });
  auto out = slot();
  f.submit_output(R"({"type":"tool_call","tool":"NOOP","payload":{}})", out);
  f.sched->run();
  f.sched->advance_time(1000ms);
  f.sched->run();
  f.sched->advance_time(2000ms);
  f.sched->run();
  REQUIRE(out->has_value());
  std::vector<std::int64_t> attempts, started;
  for (const auto& row : f.journal((*out)->request_id))
    if (row.at("agent") == "opex" && row.at("tool_used") == "NOOP") {
      bool start = row.at("tags").as_array().size() == 2 && row.at("tags").at(1) == "started";
      (start ? started : attempts).push_back(row.at("metadata").at("attempt").as_int64());
    }
  CHECK(attempts == std::vector<std::int64_t>{1, 2, 3});
  CHECK(started == std::vector<std::int64_t>{1, 2, 3});
}
