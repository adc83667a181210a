// References to the tenant's items (reference_resolver.hpp).
#include "reference_resolver.hpp"

#include "kimmy/kimmy_text.hpp"
#include "kimmy/text_normalizer.hpp"

#include "opex/json_util.hpp"

#include <set>

namespace opex::actors {

namespace json = boost::json;

namespace {

std::string text_of(const json::object& o, std::string_view key) {
  return std::string(get_string(o, key).value_or(""));
}

/// Every word of the reference in the title, but for the words that only link others ("le
/// document sur les tarifs du fournisseur" names "Tarifs fournisseur").
bool contains_all_words(const std::string& folded_title, const std::string& folded_ref) {
  static const std::set<std::string, std::less<>> linking{"sur", "les", "des", "du", "de", "la", "le", "the", "of",
                                                          "about", "on", "for", "pour", "au", "aux", "avec", "with"};
  for (const auto& w : kimmy_detail::words_of(folded_ref))
    if (w.size() > 1 && !linking.contains(w) && !contains_word(folded_title, w))
      return false;
  return true;
}

/// Open tasks before completed ones, among several matches.
std::vector<const json::object*> prefer_open(std::vector<const json::object*> found) {
  std::vector<const json::object*> open;
  for (const auto* o : found)
    if (text_of(*o, "status") != "completed")
      open.push_back(o);
  return open.empty() ? found : open;
}

reference_match from(const std::vector<const json::object*>& found) {
  reference_match m;
  if (found.size() == 1) {
    m.outcome = reference_outcome::found;
    m.id = text_of(*found.front(), "id");
  } else if (found.size() > 1) {
    m.outcome = reference_outcome::ambiguous;
    for (std::size_t i = 0; i < found.size() && i < 5; ++i)
      m.titles.push_back(text_of(*found[i], "title"));
  }
  return m;
}

struct reference_key {
  const char* ref;
  const char* id;
  const char* list;
  const char* noun_fr;
  const char* noun_en;
};

constexpr reference_key reference_keys[] = {{"task_ref", "task_id", "tasks", "tâche", "task"},
                                            {"doc_ref", "doc_id", "notes", "note", "note"}};

} // namespace

reference_match match_reference(const std::string& ref, const json::array& items) {
  std::vector<const json::object*> all;
  for (const auto& v : items)
    if (v.is_object())
      all.push_back(&v.get_object());
  if (ref == "@last" || ref == "@first") {
    if (all.empty())
      return {};
    return from({ref == "@last" ? all.front() : all.back()});
  }
  const auto folded = fold_text(ref);
  std::vector<const json::object*> exact, partial;
  for (const auto* o : all) {
    const auto title = fold_text(text_of(*o, "title"));
    if (title == folded)
      exact.push_back(o);
    else if (!folded.empty() && contains_all_words(title, folded))
      partial.push_back(o);
  }
  return from(prefer_open(exact.empty() ? std::move(partial) : std::move(exact)));
}

namespace {

std::vector<const json::object*> matching_events(const json::object& ref, const json::array& events) {
  const std::string date(get_string(ref, "date").value_or(""));
  const auto with = fold_text(get_string(ref, "with").value_or(""));
  std::vector<const json::object*> found;
  for (const auto& v : events) {
    if (!v.is_object())
      continue;
    const auto& e = v.get_object();
    if (!date.empty() && text_of(e, "start").substr(0, 10) != date)
      continue;
    if (!with.empty() && !contains_all_words(fold_text(text_of(e, "title")), with))
      continue;
    found.push_back(&e);
  }
  return found;
}

/// `asked`: the request is about the event (a question), so an event not found is asked about;
/// otherwise (a task, a note) the event is context, left out when it is not found once.
std::optional<std::vector<std::string>> resolve_event(json::object& params, const json::object* items, bool fr,
                                                      bool asked) {
  const auto* ref = params.if_contains("event_ref");
  if (!ref)
    return std::nullopt;
  const json::object wanted = ref->is_object() ? ref->get_object() : json::object{};
  params.erase("event_ref");
  if (!items)
    return std::nullopt;  // nothing to resolve against: the event is not named, not invented
  const auto* list = get_member(*items, "events");
  static const json::array no_events;
  auto found = matching_events(wanted, list && list->is_array() ? list->get_array() : no_events);  // points into items
  std::string shown;
  if (auto d = get_string(wanted, "date"))
    shown += (fr ? "le " : "on ") + std::string(*d);
  if (auto w = get_string(wanted, "with"))
    shown += (shown.empty() ? "" : " ") + std::string(fr ? "avec " : "with ") + std::string(*w);
  if (found.size() == 1) {
    const auto& e = *found.front();
    params["event_id"] = text_of(e, "id");
    params["event_title"] = text_of(e, "title");
    params["event_start"] = text_of(e, "start");
    params["event_note"] = (fr ? "Événement « " : "Event \"") + text_of(e, "title") + (fr ? " », " : "\", ")
                           + text_of(e, "start") + " (" + text_of(e, "id") + ")";
    return std::nullopt;
  }
  if (!asked)
    return std::nullopt;
  if (found.empty())
    return std::vector<std::string>{fr ? "Je ne trouve aucun événement " + shown + ". De quel événement s'agit-il ?"
                                       : "I find no event " + shown + ". Which event do you mean?"};
  std::string listed;
  for (std::size_t i = 0; i < found.size() && i < 5; ++i)
    listed += (listed.empty() ? "" : ", ") + text_of(*found[i], "title") + " (" + text_of(*found[i], "start") + ")";
  return std::vector<std::string>{fr ? "Plusieurs événements " + shown + " : " + listed + ". Lequel ?"
                                     : "Several events " + shown + ": " + listed + ". Which one?"};
}

} // namespace

std::optional<std::vector<std::string>> resolve_references(kimmy_payload& payload, const json::object* items) {
  const bool fr = payload.language == "fr";
  auto& params = payload.parameters;
  if (auto questions = resolve_event(params, items, fr, payload.intent == "question_simple"))
    return questions;
  // A note about an event names it at its end, as a task's notes do (docs/kimmy.md, "References").
  if (payload.intent == "doc_note")
    if (auto note = get_string(params, "event_note"); note && !note->empty())
      if (auto d = get_string(params, "description"); d && !d->empty())
        params["description"] = std::string(*d) + "\n\n" + std::string(*note);
  for (const auto& k : reference_keys) {
    auto ref = get_string(params, k.ref);
    if (!ref || ref->empty())
      continue;
    const std::string wanted(*ref);
    params.erase(k.ref);
    if (!items) {
      if (wanted.front() != '@')
        params[k.id] = wanted;
      continue;
    }
    const auto* list = get_member(*items, k.list);
    auto m = match_reference(wanted, list && list->is_array() ? list->get_array() : json::array{});
    const std::string shown = wanted.front() == '@' ? (fr ? std::string("la dernière") : std::string("the last")) : wanted;
    if (m.outcome == reference_outcome::found) {
      params[k.id] = m.id;
    } else if (m.outcome == reference_outcome::ambiguous) {
      std::string titles;
      for (const auto& t : m.titles)
        titles += (titles.empty() ? "« " : " », « ") + t;
      titles += " »";
      return std::vector<std::string>{fr ? "Plusieurs " + std::string(k.noun_fr) + "s correspondent à « " + shown + " » : "
                                             + titles + ". Laquelle voulez-vous dire ?"
                                         : "Several " + std::string(k.noun_en) + "s match \"" + shown + "\": " + titles
                                             + ". Which one do you mean?"};
    } else {
      return std::vector<std::string>{fr ? "Je ne trouve aucune " + std::string(k.noun_fr) + " « " + shown
                                             + " ». Pouvez-vous donner son titre exact ou son identifiant ?"
                                         : "I find no " + std::string(k.noun_en) + " \"" + shown
                                             + "\". Could you give its exact title or its id?"};
    }
  }
  return std::nullopt;
}

} // namespace opex::actors
