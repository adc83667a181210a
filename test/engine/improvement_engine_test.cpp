// The improvement run through the engine, on an injected clock: a tool failing with one error
// code is proposed with its evidence and its TODO created once a day through the guarded
// pipeline (a second run replays it); with improvement.daily the engine starts the run by
// itself once the day's time has passed, and journals its summary.
#include "opex/engine.hpp"

#include "support/engine_options.hpp"
#include "support/loopback_server.hpp"
#include "support/temp_dir.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <thread>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

engine_options improvement_setup(const test::temp_dir& dir, const std::string& search_url, const std::string& extra,
                                 std::shared_ptr<const opex::clock> time) {
  return test::options_with_yaml(dir,
                                 "autonomy_level: 3\ntargets:\n  mode: builtin\n  overrides:\n"
                                 "    WEB_SEARCH: {type: webhook, url: \"" + search_url + "\"}\n"
                                 "execution:\n  retry: {maximum_attempts: 1}\ncircuit_breaker:\n  enabled: false\n"
                                 "alerts:\n  enabled: false\n" + extra,
                                 std::move(time));
}

void search(engine& eng, int n) {
  for (int i = 0; i < n; ++i) {
    auto f = eng.submit_output(json::parse(R"({"type":"tool_call","tool":"WEB_SEARCH","payload":{"query":"opex"}})"));
    REQUIRE(f.wait_for(60s) == std::future_status::ready);  // a bound, not a measurement
    f.get();
  }
}

std::vector<json::object> improvement_entries(engine& eng) {
  journal_query q;
  q.agent = "prolex";
  auto entries = eng.journal(q);
  REQUIRE(entries);
  std::vector<json::object> out;
  for (const auto& e : *entries)
    if (e.at("action_type") == "reporting" && e.at("tags").at(0) == "improvement")
      out.push_back(e.as_object());
  return out;
}

} // namespace

TEST_CASE("improvement engine: a failing tool's TODO is created once a day with its evidence") {
  test::loopback_server target([](const test::recorded_request&) { return test::scripted_response{500, "{}"}; });
  auto time = std::make_shared<manual_clock>(zoned_time{parse_iso8601("2026-12-03T12:00:00Z")->utc});
  test::temp_dir dir;
  engine eng(improvement_setup(dir, target.base_url() + "/search", "", time));
  search(eng, 6);

  auto first = eng.run_improvements();
  REQUIRE(first);
  INFO(json::serialize(*first));
  const auto& proposals = first->at("proposals").as_array();
  REQUIRE(proposals.size() == 1);  // the journal is a day old: no tool is judged unused yet
  CHECK(proposals[0].at("kind") == "recurrent_error");
  CHECK(proposals[0].at("subject") == "WEB_SEARCH");
  CHECK(proposals[0].at("evidence").at("error_code_count") == 6);
  CHECK(proposals[0].at("idempotency_key") == "improve:recurrent_error:WEB_SEARCH:2026-12-03");
  const auto& applied = first->at("applied").as_array();
  REQUIRE(applied.size() == 1);
  CHECK(applied[0].at("status") == "succeeded");
  CHECK(applied[0].at("replayed") == false);
  auto todo = eng.request_state(std::string(applied[0].at("request_id").as_string()));
  REQUIRE(todo);
  CHECK(todo->at("steps").at(0).at("tool") == "TODO_CREATE");

  auto second = eng.run_improvements();  // the same day: the TODO exists, nothing is created again
  REQUIRE(second);
  CHECK(second->at("applied").at(0).at("replayed") == true);
  CHECK(second->at("applied").at(0).at("request_id") == applied[0].at("request_id"));
  CHECK(improvement_entries(eng).size() == 2);
}

TEST_CASE("improvement engine: improvement.daily runs by itself once its time has passed") {
  test::loopback_server target([](const test::recorded_request&) { return test::scripted_response{500, "{}"}; });
  auto time = std::make_shared<manual_clock>(zoned_time{parse_iso8601("2026-12-03T05:00:00Z")->utc});
  test::temp_dir dir;
  const std::string daily = "improvement:\n  daily: true\n  at: \"06:00\"\n  window_days: 7\n";
  {
    engine eng(improvement_setup(dir, target.base_url() + "/search", daily, time));
    search(eng, 6);
    CHECK(improvement_entries(eng).empty());  // 05:00: before the day's time, its first sweep ran nothing
  }
  time->advance(2h);  // 07:00
  engine eng(improvement_setup(dir, target.base_url() + "/search", daily, time));
  std::vector<json::object> entries;
  for (int i = 0; i < 200 && entries.empty(); ++i) {  // bounded wait for the run the start-up sweep began
    entries = improvement_entries(eng);
    if (entries.empty())
      std::this_thread::sleep_for(50ms);
  }
  REQUIRE(entries.size() == 1);
  const auto& data = entries[0].at("result").at("data");
  CHECK(data.at("proposals") == 1);
  CHECK(data.at("applied").at(0).at("subject") == "WEB_SEARCH");
  CHECK(data.at("applied").at(0).at("status") == "succeeded");
}
