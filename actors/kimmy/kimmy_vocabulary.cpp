// Kimmy's vocabulary (kimmy_vocabulary.hpp): policies/default/kimmy_vocabulary.yml read into
// compiled rules and word sets.
#include "kimmy_vocabulary.hpp"

#include "text_regex.hpp"

#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <stdexcept>

namespace opex::actors::kimmy_detail {

namespace json = boost::json;

namespace {

constexpr std::string_view default_path = "policies/default/kimmy_vocabulary.yml";

error_info vocabulary_error(std::string_view origin, std::string reason, int rule = -1) {
  json::object d{{"path", origin}, {"reason", reason}};
  if (rule >= 0)
    d["rule"] = rule;
  return make_error(error_code::config_error,
                    std::string(origin) + (rule >= 0 ? ": rule " + std::to_string(rule) : std::string{}) + ": " + reason,
                    std::move(d));
}

/// `pattern` with every `${name}` replaced by its term; the unknown name when one is not a term.
result<std::string> expand(std::string_view pattern, const std::map<std::string, std::string, std::less<>>& terms,
                           std::string_view origin, int rule) {
  std::string out;
  while (!pattern.empty()) {
    auto at = pattern.find("${");
    out.append(pattern.substr(0, at));
    if (at == std::string_view::npos)
      break;
    auto close = pattern.find('}', at);
    if (close == std::string_view::npos)
      return vocabulary_error(origin, "unclosed ${ in the pattern", rule);
    auto name = pattern.substr(at + 2, close - at - 2);
    auto it = terms.find(name);
    if (it == terms.end())
      return vocabulary_error(origin, "unknown term ${" + std::string(name) + "}", rule);
    out += it->second;
    pattern.remove_prefix(close + 1);
  }
  return out;
}

result<intent_rule> read_rule(const json::value& v, const std::map<std::string, std::string, std::less<>>& terms,
                              std::string_view origin, int index) {
  const auto* o = v.if_object();
  auto intent = o ? get_string(*o, "intent") : std::nullopt;
  auto pattern = o ? get_string(*o, "pattern") : std::nullopt;
  const auto* weight = o ? o->if_contains("weight") : nullptr;
  if (!intent || !pattern || !weight || !weight->is_int64() || weight->as_int64() < 1)
    return vocabulary_error(origin, "a rule needs intent, pattern and an integer weight >= 1", index);
  auto expanded = expand(*pattern, terms, origin, index);
  if (!expanded)
    return expanded.error();
  intent_rule r;
  r.intent = std::string(*intent);
  r.weight = static_cast<int>(weight->as_int64());
  const auto* trigger = o->if_contains("trigger");
  r.trigger = trigger && trigger->is_bool() && trigger->as_bool();
  try {
    r.re = text_regex(*expanded);
  } catch (const boost::regex_error& e) {
    return vocabulary_error(origin, std::string("invalid pattern: ") + e.what(), index);
  }
  return r;
}

std::set<std::string, std::less<>> word_set(const json::value* list) {
  std::set<std::string, std::less<>> out;
  if (list && list->is_array())
    for (const auto& w : list->as_array())
      if (w.is_string())
        out.emplace(w.as_string());
  return out;
}

/// `actions` {sequence, dependent, parallel, filler, verb} compiled into one regex anchored
/// where a connector may start (kimmy_vocabulary.hpp, action_split_rule).
error_info read_action_split(const json::object& actions, std::string_view origin, action_split_rule& out) {
  std::string part[5];
  const char* keys[5] = {"sequence", "dependent", "parallel", "filler", "verb"};
  for (int i = 0; i < 5; ++i) {
    auto v = get_string(actions, keys[i]);
    if (!v || v->empty())
      return vocabulary_error(origin, std::string("actions.") + keys[i] + " must be a non-empty pattern");
    part[i] = std::string(*v);
  }
  try {
    out.re = text_regex("(?:(" + part[0] + ")|(" + part[1] + ")|(" + part[2] + ")),?\\s+(?:" + part[3] + "\\s+)?("
                        + part[4] + ")\\b");
  } catch (const boost::regex_error& e) {
    return vocabulary_error(origin, std::string("invalid actions pattern: ") + e.what());
  }
  if (out.re.mark_count() != 4)
    return vocabulary_error(origin, "actions patterns may only use non-capturing groups (?:...)");
  out.present = true;
  return {};
}

} // namespace

result<vocabulary> parse_vocabulary(std::string_view yaml, std::string_view origin) {
  auto doc = parse_yaml(yaml, origin);
  if (!doc)
    return doc.error();
  const auto* root = doc->if_object();
  const auto* rules = root ? root->if_contains("rules") : nullptr;
  if (!rules || !rules->is_array())
    return vocabulary_error(origin, "the document needs a rules list");
  std::map<std::string, std::string, std::less<>> terms;
  if (const auto* t = root->if_contains("terms"); t && t->is_object())
    for (const auto& [name, pattern] : t->as_object()) {
      if (!pattern.is_string())
        return vocabulary_error(origin, "term " + std::string(name) + " must be a string");
      terms.emplace(std::string(name), std::string(pattern.as_string()));
    }
  vocabulary v;
  const auto noun = terms.find("event_noun");
  v.event_noun = text_regex("\\b(?:" + (noun == terms.end() ? std::string("(?!)") : noun->second) + "|point)\\b");
  int index = 0;
  for (const auto& r : rules->as_array()) {
    auto rule = read_rule(r, terms, origin, index++);
    if (!rule)
      return rule.error();
    v.rules.push_back(std::move(rule).value());
  }
  if (const auto* actions = root->if_contains("actions"); actions && actions->is_object())
    if (auto err = read_action_split(actions->as_object(), origin, v.action_split))
      return err;
  if (const auto* words = root->if_contains("language_words"); words && words->is_object()) {
    v.french = word_set(words->as_object().if_contains("fr"));
    v.english = word_set(words->as_object().if_contains("en"));
  }
  return v;
}

const vocabulary& default_vocabulary() {
  static const vocabulary v = [] {
    auto parsed = parse_vocabulary(embedded_file(default_path), default_path);
    if (!parsed)
      throw std::logic_error(parsed.error().message);
    return std::move(parsed).value();
  }();
  return v;
}

std::vector<intent_rule> build_rules() {
  return default_vocabulary().rules;
}

const action_split_rule& action_split() {
  return default_vocabulary().action_split;
}

const boost::regex& event_noun() {
  return default_vocabulary().event_noun;
}

const std::set<std::string, std::less<>>& french_words() {
  return default_vocabulary().french;
}

const std::set<std::string, std::less<>>& english_words() {
  return default_vocabulary().english;
}

} // namespace opex::actors::kimmy_detail
