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

journal_entry model_failure_entry(const runtime_services& rt, const request_context& ctx, std::string agent,
                                  const model_note& note) {
  auto entry = make_journal_entry(rt, ctx, std::move(agent), "error");
  entry.status = "failure";
  entry.error = note.error.message;
  entry.error_code = std::string(error_code_name(note.error.code));
  entry.data = json::object{{"llm", note.to_json()}};
  entry.metadata["model"] = note.model;
  entry.metadata["tokens_used"] = note.tokens;
  entry.metadata["cost_usd"] = note.cost_usd;
  return entry;
}

request_outcome model_refusal(const runtime_services& rt, const request_context& ctx, const model_note& note) {
  auto err = note.error;
  err.details["llm"] = note.to_json();
  return refusal(rt, ctx, std::move(err));
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
