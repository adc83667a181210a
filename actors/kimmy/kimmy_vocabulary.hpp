// Kimmy's vocabulary: the weighted intent rules (regular expressions over folded text) and the
// common words that tell French from English. The data is policies/default/kimmy_vocabulary.yml
// (embedded in the binaries); this file only reads it (docs/kimmy.md, "Rules").
#pragma once

#include "opex/error.hpp"

#include <boost/regex.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors::kimmy_detail {

/// One weighted rule: a match adds `weight` to `intent`'s score.
struct intent_rule {
  std::string intent;
  boost::regex re;
  int weight = 1;
  bool trigger = false;  ///< marks where the action phrase ends (parameters follow it)
};

/// Where a request asking for several actions is cut (`actions` in the vocabulary): one
/// regex whose groups are 1 sequence, 2 dependent, 3 parallel (the connector) and 4 the verb
/// that starts the next action.
struct action_split_rule {
  boost::regex re;
  bool present = false;  ///< false when the vocabulary has no `actions` section
};

/// The vocabulary as read from YAML.
struct vocabulary {
  std::vector<intent_rule> rules;                    ///< in file order
  action_split_rule action_split;
  std::set<std::string, std::less<>> french, english;  ///< folded words
  /// The `event_noun` term (or `point`) as one word: where an event's title starts
  /// ("planifie une réunion avec Paul" -> "Réunion avec Paul").
  boost::regex event_noun;
};

/// Reads a vocabulary document: `terms` {name: pattern}, `rules` [{intent, pattern, weight
/// (integer >= 1), trigger?}] where a pattern may name a term as `${name}`, `language_words`
/// {fr: [..], en: [..]}, `actions` {sequence, dependent, parallel, filler, verb} (patterns with
/// non-capturing groups only). CONFIG_ERROR (details: path, rule index, reason) for invalid YAML, a
/// missing field, an unknown term or a pattern Boost.Regex refuses.
result<vocabulary> parse_vocabulary(std::string_view yaml, std::string_view origin);

/// The embedded vocabulary, read once. Throws std::logic_error when it does not read (a defect
/// of the build, which the unit tests catch).
const vocabulary& default_vocabulary();

/// Every intent rule of the embedded vocabulary, compiled once per classifier.
std::vector<intent_rule> build_rules();

/// The embedded vocabulary's action split rule.
const action_split_rule& action_split();

/// The embedded vocabulary's event nouns (vocabulary::event_noun).
const boost::regex& event_noun();

/// Common French and English words (folded) for language detection.
const std::set<std::string, std::less<>>& french_words();
const std::set<std::string, std::less<>>& english_words();

} // namespace opex::actors::kimmy_detail
