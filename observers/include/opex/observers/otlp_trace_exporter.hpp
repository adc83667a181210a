// Spans over OTLP/HTTP: an observer that turns the engine's events into OpenTelemetry spans
// (one trace per request; the agents, each step attempt, each connector call and each model
// call under it), named by the GenAI and MCP semantic conventions, and sends them in batches
// from a thread of its own. docs/operations.md, "Traces".
#pragma once

#include "opex/observer.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace opex::observers {

/// OTLP's SpanKind values (opentelemetry/proto/trace/v1/trace.proto).
enum class span_kind : int { internal = 1, server = 2, client = 3 };

/// An attribute value: string, int64, double or bool (OTLP AnyValue's scalar kinds).
using attribute_value = std::variant<std::string, std::int64_t, double, bool>;

/// One finished span. Ids are lower-case hex (trace 32, span 16; parent "" for a root);
/// times are Unix nanoseconds; `error` sets the status to ERROR with `status_message`.
struct span_record {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;
  std::string name;
  span_kind kind = span_kind::internal;
  std::int64_t start_unix_ns = 0;
  std::int64_t end_unix_ns = 0;
  bool error = false;
  std::string status_message;
  std::vector<std::pair<std::string, attribute_value>> attributes;
};

/// Sends one export body (an ExportTraceServiceRequest as OTLP JSON) and calls `done` once,
/// on any thread: true when the collector accepted it, else false and why.
using otlp_sender = std::function<void(std::string body, std::function<void(bool ok, std::string why)> done)>;

/// The exporter's settings (opex.yml `tracing:`, opex/config.hpp tracing_settings).
struct otlp_exporter_options {
  std::string service_name = "opex";
  std::string service_version;
  std::size_t max_batch = 512;                    ///< spans per export
  std::chrono::milliseconds flush_interval{1000};  ///< longest wait of a queued span
  std::size_t max_queue = 8192;                    ///< spans waiting; more are dropped
  std::chrono::milliseconds timeout{5000};         ///< how long one export is waited for
  bool capture_content = false;                    ///< tool arguments and results on spans
  /// Unix time in ns (tests inject one; default: the system clock).
  std::function<std::int64_t()> now_unix_ns;
};

/// What the exporter did since it started.
struct otlp_exporter_stats {
  std::uint64_t exported = 0;        ///< spans the collector accepted
  std::uint64_t dropped = 0;         ///< spans refused because the queue was full
  std::uint64_t failed = 0;          ///< spans in exports that failed (not retried)
  std::uint64_t export_requests = 0; ///< exports sent
};

/// The observer. Hooks only queue (a mutex held for a push, never I/O); a thread sends a batch
/// when `max_batch` spans wait or `flush_interval` has passed, one export at a time. A failed
/// export is counted (stats) and logged as `tracing.export_failed`, at most once a minute. Span
/// names (OpenTelemetry semantic conventions, GenAI and MCP):
/// - the request: `invoke_agent opex` (SERVER; opex.request_id, opex.tenant, opex.source,
///   opex.status), child of the caller's span when it sent a traceparent;
/// - each agent: `invoke_agent {kimmy|prolex|proxy_master}` (gen_ai.agent.name);
/// - each model call: `chat {model}` (CLIENT; gen_ai.request.model, gen_ai.usage.input_tokens,
///   gen_ai.usage.output_tokens, opex.cost_usd);
/// - each step attempt: `execute_tool {tool}` (gen_ai.tool.name, gen_ai.tool.call.id =
///   `<request_id>:<step>`, opex.attempt), with the connector call under it (CLIENT):
///   `tools/call {tool}` with mcp.method.name for MCP, `POST` for webhooks, `n8n {operation}`,
///   `chat {name}` for llm targets, `builtin {name}`; its span id is the traceparent the
///   target received.
/// Failures set status ERROR and `error.type` (the error code). A trace whose caller did not
/// sample it (traceparent flags without bit 0) gives no span.
class otlp_trace_exporter final : public observer {
public:
  /// `start_thread` false: nothing is sent until flush() (tests).
  otlp_trace_exporter(otlp_exporter_options options, otlp_sender sender, bool start_thread = true);
  /// stop().
  ~otlp_trace_exporter() override;
  otlp_trace_exporter(const otlp_trace_exporter&) = delete;
  otlp_trace_exporter& operator=(const otlp_trace_exporter&) = delete;

  void on_request_start(const request_started& e) override;
  void on_request_end(const request_result& r) override;
  void on_agent_end(const agent_ended& e) override;
  void on_attempt_end(const attempt_ended& e) override;
  void on_model_call(const model_call_ended& e) override;

  /// Sends every queued span now, on the caller's thread, batch after batch; what is still
  /// queued at `deadline` is counted as failed and dropped.
  void flush(std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());
  /// Stops the thread and flushes within one export timeout (idempotent).
  void stop();

  otlp_exporter_stats stats() const;

  /// The OTLP/HTTP JSON body (ExportTraceServiceRequest) of `spans` under one resource:
  /// {"resourceSpans":[{"resource":{"attributes":[service.name, ...]},"scopeSpans":[{"scope":
  /// {"name":"opex"},"spans":[{traceId, spanId, parentSpanId, name, kind, startTimeUnixNano,
  /// endTimeUnixNano, attributes, status}]}]}]}; ids hex, times as decimal strings (the OTLP
  /// JSON mapping).
  static std::string encode(const std::vector<span_record>& spans, const std::string& service_name,
                            const std::string& service_version);

private:
  struct open_request {
    trace_context trace;
    std::int64_t start_unix_ns = 0;
    std::string tenant;
    std::string source;
  };

  void push(span_record s);
  std::int64_t now_ns() const;
  std::int64_t start_of(std::int64_t end_ns, double duration_ms) const;
  bool send_batch(std::vector<span_record> batch, std::chrono::steady_clock::time_point deadline);
  void run();

  otlp_exporter_options options_;
  otlp_sender sender_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<span_record> queue_;
  std::map<std::string, open_request> open_;  ///< request id -> its span, until it answers
  bool stopping_ = false;
  std::atomic<std::uint64_t> exported_{0}, dropped_{0}, failed_{0}, requests_{0};
  std::mutex send_mutex_;  ///< one export at a time (the thread, flush())
  std::chrono::steady_clock::time_point last_failure_logged_{};  ///< under send_mutex_
  std::thread thread_;
};

} // namespace opex::observers
