// The `webhook` connector: a tool call is an HTTP request (POST by default) of the payload as
// JSON to the tool's URL, n8n style; the JSON response is the step's data.
#pragma once

#include "opex/connectors/connector.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/secret_store.hpp"

#include <memory>

namespace opex::connectors {

/// Calls webhook targets through a shared http_client.
/// Request: `<method> <target.url>` with the payload as body and headers `Content-Type:
/// application/json`, `X-Request-ID: <request id>`, `Idempotency-Key: <request id>:<step>`
/// (the same for every attempt of a step), `X-Opex-Attempt: <n>`.
/// Response: 2xx with a JSON object body -> data; other JSON -> {"value": ...}; empty ->
/// {}; non-JSON text -> {"body": text}. Non-2xx -> HTTP_ERROR with details {status, body
/// (first 2 KB), retry_after (when sent)}. Transport failures -> CONNECTION_FAILED / TIMEOUT.
/// The target's `headers` are added; a value "secret:NAME" is the calling tenant's secret NAME
/// (SECRET_NOT_FOUND when that tenant has none: never another tenant's).
class webhook_connector final : public connector {
public:
  explicit webhook_connector(std::shared_ptr<http_client> client,
                             std::shared_ptr<const secret_store> secrets = std::make_shared<secret_store>());

  cancel_handle call(const tool_definition& tool, const boost::json::object& payload,
                     const call_context& ctx, call_completion done) override;

  /// "webhook:<host>:<port><path>" (query string excluded).
  std::string breaker_key(const tool_definition& tool) const override;

private:
  std::shared_ptr<http_client> client_;
  std::shared_ptr<const secret_store> secrets_;
};

} // namespace opex::connectors
