// Kimmy's intent scoring (docs/kimmy.md, "Rules"): every vocabulary rule's matches over the
// folded text, then the chosen intent with its score and the runner-up's. Plain logic.
#pragma once

#include "kimmy_text.hpp"
#include "kimmy_vocabulary.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors::kimmy_detail {

/// Every rule's matches: scores per intent, where each intent's trigger phrase begins and ends,
/// and the earliest strong (weight >= 5) match per intent.
struct intent_scores {
  std::map<std::string_view, int> score;
  std::map<std::string_view, std::size_t> trigger_end;
  std::map<std::string_view, std::size_t> trigger_begin;
  std::map<std::string_view, std::size_t> first_strong;
  std::map<std::string_view, std::size_t> first_strong_end;  ///< where that earliest match ends (its shortest)
};

/// Scores `f` (folded text) with `rules`, in order.
intent_scores score_rules(const std::string& f, const std::vector<intent_rule>& rules);

/// The folded text with a span's inside blanked (its positions kept).
std::string without_span(const std::string& f, span s);

/// The chosen intent, its score and the runner-up's.
struct intent_choice {
  std::string_view intent = "other";
  int top = 0;
  int second = 0;
};

/// The intent of `f` from its scores: the highest in precedence order, the earliest strong
/// action when there are several (from one verb, the nearest object), a question form over
/// weak actions, `other` below a score of 2.
intent_choice choose_intent(const std::string& f, intent_scores& sc);

} // namespace opex::actors::kimmy_detail
