// Token buckets per key (opex/policies/rate_limiter.hpp; docs/operations.md, "Rate limits").
#include "opex/policies/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace opex::policies {

namespace {

double capacity_of(const rate_limit_settings& l) {
  return static_cast<double>(l.burst > 0 ? l.burst : l.requests_per_minute);
}

double refilled(double tokens, double capacity, double per_second, std::chrono::steady_clock::duration elapsed) {
  return std::min(capacity, tokens + per_second * std::chrono::duration<double>(elapsed).count());
}

} // namespace

rate_limiter::decision rate_limiter::take(std::string_view key, const rate_limit_settings& limits, time_point now) {
  decision d;
  if (limits.requests_per_minute <= 0)
    return d;
  const double capacity = capacity_of(limits);
  const double per_second = limits.requests_per_minute / 60.0;
  d.limit = static_cast<int>(capacity);
  std::lock_guard lock(m_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_buckets_)
      forget_full(limits, now);
    it = buckets_.emplace(std::string(key), bucket{capacity, now}).first;
  }
  auto& b = it->second;
  b.tokens = refilled(b.tokens, capacity, per_second, now - b.last);
  b.last = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    d.remaining = static_cast<int>(std::floor(b.tokens));
    return d;
  }
  d.allowed = false;
  d.retry_after = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / per_second * 1000.0)));
  return d;
}

std::size_t rate_limiter::size() const {
  std::lock_guard lock(m_);
  return buckets_.size();
}

void rate_limiter::forget_full(const rate_limit_settings& limits, time_point now) {
  const double capacity = capacity_of(limits);
  const double per_second = limits.requests_per_minute / 60.0;
  for (auto it = buckets_.begin(); it != buckets_.end();)
    if (refilled(it->second.tokens, capacity, per_second, now - it->second.last) >= capacity)
      it = buckets_.erase(it);
    else
      ++it;
}

} // namespace opex::policies
