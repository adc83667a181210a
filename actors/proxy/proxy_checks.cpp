// Proxy Master checks.
#include "proxy_checks.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/autonomy_policy.hpp"
#include "opex/policies/constraint_policy.hpp"
#include "opex/policies/quota_policy.hpp"
#include "opex/policies/workflow_guard.hpp"
#include "opex/template_resolver.hpp"

#include <map>
#include <set>

namespace opex::actors {

namespace json = boost::json;

proxy_checker::proxy_checker(const opex_config& cfg, const schema_registry& schemas)
  : cfg_(cfg), schemas_(schemas), chain_(policies::step_policy_chain(cfg.guard.step_policies)) {}

std::string proxy_checker::payload_schema_id(const tool_definition& tool) const {
  if (tool.payload_schema.empty())
    return {};
  return schemas_.resolve(tool.payload_schema);
}

result<checked_output> proxy_checker::check_json(const json::value& output, const policies::guard_context& g) const {
  if (auto err = schemas_.check(schema_ids::prolex_output, output, "ProlexOutput")) {
    err.message = "Invalid ProlexOutput schema";
    return err;
  }
  return check(prolex_output_from_json(output.get_object()), g);
}

namespace {

/// Adds step and tool to an error's details.
error_info at_step(error_info err, const plan_step& step) {
  err.details["step"] = step.step;
  err.details["tool"] = step.tool;
  return err;
}

} // namespace

result<checked_output> proxy_checker::check(prolex_output output, const policies::guard_context& g) const {
  checked_output out;
  if (output.type == output_type::answer || output.type == output_type::clarification) {
    out.output = std::move(output);
    return out;
  }
  // Structure first: a cyclic or dangling plan is refused before any step is looked at.
  {
    auto structure = build_plan_dag(output.plan, 0);
    if (!structure)
      return structure.error();
  }
  const auto n = output.plan.size();
  out.tools.reserve(n);
  out.sensitive = g.sensitivity == "high";
  for (auto& step : output.plan) {
    const auto* tool = cfg_.catalogue.find(step.tool);
    if (tool == nullptr)
      return make_error(error_code::tool_not_found, "Tool " + step.tool + " not found",
                        json::object{{"rule", "tool_exists"}, {"step", step.step}, {"tool", step.tool}});
    if (auto err = policies::check_tenant_tool(*tool, g))
      return at_step(std::move(err), step);
    bool templated = !find_placeholders(json::value(step.payload)).empty();
    std::vector<std::string> reasons;
    bool requires_code = std::find(tool->constraints.requires_context.begin(), tool->constraints.requires_context.end(),
                                   "confirmation_code")
                         != tool->constraints.requires_context.end();
    auto schema = payload_schema_id(*tool);
    bool defer_schema = templated || (requires_code && !get_member(step.payload, "confirmation_code"));
    if (!schema.empty() && !defer_schema) {
      if (!schemas_.contains(schema))
        return at_step(make_error(error_code::internal_error, "payload schema " + schema + " is not loaded",
                                  json::object{{"schema", schema}}),
                       step);
      if (auto err = schemas_.check(schema, json::value(step.payload), "payload of " + step.tool)) {
        err.code = error_code::payload_invalid;
        err.details["rule"] = "payload_schema";
        return at_step(std::move(err), step);
      }
    }
    // The configured chain (guard.step_policies), in order; placeholder values are skipped by
    // the workflow checks here and checked again once resolved.
    std::optional<policies::review_request> review;
    std::vector<policies::fact_request> facts;
    for (const auto* policy : chain_) {
      auto verdict = policy->check(policies::step_view{*tool, step.payload, cfg_}, g);
      if (verdict.error)
        return at_step(std::move(verdict.error), step);
      if (!verdict.approval_reason.empty())
        reasons.push_back(std::move(verdict.approval_reason));
      if (verdict.rewritten)
        step.payload = std::move(*verdict.rewritten);
      if (verdict.review)
        review = std::move(verdict.review);
      facts.insert(facts.end(), verdict.facts.begin(), verdict.facts.end());
    }
    out.reviews.push_back(std::move(review));
    out.facts.push_back(std::move(facts));
    out.tools.push_back(tool);
    out.templated.push_back(templated);
    out.validate_at_dispatch.push_back(defer_schema && !schema.empty());
    out.needs_approval.push_back(!reasons.empty());
    std::string joined;
    for (const auto& r : reasons)
      joined += (joined.empty() ? "" : "; ") + r;
    out.approval_reasons.push_back(std::move(joined));
    out.requires_code.push_back(requires_code);
    out.estimated_cost_usd += policies::tool_cost(*tool, cfg_);
  }
  if (auto err = policies::check_plan_size(n, g))
    return err;
  auto dag = build_plan_dag(output.plan, 0);  // with the guardrails' payloads
  if (!dag)
    return dag.error();
  out.dag = std::move(dag).value();
  out.output = std::move(output);
  return out;
}

namespace {

policies::plan_view view_of(const checked_output& c) {
  return policies::plan_view{c.tools, c.dag->steps, c.estimated_cost_usd};
}

} // namespace

policies::usage_needs proxy_checker::usage_needs_of(const checked_output& c, const policies::guard_context& g) const {
  policies::usage_needs n;
  if (!c.dag)
    return n;
  const auto plan = view_of(c);
  for (const auto* policy : policies::usage_policies())
    policy->needs(plan, g, n);
  return n;
}

std::vector<std::string> proxy_checker::usage_tools(const checked_output& c) const {
  std::set<std::string> ids;
  for (const auto* t : c.tools)
    ids.insert(t->id);
  return {ids.begin(), ids.end()};
}

error_info proxy_checker::check_usage(const checked_output& c, const policies::guard_context& g) const {
  if (!c.dag)
    return {};
  const auto plan = view_of(c);
  for (const auto* policy : policies::usage_policies())
    if (auto err = policy->check(plan, g))
      return err;
  return {};
}

policies::guardrail_verdict proxy_checker::check_resolved(const tool_definition& tool, const json::object& payload,
                                                          const policies::guard_context& g) const {
  policies::guardrail_verdict v;
  if (auto err = policies::check_protected_workflow(tool, payload, cfg_.protected_workflows)) {
    v.error = std::move(err);
    return v;
  }
  if (tool.id != "N8N_WORKFLOW_PROMOTE")
    v = policies::check_n8n_guardrails(tool, payload, g);
  return v;
}

} // namespace opex::actors
