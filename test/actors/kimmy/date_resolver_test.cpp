// Relative date resolution, against Wednesday 2026-11-18 (docs/kimmy.md "Dates").
#include "kimmy/date_resolver.hpp"
#include "kimmy/text_normalizer.hpp"

#include "opex/clock.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
namespace chr = std::chrono;

namespace {

std::string resolve(std::string_view text, bool french = true) {
  chr::year_month_day today{chr::year{2026}, chr::November, chr::day{18}};
  auto m = find_date(fold_text(text), today, french);
  return m ? format_date(m->date) : "none";
}

} // namespace

TEST_CASE("date_resolver: French relative dates") {
  CHECK(resolve("demain") == "2026-11-19");
  CHECK(resolve("après-demain") == "2026-11-20");
  CHECK(resolve("aujourd'hui") == "2026-11-18");
  CHECK(resolve("avant vendredi") == "2026-11-20");
  CHECK(resolve("lundi") == "2026-11-23");
  CHECK(resolve("mercredi") == "2026-11-25");
  CHECK(resolve("lundi prochain") == "2026-11-23");
  CHECK(resolve("vendredi prochain") == "2026-11-27");
  CHECK(resolve("dans deux jours") == "2026-11-20");
  CHECK(resolve("dans 3 jours") == "2026-11-21");
  CHECK(resolve("dans une semaine") == "2026-11-25");
  CHECK(resolve("la semaine prochaine") == "2026-11-23");
  CHECK(resolve("d'ici la fin du mois") == "2026-11-30");
  CHECK(resolve("le 15 décembre") == "2026-12-15");
  CHECK(resolve("le 3 janvier") == "2027-01-03");
  CHECK(resolve("le 15/12") == "2026-12-15");
  CHECK(resolve("le 2026-12-01") == "2026-12-01");
}

TEST_CASE("date_resolver: English relative dates") {
  CHECK(resolve("tomorrow", false) == "2026-11-19");
  CHECK(resolve("the day after tomorrow", false) == "2026-11-20");
  CHECK(resolve("by Friday", false) == "2026-11-20");
  CHECK(resolve("next Tuesday", false) == "2026-11-24");
  CHECK(resolve("next Monday", false) == "2026-11-23");
  CHECK(resolve("next Friday", false) == "2026-11-27");
  CHECK(resolve("in two days", false) == "2026-11-20");
  CHECK(resolve("by December 15", false) == "2026-12-15");
  CHECK(resolve("on the 3rd of January", false) == "2027-01-03");
  CHECK(resolve("12/15", false) == "2026-12-15");
  CHECK(resolve("next week", false) == "2026-11-23");
  CHECK(resolve("end of the month", false) == "2026-11-30");
}

TEST_CASE("date_resolver: no date words means no date") {
  CHECK(resolve("crée une tâche pour ranger le bureau") == "none");
  CHECK(resolve("add a task to clean the desk", false) == "none");
}

TEST_CASE("date_resolver: times and durations") {
  auto t = find_time(fold_text("réunion jeudi à 14h30"));
  REQUIRE(t);
  CHECK(t->hour == 14);
  CHECK(t->minute == 30);
  auto pm = find_time(fold_text("call at 3pm tomorrow"));
  REQUIRE(pm);
  CHECK(pm->hour == 15);
  CHECK(find_duration_minutes(fold_text("pendant 30 minutes")) == 30);
  CHECK(find_duration_minutes(fold_text("for one hour")) == 60);
  CHECK_FALSE(find_time(fold_text("crée une tâche")));
}
