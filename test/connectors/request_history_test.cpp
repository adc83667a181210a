// Request history (docs/kimmy.md, "Context from the journal"): Kimmy's classifications become
// indexed rows in the journal's transaction; a lookup gives the user's recent requests, those of
// one intent and the tools' recent failures, per tenant and user; a database made before the
// table is filled from its journal once.
#include "opex/connectors/request_history.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::connectors;
namespace json = boost::json;

namespace {

json::object classification(std::string ts, std::string id, std::string user, std::string intent,
                            std::string text, json::object params, std::string tool = "",
                            std::string tenant = "acme") {
  json::array tools;
  if (!tool.empty())
    tools.emplace_back(tool);
  return json::object{{"timestamp", ts},
                      {"request_id", id},
                      {"user_id", user},
                      {"agent", "kimmy"},
                      {"action_type", "classification"},
                      {"intent", intent},
                      {"payload_snapshot", {{"request_id", id},
                                            {"raw_input", text},
                                            {"intent", intent},
                                            {"language", "fr"},
                                            {"parameters", std::move(params)},
                                            {"suggested_tools", std::move(tools)}}},
                      {"result", {{"status", "success"}}},
                      {"metadata", {{"tenant", tenant}}}};
}

json::object failed_step(std::string ts, std::string id, std::string tool, std::string tenant = "acme") {
  return json::object{{"timestamp", ts},
                      {"request_id", id},
                      {"agent", "opex"},
                      {"action_type", "execution"},
                      {"tool_used", tool},
                      {"result", {{"status", "failure"}, {"error_code", "CONNECTION_FAILED"}}},
                      {"metadata", {{"tenant", tenant}, {"step", 1}}},
                      {"tags", json::array{"step", "failed"}}};
}

std::vector<json::object> sample() {
  return {
    classification("2026-12-01T09:00:00.000Z", "r1", "alice", "task_create", "Crée une tâche appeler Marc",
                   {{"title", "Appeler Marc"}, {"due_date", nullptr}}, "TASK_CREATE"),
    classification("2026-12-01T09:01:00.000Z", "r2", "alice", "reporting", "Rapport du mois pour le client Umbrella",
                   {{"client_name", "Umbrella"}}, "CLIENT_MONTHLY_REPORT"),
    classification("2026-12-01T09:02:00.000Z", "r3", "alice", "task_create", "Crée une tâche payer le loyer",
                   {{"title", "Payer le loyer"}}, "TASK_CREATE"),
    classification("2026-12-01T09:03:00.000Z", "r4", "bob", "task_create", "Bob's task", {{"title", "X"}}, "TASK_CREATE"),
    classification("2026-12-01T09:04:00.000Z", "r5", "alice", "task_create", "Another tenant's",
                   {{"title", "Y"}}, "TASK_CREATE", "globex"),
    failed_step("2026-12-01T09:05:00.000Z", "r6", "CLIENT_MONTHLY_REPORT"),
    failed_step("2026-12-01T09:06:00.000Z", "r7", "CLIENT_MONTHLY_REPORT", "globex"),
    failed_step("2026-12-01T09:07:00.000Z", "r8", "TASK_CREATE"),
  };
}

std::vector<std::string> ids_of(const json::value& list) {
  std::vector<std::string> out;
  for (const auto& r : list.as_array())
    out.emplace_back(r.at("request_id").as_string());
  return out;
}

history_query alice(std::string intent, std::vector<std::string> tools = {}) {
  history_query q;
  q.tenant = "acme";
  q.user_id = "alice";
  q.intent = std::move(intent);
  q.tools = std::move(tools);
  return q;
}

} // namespace

TEST_CASE("request history: the user's recent requests, those of one intent and the tools' failures") {
  test::temp_dir dir;
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  REQUIRE(journal->append(sample()).value() == 8);

  auto h = request_history::lookup(*db, alice("task_create"));
  INFO(json::serialize(h));
  // Newest first, only alice's in acme.
  CHECK(ids_of(h.at("recent")) == std::vector<std::string>{"r3", "r2", "r1"});
  CHECK(ids_of(h.at("same_intent")) == std::vector<std::string>{"r3", "r1"});
  const auto& newest = h.at("recent").as_array().front().as_object();
  CHECK(newest.at("intent") == "task_create");
  CHECK(newest.at("text") == "Crée une tâche payer le loyer");
  CHECK(newest.at("parameters").at("title") == "Payer le loyer");
  CHECK(newest.at("tools") == json::array{"TASK_CREATE"});
  // Failures of the recent requests' tools, in acme only (globex's CLIENT_MONTHLY_REPORT failure
  // is not listed).
  std::vector<std::string> failed;
  for (const auto& f : h.at("failures").as_array())
    failed.push_back(std::string(f.at("tool").as_string()) + "@" + std::string(f.at("request_id").as_string()));
  std::sort(failed.begin(), failed.end());
  CHECK(failed == std::vector<std::string>{"CLIENT_MONTHLY_REPORT@r6", "TASK_CREATE@r8"});
  CHECK(h.at("failures").as_array().front().at("error_code") == "CONNECTION_FAILED");

  auto limited = alice("reporting");
  limited.recent = 1;
  auto one = request_history::lookup(*db, limited);
  CHECK(ids_of(one.at("recent")) == std::vector<std::string>{"r3"});
  CHECK(ids_of(one.at("same_intent")) == std::vector<std::string>{"r2"});

  history_query nobody;
  nobody.tenant = "acme";
  auto none = request_history::lookup(*db, nobody);
  CHECK(none.at("recent").as_array().empty());
  CHECK(none.at("failures").as_array().empty());
}

TEST_CASE("request history: a database made before the table is filled from its journal once") {
  test::temp_dir dir;
  {
    auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
    auto journal = sqlite_journal::open_on(db).value();
    REQUIRE(journal->append(sample()).value() == 8);
    db->exec("DROP TABLE request_history");
  }
  auto db = std::shared_ptr<sqlite_db>(sqlite_db::open(dir.file("opex.db")).value());
  auto journal = sqlite_journal::open_on(db).value();
  auto again = sqlite_journal::open_on(db).value();  // opened again: filled once, not twice
  auto h = request_history::lookup(*db, alice("task_create"));
  CHECK(ids_of(h.at("recent")) == std::vector<std::string>{"r3", "r2", "r1"});
  CHECK(ids_of(h.at("same_intent")) == std::vector<std::string>{"r3", "r1"});
  CHECK(h.at("recent").as_array().front().at("parameters").at("title") == "Payer le loyer");
}
