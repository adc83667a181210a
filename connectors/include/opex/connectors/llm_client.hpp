// LLM calls over the shared HTTP client: the Anthropic Messages API and OpenAI-compatible chat
// completions, streaming off, with token and cost accounting from the responses' usage fields.
// The wire formats are plain functions (build_http_request, parse_response) so tests check
// them exactly; llm_client runs one attempt, llm_connector exposes it as the `llm` target type.
#pragma once

#include "opex/config.hpp"
#include "opex/connectors/connector.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/llm_messages.hpp"

#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

namespace opex::connectors {

// The messages themselves are core types (opex/llm_messages.hpp).
using opex::llm_message;
using opex::llm_request;
using opex::llm_response;
using opex::llm_usage;

namespace llm {

/// The HTTP request of one call. Anthropic: POST <base_url>/v1/messages with x-api-key and
/// anthropic-version; body {model, max_tokens, system?, messages, temperature, stream: false}.
/// OpenAI: POST <base_url>/chat/completions with `Authorization: Bearer`; body {model,
/// messages (system first), max_tokens, temperature, stream: false}. `api_key` "" sends no key.
http_request build_http_request(const llm_endpoint_settings& endpoint, const llm_request& request,
                                const std::string& api_key);

/// Reads a response. 2xx: the answer (PROTOCOL_ERROR when the body is not the format's JSON).
/// Otherwise HTTP_ERROR {status, body, retry_after?, error_type?, error_message?} from the
/// provider's error body ({"type":"error","error":{type,message}} / {"error":{message,type,code}}):
/// the retry policy retries 429, 5xx and Anthropic's 529 overloaded_error.
result<llm_response> parse_response(const llm_endpoint_settings& endpoint, const http_response& response);

/// Cost in USD of a call's tokens at the endpoint's prices.
double cost_usd(const llm_endpoint_settings& endpoint, std::int64_t input_tokens, std::int64_t output_tokens) noexcept;

/// A pessimistic estimate of a call's cost before it is made: prompt characters / 3 as input
/// tokens, max_tokens as output tokens.
double estimate_cost_usd(const llm_endpoint_settings& endpoint, const llm_request& request) noexcept;

} // namespace llm

/// Completion of one LLM attempt; called once, on an I/O thread.
using llm_completion = std::function<void(result<llm_response>)>;

/// Something that answers LLM calls: llm_client over HTTP, or a scripted fake in actor tests.
class llm_service {
public:
  virtual ~llm_service() = default;
  /// Starts one attempt on endpoint `name` ("" = the default); `done` is called once, on any
  /// thread. `timeout` 0 = the endpoint's timeout_ms. Returns a handle that abandons it.
  virtual cancel_handle complete(const std::string& name, const llm_request& request, llm_completion done,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const = 0;
  /// The endpoints this service answers for.
  virtual const llm_settings& settings() const noexcept = 0;
};

/// One attempt at a time against configured endpoints. Thread-safe.
class llm_client final : public llm_service {
public:
  llm_client(llm_settings settings, std::shared_ptr<http_client> http);

  /// Starts one attempt on endpoint `name` ("" = the default). The key reference is resolved on
  /// the endpoint's first call and kept (no file read on the callers' threads afterwards).
  /// Errors: CONNECTOR_UNAVAILABLE (no such endpoint), SECRET_NOT_FOUND (the key reference
  /// resolves to nothing; asked again on the next call), the transport's
  /// CONNECTION_FAILED / TIMEOUT, parse_response's errors. `timeout` 0 = the endpoint's
  /// timeout_ms. Returns a handle that abandons it.
  cancel_handle complete(const std::string& name, const llm_request& request, llm_completion done,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const override;

  const llm_settings& settings() const noexcept override { return settings_; }

private:
  llm_settings settings_;
  std::shared_ptr<http_client> http_;
  mutable std::mutex keys_m_;
  mutable std::map<std::string, std::string, std::less<>> keys_;  ///< endpoint -> resolved key

  /// The endpoint's key ("" when it has none). Errors: SECRET_NOT_FOUND.
  result<std::string> key_for(const llm_endpoint_settings& endpoint) const;
};

/// The `llm` target type: a tool whose target is {type: llm, name: ENDPOINT?} sends its payload
/// as one prompt. Payload: {"prompt": text} or {"messages": [{role, content}]}, optional
/// "system", "max_tokens", "temperature". Step data: llm_response::to_json(); the call's cost
/// goes to the step's cost_usd and the journal.
class llm_connector final : public connector {
public:
  explicit llm_connector(std::shared_ptr<const llm_service> client);

  cancel_handle call(const tool_definition& tool, const boost::json::object& payload, const call_context& ctx,
                     call_completion done) override;

  /// "llm:<endpoint>": one circuit breaker per endpoint.
  std::string breaker_key(const tool_definition& tool) const override;

private:
  std::shared_ptr<const llm_service> client_;
};

} // namespace opex::connectors
