// The MCP connector against the real reference servers (mcp-server-everything over stdio and
// Streamable HTTP, mcp-server-filesystem on a temporary folder, mcp-server-memory), installed
// from test/peers/mcp by the mcp_peers CTest fixture; and against opex_fake_mcp for the faults
// the real servers cannot be made to produce.
#include "opex/config.hpp"
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/mcp_connector.hpp"
#include "opex/json_util.hpp"
#include "support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

namespace json = boost::json;
namespace bp = boost::process;
namespace fs = std::filesystem;
using namespace opex;
using namespace std::chrono_literals;

namespace {

const std::string peers_bin = OPEX_MCP_PEERS_BIN;
const std::string fake_mcp = OPEX_FAKE_MCP;

mcp_server_settings stdio_server(std::string name, std::string command, std::vector<std::string> args = {}) {
  mcp_server_settings s;
  s.name = std::move(name);
  s.transport = "stdio";
  s.command = std::move(command);
  s.args = std::move(args);
  s.startup_timeout_ms = 20000;
  s.restart.initial_interval_ms = 50;
  s.restart.maximum_interval_ms = 200;
  return s;
}

/// A connector over the given servers, logging to `log_dir`.
std::unique_ptr<connectors::mcp_connector> make_connector(std::vector<mcp_server_settings> servers,
                                                          const std::string& log_dir = {},
                                                          std::shared_ptr<connectors::http_client> http = nullptr) {
  connectors::mcp_connector_options o;
  for (auto& s : servers)
    o.settings.servers[s.name] = std::move(s);
  o.http = http ? std::move(http) : std::make_shared<connectors::http_client>();
  o.log_dir = log_dir;
  return std::make_unique<connectors::mcp_connector>(std::move(o));
}

connectors::call_outcome call(connectors::mcp_connector& c, const std::string& server, const std::string& tool,
                              json::object args, std::chrono::milliseconds timeout = 20s) {
  std::promise<connectors::call_outcome> p;
  auto f = p.get_future();
  c.call_tool(server, tool, std::move(args), timeout, [&p](connectors::call_outcome out) { p.set_value(std::move(out)); });
  REQUIRE(f.wait_for(timeout + 10s) == std::future_status::ready);
  auto out = f.get();
  if (!out.ok)
    UNSCOPED_INFO(tool << " failed: " << error_code_name(out.error.code) << " " << out.error.message << " "
                       << json::serialize(out.error.details));
  return out;
}

std::vector<connectors::mcp::tool_info> list(connectors::mcp_connector& c, const std::string& server) {
  std::promise<result<std::vector<connectors::mcp::tool_info>>> p;
  auto f = p.get_future();
  c.list_tools(server, 20s, [&p](result<std::vector<connectors::mcp::tool_info>> r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  auto r = f.get();
  if (!r)
    UNSCOPED_INFO("tools/list failed: " << r.error().message << " " << json::serialize(r.error().details));
  REQUIRE(r);
  return std::move(r).value();
}

bool has_tool(const std::vector<connectors::mcp::tool_info>& tools, std::string_view name) {
  for (const auto& t : tools)
    if (t.name == name)
      return true;
  return false;
}

json::object status_of(const connectors::mcp_connector& c, std::string_view server) {
  for (const auto& s : c.status())
    if (s.as_object().at("server").as_string() == server)
      return s.as_object();
  return {};
}

/// Polls `pred` until it holds or `limit` passes (for states reached on another thread).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::vector<json::object> recorded(const std::string& file) {
  std::vector<json::object> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (auto v = parse_json(line); v && v->is_object())
      out.push_back(v->as_object());
  return out;
}

/// Waits until the fake server has recorded a message `pred` accepts.
template <class Pred>
bool eventually_recorded(const std::string& file, Pred pred) {
  return eventually([&] {
    for (const auto& m : recorded(file))
      if (pred(m))
        return true;
    return false;
  });
}

/// True for the notification `method` whose params.reason is `reason`.
auto notification(std::string_view method, std::string_view reason) {
  return [=](const json::object& m) {
    return m.contains("method") && m.at("method").as_string() == method && m.at("params").at("reason").as_string() == reason;
  };
}

std::string read_all(const std::string& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool accepts(std::uint16_t port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

/// mcp-server-everything streamableHttp on a free port, stopped at scope exit.
struct everything_http {
  std::uint16_t port = free_port();
  bp::child child;

  everything_http() { start(); }
  ~everything_http() { stop(); }

  void start() {
    auto env = boost::this_process::environment();
    env["PORT"] = std::to_string(port);
    child = bp::child(bp::exe = peers_bin + "/mcp-server-everything", bp::args = {"streamableHttp"}, env,
                      bp::std_out > bp::null, bp::std_err > bp::null, bp::std_in < bp::null);
    REQUIRE(eventually([&] { return accepts(port); }, 20s));
  }

  void stop() {
    if (child.valid() && child.running()) {
      child.terminate();
      child.wait();
    }
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/mcp"; }
};

} // namespace

TEST_CASE("mcp stdio: mcp-server-everything echo and get-sum", "[mcp][peers]") {
  test::temp_dir dir;
  auto c = make_connector({stdio_server("everything", peers_bin + "/mcp-server-everything", {"stdio"})}, dir.path.string());

  auto echo = call(*c, "everything", "echo", json::object{{"message", "bonjour"}});
  REQUIRE(echo.ok);
  CHECK(echo.data.at("text") == "Echo: bonjour");
  CHECK(echo.data.at("content").as_array().size() == 1);

  auto sum = call(*c, "everything", "get-sum", json::object{{"a", 2}, {"b", 3}});
  REQUIRE(sum.ok);
  CHECK(sum.data.at("text") == "The sum of 2 and 3 is 5.");

  auto weather = call(*c, "everything", "get-structured-content", json::object{{"location", "Chicago"}});
  REQUIRE(weather.ok);
  CHECK(weather.data.at("structured").at("temperature").is_number());
  CHECK(weather.data.at("structured").at("conditions").is_string());

  auto st = status_of(*c, "everything");
  CHECK(st.at("state") == "ready");
  CHECK(st.at("protocol_version") == "2025-06-18");
  CHECK(st.at("server_info").at("name") == "mcp-servers/everything");
  CHECK(st.at("pid").as_int64() > 0);
}

TEST_CASE("mcp stdio: invalid arguments and unknown tools are non-transient failures", "[mcp][peers]") {
  auto c = make_connector({stdio_server("everything", peers_bin + "/mcp-server-everything", {"stdio"})});
  auto bad = call(*c, "everything", "get-sum", json::object{{"a", "two"}});
  REQUIRE_FALSE(bad.ok);
  CHECK(bad.error.code == error_code::tool_execution_failed);
  CHECK(bad.error.details.at("text").as_string().find("Invalid arguments") != json::string::npos);
  auto unknown = call(*c, "everything", "no-such-tool", {});
  REQUIRE_FALSE(unknown.ok);
  CHECK(unknown.error.code == error_code::tool_execution_failed);
  CHECK_FALSE(is_transient(unknown.error.code));
}

TEST_CASE("mcp stdio: tools/list is cached and refreshed on list_changed", "[mcp][peers]") {
  test::temp_dir dir;
  auto c = make_connector({stdio_server("everything", peers_bin + "/mcp-server-everything", {"stdio"})}, dir.path.string());
  auto tools = list(*c, "everything");
  CHECK(has_tool(tools, "echo"));
  CHECK(has_tool(tools, "get-sum"));
  const auto* echo = &tools.front();
  CHECK(echo->input_schema.contains("properties"));
  // The server registers one more tool once initialized and says so with list_changed: the
  // cached list follows.
  REQUIRE(eventually([&] { return read_all(dir.file("mcp-everything.log")).find("tools/list_changed") != std::string::npos; }));
  auto after = list(*c, "everything");
  CHECK(has_tool(after, "simulate-research-query"));
  CHECK(eventually([&] { return status_of(*c, "everything").at("tools").as_int64() == static_cast<std::int64_t>(after.size()); }));
  // stderr is captured to the server's log file.
  CHECK(read_all(dir.file("mcp-everything.log")).find("stderr: Starting default (STDIO) server") != std::string::npos);
}

TEST_CASE("mcp stdio: version negotiation with an older version", "[mcp][peers]") {
  connectors::mcp_connector_options o;
  o.settings.protocol_version = "2024-11-05";
  o.settings.servers["everything"] = stdio_server("everything", peers_bin + "/mcp-server-everything", {"stdio"});
  o.http = std::make_shared<connectors::http_client>();
  connectors::mcp_connector c(std::move(o));
  auto echo = call(c, "everything", "echo", json::object{{"message", "old"}});
  REQUIRE(echo.ok);
  CHECK(status_of(c, "everything").at("protocol_version") == "2024-11-05");
}

TEST_CASE("mcp stdio: mcp-server-filesystem confined to a temporary folder", "[mcp][peers]") {
  test::temp_dir dir;
  auto root = fs::canonical(dir.path.string()).string();
  auto c = make_connector({stdio_server("files", peers_bin + "/mcp-server-filesystem", {root})});
  auto written = call(*c, "files", "write_file", json::object{{"path", root + "/note.txt"}, {"content", "opex was here"}});
  REQUIRE(written.ok);
  CHECK(read_all(root + "/note.txt") == "opex was here");
  auto read = call(*c, "files", "read_text_file", json::object{{"path", root + "/note.txt"}});
  REQUIRE(read.ok);
  CHECK(read.data.at("text") == "opex was here");
  auto listing = call(*c, "files", "list_directory", json::object{{"path", root}});
  REQUIRE(listing.ok);
  CHECK(listing.data.at("text").as_string().find("note.txt") != json::string::npos);
  auto outside = call(*c, "files", "read_text_file", json::object{{"path", "/etc/hostname"}});
  REQUIRE_FALSE(outside.ok);
  CHECK(outside.error.code == error_code::tool_execution_failed);
  CHECK(outside.error.message.find("denied") != std::string::npos);
}

TEST_CASE("mcp stdio: mcp-server-memory keeps a graph in the configured file", "[mcp][peers]") {
  test::temp_dir dir;
  auto server = stdio_server("memory", peers_bin + "/mcp-server-memory");
  server.env["MEMORY_FILE_PATH"] = dir.file("memory.jsonl");
  auto c = make_connector({server});
  auto created = call(*c, "memory", "create_entities",
                      json::object{{"entities", json::array{json::object{{"name", "Prolex"},
                                                                         {"entityType", "project"},
                                                                         {"observations", json::array{"planner"}}}}}});
  REQUIRE(created.ok);
  auto found = call(*c, "memory", "search_nodes", json::object{{"query", "Prolex"}});
  REQUIRE(found.ok);
  CHECK(found.data.at("text").as_string().find("planner") != json::string::npos);
  CHECK(read_all(dir.file("memory.jsonl")).find("Prolex") != std::string::npos);
}

TEST_CASE("mcp streamable http: mcp-server-everything echo and get-sum with a session", "[mcp][peers]") {
  everything_http server;
  test::temp_dir dir;
  mcp_server_settings s;
  s.name = "everything-http";
  s.transport = "streamable_http";
  s.url = server.url();
  s.restart.initial_interval_ms = 50;
  auto c = make_connector({s}, dir.path.string());
  auto echo = call(*c, "everything-http", "echo", json::object{{"message", "over http"}});
  REQUIRE(echo.ok);
  CHECK(echo.data.at("text") == "Echo: over http");
  auto sum = call(*c, "everything-http", "get-sum", json::object{{"a", 20}, {"b", 22}});
  REQUIRE(sum.ok);
  CHECK(sum.data.at("text") == "The sum of 20 and 22 is 42.");
  CHECK(has_tool(list(*c, "everything-http"), "get-sum"));
  CHECK(status_of(*c, "everything-http").at("state") == "ready");

  SECTION("a server that lost the session gets a new one and the call is sent again") {
    server.stop();
    server.start();  // same port, no sessions
    auto again = call(*c, "everything-http", "echo", json::object{{"message", "after restart"}});
    REQUIRE(again.ok);
    CHECK(again.data.at("text") == "Echo: after restart");
    CHECK(read_all(dir.file("mcp-everything-http.log")).find("session expired") != std::string::npos);
  }
  SECTION("a server that is down fails the call as a transient connection failure") {
    server.stop();
    auto down = call(*c, "everything-http", "echo", json::object{{"message", "x"}});
    REQUIRE_FALSE(down.ok);
    CHECK(is_transient(down.error.code));
  }
}

TEST_CASE("mcp: an unknown server is unavailable", "[mcp]") {
  auto c = make_connector({});
  auto out = call(*c, "nowhere", "echo", {});
  REQUIRE_FALSE(out.ok);
  CHECK(out.error.code == error_code::connector_unavailable);
  CHECK(out.error.details.at("server") == "nowhere");
}

TEST_CASE("mcp fault: a command that does not exist cannot be spawned", "[mcp]") {
  auto c = make_connector({stdio_server("ghost", "opex-no-such-mcp-server-command")});
  auto out = call(*c, "ghost", "echo", {});
  REQUIRE_FALSE(out.ok);
  CHECK(out.error.code == error_code::connector_unavailable);
  CHECK(out.error.details.at("stage") == "spawn");
}

TEST_CASE("mcp fault: a server crashing mid-call fails it with its last words, then restarts", "[mcp]") {
  test::temp_dir dir;
  auto record = dir.file("record.jsonl");
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--crash-on-call", "2", "--record", record})}, dir.path.string());
  REQUIRE(call(*c, "fake", "echo", json::object{{"message", "one"}}).ok);
  auto crashed = call(*c, "fake", "echo", json::object{{"message", "two"}});
  REQUIRE_FALSE(crashed.ok);
  CHECK(crashed.error.code == error_code::connection_failed);
  CHECK(is_transient(crashed.error.code));
  CHECK(crashed.error.details.at("exit_code") == 3);
  CHECK(json::serialize(crashed.error.details.at("stderr_tail")).find("crashing on call 2") != std::string::npos);
  // A crashed server comes back by itself after its restart delay.
  REQUIRE(eventually([&] { return status_of(*c, "fake").at("state") == "ready"; }));
  CHECK(status_of(*c, "fake").at("restarts") == 1);
  CHECK(status_of(*c, "fake").at("consecutive_failures") == 0);
  auto third = call(*c, "fake", "echo", json::object{{"message", "three"}});
  REQUIRE(third.ok);
  CHECK(third.data.at("text") == "fake: three");
  CHECK(read_all(dir.file("mcp-fake.log")).find("restarting") != std::string::npos);
}

TEST_CASE("mcp fault: a server that never answers times out and is told to cancel", "[mcp]") {
  test::temp_dir dir;
  auto record = dir.file("record.jsonl");
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--hang-tool", "hang", "--record", record})});
  auto out = call(*c, "fake", "hang", {}, 300ms);
  REQUIRE_FALSE(out.ok);
  CHECK(out.error.code == error_code::timeout);
  CHECK(out.error.details.at("timeout_ms") == 300);
  CHECK(out.error.details.at("tool") == "hang");
  REQUIRE(eventually_recorded(record, notification("notifications/cancelled", "timeout")));
  // The session stays usable.
  CHECK(call(*c, "fake", "echo", json::object{{"message", "still here"}}).ok);
}

TEST_CASE("mcp fault: a cancelled call answers CANCELLED and notifies the server", "[mcp]") {
  test::temp_dir dir;
  auto record = dir.file("record.jsonl");
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--hang-tool", "hang", "--record", record})});
  REQUIRE(call(*c, "fake", "echo", json::object{{"message", "warm"}}).ok);
  std::promise<connectors::call_outcome> p;
  auto f = p.get_future();
  auto cancel = c->call_tool("fake", "hang", {}, 20s, [&p](connectors::call_outcome out) { p.set_value(std::move(out)); });
  REQUIRE(eventually_recorded(record, [](const json::object& m) {
    return m.contains("method") && m.at("method") == "tools/call" && m.at("params").at("name") == "hang";
  }));
  cancel();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  CHECK(f.get().error.code == error_code::cancelled);
  CHECK(eventually_recorded(record, notification("notifications/cancelled", "cancelled")));
}

TEST_CASE("mcp fault: a foreign protocol version is refused", "[mcp]") {
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--version", "2031-01-01"})});
  auto out = call(*c, "fake", "echo", json::object{{"message", "x"}});
  REQUIRE_FALSE(out.ok);
  CHECK(out.error.code == error_code::connector_unavailable);
  CHECK(out.error.details.at("protocol_version") == "2031-01-01");
}

TEST_CASE("mcp fault: garbage on stdout is ignored, server pings are answered", "[mcp]") {
  test::temp_dir dir;
  auto record = dir.file("record.jsonl");
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--garbage", "--ping-first", "--record", record})},
                          dir.path.string());
  auto out = call(*c, "fake", "sum", json::object{{"a", 1}, {"b", 2}});
  REQUIRE(out.ok);
  CHECK(out.data.at("structured").at("sum") == 3.0);
  CHECK(eventually_recorded(record, [](const json::object& m) {
    return m.contains("id") && m.at("id") == "ping-1" && m.contains("result");
  }));
  CHECK(read_all(dir.file("mcp-fake.log")).find("not JSON-RPC") != std::string::npos);
  // The handshake: initialize, then notifications/initialized before anything else.
  auto msgs = recorded(record);
  REQUIRE(msgs.size() >= 3);
  CHECK(msgs[0].at("method") == "initialize");
  CHECK(msgs[1].at("method") == "notifications/initialized");
}

TEST_CASE("mcp fault: list_changed makes a new tool visible", "[mcp]") {
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--list-changed-after-call"})});
  CHECK_FALSE(has_tool(list(*c, "fake"), "added"));
  REQUIRE(call(*c, "fake", "echo", json::object{{"message", "x"}}).ok);
  CHECK(eventually([&] { return status_of(*c, "fake").at("tools") == 4; }));
  CHECK(has_tool(list(*c, "fake"), "added"));
}

TEST_CASE("mcp fault: a server that exits at start is retried, then given up", "[mcp]") {
  test::temp_dir dir;
  auto s = stdio_server("fake", fake_mcp, {"--exit-at-start"});
  s.restart.maximum_restarts = 2;
  s.restart.initial_interval_ms = 10;
  auto c = make_connector({s}, dir.path.string());
  auto first = call(*c, "fake", "echo", {});
  REQUIRE_FALSE(first.ok);
  CHECK(first.error.code == error_code::connection_failed);
  CHECK(json::serialize(first.error.details).find("missing configuration") != std::string::npos);
  // Each call after the restart delay starts it again; the third failure gives up.
  error_code last = error_code::none;
  REQUIRE(eventually([&] {
    auto out = call(*c, "fake", "echo", {});
    last = out.error.code;
    return last == error_code::connector_unavailable;
  }));
  CHECK(status_of(*c, "fake").at("state") == "failed");
  CHECK(status_of(*c, "fake").at("restarts") == 2);
  CHECK(status_of(*c, "fake").at("consecutive_failures") == 3);
}

TEST_CASE("mcp: a call's trace context travels in params._meta, and none when there is none", "[mcp]") {
  test::temp_dir dir;
  auto record = dir.file("record.jsonl");
  auto c = make_connector({stdio_server("fake", fake_mcp, {"--record", record})});
  auto span = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=x");
  REQUIRE(span);
  std::promise<connectors::call_outcome> p;
  c->call_tool("fake", "echo", json::object{{"message", "traced"}}, 20s,
               [&p](connectors::call_outcome out) { p.set_value(std::move(out)); }, *span);
  REQUIRE(p.get_future().get().ok);
  REQUIRE(call(*c, "fake", "echo", json::object{{"message", "plain"}}).ok);
  std::vector<json::object> calls;
  for (const auto& m : recorded(record))
    if (m.contains("method") && m.at("method").as_string() == "tools/call")
      calls.push_back(m);
  REQUIRE(calls.size() == 2);
  const auto& meta = calls[0].at("params").at("_meta");
  CHECK(meta.at("traceparent").as_string() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(meta.at("tracestate").as_string() == "vendor=x");
  CHECK(calls[0].at("params").at("arguments").at("message").as_string() == "traced");
  CHECK_FALSE(calls[1].at("params").as_object().contains("_meta"));
}
