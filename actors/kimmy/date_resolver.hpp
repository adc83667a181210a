// Kimmy's relative date resolution for French and English ("demain", "vendredi", "lundi
// prochain", "next Tuesday", "in two days", "by December 15"). Rules: docs/kimmy.md "Dates".
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace opex::actors {

/// A date (and optionally a time of day) found in folded text, with the folded range
/// [begin, end) of the words that expressed it, so they can be cut out of titles.
struct date_mention {
  std::chrono::year_month_day date;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// A time of day ("14h", "14h30", "à 9h", "at 3pm", "15:00").
struct time_mention {
  int hour = 0;
  int minute = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// Finds the first date expression in accent-folded lower-case text and resolves it against
/// `today`. `french` picks day/month order for numeric dates (15/12 in French, 12/15 in
/// English). Nothing found: nullopt (never a guess).
std::optional<date_mention> find_date(std::string_view folded, std::chrono::year_month_day today,
                                      bool french);

/// Finds a time of day; nullopt when none.
std::optional<time_mention> find_time(std::string_view folded);

/// A duration ("pendant une heure", "for 30 minutes") and the folded range that said it.
struct duration_mention {
  int minutes = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// Finds the first duration; nullopt when none.
std::optional<duration_mention> find_duration(std::string_view folded);

/// Finds a duration in minutes ("30 minutes", "1h", "une heure", "for 45 min"); nullopt when none.
std::optional<int> find_duration_minutes(std::string_view folded);

} // namespace opex::actors
