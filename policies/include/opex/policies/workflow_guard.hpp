// Protected ("cash") workflows (docs/decisions.md, decision 8) and the n8n guardrails (docs/guarded-execution.md)
// for N8N_WORKFLOW_UPSERT / TEST / PROMOTE payloads, independent of the connector that will
// call n8n.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/error.hpp"
#include "opex/policies/guard_context.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace opex::policies {

/// The workflow names a payload mentions: workflow_name, name, workflow_id, spec.name,
/// workflow_json.name.
std::vector<std::string> workflow_names(const boost::json::object& payload);

/// A protected workflow named by the payload of an n8n or client-workflow tool: names match
/// exactly, prefixes at the start, keywords anywhere (all case-insensitive), as configured.
/// Error: WORKFLOW_PROTECTED {tool, rule: protected_workflow, workflow, matched}.
error_info check_protected_workflow(const tool_definition& tool, const boost::json::object& payload,
                                    const protected_workflow_settings& settings);

/// What the guardrails decide for one n8n step.
struct guardrail_verdict {
  error_info error;                              ///< GUARDRAIL_VIOLATION {tool, rule, ...}
  bool needs_approval = false;                   ///< e.g. a target other than sandbox
  std::string approval_reason;
  std::optional<boost::json::object> rewritten;  ///< payload as it must be sent (review -> inactive)
};

/// UPSERT: name starts with AUTO_PROLEX_, tags contain the auto-generated tag (system.yml
/// workflow_tags.auto_generated), target sandbox unless approved, review_required (default
/// true) -> sent with active: false. TEST: a named workflow starts with AUTO_PROLEX_. PROMOTE:
/// name prefix, a recorded successful test and an approved review of that workflow (the
/// confirmation code comes with the step's approval). Other tools: no verdict.
guardrail_verdict check_n8n_guardrails(const tool_definition& tool, const boost::json::object& payload,
                                       const guard_context& g);

} // namespace opex::policies
