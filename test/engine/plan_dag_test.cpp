// Plan validation: structure, cycles, template ancestry (docs/resilience.md).
#include "opex/plan_dag.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
namespace json = boost::json;

namespace {

plan_step step(int n, std::vector<int> deps = {}, std::string payload = "{}") {
  plan_step s;
  s.step = n;
  s.tool = "NOOP";
  s.depends_on = std::move(deps);
  s.payload = json::parse(payload).as_object();
  return s;
}

} // namespace

TEST_CASE("plan_dag: a diamond validates with its topological order") {
  auto dag = build_plan_dag({step(1), step(2, {1}), step(3, {1}), step(4, {2, 3})});
  REQUIRE(dag.ok());
  const auto& d = **dag;
  CHECK(d.roots == std::vector<std::size_t>{0});
  REQUIRE(d.topological_order.size() == 4);
  CHECK(d.topological_order.front() == 0);
  CHECK(d.topological_order.back() == 3);
  CHECK(d.is_ancestor(0, 3));
  CHECK_FALSE(d.is_ancestor(1, 2));
}

TEST_CASE("plan_dag: duplicate steps and unknown dependencies are refused") {
  auto dup = build_plan_dag({step(1), step(1)});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == error_code::plan_invalid);
  CHECK(dup.error().details.at("reason") == "duplicate_step");
  auto unknown = build_plan_dag({step(1, {7})});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == error_code::plan_invalid);
  CHECK(unknown.error().details.at("depends_on") == 7);
}

TEST_CASE("plan_dag: cycles and self-dependencies are refused with the cycle") {
  auto self = build_plan_dag({step(1, {1})});
  REQUIRE_FALSE(self.ok());
  CHECK(self.error().code == error_code::plan_cycle);
  auto cycle = build_plan_dag({step(1), step(2, {1, 4}), step(3, {2}), step(4, {3})});
  REQUIRE_FALSE(cycle.ok());
  CHECK(cycle.error().code == error_code::plan_cycle);
  const auto& c = cycle.error().details.at("cycle").as_array();
  CHECK(c.size() == 4);  // 2 -> 3 -> 4 -> 2 in some rotation, closed
  CHECK(c.front() == c.back());
}

TEST_CASE("plan_dag: templates may only name ancestors") {
  auto ok = build_plan_dag({step(1), step(2, {1}), step(3, {2}, R"({"x":"{{ step_1.result.spec }}"})")});
  CHECK(ok.ok());  // 1 is a transitive ancestor of 3
  auto sibling = build_plan_dag({step(1), step(2), step(3, {1}, R"({"x":"{{ step_2.result }}"})")});
  REQUIRE_FALSE(sibling.ok());
  CHECK(sibling.error().code == error_code::template_invalid);
  CHECK(sibling.error().details.at("referenced_step") == 2);
  auto missing = build_plan_dag({step(1), step(2, {1}, R"({"x":"{{ step_9.result }}"})")});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == error_code::template_invalid);
  auto other_root = build_plan_dag({step(1, {}, R"({"x":"{{ parameters.title }}"})")});
  REQUIRE_FALSE(other_root.ok());
  CHECK(other_root.error().code == error_code::template_invalid);
}

TEST_CASE("plan_dag: max_plan_steps is a constraint") {
  auto big = build_plan_dag({step(1), step(2), step(3)}, 2);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == error_code::constraint_violation);
  CHECK(big.error().details.at("current") == 3);
}
