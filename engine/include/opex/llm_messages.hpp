// What a model is asked and what it answers, as the agents' logic (Kimmy's and Prolex's model
// modes) and the LLM connector exchange them. Part of the core, so the logic needs no connector
// (docs/architecture.md, "Layers"); the wire formats are in connectors/llm/.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace opex {

/// One message of a conversation: role user | assistant.
struct llm_message {
  std::string role = "user";
  std::string content;
};

/// What to ask. `max_tokens` 0 and no temperature = the endpoint's settings.
struct llm_request {
  std::string system;
  std::vector<llm_message> messages;
  int max_tokens = 0;
  std::optional<double> temperature;
};

/// Tokens and their cost (USD, from the endpoint's prices per million tokens).
struct llm_usage {
  std::int64_t input_tokens = 0;   ///< Anthropic input_tokens (+ cache tokens) / OpenAI prompt_tokens
  std::int64_t output_tokens = 0;  ///< Anthropic output_tokens / OpenAI completion_tokens
  double cost_usd = 0.0;
};

/// The model's answer: the text of its content (Anthropic: text blocks joined; OpenAI: the
/// first choice's message), the model that answered, why it stopped, the usage.
/// JSON (to_json): {"text", "model", "stop_reason", "id", "endpoint", "provider",
///                  "usage": {"input_tokens", "output_tokens", "cost_usd"}}
struct llm_response {
  std::string text;
  std::string model;
  std::string stop_reason;
  std::string id;
  std::string endpoint;
  std::string provider;
  llm_usage usage;

  boost::json::object to_json() const;
};

} // namespace opex
