// opex's MCP server logic over an engine on the reference catalogue (docs/mcp-gateway.md):
// version negotiation and the lifecycle's errors, the level-2 tool list with its schemas and
// annotations, a tenant's tools, calls through the guard (an allowed tool, a refusal, a parked
// approval, a result checked against its response schema), read-only keys, cancellation of a
// running call and its progress notifications. The SDK's client over both transports is
// tools.mcp_gateway.
#include "opex/engine.hpp"
#include "opex/gateway/mcp_server.hpp"
#include "opex/gateway/tool_pins.hpp"

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

/// Sends one message and collects what the session answers until end().
struct exchange {
  std::vector<json::object> messages;
  std::shared_ptr<std::promise<void>> ended = std::make_shared<std::promise<void>>();
};

std::vector<json::object> send(gateway::mcp_session& s, const std::string& message) {
  auto ex = std::make_shared<exchange>();
  auto done = ex->ended->get_future();
  auto m = std::make_shared<std::mutex>();
  s.handle(json::parse(message), gateway::mcp_outlet{[ex, m](json::object o) {
                                                       std::lock_guard lock(*m);
                                                       ex->messages.push_back(std::move(o));
                                                     },
                                                     [ex] { ex->ended->set_value(); }});
  REQUIRE(done.wait_for(60s) == std::future_status::ready);  // a bound, not a measurement
  std::lock_guard lock(*m);
  return ex->messages;
}

json::object result_of(gateway::mcp_session& s, const std::string& message) {
  auto out = send(s, message);
  REQUIRE(!out.empty());
  INFO(json::serialize(out.back()));
  REQUIRE(out.back().contains("result"));
  return out.back().at("result").as_object();
}

std::string call(const std::string& name, const std::string& args, int id = 7) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/call","params":{"name":")" + name
         + R"(","arguments":)" + args + "}}";
}

constexpr const char* init = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",
  "capabilities":{},"clientInfo":{"name":"unit","version":"1"}}})";

std::string yaml(const std::string& search_url) {
  return "autonomy_level: 2\ntargets:\n  mode: builtin\n  overrides:\n"
         "    WEB_SEARCH: {type: webhook, url: \"" + search_url + "\"}\n"
         "    RESTORE_BACKUP: {type: builtin, name: noop}\n"
         "tenants:\n  - {slug: beta, allowed_tools: [TASK_CREATE]}\n"
         "execution:\n  retry: {maximum_attempts: 1}\nalerts:\n  enabled: false\n";
}

} // namespace

TEST_CASE("mcp session: initialize negotiates the version; other requests wait for it") {
  test::temp_dir dir;
  engine eng(test::options_with_yaml(dir, yaml("http://127.0.0.1:9/")));
  gateway::mcp_session s(eng, nullptr, {});
  auto early = send(s, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  REQUIRE(early.size() == 1);
  CHECK(early[0].at("error").at("code") == -32002);
  CHECK(result_of(s, R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26"}})")
          .at("protocolVersion") == "2025-03-26");
  auto newest = result_of(s, R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2099-01-01"}})");
  CHECK(newest.at("protocolVersion") == "2025-06-18");  // an unknown version gets the newest
  CHECK(newest.at("serverInfo").at("name") == "opex");
  CHECK(newest.at("capabilities").at("tools").at("listChanged") == true);
  auto unknown = send(s, R"({"jsonrpc":"2.0","id":4,"method":"resources/list"})");
  CHECK(unknown[0].at("error").at("code") == -32601);
  auto batch = send(s, R"([{"jsonrpc":"2.0","id":5,"method":"ping"}])");
  CHECK(batch[0].at("error").at("code") == -32600);
  CHECK(send(s, R"({"jsonrpc":"2.0","method":"notifications/initialized"})").empty());
  CHECK(result_of(s, R"({"jsonrpc":"2.0","id":6,"method":"ping"})").empty());
}

TEST_CASE("mcp session: tools/list is the tenant's catalogue at its level, with schemas and hints") {
  test::temp_dir dir;
  engine eng(test::options_with_yaml(dir, yaml("http://127.0.0.1:9/")));
  gateway::mcp_session s(eng, nullptr, {});
  send(s, init);
  std::map<std::string, json::object> tools;
  const auto listed = result_of(s, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  for (const auto& t : listed.at("tools").as_array())
    tools[std::string(t.at("name").as_string())] = t.as_object();
  CHECK(tools.count("TASK_CREATE") == 1);
  CHECK(tools.count("RESTORE_BACKUP") == 1);  // manual only: listed, it parks for a person
  CHECK(tools.count("GIT_CLONE") == 0);       // level 3
  CHECK(tools.count("CLIENT_ONBOARDING") == 0);
  for (auto own : {"opex_ask", "opex_run_plan", "opex_get_request", "log_entry", "query_logs", "get_metrics"})
    CHECK(tools.count(own) == 1);
  const auto& task = tools["TASK_CREATE"];
  CHECK(task.at("inputSchema").at("type") == "object");
  CHECK(!task.at("inputSchema").as_object().contains("$schema"));
  CHECK(task.at("outputSchema").at("anyOf").as_array().size() == 2);
  CHECK(task.at("annotations").at("readOnlyHint") == false);
  CHECK(tools["WEB_SEARCH"].at("annotations").at("readOnlyHint") == true);
  CHECK(tools["RESTORE_BACKUP"].at("annotations").at("destructiveHint") == true);
  CHECK(tools["RESTORE_BACKUP"].at("annotations").at("openWorldHint") == false);  // builtin here
  CHECK(std::string(tools["RESTORE_BACKUP"].at("description").as_string()).find("approves") != std::string::npos);

  gateway::mcp_session beta(eng, nullptr, {"beta", "all", "k", "http"});
  send(beta, init);
  std::vector<std::string> names;
  const auto beta_listed = result_of(beta, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  for (const auto& t : beta_listed.at("tools").as_array())
    names.emplace_back(t.at("name").as_string());
  CHECK(std::count(names.begin(), names.end(), "TASK_CREATE") == 1);
  CHECK(std::count(names.begin(), names.end(), "WEB_SEARCH") == 0);
}

TEST_CASE("mcp session: calls go through the guard and answer CallToolResults") {
  test::loopback_server search([](const test::recorded_request&) { return test::scripted_response{200, R"({"results":[]})"}; });
  test::temp_dir dir;
  engine eng(test::options_with_yaml(dir, yaml(search.base_url() + "/search")));
  auto s = std::make_shared<gateway::mcp_session>(eng, nullptr, gateway::mcp_caller{});
  send(*s, init);
  auto task = result_of(*s, call("TASK_CREATE", R"({"title":"Réviser l'architecture"})"));
  CHECK(task.at("isError") == false);
  CHECK(task.at("structuredContent").at("status") == "created");  // checked against the response schema
  auto refused = result_of(*s, call("GIT_CLONE", R"({"repo_url":"https://github.com/a/b.git"})"));
  CHECK(refused.at("isError") == true);
  CHECK(refused.at("structuredContent").at("error_code") == "PERMISSION_DENIED");
  CHECK(refused.at("structuredContent").as_object().contains("timestamp"));
  auto parked = result_of(*s, call("RESTORE_BACKUP", R"({"backup_id":"b1"})"));
  CHECK(parked.at("isError") == false);
  CHECK(parked.at("structuredContent").at("status") == "awaiting_approval");
  auto approval = std::string(parked.at("structuredContent").at("approvals").at(0).at("approval_id").as_string());
  CHECK(std::string(parked.at("structuredContent").at("how_to_decide").at("opexctl").as_string()).find(approval)
        != std::string::npos);
  auto unknown = send(*s, call("NO_SUCH", "{}"));
  CHECK(unknown.back().at("error").at("code") == -32602);
  auto bad_args = send(*s, call("TASK_CREATE", "[1]"));
  CHECK(bad_args.back().at("error").at("code") == -32602);
  auto invalid = result_of(*s, call("TASK_CREATE", R"({"priority":"now"})"));
  CHECK(invalid.at("structuredContent").at("error_code") == "PAYLOAD_INVALID");
  auto state = result_of(*s, call("opex_get_request", "{\"request_id\":\""
                                  + std::string(parked.at("structuredContent").at("request_id").as_string()) + "\"}"));
  CHECK(state.at("structuredContent").at("request").at("status") == "awaiting_approval");

  auto viewer = std::make_shared<gateway::mcp_session>(eng, nullptr, gateway::mcp_caller{"default", "read", "v", "http"});
  send(*viewer, init);
  CHECK(result_of(*viewer, call("TASK_CREATE", R"({"title":"x"})")).at("structuredContent").at("error_code")
        == "PERMISSION_DENIED");
  CHECK(result_of(*viewer, call("query_logs", R"({"tool":"TASK_CREATE","limit":1})")).at("isError") == false);
}

TEST_CASE("mcp session: a cancelled call gets no response; progress comes while it runs") {
  std::promise<void> release;
  auto released = release.get_future().share();
  test::loopback_server search([released](const test::recorded_request&) {
    released.wait_for(10s);
    return test::scripted_response{200, R"({"results":[]})"};
  });
  test::temp_dir dir;
  gateway::progress_hub hub;
  auto options = test::options_with_yaml(dir, yaml(search.base_url() + "/search"));
  options.on_progress = hub.sink();
  engine eng(std::move(options));
  auto s = std::make_shared<gateway::mcp_session>(eng, &hub, gateway::mcp_caller{});
  send(*s, init);
  auto ex = std::make_shared<exchange>();
  auto ended = ex->ended->get_future();
  auto m = std::make_shared<std::mutex>();
  std::promise<void> first_progress;
  auto progressed = first_progress.get_future();
  auto once = std::make_shared<std::once_flag>();
  s->handle(json::parse(R"({"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"WEB_SEARCH",
              "arguments":{"query":"opex"},"_meta":{"progressToken":"p1"}}})"),
            gateway::mcp_outlet{[ex, m, once, &first_progress](json::object o) {
                                  {
                                    std::lock_guard lock(*m);
                                    ex->messages.push_back(o);
                                  }
                                  if (o.contains("method"))
                                    std::call_once(*once, [&] { first_progress.set_value(); });
                                },
                                [ex] { ex->ended->set_value(); }});
  REQUIRE(progressed.wait_for(30s) == std::future_status::ready);  // the attempt started
  send(*s, R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow","reason":"changed my mind"}})");
  release.set_value();
  REQUIRE(ended.wait_for(30s) == std::future_status::ready);
  std::lock_guard lock(*m);
  REQUIRE(!ex->messages.empty());
  CHECK(ex->messages.front().at("method") == "notifications/progress");
  CHECK(ex->messages.front().at("params").at("progressToken") == "p1");
  CHECK(std::string(ex->messages.front().at("params").at("message").as_string()).find("WEB_SEARCH") != std::string::npos);
  for (const auto& msg : ex->messages)
    CHECK(!msg.contains("result"));  // no response to a cancelled request
}

TEST_CASE("mcp session: a client that declared elicitation decides an approval; a reload says the list changed") {
  test::temp_dir dir;
  auto options = test::options_with_yaml(dir, yaml("http://127.0.0.1:9/"));
  engine eng(std::move(options));
  auto s = std::make_shared<gateway::mcp_session>(eng, nullptr, gateway::mcp_caller{});
  auto pushed = std::make_shared<std::vector<json::object>>();
  auto pm = std::make_shared<std::mutex>();
  s->set_push([pushed, pm](json::object m) {
    std::lock_guard lock(*pm);
    pushed->push_back(std::move(m));
  });
  send(*s, R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",
    "capabilities":{"elicitation":{}},"clientInfo":{"name":"unit","version":"1"}}})");
  auto parked = result_of(*s, call("RESTORE_BACKUP", R"({"backup_id":"b1"})"));
  const auto request_id = std::string(parked.at("structuredContent").at("request_id").as_string());
  json::object ask;
  {
    std::lock_guard lock(*pm);
    REQUIRE(pushed->size() == 1);
    ask = pushed->front();
  }
  CHECK(ask.at("method") == "elicitation/create");
  CHECK(std::string(ask.at("params").at("message").as_string()).find("RESTORE_BACKUP") != std::string::npos);
  CHECK(ask.at("params").at("requestedSchema").at("required").at(0) == "decision");
  CHECK(send(*s, R"({"jsonrpc":"2.0","id":")" + std::string(ask.at("id").as_string())
                   + R"(","result":{"action":"accept","content":{"decision":"approve"}}})").empty());
  std::string status;
  for (int i = 0; i < 200 && status != "succeeded"; ++i) {  // bounded wait for the approved step to run
    auto state = eng.request_state(request_id);
    REQUIRE(state);
    status = std::string(state->at("request").at("status").as_string());
    if (status != "succeeded")
      std::this_thread::sleep_for(20ms);
  }
  CHECK(status == "succeeded");
  auto approvals = eng.approvals();
  REQUIRE(approvals);
  CHECK(json::serialize(*approvals).find("mcp:unit/1") != std::string::npos);  // decided_by names the client

  std::vector<json::object> notes;
  auto collect = [&notes](json::object m) { notes.push_back(std::move(m)); };
  s->notify_if_list_changed(collect);
  CHECK(notes.empty());  // nothing changed since initialize
  std::ofstream(dir.file("opex.yml")) << yaml("http://127.0.0.1:9/") << "autonomy_level: 3\n";
  REQUIRE(eng.reload(dir.file("opex.yml")));
  s->notify_if_list_changed(collect);
  s->notify_if_list_changed(collect);
  REQUIRE(notes.size() == 1);  // once per change
  CHECK(notes[0].at("method") == "notifications/tools/list_changed");
}

TEST_CASE("mcp tool pins: pinned at first sight, a changed definition refused until its digest is approved") {
  test::temp_dir dir;
  auto pins = gateway::tool_pins::of_database(dir.file("pins.db"));
  REQUIRE(pins);
  auto def = json::parse(R"({"name":"echo","description":"Echoes","inputSchema":{"type":"object","properties":{"m":{"type":"string"}}}})").as_object();
  auto reordered = json::parse(R"({"inputSchema":{"properties":{"m":{"type":"string"}},"type":"object"},"description":"Echoes","name":"echo"})").as_object();
  CHECK(gateway::definition_digest(def) == gateway::definition_digest(reordered));
  auto first = (*pins)->check("peer", def, "2026-12-04T10:00:00Z");
  REQUIRE(first);
  CHECK(first->first_sight);
  CHECK(first->allowed);
  CHECK((*pins)->check("peer", reordered, "2026-12-04T10:01:00Z")->allowed);
  auto changed_def = def;
  changed_def["description"] = "Echoes, and also reads your files";
  auto changed = (*pins)->check("peer", changed_def, "2026-12-04T10:02:00Z");
  REQUIRE(changed);
  CHECK(!changed->allowed);
  CHECK(changed->pinned_digest == first->current_digest);
  auto listed = (*pins)->list();
  REQUIRE(listed);
  CHECK(listed->at(0).at("state") == "changed");
  CHECK((*pins)->approve("peer", "echo", "0000", "alice", "2026-12-04T10:03:00Z").code == error_code::conflict);
  CHECK((*pins)->approve("peer", "nope", changed->current_digest, "alice", "2026-12-04T10:03:00Z").code == error_code::not_found);
  CHECK(!(*pins)->approve("peer", "echo", changed->current_digest, "alice", "2026-12-04T10:03:00Z"));
  CHECK((*pins)->check("peer", changed_def, "2026-12-04T10:04:00Z")->allowed);
  CHECK(!(*pins)->check("peer", def, "2026-12-04T10:05:00Z")->allowed);  // the old one is now the change
  CHECK((*pins)->list()->at(0).at("approved_by") == "alice");
}
