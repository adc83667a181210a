// Token buckets per API key and route for opexd's edge (docs/operations.md, "Rate limits").
// Pure logic: the time is given by the caller, so tests drive it without sleeping.
#pragma once

#include "opex/config.hpp"

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace opex::policies {

/// One bucket per key (the caller builds it, e.g. API key fingerprint + route). A bucket holds
/// `burst` tokens (requests_per_minute when 0), refills at requests_per_minute / 60 per second,
/// and each request takes one. Thread-safe.
class rate_limiter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What a request learns: allowed, or when one token will be there again.
  struct decision {
    bool allowed = true;
    std::chrono::milliseconds retry_after{0};  ///< ms until a token is back (allowed = false)
    int remaining = 0;                         ///< whole tokens left after this request
    int limit = 0;                             ///< the bucket's size
  };

  /// Past `max_buckets` keys, buckets that have refilled are forgotten (a full bucket is the
  /// same as a new one). opexd's keys are authenticated API keys times routes, so their number
  /// is bounded by the configuration whatever clients send.
  explicit rate_limiter(std::size_t max_buckets = 100000) : max_buckets_(max_buckets) {}

  /// Takes one token of `key`'s bucket under `limits` at `now`. requests_per_minute 0: always
  /// allowed (off).
  decision take(std::string_view key, const rate_limit_settings& limits, time_point now);

  /// Buckets kept now (tests, metrics).
  std::size_t size() const;

private:
  struct bucket {
    double tokens = 0;
    time_point last{};
  };
  void forget_full(const rate_limit_settings& limits, time_point now);

  std::size_t max_buckets_;
  mutable std::mutex m_;
  std::unordered_map<std::string, bucket> buckets_;
};

} // namespace opex::policies
