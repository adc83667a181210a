// Embedding opex in a service: build an engine, submit a request and a plan, read the journal.
// Uses only the public API (opex/opex.hpp). Run: embed_example [DATABASE]
#include <opex/opex.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>

int main(int argc, char** argv) {
  opex::engine_options options;  // no config path: opex's built-in configuration
  if (argc > 1)
    options.database = argv[1];
  options.on_progress = [](const opex::progress_event& ev) {
    std::cerr << "step " << ev.step << " " << ev.tool << " " << opex::step_status_name(ev.status) << "\n";
  };
  opex::engine engine(std::move(options));

  // 1. A request in natural language, through Kimmy, Prolex and the Proxy Master.
  opex::submit_options who;
  who.user_id = "embed-example";
  auto asked = engine.submit_text("Crée une tâche pour préparer la démo demain", who).get();
  std::cout << "ask: " << opex::request_status_name(asked.status) << " "
            << boost::json::serialize(opex::to_json(asked).at("result")) << "\n";

  // 2. A plan from a planner of your own: two independent steps and one that uses both.
  auto plan = boost::json::parse(R"({"type":"multi_tool_plan","plan":[
    {"step":1,"tool":"NOOP","payload":{"echo":"alpha"}},
    {"step":2,"tool":"NOOP","payload":{"echo":"beta"}},
    {"step":3,"tool":"LOG_APPEND","depends_on":[1,2],
     "payload":{"message":"got {{ step_1.result.echo }} and {{ step_2.result.echo }}"}}]})");
  auto ran = engine.submit_output(std::move(plan), who).get();
  std::cout << "run: " << opex::request_status_name(ran.status) << "\n";

  // 3. A refusal is data, in the standard error shape.
  auto refused = engine.submit_output(boost::json::parse(R"({"type":"tool_call","tool":"NOPE","payload":{}})")).get();
  std::cout << "refused: " << opex::error_code_name(refused.error.code) << "\n";

  // 4. The journal of the first request.
  opex::journal_query q;
  q.request_id = asked.request_id;
  auto rows = engine.journal(q);
  std::cout << "journal: " << (rows ? rows->size() : 0) << " entries\n";

  bool ok = asked.status == opex::request_status::succeeded && ran.status == opex::request_status::succeeded
            && refused.error.code == opex::error_code::tool_not_found && rows && rows->size() >= 4;
  return ok ? 0 : 1;
}
