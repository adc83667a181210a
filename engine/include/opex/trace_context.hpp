// W3C Trace Context (https://www.w3.org/TR/trace-context/, level 1): the `traceparent` a request
// arrives with, the span opex acts under, and the child span id each outgoing call carries
// (docs/operations.md, "Traces").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace opex {

/// One span's context: trace id (32 lower-case hex), span id (16 hex), flags (2 hex; 01 =
/// sampled) and the vendor `tracestate` passed along unchanged.
struct trace_context {
  std::string trace_id;
  std::string span_id;
  std::string flags = "01";
  std::string tracestate;
  /// The span this one was made a child of by child(): the caller's span for a request that
  /// came with a traceparent, "" for a new trace or a parsed context.
  std::string parent_span_id;

  /// The context of a valid `traceparent` (version 00, or a later one read as 00: only its
  /// first four fields), else nullopt: malformed, upper-case hex, an all-zero trace or parent
  /// id. `tracestate` is kept only with a valid traceparent (at most 512 characters).
  static std::optional<trace_context> parse(std::string_view traceparent, std::string_view tracestate = {});

  /// A new trace (random trace and span ids, sampled).
  static trace_context start();

  /// The same trace under a new random span id (the span of a call made from this one), whose
  /// parent_span_id is this span's id.
  trace_context child() const;

  /// `00-<trace_id>-<span_id>-<flags>`.
  std::string traceparent() const;

  bool valid() const noexcept { return trace_id.size() == 32 && span_id.size() == 16; }
};

} // namespace opex
