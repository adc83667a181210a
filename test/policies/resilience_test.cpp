// Retry policy and circuit breaker logic with an injected clock (docs/resilience.md).
#include "opex/policies/circuit_breaker.hpp"
#include "opex/policies/retry_policy.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::policies;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

namespace {
const auto now_wall = std::chrono::sys_days{std::chrono::year{2026} / 11 / 18} + std::chrono::hours{8};
error_info transient() {
  return make_error(error_code::connection_failed, "refused");
}
} // namespace

TEST_CASE("retry_policy: the reference defaults give 1 s then 2 s, then stop") {
  retry_settings s;
  std::mt19937_64 rng{1};
  auto d2 = decide_retry(s, 2, transient(), std::nullopt, rng, now_wall);
  auto d3 = decide_retry(s, 3, transient(), std::nullopt, rng, now_wall);
  auto d4 = decide_retry(s, 4, transient(), std::nullopt, rng, now_wall);
  CHECK(d2.retry);
  CHECK(d2.delay == 1000ms);
  CHECK(d3.delay == 2000ms);
  CHECK_FALSE(d4.retry);
  CHECK(d4.reason == "maximum_attempts");
}

TEST_CASE("retry_policy: exponential sequence capped at maximum_interval, unlimited attempts") {
  retry_settings s;
  s.maximum_attempts = 0;  // unlimited
  s.initial_interval_ms = 500;
  s.backoff_coefficient = 3;
  s.maximum_interval_ms = 10000;
  std::vector<long long> got;
  for (int n = 2; n <= 7; ++n)
    got.push_back(backoff_delay(s, n).count());
  CHECK(got == std::vector<long long>{500, 1500, 4500, 10000, 10000, 10000});
  std::mt19937_64 rng{1};
  CHECK(decide_retry(s, 100, transient(), std::nullopt, rng, now_wall).retry);
}

TEST_CASE("retry_policy: seeded jitter is reproducible and never exceeds maximum_interval") {
  retry_settings s;
  s.maximum_attempts = 0;
  s.maximum_interval_ms = 4000;
  for (std::string kind : {"full", "proportional"}) {
    s.jitter = kind;
    s.jitter_ratio = 0.5;
    std::mt19937_64 a{42}, b{42}, c{7};
    std::vector<long long> first, second, other;
    for (int n = 2; n <= 12; ++n) {
      auto base = backoff_delay(s, n).count();
      auto x = decide_retry(s, n, transient(), std::nullopt, a, now_wall).delay.count();
      first.push_back(x);
      second.push_back(decide_retry(s, n, transient(), std::nullopt, b, now_wall).delay.count());
      other.push_back(decide_retry(s, n, transient(), std::nullopt, c, now_wall).delay.count());
      CHECK(x <= 4000);
      CHECK(x >= 0);
      if (kind == "full")
        CHECK(x <= base);
      else
        CHECK(x >= base / 2);
    }
    CHECK(first == second);  // same seed, same sequence
    CHECK(first != other);   // another seed, another sequence
  }
}

TEST_CASE("retry_policy: non-retryable failures stop at once") {
  retry_settings s;
  std::mt19937_64 rng{1};
  for (auto code : {error_code::validation_error, error_code::permission_denied, error_code::tool_execution_failed,
                    error_code::cancelled}) {
    auto d = decide_retry(s, 2, make_error(code, "x"), std::nullopt, rng, now_wall);
    CHECK_FALSE(d.retry);
    CHECK(d.reason == "non_retryable");
  }
  CHECK_FALSE(decide_retry(s, 2, make_error(error_code::http_error, "x", {{"status", 404}}), std::nullopt, rng, now_wall).retry);
  s.non_retryable_error_codes = {"CONNECTION_FAILED"};
  CHECK_FALSE(decide_retry(s, 2, transient(), std::nullopt, rng, now_wall).retry);
}

TEST_CASE("retry_policy: Retry-After in seconds or as an HTTP date sets the delay, capped by the step") {
  retry_settings s;
  std::mt19937_64 rng{1};
  auto e429 = make_error(error_code::http_error, "busy", {{"status", 429}, {"retry_after", "7"}});
  auto d = decide_retry(s, 2, e429, std::nullopt, rng, now_wall);
  CHECK(d.retry);
  CHECK(d.delay == 7000ms);
  CHECK(d.reason == "retry_after");
  auto date = make_error(error_code::http_error, "busy", {{"status", 503}, {"retry_after", "Wed, 18 Nov 2026 08:00:30 GMT"}});
  CHECK(decide_retry(s, 2, date, std::nullopt, rng, now_wall).delay == 30000ms);
  auto capped = decide_retry(s, 2, e429, ms{2500}, rng, now_wall);
  CHECK(capped.retry);
  CHECK(capped.delay == 2500ms);
  CHECK(parse_retry_after("Wed, 18 Nov 2026 07:00:00 GMT", now_wall) == ms{0});  // past
  CHECK_FALSE(parse_retry_after("soon", now_wall));
  // Retry-After on a 500 is ignored: the policy's delay applies.
  auto e500 = make_error(error_code::http_error, "x", {{"status", 500}, {"retry_after", "7"}});
  CHECK(decide_retry(s, 2, e500, std::nullopt, rng, now_wall).delay == 1000ms);
}

TEST_CASE("retry_policy: a backoff that would reach the step deadline gives up") {
  retry_settings s;
  std::mt19937_64 rng{1};
  auto d = decide_retry(s, 2, transient(), ms{999}, rng, now_wall);
  CHECK_FALSE(d.retry);
  CHECK(d.reason == "step_deadline");
  CHECK(decide_retry(s, 2, transient(), ms{1001}, rng, now_wall).retry);
}

TEST_CASE("retry_policy: CIRCUIT_OPEN retries after the open wait, not before") {
  retry_settings s;
  std::mt19937_64 rng{1};
  auto open = make_error(error_code::circuit_open, "open", {{"retry_after_ms", 4200}});
  auto d = decide_retry(s, 2, open, std::nullopt, rng, now_wall);
  CHECK(d.retry);
  CHECK(d.delay == 4200ms);
  CHECK(d.reason == "circuit_open");
  auto soon = make_error(error_code::circuit_open, "open", {{"retry_after_ms", 10}});
  CHECK(decide_retry(s, 2, soon, std::nullopt, rng, now_wall).delay == 1000ms);
}

namespace {
circuit_breaker_settings breaker_settings() {
  circuit_breaker_settings b;
  b.failure_rate_threshold = 50;
  b.minimum_number_of_calls = 4;
  b.sliding_window_size = 4;
  b.wait_duration_in_open_state_ms = 5000;
  b.permitted_number_of_calls_in_half_open_state = 2;
  return b;
}
} // namespace

TEST_CASE("circuit_breaker: opens at the exact call where the failure rate reaches the threshold") {
  circuit_breaker cb("t", breaker_settings());
  breaker_clock::time_point t{};
  CHECK_FALSE(cb.record(true, 1ms, t));
  CHECK_FALSE(cb.record(false, 1ms, t));
  CHECK_FALSE(cb.record(true, 1ms, t));  // 3 calls: below the minimum
  CHECK(cb.state() == breaker_state::closed);
  auto tr = cb.record(false, 1ms, t);     // 4 calls, 2 failures: 50 %
  REQUIRE(tr);
  CHECK(tr->from == breaker_state::closed);
  CHECK(tr->to == breaker_state::open);
  CHECK(tr->failure_rate == Approx(50));
  CHECK(tr->calls == 4);
}

TEST_CASE("circuit_breaker: the sliding window forgets old calls") {
  circuit_breaker cb("t", breaker_settings());
  breaker_clock::time_point t{};
  cb.record(true, 1ms, t);
  for (int i = 0; i < 6; ++i)
    CHECK_FALSE(cb.record(false, 1ms, t));
  CHECK_FALSE(cb.record(true, 1ms, t));  // window: S S S F -> 25 %
  CHECK(cb.state() == breaker_state::closed);
}

TEST_CASE("circuit_breaker: open refuses until the wait, then half-open lets a bounded number of probes") {
  circuit_breaker cb("t", breaker_settings());
  breaker_clock::time_point t{};
  for (bool f : {true, true, false, false})
    cb.record(f, 1ms, t);
  REQUIRE(cb.state() == breaker_state::open);
  auto early = cb.try_acquire(t + 4999ms);
  CHECK_FALSE(early.permitted);
  CHECK(early.retry_after == 1ms);
  auto p1 = cb.try_acquire(t + 5000ms);
  CHECK(p1.permitted);
  REQUIRE(p1.transition);
  CHECK(p1.transition->to == breaker_state::half_open);
  CHECK(cb.try_acquire(t + 5000ms).permitted);         // probe 2
  CHECK_FALSE(cb.try_acquire(t + 5001ms).permitted);   // no third probe
  CHECK_FALSE(cb.record(false, 1ms, t + 5002ms));      // probe 1 ok, one still out
  auto closed = cb.record(false, 1ms, t + 5003ms);
  REQUIRE(closed);
  CHECK(closed->to == breaker_state::closed);
  CHECK(cb.try_acquire(t + 5004ms).permitted);
}

TEST_CASE("circuit_breaker: failed probes re-open it for another wait") {
  circuit_breaker cb("t", breaker_settings());
  breaker_clock::time_point t{};
  for (bool f : {true, true, true, true})
    cb.record(f, 1ms, t);
  cb.try_acquire(t + 5000ms);
  cb.try_acquire(t + 5000ms);
  cb.record(true, 1ms, t + 5010ms);
  auto again = cb.record(false, 1ms, t + 5020ms);  // 1 of 2 probes failed: 50 % -> open
  REQUIRE(again);
  CHECK(again->to == breaker_state::open);
  CHECK_FALSE(cb.try_acquire(t + 10019ms).permitted);
  CHECK(cb.try_acquire(t + 10020ms).permitted);
}

TEST_CASE("circuit_breaker: slow calls open it when configured") {
  auto s = breaker_settings();
  s.slow_call_duration_threshold_ms = 100;
  s.slow_call_rate_threshold = 75;
  circuit_breaker cb("t", s);
  breaker_clock::time_point t{};
  cb.record(false, 150ms, t);
  cb.record(false, 150ms, t);
  cb.record(false, 10ms, t);
  CHECK(cb.state() == breaker_state::closed);
  auto tr = cb.record(false, 100ms, t);  // 3 of 4 slow
  REQUIRE(tr);
  CHECK(tr->slow_rate == Approx(75));
}

TEST_CASE("breaker_registry: counts transitions and rejections per target") {
  breaker_registry reg(breaker_settings());
  breaker_clock::time_point t{};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(reg.try_acquire("a", t).permitted);
    reg.record("a", true, 1ms, t);
  }
  CHECK_FALSE(reg.try_acquire("a", t).permitted);
  CHECK(reg.try_acquire("b", t).permitted);
  auto snap = reg.snapshot();
  REQUIRE(snap.size() == 2);
  CHECK(snap[0].target == "a");
  CHECK(snap[0].state == breaker_state::open);
  CHECK(snap[0].opened == 1);
  CHECK(snap[0].rejected == 1);
  circuit_breaker_settings off;
  off.enabled = false;
  breaker_registry disabled(off);
  for (int i = 0; i < 10; ++i)
    disabled.record("a", true, 1ms, t);
  CHECK(disabled.try_acquire("a", t).permitted);
}
