// The usage policies (guard_policy.hpp): what a plan would spend or run, judged against what the
// journal has counted: the budget, the tenant's daily requests, each tool's daily quota, and an
// n8n promotion's recorded test and review (docs/guarded-execution.md, "Quotas and budgets").
#include "opex/policies/guard_policy.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/constraint_policy.hpp"
#include "opex/policies/quota_policy.hpp"
#include "opex/policies/workflow_guard.hpp"

#include <array>
#include <map>

namespace opex::policies {

namespace {

const tenant_settings* tenant_of(const guard_context& g) {
  return g.cfg ? g.cfg->find_tenant(g.tenant) : nullptr;
}

/// The request's estimated cost against the level's and the tenant's budgets.
class budget_policy final : public usage_policy {
public:
  std::string_view name() const noexcept override { return "budget"; }
  void needs(const plan_view& plan, const guard_context& g, usage_needs& n) const override {
    const auto* t = tenant_of(g);
    n.any |= plan.estimated_cost_usd > 0 || (t && t->max_cost_per_day_usd);
  }
  error_info check(const plan_view& plan, const guard_context& g) const override {
    return check_cost(plan.estimated_cost_usd, g);
  }
};

/// The tenant's requests per day.
class request_quota_policy final : public usage_policy {
public:
  std::string_view name() const noexcept override { return "request_quota"; }
  void needs(const plan_view&, const guard_context& g, usage_needs& n) const override {
    const auto* t = tenant_of(g);
    n.any |= t && t->max_requests_per_day;
  }
  error_info check(const plan_view&, const guard_context& g) const override { return check_request_quota(g); }
};

/// Each tool's executions per day, with the plan's own steps of that tool counted in.
class tool_quota_policy final : public usage_policy {
public:
  std::string_view name() const noexcept override { return "tool_quota"; }
  void needs(const plan_view& plan, const guard_context& g, usage_needs& n) const override {
    const auto* t = tenant_of(g);
    n.any |= t && !t->max_executions_per_day.empty();
    for (const auto* tool : plan.tools)
      n.any |= daily_limit(*tool, g) >= 0;
  }
  error_info check(const plan_view& plan, const guard_context& g) const override {
    std::map<std::string, int> planned;
    for (const auto* t : plan.tools)
      ++planned[t->id];
    for (const auto* t : plan.tools)
      if (auto err = check_tool_quota(*t, planned[t->id], g))
        return err;
    return {};
  }
};

/// N8N_WORKFLOW_PROMOTE: a successful test and an approved review of that workflow are recorded.
class n8n_promotion_policy final : public usage_policy {
public:
  std::string_view name() const noexcept override { return "n8n_promotion"; }
  void needs(const plan_view& plan, const guard_context&, usage_needs& n) const override {
    for (std::size_t i = 0; i < plan.tools.size(); ++i)
      if (plan.tools[i]->id == "N8N_WORKFLOW_PROMOTE") {
        n.any = true;
        if (auto name = get_string(plan.steps[i].payload, "workflow_name"))
          n.workflows.emplace_back(*name);
      }
  }
  error_info check(const plan_view& plan, const guard_context& g) const override {
    for (std::size_t i = 0; i < plan.tools.size(); ++i)
      if (plan.tools[i]->id == "N8N_WORKFLOW_PROMOTE") {
        auto verdict = check_n8n_guardrails(*plan.tools[i], plan.steps[i].payload, g);
        if (verdict.error) {
          verdict.error.details["step"] = plan.steps[i].step;
          verdict.error.details["tool"] = plan.steps[i].tool;
          return std::move(verdict.error);
        }
      }
    return {};
  }
};

const budget_policy budget;
const request_quota_policy request_quota;
const tool_quota_policy tool_quota;
const n8n_promotion_policy n8n_promotion;

constexpr std::array<const usage_policy*, 4> all{&budget, &request_quota, &tool_quota, &n8n_promotion};

} // namespace

std::span<const usage_policy* const> usage_policies() noexcept {
  return all;
}

} // namespace opex::policies
