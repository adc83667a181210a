// Prolex's rule planner: planning table, missing parameters, autonomy and high-risk
// clarifications, answers.
#include "prolex/rule_planner.hpp"

#include "opex/ids.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;

namespace {
opex_config config(int level = 2) {
  auto c = load_config("").value();
  c.autonomy_level = level;
  return c;
}

kimmy_payload payload(std::string intent, std::string params, std::string language = "fr") {
  kimmy_payload p;
  p.request_id = make_uuid_v4();
  p.raw_input = "x";
  p.language = std::move(language);
  p.intent = std::move(intent);
  p.parameters = json::parse(params).as_object();
  return p;
}
} // namespace

TEST_CASE("rule_planner: task_create becomes a TASK_CREATE tool_call without invented fields") {
  auto cfg = config();
  rule_planner planner(cfg);
  auto r = planner.plan(payload("task_create", R"({"title":"Réviser","due_date":"2026-11-20","priority":null})"));
  REQUIRE(r.output.type == output_type::tool_call);
  const auto& s = r.output.plan.front();
  CHECK(s.tool == "TASK_CREATE");
  CHECK(s.payload.at("title") == "Réviser");
  CHECK(s.payload.at("due_date") == "2026-11-20");
  CHECK_FALSE(s.payload.contains("priority"));
  CHECK_FALSE(s.payload.contains("description"));
}

TEST_CASE("rule_planner: a missing required parameter asks a clarification") {
  auto cfg = config();
  rule_planner planner(cfg);
  auto r = planner.plan(payload("task_update", R"({"status":"completed"})"));
  REQUIRE(r.output.type == output_type::clarification);
  CHECK(r.note.rule == "missing_parameters");
  REQUIRE(r.output.questions.size() == 1);
  CHECK(r.output.questions[0].size() >= 10);
  auto en = planner.plan(payload("calendar_event", R"({"title":"Sync"})", "en"));
  REQUIRE(en.output.type == output_type::clarification);
  CHECK(en.output.questions[0].find("date") != std::string::npos);
}

TEST_CASE("rule_planner: a tool above the level or high-risk asks first") {
  auto cfg = config(2);
  rule_planner planner(cfg);
  auto r = planner.plan(payload("client_workflow", R"({"client_name":"Acme","workflow_id":"wf_1"})"));
  REQUIRE(r.output.type == output_type::clarification);
  CHECK(r.note.rule == "autonomy");
  CHECK(r.output.questions[0].find("CLIENT_WORKFLOW_RUN") != std::string::npos);
}

TEST_CASE("rule_planner: answers for questions") {
  auto cfg = config();
  rule_planner planner(cfg);
  auto simple = planner.plan(payload("question_simple", "{}"));
  REQUIRE(simple.output.type == output_type::answer);
  CHECK(simple.output.content.find("no answer source configured") != std::string::npos);
  auto system = planner.plan(payload("question_systeme", "{}", "en"));
  REQUIRE(system.output.type == output_type::answer);
  CHECK(system.output.content.find("autonomy level 2") != std::string::npos);
  CHECK(system.output.content.find("TASK_CREATE") != std::string::npos);
}
