// Kimmy's context from the journal (docs/kimmy.md, "Context from the journal"): history_refs
// from the user's history, and follow-ups planned as the user's last request with what the new
// text changes. The history is request_history::lookup's JSON shape.
#include "kimmy/kimmy_history.hpp"

#include "opex/config.hpp"

#include "support/default_config.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

namespace {

using test::default_config;
using test::reference_now;

json::object request(std::string id, std::string intent, std::string text, json::object params, std::string tool) {
  return json::object{{"request_id", id}, {"timestamp", "2026-11-18T07:00:00.000Z"}, {"intent", intent},
                      {"language", "fr"}, {"text", text}, {"parameters", std::move(params)},
                      {"tools", json::array{json::string(tool)}}};
}

json::object history_of(json::array recent, json::array failures = {}) {
  return json::object{{"recent", std::move(recent)}, {"same_intent", json::array{}}, {"failures", std::move(failures)}};
}

/// Kimmy's analysis of `text` with `history` applied, as the kimmy_filter actor does it.
kimmy_analysis with_history(const std::string& text, const json::object& history) {
  static const kimmy_classifier k(default_config());
  kimmy_request req;
  req.request_id = "new";
  req.user_id = "alice";
  req.text = text;
  req.now = reference_now();
  auto a = k.analyze(req);
  add_history(k, a, history, req.now);
  return a;
}

} // namespace

TEST_CASE("kimmy history: 'la même chose pour demain' repeats the last task with tomorrow's date") {
  auto h = history_of(json::array{
    request("q1", "question_simple", "Quelle heure est-il ?", {}, "WEB_SEARCH"),
    request("t1", "task_create", "Crée une tâche pour relancer le fournisseur lundi",
            {{"title", "Relancer le fournisseur"}, {"due_date", "2026-11-23"}, {"priority", nullptr}}, "TASK_CREATE")});
  auto a = with_history("La même chose pour demain", h);
  INFO(json::serialize(to_json(a.payload)));
  CHECK(a.payload.intent == "task_create");
  CHECK(a.payload.parameters.at("title") == "Relancer le fournisseur");
  CHECK(a.payload.parameters.at("due_date") == "2026-11-19");
  CHECK(a.payload.parameters.at("follow_up_of") == "t1");
  CHECK(a.payload.suggested_tools == std::vector<std::string>{"TASK_CREATE"});
  CHECK(a.payload.raw_input == "La même chose pour demain");
  REQUIRE_FALSE(a.payload.history_refs.empty());
  CHECK(a.payload.history_refs.front() == "request:t1");
  // Read from the history, not the text: Prolex plans it, and the reason says so.
  CHECK(a.decision.requires_prolex);
  CHECK_FALSE(a.decision.handled_directly);
  CHECK(a.decision.reasons.back().find("t1") != std::string::npos);
}

TEST_CASE("kimmy history: 'do the same for Hooli' puts the new client in place of the earlier one") {
  auto h = history_of(json::array{request(
    "m1", "client_workflow", "Génère le rapport du mois pour le client Umbrella",
    {{"client_name", "Umbrella"}, {"month", 11}, {"year", 2026}, {"title", "Rapport Umbrella"}}, "CLIENT_MONTHLY_REPORT")},
    json::array{json::object{{"tool", "CLIENT_MONTHLY_REPORT"}, {"request_id", "f1"},
                             {"error_code", "CONNECTION_FAILED"}, {"timestamp", "2026-11-17T10:00:00.000Z"}}});
  for (const auto* text : {"Do the same for Hooli", "Fais la même chose pour le client Hooli", "Pareil pour Hooli"}) {
    auto a = with_history(text, h);
    INFO(text << " -> " << json::serialize(to_json(a.payload)));
    CHECK(a.payload.intent == "client_workflow");
    CHECK(a.payload.parameters.at("client_name") == "Hooli");
    CHECK(a.payload.parameters.at("month") == 11);
    CHECK(a.payload.parameters.at("title") == "Rapport Hooli");
    CHECK(a.payload.suggested_tools == std::vector<std::string>{"CLIENT_MONTHLY_REPORT"});
    CHECK(a.payload.history_refs == std::vector<std::string>{"request:m1", "failure:CLIENT_MONTHLY_REPORT:f1"});
  }
  // "the same for last month": the period changes, the client stays.
  auto period = with_history("Same for last month", h);
  INFO(json::serialize(to_json(period.payload)));
  CHECK(period.payload.parameters.at("client_name") == "Umbrella");
  CHECK(period.payload.parameters.at("month") == 10);
}

TEST_CASE("kimmy history: no follow-up without an earlier action, or with a name it has no place for") {
  auto questions = history_of(json::array{request("q1", "question_systeme", "Quels niveaux ?", {}, "")});
  auto a = with_history("La même chose pour demain", questions);
  CHECK(a.payload.intent != "question_systeme");
  CHECK_FALSE(a.payload.parameters.contains("follow_up_of"));

  auto task = history_of(json::array{request("t1", "task_create", "Crée une tâche ranger le bureau",
                                             {{"title", "Ranger le bureau"}, {"due_date", nullptr}}, "TASK_CREATE")});
  auto b = with_history("Do the same for Hooli", task);  // a task has no client or person to replace
  INFO(json::serialize(to_json(b.payload)));
  CHECK_FALSE(b.payload.parameters.contains("follow_up_of"));

  // Not a follow-up: the same words inside an ordinary request.
  auto c = with_history("Crée une tâche pour vérifier que le serveur est toujours le même", task);
  CHECK(c.payload.intent == "task_create");
  CHECK_FALSE(c.payload.parameters.contains("follow_up_of"));
  CHECK(find_follow_up("is the same server down again") == std::nullopt);
}

TEST_CASE("kimmy history: history_refs list the user's requests of the intent and the tools' failures") {
  auto h = history_of(json::array{request("t2", "task_create", "b", {}, "TASK_CREATE"),
                                  request("n1", "doc_note", "c", {}, "DOC_CREATE_NOTE"),
                                  request("t1", "task_create", "a", {}, "TASK_CREATE")},
                      json::array{json::object{{"tool", "TASK_CREATE"}, {"request_id", "f9"}, {"error_code", nullptr},
                                               {"timestamp", "2026-11-17T10:00:00.000Z"}}});
  auto a = with_history("Crée une tâche pour appeler le plombier", h);
  CHECK(a.payload.history_refs == std::vector<std::string>{"request:t2", "request:t1", "failure:TASK_CREATE:f9"});
  auto none = with_history("Crée une tâche pour appeler le plombier", history_of(json::array{}));
  CHECK(none.payload.history_refs.empty());
}

