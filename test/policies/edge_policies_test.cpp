// opexd's edge rules as plain logic with the time given (docs/operations.md, "Rate limits" and
// "Signed webhooks"): token buckets, and HMAC signatures with their tolerance and replay window.
#include "opex/policies/rate_limiter.hpp"
#include "opex/policies/webhook_signature.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::policies;
using namespace std::chrono_literals;

TEST_CASE("rate_limiter: a bucket of requests_per_minute, refilled over the minute, per key") {
  rate_limiter limiter;
  rate_limit_settings limits{100, 0};
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  for (int i = 0; i < 100; ++i) {
    auto d = limiter.take("key-a /webhook/proxy-exec", limits, t0);
    REQUIRE(d.allowed);
    CHECK(d.remaining == 99 - i);
  }
  auto refused = limiter.take("key-a /webhook/proxy-exec", limits, t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.limit == 100);
  CHECK(refused.retry_after == 600ms);  // one token every 60 s / 100
  // Another key, or another route of the same key, has its own bucket.
  CHECK(limiter.take("key-b /webhook/proxy-exec", limits, t0).allowed);
  CHECK(limiter.take("key-a /v1/journal", limits, t0).allowed);
  // 0.6 s later one token is back, and only one.
  CHECK(limiter.take("key-a /webhook/proxy-exec", limits, t0 + 600ms).allowed);
  CHECK_FALSE(limiter.take("key-a /webhook/proxy-exec", limits, t0 + 600ms).allowed);
  // A full minute refills the bucket, never beyond its size.
  for (int i = 0; i < 100; ++i)
    REQUIRE(limiter.take("key-a /webhook/proxy-exec", limits, t0 + 10min).allowed);
  CHECK_FALSE(limiter.take("key-a /webhook/proxy-exec", limits, t0 + 10min).allowed);
}

TEST_CASE("rate_limiter: burst sets the bucket size, 0 turns the limit off, memory stays bounded") {
  const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  rate_limiter limiter(4);
  rate_limit_settings burst{60, 3};
  for (int i = 0; i < 3; ++i)
    REQUIRE(limiter.take("k", burst, t0).allowed);
  auto refused = limiter.take("k", burst, t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 1000ms);
  rate_limit_settings off{0, 0};
  for (int i = 0; i < 1000; ++i)
    REQUIRE(limiter.take("k", off, t0).allowed);
  // Past 4 keys, buckets that have refilled are forgotten; none has yet, so all are kept (keys
  // are authenticated API keys times routes: their number is bounded by the configuration).
  for (int i = 0; i < 4; ++i)
    limiter.take("other-" + std::to_string(i), burst, t0);
  CHECK(limiter.size() == 5);
  limiter.take("new", burst, t0 + 1h);
  CHECK(limiter.size() == 1);
}

TEST_CASE("webhook_signature: valid, forged, stale, future and replayed requests") {
  signature_verifier v;
  const std::string secret = "whsec-test";
  const std::string body = R"({"text":"Créer une tâche"})";
  const std::int64_t now = 1764763200;  // 2025-12-03T12:00:00Z
  const auto ts = std::to_string(now);
  auto sig = webhook_signature(secret, ts, body);
  REQUIRE(sig.starts_with("sha256="));
  REQUIRE(sig.size() == 7 + 64);

  CHECK_FALSE(v.verify(secret, ts, sig, body, now + 10, 300));
  // The same bytes again within the tolerance: a replay.
  auto replay = v.verify(secret, ts, sig, body, now + 20, 300);
  CHECK(replay.code == error_code::replayed);

  // Another body, another secret, a malformed or missing header: invalid.
  CHECK(v.verify(secret, ts, sig, body + " ", now, 300).code == error_code::signature_invalid);
  CHECK(v.verify("other", ts, webhook_signature(secret, ts, "x"), "x", now, 300).code == error_code::signature_invalid);
  CHECK(v.verify(secret, ts, "sha256=abc", body, now, 300).code == error_code::signature_invalid);
  CHECK(v.verify(secret, "", sig, body, now, 300).code == error_code::signature_invalid);
  CHECK(v.verify(secret, ts, "", body, now, 300).code == error_code::signature_invalid);
  CHECK(v.verify(secret, "12x", sig, body, now, 300).code == error_code::signature_invalid);

  // A genuine signature of 1970, or of ten minutes ahead: expired.
  auto old = v.verify(secret, "0", webhook_signature(secret, "0", body), body, now, 300);
  CHECK(old.code == error_code::signature_expired);
  CHECK(old.details.at("tolerance_s").as_int64() == 300);
  auto ahead = std::to_string(now + 600);
  CHECK(v.verify(secret, ahead, webhook_signature(secret, ahead, body), body, now, 300).code
        == error_code::signature_expired);
  // A forged signature with a 1970 timestamp learns only "invalid".
  CHECK(v.verify(secret, "0", std::string("sha256=") + std::string(64, '0'), body, now, 300).code
        == error_code::signature_invalid);
}

TEST_CASE("webhook_signature: replays are remembered for the tolerance window, within a bound") {
  signature_verifier v(2);
  const std::string secret = "s";
  const std::int64_t now = 1000000;
  auto sign = [&](std::int64_t ts, const std::string& body) { return webhook_signature(secret, std::to_string(ts), body); };
  CHECK_FALSE(v.verify(secret, std::to_string(now), sign(now, "a"), "a", now, 300));
  CHECK_FALSE(v.verify(secret, std::to_string(now), sign(now, "b"), "b", now, 300));
  CHECK(v.verify(secret, std::to_string(now), sign(now, "b"), "b", now, 300).code == error_code::replayed);
  // The bound: a third signature pushes out the oldest.
  CHECK_FALSE(v.verify(secret, std::to_string(now), sign(now, "c"), "c", now, 300));
  CHECK_FALSE(v.verify(secret, std::to_string(now), sign(now, "a"), "a", now, 300));
}
