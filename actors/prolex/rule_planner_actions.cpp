// The rule planner for a request with several actions (Kimmy's `parameters.actions`,
// docs/kimmy.md, "Several actions"): each action planned like a request of its own, then joined
// into one multi_tool_plan whose later actions depend on the earlier ones where the request
// said "puis / then / and use it to", with the entry's `chain` templates feeding them the
// earlier result.
#include "rule_planner.hpp"

#include "opex/json_util.hpp"
#include "opex/template_resolver.hpp"

#include <algorithm>
#include <map>

namespace opex::actors {

namespace json = boost::json;

namespace {

/// `{{ previous.x }}` becomes `{{ step_N.x }}` in every string of `v`.
void point_previous_at(json::value& v, int step) {
  if (v.is_string()) {
    std::string s(v.get_string());
    const std::string to = "step_" + std::to_string(step) + ".";
    for (std::string_view from : {"{{ previous.", "{{previous."}) {
      for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at)) {
        const std::string replacement = std::string(from.substr(0, from.size() - 9)) + to;
        s.replace(at, from.size(), replacement);
        at += replacement.size();
      }
    }
    // An empty parameter before the result leaves only blank lines: trimmed.
    const auto first = s.find_first_not_of(" \n");
    s = first == std::string::npos ? std::string{} : s.substr(first, s.find_last_not_of(" \n") - first + 1);
    v = json::string(s);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object())
      point_previous_at(kv.value(), step);
  } else if (v.is_array()) {
    for (auto& e : v.get_array())
      point_previous_at(e, step);
  }
}

/// The sub-request of one action: the payload with the action's intent, text, parameters and tool.
kimmy_payload action_payload(const kimmy_payload& whole, const json::object& action) {
  kimmy_payload sub = whole;
  sub.intent = std::string(get_string(action, "intent").value_or("other"));
  sub.raw_input = std::string(get_string(action, "text").value_or(""));
  sub.parameters = json::object{};
  if (const auto* p = get_member(action, "parameters"); p && p->is_object())
    sub.parameters = p->get_object();
  sub.parameters.erase("actions");
  sub.suggested_tools.clear();
  if (auto tool = get_string(action, "suggested_tool"); tool && !tool->empty())
    sub.suggested_tools.emplace_back(*tool);
  return sub;
}

/// The entry's `chain` members, resolved against the action's parameters, with `previous`
/// naming step `after`.
json::object chained_members(const planning_entry& entry, const kimmy_payload& sub, int after) {
  json::value scope = to_json(sub);
  auto lookup = [&scope](std::string_view root) -> const json::value* { return get_member(scope.get_object(), root); };
  auto resolved = resolve_templates(json::value(entry.chain), lookup, template_mode::lenient);
  if (!resolved || !resolved->is_object())
    return {};
  point_previous_at(*resolved, after);
  return std::move(resolved->get_object());
}

/// A dependent action without a title of its own ("puis crée une note") is titled after the
/// earlier action: "Résultat : horaires de la piscine".
void title_after(kimmy_payload& sub, const json::object& earlier) {
  const auto* own = get_member(sub.parameters, "title");
  if (own && own->is_string() && !own->get_string().empty())
    return;
  const std::string prefix = sub.language == "fr" ? "Résultat : " : "Result: ";
  if (const auto* params = get_member(earlier, "parameters"); params && params->is_object())
    for (const char* key : {"title", "query", "client_name"})
      if (auto v = get_string(params->get_object(), key); v && !v->empty()) {
        sub.parameters["title"] = prefix + std::string(*v);
        return;
      }
  if (auto tool = get_string(earlier, "suggested_tool"); tool && !tool->empty())
    sub.parameters["title"] = prefix + std::string(*tool);
}

/// The earlier action `action` (the i-th) depends on, from Kimmy's `depends_on` [index].
std::optional<std::size_t> earlier_action(const json::object& action, std::size_t i, const json::array& actions) {
  std::optional<std::size_t> out;
  if (const auto* deps = get_member(action, "depends_on"); deps && deps->is_array())
    for (const auto& d : deps->get_array())
      if (d.is_int64() && d.get_int64() >= 0 && static_cast<std::size_t>(d.get_int64()) < i
          && actions[static_cast<std::size_t>(d.get_int64())].is_object())
        out = static_cast<std::size_t>(d.get_int64());
  return out;
}

} // namespace

planning_result rule_planner::plan_actions(const kimmy_payload& payload, const json::array& actions, int level,
                                           const json::object* items) const {
  std::vector<plan_step> steps;
  std::vector<int> last_step_of(actions.size(), 0);  // per action, 0 for none
  std::string intents;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    if (!actions[i].is_object())
      continue;
    const auto& action = actions[i].get_object();
    auto sub = action_payload(payload, action);
    const auto earlier = earlier_action(action, i, actions);
    if (earlier)
      title_after(sub, actions[*earlier].get_object());
    auto planned = plan(sub, level, items);
    if (planned.output.type != output_type::tool_call && planned.output.type != output_type::multi_tool_plan) {
      planned.note.rule = "multi_action_" + planned.note.rule;
      planned.note.detail = "action " + std::to_string(i + 1) + " (" + sub.intent + "): " + planned.note.detail;
      return planned;
    }
    std::optional<int> after;
    if (earlier && last_step_of[*earlier] > 0)
      after = last_step_of[*earlier];
    std::map<int, int> renumbered;
    const int offset = static_cast<int>(steps.size());
    for (std::size_t k = 0; k < planned.output.plan.size(); ++k)
      renumbered[planned.output.plan[k].step] = offset + static_cast<int>(k) + 1;
    const auto& it = cfg_.prolex.planning.find(sub.intent);
    for (auto& s : planned.output.plan) {
      const bool root = s.depends_on.empty();
      s.step = renumbered[s.step];
      for (auto& d : s.depends_on)
        d = renumbered.contains(d) ? renumbered[d] : d;
      if (root && after) {
        s.depends_on.push_back(*after);
        if (it != cfg_.prolex.planning.end())
          for (auto& [k, v] : chained_members(it->second.for_tool(s.tool), sub, *after))
            s.payload[k] = v;
      }
      steps.push_back(std::move(s));
    }
    last_step_of[i] = steps.back().step;
    intents += (intents.empty() ? "" : ", ") + sub.intent;
  }
  prolex_output o;
  o.type = output_type::multi_tool_plan;
  o.plan = std::move(steps);
  return {std::move(o), {"planning_table", "actions: " + intents}};
}

} // namespace opex::actors
