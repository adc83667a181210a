// The plan supervisor under the deterministic scheduler: parallel dispatch, template passing,
// dependents skipped, retries at the retry policy's exact delays, attempt timeouts.
#include "../actor_fixture.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::test;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("plan_supervisor: a diamond runs, passes results as typed values, and journals each step") {
  actor_fixture f([](const tool_definition&, const json::object& payload, int) {
    json::object data{{"echo", payload.contains("echo") ? payload.at("echo") : json::value(nullptr)}};
    return ok_outcome(std::move(data));
  });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"NOOP","payload":{"echo":{"spec":{"nodes":[1,2]}}}},
      {"step":2,"tool":"NOOP","payload":{"echo":"{{ step_1.result.echo.spec }}"},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{"echo":"count {{ step_1.result.echo.spec.nodes.1 }}"},"depends_on":[1]},
      {"step":4,"tool":"NOOP","payload":{"echo":["{{ step_2.result.echo }}","{{ step_3.result.echo }}"]},"depends_on":[2,3]}]})",
                  out);
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.status == request_status::succeeded);
  REQUIRE(r.steps.size() == 4);
  CHECK(r.steps[1].data.at("echo").is_object());
  CHECK(r.steps[1].data.at("echo").at("nodes").as_array().size() == 2);
  CHECK(r.steps[2].data.at("echo") == "count 2");
  CHECK(r.steps[3].data.at("echo").at(0).is_object());
  CHECK(f.connector->order.front() == 1);
  CHECK(f.connector->order.back() == 4);
  auto rows = f.journal(r.request_id);
  int step_entries = 0, start_entries = 0;
  for (const auto& row : rows)
    if (row.at("agent") == "opex" && row.at("tool_used").is_string()) {
      if (row.at("tags").at(0) == "step")
        ++step_entries;
      else if (row.at("tags").at(1) == "started" && row.at("result").at("status") == "pending")
        ++start_entries;
    }
  CHECK(step_entries == 4);
  CHECK(start_entries == 4);
}

TEST_CASE("plan_supervisor: a failing step skips its dependents with the reason") {
  actor_fixture f([](const tool_definition&, const json::object& payload, int) {
    if (payload.contains("fail"))
      return std::optional(failed_outcome(error_code::validation_error));
    return std::optional(ok_outcome());
  });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{"fail":true},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{},"depends_on":[2]},
      {"step":4,"tool":"NOOP","payload":{},"depends_on":[3]},
      {"step":5,"tool":"NOOP","payload":{},"depends_on":[1]}]})",
                  out);
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.status == request_status::partial);
  CHECK(r.steps[1].status == step_status::failed);
  CHECK(r.steps[1].attempts.size() == 1);  // validation errors never retry
  CHECK(r.steps[2].status == step_status::skipped);
  CHECK(r.steps[2].error.code == error_code::dependency_failed);
  CHECK(r.steps[2].error.message == "dependency step 2 failed");
  CHECK(r.steps[3].status == step_status::skipped);
  CHECK(r.steps[3].error.message == "dependency step 3 skipped");
  CHECK(r.steps[4].status == step_status::succeeded);
  CHECK(f.connector->calls["NOOP"] == 3);
}

TEST_CASE("plan_supervisor: transient failures retry after 1 s then 2 s, exactly") {
  actor_fixture f([](const tool_definition&, const json::object&, int attempt) {
    if (attempt < 3)
      return std::optional(failed_outcome(error_code::connection_failed));
    return std::optional(ok_outcome(json::object{{"attempt", attempt}}));
  });
  auto out = slot();
  f.submit_output(R"({"type":"tool_call","tool":"NOOP","payload":{}})", out);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 1);
  f.sched->advance_time(999ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 1);
  f.sched->advance_time(1ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);
  f.sched->advance_time(1999ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);
  CHECK_FALSE(out->has_value());
  f.sched->advance_time(1ms);
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& s = (*out)->steps.at(0);
  CHECK(s.status == step_status::succeeded);
  REQUIRE(s.attempts.size() == 3);
  CHECK(s.attempts[0].outcome == step_status::failed);
  CHECK(s.attempts[0].error_code == "CONNECTION_FAILED");
  CHECK(s.attempts[2].outcome == step_status::succeeded);
  CHECK(s.data.at("attempt") == 3);
}

TEST_CASE("plan_supervisor: a step's retry policy overrides the default, and retries stop at maximum_attempts") {
  actor_fixture f([](const tool_definition&, const json::object&, int) {
    return std::optional(failed_outcome(error_code::http_error, {{"status", 503}}));
  });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},
      "retry":{"initial_interval_ms":100,"backoff_coefficient":3,"maximum_attempts":3}}]})",
                  out);
  f.sched->run();
  f.sched->advance_time(100ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);
  f.sched->advance_time(299ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);
  f.sched->advance_time(1ms);
  f.sched->run();
  REQUIRE(out->has_value());
  CHECK(f.connector->calls["NOOP"] == 3);
  const auto& s = (*out)->steps.at(0);
  CHECK(s.status == step_status::failed);
  CHECK(s.error.code == error_code::http_error);
  CHECK(s.attempts.size() == 3);
}

TEST_CASE("plan_supervisor: an attempt that never answers times out, retries, then is timed_out") {
  actor_fixture f(
    [](const tool_definition&, const json::object&, int) { return std::optional<connectors::call_outcome>{}; },
    [](opex_config& cfg) {
      cfg.execution.attempt_timeout_ms = 5000;
      cfg.execution.retry.maximum_attempts = 2;
    });
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})",
                  out);
  f.sched->run();
  f.sched->advance_time(4999ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 1);
  f.sched->advance_time(1ms);  // attempt 1 times out -> retry in 1000 ms
  f.sched->run();
  f.sched->advance_time(1000ms);
  f.sched->run();
  CHECK(f.connector->calls["NOOP"] == 2);
  f.sched->advance_time(5000ms);
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.steps[0].status == step_status::timed_out);
  CHECK(r.steps[0].error.code == error_code::timeout);
  CHECK(r.steps[0].attempts.size() == 2);
  CHECK(r.steps[1].status == step_status::skipped);
  CHECK(r.status == request_status::failed);
}

TEST_CASE("plan_supervisor: the full chain from text, with every agent journaled") {
  actor_fixture f([](const tool_definition& tool, const json::object& payload, int) {
    return std::optional(ok_outcome(json::object{{"tool", tool.id}, {"title", payload.at("title")}}));
  });
  auto out = slot();
  actors::request_context ctx;
  ctx.request_id = make_uuid_v4();
  ctx.received = std::chrono::steady_clock::now();
  ctx.text = std::make_shared<const std::string>("Créer une tâche pour réviser l'architecture Prolex avant vendredi");
  auto kimmy = f.kimmy;
  f.sys->spawn([ctx, kimmy, out](caf::event_based_actor* self) {
    self->request(kimmy, std::chrono::minutes(1), actors::run_atom::value, ctx)
      .then([out](actors::request_outcome& o) { *out = std::move(*o.result); });
  });
  f.sched->run();
  REQUIRE(out->has_value());
  const auto& r = **out;
  CHECK(r.status == request_status::succeeded);
  CHECK(r.planned_by == "prolex");
  CHECK(f.connector->payloads["TASK_CREATE"].at("due_date") == "2026-11-20");
  std::set<std::string> agents;
  for (const auto& row : f.journal(r.request_id))
    agents.insert(std::string(row.at("agent").as_string()));
  CHECK(agents == std::set<std::string>{"kimmy", "prolex", "proxy", "opex"});
}
