// The engine with MCP targets: plans whose steps call mcp-server-everything, results passed
// between steps by templates, the journal, the breaker per server, and the retry policy over a
// server that crashes.
#include "opex/engine.hpp"
#include "opex/json_util.hpp"

#include "support/engine_options.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <fstream>

using namespace opex;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string peers_bin = OPEX_MCP_PEERS_BIN;
const std::string source_dir = OPEX_SOURCE_DIR;

engine_options options(const test::temp_dir& dir, const std::string& yaml) {
  return test::options_with_yaml(dir, yaml);
}

std::string everything_config(const std::string& extra = "") {
  return "extra_catalogues: [" + source_dir + "/examples/mcp/tools-mcp.yml]\n"
         "mcp:\n  servers:\n    everything:\n      command: " + peers_bin + "/mcp-server-everything\n"
         "      args: [stdio]\n" + extra;
}

request_result wait(std::future<request_result> f) {
  REQUIRE(f.wait_for(60s) == std::future_status::ready);
  return f.get();
}

} // namespace

TEST_CASE("engine mcp: a plan of MCP steps passes results through templates", "[mcp][peers]") {
  test::temp_dir dir;
  engine eng(options(dir, everything_config()));
  auto plan = read_json_file(source_dir + "/examples/plans/mcp_sum_then_echo.json");
  REQUIRE(plan);
  auto r = wait(eng.submit_output(*plan));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  REQUIRE(r.steps.size() == 3);
  CHECK(r.steps[0].tool == "MCP_GET_SUM");
  CHECK(r.steps[0].data.at("text") == "The sum of 2 and 3 is 5.");
  CHECK(r.steps[1].data.at("text") == "Echo: The sum of 2 and 3 is 5.");
  CHECK(r.steps[2].status == step_status::succeeded);

  journal_query q;
  q.request_id = r.request_id;
  auto entries = eng.journal(q);
  REQUIRE(entries);
  bool echo_journaled = false;
  for (const auto& e : *entries) {
    const auto* tool = e.as_object().if_contains("tool_used");
    const auto* result = e.as_object().if_contains("result");
    if (tool && result && *tool == "MCP_ECHO" && result->at("status") == "success")
      echo_journaled = true;
  }
  CHECK(echo_journaled);

  bool breaker = false;
  for (const auto& b : eng.breakers())
    breaker = breaker || (b.target == "mcp:everything" && b.state == "closed");
  CHECK(breaker);

  auto servers = eng.mcp_servers();
  REQUIRE(servers.size() == 1);
  CHECK(servers[0].at("state") == "ready");
  auto tools = eng.mcp_tools("everything", 20s);
  REQUIRE(tools);
  CHECK(json::serialize(*tools).find("\"get-sum\"") != std::string::npos);
}

TEST_CASE("engine mcp: structured content is reachable by templates", "[mcp][peers]") {
  test::temp_dir dir;
  engine eng(options(dir, everything_config()));
  auto plan = parse_json(R"({"type":"multi_tool_plan","plan":[
    {"step":1,"tool":"MCP_WEATHER","payload":{"location":"New York"}},
    {"step":2,"tool":"MCP_ECHO","depends_on":[1],"payload":{"message":"{{ step_1.result.structured.conditions }}"}}]})");
  auto r = wait(eng.submit_output(*plan));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  auto conditions = r.steps[0].data.at("structured").at("conditions").as_string();
  CHECK(r.steps[1].data.at("text").as_string() == "Echo: " + std::string(conditions));
}

TEST_CASE("engine mcp: a tool the server does not have fails without retries", "[mcp]") {
  test::temp_dir dir;
  engine eng(options(dir, everything_config() + "targets:\n  overrides:\n    MCP_ECHO: {type: mcp_tool, server: everything, tool_name: no-such-tool}\n"));
  auto r = wait(eng.submit_output(*parse_json(
    R"({"type":"tool_call","tool":"MCP_ECHO","payload":{"message":"x"}})")));
  REQUIRE(r.steps.size() == 1);
  CHECK(r.steps[0].status == step_status::failed);
  CHECK(r.steps[0].error.code == error_code::tool_execution_failed);
  CHECK(r.steps[0].attempts.size() == 1);
}

TEST_CASE("engine mcp: a server crash is retried by the step's retry policy", "[mcp]") {
  test::temp_dir dir;
  std::string yaml = "extra_catalogues: [" + source_dir + "/examples/mcp/tools-mcp.yml]\n"
                     "mcp:\n  servers:\n    everything:\n      command: " + std::string(OPEX_FAKE_MCP) + "\n"
                     "      args: [--crash-on-call, '1', --record, " + dir.file("record.jsonl") + "]\n"
                     "      restart: {initial_interval_ms: 20}\n"
                     "execution:\n  retry: {initial_interval_ms: 150, maximum_attempts: 3}\n";
  engine eng(options(dir, yaml));
  auto r = wait(eng.submit_output(*parse_json(R"({"type":"tool_call","tool":"MCP_ECHO","payload":{"message":"again"}})")));
  INFO(json::serialize(to_json(r)));
  REQUIRE(r.status == request_status::succeeded);
  REQUIRE(r.steps[0].attempts.size() == 2);
  CHECK(r.steps[0].attempts[0].error_code == "CONNECTION_FAILED");
  CHECK(r.steps[0].data.at("text") == "fake: again");
  CHECK(eng.mcp_servers()[0].at("restarts") == 1);
}

TEST_CASE("engine mcp: the configuration refuses literal credentials and unknown servers", "[mcp]") {
  auto literal = load_config_text("mcp:\n  servers:\n    s:\n      transport: streamable_http\n      url: http://127.0.0.1:1/mcp\n"
                                  "      headers: {Authorization: Bearer abc}\n",
                                  "/tmp", "test");
  REQUIRE_FALSE(literal);
  CHECK(literal.error().code == error_code::config_error);
  CHECK(literal.error().details.at("key") == "mcp.servers.s.headers.Authorization");
  auto unknown = load_config_text("targets:\n  overrides:\n    WEB_SEARCH: {type: mcp_tool, server: nowhere, tool_name: x}\n",
                                  "/tmp", "test");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().details.at("key") == "targets.overrides.WEB_SEARCH.server");
  auto no_command = load_config_text("mcp:\n  servers:\n    s: {transport: stdio}\n", "/tmp", "test");
  REQUIRE_FALSE(no_command);
  CHECK(no_command.error().details.at("key") == "mcp.servers.s.command");
  auto duplicate = load_config_text("extra_catalogues: [" + source_dir + "/policies/default/tools.yml]\n", "/tmp", "test");
  REQUIRE_FALSE(duplicate);
  CHECK(duplicate.error().message.find("defined twice") != std::string::npos);
}
