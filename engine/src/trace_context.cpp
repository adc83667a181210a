// W3C traceparent parsing and span ids (opex/trace_context.hpp).
#include "opex/trace_context.hpp"

#include <algorithm>
#include <cstdint>
#include <random>

namespace opex {

namespace {

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

/// `n` random lower-case hex digits, never all zero.
std::string random_hex(std::size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n, '0');
  do {
    for (std::size_t i = 0; i < n; i += 16) {
      auto bits = rng();
      for (std::size_t j = i; j < std::min(n, i + 16); ++j, bits >>= 4)
        out[j] = digits[bits & 0xf];
    }
  } while (all_zero(out));
  return out;
}

} // namespace

std::optional<trace_context> trace_context::parse(std::string_view tp, std::string_view state) {
  // version "-" trace-id "-" parent-id "-" flags; a future version may append "-" fields.
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' || (tp.size() > 55 && tp[55] != '-'))
    return std::nullopt;
  auto version = tp.substr(0, 2), trace = tp.substr(3, 32), parent = tp.substr(36, 16), flags = tp.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || (version == "00" && tp.size() != 55))
    return std::nullopt;
  if (!lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags) || all_zero(trace) || all_zero(parent))
    return std::nullopt;
  trace_context c;
  c.trace_id = std::string(trace);
  c.span_id = std::string(parent);
  c.flags = std::string(flags);
  if (state.size() <= 512)
    c.tracestate = std::string(state);
  return c;
}

trace_context trace_context::start() {
  trace_context c;
  c.trace_id = random_hex(32);
  c.span_id = random_hex(16);
  return c;
}

trace_context trace_context::child() const {
  trace_context c = *this;
  c.parent_span_id = span_id;
  c.span_id = random_hex(16);
  return c;
}

std::string trace_context::traceparent() const {
  return "00-" + trace_id + "-" + span_id + "-" + flags;
}

} // namespace opex
