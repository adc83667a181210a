// Protected workflows and n8n guardrails.
#include "opex/policies/workflow_guard.hpp"

#include "opex/call_environment.hpp"
#include "opex/json_util.hpp"

#include <algorithm>
#include <cctype>

namespace opex::policies {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_workflow_tool(const tool_definition& tool) {
  return tool.category == "n8n_management" || tool.id == "CLIENT_WORKFLOW_RUN" || tool.id.starts_with("N8N_");
}

error_info guardrail(const tool_definition& tool, std::string rule, std::string message, json::object extra = {}) {
  extra["tool"] = tool.id;
  extra["rule"] = std::move(rule);
  return make_error(error_code::guardrail_violation, std::move(message), std::move(extra));
}

constexpr std::string_view auto_prefix = "AUTO_PROLEX_";

/// A value still holding a template placeholder is not known yet: checked after resolution.
bool placeholder(std::string_view s) {
  return s.find("{{") != std::string_view::npos;
}

} // namespace

std::vector<std::string> workflow_names(const json::object& payload) {
  std::vector<std::string> out;
  for (auto key : {"workflow_name", "name", "workflow_id"})
    if (auto v = get_string(payload, key); v && !placeholder(*v))
      out.emplace_back(*v);
  for (auto key : {"spec", "workflow_json"})
    if (const auto* o = get_member(payload, key); o && o->is_object())
      if (auto n = get_string(o->get_object(), "name"); n && !placeholder(*n))
        out.emplace_back(*n);
  return out;
}

error_info check_protected_workflow(const tool_definition& tool, const json::object& payload,
                                    const protected_workflow_settings& settings) {
  if (!is_workflow_tool(tool))
    return {};
  for (const auto& name : workflow_names(payload)) {
    auto n = lower(name);
    std::string matched;
    for (const auto& p : settings.names)
      if (lower(p) == n)
        matched = "name:" + p;
    for (const auto& p : settings.prefixes)
      if (matched.empty() && n.starts_with(lower(p)))
        matched = "prefix:" + p;
    for (const auto& p : settings.keywords)
      if (matched.empty() && n.find(lower(p)) != std::string::npos)
        matched = "keyword:" + p;
    if (!matched.empty())
      return make_error(error_code::workflow_protected,
                        "workflow '" + name + "' is protected: opex never touches it",
                        json::object{{"tool", tool.id},
                                     {"rule", "protected_workflow"},
                                     {"workflow", name},
                                     {"matched", matched}});
  }
  return {};
}

guardrail_verdict check_n8n_guardrails(const tool_definition& tool, const json::object& payload,
                                       const guard_context& g) {
  guardrail_verdict v;
  const bool upsert = tool.id == "N8N_WORKFLOW_UPSERT";
  const bool test = tool.id == "N8N_WORKFLOW_TEST";
  const bool promote = tool.id == "N8N_WORKFLOW_PROMOTE";
  if (!upsert && !test && !promote)
    return v;
  auto name = get_string(payload, "workflow_name");
  if (name && placeholder(*name))
    return v;  // the name comes from an earlier step: checked once resolved
  if ((upsert || promote) && (!name || !name->starts_with(auto_prefix))) {
    v.error = guardrail(tool, "name_prefix", tool.id + ": workflow names must start with AUTO_PROLEX_",
                        {{"required", std::string(auto_prefix) + "..."},
                         {"current", name ? json::value(std::string(*name)) : json::value(nullptr)}});
    return v;
  }
  if (test && name && !name->starts_with(auto_prefix)) {
    v.error = guardrail(tool, "name_prefix", "N8N_WORKFLOW_TEST: only AUTO_PROLEX_ workflows are tested by opex",
                        {{"required", std::string(auto_prefix) + "..."}, {"current", std::string(*name)}});
    return v;
  }
  if (upsert) {
    const std::string& tag = g.cfg->system.auto_generated_tag;
    bool tagged = false;
    const auto* tags = get_member(payload, "tags");
    if (tags && tags->is_array())
      for (const auto& t : tags->get_array())
        tagged |= t.is_string() && t.get_string() == tag;
    if (tags && tags->is_string() && placeholder(tags->get_string()))
      tagged = true;  // checked once resolved
    if (!tagged) {
      v.error = guardrail(tool, "auto_tag", "N8N_WORKFLOW_UPSERT: tags must contain " + tag,
                          {{"required", tag}});
      return v;
    }
    const std::string target = call_environment(payload, "sandbox");
    if (target != "sandbox") {
      v.needs_approval = true;
      v.approval_reason = "target " + target + " is not the sandbox";
    }
    bool review = true;
    if (const auto* r = get_member(payload, "review_required"); r && r->is_bool())
      review = r->get_bool();
    if (review) {
      const auto* active = get_member(payload, "active");
      if (!active || !active->is_bool() || active->get_bool()) {
        json::object rewritten = payload;
        rewritten["active"] = false;  // review_required: created inactive
        v.rewritten = std::move(rewritten);
      }
    }
  }
  if (promote) {
    const std::string workflow(*name);
    auto tested = g.usage.workflow_tested.find(workflow);
    if (tested == g.usage.workflow_tested.end() || !tested->second) {
      v.error = guardrail(tool, "tested_before_promotion",
                          "N8N_WORKFLOW_PROMOTE: no successful N8N_WORKFLOW_TEST of " + workflow + " is recorded",
                          {{"workflow", workflow}});
      return v;
    }
    auto reviewed = g.usage.workflow_reviewed.find(workflow);
    if (reviewed == g.usage.workflow_reviewed.end() || !reviewed->second) {
      v.error = guardrail(tool, "reviewed_before_promotion",
                          "N8N_WORKFLOW_PROMOTE: no approved review of " + workflow + " is recorded",
                          {{"workflow", workflow}});
      return v;
    }
  }
  return v;
}

} // namespace opex::policies
