// Time as the engine sees it: an injectable clock (wall time plus the local UTC offset used to
// resolve relative dates) and the ISO 8601 formats used in contracts and the journal.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace opex {

/// A UTC instant plus the UTC offset of the user's local time, so "demain" or "next Tuesday"
/// resolve against the user's calendar date, not the server's UTC date.
struct zoned_time {
  std::chrono::system_clock::time_point utc;
  std::chrono::minutes offset{0};

  /// The local calendar date at `utc + offset`.
  std::chrono::year_month_day local_date() const;
};

/// Source of the current time. Thread-safe: called from actor threads and HTTP threads.
class clock {
public:
  virtual ~clock() = default;
  /// The current instant and local offset.
  virtual zoned_time now() const = 0;
};

/// The machine's clock with the offset of the process time zone (TZ, /etc/localtime).
std::shared_ptr<const clock> make_system_clock();

/// A clock that starts at `start` and, when `advancing`, moves forward with the steady clock
/// (so durations stay real while dates are fixed: `opexctl --now`). When not advancing it
/// always returns `start`.
std::shared_ptr<const clock> make_fixed_clock(zoned_time start, bool advancing = true);

/// A clock that moves only when told to (tests: approval expiry, quota windows). Thread-safe.
class manual_clock final : public clock {
public:
  explicit manual_clock(zoned_time start);
  zoned_time now() const override;
  /// Moves the clock forward.
  void advance(std::chrono::system_clock::duration d);

private:
  mutable std::mutex m_;
  zoned_time now_;
};

/// Parses an ISO 8601 date-time: `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)` or a bare date
/// `YYYY-MM-DD` (midnight UTC). A missing offset means UTC. Returns nullopt on anything else.
std::optional<zoned_time> parse_iso8601(std::string_view text);

/// `2026-11-18T08:00:00.123Z` (UTC, millisecond precision), the journal's timestamp format.
std::string format_timestamp(std::chrono::system_clock::time_point t);

/// `2026-11-18`.
std::string format_date(std::chrono::year_month_day d);

/// Parses `YYYY-MM-DD` strictly (valid calendar date); nullopt otherwise.
std::optional<std::chrono::year_month_day> parse_date(std::string_view text);

} // namespace opex
