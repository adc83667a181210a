// Rule-based planning from the planning table.
#include "rule_planner.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/autonomy_policy.hpp"
#include "opex/template_resolver.hpp"

#include <boost/json/serialize.hpp>

namespace opex::actors {

namespace json = boost::json;

namespace {

prolex_output clarification(std::vector<std::string> questions) {
  prolex_output o;
  o.type = output_type::clarification;
  if (questions.size() > 3)
    questions.resize(3);
  for (auto& q : questions)
    while (q.size() < 10)
      q += " ?";
  o.questions = std::move(questions);
  return o;
}

prolex_output answer(std::string content) {
  prolex_output o;
  o.type = output_type::answer;
  o.content = content.empty() ? "(empty answer)" : std::move(content);
  return o;
}

std::string describe_parameter(std::string_view name, bool fr) {
  struct row {
    std::string_view key, fr, en;
  };
  static constexpr row rows[] = {
    {"title", "le titre", "the title"},
    {"due_date", "la date", "the date"},
    {"task_id", "la tâche à modifier (son identifiant ou son titre exact)",
     "which task to change (its id or exact title)"},
    {"doc_id", "le document concerné (son identifiant)", "which document (its id)"},
    {"client_name", "le nom du client", "the client's name"},
    {"workflow_id", "l'identifiant du workflow", "the workflow id"},
  };
  for (const auto& r : rows)
    if (r.key == name)
      return std::string(fr ? r.fr : r.en);
  return std::string(name);
}

bool present(const json::object& params, const std::string& key) {
  const auto* v = get_member(params, key);
  return v && !v->is_null() && !(v->is_string() && v->get_string().empty())
         && !(v->is_array() && v->get_array().empty());
}

} // namespace

rule_planner::rule_planner(const opex_config& cfg) : cfg_(cfg) {}

std::string rule_planner::system_summary(const std::string& language) const {
  bool fr = language == "fr";
  std::string tools;
  int count = 0;
  for (const auto& t : cfg_.catalogue.tools())
    if (policies::permission_for(t, cfg_.autonomy_level, cfg_.system, cfg_.autonomy)
        == policies::tool_permission::allowed) {
      tools += (tools.empty() ? "" : ", ") + t.id;
      ++count;
    }
  const auto* level = cfg_.autonomy.find(cfg_.autonomy_level);
  std::string name = level && !level->name.empty() ? " (" + level->name + ")" : "";
  if (fr)
    return "opex fonctionne au niveau d'autonomie " + std::to_string(cfg_.autonomy_level) + name
           + ", environnement " + cfg_.environment + ". " + std::to_string(count)
           + " outils s'exécutent sans approbation : " + tools
           + ". Les autres demandent un niveau supérieur ou une approbation.";
  return "opex runs at autonomy level " + std::to_string(cfg_.autonomy_level) + name
         + ", environment " + cfg_.environment + ". " + std::to_string(count)
         + " tools run without approval: " + tools
         + ". The others need a higher level or an approval.";
}

planning_result rule_planner::plan(const kimmy_payload& payload) const {
  return plan(payload, cfg_.autonomy_level);
}

planning_result rule_planner::plan(const kimmy_payload& payload, int level) const {
  const bool fr = payload.language == "fr";
  auto it = cfg_.prolex.planning.find(payload.intent);
  if (it == cfg_.prolex.planning.end())
    return {clarification({fr ? "Pouvez-vous préciser ce que vous attendez de moi ?"
                              : "Could you say what you expect me to do?"}),
            {"no_planning_entry", "no planning entry for intent " + payload.intent}};
  const planning_entry& entry = it->second;

  // Template scope: the KimmyPayload itself plus a `system` object.
  json::value scope = to_json(payload);
  scope.get_object()["system"] = json::object{{"summary", system_summary(payload.language)}};
  auto lookup = [&scope](std::string_view root) -> const json::value* {
    return get_member(scope.get_object(), root);
  };

  if (!entry.answer.empty()) {
    auto content = resolve_templates(json::value(entry.answer), lookup, template_mode::lenient);
    std::string text = content && content->is_string() ? std::string(content->get_string()) : entry.answer;
    if (payload.intent == "question_simple" && !cfg_.prolex.answer_source.empty())
      text = "answer source " + cfg_.prolex.answer_source + " is configured but not reachable by the rule planner";
    return {answer(std::move(text)), {"planning_table", "answer for " + payload.intent}};
  }
  if (!entry.clarification.empty())
    return {clarification(entry.clarification), {"planning_table", "clarification for " + payload.intent}};

  // Required parameters first: never guess (docs/kimmy.md: parameters are never invented).
  std::vector<std::string> missing;
  for (const auto& r : entry.required)
    if (!present(payload.parameters, r))
      missing.push_back(r);
  if (!missing.empty()) {
    std::vector<std::string> questions;
    for (const auto& m : missing)
      questions.push_back(fr ? "Pouvez-vous préciser " + describe_parameter(m, true) + " ?"
                             : "Could you give " + describe_parameter(m, false) + "?");
    std::string list;
    for (const auto& m : missing)
      list += (list.empty() ? "" : ", ") + m;
    return {clarification(std::move(questions)), {"missing_parameters", list}};
  }

  // Build the steps: one tool, or a plan.
  std::vector<plan_step> steps;
  if (!entry.tool.empty()) {
    plan_step s;
    s.step = 1;
    s.tool = entry.tool;
    auto resolved = resolve_templates(json::value(entry.payload), lookup, template_mode::lenient);
    if (resolved && resolved->is_object())
      s.payload = std::move(resolved->get_object());
    steps.push_back(std::move(s));
  } else {
    int n = 0;
    for (const auto& item : entry.plan) {
      if (!item.is_object())
        continue;
      const auto& o = item.get_object();
      plan_step s;
      s.step = ++n;
      if (const auto* v = get_member(o, "step"); v && v->is_int64())
        s.step = static_cast<int>(v->get_int64());
      s.tool = std::string(get_string(o, "tool").value_or(""));
      if (const auto* deps = get_member(o, "depends_on"); deps && deps->is_array())
        for (const auto& d : deps->get_array())
          if (d.is_int64())
            s.depends_on.push_back(static_cast<int>(d.get_int64()));
      if (const auto* p = get_member(o, "payload")) {
        auto resolved = resolve_templates(*p, lookup, template_mode::lenient);
        if (resolved && resolved->is_object())
          s.payload = std::move(resolved->get_object());
      }
      steps.push_back(std::move(s));
    }
  }

  // Autonomy, approval and context, per planned tool (docs/guarded-execution.md, "Order of the checks").
  for (const auto& s : steps) {
    const auto* tool = cfg_.catalogue.find(s.tool);
    if (tool == nullptr)
      return {answer(fr ? "Je ne peux pas le faire : l'outil " + s.tool + " n'existe pas dans le catalogue."
                        : "I cannot do this: tool " + s.tool + " is not in the catalogue."),
              {"unknown_tool", s.tool}};
    if (auto err = policies::check_autonomy(*tool, level, cfg_.autonomy)) {
      std::string levels = json::serialize(err.details.at("required_levels"));
      return {clarification({fr ? "L'action " + s.tool + " demande le niveau d'autonomie " + levels
                                    + " (niveau actuel " + std::to_string(level)
                                    + ") : un opérateur doit-il l'exécuter ou relever le niveau ?"
                                : "The action " + s.tool + " needs autonomy level " + levels
                                    + " (current level " + std::to_string(level)
                                    + "): should an operator run it or raise the level?"}),
              {"autonomy", err.message}};
    }
    if (policies::is_high_risk(*tool, cfg_.system, cfg_.autonomy))
      return {clarification({fr ? "L'action " + s.tool
                                    + " est à haut risque : confirmez-vous explicitement son exécution ?"
                                : "The action " + s.tool
                                    + " is high-risk: do you explicitly confirm running it?"}),
              {"high_risk", s.tool}};
    std::vector<std::string> missing_context;
    for (const auto& key : tool->constraints.requires_context)
      if (!present(s.payload, key))
        missing_context.push_back(key);
    if (!missing_context.empty()) {
      std::vector<std::string> questions;
      for (const auto& m : missing_context)
        questions.push_back(fr ? "Pour " + s.tool + ", pouvez-vous préciser " + describe_parameter(m, true) + " ?"
                               : "For " + s.tool + ", could you give " + describe_parameter(m, false) + "?");
      return {clarification(std::move(questions)), {"missing_context", s.tool}};
    }
  }

  prolex_output o;
  o.type = steps.size() == 1 && !entry.tool.empty() ? output_type::tool_call : output_type::multi_tool_plan;
  o.plan = std::move(steps);
  return {std::move(o), {"planning_table", "intent " + payload.intent}};
}

} // namespace opex::actors
