// Retry policy: which failures retry and after which delay (docs/resilience.md; defaults from
// docs/resilience.md: 3 attempts, 1000 ms initial interval, coefficient 2, cap 10000 ms, no jitter).
#pragma once

#include "opex/config.hpp"
#include "opex/error.hpp"

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace opex::policies {

/// True when `err` is a transient failure a retry may cure: CONNECTION_FAILED, TIMEOUT,
/// CIRCUIT_OPEN, QUEUE_FULL, or HTTP_ERROR whose details.status is 5xx or 429 — and its code
/// is not in `settings.non_retryable_error_codes`. Validation, permission and other 4xx never
/// retry.
bool is_retryable(const error_info& err, const retry_settings& settings);

/// The policy's delay before attempt `next_attempt` (2, 3, ...), before jitter:
/// initial_interval_ms * backoff_coefficient^(next_attempt - 2), capped at maximum_interval_ms.
std::chrono::milliseconds backoff_delay(const retry_settings& settings, int next_attempt);

/// Applies the jitter of `settings` to `delay` with `rng`: none, full (uniform in [0, delay]) or
/// proportional (uniform in delay * [1 - r, 1 + r]); the result never exceeds
/// maximum_interval_ms (nor goes below 0).
std::chrono::milliseconds apply_jitter(const retry_settings& settings, std::chrono::milliseconds delay,
                                       std::mt19937_64& rng);

/// Parses a Retry-After value: delta-seconds ("120") or an HTTP-date (IMF-fixdate, "Wed, 21
/// Oct 2015 07:28:00 GMT", relative to `now`). Past dates give 0; anything else nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

/// What to do after a failed attempt.
struct retry_decision {
  bool retry = false;
  std::chrono::milliseconds delay{0};
  /// Why not ("non_retryable", "maximum_attempts", "step_deadline") or where the delay came
  /// from ("backoff", "retry_after", "circuit_open").
  std::string reason;
};

/// Decides the retry after attempt `next_attempt - 1` failed with `err`.
/// - not retryable -> no retry ("non_retryable"); maximum_attempts reached (0 = unlimited) ->
///   no retry ("maximum_attempts");
/// - the delay is the jittered backoff, except: an HTTP 429/503 with details.retry_after
///   (seconds or HTTP-date) uses that value; CIRCUIT_OPEN waits at least details.retry_after_ms
///   (the breaker's remaining open time), so the retry lands after the open wait;
/// - with a step deadline (`remaining`), a Retry-After is capped to it, and a backoff that
///   would reach it gives up ("step_deadline").
retry_decision decide_retry(const retry_settings& settings, int next_attempt, const error_info& err,
                            std::optional<std::chrono::milliseconds> remaining, std::mt19937_64& rng,
                            std::chrono::system_clock::time_point now);

/// Compatibility helper: the delay decide_retry would give without jitter, deadline or
/// Retry-After, or nullopt when no retry is due.
std::optional<std::chrono::milliseconds> next_retry_delay(const retry_settings& settings,
                                                          int next_attempt, const error_info& err);

} // namespace opex::policies
