// Rule-based planning from the planning table.
#include "rule_planner.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/autonomy_policy.hpp"
#include "opex/policies/constraint_policy.hpp"
#include "opex/template_resolver.hpp"
#include "kimmy/text_normalizer.hpp"
#include "reference_resolver.hpp"
#include "workflow_resolver.hpp"
#include "document_knowledge.hpp"
#include "system_knowledge.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <functional>
#include <optional>

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
    {"workflow_id", "le workflow à lancer (son nom ou son identifiant)", "which workflow to run (its name or id)"},
    {"workflow_name", "le workflow à lancer", "which workflow to run"},
    {"emails", "l'adresse e-mail du contact", "the contact's e-mail address"},
    {"month", "le mois concerné", "which month"},
    {"year", "l'année concernée", "which year"},
    {"repo_url", "le dépôt à cloner (son URL)", "which repository to clone (its URL)"},
    {"repo", "le dépôt GitHub (propriétaire/nom)", "the GitHub repository (owner/name)"},
    {"base", "la branche cible de la pull request", "the pull request's base branch"},
    {"branch", "la branche à proposer", "the branch to propose"},
    {"query", "ce qu'il faut chercher", "what to search for"},
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

rule_planner::rule_planner(const opex_config& cfg, const knowledge_index* knowledge) : cfg_(cfg), knowledge_(knowledge) {
  for (const auto& t : cfg_.catalogue.tools())
    tool_ids_.emplace_back(fold_text(t.id), "tool:" + t.id);
}

std::optional<planning_result> rule_planner::answer_from_knowledge(const kimmy_payload& payload) const {
  if (!knowledge_ || (payload.intent != "question_systeme" && payload.intent != "question_simple"))
    return std::nullopt;
  const bool fr = payload.language == "fr";
  // The configuration first (it answers exactly), then the documentation. A question that
  // names a tool by its id ("Is GIT_CLONE risky?") is about that tool's entry first.
  auto hits = knowledge_->search(payload.raw_input, 12, configuration_collection);
  const std::string folded = fold_text(payload.raw_input);
  for (const auto& [folded_id, id] : tool_ids_)
    if (contains_word(folded, folded_id)) {
      auto named = std::stable_partition(hits.begin(), hits.end(), [&](const knowledge_hit& h) { return h.document.id == id; });
      if (named != hits.begin())  // the tool's id said it all: its entry answers
        hits.front().matched_terms = std::max(hits.front().matched_terms, hits.front().query_terms);
    }
  if (hits.size() > 3)
    hits.resize(3);
  if (auto text = knowledge_answer(hits, fr))
    return planning_result{answer(std::move(*text)), {"knowledge", "answered from " + hits.front().document.source}};
  auto docs = knowledge_->search(payload.raw_input, 3, documentation_collection);
  if (auto text = document_answer(docs, fr))
    return planning_result{answer(std::move(*text)), {"knowledge", "answered from " + docs.front().document.source}};
  if (payload.intent == "question_systeme")
    return std::nullopt;  // the planning table's summary of the engine
  return planning_result{
    answer(fr ? "Je ne sais pas : ni la configuration d'opex (niveaux, outils, limites, tenants) ni sa "
                "documentation ne répondent à cette question. Demandez à une personne, ou configurez un "
                "planificateur LLM."
              : "I don't know: neither opex's configuration (levels, tools, limits, tenants) nor its documentation "
                "answers this. Ask a person, or configure an LLM planner."),
    {"knowledge", "no document matches well enough"}};
}

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

namespace {

/// A clarification asking for the entry's required parameters the payload lacks (never guessed:
/// docs/kimmy.md), or nullopt when none is missing.
std::optional<planning_result> ask_missing(const planning_entry& entry, const kimmy_payload& payload, bool fr) {
  std::vector<std::string> missing;
  for (const auto& r : entry.required) {  // "a|b": either parameter
    bool any = false;
    for (std::size_t from = 0; from <= r.size() && !any;) {
      auto bar = std::min(r.find('|', from), r.size());
      any = present(payload.parameters, r.substr(from, bar - from));
      from = bar + 1;
    }
    if (!any)
      missing.push_back(r.substr(0, r.find('|')));
  }
  if (missing.empty())
    return std::nullopt;
  std::vector<std::string> questions;
  std::string list;
  for (const auto& m : missing) {
    questions.push_back(fr ? "Pouvez-vous préciser " + describe_parameter(m, true) + " ?"
                           : "Could you give " + describe_parameter(m, false) + "?");
    list += (list.empty() ? "" : ", ") + m;
  }
  return planning_result{clarification(std::move(questions)), {"missing_parameters", list}};
}

/// The entry's steps, their payload templates resolved: its one tool, or its plan.
std::vector<plan_step> build_steps(const planning_entry& entry, const template_lookup& lookup) {
  std::vector<plan_step> steps;
  if (!entry.tool.empty()) {
    plan_step s;
    s.step = 1;
    s.tool = entry.tool;
    auto resolved = resolve_templates(json::value(entry.payload), lookup, template_mode::lenient);
    if (resolved && resolved->is_object())
      s.payload = std::move(resolved->get_object());
    steps.push_back(std::move(s));
    return steps;
  }
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
  return steps;
}

/// Why a planned step cannot be proposed as it is (unknown tool, autonomy, high risk, missing
/// context; docs/guarded-execution.md, "Order of the checks"), or nullopt.
std::optional<planning_result> refuse_step(const plan_step& s, const opex_config& cfg, int level, bool fr) {
  const auto* tool = cfg.catalogue.find(s.tool);
  if (tool == nullptr)
    return planning_result{answer(fr ? "Je ne peux pas le faire : l'outil " + s.tool + " n'existe pas dans le catalogue."
                                     : "I cannot do this: tool " + s.tool + " is not in the catalogue."),
                           {"unknown_tool", s.tool}};
  if (auto err = policies::check_autonomy(*tool, level, cfg.autonomy)) {
    std::string levels = json::serialize(err.details.at("required_levels"));
    return planning_result{
      clarification({fr ? "L'action " + s.tool + " demande le niveau d'autonomie " + levels + " (niveau actuel "
                            + std::to_string(level) + ") : un opérateur doit-il l'exécuter ou relever le niveau ?"
                        : "The action " + s.tool + " needs autonomy level " + levels + " (current level "
                            + std::to_string(level) + "): should an operator run it or raise the level?"}),
      {"autonomy", err.message}};
  }
  if (policies::is_high_risk(*tool, cfg.system, cfg.autonomy))
    return planning_result{
      clarification({fr ? "L'action " + s.tool + " est à haut risque : confirmez-vous explicitement son exécution ?"
                        : "The action " + s.tool + " is high-risk: do you explicitly confirm running it?"}),
      {"high_risk", s.tool}};
  std::vector<std::string> questions;
  for (const auto& key : tool->constraints.requires_context)
    if (!policies::has_context(s.payload, key)) {
      const auto first = key.substr(0, key.find('|'));
      questions.push_back(fr ? "Pour " + s.tool + ", pouvez-vous préciser " + describe_parameter(first, true) + " ?"
                             : "For " + s.tool + ", could you give " + describe_parameter(first, false) + "?");
    }
  if (!questions.empty())
    return planning_result{clarification(std::move(questions)), {"missing_context", s.tool}};
  return std::nullopt;
}

/// True when the entry's payload takes `parameters.workflow_id` (a packaged workflow's id).
bool takes_workflow_id(const planning_entry& entry) {
  return json::serialize(entry.payload).find("parameters.workflow_id") != std::string::npos;
}

} // namespace

planning_result rule_planner::plan(const kimmy_payload& payload, int level) const {
  return plan(payload, level, nullptr);
}

planning_result rule_planner::plan(const kimmy_payload& payload, int level, const json::object* items) const {
  const bool fr = payload.language == "fr";
  if (const auto* actions = get_member(payload.parameters, "actions"); actions && actions->is_array()
      && actions->get_array().size() >= 2)
    return plan_actions(payload, actions->get_array(), level, items);
  if (payload.parameters.contains("task_ref") || payload.parameters.contains("doc_ref")
      || payload.parameters.contains("event_ref")) {
    kimmy_payload resolved = payload;  // docs/kimmy.md, "References"
    if (auto questions = resolve_references(resolved, items))
      return {clarification(std::move(*questions)), {"reference", "the reference matches several items or none"}};
    return plan(resolved, level, items);
  }
  if (payload.intent == "question_simple")  // "quand est ma réunion avec Paul ?": the tenant's own event
    if (auto note = get_string(payload.parameters, "event_note"))
      return {answer(std::string(*note)), {"reference", "the event the question names"}};
  auto it = cfg_.prolex.planning.find(payload.intent);
  if (it == cfg_.prolex.planning.end())
    return {clarification({fr ? "Pouvez-vous préciser ce que vous attendez de moi ?"
                              : "Could you say what you expect me to do?"}),
            {"no_planning_entry", "no planning entry for intent " + payload.intent}};
  // The tool Kimmy chose among the entry's alternatives (docs/kimmy.md, "Tool choice").
  const planning_entry& entry =
    it->second.for_tool(payload.suggested_tools.empty() ? std::string_view{} : std::string_view(payload.suggested_tools.front()));
  if (!cfg_.workflows.empty() && takes_workflow_id(entry) && !payload.parameters.contains("workflow_id")) {
    kimmy_payload resolved = payload;  // a packaged workflow named by its name (docs/kimmy.md, "Tool choice")
    if (auto questions = resolve_workflow(resolved, cfg_.workflows))
      return {clarification(std::move(*questions)), {"workflow", "the workflow name matches several workflows or none"}};
    if (resolved.parameters.contains("workflow_id"))
      return plan(resolved, level, items);
  }

  // Template scope: the KimmyPayload itself plus a `system` object.
  json::value scope = to_json(payload);
  scope.get_object()["system"] = json::object{{"summary", system_summary(payload.language)}};
  auto lookup = [&scope](std::string_view root) -> const json::value* {
    return get_member(scope.get_object(), root);
  };

  if (!entry.answer.empty()) {
    if (auto known = answer_from_knowledge(payload))
      return std::move(*known);
    auto content = resolve_templates(json::value(entry.answer), lookup, template_mode::lenient);
    std::string text = content && content->is_string() ? std::string(content->get_string()) : entry.answer;
    if (payload.intent == "question_simple" && !cfg_.prolex.answer_source.empty())
      text = "answer source " + cfg_.prolex.answer_source + " is configured but not reachable by the rule planner";
    return {answer(std::move(text)), {"planning_table", "answer for " + payload.intent}};
  }
  if (!entry.clarification.empty())
    return {clarification(entry.clarification), {"planning_table", "clarification for " + payload.intent}};
  if (auto ask = ask_missing(entry, payload, fr))
    return std::move(*ask);

  auto steps = build_steps(entry, lookup);
  for (const auto& s : steps)
    if (auto refused = refuse_step(s, cfg_, level, fr))
      return std::move(*refused);

  prolex_output o;
  o.type = steps.size() == 1 && !entry.tool.empty() ? output_type::tool_call : output_type::multi_tool_plan;
  o.plan = std::move(steps);
  return {std::move(o), {"planning_table", "intent " + payload.intent}};
}

} // namespace opex::actors
