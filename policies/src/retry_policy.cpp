// Retry decisions and exponential backoff.
#include "opex/policies/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace opex::policies {

bool is_retryable(const error_info& err, const retry_settings& settings) {
  auto name = error_code_name(err.code);
  for (const auto& code : settings.non_retryable_error_codes)
    if (code == name)
      return false;
  if (err.code == error_code::http_error) {
    auto it = err.details.find("status");
    if (it == err.details.end() || !it->value().is_number())
      return false;
    auto status = it->value().to_number<int>();
    return status == 429 || (status >= 500 && status <= 599);
  }
  return is_transient(err.code);
}

std::optional<std::chrono::milliseconds> next_retry_delay(const retry_settings& settings,
                                                          int next_attempt, const error_info& err) {
  if (next_attempt < 2)
    return std::nullopt;
  if (settings.maximum_attempts > 0 && next_attempt > settings.maximum_attempts)
    return std::nullopt;
  if (!is_retryable(err, settings))
    return std::nullopt;
  double delay = settings.initial_interval_ms
                 * std::pow(settings.backoff_coefficient, static_cast<double>(next_attempt - 2));
  delay = std::min(delay, settings.maximum_interval_ms);
  return std::chrono::milliseconds{static_cast<long long>(std::max(0.0, delay))};
}

} // namespace opex::policies
