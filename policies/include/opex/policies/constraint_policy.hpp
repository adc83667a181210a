// Constraint checks of the Proxy Master (docs/guarded-execution.md): cost against budgets, web access,
// required context, allowed environments, plan size, the tenant's allowed tools, and
// sensitivity. Each refusal has its own error code and details {tool, rule, required,
// current}.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/error.hpp"
#include "opex/policies/guard_context.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace opex::policies {

/// USD per call of a tool: opex.yml tool_costs, else the catalogue's cost_usd, else 0.
double tool_cost(const tool_definition& tool, const opex_config& cfg);

/// The plan's estimated cost against, in order: the request's max_cost_usd, the lowest of
/// system.yml max_cost_per_request_usd and the level's max_cost_per_request_usd, the day and
/// month limits (spent + estimate), the tenant's daily limit. Error: COST_LIMIT_EXCEEDED
/// {rule, required (limit, USD), current (USD), estimated_usd}.
error_info check_cost(double estimated_usd, const guard_context& g);

/// More steps than system.yml max_plan_steps or the level's max_tools_per_plan. Error:
/// PLAN_TOO_LARGE {rule, required, current}.
error_info check_plan_size(std::size_t steps, const guard_context& g);

/// The tenant's allowed_tools. Error: TOOL_NOT_ALLOWED {tool, rule: tenant_allowed_tools, tenant}.
error_info check_tenant_tool(const tool_definition& tool, const guard_context& g);

/// can_use_web false and a web tool (category search). Error: WEB_ACCESS_DENIED.
error_info check_web(const tool_definition& tool, const guard_context& g);

/// True when the payload holds the requires_context key `key` (non-null, non-empty); "a|b" is
/// either key (CLIENT_WORKFLOW_RUN's "workflow_id|workflow_name": the payload schema takes one
/// or the other).
bool has_context(const boost::json::object& payload, std::string_view key);

/// requires_context keys present (has_context) in the payload; `confirmation_code` is supplied
/// by the approval, not the plan. Error: CONTEXT_MISSING {tool, rule, required, missing}.
error_info check_context(const tool_definition& tool, const boost::json::object& payload);

/// Where the call lands (opex::call_environment, the rule the n8n guardrails and connector use):
/// a promotion's `to`, else payload `target`, else `environment`, else "sandbox" for n8n tools,
/// else the engine's environment ("development" counts as "dev", "production" as "prod").
std::string call_environment(const tool_definition& tool, const boost::json::object& payload, const guard_context& g);

/// Outcome of the environment check.
struct environment_verdict {
  error_info error;              ///< ENVIRONMENT_NOT_ALLOWED {tool, rule, required, current}
  bool needs_approval = false;   ///< a manual-only environment (production): a person decides
  std::string reason;
};

/// The tool's allowed_environments and autonomy.yml environment_restrictions for its kind
/// (n8n_workflows, git_operations) at the level; manual_only environments need an approval.
environment_verdict check_environment(const tool_definition& tool, const boost::json::object& payload,
                                      const guard_context& g);

} // namespace opex::policies
