// Relative and absolute date expressions in French and English.
#include "date_resolver.hpp"

#include "text_regex.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace opex::actors {

namespace chr = std::chrono;

namespace {

constexpr std::array<std::string_view, 7> fr_weekdays{"dimanche", "lundi",    "mardi", "mercredi",
                                                      "jeudi",    "vendredi", "samedi"};
constexpr std::array<std::string_view, 7> en_weekdays{"sunday",   "monday", "tuesday", "wednesday",
                                                      "thursday", "friday", "saturday"};

int number_word(const std::string& w) {
  static const std::array<std::pair<std::string_view, int>, 22> words{{
    {"un", 1},     {"une", 1},    {"a", 1},      {"an", 1},    {"one", 1},   {"deux", 2},
    {"two", 2},    {"trois", 3},  {"three", 3},  {"quatre", 4}, {"four", 4},  {"cinq", 5},
    {"five", 5},   {"six", 6},    {"sept", 7},   {"seven", 7},  {"huit", 8},  {"eight", 8},
    {"dix", 10},   {"ten", 10},   {"quinze", 15}, {"fifteen", 15},
  }};
  for (const auto& [k, v] : words)
    if (k == w)
      return v;
  try {
    return std::stoi(w);
  } catch (const std::exception&) {
    return -1;
  }
}

int month_of(const std::string& w) {
  static const std::array<std::pair<std::string_view, int>, 36> months{{
    {"janvier", 1}, {"fevrier", 2}, {"mars", 3},      {"avril", 4},    {"mai", 5},
    {"juin", 6},    {"juillet", 7}, {"aout", 8},      {"septembre", 9}, {"octobre", 10},
    {"novembre", 11}, {"decembre", 12},
    {"january", 1}, {"february", 2}, {"march", 3},    {"april", 4},    {"may", 5},
    {"june", 6},    {"july", 7},    {"august", 8},    {"september", 9}, {"october", 10},
    {"november", 11}, {"december", 12},
    {"jan", 1},     {"feb", 2},     {"mar", 3},       {"apr", 4},      {"jun", 6},
    {"jul", 7},     {"aug", 8},     {"sep", 9},       {"sept", 9},     {"oct", 10},
    {"nov", 11},    {"dec", 12},
  }};
  for (const auto& [k, v] : months)
    if (k == w)
      return v;
  return 0;
}

int weekday_of(const std::string& w) {
  for (int i = 0; i < 7; ++i)
    if (fr_weekdays[i] == w || en_weekdays[i] == w)
      return i;
  return -1;
}

chr::sys_days add_days(chr::year_month_day d, int n) {
  return chr::sys_days{d} + chr::days{n};
}

/// Days from today to the first `weekday` strictly after today.
int days_to_next(chr::year_month_day today, int weekday) {
  int cur = static_cast<int>(chr::weekday{chr::sys_days{today}}.c_encoding());
  int diff = (weekday - cur + 7) % 7;
  return diff == 0 ? 7 : diff;
}

/// Days from today to `weekday` of next calendar week (weeks run Monday to Sunday).
int days_to_next_week(chr::year_month_day today, int weekday) {
  int cur = static_cast<int>(chr::weekday{chr::sys_days{today}}.iso_encoding());  // Mon=1..Sun=7
  int target = weekday == 0 ? 7 : weekday;
  return (7 - cur) + target;
}

/// A date with this month/day, this year unless already past, then next year.
std::optional<chr::year_month_day> upcoming(chr::year_month_day today, int month, int day,
                                            std::optional<int> year) {
  if (month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  int y = year ? *year : static_cast<int>(today.year());
  if (y < 100)
    y += 2000;
  chr::year_month_day d{chr::year{y}, chr::month{static_cast<unsigned>(month)},
                        chr::day{static_cast<unsigned>(day)}};
  if (!d.ok())
    return std::nullopt;
  if (!year && chr::sys_days{d} < chr::sys_days{today})
    d = chr::year_month_day{chr::year{y + 1}, d.month(), d.day()};
  if (!d.ok())
    return std::nullopt;
  return d;
}

struct rule {
  boost::regex re;
  int kind;
};

enum kinds {
  k_iso,
  k_day_after_tomorrow,
  k_tomorrow,
  k_today,
  k_in_n_days,
  k_in_n_weeks,
  k_next_week_weekday_fr,
  k_next_week_weekday_en,
  k_next_week,
  k_end_of_month,
  k_end_of_week,
  k_day_month_fr,
  k_month_day_en,
  k_day_month_en,
  k_numeric,
  k_weekday,
};

const std::vector<rule>& rules() {
  static const std::vector<rule> r = [] {
    const std::string wd = "(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|"
                           "wednesday|thursday|friday|saturday|sunday)";
    const std::string wd_nc = "(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|"
                              "wednesday|thursday|friday|saturday|sunday)";
    const std::string num = "(\\d{1,2}|un|une|a|an|one|deux|two|trois|three|quatre|four|cinq|five|"
                            "six|sept|seven|huit|eight|dix|ten|quinze|fifteen)";
    const std::string month = "(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|"
                              "novembre|decembre|january|february|march|april|may|june|july|august|"
                              "september|october|november|december|jan|feb|mar|apr|jun|jul|aug|"
                              "sept|sep|oct|nov|dec)";
    const std::string lead = "(?:(?:avant|pour|d'ici|jusqu'a|by|before|for|on|due|le|ce|cette|this|until) )*";
    return std::vector<rule>{
      {text_regex("\\b" + lead + "(\\d{4})-(\\d{2})-(\\d{2})\\b"), k_iso},
      {text_regex("\\b" + lead + "(?:apres-demain|apres demain|(?:the )?day after tomorrow)\\b"), k_day_after_tomorrow},
      {text_regex("\\b" + lead + "(?:demain|tomorrow)\\b"), k_tomorrow},
      {text_regex("\\b" + lead + "(?:aujourd'hui|aujourdhui|today|ce soir|tonight|dans la journee)\\b"), k_today},
      {text_regex("\\b(?:dans|in|d'ici) " + num + " (?:jours?|days?)\\b"), k_in_n_days},
      {text_regex("\\b(?:dans|in|d'ici) " + num + " (?:semaines?|weeks?)\\b"), k_in_n_weeks},
      {text_regex("\\b" + lead + wd + " prochain\\b"), k_next_week_weekday_fr},
      {text_regex("\\b" + lead + "next " + wd + "\\b"), k_next_week_weekday_en},
      {text_regex("\\b" + lead + "(?:la semaine prochaine|next week)\\b"), k_next_week},
      {text_regex("\\b" + lead + "(?:(?:la )?fin du mois|(?:the )?end of (?:the )?month)\\b"), k_end_of_month},
      {text_regex("\\b" + lead + "(?:(?:la )?fin de (?:la )?semaine|(?:the )?end of (?:the )?week)\\b"), k_end_of_week},
      {text_regex("\\b" + lead + "(?:" + wd_nc + " )?(\\d{1,2})(?:er)? " + month + "(?: (\\d{4}))?\\b"), k_day_month_fr},
      {text_regex("\\b" + lead + month + "\\.? (\\d{1,2})(?:st|nd|rd|th)?(?:,? (\\d{4}))?\\b"), k_month_day_en},
      {text_regex("\\b" + lead + "(?:the )?(\\d{1,2})(?:st|nd|rd|th) (?:of )?" + month + "(?:,? (\\d{4}))?\\b"), k_day_month_en},
      {text_regex("\\b" + lead + "(\\d{1,2})/(\\d{1,2})(?:/(\\d{2,4}))?\\b"), k_numeric},
      {text_regex("\\b" + lead + wd + "\\b"), k_weekday},
    };
  }();
  return r;
}

/// The date one rule's match names, or nullopt when it names none (an invalid date).
std::optional<chr::year_month_day> date_of(kinds kind, const boost::smatch& m, chr::year_month_day today, bool french) {
  auto g = [&](int i) { return m[i].str(); };
  auto year = [&]() -> std::optional<int> {
    if (m[3].matched)
      return std::stoi(g(3));
    return std::nullopt;
  };
  switch (kind) {
    case k_iso: {
      chr::year_month_day v{chr::year{std::stoi(g(1))}, chr::month{static_cast<unsigned>(std::stoi(g(2)))},
                            chr::day{static_cast<unsigned>(std::stoi(g(3)))}};
      return v.ok() ? std::optional(v) : std::nullopt;
    }
    case k_day_after_tomorrow: return chr::year_month_day{add_days(today, 2)};
    case k_tomorrow: return chr::year_month_day{add_days(today, 1)};
    case k_today: return today;
    case k_in_n_days:
    case k_in_n_weeks: {
      int n = number_word(g(1));
      if (n > 0 && n < 400)
        return chr::year_month_day{add_days(today, kind == k_in_n_days ? n : 7 * n)};
      return std::nullopt;
    }
    case k_next_week_weekday_fr:
    case k_next_week_weekday_en:
      return chr::year_month_day{add_days(today, days_to_next_week(today, weekday_of(g(1))))};
    case k_next_week: return chr::year_month_day{add_days(today, days_to_next_week(today, 1))};
    case k_end_of_month:
      return chr::year_month_day{chr::year_month_day_last{today.year(), chr::month_day_last{today.month()}}};
    case k_end_of_week: {
      int to_friday = (5 - static_cast<int>(chr::weekday{chr::sys_days{today}}.c_encoding()) + 7) % 7;
      return chr::year_month_day{add_days(today, to_friday)};
    }
    case k_day_month_fr: return upcoming(today, month_of(g(2)), std::stoi(g(1)), year());
    case k_month_day_en: return upcoming(today, month_of(g(1)), std::stoi(g(2)), year());
    case k_day_month_en: return upcoming(today, month_of(g(2)), std::stoi(g(1)), year());
    case k_numeric: {
      int a = std::stoi(g(1)), b = std::stoi(g(2));
      return french ? upcoming(today, b, a, year()) : upcoming(today, a, b, year());
    }
    case k_weekday: return chr::year_month_day{add_days(today, days_to_next(today, weekday_of(g(1))))};
    default: return std::nullopt;
  }
}

} // namespace

std::optional<date_mention> find_date(std::string_view folded, chr::year_month_day today,
                                      bool french) {
  std::string text(folded);
  // Names that hold a weekday are no date: "l'article sur le Black Friday".
  static const boost::regex named_day(
    R"(\b(?:black friday|cyber monday|good friday|easter monday|super tuesday|vendredi saint|lundi de paques|mardi gras|vendredi fou)\b)",
    text_regex_flags);
  std::vector<std::pair<std::ptrdiff_t, std::ptrdiff_t>> names;
  for (boost::sregex_iterator it(text.begin(), text.end(), named_day), end; it != end; ++it)
    names.emplace_back(it->position(), it->length());
  for (auto [at, length] : names)
    std::fill_n(text.begin() + at, length, ' ');
  // Rules are ordered from most to least specific: the first one that names a date wins.
  for (const auto& r : rules()) {
    boost::smatch m;
    if (!boost::regex_search(text, m, r.re))
      continue;
    auto d = date_of(static_cast<kinds>(r.kind), m, today, french);
    if (!d)
      continue;
    auto begin = static_cast<std::size_t>(m.position());
    return date_mention{*d, begin, begin + static_cast<std::size_t>(m.length(0))};
  }
  return std::nullopt;
}

std::optional<time_mention> find_time(std::string_view folded) {
  static const boost::regex fr(R"(\b(?:a |vers |at |from |de )?(\d{1,2})(?:h|:)(\d{2})?\b)",
                             text_regex_flags);
  static const boost::regex en(R"(\b(?:at |around |from )?(\d{1,2})(?::(\d{2}))? ?(am|pm)\b)",
                             text_regex_flags);
  std::string text(folded);
  boost::smatch m;
  if (boost::regex_search(text, m, en)) {
    int h = std::stoi(m[1].str());
    int min = m[2].matched ? std::stoi(m[2].str()) : 0;
    if (h >= 1 && h <= 12 && min < 60) {
      if (m[3].str() == "pm" && h != 12)
        h += 12;
      if (m[3].str() == "am" && h == 12)
        h = 0;
      auto b = static_cast<std::size_t>(m.position());
      return time_mention{h, min, b, b + static_cast<std::size_t>(m.length(0))};
    }
  }
  static const boost::regex noon(R"(\b(?:a |vers |at |around )?(midi|noon|minuit|midnight)\b)", text_regex_flags);
  if (boost::regex_search(text, m, noon)) {
    auto b = static_cast<std::size_t>(m.position());
    const bool midday = m[1].str() == "midi" || m[1].str() == "noon";
    return time_mention{midday ? 12 : 0, 0, b, b + static_cast<std::size_t>(m.length(0))};
  }
  if (boost::regex_search(text, m, fr)) {
    int h = std::stoi(m[1].str());
    int min = m[2].matched ? std::stoi(m[2].str()) : 0;
    // "15:00" needs minutes; "14h" does not.
    bool colon = text[static_cast<std::size_t>(m.position(std::size_t{1}) + m.length(1))] == ':';
    if (h < 24 && min < 60 && (!colon || m[2].matched)) {
      auto b = static_cast<std::size_t>(m.position());
      return time_mention{h, min, b, b + static_cast<std::size_t>(m.length(0))};
    }
  }
  return std::nullopt;
}

std::optional<duration_mention> find_duration(std::string_view folded) {
  std::string text(folded);
  // Fixed phrases first: "une demi-heure", "half an hour", "1h30 / 2 h 15" after "pendant/for".
  static const boost::regex phrase(
    R"(\b(?:(?:pendant|durant|for|de|of|d') ?)?(?:une |a |an |one )?(demi[- ]heure|half[- ]an[- ]hour|half[- ]hour|quart d'heure|quarter of an hour|heure et demie|hour and a half|and a half hours?)\b)",
    text_regex_flags);
  static const boost::regex hours_minutes(R"(\b(?:pendant|durant|for|de|of|d') ?(\d) ?h ?([0-5]\d)\b)", text_regex_flags);
  boost::smatch pm;
  if (boost::regex_search(text, pm, phrase)) {
    const auto what = pm[1].str();
    const int minutes = what.find("quar") != std::string::npos ? 15
                        : (what.find("demie") != std::string::npos || what.find("a half") != std::string::npos) ? 90
                                                                                                               : 30;
    return duration_mention{minutes, static_cast<std::size_t>(pm.position()),
                            static_cast<std::size_t>(pm.position() + pm.length())};
  }
  if (boost::regex_search(text, pm, hours_minutes))
    return duration_mention{std::stoi(pm[1].str()) * 60 + std::stoi(pm[2].str()), static_cast<std::size_t>(pm.position()),
                            static_cast<std::size_t>(pm.position() + pm.length())};
  static const boost::regex re(
    R"(\b(?:pendant |durant |for |de |of )?(?:a |an )?(\d{1,3}|une|un|an|one|deux|two|trois|three)[ -]?(minutes?|min|mn|heures?|hours?|h)\b(?!\d))",
    text_regex_flags);
  for (boost::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    const auto& m = *it;
    int n = number_word(m[1].str());
    auto unit = m[2].str();
    // "14h" is a time of day, not a duration: only "1h"/"2h" style values up to 8 count, and
    // not after "à / at / vers" ("jeudi à 8h").
    static const boost::regex time_marker(R"((?:^|\s)(?:a|at|vers|des|from|around)\s$)", text_regex_flags);
    const auto before = text.substr(0, static_cast<std::size_t>(m.position(1)));
    if (n <= 0 || (unit == "h" && (n > 8 || boost::regex_search(before, time_marker))))
      continue;
    bool hours = unit.starts_with("h");
    return duration_mention{hours ? n * 60 : n, static_cast<std::size_t>(m.position()),
                            static_cast<std::size_t>(m.position() + m.length())};
  }
  return std::nullopt;
}

std::optional<int> find_duration_minutes(std::string_view folded) {
  auto d = find_duration(folded);
  return d ? std::optional<int>(d->minutes) : std::nullopt;
}

} // namespace opex::actors
