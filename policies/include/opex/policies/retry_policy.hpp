// Retry policy: which failures retry and after which delay (DESIGN.md §5; defaults from
// DIGEST.md §7: 3 attempts, 1000 ms initial interval, coefficient 2, cap 10000 ms).
#pragma once

#include "opex/config.hpp"
#include "opex/error.hpp"

#include <chrono>
#include <optional>

namespace opex::policies {

/// True when `err` is a transient failure a retry may cure: CONNECTION_FAILED, TIMEOUT,
/// CIRCUIT_OPEN, or HTTP_ERROR whose details.status is 5xx or 429 — and its code is not in
/// `settings.non_retryable_error_codes`. Validation, permission and other 4xx never retry.
bool is_retryable(const error_info& err, const retry_settings& settings);

/// The delay before attempt `next_attempt` (2, 3, ...) after `err`, or nullopt when no retry
/// is due (not retryable, or maximum_attempts reached; 0 = unlimited). Delay =
/// initial_interval_ms * backoff_coefficient^(next_attempt - 2), capped at maximum_interval_ms.
std::optional<std::chrono::milliseconds> next_retry_delay(const retry_settings& settings,
                                                          int next_attempt, const error_info& err);

} // namespace opex::policies
