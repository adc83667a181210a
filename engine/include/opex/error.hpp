// Errors that leave the engine: the stable error codes and the standard error JSON
// (docs/decisions.md: {"error", "error_code", "details", "timestamp", "request_id"}).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace opex {

/// Stable error codes. Their text (error_code_name) is part of the public contract: clients
/// branch on it, so a code is never renamed, only added. HTTP statuses are given by
/// http_status(error_code).
enum class error_code {
  none = 0,
  invalid_json,           ///< INVALID_JSON: the body is not JSON (HTTP 400).
  validation_error,       ///< VALIDATION_ERROR: JSON Schema or contract violation (HTTP 400).
  unauthorized,           ///< UNAUTHORIZED: missing or unknown API key (HTTP 401).
  permission_denied,      ///< PERMISSION_DENIED: tool above the autonomy level (HTTP 403).
  tool_not_found,         ///< TOOL_NOT_FOUND: tool id not in the catalogue (HTTP 404).
  not_found,              ///< NOT_FOUND: unknown route, request or resource (HTTP 404).
  approval_required,      ///< APPROVAL_REQUIRED: high-risk tool needs an approval (HTTP 409).
  plan_invalid,           ///< PLAN_INVALID: duplicate or unknown step, bad depends_on (HTTP 422).
  plan_cycle,             ///< PLAN_CYCLE: depends_on edges form a cycle (HTTP 422).
  template_invalid,       ///< TEMPLATE_INVALID: placeholder names a non-ancestor step (HTTP 422).
  template_unresolved,    ///< TEMPLATE_UNRESOLVED: path absent in the step result (step error).
  constraint_violation,   ///< CONSTRAINT_VIOLATION: cost, steps, sensitivity... (HTTP 422).
  quota_exceeded,         ///< QUOTA_EXCEEDED: daily or per-tenant quota reached (HTTP 429).
  tool_execution_failed,  ///< TOOL_EXECUTION_FAILED: the tool ran and reported failure.
  connector_unavailable,  ///< CONNECTOR_UNAVAILABLE: no connector for the tool's target type.
  connection_failed,      ///< CONNECTION_FAILED: resolve/connect/TLS/IO error (transient).
  http_error,             ///< HTTP_ERROR: the target answered a non-2xx status.
  timeout,                ///< TIMEOUT: an attempt, a step or the request ran out of time.
  circuit_open,           ///< CIRCUIT_OPEN: the target's circuit breaker is open.
  queue_full,             ///< QUEUE_FULL: the executor's bounded queue is full (bulkhead).
  cancelled,              ///< CANCELLED: the request was cancelled.
  dependency_failed,      ///< DEPENDENCY_FAILED: a step was skipped because a dependency failed.
  body_too_large,         ///< BODY_TOO_LARGE: HTTP body above the configured limit (HTTP 413).
  method_not_allowed,     ///< METHOD_NOT_ALLOWED: wrong HTTP method for the route (HTTP 405).
  config_error,           ///< CONFIG_ERROR: the configuration cannot be loaded.
  internal_error,         ///< INTERNAL_ERROR: a bug or an unexpected condition (HTTP 500).
  payload_invalid,        ///< PAYLOAD_INVALID: a step's payload fails its tool's schema (HTTP 400).
  plan_too_large,         ///< PLAN_TOO_LARGE: more steps than max_plan_steps / max_tools_per_plan (HTTP 422).
  cost_limit_exceeded,    ///< COST_LIMIT_EXCEEDED: estimated cost above a budget (HTTP 422).
  web_access_denied,      ///< WEB_ACCESS_DENIED: a web tool while can_use_web is false (HTTP 403).
  context_missing,        ///< CONTEXT_MISSING: a requires_context key is absent (HTTP 422).
  environment_not_allowed,///< ENVIRONMENT_NOT_ALLOWED: environment outside allowed_environments (HTTP 403).
  workflow_protected,     ///< WORKFLOW_PROTECTED: a protected ("cash") workflow is named (HTTP 403).
  guardrail_violation,    ///< GUARDRAIL_VIOLATION: an n8n guardrail refuses the payload (HTTP 422).
  tool_not_allowed,       ///< TOOL_NOT_ALLOWED: the tenant may not use this tool (HTTP 403).
  approval_rejected,      ///< APPROVAL_REJECTED: a person rejected the step (step error).
  approval_expired,       ///< APPROVAL_EXPIRED: nobody decided in time (step error).
  confirmation_invalid,   ///< CONFIRMATION_INVALID: wrong, missing or used confirmation code (HTTP 403).
  conflict,               ///< CONFLICT: the resource is not in a state allowing this (HTTP 409).
  secret_not_found,       ///< SECRET_NOT_FOUND: a secret the tenant's call needs is not configured.
  protocol_error,         ///< PROTOCOL_ERROR: a peer broke its wire protocol (MCP, LLM API) (HTTP 502).
  output_invalid,         ///< OUTPUT_INVALID: a model's answer is not the JSON asked for (HTTP 502).
  idempotency_conflict,   ///< IDEMPOTENCY_CONFLICT: the idempotency key (or request id) was used with another body (HTTP 409).
  unsupported_media_type, ///< UNSUPPORTED_MEDIA_TYPE: the body's Content-Type is not JSON (HTTP 415).
  not_implemented,        ///< NOT_IMPLEMENTED: an HTTP feature opexd does not support, e.g. a Transfer-Encoding (HTTP 501).
  unavailable,            ///< UNAVAILABLE: opexd is draining or at its connection limit (HTTP 503).
  database_locked,        ///< DATABASE_LOCKED: another engine executes on this database (HTTP 503).
  overloaded,             ///< OVERLOADED: execution.max_in_flight_requests requests are running; retry later (HTTP 503, Retry-After).
  signature_invalid,      ///< SIGNATURE_INVALID: a webhook's HMAC signature is missing or wrong (HTTP 401; docs/operations.md).
  signature_expired,      ///< SIGNATURE_EXPIRED: a webhook's X-Opex-Timestamp is outside the tolerance (HTTP 401).
  replayed,               ///< REPLAYED: a webhook signature already seen within the tolerance (HTTP 409).
  rate_limited,           ///< RATE_LIMITED: the API key's requests per minute on this route are spent (HTTP 429, Retry-After).
  tool_definition_changed,///< TOOL_DEFINITION_CHANGED: a re-exposed MCP tool's definition differs from its pinned digest (HTTP 409).
};

/// The upper-case text of a code, e.g. "TOOL_NOT_FOUND".
std::string_view error_code_name(error_code code) noexcept;

/// Parses the upper-case text back; unknown text yields std::nullopt.
std::optional<error_code> parse_error_code(std::string_view name) noexcept;

/// HTTP status used by opexd when this error ends a request (400, 401, 403, 404, 409, 413,
/// 422, 429, 502, 503, 504, 500).
int http_status(error_code code) noexcept;

/// True for failures a retry may cure: connection failures, timeouts, circuit open, queue
/// full (the HTTP status is checked by the caller for http_error: 5xx and 429).
bool is_transient(error_code code) noexcept;

/// An error as data: code, human message, and a details object (tool, rule, required vs
/// current value, validator messages...). Cheap to copy around actors.
struct error_info {
  error_code code = error_code::none;
  std::string message;
  boost::json::object details;

  explicit operator bool() const noexcept { return code != error_code::none; }
};

/// Builds an error_info; `details` may be empty.
error_info make_error(error_code code, std::string message, boost::json::object details = {});

/// The standard error JSON:
/// `{"error": message, "error_code": "CODE", "details": {...}, "timestamp": ISO-8601 UTC,
///   "request_id": id or null}`.
boost::json::object to_error_json(const error_info& err, std::string_view request_id,
                                  std::string_view timestamp);

/// Reads an error back from its standard JSON shape (or from `{"error_code", "error"}` subsets).
error_info error_from_json(const boost::json::value& v);

/// A value or the error that prevented it (std::expected is C++23). Used by the plain logic
/// (parsers, validators, planners) that the actors call.
template <class T>
class result {
public:
  result(T value) : state_(std::move(value)) {}
  result(error_info err) : state_(std::move(err)) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error_info& error() const& { return std::get<1>(state_); }
  error_info&& error() && { return std::get<1>(std::move(state_)); }

private:
  std::variant<T, error_info> state_;
};

} // namespace opex
