// Kimmy's LLM mode (docs/llm.md): the model classifies (language, intent, complexity,
// confidence, summary, parameters); opex keeps what the rules know better (normalisation,
// sensitive keywords, constraints), drops parameters the text does not support, and applies the
// same escalate/direct decision rule to the result. Plain logic: kimmy_filter runs the dialog.
#pragma once

#include "kimmy/kimmy_classifier.hpp"

#include "opex/llm_messages.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace opex::actors {

/// The classifier. Holds references to the configuration and the rule classifier (which
/// outlive it); const and thread-safe.
class llm_classifier {
public:
  llm_classifier(const opex_config& cfg, const kimmy_classifier& rules);

  /// The question: a system prompt (the 13 intents, the JSON shape to return, the parameter
  /// rules, today's date) and the request's text as the user message.
  llm_request request_for(const kimmy_request& req) const;

  /// Checks the model's answer and merges it into `analysis` (which holds the rules' analysis
  /// of the same request): bare JSON {"language", "intent", "complexity", "confidence",
  /// "summary", "parameters"}; intent one of the 13 (aliases accepted); complexity simple |
  /// complex | unclear; confidence in [0, 1]; parameters among title, description, due_date
  /// (YYYY-MM-DD), priority, client_name, tags, task_id, doc_id, start, duration_minutes,
  /// workflow_id. Grounding: a text parameter whose words mostly do not occur in the request,
  /// or a due date where the text names none, is dropped (set to null) and reported in
  /// `dropped`. Then the decision rule runs. Returns the errors (empty = merged).
  std::vector<std::string> merge(std::string_view answer, kimmy_analysis& analysis,
                                 std::vector<std::string>& dropped) const;

private:
  const opex_config& cfg_;
  const kimmy_classifier& rules_;
};

} // namespace opex::actors
