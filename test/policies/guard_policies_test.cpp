// The Proxy Master's policies, one rule per test case, positive and negative, on the reference
// files loaded unchanged; and every reference tool at every autonomy level.
#include "opex/config.hpp"
#include "opex/policies/autonomy_policy.hpp"
#include "opex/policies/confirmation_code.hpp"
#include "opex/policies/constraint_policy.hpp"
#include "opex/policies/guard_policy.hpp"
#include "opex/policies/quota_policy.hpp"
#include "opex/policies/workflow_guard.hpp"
#include "opex/call_environment.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::policies;
namespace json = boost::json;

namespace {

const std::string ref = OPEX_REFERENCE_DIR;

/// opex.yml on the reference files, plus `extra` YAML.
opex_config reference_config(const std::string& extra = "") {
  // From text, not a shared temporary file: ctest runs these cases in parallel processes.
  auto yaml = "catalogue: " + ref + "/rag/tools/tools.yml\nsystem: " + ref + "/config/system.yml\nautonomy: " + ref +
              "/config/autonomy.yml\n" + extra;
  auto cfg = load_config_text(yaml, ref, "opex-guard-test.yml");
  REQUIRE(cfg.ok());
  return std::move(cfg).value();
}

guard_context guard(const opex_config& cfg, int level = 2, std::string tenant = "default") {
  guard_context g;
  g.cfg = &cfg;
  g.level = level;
  g.tenant = std::move(tenant);
  g.environment = cfg.environment;
  return g;
}

json::object obj(const char* text) {
  return json::parse(text).as_object();
}

} // namespace

TEST_CASE("guard: every reference tool at every autonomy level") {
  auto cfg = reference_config();
  // D: denied (above the level), A: allowed, P: approval required. Written from tools.yml
  // (auto_allowed_levels, requires_confirmation), autonomy.yml (levels, always_require_confirmation)
  // and system.yml (high_risk_tools): see docs/decisions.md "Autonomy and approval".
  const std::map<std::string, std::string> expected{
    {"TASK_CREATE", "DDAA"},          {"TASK_UPDATE", "DDAA"},          {"CAL_EVENT_CREATE", "DDAA"},
    {"DOC_CREATE_NOTE", "DAAA"},      {"DOC_UPDATE", "DDAA"},           {"LOG_APPEND", "DAAA"},
    {"WEB_SEARCH", "DAAA"},           {"GIT_CLONE", "DDDP"},            {"GIT_SYNC", "DDDA"},
    {"GITHUB_OPEN_PR", "DDDA"},       {"GITHUB_LIST_REPOS", "DDAA"},    {"CLIENT_WORKFLOW_RUN", "DDDP"},
    {"CLIENT_ONBOARDING", "DDDA"},    {"CLIENT_MONTHLY_REPORT", "DDAA"}, {"HEALTHCHECK_RUN", "DAAA"},
    {"GLOBAL_ERROR_ALERT", "DAAA"},   {"BACKUP_RUN", "DDDP"},           {"RESTORE_BACKUP", "PPPP"},
    {"COST_REPORT_RUN", "DDAA"},      {"WEEKLY_SUMMARY", "DDAA"},       {"N8N_WORKFLOW_DESIGN", "DDAA"},
    {"N8N_WORKFLOW_UPSERT", "DDDA"},  {"N8N_WORKFLOW_TEST", "DDDA"},    {"N8N_WORKFLOW_PROMOTE", "PPPP"},
    {"N8N_LIST_WORKFLOWS", "DDAA"},   {"PROXY_EXEC", "AAAA"},           {"TODO_CREATE", "DAAA"},
  };
  REQUIRE(cfg.catalogue.tools().size() == expected.size());
  for (const auto& tool : cfg.catalogue.tools()) {
    std::string got;
    for (int level = 0; level <= 3; ++level) {
      auto p = permission_for(tool, level, cfg.system, cfg.autonomy);
      got += p == tool_permission::allowed ? 'A' : p == tool_permission::approval_required ? 'P' : 'D';
    }
    INFO(tool.id);
    CHECK(got == expected.at(tool.id));
  }
}

TEST_CASE("guard: cost against max_cost_usd, per-request, level, day, month and tenant budgets") {
  auto cfg = reference_config("tenants:\n  - {slug: acme, quotas: {max_cost_per_day_usd: 1.0}}\n");
  auto g = guard(cfg, 2);
  CHECK_FALSE(check_cost(0.4, g));
  g.max_cost_usd = 0.02;
  auto kimmy = check_cost(0.05, g);
  REQUIRE(kimmy);
  CHECK(kimmy.code == error_code::cost_limit_exceeded);
  CHECK(kimmy.details.at("rule") == "max_cost_usd");
  CHECK(kimmy.details.at("required").as_double() == Approx(0.02));
  CHECK(kimmy.details.at("current").as_double() == Approx(0.05));
  g.max_cost_usd.reset();
  auto request = check_cost(0.6, g);  // system.yml and level 2 both say 0.50
  REQUIRE(request);
  CHECK(request.details.at("required").as_double() == Approx(0.5));
  CHECK(check_cost(1.9, guard(cfg, 3)).details.at("rule") == "max_cost_per_request_usd");  // 0.50 < 2.00
  g.usage.cost_today_usd = 19.9;
  auto day = check_cost(0.2, g);
  REQUIRE(day);
  CHECK(day.details.at("rule") == "max_cost_per_day_usd");
  CHECK(day.details.at("current").as_double() == Approx(20.1));
  g.usage.cost_today_usd = 0;
  g.usage.cost_month_usd = 499.9;
  CHECK(check_cost(0.2, g).details.at("rule") == "max_cost_per_month_usd");
  auto acme = guard(cfg, 2, "acme");
  acme.usage.tenant_cost_today_usd = 0.9;
  CHECK(check_cost(0.2, acme).details.at("rule") == "tenant.max_cost_per_day_usd");
  CHECK_FALSE(check_cost(0.05, acme));
}

TEST_CASE("guard: plan size against max_plan_steps and the level's max_tools_per_plan") {
  auto cfg = reference_config();
  CHECK_FALSE(check_plan_size(5, guard(cfg, 2)));
  auto level = check_plan_size(6, guard(cfg, 2));
  REQUIRE(level);
  CHECK(level.code == error_code::plan_too_large);
  CHECK(level.details.at("rule") == "level_2.max_tools_per_plan");
  CHECK_FALSE(check_plan_size(10, guard(cfg, 3)));
  CHECK(check_plan_size(11, guard(cfg, 3)).details.at("rule") == "max_plan_steps");
}

TEST_CASE("guard: a tenant uses only its allowed tools") {
  auto cfg = reference_config("tenants:\n  - {slug: acme, allowed_tools: [TASK_CREATE]}\n");
  const auto& task = *cfg.catalogue.find("TASK_CREATE");
  const auto& web = *cfg.catalogue.find("WEB_SEARCH");
  CHECK_FALSE(check_tenant_tool(task, guard(cfg, 2, "acme")));
  auto err = check_tenant_tool(web, guard(cfg, 2, "acme"));
  REQUIRE(err);
  CHECK(err.code == error_code::tool_not_allowed);
  CHECK_FALSE(check_tenant_tool(web, guard(cfg, 2)));  // the default tenant has no list
}

TEST_CASE("guard: web tools need can_use_web") {
  auto cfg = reference_config();
  const auto& web = *cfg.catalogue.find("WEB_SEARCH");
  auto g = guard(cfg);
  CHECK_FALSE(check_web(web, g));
  g.can_use_web = false;
  CHECK(check_web(web, g).code == error_code::web_access_denied);
  CHECK_FALSE(check_web(*cfg.catalogue.find("TASK_CREATE"), g));
}

TEST_CASE("guard: requires_context keys must be in the payload, the confirmation code comes later") {
  auto cfg = reference_config();
  const auto& clone = *cfg.catalogue.find("GIT_CLONE");
  CHECK_FALSE(check_context(clone, obj(R"({"repo_url":"https://github.com/a/b"})")));
  auto err = check_context(clone, obj(R"({"repo_url":null})"));
  REQUIRE(err);
  CHECK(err.code == error_code::context_missing);
  CHECK(err.details.at("missing").at(0) == "repo_url");
  const auto& promote = *cfg.catalogue.find("N8N_WORKFLOW_PROMOTE");
  CHECK_FALSE(check_context(promote, obj(R"({"workflow_name":"AUTO_PROLEX_X"})")));
}

TEST_CASE("guard: environments from the catalogue and autonomy.yml restrictions") {
  auto cfg = reference_config();
  const auto& clone = *cfg.catalogue.find("GIT_CLONE");
  CHECK_FALSE(check_environment(clone, obj("{}"), guard(cfg, 3)).error);  // development -> dev
  auto prod = check_environment(clone, obj(R"({"environment":"production"})"), guard(cfg, 3));
  CHECK_FALSE(prod.error);
  CHECK(prod.needs_approval);  // manual only
  auto qa = check_environment(clone, obj(R"({"environment":"qa"})"), guard(cfg, 3));
  REQUIRE(qa.error);
  CHECK(qa.error.code == error_code::environment_not_allowed);
  const auto& upsert = *cfg.catalogue.find("N8N_WORKFLOW_UPSERT");
  CHECK_FALSE(check_environment(upsert, obj(R"({"target":"sandbox"})"), guard(cfg, 3)).error);
  CHECK_FALSE(check_environment(upsert, obj(R"({"target":"staging"})"), guard(cfg, 3)).error);
  auto l2 = check_environment(upsert, obj(R"({"target":"staging"})"), guard(cfg, 2));
  REQUIRE(l2.error);
  CHECK(l2.error.details.at("rule") == "environment_restrictions");
}

TEST_CASE("guard: one rule says where a call lands, for the constraint check, the guardrails and the connector") {
  auto cfg = reference_config();
  const auto& upsert = *cfg.catalogue.find("N8N_WORKFLOW_UPSERT");
  const auto& promote = *cfg.catalogue.find("N8N_WORKFLOW_PROMOTE");
  // target wins over environment everywhere: the check and the connector agree on production.
  const auto both = obj(R"({"target":"production","environment":"sandbox"})");
  CHECK(call_environment(upsert, both, guard(cfg, 3)) == "production");
  CHECK(opex::call_environment(both, "sandbox") == "production");
  CHECK(call_environment(upsert, obj("{}"), guard(cfg, 3)) == "sandbox");
  // A promotion is judged where it lands: its `to`, production by default.
  CHECK(call_environment(promote, obj(R"({"from":"sandbox","to":"staging"})"), guard(cfg, 3)) == "staging");
  CHECK(call_environment(promote, obj(R"({"from":"sandbox"})"), guard(cfg, 3)) == "production");
  // The upsert guardrail asks for an approval off the sandbox, by the same rule.
  auto g = guard(cfg, 3);
  auto v = check_n8n_guardrails(upsert, obj(R"({"workflow_name":"AUTO_PROLEX_X","tags":["AUTO_PROLEX"],
    "target":"production","environment":"sandbox"})"), g);
  CHECK(v.needs_approval);
}

TEST_CASE("guard: daily quotas per tool and per tenant, counted from the journal") {
  auto cfg = reference_config(
    "tenants:\n  - {slug: acme, quotas: {max_requests_per_day: 2, tools: {TASK_CREATE: 1}}}\n");
  const auto& web = *cfg.catalogue.find("WEB_SEARCH");
  auto g = guard(cfg);
  g.usage.tool_executions_today["WEB_SEARCH"] = 99;
  CHECK_FALSE(check_tool_quota(web, 1, g));
  auto over = check_tool_quota(web, 2, g);
  REQUIRE(over);
  CHECK(over.code == error_code::quota_exceeded);
  CHECK(over.details.at("required") == 100);
  CHECK(over.details.at("current") == 101);
  CHECK(daily_limit(*cfg.catalogue.find("CLIENT_WORKFLOW_RUN"), g) == 50);  // autonomy.yml daily_limits
  auto acme = guard(cfg, 2, "acme");
  acme.usage.tenant_tool_executions_today["TASK_CREATE"] = 1;
  CHECK(check_tool_quota(*cfg.catalogue.find("TASK_CREATE"), 1, acme).details.at("scope") == "tenant");
  acme.usage.tenant_requests_today = 1;
  CHECK_FALSE(check_request_quota(acme));
  acme.usage.tenant_requests_today = 2;
  CHECK(check_request_quota(acme).details.at("rule") == "max_requests_per_day");
}

TEST_CASE("guard: protected workflows match exactly as configured") {
  auto def = reference_config();
  const auto& upsert = *def.catalogue.find("N8N_WORKFLOW_UPSERT");
  // opex's default blocks the named cash workflows, never the catalogue's own.
  CHECK_FALSE(check_protected_workflow(upsert, obj(R"({"workflow_name":"AUTO_PROLEX_LeadScoring"})"), def.protected_workflows));
  auto named = check_protected_workflow(upsert, obj(R"({"workflow_name":"invoice & stripe auto"})"), def.protected_workflows);
  REQUIRE(named);
  CHECK(named.code == error_code::workflow_protected);
  // With the reference file, its keywords and prefixes apply as written.
  auto strict = reference_config("protected_workflows:\n  file: " + ref + "/config/cash_workflows_forbidden.yml\n");
  auto kw = check_protected_workflow(upsert, obj(R"({"workflow_name":"AUTO_PROLEX_LeadScoring"})"), strict.protected_workflows);
  REQUIRE(kw);
  CHECK(kw.details.at("matched") == "keyword:lead");
  CHECK(check_protected_workflow(upsert, obj(R"({"spec":{"name":"250_proposal_auto"}})"), strict.protected_workflows));
  CHECK(check_protected_workflow(upsert, obj(R"({"workflow_name":"400_healthcheck"})"), strict.protected_workflows)
          .details.at("matched") == "prefix:400_");
  CHECK_FALSE(check_protected_workflow(*strict.catalogue.find("TASK_CREATE"), obj(R"({"title":"lead"})"), strict.protected_workflows));
}

TEST_CASE("guard: n8n guardrails on upsert, test and promote") {
  auto cfg = reference_config();
  const auto& upsert = *cfg.catalogue.find("N8N_WORKFLOW_UPSERT");
  auto g = guard(cfg, 3);
  auto prefix = check_n8n_guardrails(upsert, obj(R"({"workflow_name":"MyFlow","tags":["AUTO_PROLEX"]})"), g);
  CHECK(prefix.error.details.at("rule") == "name_prefix");
  auto tag = check_n8n_guardrails(upsert, obj(R"({"workflow_name":"AUTO_PROLEX_X","tags":["devops"]})"), g);
  CHECK(tag.error.details.at("rule") == "auto_tag");
  auto ok = check_n8n_guardrails(upsert, obj(R"({"workflow_name":"AUTO_PROLEX_X","tags":["AUTO_PROLEX"],"active":true})"), g);
  CHECK_FALSE(ok.error);
  CHECK_FALSE(ok.needs_approval);
  REQUIRE(ok.rewritten);  // review_required defaults to true: created inactive
  CHECK(ok.rewritten->at("active") == false);
  auto prod = check_n8n_guardrails(upsert, obj(R"({"workflow_name":"AUTO_PROLEX_X","tags":["AUTO_PROLEX"],"target":"production","review_required":false})"), g);
  CHECK(prod.needs_approval);
  CHECK_FALSE(prod.rewritten);
  auto templated = check_n8n_guardrails(upsert, obj(R"({"workflow_name":"{{ step_1.result.name }}"})"), g);
  CHECK_FALSE(templated.error);  // decided once resolved
  const auto& test = *cfg.catalogue.find("N8N_WORKFLOW_TEST");
  CHECK(check_n8n_guardrails(test, obj(R"({"workflow_name":"Prod flow"})"), g).error);
  CHECK_FALSE(check_n8n_guardrails(test, obj(R"({"workflow_id":"42"})"), g).error);
  const auto& promote = *cfg.catalogue.find("N8N_WORKFLOW_PROMOTE");
  auto payload = obj(R"({"workflow_name":"AUTO_PROLEX_X"})");
  CHECK(check_n8n_guardrails(promote, payload, g).error.details.at("rule") == "tested_before_promotion");
  g.usage.workflow_tested["AUTO_PROLEX_X"] = true;
  CHECK(check_n8n_guardrails(promote, payload, g).error.details.at("rule") == "reviewed_before_promotion");
  g.usage.workflow_reviewed["AUTO_PROLEX_X"] = true;
  CHECK_FALSE(check_n8n_guardrails(promote, payload, g).error);
}

TEST_CASE("guard: confirmation codes are bound to the approval and compared in constant time") {
  auto a = confirmation_code("secret", "ap1", "req", "N8N_WORKFLOW_PROMOTE", "digest", "2026-11-19T08:00:00.000Z");
  CHECK(a.starts_with("OPX-"));
  CHECK(a.size() == 16);
  CHECK(a == confirmation_code("secret", "ap1", "req", "N8N_WORKFLOW_PROMOTE", "digest", "2026-11-19T08:00:00.000Z"));
  CHECK(a != confirmation_code("secret", "ap2", "req", "N8N_WORKFLOW_PROMOTE", "digest", "2026-11-19T08:00:00.000Z"));
  CHECK(a != confirmation_code("other", "ap1", "req", "N8N_WORKFLOW_PROMOTE", "digest", "2026-11-19T08:00:00.000Z"));
  CHECK(a != confirmation_code("secret", "ap1", "req", "N8N_WORKFLOW_PROMOTE", "digest2", "2026-11-19T08:00:00.000Z"));
  CHECK(codes_equal(a, a));
  CHECK_FALSE(codes_equal(a, a.substr(0, 15)));
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("guard: the n8n guardrails ask for a review after an upsert succeeds, unless review_required is false") {
  auto cfg = reference_config();
  const auto& upsert = *cfg.catalogue.find("N8N_WORKFLOW_UPSERT");
  const auto* policy = find_step_policy("n8n_guardrails");
  REQUIRE(policy);
  auto g = guard(cfg, 3);
  auto reviewed = obj(R"({"workflow_name":"AUTO_PROLEX_X","tags":["AUTO_PROLEX"]})");
  auto v = policy->check(step_view{upsert, reviewed, cfg}, g);
  CHECK_FALSE(v.error);
  REQUIRE(v.review);
  CHECK(v.review->subject_field == "workflow_name");
  CHECK(v.review->reason == "review_required: review workflow {subject} before it is promoted");
  REQUIRE(v.rewritten);  // and the workflow is created inactive
  CHECK(v.rewritten->at("active") == false);
  auto unreviewed = obj(R"({"workflow_name":"AUTO_PROLEX_X","tags":["AUTO_PROLEX"],"review_required":false})");
  CHECK_FALSE(policy->check(step_view{upsert, unreviewed, cfg}, g).review);
  CHECK_FALSE(policy->check(step_view{*cfg.catalogue.find("TASK_CREATE"), obj("{}"), cfg}, g).review);
  // A name that comes from an earlier step still gets its review (opened with the name as sent).
  auto templated = obj(R"({"workflow_name":"{{ step_1.result.workflow_name }}","tags":["AUTO_PROLEX"]})");
  CHECK(policy->check(step_view{upsert, templated, cfg}, g).review);
  // A test's success is recorded as a fact the promotion looks for.
  auto tested = policy->check(step_view{*cfg.catalogue.find("N8N_WORKFLOW_TEST"), obj(R"({"workflow_name":"AUTO_PROLEX_X"})"), cfg}, g);
  REQUIRE(tested.facts.size() == 1);
  CHECK(tested.facts[0].kind == "workflow_tested");
  CHECK(tested.facts[0].subject_fields == std::vector<std::string>{"workflow_name", "workflow_id"});
}

TEST_CASE("guard: the usage policies say what to count, and judge in order: budget, requests, tools, promotion") {
  std::vector<std::string> names;
  for (const auto* p : usage_policies())
    names.emplace_back(p->name());
  CHECK(names == std::vector<std::string>{"budget", "request_quota", "tool_quota", "n8n_promotion"});

  auto cfg = reference_config("tenants:\n  - {slug: acme, quotas: {max_requests_per_day: 2}}\n");
  const tool_definition* web = cfg.catalogue.find("WEB_SEARCH");
  const tool_definition* promote = cfg.catalogue.find("N8N_WORKFLOW_PROMOTE");
  std::vector<plan_step> steps(2);
  steps[0].step = 1;
  steps[0].tool = "WEB_SEARCH";
  steps[1].step = 2;
  steps[1].tool = "N8N_WORKFLOW_PROMOTE";
  steps[1].payload = obj(R"({"workflow_name":"AUTO_PROLEX_X"})");
  std::vector<const tool_definition*> tools{web, promote};
  auto needs = [&](std::size_t n, const guard_context& g) {
    usage_needs out;
    plan_view plan{std::span(tools.data(), n), std::span(steps.data(), n), 0.0};
    for (const auto* p : usage_policies())
      p->needs(plan, g, out);
    return out;
  };
  auto g = guard(cfg, 3);
  auto one = needs(1, g);
  CHECK(one.any);  // WEB_SEARCH has a daily limit in the reference catalogue
  CHECK(one.workflows.empty());
  auto both = needs(2, g);
  CHECK(both.workflows == std::vector<std::string>{"AUTO_PROLEX_X"});

  // The promotion is refused until a test and a review are recorded, named at its step.
  plan_view plan{tools, steps, 0.0};
  auto refused = usage_policies().back()->check(plan, g);
  REQUIRE(refused);
  CHECK(refused.code == error_code::guardrail_violation);
  CHECK(refused.details.at("step") == 2);
  g.usage.workflow_tested["AUTO_PROLEX_X"] = true;
  g.usage.workflow_reviewed["AUTO_PROLEX_X"] = true;
  CHECK_FALSE(usage_policies().back()->check(plan, g));

  // The tenant's request quota, from the counted requests.
  auto acme = guard(cfg, 3, "acme");
  acme.usage.tenant_requests_today = 2;
  const auto* requests = usage_policies()[1];
  CHECK(requests->check(plan, acme).code == error_code::quota_exceeded);
}
