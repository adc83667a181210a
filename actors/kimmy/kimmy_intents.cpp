// Kimmy's intent scoring (kimmy_intents.hpp).
#include "kimmy_intents.hpp"

#include "text_regex.hpp"

#include <algorithm>
#include <array>

namespace opex::actors::kimmy_detail {

intent_scores score_rules(const std::string& f, const std::vector<intent_rule>& rules) {
  intent_scores sc;
  auto& [score, trigger_end, trigger_begin, first_strong, first_strong_end] = sc;
  for (const auto& r : rules) {
    boost::smatch m;
    if (!boost::regex_search(f, m, r.re))
      continue;
    score[r.intent] += r.weight;
    if (r.weight >= 5) {
      auto b = static_cast<std::size_t>(m.position());
      auto e = b + static_cast<std::size_t>(m.length(0));
      if (!first_strong.contains(r.intent) || b < first_strong[r.intent]) {
        first_strong[r.intent] = b;
        first_strong_end[r.intent] = e;
      } else if (b == first_strong[r.intent]) {
        first_strong_end[r.intent] = std::min(e, first_strong_end[r.intent]);
      }
    }
    if (r.trigger) {
      auto e = static_cast<std::size_t>(m.position() + m.length(0));
      auto b = static_cast<std::size_t>(m.position());
      if (!trigger_end.contains(r.intent) || r.weight >= 5) {
        if (!trigger_end.contains(r.intent) || e > trigger_end[r.intent]) {
          trigger_end[r.intent] = e;
          trigger_begin[r.intent] = b;
        }
      }
    }
  }
  return sc;
}

std::string without_span(const std::string& f, span s) {
  std::string out = f;
  for (std::size_t i = s.begin; i < s.end && i < out.size(); ++i)
    out[i] = ' ';
  return out;
}

intent_choice choose_intent(const std::string& f, intent_scores& sc) {
  auto& score = sc.score;
  auto& first_strong = sc.first_strong;
  // A question about something is not an action on it: interrogatives weaken action intents,
  // except polite requests ("peux-tu ...", "can you ...") which are actions.
  static const boost::regex polite = text_regex(
    "^(?:can you|could you|would you|will you|can u|peux-tu|peux tu|pourrais-tu|pourrais tu|"
    "tu peux|tu pourrais|est-ce que tu peux|est-ce que tu pourrais|please|merci de|svp|stp|"
    "pouvez-vous|pourriez-vous)\\b");
  bool question_form = score.contains("question_simple") && !boost::regex_search(f, polite);
  intent_choice c;
  auto& [intent, top, second] = c;
  static constexpr std::array<std::string_view, 13> precedence{
    "task_update", "task_create",      "calendar_event", "doc_note",    "doc_structuring",
    "config_change", "client_workflow", "debug_infra",   "dev_workflow", "reporting",
    "question_systeme", "question_simple", "other"};
  for (auto name : precedence) {
    int s = score.contains(name) ? score[name] : 0;
    if (s > top) {
      second = top;
      top = s;
      intent = name;
    } else if (s > second) {
      second = s;
    }
  }
  // Several strong actions: the sentence's main verb comes first ("Remind me to book a
  // meeting" is a reminder, "Set your autonomy level" is a configuration change); from one
  // verb, the nearest object ("Add to my notes for the demo" is a note).
  if (first_strong.size() >= 2) {
    std::string_view earliest = intent;
    std::size_t best = std::string::npos, best_end = std::string::npos;
    for (auto name : precedence) {  // then ties go to the earlier intent in precedence order
      auto it = first_strong.find(name);
      if (it == first_strong.end() || name == "other")
        continue;
      const auto end = sc.first_strong_end[name];
      if (it->second < best || (it->second == best && end < best_end)) {
        best_end = end;
        best = it->second;
        earliest = name;
      }
    }
    if (earliest != intent && score[earliest] >= 5) {
      second = top;
      intent = earliest;
      top = score[earliest];
    }
  }
  // A question mentioning tools of an action ("qu'est-ce qu'un webhook ?") stays a question
  // unless the action rule was strong.
  if (question_form && intent != "question_simple" && intent != "question_systeme"
      && intent != "other" && top < 5 && score["question_simple"] >= 2) {
    second = top;
    intent = "question_simple";
    top = score["question_simple"];
  }
  if (top < 2) {
    intent = question_form ? "question_simple" : "other";
  }
  if (intent == "question_simple" && score.contains("question_systeme") && score["question_systeme"] >= 3)
    intent = "question_systeme";
  return c;
}

} // namespace opex::actors::kimmy_detail
