// Retry decisions: transient failures, exponential backoff, jitter, Retry-After, deadlines.
#include "opex/policies/retry_policy.hpp"

#include "opex/json_util.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <charconv>

namespace opex::policies {

namespace chr = std::chrono;

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

chr::milliseconds backoff_delay(const retry_settings& settings, int next_attempt) {
  double delay = settings.initial_interval_ms
                 * std::pow(settings.backoff_coefficient, static_cast<double>(std::max(0, next_attempt - 2)));
  delay = std::min(delay, settings.maximum_interval_ms);
  return chr::milliseconds{static_cast<long long>(std::max(0.0, delay))};
}

chr::milliseconds apply_jitter(const retry_settings& settings, chr::milliseconds delay, std::mt19937_64& rng) {
  double d = static_cast<double>(delay.count());
  double lo = d, hi = d;
  if (settings.jitter == "full") {
    lo = 0;
  } else if (settings.jitter == "proportional") {
    double r = std::clamp(settings.jitter_ratio, 0.0, 1.0);
    lo = d * (1 - r);
    hi = d * (1 + r);
  } else {
    return delay;
  }
  hi = std::min(hi, settings.maximum_interval_ms);
  lo = std::min(lo, hi);
  std::uniform_real_distribution<double> dist(lo, hi);
  return chr::milliseconds{static_cast<long long>(std::llround(dist(rng)))};
}

namespace {

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (names[static_cast<std::size_t>(i)] == m)
      return i + 1;
  return 0;
}

bool to_int(std::string_view s, int& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

} // namespace

std::optional<chr::milliseconds> parse_retry_after(std::string_view value, chr::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  int seconds = 0;
  if (to_int(value, seconds))
    return seconds < 0 ? std::nullopt : std::optional(chr::milliseconds{static_cast<long long>(seconds) * 1000});
  // IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT"
  if (value.size() != 29 || value[3] != ',' || value.substr(26) != "GMT")
    return std::nullopt;
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  int month = month_index(value.substr(8, 3));
  if (!to_int(value.substr(5, 2), day) || !to_int(value.substr(12, 4), year) || !to_int(value.substr(17, 2), hh)
      || !to_int(value.substr(20, 2), mm) || !to_int(value.substr(23, 2), ss) || month == 0)
    return std::nullopt;
  chr::year_month_day ymd{chr::year{year}, chr::month{static_cast<unsigned>(month)}, chr::day{static_cast<unsigned>(day)}};
  if (!ymd.ok() || hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  auto at = chr::sys_days{ymd} + chr::hours{hh} + chr::minutes{mm} + chr::seconds{ss};
  auto diff = chr::duration_cast<chr::milliseconds>(at - now);
  return std::max(diff, chr::milliseconds{0});
}

retry_decision decide_retry(const retry_settings& settings, int next_attempt, const error_info& err,
                            std::optional<chr::milliseconds> remaining, std::mt19937_64& rng,
                            chr::system_clock::time_point now) {
  retry_decision d;
  if (!is_retryable(err, settings)) {
    d.reason = "non_retryable";
    return d;
  }
  if (settings.maximum_attempts > 0 && next_attempt > settings.maximum_attempts) {
    d.reason = "maximum_attempts";
    return d;
  }
  d.delay = apply_jitter(settings, backoff_delay(settings, next_attempt), rng);
  d.reason = "backoff";
  bool from_server = false;
  if (err.code == error_code::http_error) {
    auto status = err.details.contains("status") ? err.details.at("status").to_number<int>() : 0;
    if (status == 429 || status == 503)
      if (auto ra = get_string(err.details, "retry_after"))
        if (auto parsed = parse_retry_after(*ra, now)) {
          d.delay = *parsed;
          d.reason = "retry_after";
          from_server = true;
        }
  }
  if (err.code == error_code::circuit_open) {
    if (const auto* v = get_member(err.details, "retry_after_ms"); v && v->is_number()) {
      auto wait = chr::milliseconds{v->to_number<long long>()};
      if (wait > d.delay) {
        d.delay = wait;
        d.reason = "circuit_open";
      }
    }
  }
  if (remaining) {
    if (from_server) {
      d.delay = std::min(d.delay, *remaining);  // the server asked; the step's deadline caps it
    } else if (d.delay >= *remaining) {
      d.reason = "step_deadline";
      return d;
    }
  }
  d.retry = true;
  return d;
}

std::optional<chr::milliseconds> next_retry_delay(const retry_settings& settings, int next_attempt,
                                                  const error_info& err) {
  retry_settings plain = settings;
  plain.jitter = "none";
  std::mt19937_64 rng{0};
  auto d = decide_retry(plain, next_attempt, err, std::nullopt, rng, chr::system_clock::now());
  if (!d.retry)
    return std::nullopt;
  return d.delay;
}

} // namespace opex::policies
