// Autonomy levels and the high-risk (approval) rule: may a tool run automatically at a level?
// Sources: reference tools.yml auto_allowed_levels, autonomy.yml, system.yml high_risk_tools;
// docs/decisions.md, decisions 3 and 4; docs/decisions.md "autonomy".
#pragma once

#include "opex/catalogue.hpp"
#include "opex/config.hpp"
#include "opex/error.hpp"

#include <string>
#include <vector>

namespace opex::policies {

/// What the guard concludes for one tool at one level.
enum class tool_permission {
  allowed,            ///< runs automatically
  approval_required,  ///< high-risk: runs only with an explicit approval
  denied,             ///< above the current autonomy level
};

/// The autonomy check. A tool runs automatically at `level` when `level` is in its
/// auto_allowed_levels and, when autonomy.yml names the tool at some level, the expanded
/// allowed list of `level` contains it (the stricter of the two sources wins). A tool with an
/// empty auto_allowed_levels is never denied here: decision 4 makes it an approval case.
/// Errors: PERMISSION_DENIED with details {tool, rule: "autonomy_level",
/// required_levels: [..], current_level, reason}.
error_info check_autonomy(const tool_definition& tool, int level, const autonomy_config& autonomy);

/// The one high-risk rule (docs/decisions.md, decision 4): the tool is in system.yml
/// high_risk_tools or autonomy.yml always_require_confirmation, has requires_confirmation:
/// true, or has no auto_allowed_levels.
bool is_high_risk(const tool_definition& tool, const system_config& system,
                  const autonomy_config& autonomy);

/// Why a tool is high-risk, for error details (e.g. "listed in high_risk_tools").
std::vector<std::string> high_risk_reasons(const tool_definition& tool, const system_config& system,
                                           const autonomy_config& autonomy);

/// Combines both checks: denied (PERMISSION_DENIED), then approval (APPROVAL_REQUIRED with
/// details {tool, rule: "high_risk", reasons}), else allowed.
tool_permission permission_for(const tool_definition& tool, int level, const system_config& system,
                               const autonomy_config& autonomy);

/// The approval refusal as an error (APPROVAL_REQUIRED) with its reasons.
error_info approval_required_error(const tool_definition& tool, const system_config& system,
                                   const autonomy_config& autonomy);

} // namespace opex::policies
