// Plan graphs: a ProlexOutput's DAG, a request's states, attempts, durations and errors, DOT and
// Mermaid escaping, and plans that have no graph.
#include "opex/plan_graph.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

using namespace opex;
namespace json = boost::json;

namespace {

json::object plan_json() {
  return json::parse(R"({"type":"multi_tool_plan","plan":[
    {"step":1,"tool":"TASK_CREATE","payload":{"title":"A"}},
    {"step":2,"tool":"DOC_CREATE_NOTE","depends_on":[1],"payload":{"title":"B","content":"x"}},
    {"step":3,"tool":"LOG_APPEND","depends_on":[1,2],"payload":{"message":"m"}}]})")
    .as_object();
}

} // namespace

TEST_CASE("plan graph: a ProlexOutput's steps and edges, without states") {
  auto g = graph_of_output(plan_json());
  REQUIRE(g);
  REQUIRE(g->steps.size() == 3);
  CHECK(g->steps[2].depends_on == std::vector<int>{1, 2});
  auto dot = to_dot(*g);
  CHECK(dot.starts_with("digraph plan {"));
  CHECK(dot.find("s1 [id=\"step-1\", label=\"1. TASK_CREATE\"") != std::string::npos);
  CHECK(dot.find("s1 -> s3;") != std::string::npos);
  CHECK(dot.find("s2 -> s3;") != std::string::npos);
  CHECK(dot.find("class=") == std::string::npos);  // no states: nothing to colour by
  auto single = graph_of_output(json::parse(R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"A"}})").as_object());
  REQUIRE(single);
  CHECK(single->steps.size() == 1);
  auto answer = graph_of_output(json::parse(R"({"type":"answer","content":"Bonjour"})").as_object());
  REQUIRE_FALSE(answer);
  CHECK(answer.error().code == error_code::validation_error);
}

TEST_CASE("plan graph: a request's states, attempts, durations and errors, escaped") {
  json::object state{
    {"request", {{"id", "r-1"}, {"status", "partial"}, {"output", plan_json()},
                 {"result", {{"result", {{"steps", json::array{
                   json::object{{"step", 1}, {"status", "succeeded"}, {"attempts", 1}, {"duration_ms", 1530.0}},
                   json::object{{"step", 2}, {"status", "failed"}, {"attempts", 3}, {"duration_ms", 12.4},
                                {"error", {{"error_code", "HTTP_ERROR"}, {"error", "target said \"no\" <b>"}}}},
                   json::object{{"step", 3}, {"status", "skipped"}, {"attempts", 0},
                                {"error", {{"error_code", "DEPENDENCY_FAILED"}, {"error", "dependency step 2 failed"}}}}}}}}}}}},
    {"steps", json::array{json::object{{"step", 1}, {"status", "running"}, {"attempts", 1}}}}};
  auto g = graph_of_request(state);
  REQUIRE(g);
  CHECK(g->title == "request r-1");
  CHECK(g->status == "partial");
  CHECK(g->steps[0].status == "succeeded");  // the result has the last word over the stored step
  CHECK(*g->steps[0].duration_ms == Approx(1530.0));
  CHECK(g->steps[1].attempts == 3);
  CHECK(g->steps[2].error_code == "DEPENDENCY_FAILED");
  auto dot = to_dot(*g);
  CHECK(dot.find(R"(label="1. TASK_CREATE\nsucceeded · 1 attempt · 1.5 s")") != std::string::npos);
  CHECK(dot.find(R"(2. DOC_CREATE_NOTE\nfailed · 3 attempts · 12 ms\nHTTP_ERROR: target said \"no\" <b>")") != std::string::npos);
  CHECK(dot.find(R"(class="skipped")") != std::string::npos);
  CHECK(dot.find("(partial)") != std::string::npos);
  auto mermaid = to_mermaid(*g);
  CHECK(mermaid.find("flowchart LR") != std::string::npos);
  CHECK(mermaid.find(R"(s2["2. DOC_CREATE_NOTE<br/>failed · 3 attempts · 12 ms<br/>HTTP_ERROR: target said #quot;no#quot; #lt;b#gt;"]:::failed)")
        != std::string::npos);
  CHECK(mermaid.find("s1 --> s3") != std::string::npos);
  CHECK(mermaid.find("classDef skipped fill:") != std::string::npos);
  CHECK_FALSE(graph_of_request(json::object{{"request", {{"id", "r-2"}, {"output", nullptr}}}}));
}
