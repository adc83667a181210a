// Error codes, their names and HTTP statuses, and the standard error JSON.
#include "opex/error.hpp"

#include <array>
#include <utility>

namespace opex {

namespace {

struct code_row {
  error_code code;
  std::string_view name;
  int http;
  bool transient;
};

constexpr std::array<code_row, 55> code_table{{
  {error_code::none, "NONE", 200, false},
  {error_code::invalid_json, "INVALID_JSON", 400, false},
  {error_code::validation_error, "VALIDATION_ERROR", 400, false},
  {error_code::unauthorized, "UNAUTHORIZED", 401, false},
  {error_code::permission_denied, "PERMISSION_DENIED", 403, false},
  {error_code::tool_not_found, "TOOL_NOT_FOUND", 404, false},
  {error_code::not_found, "NOT_FOUND", 404, false},
  {error_code::approval_required, "APPROVAL_REQUIRED", 409, false},
  {error_code::plan_invalid, "PLAN_INVALID", 422, false},
  {error_code::plan_cycle, "PLAN_CYCLE", 422, false},
  {error_code::template_invalid, "TEMPLATE_INVALID", 422, false},
  {error_code::template_unresolved, "TEMPLATE_UNRESOLVED", 422, false},
  {error_code::constraint_violation, "CONSTRAINT_VIOLATION", 422, false},
  {error_code::quota_exceeded, "QUOTA_EXCEEDED", 429, false},
  {error_code::tool_execution_failed, "TOOL_EXECUTION_FAILED", 502, false},
  {error_code::connector_unavailable, "CONNECTOR_UNAVAILABLE", 501, false},
  {error_code::connection_failed, "CONNECTION_FAILED", 502, true},
  {error_code::http_error, "HTTP_ERROR", 502, false},
  {error_code::timeout, "TIMEOUT", 504, true},
  {error_code::circuit_open, "CIRCUIT_OPEN", 503, true},
  {error_code::queue_full, "QUEUE_FULL", 503, true},
  {error_code::cancelled, "CANCELLED", 409, false},
  {error_code::dependency_failed, "DEPENDENCY_FAILED", 424, false},
  {error_code::body_too_large, "BODY_TOO_LARGE", 413, false},
  {error_code::method_not_allowed, "METHOD_NOT_ALLOWED", 405, false},
  {error_code::config_error, "CONFIG_ERROR", 500, false},
  {error_code::internal_error, "INTERNAL_ERROR", 500, false},
  {error_code::payload_invalid, "PAYLOAD_INVALID", 400, false},
  {error_code::plan_too_large, "PLAN_TOO_LARGE", 422, false},
  {error_code::cost_limit_exceeded, "COST_LIMIT_EXCEEDED", 422, false},
  {error_code::web_access_denied, "WEB_ACCESS_DENIED", 403, false},
  {error_code::context_missing, "CONTEXT_MISSING", 422, false},
  {error_code::environment_not_allowed, "ENVIRONMENT_NOT_ALLOWED", 403, false},
  {error_code::workflow_protected, "WORKFLOW_PROTECTED", 403, false},
  {error_code::guardrail_violation, "GUARDRAIL_VIOLATION", 422, false},
  {error_code::tool_not_allowed, "TOOL_NOT_ALLOWED", 403, false},
  {error_code::approval_rejected, "APPROVAL_REJECTED", 409, false},
  {error_code::approval_expired, "APPROVAL_EXPIRED", 409, false},
  {error_code::confirmation_invalid, "CONFIRMATION_INVALID", 403, false},
  {error_code::conflict, "CONFLICT", 409, false},
  {error_code::secret_not_found, "SECRET_NOT_FOUND", 500, false},
  {error_code::protocol_error, "PROTOCOL_ERROR", 502, false},
  {error_code::output_invalid, "OUTPUT_INVALID", 502, false},
  {error_code::idempotency_conflict, "IDEMPOTENCY_CONFLICT", 409, false},
  {error_code::unsupported_media_type, "UNSUPPORTED_MEDIA_TYPE", 415, false},
  {error_code::not_implemented, "NOT_IMPLEMENTED", 501, false},
  {error_code::unavailable, "UNAVAILABLE", 503, false},
  {error_code::database_locked, "DATABASE_LOCKED", 503, false},
  {error_code::overloaded, "OVERLOADED", 503, true},
  {error_code::signature_invalid, "SIGNATURE_INVALID", 401, false},
  {error_code::signature_expired, "SIGNATURE_EXPIRED", 401, false},
  {error_code::replayed, "REPLAYED", 409, false},
  {error_code::rate_limited, "RATE_LIMITED", 429, true},
  {error_code::tool_definition_changed, "TOOL_DEFINITION_CHANGED", 409, false},
  {error_code::none, "", 500, false},
}};

const code_row& row_of(error_code code) noexcept {
  for (const auto& r : code_table)
    if (r.code == code && !r.name.empty())
      return r;
  return code_table.back();
}

} // namespace

std::string_view error_code_name(error_code code) noexcept {
  return row_of(code).name;
}

std::optional<error_code> parse_error_code(std::string_view name) noexcept {
  for (const auto& r : code_table)
    if (!r.name.empty() && r.name == name)
      return r.code;
  return std::nullopt;
}

int http_status(error_code code) noexcept {
  return row_of(code).http;
}

bool is_transient(error_code code) noexcept {
  return row_of(code).transient;
}

error_info make_error(error_code code, std::string message, boost::json::object details) {
  return error_info{code, std::move(message), std::move(details)};
}

boost::json::object to_error_json(const error_info& err, std::string_view request_id,
                                  std::string_view timestamp) {
  boost::json::object out;
  out["error"] = err.message.empty() ? std::string(error_code_name(err.code)) : err.message;
  out["error_code"] = error_code_name(err.code);
  out["details"] = err.details;
  out["timestamp"] = timestamp;
  if (request_id.empty())
    out["request_id"] = nullptr;
  else
    out["request_id"] = request_id;
  return out;
}

error_info error_from_json(const boost::json::value& v) {
  error_info out;
  const auto* obj = v.if_object();
  if (obj == nullptr)
    return make_error(error_code::internal_error, "malformed error");
  if (auto it = obj->find("error_code"); it != obj->end() && it->value().is_string()) {
    auto code = parse_error_code(it->value().get_string());
    out.code = code.value_or(error_code::internal_error);
  } else {
    out.code = error_code::internal_error;
  }
  if (auto it = obj->find("error"); it != obj->end() && it->value().is_string())
    out.message = std::string(it->value().get_string());
  if (auto it = obj->find("details"); it != obj->end() && it->value().is_object())
    out.details = it->value().get_object();
  return out;
}

} // namespace opex
