// The alert evaluator's book: one evaluation's transitions and their journal entries, one
// delivery per target and transition, retries up to max_delivery_attempts then a dead letter,
// and what a restart reloads (states and the deliveries not done).
#include "alerts/alert_book.hpp"

#include "opex/clock.hpp"

#include <boost/json/array.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const auto t0 = parse_iso8601("2026-12-03T12:00:00Z")->utc;

json::object window(int executions, int failed) {
  return json::object{{"workflows", json::array{json::object{
                                      {"tool", "GIT_CLONE"},
                                      {"executions", executions},
                                      {"failed", failed},
                                      {"failure_rate", static_cast<double>(failed) / executions},
                                      {"latency_ms", {{"mean", 10}, {"p50", 10}, {"p95", 10}, {"p99", 10}}},
                                      {"cost_usd", {{"total", 0.0}, {"mean", 0.0}}},
                                      {"last_at", "2026-12-03T11:59:00.000Z"}}}}};
}

alert_settings settings() {
  alert_settings s;
  s.max_delivery_attempts = 2;
  s.targets = {alert_target{"hook", alert_target::kind::webhook, "http://127.0.0.1:1/", "", 1000, "", "default"},
               alert_target{"log", alert_target::kind::tool, "", "", 1000, "LOG_APPEND", "default"}};
  s.rules = {default_alert_rules()[0]};
  s.rules[0].targets = {"hook"};
  return s;
}

std::map<std::int64_t, json::object> metrics(int executions, int failed) {
  return {{3600000, window(executions, failed)}};
}

std::function<std::string()> ids() {
  auto n = std::make_shared<int>(0);
  return [n] { return "00000000-0000-4000-8000-00000000000" + std::to_string(++*n); };
}

} // namespace

TEST_CASE("alert book: a firing transition, its entry and one delivery to the rule's target") {
  alert_book book(settings());
  CHECK(book.windows() == std::vector<std::int64_t>{3600000});
  auto planned = book.evaluate(metrics(10, 5), t0, ids());
  REQUIRE(planned.size() == 1);
  CHECK(planned[0].transition.status.state == alert_state::firing);
  CHECK(planned[0].targets == std::vector<std::string>{"hook"});  // the rule names one target of two

  auto entries = alert_book::entries(planned, "2026-12-03T12:00:00.000Z");
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].agent == "system");
  CHECK(entries[0].action_type == "alert");
  CHECK(entries[0].tags == std::vector<std::string>{"alert", "firing"});
  CHECK(entries[0].status == "failure");
  CHECK(entries[0].data.at("targets") == json::array{"hook"});
  CHECK(entries[0].data.at("alert").at("subject") == "GIT_CLONE");

  CHECK(book.start_due().empty());  // nothing opens before the commit
  book.apply(planned);
  auto due = book.start_due();
  REQUIRE(due.size() == 1);
  CHECK(due[0].attempts == 1);
  CHECK(book.start_due().empty());  // in flight: not sent twice

  // Evaluated again while still breached: no transition.
  CHECK(book.evaluate(metrics(12, 6), t0 + 1min, ids()).empty());

  auto done = book.finish(due[0].transition_id, "hook", {}, "2026-12-03T12:00:01.000Z");
  CHECK(done.tags == std::vector<std::string>{"alert", "delivery"});
  CHECK(done.data.at("delivery").at("state") == "delivered");
  CHECK(book.to_json().at("deliveries").as_array().empty());
  CHECK(book.start_due().empty());
}

TEST_CASE("alert book: a failing delivery is retried, then kept as failed") {
  alert_book book(settings());
  book.apply(book.evaluate(metrics(10, 5), t0, ids()));
  auto first = book.start_due();
  REQUIRE(first.size() == 1);
  auto e1 = book.finish(first[0].transition_id, "hook", make_error(error_code::http_error, "HTTP 500"), "t");
  CHECK(e1.data.at("delivery").at("state") == "pending");
  CHECK(e1.error_code == "HTTP_ERROR");
  auto second = book.start_due();
  REQUIRE(second.size() == 1);
  CHECK(second[0].attempts == 2);
  auto e2 = book.finish(second[0].transition_id, "hook", make_error(error_code::http_error, "HTTP 500"), "t");
  CHECK(e2.data.at("delivery").at("state") == "failed");
  CHECK(book.start_due().empty());
  const auto listed = book.to_json().at("deliveries").as_array();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].at("state") == "failed");
  CHECK(listed[0].at("last_error") == "HTTP 500");
}

TEST_CASE("alert book: a restart reloads the states and the deliveries not done") {
  alert_book before(settings());
  auto planned = before.evaluate(metrics(10, 5), t0, ids());
  before.apply(planned);
  const auto& status = planned[0].transition.status;
  json::object stored{{"alerts", json::array{status.to_json()}},
                      {"deliveries", json::array{json::object{{"transition_id", status.transition_id},
                                                              {"target", "hook"},
                                                              {"state", "pending"},
                                                              {"attempts", 1},
                                                              {"last_error", nullptr},
                                                              {"notification", planned[0].notification}}}}};
  alert_book after(settings());
  after.load(stored);
  CHECK(after.alerts_json().at(0).at("state") == "firing");
  CHECK(after.evaluate(metrics(10, 5), t0 + 1min, ids()).empty());  // firing stays firing: not sent again
  auto due = after.start_due();  // the attempt whose outcome was not recorded is made again
  REQUIRE(due.size() == 1);
  CHECK(due[0].attempts == 2);
  CHECK(due[0].notification.at("transition_id") == json::value(status.transition_id));

  auto resolved = after.evaluate(metrics(10, 0), t0 + 2min, ids());
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].transition.status.state == alert_state::resolved);
  CHECK(resolved[0].transition.from == alert_state::firing);
}
