// The Proxy Master's checks (DESIGN.md §6, DIGEST.md §3) as plain logic: a ProlexOutput in,
// either a refusal (the standard error) or a plan ready for the supervisor.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/plan_dag.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <vector>

namespace opex::actors {

/// A ProlexOutput that passed every check. For tool_call and multi_tool_plan, `dag` holds the
/// validated plan and `tools[i]` the catalogue entry of dag->steps[i]; `validate_at_dispatch[i]`
/// says the step's payload holds placeholders, so its payload schema is checked after template
/// resolution instead of now.
struct checked_output {
  prolex_output output;
  std::shared_ptr<const plan_dag> dag;
  std::vector<const tool_definition*> tools;
  std::vector<bool> validate_at_dispatch;
  std::vector<bool> templated;  ///< the step's payload holds placeholders
  double estimated_cost_usd = 0.0;
};

/// Runs the checks. Holds references to the configuration and schemas (which outlive it);
/// const and thread-safe.
class proxy_checker {
public:
  proxy_checker(const opex_config& cfg, const schema_registry& schemas);

  /// Checks raw JSON: ProlexOutput schema first (VALIDATION_ERROR), then as below.
  result<checked_output> check_json(const boost::json::value& output) const;

  /// Checks, in order: plan structure (PLAN_INVALID, PLAN_CYCLE, TEMPLATE_INVALID); for each
  /// step, tool exists (TOOL_NOT_FOUND), payload matches the tool's payload schema
  /// (VALIDATION_ERROR; steps with placeholders are checked at dispatch), autonomy level
  /// (PERMISSION_DENIED), high-risk approval (APPROVAL_REQUIRED: approvals arrive with the
  /// guarded-execution work); then max_plan_steps (CONSTRAINT_VIOLATION). Every error's
  /// details name the step and tool.
  result<checked_output> check(prolex_output output) const;

  /// The schema id of a tool's payload schema ("" when the tool has none).
  std::string payload_schema_id(const tool_definition& tool) const;

private:
  const opex_config& cfg_;
  const schema_registry& schemas_;
};

} // namespace opex::actors
