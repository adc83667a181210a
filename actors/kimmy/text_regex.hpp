// Kimmy's regular expressions: Boost.Regex with the ECMAScript semantics the rules were written
// for (^ and $ at the ends of the text only, '.' never matching a newline). libstdc++'s
// std::regex looks the word class up by name for every \b it tests, which made matching most
// of Kimmy's time (docs/performance.md, "Kimmy's regular expressions").
#pragma once

#include <boost/regex.hpp>

#include <string>

namespace opex::actors {

inline constexpr auto text_regex_flags = boost::regex::ECMAScript | boost::regex::no_mod_m | boost::regex::no_mod_s;

/// Compiles one of Kimmy's patterns; throws boost::regex_error on a bad pattern.
inline boost::regex text_regex(const std::string& pattern) {
  return boost::regex(pattern, text_regex_flags);
}

} // namespace opex::actors
