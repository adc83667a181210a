// Offline planning through the whole engine (docs/kimmy.md, "References", "Several actions",
// "Answers", "Context from the journal"): Kimmy reading the user's history, Prolex reading the
// tenant's tasks on the agents' reader, the Proxy Master
// and the builtin store, with the default configuration and no model.
#include "opex/engine.hpp"

#include "support/temp_dir.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <future>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

request_result run(engine& eng, const std::string& text) {
  auto f = eng.submit_text(text);
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  return f.get();
}

std::string task(engine& eng, const std::string& title) {
  json::value plan = json::object{{"type", "tool_call"}, {"tool", "TASK_CREATE"}, {"payload", json::object{{"title", title}}}};
  auto f = eng.submit_output(std::move(plan));
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE(r.status == request_status::succeeded);
  return std::string(r.steps.at(0).data.at("task_id").as_string());
}

/// The default configuration on a fresh database, "now" Wednesday 2026-11-18 09:00 in Paris.
engine_options options_in(const test::temp_dir& dir) {
  engine_options o;
  o.database = dir.file("opex.db");
  o.time = make_fixed_clock(*parse_iso8601("2026-11-18T09:00:00+01:00"));
  return o;
}

} // namespace

TEST_CASE("offline planning engine: references are resolved against the tenant's own tasks") {
  test::temp_dir dir;
  engine eng(options_in(dir));
  const auto room = task(eng, "Réserver la salle");
  task(eng, "Call the accountant");
  task(eng, "Call the bank");

  auto done = run(eng, "La tâche 'réserver la salle' est faite");
  INFO(json::serialize(to_json(done)));
  REQUIRE(done.output);
  REQUIRE(done.output->type == output_type::tool_call);
  CHECK(done.output->plan.at(0).tool == "TASK_UPDATE");
  CHECK(done.output->plan.at(0).payload.at("task_id") == room.c_str());
  CHECK(done.status == request_status::succeeded);

  auto two = run(eng, "Mark the call task as done");
  REQUIRE(two.output);
  REQUIRE(two.output->type == output_type::clarification);
  CHECK(two.output->questions.at(0).find("Call the accountant") != std::string::npos);
  CHECK(two.output->questions.at(0).find("Call the bank") != std::string::npos);

  auto none = run(eng, "Termine la tâche « Payer l'URSSAF »");
  REQUIRE(none.output);
  REQUIRE(none.output->type == output_type::clarification);
  CHECK(none.output->questions.at(0).find("aucune tâche") != std::string::npos);

  // An event named by its day: found among the tenant's events, named in the task's notes.
  json::value event = json::object{{"type", "tool_call"}, {"tool", "CAL_EVENT_CREATE"},
                                   {"payload", {{"summary", "Réunion budget"}, {"start", "2026-11-19T14:00:00+01:00"}}}};
  auto made = eng.submit_output(std::move(event));
  REQUIRE(made.wait_for(60s) == std::future_status::ready);
  REQUIRE(made.get().status == request_status::succeeded);
  auto prepare = run(eng, "Crée une tâche pour préparer ma réunion de jeudi");
  INFO(json::serialize(to_json(prepare)));
  REQUIRE(prepare.output);
  REQUIRE(prepare.output->type == output_type::tool_call);
  CHECK(std::string(prepare.output->plan.at(0).payload.at("notes").as_string()).find("Réunion budget") != std::string::npos);

  auto last = run(eng, "Mark the last task as done");
  REQUIRE(last.output);
  REQUIRE(last.output->type == output_type::tool_call);
  CHECK(last.output->plan.at(0).payload.at("status") == "completed");
}

TEST_CASE("offline planning engine: two actions run as one plan, questions are answered from the configuration") {
  test::temp_dir dir;
  engine eng(options_in(dir));
  auto both = run(eng, "Ajoute une tâche pour relancer le fournisseur lundi et note les tarifs qu'il a proposés");
  INFO(json::serialize(to_json(both)));
  CHECK(both.status == request_status::succeeded);
  REQUIRE(both.steps.size() == 2);
  CHECK(both.steps[0].tool == "TASK_CREATE");
  CHECK(both.steps[1].tool == "DOC_CREATE_NOTE");

  auto levels = run(eng, "Which autonomy levels exist and what may each do?");
  REQUIRE(levels.output);
  REQUIRE(levels.output->type == output_type::answer);
  CHECK(levels.output->content.find("(sources: autonomy.yml") != std::string::npos);
}

TEST_CASE("offline planning engine: a follow-up repeats the user's last request with what it changes") {
  test::temp_dir dir;
  engine eng(options_in(dir));
  auto call = run(eng, "Crée une tâche pour appeler le notaire lundi");
  REQUIRE(call.output);
  REQUIRE(call.output->type == output_type::tool_call);
  CHECK(call.output->plan.at(0).payload.at("due_date") == "2026-11-23");

  auto again = run(eng, "La même chose pour vendredi");
  INFO(json::serialize(to_json(again)));
  REQUIRE(again.output);
  REQUIRE(again.output->type == output_type::tool_call);
  CHECK(again.output->plan.at(0).tool == "TASK_CREATE");
  CHECK(again.output->plan.at(0).payload.at("title") == call.output->plan.at(0).payload.at("title"));
  CHECK(again.output->plan.at(0).payload.at("due_date") == "2026-11-20");
  REQUIRE(again.kimmy);
  REQUIRE_FALSE(again.kimmy->history_refs.empty());
  CHECK(again.kimmy->history_refs.front() == "request:" + call.request_id);
  CHECK(again.planned_by == "prolex");
  CHECK(again.status == request_status::succeeded);

  // Another user has no history: the same words are not a follow-up for them.
  submit_options other;
  other.user_id = "someone-else";
  auto f = eng.submit_text("La même chose pour vendredi", other);
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  auto theirs = f.get();
  REQUIRE(theirs.output);
  CHECK(theirs.output->type == output_type::clarification);

  // A report for a client, then the same for another client.
  auto umbrella = run(eng, "Génère le rapport du mois pour le client Umbrella");
  REQUIRE(umbrella.output);
  REQUIRE(umbrella.output->type == output_type::tool_call);
  auto hooli = run(eng, "Do the same for Hooli");
  INFO(json::serialize(to_json(hooli)));
  REQUIRE(hooli.output);
  REQUIRE(hooli.output->type == output_type::tool_call);
  CHECK(hooli.output->plan.at(0).tool == umbrella.output->plan.at(0).tool);
  CHECK(hooli.output->plan.at(0).payload.at("client_name") == "Hooli");
  CHECK(hooli.output->plan.at(0).payload.at("month") == umbrella.output->plan.at(0).payload.at("month"));
}

TEST_CASE("offline planning engine: a KimmyPayload from outside gets the user's history as context") {
  test::temp_dir dir;
  engine eng(options_in(dir));
  auto first = run(eng, "Crée une tâche pour appeler le notaire lundi");
  REQUIRE(first.status == request_status::succeeded);

  json::value payload = json::object{
    {"request_id", "9a3c1f2e-0000-4000-8000-000000000001"}, {"source", "api"},
    {"raw_input", "Ajoute une tâche : relire le bail"}, {"language", "fr"},
    {"kimmy_summary", "Créer une tâche « Relire le bail »."}, {"intent", "task_create"},
    {"complexity", "simple"}, {"confidence", 0.9}, {"requires_prolex", true},
    {"suggested_tools", json::array{"TASK_CREATE"}},
    {"parameters", json::object{{"title", "Relire le bail"}}}, {"user_id", first.user_id}};
  auto f = eng.submit_payload(payload);
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  auto r = f.get();
  INFO(json::serialize(to_json(r)));
  CHECK(r.status == request_status::succeeded);
  REQUIRE(r.kimmy);
  REQUIRE_FALSE(r.kimmy->history_refs.empty());
  CHECK(r.kimmy->history_refs.front() == "request:" + first.request_id);

  // refs it came with are kept as they are
  payload.as_object()["request_id"] = "9a3c1f2e-0000-4000-8000-000000000002";
  payload.as_object()["history_refs"] = json::array{"request:given-by-caller"};
  auto g = eng.submit_payload(payload);
  REQUIRE(g.wait_for(60s) == std::future_status::ready);
  auto kept = g.get();
  REQUIRE(kept.kimmy);
  CHECK(kept.kimmy->history_refs == std::vector<std::string>{"request:given-by-caller"});
}
