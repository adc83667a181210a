// Kimmy's rules: intents, parameters, complexity, confidence and the escalation decision.
#include "kimmy_classifier.hpp"

#include "kimmy_actions.hpp"
#include "kimmy_entities.hpp"
#include "kimmy_intents.hpp"
#include "kimmy_text.hpp"
#include "kimmy_vocabulary.hpp"
#include "text_regex.hpp"

#include "date_resolver.hpp"
#include "text_normalizer.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

namespace opex::actors {

namespace json = boost::json;

using namespace kimmy_detail;

namespace {

/// Reads the parameters of one intent from the text, around the trigger phrase and without the
/// spans already taken (dates, times, priority, tags).
struct parameter_reader {
  const normalized_text& nt;
  const std::string& f;
  std::map<std::string_view, std::size_t>& trigger_end;
  std::map<std::string_view, std::size_t>& trigger_begin;
  const std::vector<span>& cuts;
  std::optional<span> q;  ///< the quoted segment, if any
  const std::optional<time_mention>& time;
  const std::optional<date_mention>& date;
  const zoned_time& now;

  std::size_t after_trigger(std::string_view name) const {
    return trigger_end.contains(name) ? trigger_end.at(name) : 0;
  }
  std::string phrase(std::size_t begin, std::size_t end) const {
    return capitalize_first(tidy_phrase(original_without(nt, begin, end, cuts)));
  }

  /// task_create, calendar_event, doc_structuring: a title (and a start, a duration, a doc id).
  void titled(std::string_view intent, json::object& params) {
      std::string title;
      if (q && intent != "doc_structuring") {
        title = nt.original(q->begin, q->end);
      } else {
        std::size_t from = after_trigger(intent);
        // "Rappelle-moi dans deux jours de relancer X": the date sits between trigger and object.
        title = phrase(from, f.size());
        // "Il faut imprimer les badges avant jeudi, fais-en une tâche": the task was said first.
        static const boost::regex nothing_after = text_regex(
          R"(^(?:\s|[,.!?;]|s'il te plait|s'il vous plait|stp|svp|please|merci|thanks)*$)");
        static const boost::regex pointing = text_regex(
          R"(\b(?:that|it|this|ca|cela)\b|-(?:en|le|la)\b|\bfais en\b|\b(?:la|the) (?:tache|task)\b)");
        if (intent == "task_create" && trigger_begin.contains(intent) && trigger_begin[intent] > 0
            && boost::regex_match(f.substr(from), nothing_after)
            && boost::regex_search(f.substr(trigger_begin[intent], from - trigger_begin[intent]), pointing))
          title = phrase(0, trigger_begin[intent]);
        if (intent == "calendar_event" && trigger_end.contains("calendar_event")) {
          // Keep the event noun: "planifie une réunion avec Paul" -> "Réunion avec Paul".
          boost::smatch m;
          std::string tail = f.substr(trigger_begin["calendar_event"]);
          if (boost::regex_search(tail, m, event_noun()))
            title = phrase(trigger_begin["calendar_event"] + static_cast<std::size_t>(m.position()), f.size());
          // "Add an event: Team offsite" -> "Team offsite"
          if (auto colon = title.find(':'); colon != std::string::npos
                                            && boost::regex_match(fold_text(title.substr(0, colon)), event_noun()))
            title = capitalize_first(tidy_phrase(title.substr(colon + 1)));
        }
      }
      // "pour le client Dupont : Envoyer le devis" -> "Envoyer le devis".
      if (auto colon = title.find(':'); colon != std::string::npos && intent == "task_create") {
        auto head = fold_text(title.substr(0, colon));
        static const boost::regex list_head = text_regex(
          "^(?:(?:on|to|in|onto|sur|dans|a) )?(?:my|ma|the|la|mes) (?:list|liste|todo list|to-do list|todo|to-do|taches)$");
        if (contains_word(head, "client") || contains_word(head, "customer") || boost::regex_match(head, list_head))
          title = capitalize_first(tidy_phrase(title.substr(colon + 1)));
      }
      if (!title.empty())
        params["title"] = truncate_utf8(title, 480);
      if (intent == "doc_structuring") {  // the document, not a phrase cut from the sentence
        params["title"] = nullptr;
        if (auto ref = find_reference(nt, item_kind::note, q); !ref.empty())
          params["doc_ref"] = ref;
      }
      if (intent == "calendar_event") {
        if (time && date) {
          char buf[64];
          auto off = now.offset.count();
          std::snprintf(buf, sizeof(buf), "%sT%02d:%02d:00%c%02d:%02d", format_date(date->date).c_str(),
                        time->hour, time->minute, off < 0 ? '-' : '+', static_cast<int>(std::abs(off) / 60),
                        static_cast<int>(std::abs(off) % 60));
          params["start"] = buf;
        }
      }
  }

  /// doc_note: the content and a title from its first words.
  void note(std::string_view intent, json::object& params) {
      std::size_t from = after_trigger(intent);
      auto content = tidy_note(original_without(nt, from, f.size(), {}));
      std::string title;
      static const boost::regex labelled = text_regex(
        R"(\b(?:title|titre)\s*:?\s+(.{2,120}?)\s*[,;]?\s+(?:content|contenu|body|texte|text)\s*:\s*(.+)$)");
      static const boost::regex with = text_regex(R"(^\s*(?:avec|with|contenant|containing|comprenant)\s*:?\s*)");
      boost::smatch m;
      if (!q && boost::regex_search(f, m, labelled)) {  // "title Packing list, content: ..."
        title = tidy_phrase(nt.original(static_cast<std::size_t>(m.position(1)), static_cast<std::size_t>(m.position(1) + m.length(1))));
        content = tidy_note(nt.original(static_cast<std::size_t>(m.position(2)), f.size()));
      } else if (q) {  // « Titre » : contenu, « Titre » avec : contenu
        title = nt.original(q->begin, q->end);
        auto rest = f.find_first_not_of(" \"'", q->end);
        const std::string after = rest == std::string::npos ? std::string{} : f.substr(rest);
        if (boost::regex_search(after, m, with) && m.length(0) > 0 && m.length(0) < static_cast<long>(after.size()))
          content = tidy_note(nt.original(rest + static_cast<std::size_t>(m.length(0)), f.size()));
        else
          content = rest != std::string::npos && f[rest] == ':' ? tidy_note(nt.original(rest + 1, f.size())) : title;
      } else if (auto colon = content.find(':'); colon != std::string::npos && colon > 0 && colon < 80) {
        title = titled_head(content.substr(0, colon));  // Titre : contenu
        content = tidy_note(content.substr(colon + 1));
      }
      while (!content.empty() && (content.back() == '?' || content.back() == ' '))
        content.pop_back();  // "...with: Dune, Neuromancer?" asks, the note does not
      if (!title.empty() && !content.empty()) {
        params["description"] = truncate_utf8(content, 4000);  // as written after the colon
        params["title"] = truncate_utf8(capitalize_first(title), 200);
        return;
      }
      if (!content.empty()) {
        content = capitalize_first(content);
        params["description"] = truncate_utf8(content, 4000);
        // Title: the first words of the note.
        int words = 0;
        for (std::size_t i = 0; i < content.size() && words < 8; ++i) {
          if (content[i] == ' ')
            ++words;
          if (words < 8)
            title.push_back(content[i]);
        }
        const bool cut = words >= 8;
        title = capitalize_first(tidy_phrase(title));
        params["title"] = truncate_utf8(cut ? title + "…" : title, 200);
      }
  }

  /// task_update: the task (its id: "la tâche 12"; else a reference: quoted, or named) and a
  /// completed status.
  void task_update(json::object& params) {
      static const boost::regex id = text_regex("\\b(?:la tache|ma tache|the task|my task|task|tache)(?: #| n°| no | id )?\\s*([a-z0-9_-]*\\d[a-z0-9_-]*)\\b");
      boost::smatch m;
      params["task_id"] = nullptr;
      if (!q && boost::regex_search(f, m, id))
        params["task_id"] = nt.original(static_cast<std::size_t>(m.position(std::size_t{1})),
                                        static_cast<std::size_t>(m.position(std::size_t{1}) + m.length(1)));
      else if (auto ref = find_reference(nt, item_kind::task, q); !ref.empty())
        params["task_ref"] = ref;  // Prolex finds it among the tenant's tasks
      static const boost::regex done = text_regex(
        "\\b(?:fait|faite|terminee?|termine|done|complete|completed|finished|finie?|close|closed|coche|cocher|cochee|"
        "check off|tick off|checked off|ticked off)\\b");
      if (boost::regex_search(f, done))
        params["status"] = "completed";
  }

  /// client_workflow, reporting: a workflow id.
  void workflow(json::object& params) {
      static const boost::regex wf = text_regex("\\bworkflow (?:id )?([a-z0-9_-]*\\d[a-z0-9_-]*)\\b");
      boost::smatch m;
      if (boost::regex_search(f, m, wf))
        params["workflow_id"] = nt.original(static_cast<std::size_t>(m.position(std::size_t{1})),
                                            static_cast<std::size_t>(m.position(std::size_t{1}) + m.length(1)));
  }
};

bool inside(span s, const std::optional<span>& q) { return q && s.begin >= q->begin && s.end <= q->end; }

/// Words in Title Case followed by another capitalised word, not at the start: part of a name.
bool names_something(const normalized_text& nt, span s) {
  const std::string words = nt.original(s.begin, s.end);
  const std::string next = nt.original(s.end, std::min(nt.folded.size(), s.end + 3));
  if (s.begin == 0 || !is_upper_start(words) || !is_upper_start(next))
    return false;
  for (std::size_t i = words.find(' '); i != std::string::npos; i = words.find(' ', i + 1))
    if (!is_upper_start(std::string_view(words).substr(i + 1)))
      return false;
  return true;
}

/// The parameters Kimmy reads in the text for `intent` (never invented: absent ones are null).
json::object extract_parameters(const normalized_text& nt, std::string_view intent, intent_scores& sc,
                                const std::optional<time_mention>& time, const std::optional<date_mention>& date,
                                const zoned_time& now, const std::optional<span>& q) {
  const std::string& f = nt.folded;
  json::object params;
  std::vector<span> cuts;
  if (date) {
    params["due_date"] = format_date(date->date);
    cuts.push_back({date->begin, date->end});
  } else {
    params["due_date"] = nullptr;
  }
  if (time)
    cuts.push_back({time->begin, time->end});
  auto priority = find_priority(f);
  if (priority && (inside(priority->where, q) || names_something(nt, priority->where)))
    priority.reset();  // « High Priority Club », "the High Priority Club membership"
  if (priority) {
    params["priority"] = priority->value;
    cuts.push_back(priority->where);
  } else {
    params["priority"] = nullptr;
  }
  auto client = find_client_name(nt);
  params["client_name"] = client ? json::value(*client) : json::value(nullptr);
  json::array tags;
  for (std::size_t pos = f.find('#'); pos != std::string::npos; pos = f.find('#', pos + 1)) {
    auto end = pos + 1;
    while (end < f.size() && ((f[end] >= 'a' && f[end] <= 'z') || (f[end] >= '0' && f[end] <= '9')
                              || f[end] == '_' || f[end] == '-'))
      ++end;
    if (end > pos + 1) {
      tags.emplace_back(nt.original(pos + 1, end));
      cuts.push_back({pos, end});
    }
  }
  params["tags"] = std::move(tags);
  params["title"] = nullptr;
  params["description"] = nullptr;
  add_entities(nt, intent, now.local_date(), params, cuts);
  // A date only where the intent takes one: "Il fait beau aujourd'hui" has no due date.
  static const std::set<std::string_view> dated{"task_create", "task_update", "calendar_event", "doc_note",
                                                "client_workflow", "dev_workflow", "doc_structuring", "reporting"};
  if (!dated.contains(intent))
    params["due_date"] = nullptr;

  parameter_reader reader{nt, f, sc.trigger_end, sc.trigger_begin, cuts, q, time, date, now};
  if (intent == "task_create" || intent == "calendar_event" || intent == "doc_structuring")
    reader.titled(intent, params);
  else if (intent == "doc_note")
    reader.note(intent, params);
  else if (intent == "task_update")
    reader.task_update(params);
  else if (intent == "client_workflow" || intent == "reporting")
    reader.workflow(params);
  return params;
}

/// constraints {sensitivity, can_use_web} and the sensitive words found.
json::object find_constraints(const std::string& f, const std::vector<std::pair<std::string, std::string>>& sensitive,
                              const std::vector<std::string>& suspicious, std::vector<std::string>& sensitive_found) {
  std::set<std::string> groups;
  for (const auto& [kw, group] : sensitive) {
    if (contains_word(f, kw) || contains_word(f, kw + "s")) {
      sensitive_found.push_back(kw);
      groups.insert(group);
    }
  }
  for (const auto& s : suspicious)
    if (f.find(s) != std::string::npos) {
      sensitive_found.push_back(s);
      groups.insert("suspicious");
    }
  std::string sensitivity = "low";
  if (groups.contains("security") || groups.contains("suspicious"))
    sensitivity = "high";
  else if (!groups.empty())
    sensitivity = "medium";
  json::object constraints;
  constraints["sensitivity"] = sensitivity;
  static const boost::regex no_web = text_regex("\\b(?:sans internet|sans recherche web|hors ligne|offline|without (?:the )?web|no web search|without searching)\\b");
  constraints["can_use_web"] = !boost::regex_search(f, no_web);
  return constraints;
}

/// How hard the request is, and what the confidence depends on.
struct complexity_verdict {
  std::string complexity;
  bool required_ok = true;  ///< the intent's required parameters are present
  bool multi_action = false;
};

bool has_parameter(const json::object& parameters, std::string_view key) {
  const auto* v = get_member(parameters, key);
  return v && !v->is_null() && !(v->is_string() && v->get_string().empty());
}

complexity_verdict judge_complexity(const std::string& f, std::string_view intent,
                                    const std::map<std::string_view, int>& score, const json::object& parameters) {
  complexity_verdict v;
  static const boost::regex multi = text_regex("\\b(?:puis|ensuite|et apres|et aussi|apres ca|and then|then|after that|also|et enfin|finally)\\b|;");
  int strong_intents = 0;
  for (const auto& [name, s] : score)
    if (s >= 5 && name != "question_simple" && name != "other")
      ++strong_intents;
  v.multi_action = boost::regex_search(f, multi) || strong_intents >= 2;
  static const std::set<std::string_view> simple_intents{"task_create", "task_update", "calendar_event",
                                                         "doc_note", "question_simple"};
  auto has = [&](std::string_view key) { return has_parameter(parameters, key); };
  if (intent == "task_create" || intent == "doc_note")
    v.required_ok = has("title");
  else if (intent == "calendar_event")
    v.required_ok = has("title") && has("due_date");
  else if (intent == "task_update")
    v.required_ok = has("task_id");
  if (intent == "other" || words_of(f).size() < 2)
    v.complexity = "unclear";
  else if (v.multi_action || !simple_intents.contains(intent))
    v.complexity = "complex";
  else if (!v.required_ok)
    v.complexity = "unclear";
  else
    v.complexity = "simple";

  return v;
}

double confidence_of(const std::string& f, std::string_view intent, const intent_choice& c, const complexity_verdict& v) {
  const int top = c.top, second = c.second;
  double conf;
  if (intent == "other") {
    conf = top >= 3 ? 0.6 : 0.3;
  } else {
    conf = 0.55 + 0.06 * std::min(top, 6) + 0.04 * std::min(top - second, 4);
    if (!v.required_ok)
      conf -= 0.15;
    if (v.multi_action)
      conf -= 0.05;
    if (words_of(f).size() < 3)
      conf -= 0.1;
  }
  conf = std::clamp(conf, 0.05, 0.98);
  return std::round(conf * 100.0) / 100.0;
}

/// The one-line summary for Prolex and the journal, in the request's language.
std::string summary_of(const kimmy_payload& p, std::string_view intent, const normalized_text& nt, bool french) {
  auto has = [&](std::string_view key) { return has_parameter(p.parameters, key); };
  auto title = get_member(p.parameters, "title");
  std::string t = title && title->is_string() ? std::string(title->get_string()) : std::string{};
  std::string due = has("due_date") ? std::string(p.parameters.at("due_date").get_string()) : std::string{};
  std::string excerpt = truncate_utf8(nt.clean, 300);
  std::string summary;
  if (french) {
    if (intent == "task_create" && !t.empty())
      summary = "Créer une tâche « " + t + " »" + (due.empty() ? "" : " pour le " + due) + ".";
    else if (intent == "calendar_event" && !t.empty())
      summary = "Planifier l'événement « " + t + " »" + (due.empty() ? "" : " le " + due) + ".";
    else if (intent == "doc_note" && !t.empty())
      summary = "Créer une note « " + t + " ».";
    else
      summary = "Demande (" + p.intent + ") : " + excerpt;
  } else {
    if (intent == "task_create" && !t.empty())
      summary = "Create a task \"" + t + "\"" + (due.empty() ? "" : " due " + due) + ".";
    else if (intent == "calendar_event" && !t.empty())
      summary = "Schedule the event \"" + t + "\"" + (due.empty() ? "" : " on " + due) + ".";
    else if (intent == "doc_note" && !t.empty())
      summary = "Create a note \"" + t + "\".";
    else
      summary = "Request (" + p.intent + "): " + excerpt;
  }
  while (summary.size() < 10)
    summary += ".";
  return truncate_utf8(summary, 490);
}

} // namespace

struct kimmy_classifier::impl {
  std::vector<intent_rule> rules = build_rules();
  const opex_config& cfg;
  std::vector<std::pair<std::string, std::string>> sensitive;  // folded keyword, group
  std::vector<std::string> suspicious{"rm -rf", "drop table", "delete from", "truncate table",
                                      "format c:", "mkfs", "chmod 777"};

  /// One action's analysis, without the decision.
  kimmy_analysis analyze_one(const kimmy_request& req, const normalized_text& nt) const;

  explicit impl(const opex_config& c) : cfg(c) {
    for (const auto& [group, words] : c.system.sensitive_keywords)
      for (const auto& w : words)
        sensitive.emplace_back(fold_text(w), group);
    for (const auto& w : c.kimmy.extra_sensitive_keywords)
      sensitive.emplace_back(fold_text(w), "extra");
  }
};

kimmy_classifier::kimmy_classifier(const opex_config& cfg) : impl_(std::make_unique<impl>(cfg)) {}

kimmy_classifier::~kimmy_classifier() = default;

std::string kimmy_classifier::detect_language(std::string_view folded) {
  int fr = 0, en = 0;
  for (const auto& w : words_of(folded)) {
    if (french_words().contains(w))
      ++fr;
    if (english_words().contains(w))
      ++en;
    // Elisions are French: d'un, l'architecture, qu'il...
    if (w.size() > 2 && w[1] == '\'' && (w[0] == 'd' || w[0] == 'l' || w[0] == 'j' || w[0] == 'n'
                                         || w[0] == 'm' || w[0] == 's' || w[0] == 't' || w[0] == 'c'))
      ++fr;
  }
  return en > fr ? "en" : "fr";
}

kimmy_analysis kimmy_classifier::impl::analyze_one(const kimmy_request& req, const normalized_text& nt) const {
  const std::string& f = nt.folded;
  kimmy_analysis out;
  auto& p = out.payload;
  p.request_id = req.request_id.empty() ? make_uuid_v7() : req.request_id;
  p.source = req.source.empty() ? "api" : req.source;
  p.raw_input = req.text;
  p.user_id = req.user_id;
  p.language = detect_language(f);
  const bool french = p.language == "fr";

  // A URL or an e-mail address says no intent ("Clone https://github.com/monday-labs/calendar-sync").
  // Only a URL's host is kept ("github.com" says a repository).
  static const boost::regex addresses = text_regex(R"((?:https?://|www\.)([^/\s]*)\S*|\S+@\S+)");
  const std::string unaddressed = boost::regex_replace(f, addresses, [](const boost::smatch& m) {
    std::string host = m[1].matched ? " " + m[1].str() : std::string{};
    return host + std::string(static_cast<std::size_t>(m.length()) - host.size(), ' ');
  });
  auto sc = score_rules(unaddressed, rules);
  auto time = find_time(f);
  auto date = find_date(f, req.now.local_date(), french);
  // A date inside a quoted title is part of the title ("Regarder le film « Lundi matin »"); the
  // task's own date is outside it ("« Fêter les 80 ans de Mamie, née le 3 mars » pour samedi").
  auto q = quoted(f);
  if (!q && !french)
    q = single_quoted(f);
  if (date && inside({date->begin, date->end}, q))
    date = find_date(without_span(f, *q), req.now.local_date(), french);
  if (time && sc.score.contains("calendar_event"))
    sc.score["calendar_event"] += 1;
  const auto choice = choose_intent(f, sc);
  const auto intent = choice.intent;
  // "Demain j'ai une grosse journée, alors rappelle-moi ce soir de ...": the action's own date.
  if (auto tb = sc.trigger_begin.find(intent); date && tb != sc.trigger_begin.end() && date->begin < tb->second)
    if (auto later = find_date(std::string_view(f).substr(tb->second), req.now.local_date(), french)) {
      later->begin += tb->second;
      later->end += tb->second;
      if (!inside({later->begin, later->end}, q))
        date = later;
    }
  p.intent = std::string(intent);
  out.intent_score = choice.top;
  p.parameters = extract_parameters(nt, intent, sc, time, date, req.now, q);
  p.constraints = find_constraints(f, sensitive, suspicious, out.sensitive_matches);
  // A quoted title, a URL or an e-mail address names no action: "Create a note « Onboarding
  // checklist »" is one note.
  const std::string plain = q ? without_span(unaddressed, *q) : unaddressed;
  auto plain_scores = plain == unaddressed ? sc : score_rules(plain, rules);
  // "Remind me on Monday to set up a meeting": a reminder's or a note's words are its content.
  if ((intent == "task_create" || intent == "doc_note") && sc.trigger_end.contains(intent))
    for (const auto& [name, at] : plain_scores.first_strong)
      if (name != intent && at >= sc.trigger_end.at(intent))
        plain_scores.score[name] = std::min(plain_scores.score[name], 4);
  const auto verdict = judge_complexity(f, intent, plain_scores.score, p.parameters);
  p.complexity = verdict.complexity;
  auto weighed = choice;  // the runner-up among the readings left once content is set aside
  weighed.second = 0;
  for (const auto& [name, score] : plain_scores.score)
    if (name != intent)
      weighed.second = std::max(weighed.second, score);
  weighed.second = std::min(weighed.second, choice.second);
  p.confidence = confidence_of(f, intent, weighed, verdict);
  // Suggested tools, from the planning table.
  if (auto it = cfg.prolex.planning.find(p.intent); it != cfg.prolex.planning.end())
    if (auto tool = choose_tool(it->second, cfg.catalogue, f); !tool.empty())
      p.suggested_tools.push_back(std::move(tool));
  p.kimmy_summary = summary_of(p, intent, nt, french);
  return out;
}

kimmy_analysis kimmy_classifier::analyze(const kimmy_request& req) const {
  const auto nt = normalize_text(req.text);
  auto out = impl_->analyze_one(req, nt);
  // Several actions: each part classified on its own (docs/kimmy.md, "Several actions").
  auto cuts = split_actions(nt.folded, action_split());
  if (auto listed = listed_actions(nt); listed.size() >= 2) {
    std::vector<kimmy_analysis> parts;
    for (const auto& text : listed) {
      kimmy_request one = req;
      one.text = text;
      parts.push_back(impl_->analyze_one(one, normalize_text(text)));
    }
    combine_actions(out, parts, std::vector<action_part>(parts.size()));
  } else if (cuts.size() >= 2) {
    std::vector<kimmy_analysis> parts;
    auto analyze_parts = [&] {
      parts.clear();
      for (auto& c : cuts) {
        c.after_previous = c.after_previous || (&c != &cuts.front() && mentions_result(nt, c));
        kimmy_request one = req;
        // "crée une note avec le résultat": the result is the earlier step's, not the note's text.
        one.text = c.after_previous ? without_result_phrase(nt, c) : nt.original(c.begin, c.end);
        parts.push_back(impl_->analyze_one(one, normalize_text(one.text)));
      }
    };
    analyze_parts();
    // "Pour le client Godin, fais tourner le workflow ... et ajoute une tâche": the first part
    // names no action, it is the next one's context.
    if (cuts.size() >= 2 && parts.front().intent_score < 3) {
      cuts[1].begin = cuts[0].begin;
      cuts.erase(cuts.begin());
      analyze_parts();
    }
    if (cuts.size() >= 2 && std::all_of(parts.begin(), parts.end(), [](const kimmy_analysis& a) { return is_plannable_action(a); })
        && !repeats_one_action(parts) && !refers_back(parts, nt, cuts))
      combine_actions(out, parts, cuts);
  }
  decide(out);
  return out;
}


void kimmy_classifier::decide(kimmy_analysis& out) const {
  const auto& cfg = impl_->cfg;
  auto& p = out.payload;
  const std::string& intent = p.intent;
  const auto& sensitive_found = out.sensitive_matches;
  std::string sensitivity(get_string(p.constraints, "sensitivity").value_or("low"));
  out.decision = kimmy_decision{};
  out.quick_action_tool.clear();
  // docs/kimmy.md, the escalation rule
  auto& d = out.decision;
  const auto& sens_intents = cfg.system.sensitive_intents;
  bool sensitive_intent = std::find(sens_intents.begin(), sens_intents.end(), p.intent) != sens_intents.end();
  if (p.complexity == "complex")
    d.reasons.emplace_back("complexity is complex");
  if (p.complexity == "unclear")
    d.reasons.emplace_back("complexity is unclear");
  if (p.confidence < 0.80)
    d.reasons.emplace_back("confidence below 0.80");
  if (sensitive_intent)
    d.reasons.emplace_back("intent " + p.intent + " always goes to Prolex");
  for (const auto& kw : sensitive_found)
    d.reasons.push_back("sensitive keyword: " + kw);
  // Prolex reads the tenant's items: a task names the event it prepares in its notes.
  for (auto ref : {"task_ref", "doc_ref", "event_ref"})
    if (p.parameters.contains(ref))
      d.reasons.push_back(std::string("names an item without its id (") + ref + "): Prolex resolves it");
  bool escalate = !d.reasons.empty();
  if (!escalate) {
    static const std::set<std::string_view> direct_intents{"task_create", "doc_note", "question_simple"};
    std::string tool = p.suggested_tools.empty() ? std::string{} : p.suggested_tools.front();
    const auto& quick = cfg.system.allowed_quick_actions;
    // A plain question is answered; a search (WEB_SEARCH) is a tool like any (allowed_quick_actions).
    bool reversible = (intent == "question_simple" && tool.empty())
                      || (!tool.empty() && std::find(quick.begin(), quick.end(), tool) != quick.end());
    if (!direct_intents.contains(intent))
      d.reasons.emplace_back("intent " + p.intent + " is not a quick action");
    else if (p.confidence < cfg.system.min_confidence_for_direct_action)
      d.reasons.emplace_back("confidence below min_confidence_for_direct_action");
    else if (!reversible)
      d.reasons.emplace_back("no reversible quick action for this intent");
    else if (cfg.system.kimmy_mode != "quick_actions")
      d.reasons.emplace_back("Kimmy mode is " + cfg.system.kimmy_mode);
    else if (sensitivity != "low")
      d.reasons.emplace_back("sensitivity above low");
    else {
      d.requires_prolex = false;
      d.handled_directly = true;
      d.reasons.emplace_back(intent == "question_simple" ? "simple question answered by Kimmy"
                                                         : "reversible quick action " + tool);
      out.quick_action_tool = tool;
    }
  }
  p.requires_prolex = d.requires_prolex;
}

} // namespace opex::actors
