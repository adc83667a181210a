// Prolex's model prompt with Kimmy's context from the journal (docs/kimmy.md, "Context from the
// journal"): the payload's history_refs spelled out in the user message, and nothing added
// without them.
#include "prolex/llm_planner.hpp"

#include "opex/config.hpp"

#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

TEST_CASE("prolex prompt: the user's earlier requests and the tools' failures from the journal") {
  opex_config cfg = load_config("").value();
  auto schemas = schema_registry::with_embedded();
  proxy_checker proxy{cfg, *schemas};
  llm_planner planner{cfg, *schemas, proxy};
  policies::guard_context g;
  g.cfg = &cfg;
  g.level = cfg.autonomy_level;

  kimmy_payload p;
  p.request_id = "new";
  p.raw_input = "Crée une tâche pour appeler Julie";
  p.language = "fr";
  p.intent = "task_create";
  p.suggested_tools = {"TASK_CREATE"};
  const json::object history{
    {"recent", json::array{json::object{{"request_id", "t1"}, {"timestamp", "2026-11-17T08:00:00.000Z"},
                                        {"intent", "task_create"}, {"text", "Crée une tâche pour appeler Marc"},
                                        {"parameters", {{"title", "Appeler Marc"}}}, {"tools", json::array{"TASK_CREATE"}}}}},
    {"same_intent", json::array{}},
    {"failures", json::array{json::object{{"tool", "TASK_CREATE"}, {"request_id", "f1"},
                                          {"error_code", "CONNECTION_FAILED"}, {"timestamp", "2026-11-17T09:00:00.000Z"}}}}};

  auto without = planner.request_for(p, g, &history);  // no refs: nothing from the journal
  CHECK(without.messages.at(0).content.find("SystemJournal") == std::string::npos);

  p.history_refs = {"request:t1", "failure:TASK_CREATE:f1"};
  auto with = planner.request_for(p, g, &history);
  const auto& user = with.messages.at(0).content;
  INFO(user);
  CHECK(user.find("earlier requests of this intent") != std::string::npos);
  CHECK(user.find("\"Crée une tâche pour appeler Marc\"") != std::string::npos);
  CHECK(user.find("\"title\":\"Appeler Marc\"") != std::string::npos);
  CHECK(user.find("TASK_CREATE failed at 2026-11-17T09:00:00.000Z with CONNECTION_FAILED (request f1)") != std::string::npos);
}
