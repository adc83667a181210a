// opexctl mcp serve: opex as an MCP server over stdio (docs/mcp-gateway.md, "Over stdio").
// One JSON-RPC message per line on stdin, answers and notifications one per line on stdout,
// logs on stderr. SIGTERM, SIGINT and the end of stdin stop it once the calls in flight have
// answered (at most --drain-ms); SIGHUP reloads --config and tells the client when its tools
// changed. The engine runs in this process and holds the database's lock (not beside opexd).
#include "mcp_stdio.hpp"
#include "opexctl.hpp"

#include "opex/gateway/mcp_server.hpp"
#include "opex/gateway/tool_pins.hpp"
#include "opex/clock.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <iostream>

using namespace opex;
namespace json = boost::json;

namespace opexctl {

namespace {

struct serve_args {
  std::string tenant = "default";
  int drain_ms = 10000;
};

void handle_line(const std::string& line, gateway::mcp_session& session, line_writer& out) {
  auto parsed = parse_line(line, out);
  if (!parsed)
    return;
  auto& message = *parsed;
  out.opened();
  session.handle(message, gateway::mcp_outlet{[&out](json::object m) { out.write(m); }, [&out] { out.ended(); }});
}

void reload(engine& eng, const common_options& o, gateway::mcp_session& session, line_writer& out) {
  if (o.config.empty())
    return;
  if (auto r = eng.reload(o.config); !r)
    std::cerr << "opexctl mcp serve: the configuration was not reloaded: " << r.error().message << "\n";
  session.notify_if_list_changed([&out](json::object m) { out.write(m); });
}

int serve_local(const serve_args& a, const common_options& o) {
  signal_pipe signals;
  gateway::progress_hub hub;
  engine_options eo;
  eo.recover = true;  // a long-running engine: it resumes the plans the database holds
  eo.config_path = o.config;
  eo.database = o.database;
  eo.on_progress = hub.sink();
  engine eng(std::move(eo));
  if (a.tenant != "default" && !eng.configuration().find_tenant(a.tenant))
    return print_error(make_error(error_code::validation_error, "unknown tenant " + a.tenant,
                                  json::object{{"tenant", a.tenant}}), o);
  auto session = std::make_shared<gateway::mcp_session>(eng, &hub, gateway::mcp_caller{a.tenant, "all", "stdio", "stdio"});
  line_writer out;
  session->set_push([&out](json::object m) { out.write(m); });  // elicitation/create
  stdio_loop(
    signals, [&](const std::string& line) { handle_line(line, *session, out); },
    [&] { reload(eng, o, *session, out); });
  if (!out.drain(std::chrono::milliseconds(a.drain_ms)))
    std::cerr << "opexctl mcp serve: stopping with calls still running; they resume at the next start\n";
  eng.shutdown();
  return exit_succeeded;
}

struct pins_args {
  std::vector<std::string> approve;  ///< SERVER TOOL DIGEST
  std::string by = "operator";
};

/// `opexctl mcp pins [--approve SERVER TOOL DIGEST]`: the pinned definitions of re-exposed MCP
/// tools; --approve makes a changed definition's digest the pin (docs/mcp-gateway.md,
/// "Aggregation"). Works beside a running opexd (its own connection to the database).
int pins(const pins_args& a, const common_options& o) {
  auto e = make_engine(o, false, true);
  auto store = gateway::tool_pins::of_database(e.database());
  if (!store)
    return print_error(store.error(), o);
  if (!a.approve.empty()) {
    if (auto err = (*store)->approve(a.approve[0], a.approve[1], a.approve[2], a.by,
                                     format_timestamp(e.time().now().utc)))
      return print_error(err, o, err.code == error_code::not_found || err.code == error_code::conflict ? exit_refused : exit_usage);
  }
  auto list = (*store)->list();
  if (!list)
    return print_error(list.error(), o);
  if (o.json_output) {
    std::cout << json::serialize(json::object{{"pins", *list}}) << std::endl;
    return exit_succeeded;
  }
  for (const auto& p : *list) {
    const auto& row = p.as_object();
    std::cout << row.at("server").as_string() << " " << row.at("tool").as_string() << "  " << row.at("state").as_string()
              << "  " << row.at("digest").as_string();
    if (row.at("pending_digest").is_string())
      std::cout << "  changed to " << row.at("pending_digest").as_string();
    std::cout << "\n";
  }
  return exit_succeeded;
}

int serve(const serve_args& a, const common_options& o) {
  if (!o.server.empty())
    return serve_remote(a.drain_ms, o);
  return serve_local(a, o);
}

} // namespace

void stdio_loop(signal_pipe& signals, const std::function<void(const std::string&)>& on_line,
                const std::function<void()>& on_hup) {
  signals.start();
  std::string pending;
  for (bool open = true; open;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0)
      continue;
    if (fds[1].revents & POLLIN) {
      char c = 0;
      (void)!::read(signals.fd(), &c, 1);
      if (c != 'h')
        return;
      on_hup();
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      char buf[65536];
      auto n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        open = false;
        n = 0;
      }
      pending.append(buf, static_cast<std::size_t>(n));
      for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
        on_line(pending.substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
  }
  if (!pending.empty())
    on_line(pending);
}

void add_mcp_serve_command(CLI::App& mcp, command_list& out) {  // serve and pins
  auto a = std::make_shared<serve_args>();
  auto* serve_cmd = mcp.add_subcommand("serve", "Serve opex's guarded tools to an MCP client over stdio "
                                                "(in this process, or with --server through opexd's /mcp)");
  serve_cmd->add_option("--tenant", a->tenant, "The tenant whose tools, level and journal the client gets "
                                               "(with --server: the API key's tenant)");
  serve_cmd->add_option("--drain-ms", a->drain_ms, "How long calls in flight may take to answer at the end (ms)")
    ->check(CLI::NonNegativeNumber);
  out.push_back({serve_cmd, [a](const common_options& o) { return serve(*a, o); }});
  auto p = std::make_shared<pins_args>();
  auto* pins_cmd = mcp.add_subcommand("pins", "The pinned definitions of the MCP tools opex re-exposes (expose:)");
  pins_cmd->add_option("--approve", p->approve, "Approve a changed definition: SERVER TOOL DIGEST")->expected(3);
  pins_cmd->add_option("--by", p->by, "Who approves (kept with the pin)");
  out.push_back({pins_cmd, [p](const common_options& o) { return pins(*p, o); }});
}

} // namespace opexctl
