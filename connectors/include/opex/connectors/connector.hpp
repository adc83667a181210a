// The connector interface: how an executor calls the outside world for one tool attempt.
// One implementation per target type (`webhook`, `builtin`, `mcp_tool`, `n8n_api`, `llm`),
// each registered under that name; the last three only when opex.yml configures them.
#pragma once

#include "opex/trace_context.hpp"
#include "opex/catalogue.hpp"
#include "opex/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace opex::connectors {

/// The outcome of one call. `data` is the tool's result object on success; on failure `error`
/// says why (HTTP_ERROR carries details {status, body}).
struct call_outcome {
  bool ok = false;
  boost::json::value data;
  error_info error;
  double cost_usd = 0.0;            ///< USD the call cost (model calls, priced tools)
  std::int64_t input_tokens = 0;    ///< model tokens (llm targets), else 0
  std::int64_t output_tokens = 0;
};

/// What a connector knows about the call it makes.
struct call_context {
  std::string request_id;
  std::string user_id;
  std::string tenant = "default";
  int step = 0;
  int attempt = 1;
  std::chrono::milliseconds timeout{30000};
  /// The step's idempotency key, the same for every attempt and after a restart:
  /// `<request_id>:<step>` (builtin tools run once per key; webhooks and n8n send it as
  /// `Idempotency-Key`). "" = none.
  std::string idempotency_key;
  /// The attempt's span (W3C Trace Context): webhooks and n8n send it as `traceparent` and
  /// `tracestate` headers, MCP in `params._meta`. Empty ids: not sent.
  trace_context trace;
};

/// Adds `traceparent` (and `tracestate` when there is one) of `trace` to HTTP headers; nothing
/// for an empty context.
inline void add_trace_headers(const trace_context& trace, std::vector<std::pair<std::string, std::string>>& headers) {
  if (!trace.valid())
    return;
  headers.emplace_back("traceparent", trace.traceparent());
  if (!trace.tracestate.empty())
    headers.emplace_back("tracestate", trace.tracestate);
}

/// Invoked exactly once per call, on any thread (a connector's I/O thread or the caller's).
using call_completion = std::function<void(call_outcome)>;

/// Abandons a call in flight: its connection is closed and its completion reports CANCELLED
/// (unless it had already completed). Empty when the call cannot be cancelled. Thread-safe;
/// calling it after completion is harmless.
using cancel_handle = std::function<void()>;

/// A way to run tools. Implementations are thread-safe: executors on several actor threads
/// call them concurrently, and they never block the caller (I/O runs on their own threads).
class connector {
public:
  virtual ~connector() = default;

  /// Starts one attempt of `tool` with an already resolved and validated `payload`. Returns a
  /// handle that abandons the call (may be empty).
  virtual cancel_handle call(const tool_definition& tool, const boost::json::object& payload,
                             const call_context& ctx, call_completion done) = 0;

  /// The circuit-breaker key of a tool's target ("" = no breaker: local tools).
  virtual std::string breaker_key(const tool_definition& /*tool*/) const { return {}; }
};

} // namespace opex::connectors
