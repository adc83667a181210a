// Autonomy and high-risk checks.
#include "opex/policies/autonomy_policy.hpp"

#include <algorithm>

namespace opex::policies {

namespace json = boost::json;

namespace {

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool named_by_autonomy(const autonomy_config& autonomy, std::string_view tool) {
  for (const auto& [level, def] : autonomy.levels)
    if (contains(def.allowed_tools, tool))
      return true;
  return false;
}

} // namespace

error_info check_autonomy(const tool_definition& tool, int level, const autonomy_config& autonomy) {
  if (tool.auto_allowed_levels.empty())
    return {};
  std::string reason;
  if (!tool.allowed_at(level)) {
    reason = "level " + std::to_string(level) + " is not in the tool's auto_allowed_levels";
  } else if (named_by_autonomy(autonomy, tool.id)) {
    const auto* def = autonomy.find(level);
    if (def == nullptr || !contains(def->allowed_tools, tool.id))
      reason = "autonomy.yml does not allow " + tool.id + " at level " + std::to_string(level);
  }
  if (reason.empty())
    return {};
  json::array required;
  for (int l : tool.auto_allowed_levels)
    if (!named_by_autonomy(autonomy, tool.id)
        || (autonomy.find(l) && contains(autonomy.find(l)->allowed_tools, tool.id)))
      required.emplace_back(l);
  return make_error(error_code::permission_denied,
                    "Permission denied: " + tool.id + " is not allowed at autonomy level "
                      + std::to_string(level),
                    json::object{{"tool", tool.id},
                                 {"rule", "autonomy_level"},
                                 {"required_levels", std::move(required)},
                                 {"current_level", level},
                                 {"reason", reason}});
}

std::vector<std::string> high_risk_reasons(const tool_definition& tool, const system_config& system,
                                           const autonomy_config& autonomy) {
  std::vector<std::string> out;
  if (contains(system.high_risk_tools, tool.id))
    out.emplace_back("listed in system.yml high_risk_tools");
  if (contains(autonomy.always_require_confirmation, tool.id))
    out.emplace_back("listed in autonomy.yml always_require_confirmation");
  if (tool.constraints.requires_confirmation)
    out.emplace_back("requires_confirmation: true in the catalogue");
  if (tool.auto_allowed_levels.empty())
    out.emplace_back("no auto_allowed_levels: manual only");
  return out;
}

bool is_high_risk(const tool_definition& tool, const system_config& system,
                  const autonomy_config& autonomy) {
  return !high_risk_reasons(tool, system, autonomy).empty();
}

error_info approval_required_error(const tool_definition& tool, const system_config& system,
                                   const autonomy_config& autonomy) {
  json::array reasons;
  for (auto& r : high_risk_reasons(tool, system, autonomy))
    reasons.emplace_back(std::move(r));
  return make_error(error_code::approval_required,
                    tool.id + " is high-risk and needs an explicit approval",
                    json::object{{"tool", tool.id}, {"rule", "high_risk"}, {"reasons", std::move(reasons)}});
}

tool_permission permission_for(const tool_definition& tool, int level, const system_config& system,
                               const autonomy_config& autonomy) {
  if (check_autonomy(tool, level, autonomy))
    return tool_permission::denied;
  if (is_high_risk(tool, system, autonomy))
    return tool_permission::approval_required;
  return tool_permission::allowed;
}

} // namespace opex::policies
