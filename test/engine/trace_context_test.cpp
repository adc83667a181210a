// W3C Trace Context parsing (opex/trace_context.hpp), with the examples and invalid forms of
// the recommendation (https://www.w3.org/TR/trace-context/, section 3.2).
#include "opex/trace_context.hpp"

#include <catch2/catch.hpp>

using opex::trace_context;

TEST_CASE("trace_context: a valid traceparent is read, its child keeps the trace under a new span") {
  auto c = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE");
  REQUIRE(c);
  CHECK(c->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(c->span_id == "00f067aa0ba902b7");
  CHECK(c->flags == "01");
  CHECK(c->tracestate == "congo=t61rcWkgMzE");
  CHECK(c->traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  auto child = c->child();
  CHECK(child.trace_id == c->trace_id);
  CHECK(child.span_id.size() == 16);
  CHECK(child.span_id != c->span_id);
  CHECK(child.tracestate == c->tracestate);
  CHECK(c->parent_span_id.empty());
  CHECK(child.parent_span_id == c->span_id);
  // A later version is read as version 00 (its extra fields ignored).
  CHECK(trace_context::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST_CASE("trace_context: invalid traceparents are refused, new traces are random and valid") {
  for (const char* bad : {"", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    CHECK_FALSE(trace_context::parse(bad));
  auto a = trace_context::start(), b = trace_context::start();
  CHECK(a.valid());
  CHECK(a.trace_id != b.trace_id);
  CHECK(trace_context::parse(a.traceparent()));
}
