// Kimmy's vocabulary: the weighted intent rules (regular expressions over folded text) and the
// common words that tell French from English. Data, no logic (docs/kimmy.md).
#pragma once

#include <boost/regex.hpp>

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors::kimmy_detail {

/// One weighted rule: a match adds `weight` to `intent`'s score.
struct intent_rule {
  std::string_view intent;
  boost::regex re;
  int weight;
  bool trigger;  ///< marks where the action phrase ends (parameters follow it)
};

/// Every intent rule, compiled once per classifier.
std::vector<intent_rule> build_rules();

/// Common French and English words (folded) for language detection.
const std::set<std::string, std::less<>>& french_words();
const std::set<std::string, std::less<>>& english_words();

} // namespace opex::actors::kimmy_detail
