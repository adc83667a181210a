// The Proxy Master's checks, in order, each with its error code.
#include "proxy/proxy_checks.hpp"

#include "opex/policies/guard_context.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

namespace {
struct fixture {
  opex_config cfg = load_config("").value();
  std::shared_ptr<schema_registry> schemas = schema_registry::with_embedded();
  proxy_checker checker{cfg, *schemas};
  policies::guard_context guard = [this] {
    policies::guard_context g;
    g.cfg = &cfg;
    g.level = cfg.autonomy_level;
    return g;
  }();

  error_code code_of(const std::string& text) {
    auto r = checker.check_json(json::parse(text), guard);
    return r.ok() ? error_code::none : r.error().code;
  }
};
} // namespace

TEST_CASE("proxy_checks: each refusal has its own code") {
  fixture f;
  CHECK(f.code_of(R"({"type":"tool_call","tool":"TASK_CREATE"})") == error_code::validation_error);
  CHECK(f.code_of(R"({"type":"tool_call","tool":"NOT_A_TOOL","payload":{}})") == error_code::tool_not_found);
  CHECK(f.code_of(R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"titre":"x"}})") == error_code::payload_invalid);
  CHECK(f.code_of(R"({"type":"tool_call","tool":"GIT_SYNC","payload":{"repo_path":"/x"}})") == error_code::permission_denied);
  CHECK(f.code_of(R"({"type":"tool_call","tool":"N8N_WORKFLOW_PROMOTE","payload":{"workflow_name":"A","confirmation_code":"PROMOTE_1"}})")
        == error_code::guardrail_violation);
  CHECK(f.code_of(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},"depends_on":[1]}]})")
        == error_code::plan_cycle);
  CHECK(f.code_of(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{"echo":"{{ step_1.result }}"}}]})") == error_code::template_invalid);
  std::string big = R"({"type":"multi_tool_plan","plan":[)";
  for (int i = 1; i <= 11; ++i)
    big += std::string(i > 1 ? "," : "") + R"({"step":)" + std::to_string(i) + R"(,"tool":"NOOP","payload":{}})";
  big += "]}";
  CHECK(f.code_of(big) == error_code::plan_too_large);
}

TEST_CASE("proxy_checks: a valid plan carries its DAG, tools and dispatch-time validation flags") {
  fixture f;
  auto r = f.checker.check_json(json::parse(R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"NOOP","payload":{"echo":{"title":"T"}}},
      {"step":2,"tool":"TASK_CREATE","payload":{"title":"{{ step_1.result.echo.title }}"},"depends_on":[1]}]})"), f.guard);
  REQUIRE(r.ok());
  CHECK(r->dag->steps.size() == 2);
  CHECK(r->tools[1]->id == "TASK_CREATE");
  CHECK_FALSE(r->validate_at_dispatch[0]);
  CHECK(r->validate_at_dispatch[1]);
  auto answer = f.checker.check_json(json::parse(R"({"type":"answer","content":"hi"})"), f.guard);
  REQUIRE(answer.ok());
  CHECK_FALSE(answer->dag);
}

TEST_CASE("proxy_checks: the per-step policies run as the chain guard.step_policies names, in its order") {
  auto only_web = load_config_text("guard:\n  step_policies: [web_access]\n", "/tmp", "test.yml");
  REQUIRE(only_web.ok());
  auto schemas = schema_registry::with_embedded();
  policies::guard_context g;
  g.cfg = &*only_web;
  g.level = only_web->autonomy_level;
  const auto git_sync = json::parse(R"({"type":"tool_call","tool":"GIT_SYNC","payload":{"repo_path":"/x"}})");
  proxy_checker without_autonomy(*only_web, *schemas);
  CHECK(without_autonomy.check_json(git_sync, g).ok());  // the default chain refuses it (above)

  std::vector<std::string> names;
  for (const auto* p : policies::step_policies())
    names.emplace_back(p->name());
  CHECK(names == std::vector<std::string>{"autonomy", "high_risk", "web_access", "required_context", "environment",
                                          "protected_workflows", "n8n_guardrails", "sensitivity"});
  auto bad = load_config_text("guard:\n  step_policies: [autonomy, nope]\n", "/tmp", "test.yml");
  REQUIRE(bad.ok());
  try {
    proxy_checker refused(*bad, *schemas);
    FAIL("an unknown policy was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("unknown policy 'nope'") != std::string::npos);
    CHECK(std::string(e.what()).find("known: autonomy, high_risk") != std::string::npos);
  }
}
