// What the plain-logic tests of Kimmy and Prolex share: opex's default configuration (loaded
// once) and the corpus' reference "now", Wednesday 2026-11-18 09:00 in Paris.
#pragma once

#include "opex/clock.hpp"
#include "opex/config.hpp"

#include <catch2/catch.hpp>

namespace opex::test {

inline const opex_config& default_config() {
  static const opex_config cfg = [] {
    auto c = load_config("");
    REQUIRE(c.ok());
    return std::move(c).value();
  }();
  return cfg;
}

inline zoned_time reference_now() {
  return *parse_iso8601("2026-11-18T09:00:00+01:00");
}

} // namespace opex::test
