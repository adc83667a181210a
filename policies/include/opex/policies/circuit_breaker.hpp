// Circuit breakers per target (docs/resilience.md): closed -> open when the failure (or slow
// call) rate over a count-based sliding window reaches its threshold after a minimum number
// of calls; open -> half-open after a wait; half-open lets a bounded number of probe calls
// through and closes or re-opens on their outcome. Time is passed in, so the logic is tested
// with an injected clock; the registry shares the breakers between executors.
#pragma once

#include "opex/config.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex::policies {

enum class breaker_state { closed, open, half_open };

std::string_view breaker_state_name(breaker_state s) noexcept;

using breaker_clock = std::chrono::steady_clock;

/// A state change, to journal and count.
struct breaker_transition {
  std::string target;
  breaker_state from = breaker_state::closed;
  breaker_state to = breaker_state::closed;
  double failure_rate = 0.0;  ///< percent, over the window (or the probes)
  double slow_rate = 0.0;     ///< percent
  int calls = 0;              ///< calls the rates were computed over
};

/// The answer to "may I call this target now?".
struct breaker_permit {
  bool permitted = true;
  breaker_state state = breaker_state::closed;
  /// When refused: how long until the breaker lets a probe through (ms).
  std::chrono::milliseconds retry_after{0};
  std::optional<breaker_transition> transition;  ///< open -> half-open happened now
};

/// One breaker. Not thread-safe (the registry locks around it).
class circuit_breaker {
public:
  circuit_breaker(std::string target, circuit_breaker_settings settings);

  /// Asks to start a call at `now`. Closed: permitted. Open: refused until the wait is over,
  /// then half-open. Half-open: permitted while fewer than the permitted number of probes
  /// have started; further calls are refused until the probes complete.
  breaker_permit try_acquire(breaker_clock::time_point now);

  /// Records the outcome of a permitted call. `failure` for transient failures (connection
  /// errors, timeouts, HTTP 5xx and 429); `duration` decides slow calls. Returns the
  /// transition it caused, if any.
  std::optional<breaker_transition> record(bool failure, std::chrono::milliseconds duration,
                                           breaker_clock::time_point now);

  /// Gives back a permit whose call never ran (cancelled before it started).
  void release(breaker_clock::time_point now);

  breaker_state state() const noexcept { return state_; }
  const std::string& target() const noexcept { return target_; }
  double failure_rate() const;  ///< percent over the current window, 0 when empty

private:
  struct outcome {
    bool failure;
    bool slow;
  };
  breaker_transition transition_to(breaker_state to, double failure_rate, double slow_rate, int calls,
                                   breaker_clock::time_point now);

  std::string target_;
  circuit_breaker_settings settings_;
  breaker_state state_ = breaker_state::closed;
  std::deque<outcome> window_;
  breaker_clock::time_point opened_at_{};
  int probes_started_ = 0;
  std::vector<outcome> probes_;
};

/// Counters of one target, for metrics and `opexctl`.
struct breaker_snapshot {
  std::string target;
  breaker_state state = breaker_state::closed;
  double failure_rate = 0.0;
  std::uint64_t opened = 0;     ///< closed/half-open -> open transitions
  std::uint64_t half_opened = 0;
  std::uint64_t closed = 0;     ///< half-open -> closed transitions
  std::uint64_t rejected = 0;   ///< calls refused with CIRCUIT_OPEN
};

/// Every breaker of an engine, by target key. Thread-safe: executors on several threads share
/// it (short critical sections, no I/O under the lock).
class breaker_registry {
public:
  explicit breaker_registry(circuit_breaker_settings settings);

  breaker_permit try_acquire(const std::string& target, breaker_clock::time_point now);
  std::optional<breaker_transition> record(const std::string& target, bool failure,
                                           std::chrono::milliseconds duration, breaker_clock::time_point now);
  void release(const std::string& target, breaker_clock::time_point now);

  std::vector<breaker_snapshot> snapshot() const;
  bool enabled() const noexcept { return settings_.enabled; }

private:
  struct entry {
    std::unique_ptr<circuit_breaker> breaker;
    breaker_snapshot counters;
  };
  entry& get(const std::string& target);
  void count(entry& e, const breaker_transition& t);

  circuit_breaker_settings settings_;
  mutable std::mutex m_;
  std::map<std::string, entry, std::less<>> breakers_;
};

} // namespace opex::policies
