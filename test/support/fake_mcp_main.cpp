// opex_fake_mcp: a stdio MCP server for fault injection only — the failures the reference
// servers cannot be made to produce (crashing mid-call, hanging, garbage on stdout, a foreign
// protocol version, exiting at start). Real behaviour is tested against the real servers.
//
//   opex_fake_mcp [--version V] [--crash-on-call N] [--hang-tool NAME] [--garbage]
//                 [--exit-at-start] [--list-changed-after-call] [--ping-first]
//                 [--record FILE]
//
// Tools: echo {message} -> text "fake: <message>"; fail -> isError; sum {a, b} -> structured
// {sum}; after --list-changed-after-call's first call, a tool "added" appears. Every message
// received is appended to --record FILE (one JSON per line). The call counter spans restarts
// through the file COUNTER_FILE=<record>.calls, so "crash on the first call" happens once.
#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

namespace json = boost::json;

namespace {

struct options {
  std::string version;
  int crash_on_call = 0;
  std::string hang_tool;
  bool garbage = false;
  bool exit_at_start = false;
  bool list_changed_after_call = false;
  bool ping_first = false;
  std::string record;
};

void send(const json::value& v) {
  std::cout << json::serialize(v) << "\n" << std::flush;
}

json::object tool(std::string name) {
  return json::object{{"name", name},
                      {"description", "fake " + name},
                      {"inputSchema", json::object{{"type", "object"}}}};
}

int bump_calls(const options& o) {
  if (o.record.empty())
    return 1;
  int n = 0;
  {
    std::ifstream in(o.record + ".calls");
    in >> n;
  }
  ++n;
  std::ofstream(o.record + ".calls") << n;
  return n;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--version")
      o.version = next();
    else if (a == "--crash-on-call")
      o.crash_on_call = std::atoi(next().c_str());
    else if (a == "--hang-tool")
      o.hang_tool = next();
    else if (a == "--garbage")
      o.garbage = true;
    else if (a == "--exit-at-start")
      o.exit_at_start = true;
    else if (a == "--list-changed-after-call")
      o.list_changed_after_call = true;
    else if (a == "--ping-first")
      o.ping_first = true;
    else if (a == "--record")
      o.record = next();
  }
  std::cerr << "fake-mcp: started" << std::endl;
  if (o.exit_at_start) {
    std::cerr << "fake-mcp: missing configuration, exiting" << std::endl;
    return 2;
  }
  bool added = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!o.record.empty())
      std::ofstream(o.record, std::ios::app) << line << "\n";
    boost::system::error_code ec;
    auto msg = json::parse(line, ec);
    if (ec || !msg.is_object())
      continue;
    auto& m = msg.as_object();
    if (!m.contains("method") || !m.contains("id"))
      continue;  // notifications and our ping's answer
    auto method = json::value_to<std::string>(m.at("method"));
    auto id = m.at("id");
    if (o.garbage)
      std::cout << "this line is not JSON-RPC" << std::endl;
    if (method == "initialize") {
      auto asked = json::value_to<std::string>(m.at("params").at("protocolVersion"));
      send(json::object{{"jsonrpc", "2.0"},
                        {"id", id},
                        {"result", json::object{{"protocolVersion", o.version.empty() ? asked : o.version},
                                                {"capabilities", json::object{{"tools", json::object{{"listChanged", true}}}}},
                                                {"serverInfo", json::object{{"name", "opex-fake-mcp"}, {"version", "1"}}}}}});
    } else if (method == "tools/list") {
      json::array tools{tool("echo"), tool("fail"), tool("sum")};
      if (!o.hang_tool.empty())
        tools.push_back(tool(o.hang_tool));
      if (added)
        tools.push_back(tool("added"));
      send(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", json::object{{"tools", tools}}}});
    } else if (method == "tools/call") {
      auto name = json::value_to<std::string>(m.at("params").at("name"));
      const auto& args = m.at("params").as_object().contains("arguments") ? m.at("params").at("arguments") : json::value{};
      int n = bump_calls(o);
      if (o.crash_on_call > 0 && n == o.crash_on_call) {
        std::cerr << "fake-mcp: crashing on call " << n << std::endl;
        std::_Exit(3);
      }
      if (name == o.hang_tool)
        continue;  // never answers
      if (o.ping_first)
        send(json::object{{"jsonrpc", "2.0"}, {"id", "ping-1"}, {"method", "ping"}});
      json::object result;
      if (name == "echo") {
        std::string text = args.is_object() && args.as_object().contains("message")
                             ? json::value_to<std::string>(args.at("message"))
                             : "";
        result = json::object{{"content", json::array{json::object{{"type", "text"}, {"text", "fake: " + text}}}}};
      } else if (name == "fail") {
        result = json::object{{"content", json::array{json::object{{"type", "text"}, {"text", "it failed"}}}},
                              {"isError", true}};
      } else if (name == "sum") {
        auto a = args.at("a").to_number<double>();
        auto b = args.at("b").to_number<double>();
        result = json::object{{"content", json::array{json::object{{"type", "text"}, {"text", std::to_string(a + b)}}}},
                              {"structuredContent", json::object{{"sum", a + b}}}};
      } else if (name == "added" && added) {
        result = json::object{{"content", json::array{json::object{{"type", "text"}, {"text", "added tool"}}}}};
      } else {
        send(json::object{{"jsonrpc", "2.0"},
                          {"id", id},
                          {"error", json::object{{"code", -32602}, {"message", "Unknown tool: " + name}}}});
        continue;
      }
      send(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
      if (o.list_changed_after_call && !added) {
        added = true;
        send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
      }
    } else {
      send(json::object{{"jsonrpc", "2.0"},
                        {"id", id},
                        {"error", json::object{{"code", -32601}, {"message", "Method not found"}}}});
    }
  }
  std::cerr << "fake-mcp: stdin closed" << std::endl;
  return 0;
}
