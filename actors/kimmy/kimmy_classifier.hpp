// Kimmy's rule-based pipeline (docs/kimmy.md): normalise, detect the language, classify one of
// the 13 intents with complexity and confidence, extract parameters without inventing any,
// and apply the exact escalate/direct decision rule. Plain logic: the kimmy_filter actor and
// the tests call it.
#pragma once

#include "opex/clock.hpp"
#include "opex/config.hpp"
#include "opex/contracts.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace opex::actors {

/// Kimmy's full analysis of one request.
struct kimmy_analysis {
  kimmy_payload payload;     ///< schema-valid KimmyPayload (requires_prolex set by the rule)
  kimmy_decision decision;   ///< escalate or handle directly, with reasons
  std::vector<std::string> sensitive_matches;  ///< sensitive keywords found (folded)
  /// Tool Kimmy would run directly (from the planning table) when handled directly, "" else.
  std::string quick_action_tool;
  /// The chosen intent's score (docs/kimmy.md, "Rules"); below 3 no action rule matched
  /// (a part such as "Pour la réunion de demain" names no action of its own).
  int intent_score = 0;
};

/// Input of one classification.
struct kimmy_request {
  std::string request_id;
  std::string text;
  std::string source = "api";
  std::string user_id;
  zoned_time now;
};

/// The rule-based classifier. Built once from the configuration (keywords, thresholds, mode);
/// `analyze` is const and thread-safe.
class kimmy_classifier {
public:
  explicit kimmy_classifier(const opex_config& cfg);
  ~kimmy_classifier();
  kimmy_classifier(const kimmy_classifier&) = delete;
  kimmy_classifier& operator=(const kimmy_classifier&) = delete;

  /// Classifies one request. Never fails: unclear input yields intent "other", complexity
  /// "unclear" and a low confidence, which escalates.
  kimmy_analysis analyze(const kimmy_request& req) const;

  /// The escalate/direct decision rule (docs/kimmy.md) over an analysis' payload (intent,
  /// complexity, confidence, constraints.sensitivity) and sensitive_matches; sets decision,
  /// quick_action_tool and payload.requires_prolex. Kimmy's LLM mode applies it to the model's
  /// classification.
  void decide(kimmy_analysis& analysis) const;

  /// ISO 639-1 language of `folded` text: "fr" or "en" (French on a tie: Kimmy's home language).
  static std::string detect_language(std::string_view folded);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace opex::actors
