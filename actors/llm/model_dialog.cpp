// The parts of the model dialog that are not templates.
#include "model_dialog.hpp"

namespace opex::actors {

namespace json = boost::json;

json::object model_note::to_json() const {
  json::array errs;
  for (const auto& e : errors)
    errs.emplace_back(e);
  json::object o{{"endpoint", endpoint},   {"model", model},       {"calls", calls},
                 {"attempts", attempts},   {"tokens", tokens},     {"cost_usd", cost_usd},
                 {"errors", std::move(errs)}, {"fallback_reason", fallback_reason}};
  if (error) {
    o["error_code"] = error_code_name(error.code);
    o["error"] = error.message;
  }
  return o;
}

connectors::llm_request retry_request(connectors::llm_request first, const std::string& answer,
                                      const std::vector<std::string>& errors) {
  std::string text = "Your answer was refused by the validator:\n";
  for (const auto& e : errors)
    text += "- " + e + "\n";
  text += "Answer again with one bare JSON object only (no prose, no Markdown, no code fence) that fixes every error.";
  first.messages.push_back(connectors::llm_message{"assistant", answer});
  first.messages.push_back(connectors::llm_message{"user", std::move(text)});
  return first;
}

} // namespace opex::actors
