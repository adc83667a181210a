// The Proxy Master's checks (docs/guarded-execution.md, "Order of the checks") as plain
// logic: a ProlexOutput in, either a refusal (the standard error, one distinct code per rule)
// or a plan ready for the supervisor, with the steps that need a person's approval marked.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/plan_dag.hpp"
#include "opex/policies/guard_context.hpp"
#include "opex/policies/guard_policy.hpp"
#include "opex/policies/workflow_guard.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <vector>

namespace opex::actors {

/// A ProlexOutput that passed every check. For tool_call and multi_tool_plan, `dag` holds the
/// validated plan (payloads as the guardrails rewrote them) and `tools[i]` the catalogue entry
/// of dag->steps[i]. Per step: `templated` (placeholders to resolve at dispatch),
/// `validate_at_dispatch` (payload schema checked after resolution or after the approval
/// supplied a confirmation code), `needs_approval` with its reasons, `requires_code`.
struct checked_output {
  prolex_output output;
  std::shared_ptr<const plan_dag> dag;
  std::vector<const tool_definition*> tools;
  std::vector<bool> validate_at_dispatch;
  std::vector<bool> templated;
  std::vector<bool> needs_approval;
  std::vector<std::string> approval_reasons;
  std::vector<bool> requires_code;
  std::vector<std::optional<policies::review_request>> reviews;  ///< opened once the step succeeds
  std::vector<std::vector<policies::fact_request>> facts;         ///< recorded once the step succeeds
  double estimated_cost_usd = 0.0;
  bool sensitive = false;  ///< sensitivity high: payloads are journaled as digests
};

/// Runs the checks. Holds references to the configuration and schemas (which outlive it);
/// const and thread-safe.
class proxy_checker {
public:
  /// Resolves `cfg.guard.step_policies`. Throws std::invalid_argument naming an unknown policy.
  proxy_checker(const opex_config& cfg, const schema_registry& schemas);

  /// Checks raw JSON: ProlexOutput schema first (VALIDATION_ERROR), then as check().
  result<checked_output> check_json(const boost::json::value& output, const policies::guard_context& g) const;

  /// The checks that need nothing counted, in order: plan structure (PLAN_INVALID,
  /// PLAN_CYCLE, TEMPLATE_INVALID); per step: tool exists (TOOL_NOT_FOUND), tenant's tools
  /// (TOOL_NOT_ALLOWED), payload schema (PAYLOAD_INVALID; later for templated steps and for
  /// steps whose approval supplies a confirmation code), autonomy level (PERMISSION_DENIED),
  /// high-risk rule (-> needs approval), web access (WEB_ACCESS_DENIED), requires_context
  /// (CONTEXT_MISSING), environments (ENVIRONMENT_NOT_ALLOWED, or approval for manual-only
  /// ones), protected workflows (WORKFLOW_PROTECTED), n8n guardrails (GUARDRAIL_VIOLATION, or
  /// approval, or a rewritten payload); sensitivity high (-> approval); then plan size
  /// (PLAN_TOO_LARGE). Every error's details name the step and tool.
  result<checked_output> check(prolex_output output, const policies::guard_context& g) const;

  /// What the usage policies need counted for `c` (`any` false: check_usage needs no facts
  /// from the journal; `workflows`: whose tests and reviews to look up).
  policies::usage_needs usage_needs_of(const checked_output& c, const policies::guard_context& g) const;

  /// The plan's tool ids, once each: the tools whose executions are counted for check_usage.
  std::vector<std::string> usage_tools(const checked_output& c) const;

  /// The checks over counted usage, in order: budgets (COST_LIMIT_EXCEEDED), quotas per tool
  /// and per tenant (QUOTA_EXCEEDED), promotions' recorded test and review
  /// (GUARDRAIL_VIOLATION).
  error_info check_usage(const checked_output& c, const policies::guard_context& g) const;

  /// The checks repeated on a step's payload once its templates are resolved: protected
  /// workflows and n8n guardrails (names may only be known then), with the guardrails' rewrite.
  policies::guardrail_verdict check_resolved(const tool_definition& tool, const boost::json::object& payload,
                                             const policies::guard_context& g) const;

  /// The schema id of a tool's payload schema ("" when the tool has none).
  std::string payload_schema_id(const tool_definition& tool) const;

private:
  const opex_config& cfg_;
  const schema_registry& schemas_;
  std::vector<const policies::guard_policy*> chain_;  ///< guard.step_policies, resolved
};

} // namespace opex::actors
