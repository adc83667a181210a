// Several actions in one request (kimmy_actions.hpp).
#include "kimmy_actions.hpp"

#include "date_resolver.hpp"
#include "kimmy_text.hpp"
#include "text_regex.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace opex::actors::kimmy_detail {

namespace json = boost::json;

namespace {

/// Where a connector may start: after a space, or at a comma or a semicolon.
bool may_start_connector(std::string_view f, std::size_t i) {
  return f[i] == ',' || f[i] == ';' || (i > 0 && f[i - 1] == ' ' && f[i] != ' ');
}

/// The end of a part once the spaces and punctuation before a cut are trimmed.
std::size_t trimmed_end(std::string_view f, std::size_t begin, std::size_t end) {
  while (end > begin && is_space_or_punct(f[end - 1]) && f[end - 1] != '"')  // a closing quote stays
    --end;
  return end;
}

} // namespace

std::vector<action_part> split_actions(std::string_view folded, const action_split_rule& rule) {
  std::vector<action_part> parts;
  if (!rule.present || folded.empty())
    return {{0, folded.size(), false}};
  std::size_t begin = 0;
  bool after_previous = false;
  for (std::size_t i = 1; i < folded.size(); ++i) {
    if (!may_start_connector(folded, i))
      continue;
    boost::match_results<std::string_view::const_iterator> m;
    if (!boost::regex_search(folded.begin() + static_cast<std::ptrdiff_t>(i), folded.end(), m, rule.re,
                             boost::match_continuous))
      continue;
    const std::size_t end = trimmed_end(folded, begin, i);
    if (end == begin)
      continue;  // nothing before the connector yet
    parts.push_back({begin, end, after_previous});
    after_previous = m[1].matched || m[2].matched;
    begin = i + static_cast<std::size_t>(m.position(std::size_t{4}));
    i = begin;
  }
  parts.push_back({begin, folded.size(), after_previous});
  return parts;
}

std::vector<std::string> listed_actions(const normalized_text& nt) {
  static const boost::regex counted = text_regex(
    R"(\b(deux|trois|quatre|two|three|four|[2-4]) (taches|tasks|todos|to-dos|notes|rappels|reminders|choses a faire|things to do)((?: [^:.;]{1,50}?)?)\s*:\s*)");
  static const boost::regex separator = text_regex(R"(\s*(?:,|;|\bet\b|\band\b)\s*)");
  static const boost::regex shared = text_regex(
    R"(^(?:les deux|tous les deux|toutes les deux|les trois|tous les trois|toutes les trois|toutes|tous|both|all of them|all three|all)\b\s*)");
  const std::string& f = nt.folded;
  boost::smatch m;
  if (!boost::regex_search(f, m, counted))
    return {};
  static const std::map<std::string, std::size_t> numbers{{"deux", 2}, {"trois", 3}, {"quatre", 4}, {"two", 2},
                                                          {"three", 3}, {"four", 4}, {"2", 2}, {"3", 3}, {"4", 4}};
  // Each item as a request of its own, in the request's words: "Ajoute une tâche : <item>".
  static const std::map<std::string, std::pair<std::string, std::string>> head_of{
    {"taches", {"Ajoute une tâche : ", "Add a task: "}},  {"tasks", {"Ajoute une tâche : ", "Add a task: "}},
    {"todos", {"Ajoute une tâche : ", "Add a to-do: "}},  {"to-dos", {"Ajoute une tâche : ", "Add a to-do: "}},
    {"rappels", {"Ajoute un rappel : ", "Add a reminder: "}}, {"reminders", {"Ajoute un rappel : ", "Add a reminder: "}},
    {"choses a faire", {"Ajoute une tâche : ", "Add a task: "}}, {"things to do", {"Ajoute une tâche : ", "Add a task: "}},
    {"notes", {"Crée une note : ", "Create a note: "}}};
  const auto list_begin = static_cast<std::size_t>(m.position() + m.length());
  std::vector<std::pair<std::size_t, std::size_t>> items;
  std::string tail;
  auto add = [&](std::size_t b, std::size_t e) {
    const std::string item(f.substr(b, e - b));
    boost::smatch lead;
    if (boost::regex_search(item, lead, shared))
      tail = nt.original(b + static_cast<std::size_t>(lead.length()), e);
    else if (e > b)
      items.emplace_back(b, e);
  };
  std::size_t b = list_begin;
  const std::string rest = f.substr(list_begin);
  for (boost::sregex_iterator it(rest.begin(), rest.end(), separator), end; it != end; ++it) {
    add(b, list_begin + static_cast<std::size_t>(it->position()));
    b = list_begin + static_cast<std::size_t>(it->position() + it->length());
  }
  add(b, f.size());
  if (items.size() != numbers.at(m[1].str()))
    return {};  // "et" inside a title, or an unsaid item: not cut
  // "Add two to-dos for tomorrow: ...": the date said before the list is for each item. Only
  // where it is said matters here (each item's own analysis resolves it), so any "today" will do.
  static constexpr std::chrono::year_month_day any_day{std::chrono::year{2000}, std::chrono::January, std::chrono::day{1}};
  if (m[3].length() > 0)
    if (auto d = find_date(m[3].str(), any_day, true)) {
      const auto at = static_cast<std::size_t>(m.position(3));
      tail = nt.original(at + d->begin, at + d->end) + (tail.empty() ? "" : " " + tail);
    }
  static const std::set<std::string> english{"two", "three", "four", "tasks", "todos", "to-dos", "reminders", "things to do"};
  const bool en = english.contains(m[1].str()) || english.contains(m[2].str());
  const auto& heads = head_of.at(m[2].str());
  const std::string head = en ? heads.second : heads.first;
  std::vector<std::string> out;
  for (const auto& [ib, ie] : items)
    out.push_back(head + nt.original(ib, ie) + (tail.empty() ? "" : " " + tail));
  return out;
}

namespace {

const boost::regex& result_phrase() {
  static const boost::regex phrase = text_regex(
    R"(\s*,?\s*\b(?:avec (?:le|les|ce|ces) resultats?|avec ce que tu (?:trouves|as trouve)|a partir du resultat|des resultats|with (?:the|those|these) results?|with what you (?:find|found)|summari[sz]ing (?:it|them|the results?)|about it|from it|anything (?:suspicious|odd|wrong)|ce qui cloche|the findings)\b)");
  return phrase;
}

} // namespace

bool mentions_result(const normalized_text& nt, const action_part& part) {
  return boost::regex_search(nt.folded.substr(part.begin, part.end - part.begin), result_phrase());
}

std::string without_result_phrase(const normalized_text& nt, const action_part& part) {
  const std::string f(nt.folded.substr(part.begin, part.end - part.begin));
  boost::smatch m;
  if (!boost::regex_search(f, m, result_phrase()))
    return nt.original(part.begin, part.end);
  const auto at = part.begin + static_cast<std::size_t>(m.position());
  const auto after = at + static_cast<std::size_t>(m.length());
  std::string text = nt.original(part.begin, at);
  if (after < part.end)
    text += " " + nt.original(after, part.end);
  return text;
}

bool is_plannable_action(const kimmy_analysis& part) {
  const auto& intent = part.payload.intent;
  if (part.intent_score < 3)  // no action at all: context ("Pour la réunion de demain, note que ...")
    return false;
  if (intent == "question_simple")  // a search is an action (WEB_SEARCH), a question is not
    return !part.payload.suggested_tools.empty();
  static constexpr std::string_view not_actions[] = {"other", "question_systeme", "config_change"};
  return std::find(std::begin(not_actions), std::end(not_actions), intent) == std::end(not_actions);
}

bool repeats_one_action(const std::vector<kimmy_analysis>& parts) {
  for (const auto& a : parts) {
    const auto& p = a.payload;
    const auto* title = p.parameters.if_contains("title");
    if ((title && !title->is_null()) || p.suggested_tools != parts.front().payload.suggested_tools)
      return false;
    for (const char* item : {"task_ref", "task_id", "doc_ref"})  // two tasks named: two actions
      if (const auto* v = p.parameters.if_contains(item); v && !v->is_null())
        return false;
  }
  return true;
}

bool refers_back(const std::vector<kimmy_analysis>& parts, const normalized_text& nt,
                 const std::vector<action_part>& cuts) {
  static const boost::regex pronoun = text_regex(
    R"(^[a-z]+(?:-(?:le|la|les)\b|\s+(?:it|them|ca|cela)\b|\s+(?:le|la|les)\s+(?:dans|in|a|au|sur|en|to|pour)\b))");
  for (std::size_t i = 1; i < parts.size() && i < cuts.size(); ++i) {
    const std::string f(nt.folded.substr(cuts[i].begin, cuts[i].end - cuts[i].begin));
    const auto& intent = parts[i].payload.intent;  // "..., repousse-la à vendredi": the same task
    if (!cuts[i].after_previous && (intent == parts[i - 1].payload.intent || intent == "task_update")
        && boost::regex_search(f, pronoun))
      return true;
  }
  return false;
}

void combine_actions(kimmy_analysis& whole, const std::vector<kimmy_analysis>& parts,
                     const std::vector<action_part>& cuts) {
  auto& p = whole.payload;
  const auto& first = parts.front().payload;
  p.intent = first.intent;
  // The first action's parameters; a priority or a client said elsewhere applies to the request.
  auto whole_parameters = std::move(p.parameters);
  p.parameters = first.parameters;
  for (const char* key : {"priority", "client_name"})
    if (const auto* v = p.parameters.if_contains(key); (!v || v->is_null()) && whole_parameters.contains(key))
      p.parameters[key] = whole_parameters.at(key);
  p.complexity = "complex";
  double confidence = 1.0;
  json::array actions;
  p.suggested_tools.clear();
  std::string summary = p.language == "fr" ? "Plusieurs actions :" : "Several actions:";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& a = parts[i].payload;
    confidence = std::min(confidence, a.confidence);
    json::array depends_on;
    if (i > 0 && cuts[i].after_previous)
      depends_on.emplace_back(static_cast<std::int64_t>(i - 1));
    std::string tool = a.suggested_tools.empty() ? std::string{} : a.suggested_tools.front();
    if (!tool.empty() && std::find(p.suggested_tools.begin(), p.suggested_tools.end(), tool) == p.suggested_tools.end())
      p.suggested_tools.push_back(tool);
    actions.push_back(json::object{{"intent", a.intent},
                                   {"text", a.raw_input},
                                   {"parameters", a.parameters},
                                   {"suggested_tool", tool},
                                   {"depends_on", std::move(depends_on)}});
    summary += " " + std::to_string(i + 1) + ") " + a.kimmy_summary;
  }
  p.parameters["actions"] = std::move(actions);
  p.confidence = std::round(std::clamp(confidence - 0.05, 0.05, 0.98) * 100.0) / 100.0;
  p.kimmy_summary = truncate_utf8(summary, 490);
}

std::string choose_tool(const planning_entry& entry, const tool_catalogue& catalogue, std::string_view folded) {
  std::string best = entry.tool;
  std::size_t best_score = 0;
  auto consider = [&](const std::string& tool) {
    const auto* t = catalogue.find(tool);
    if (t == nullptr)
      return;
    std::size_t score = 0;
    for (const auto& kw : t->keywords)
      if (auto k = fold_text(kw); contains_word(folded, k))
        score += words_of(k).size();
    if (score > best_score) {
      best_score = score;
      best = tool;
    }
  };
  if (!entry.tool.empty())
    consider(entry.tool);
  for (const auto& a : entry.alternatives)
    consider(a.tool);
  return best;
}

} // namespace opex::actors::kimmy_detail
