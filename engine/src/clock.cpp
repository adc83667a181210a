// Clocks (system and fixed) and ISO 8601 parsing and formatting.
#include "opex/clock.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace opex {

namespace chr = std::chrono;

chr::year_month_day zoned_time::local_date() const {
  return chr::year_month_day{chr::floor<chr::days>(utc + offset)};
}

namespace {

class system_clock_source final : public clock {
public:
  zoned_time now() const override {
    auto t = chr::system_clock::now();
    std::time_t tt = chr::system_clock::to_time_t(t);
    std::tm local{};
    localtime_r(&tt, &local);
    return {t, chr::minutes{local.tm_gmtoff / 60}};
  }
};

class fixed_clock_source final : public clock {
public:
  fixed_clock_source(zoned_time start, bool advancing)
    : start_(start), origin_(chr::steady_clock::now()), advancing_(advancing) {}

  zoned_time now() const override {
    if (!advancing_)
      return start_;
    auto elapsed = chr::steady_clock::now() - origin_;
    return {start_.utc + chr::duration_cast<chr::system_clock::duration>(elapsed), start_.offset};
  }

private:
  zoned_time start_;
  chr::steady_clock::time_point origin_;
  bool advancing_;
};

bool read_int(std::string_view text, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > text.size())
    return false;
  for (std::size_t i = pos; i < pos + len; ++i)
    if (text[i] < '0' || text[i] > '9')
      return false;
  auto res = std::from_chars(text.data() + pos, text.data() + pos + len, out);
  return res.ec == std::errc{};
}

} // namespace

manual_clock::manual_clock(zoned_time start) : now_(start) {}

zoned_time manual_clock::now() const {
  std::lock_guard lock(m_);
  return now_;
}

void manual_clock::advance(std::chrono::system_clock::duration d) {
  std::lock_guard lock(m_);
  now_.utc += d;
}

std::shared_ptr<const clock> make_system_clock() {
  return std::make_shared<system_clock_source>();
}

std::shared_ptr<const clock> make_fixed_clock(zoned_time start, bool advancing) {
  return std::make_shared<fixed_clock_source>(start, advancing);
}

std::optional<chr::year_month_day> parse_date(std::string_view text) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !read_int(text, 0, 4, y)
      || !read_int(text, 5, 2, m) || !read_int(text, 8, 2, d))
    return std::nullopt;
  chr::year_month_day ymd{chr::year{y}, chr::month{static_cast<unsigned>(m)},
                          chr::day{static_cast<unsigned>(d)}};
  if (!ymd.ok())
    return std::nullopt;
  return ymd;
}

std::optional<zoned_time> parse_iso8601(std::string_view text) {
  auto date = parse_date(text.substr(0, 10));
  if (!date)
    return std::nullopt;
  auto day_start = chr::sys_days{*date};
  if (text.size() == 10)
    return zoned_time{day_start, chr::minutes{0}};
  if (text.size() < 16 || (text[10] != 'T' && text[10] != 't' && text[10] != ' '))
    return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (!read_int(text, 11, 2, hh) || text[13] != ':' || !read_int(text, 14, 2, mm))
    return std::nullopt;
  std::size_t pos = 16;
  chr::milliseconds frac{0};
  if (pos < text.size() && text[pos] == ':') {
    if (!read_int(text, pos + 1, 2, ss))
      return std::nullopt;
    pos += 3;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      int digits = 0, value = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 3) {
          value = value * 10 + (text[pos] - '0');
          ++digits;
        }
        ++pos;
      }
      if (digits == 0)
        return std::nullopt;
      while (digits < 3) {
        value *= 10;
        ++digits;
      }
      frac = chr::milliseconds{value};
    }
  }
  if (hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  chr::minutes offset{0};
  if (pos == text.size() || text.substr(pos) == "Z" || text.substr(pos) == "z") {
    // UTC
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!read_int(text, pos + 1, 2, oh))
      return std::nullopt;
    std::size_t mpos = pos + 3;
    if (mpos < text.size() && text[mpos] == ':')
      ++mpos;
    if (!read_int(text, mpos, 2, om) || mpos + 2 != text.size() || oh > 23 || om > 59)
      return std::nullopt;
    offset = chr::minutes{oh * 60 + om};
    if (text[pos] == '-')
      offset = -offset;
  } else {
    return std::nullopt;
  }
  auto local = day_start + chr::hours{hh} + chr::minutes{mm} + chr::seconds{ss} + frac;
  return zoned_time{chr::time_point_cast<chr::system_clock::duration>(local - offset), offset};
}

std::string format_timestamp(chr::system_clock::time_point t) {
  auto ms = chr::floor<chr::milliseconds>(t);
  auto day = chr::floor<chr::days>(ms);
  chr::year_month_day ymd{day};
  chr::hh_mm_ss<chr::milliseconds> tod{ms - day};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()), static_cast<int>(tod.subseconds().count()));
  return buf;
}

std::string format_date(chr::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

} // namespace opex
