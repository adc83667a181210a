// Kimmy's context from the journal (kimmy_history.hpp).
#include "kimmy_history.hpp"

#include "date_resolver.hpp"
#include "kimmy_entities.hpp"
#include "text_regex.hpp"

#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

namespace opex::actors {

namespace json = boost::json;
using namespace kimmy_detail;

namespace {

const json::array& list_of(const json::object& o, std::string_view key) {
  static const json::array none;
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : none;
}

std::string text_of(const json::object& o, std::string_view key) {
  return std::string(get_string(o, key).value_or(""));
}

/// The user's newest request a follow-up can repeat: an action (not a question, a greeting or
/// a change of configuration), with the parameters Kimmy read.
const json::object* last_action(const json::object& history) {
  static const std::set<std::string_view> not_actions{"other", "question_simple", "question_systeme", "config_change"};
  for (const auto& r : list_of(history, "recent"))
    if (r.is_object() && !not_actions.contains(text_of(r.get_object(), "intent"))
        && r.get_object().contains("parameters") && r.get_object().at("parameters").is_object())
      return &r.get_object();
  return nullptr;
}

/// What a follow-up's text changes in the earlier request.
struct follow_up_change {
  std::optional<date_mention> date;
  std::optional<time_mention> time;
  json::object entities;            ///< add_entities over the new text
  std::optional<std::string> name;  ///< a client or a person
};

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty())
    return;
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

/// The earlier name replaced by the new one in the title and the description.
void rename_in_texts(json::object& params, const std::string& from, const std::string& to) {
  for (auto key : {"title", "description"})
    if (auto* v = params.if_contains(key); v && v->is_string()) {
      std::string s(v->get_string());
      replace_all(s, from, to);
      *v = s;
    }
}

/// Applies `c` to one action's parameters; false when the name has no place in them.
bool change_parameters(json::object& params, const follow_up_change& c) {
  if (c.date) {
    if (params.contains("due_date"))
      params["due_date"] = format_date(c.date->date);
    if (auto* start = params.if_contains("start"); start && start->is_string() && start->get_string().size() >= 10) {
      std::string s(start->get_string());
      s.replace(0, 10, format_date(c.date->date));
      *start = s;
    }
  }
  if (auto* start = params.if_contains("start"); c.time && start && start->is_string() && start->get_string().size() >= 16) {
    std::string s(start->get_string());
    char hm[8];
    std::snprintf(hm, sizeof(hm), "%02d:%02d", c.time->hour, c.time->minute);
    s.replace(11, 5, hm);
    *start = s;
  }
  static constexpr std::string_view replaced[] = {"period", "period_start", "period_end", "month", "year",
                                                  "emails", "amounts", "duration_minutes", "urls", "repo_url",
                                                  "repo", "branch", "base"};
  for (auto key : replaced)
    if (const auto* v = c.entities.if_contains(key); v && !v->is_null())
      params[key] = *v;
  if (!c.name)
    return true;
  if (auto* client = params.if_contains("client_name"); client && client->is_string() && !client->get_string().empty()) {
    std::string earlier(client->get_string());
    *client = *c.name;
    rename_in_texts(params, earlier, *c.name);
    return true;
  }
  if (auto* people = params.if_contains("people"); people && people->is_array() && !people->get_array().empty()
                                                    && people->get_array().front().is_string()) {
    std::string earlier(people->get_array().front().get_string());
    *people = json::array{json::string(*c.name)};
    rename_in_texts(params, earlier, *c.name);
    return true;
  }
  return false;
}

/// The name a follow-up gives after its cue: "pour (le client) Hooli", "for (the customer) Acme
/// Corp": the capitalised words that follow, as written; nullopt when none.
std::optional<std::string> follow_up_name(const normalized_text& nt, std::size_t cue_end) {
  static const boost::regex intro = text_regex(
    R"(^[ ,]*(?:pour|for|avec|with|chez|at)(?: (?:le client|la cliente|the client|the customer|client|customer|notre client|our client|our customer|l'entreprise|the company))? )");
  const std::string tail = nt.folded.substr(cue_end);
  boost::smatch m;
  if (!boost::regex_search(tail, m, intro))
    return std::nullopt;
  std::size_t pos = cue_end + static_cast<std::size_t>(m.length());
  std::string name;
  static const boost::regex not_name = text_regex(
    R"(^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday|demain|tomorrow|aujourd'hui|today|le|la|les|the|ce|cette|this|next|last)$)");
  while (pos < nt.folded.size()) {
    auto next = std::min(nt.folded.find(' ', pos), nt.folded.size());
    auto word = nt.original(pos, next);
    while (!word.empty() && is_space_or_punct(word.back()))
      word.pop_back();
    if (word.empty() || !is_upper_start(word) || boost::regex_match(nt.folded.substr(pos, next - pos), not_name))
      break;
    name += (name.empty() ? "" : " ") + word;
    pos = next + 1;
  }
  return name.empty() ? std::nullopt : std::optional<std::string>(name);
}

std::string follow_up_summary(const json::object& earlier, const std::string& text, bool french) {
  auto excerpt = truncate_utf8(text_of(earlier, "text"), 160);
  auto now = truncate_utf8(text, 200);
  return french ? "Suite de la demande « " + excerpt + " » : " + now : "Follow-up of the request \"" + excerpt + "\": " + now;
}

} // namespace

std::vector<std::string> history_refs_of(const json::object& history, const kimmy_payload& payload,
                                         const std::string& repeated_request) {
  std::vector<std::string> refs;
  std::set<std::string> seen;
  auto add_request = [&](const std::string& id) {
    if (!id.empty() && id != payload.request_id && seen.insert(id).second)
      refs.push_back("request:" + id);
  };
  add_request(repeated_request);
  for (auto key : {"same_intent", "recent"})
    for (const auto& r : list_of(history, key))
      if (r.is_object() && text_of(r.get_object(), "intent") == payload.intent && seen.size() < 3)
        add_request(text_of(r.get_object(), "request_id"));
  for (const auto& tool : payload.suggested_tools) {
    int n = 0;
    for (const auto& f : list_of(history, "failures"))
      if (f.is_object() && text_of(f.get_object(), "tool") == tool && n++ < 3)
        refs.push_back("failure:" + tool + ":" + text_of(f.get_object(), "request_id"));
  }
  return refs;
}

std::optional<std::size_t> find_follow_up(const std::string& folded) {
  static const boost::regex cue = text_regex(
    R"(^(?:(?:et|and|ok|okay|alors|maintenant|now|puis|then|please|svp|stp|bon|parfait|great|thanks|merci|)"
    R"(peux-tu|peux tu|tu peux|can you|could you|pourrais-tu)[ ,!.]+){0,3})"
    R"((?:(?:fais|refais|faites|fait|do|redo)(?:-moi| moi| me)? )?(?:exactement |exactly |encore )?)"
    R"((?:la meme chose|la meme|pareil|idem|de meme|the same thing|the same|same thing|same again|same for|it again|that again))"
    R"(\b)");
  boost::smatch m;
  if (words_of(folded).size() > 14 || !boost::regex_search(folded, m, cue))
    return std::nullopt;
  return static_cast<std::size_t>(m.position() + m.length());
}

std::string apply_follow_up(kimmy_analysis& out, const json::object& history, const zoned_time& now) {
  auto& p = out.payload;
  const auto nt = normalize_text(p.raw_input);
  const auto cue_end = find_follow_up(nt.folded);
  const auto* earlier = cue_end ? last_action(history) : nullptr;
  if (!earlier)
    return {};
  const bool french = p.language == "fr";
  const auto intent = text_of(*earlier, "intent");
  follow_up_change c;
  c.date = find_date(nt.folded, now.local_date(), french);
  c.time = find_time(nt.folded);
  std::vector<span> cuts;
  add_entities(nt, intent, now.local_date(), c.entities, cuts);
  if (auto client = find_client_name(nt))
    c.name = *client;
  else
    c.name = follow_up_name(nt, *cue_end);

  json::object params = earlier->at("parameters").get_object();
  if (!change_parameters(params, c))
    return {};
  if (auto* actions = params.if_contains("actions"); actions && actions->is_array())
    for (auto& a : actions->get_array())
      if (auto* ap = a.is_object() ? a.get_object().if_contains("parameters") : nullptr; ap && ap->is_object())
        change_parameters(ap->get_object(), c);  // a name with no place in one action stays out of it
  const auto id = text_of(*earlier, "request_id");
  params["follow_up_of"] = id;
  p.intent = intent;
  p.parameters = std::move(params);
  p.suggested_tools.clear();
  for (const auto& t : list_of(*earlier, "tools"))
    if (t.is_string())
      p.suggested_tools.emplace_back(t.get_string());
  p.complexity = p.parameters.contains("actions") ? "complex" : "simple";
  p.confidence = 0.75;  // read from the history, not the text: Prolex plans it (docs/kimmy.md)
  p.kimmy_summary = follow_up_summary(*earlier, p.raw_input, french);
  return id;
}

void add_history(const kimmy_classifier& kimmy, kimmy_analysis& out, const json::object& history,
                 const zoned_time& now) {
  auto repeated = apply_follow_up(out, history, now);
  out.payload.history_refs = history_refs_of(history, out.payload, repeated);
  kimmy.decide(out);
  if (repeated.empty())
    return;
  out.decision.reasons.push_back("follow-up of request " + repeated + ", read from the journal");
  out.decision.requires_prolex = true;
  out.decision.handled_directly = false;
  out.quick_action_tool.clear();
  out.payload.requires_prolex = true;
}

} // namespace opex::actors
