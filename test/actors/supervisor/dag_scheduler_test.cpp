// Scheduling state: ready sets, parallelism bound, skips with reasons, continue_on_failure.
#include "supervisor/dag_scheduler.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;

namespace {
std::shared_ptr<const plan_dag> dag(std::vector<std::pair<int, std::vector<int>>> spec, std::vector<int> continue_steps = {}) {
  std::vector<plan_step> steps;
  for (auto& [n, deps] : spec) {
    plan_step s;
    s.step = n;
    s.tool = "NOOP";
    s.depends_on = deps;
    s.continue_on_failure = std::find(continue_steps.begin(), continue_steps.end(), n) != continue_steps.end();
    steps.push_back(s);
  }
  return build_plan_dag(std::move(steps)).value();
}
} // namespace

TEST_CASE("dag_scheduler: independent steps are ready together, within the bound") {
  dag_scheduler s(dag({{1, {}}, {2, {}}, {3, {}}, {4, {1, 2, 3}}}));
  auto first = s.take_ready(2);
  CHECK(first.size() == 2);
  CHECK(s.running() == 2);
  auto second = s.take_ready(10);
  CHECK(second.size() == 1);
  s.complete(0, step_status::succeeded);
  s.complete(1, step_status::succeeded);
  CHECK(s.take_ready(10).empty());
  s.complete(2, step_status::succeeded);
  auto last = s.take_ready(10);
  REQUIRE(last.size() == 1);
  CHECK(last[0] == 3);
  s.complete(3, step_status::succeeded);
  CHECK(s.finished());
}

TEST_CASE("dag_scheduler: a failed step skips its dependents transitively, with reasons") {
  // 1 -> 2 -> 3 -> 4, and 5 independent
  dag_scheduler s(dag({{1, {}}, {2, {1}}, {3, {2}}, {4, {3}}, {5, {}}}));
  s.take_ready(10);
  s.complete(0, step_status::succeeded);
  auto ready = s.take_ready(10);
  REQUIRE(ready == std::vector<std::size_t>{1});
  auto skipped = s.complete(1, step_status::failed);
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0].index == 2);
  CHECK(skipped[0].reason == "dependency step 2 failed");
  CHECK(skipped[1].index == 3);
  CHECK(skipped[1].reason == "dependency step 3 skipped");
  CHECK(s.status(3) == step_status::skipped);
  CHECK_FALSE(s.finished());  // step 5 still running
  s.complete(4, step_status::succeeded);
  CHECK(s.finished());
}

TEST_CASE("dag_scheduler: continue_on_failure lets dependents run and cancel marks the rest") {
  dag_scheduler s(dag({{1, {}}, {2, {1}}, {3, {2}}}, {1}));
  s.take_ready(10);
  CHECK(s.complete(0, step_status::failed).empty());
  CHECK(s.take_ready(10) == std::vector<std::size_t>{1});
  auto cancelled = s.cancel_pending();
  CHECK(cancelled == std::vector<std::size_t>{2});
  s.complete(1, step_status::cancelled);
  CHECK(s.finished());
}
