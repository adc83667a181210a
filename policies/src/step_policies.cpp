// The per-step guard policies, each a thin class over its plain check, and their registry in the
// default order of the checks (docs/guarded-execution.md).
#include "opex/policies/guard_policy.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/autonomy_policy.hpp"
#include "opex/policies/constraint_policy.hpp"
#include "opex/policies/workflow_guard.hpp"

#include <array>
#include <stdexcept>

namespace opex::policies {

namespace {

/// The autonomy level's allowed tools (PERMISSION_DENIED).
class autonomy_level_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "autonomy"; }
  guard_verdict check(const step_view& s, const guard_context& g) const override {
    return guard_verdict::refuse(check_autonomy(s.tool, g.level, s.config.autonomy));
  }
};

/// The one high-risk rule (docs/decisions.md, decision 4): an approval with its reasons.
class high_risk_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "high_risk"; }
  guard_verdict check(const step_view& s, const guard_context&) const override {
    if (!is_high_risk(s.tool, s.config.system, s.config.autonomy))
      return {};
    std::string reasons;
    for (auto& r : high_risk_reasons(s.tool, s.config.system, s.config.autonomy))
      reasons += (reasons.empty() ? "high-risk: " : "; high-risk: ") + r;
    return guard_verdict::approval(std::move(reasons));
  }
};

/// can_use_web (WEB_ACCESS_DENIED).
class web_access_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "web_access"; }
  guard_verdict check(const step_view& s, const guard_context& g) const override {
    return guard_verdict::refuse(check_web(s.tool, g));
  }
};

/// requires_context keys in the payload (CONTEXT_MISSING).
class required_context_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "required_context"; }
  guard_verdict check(const step_view& s, const guard_context&) const override {
    return guard_verdict::refuse(check_context(s.tool, s.payload));
  }
};

/// allowed_environments and autonomy.yml's restrictions (ENVIRONMENT_NOT_ALLOWED, or an
/// approval for manual-only environments).
class environment_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "environment"; }
  guard_verdict check(const step_view& s, const guard_context& g) const override {
    auto env = check_environment(s.tool, s.payload, g);
    if (env.error)
      return guard_verdict::refuse(std::move(env.error));
    return env.needs_approval ? guard_verdict::approval(env.reason) : guard_verdict{};
  }
};

/// Protected ("cash") workflows (WORKFLOW_PROTECTED); placeholder values are checked again once
/// resolved.
class protected_workflows_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "protected_workflows"; }
  guard_verdict check(const step_view& s, const guard_context&) const override {
    return guard_verdict::refuse(check_protected_workflow(s.tool, s.payload, s.config.protected_workflows));
  }
};

/// The n8n guardrails (GUARDRAIL_VIOLATION, an approval, or a rewritten payload). A promotion's
/// recorded test and review are counted later (with the usage); here only its name prefix.
class n8n_guardrails_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "n8n_guardrails"; }
  guard_verdict check(const step_view& s, const guard_context& g) const override {
    if (s.tool.id == "N8N_WORKFLOW_PROMOTE") {
      auto name = get_string(s.payload, "workflow_name");
      if (!name || (!name->starts_with("AUTO_PROLEX_") && name->find("{{") == std::string_view::npos))
        return guard_verdict::refuse(make_error(error_code::guardrail_violation,
                                                "N8N_WORKFLOW_PROMOTE: workflow names must start with AUTO_PROLEX_",
                                                boost::json::object{{"rule", "name_prefix"}}));
      return {};
    }
    auto v = check_n8n_guardrails(s.tool, s.payload, g);
    guard_verdict out{std::move(v.error), v.needs_approval ? v.approval_reason : std::string(), std::move(v.rewritten),
                      std::nullopt, {}};
    if (s.tool.id == "N8N_WORKFLOW_UPSERT") {
      // review_required (the default): a person reviews the new workflow before any promotion,
      // which n8n_promotion then requires. The name may be a template: the review is opened with
      // the name as sent.
      const auto* review = get_member(s.payload, "review_required");
      if (!(review && review->is_bool() && !review->get_bool()))
        out.review = review_request{"workflow_name", "review_required: review workflow {subject} before it is promoted"};
    }
    if (s.tool.id == "N8N_WORKFLOW_TEST")  // a success is what a promotion looks for
      out.facts.push_back(fact_request{"workflow_tested", {"workflow_name", "workflow_id"}});
    return out;
  }
};

/// Kimmy's sensitivity high: every step waits for a person.
class sensitivity_policy final : public guard_policy {
public:
  std::string_view name() const noexcept override { return "sensitivity"; }
  guard_verdict check(const step_view&, const guard_context& g) const override {
    return g.sensitivity == "high" ? guard_verdict::approval("sensitivity high") : guard_verdict{};
  }
};

const autonomy_level_policy autonomy_level;
const high_risk_policy high_risk;
const web_access_policy web_access;
const required_context_policy required_context;
const environment_policy environment;
const protected_workflows_policy protected_workflows;
const n8n_guardrails_policy n8n_guardrails;
const sensitivity_policy sensitivity;

constexpr std::array<const guard_policy*, 8> all{
  &autonomy_level, &high_risk, &web_access, &required_context,
  &environment, &protected_workflows, &n8n_guardrails, &sensitivity};

} // namespace

std::span<const guard_policy* const> step_policies() noexcept {
  return all;
}

const guard_policy* find_step_policy(std::string_view name) noexcept {
  for (const auto* p : all)
    if (p->name() == name)
      return p;
  return nullptr;
}

std::vector<const guard_policy*> step_policy_chain(const std::vector<std::string>& names) {
  if (names.empty())
    return {all.begin(), all.end()};
  std::vector<const guard_policy*> chain;
  for (const auto& n : names) {
    const auto* p = find_step_policy(n);
    if (!p) {
      std::string known;
      for (const auto* k : all)
        known += (known.empty() ? "" : ", ") + std::string(k->name());
      throw std::invalid_argument("guard.step_policies: unknown policy '" + n + "' (known: " + known + ")");
    }
    chain.push_back(p);
  }
  return chain;
}

} // namespace opex::policies
