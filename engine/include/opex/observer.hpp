// What the engine tells observers as requests run: typed hooks for a request's start and answer,
// each attempt's start and end, each step's end, circuit-breaker changes and approvals (the idea
// of Taskflow's observer interface). Live progress (`engine_options::on_progress`) is one
// observer; metrics and tracing are others. docs/architecture.md, "Observers".
#pragma once

#include "opex/contracts.hpp"
#include "opex/trace_context.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace opex {

/// A request the engine accepted (engine::submit, submit_kimmy_payload, run_plan).
struct request_started {
  std::string request_id;
  std::string tenant;
  std::string user_id;
  std::string source;  ///< submit_options::source: api, cli, webhook, ...
  std::string entry;   ///< the first agent: kimmy (text), prolex (a KimmyPayload), proxy (a plan)
  /// The request's span; parent_span_id is the caller's span when it sent a traceparent.
  trace_context trace;
};

/// One agent (Kimmy, Prolex, the Proxy Master) finished its part of a request: classified,
/// planned, checked, or refused.
struct agent_ended {
  std::string request_id;
  std::string tenant;
  std::string agent;         ///< kimmy | prolex | proxy_master
  trace_context span;        ///< the agent's span, a child of the request's
  double duration_ms = 0.0;  ///< ms, on the actor clock
  std::string outcome;       ///< classified | planned | routed | answered | refused
  std::string error_code;    ///< "" unless refused
};

/// An attempt of a step, dispatched to its executor.
struct attempt_started {
  std::string request_id;
  int step = 0;
  std::string tool;
  int attempt = 1;   ///< 1 for the first
  std::string note;  ///< why it runs again after a restart (resume), else ""
};

/// An attempt's outcome, before the step goes on (retry) or ends.
struct attempt_ended {
  std::string request_id;
  std::string tenant;
  int step = 0;
  std::string tool;
  int attempt = 1;
  step_status outcome = step_status::succeeded;  ///< succeeded | failed | timed_out
  double duration_ms = 0.0;                     ///< ms, on the actor clock
  std::string error_code;                       ///< "" on success
  std::string message;                          ///< the error's message, "" on success
  double cost_usd = 0.0;                        ///< USD the attempt reported (connector)
  std::int64_t input_tokens = 0;                ///< model tokens the attempt reported (llm targets)
  std::int64_t output_tokens = 0;
  /// When another attempt follows: its delay (ms) and why (the retry policy's reason).
  std::optional<std::chrono::milliseconds> retry_in;
  std::string retry_reason;
  /// The attempt's span (a child of the request's) and the connector call's span under it,
  /// whose id is the traceparent the target received; empty when the request has no trace.
  trace_context span;
  std::string call_span_id;
  std::string target_type;  ///< the connector type that ran it: mcp_tool, webhook, n8n_api, llm, builtin
  std::string target_name;  ///< the MCP tool, the n8n operation, the builtin or llm name; "" for webhooks
  /// The masked payload and result as JSON text, only when tracing.capture_content is on.
  std::string arguments;
  std::string result;
};

/// A step reached a terminal state (succeeded, failed, timed_out, skipped, cancelled).
struct step_ended {
  std::string request_id;
  std::string tenant;
  int step = 0;
  std::string tool;
  step_status status = step_status::succeeded;
  int attempts = 0;
  double duration_ms = 0.0;  ///< ms since its first dispatch, 0 when never dispatched
  double cost_usd = 0.0;     ///< USD its attempts reported
  std::string error_code;    ///< "" on success
  std::string message;       ///< error message or skip reason
};

/// A target's circuit breaker changed state during a call of `request_id`.
struct breaker_changed {
  std::string request_id;
  int step = 0;
  std::string tool;
  std::string target;  ///< the breaker's key (connectors::connector::breaker_key)
  std::string from;    ///< closed | open | half_open
  std::string to;
};

/// A step's approval was opened (status pending) or decided (approved, rejected, expired).
struct approval_changed {
  std::string request_id;
  int step = 0;
  std::string tool;
  std::string approval_id;
  approval_status status = approval_status::pending;
  std::string reason;  ///< pending: why the guard asks
};

/// One model call of an agent (Kimmy's or Prolex's llm mode) through the LLM gateway: one per
/// attempt, answered or not.
struct model_call_ended {
  std::string request_id;
  std::string tenant;
  std::string agent;     ///< kimmy | prolex
  std::string endpoint;  ///< llm.endpoints name
  std::string model;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0.0;     ///< USD, at the endpoint's prices
  double duration_ms = 0.0;  ///< ms, on the actor clock
  std::string error_code;    ///< "" when answered
  trace_context span;        ///< the span of the agent that asked (the call's parent)
};

/// The store committed one batch (group commit, docs/durability.md), or failed to.
struct batch_committed {
  std::size_t entries = 0;     ///< journal entries
  std::size_t rows = 0;        ///< request and step rows
  double duration_ms = 0.0;    ///< ms the transaction took
  bool ok = true;              ///< false: the writes stay buffered and are tried again
};

/// Hooks called on actor and HTTP threads, in the order events happen for one request. They must
/// be thread-safe, must not block and must not throw; every hook does nothing by default.
class observer {
public:
  virtual ~observer() = default;
  virtual void on_request_start(const request_started&) {}
  /// The answer the caller receives (awaiting_approval included: that plan's later steps come
  /// through the step hooks).
  virtual void on_request_end(const request_result&) {}
  virtual void on_attempt_start(const attempt_started&) {}
  virtual void on_attempt_end(const attempt_ended&) {}
  virtual void on_step_end(const step_ended&) {}
  virtual void on_breaker_change(const breaker_changed&) {}
  virtual void on_approval(const approval_changed&) {}
  virtual void on_model_call(const model_call_ended&) {}
  virtual void on_commit(const batch_committed&) {}
  virtual void on_agent_end(const agent_ended&) {}
};

/// The engine's observers, called in the order they were added. Filled at start-up, read-only
/// afterwards (so calling it from several threads needs no lock).
class observer_set {
public:
  void add(std::shared_ptr<observer> o) {
    if (o)
      list_.push_back(std::move(o));
  }
  bool empty() const noexcept { return list_.empty(); }

  void notify(const request_started& e) const { each([&](observer& o) { o.on_request_start(e); }); }
  void notify(const request_result& e) const { each([&](observer& o) { o.on_request_end(e); }); }
  void notify(const attempt_started& e) const { each([&](observer& o) { o.on_attempt_start(e); }); }
  void notify(const attempt_ended& e) const { each([&](observer& o) { o.on_attempt_end(e); }); }
  void notify(const step_ended& e) const { each([&](observer& o) { o.on_step_end(e); }); }
  void notify(const breaker_changed& e) const { each([&](observer& o) { o.on_breaker_change(e); }); }
  void notify(const approval_changed& e) const { each([&](observer& o) { o.on_approval(e); }); }
  void notify(const model_call_ended& e) const { each([&](observer& o) { o.on_model_call(e); }); }
  void notify(const batch_committed& e) const { each([&](observer& o) { o.on_commit(e); }); }
  void notify(const agent_ended& e) const { each([&](observer& o) { o.on_agent_end(e); }); }

private:
  template <class F>
  void each(F&& f) const {
    for (const auto& o : list_)
      f(*o);
  }
  std::vector<std::shared_ptr<observer>> list_;
};

} // namespace opex
