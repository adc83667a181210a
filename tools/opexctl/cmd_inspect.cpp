// opexctl journal (entries, newest last) and mcp servers / mcp tools (the configured MCP
// servers, started to show their state and tools).
#include "opexctl.hpp"

#include <boost/json/serialize.hpp>

#include <iomanip>
#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

void print_entry(const json::object& e) {
  const auto& res = e.at("result").as_object();
  std::cout << e.at("timestamp").as_string().c_str() << "  " << std::left << std::setw(7) << e.at("agent").as_string().c_str()
            << std::setw(15) << e.at("action_type").as_string().c_str() << std::setw(9)
            << res.at("status").as_string().c_str();
  if (e.at("tool_used").is_string())
    std::cout << " " << e.at("tool_used").as_string().c_str();
  if (res.at("error_code").is_string())
    std::cout << " [" << res.at("error_code").as_string().c_str() << "]";
  std::cout << "  " << e.at("request_id").as_string().c_str() << "\n";
}

int show_journal(const journal_query& q, const common_options& o) {
  if (!o.server.empty())
    return remote_show(o, "GET",
                       "/v1/journal" + query_string({{"request_id", q.request_id}, {"agent", q.agent},
                                                     {"limit", std::to_string(q.limit)}}),
                       "", [](const json::object& b) {
                         for (const auto& row : b.at("entries").as_array())
                           print_entry(row.as_object());
                       });
  auto e = make_engine(o, false, true);
  auto rows = e.journal(q);
  if (!rows)
    return print_error(rows.error(), o);
  if (o.json_output) {
    std::cout << json::serialize(json::object{{"entries", *rows}}) << std::endl;
  } else {
    for (const auto& row : *rows)
      print_entry(row.as_object());
  }
  return 0;
}

struct mcp_args {
  std::string server;
  int timeout_ms = 30000;
};

int show_mcp_tools(const mcp_args& a, const common_options& o) {
  auto e = make_engine(o);
  auto tools = e.mcp_tools(a.server, std::chrono::milliseconds(a.timeout_ms));
  if (!tools)
    return print_error(tools.error(), o, exit_refused);
  if (o.json_output) {
    std::cout << json::serialize(json::object{{"server", a.server}, {"tools", *tools}}) << std::endl;
  } else {
    for (const auto& t : *tools)
      std::cout << std::left << std::setw(32) << t.at("name").as_string().c_str() << " "
                << t.at("description").as_string().c_str() << "\n";
  }
  return 0;
}

void print_server(const json::object& s) {
  std::cout << std::left << std::setw(20) << s.at("server").as_string().c_str() << std::setw(16)
            << s.at("transport").as_string().c_str() << std::setw(11) << s.at("state").as_string().c_str() << " protocol "
            << s.at("protocol_version").as_string().c_str() << ", " << s.at("tools").as_int64() << " tools";
  if (s.at("last_error").is_object())
    std::cout << "  [" << s.at("last_error").at("error_code").as_string().c_str() << "] "
              << s.at("last_error").at("error").as_string().c_str();
  std::cout << "\n";
}

int show_mcp_servers(const mcp_args& a, const common_options& o) {
  auto e = make_engine(o);
  // Listing the tools starts each server: the states then say whether it came up.
  for (const auto& s : e.mcp_servers())
    (void)e.mcp_tools(std::string(s.at("server").as_string()), std::chrono::milliseconds(a.timeout_ms));
  auto servers = e.mcp_servers();
  if (o.json_output) {
    std::cout << json::serialize(json::object{{"servers", servers}}) << std::endl;
  } else {
    for (const auto& v : servers)
      print_server(v.as_object());
  }
  bool all_ready = true;
  for (const auto& s : servers)
    all_ready = all_ready && s.at("state") == "ready";
  return all_ready ? 0 : 1;
}

} // namespace

void add_inspect_commands(CLI::App& app, command_list& out) {
  auto q = std::make_shared<journal_query>();
  q->limit = 200;
  auto* journal = app.add_subcommand("journal", "Print journal entries");
  journal->add_option("--request-id", q->request_id, "Only this request");
  journal->add_option("--agent", q->agent, "Only this agent (kimmy, prolex, proxy, opex, system)");
  journal->add_option("--limit", q->limit, "At most N entries (newest)");
  out.push_back({journal, [q](const common_options& o) { return show_journal(*q, o); }});

  auto m = std::make_shared<mcp_args>();
  auto* mcp = app.add_subcommand("mcp", "Inspect the configured MCP servers, or serve opex's tools over MCP");
  mcp->require_subcommand(1);
  auto* servers = mcp->add_subcommand("servers", "Start every configured MCP server and show its state");
  auto* tools = mcp->add_subcommand("tools", "List the tools an MCP server offers (starting it)");
  tools->add_option("server", m->server, "Server name under mcp.servers")->required();
  for (auto* sub : {servers, tools})
    sub->add_option("--timeout-ms", m->timeout_ms, "How long to wait for the server (ms)");
  out.push_back({tools, [m](const common_options& o) { return show_mcp_tools(*m, o); }});
  out.push_back({servers, [m](const common_options& o) { return show_mcp_servers(*m, o); }});
  add_mcp_serve_command(*mcp, out);
}

} // namespace opexctl
