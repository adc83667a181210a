// opexd: the opex daemon. Loads opex.yml, starts the engine and the HTTP API, prints the bound
// address. SIGINT/SIGTERM: stop accepting, let the requests in flight finish up to
// server.drain_timeout_s, interrupt what is left (it resumes at the next start), commit, exit 0.
// SIGHUP reloads opex.yml (docs/operations.md, "Reload"). Exit codes: 0 stopped cleanly, 1 could not start (config,
// database in use, address in use, a TLS file or signing secret that does not load), 2 usage
// error (unknown option, no API key).
#include "api_server.hpp"
#include "service_notifier.hpp"

#include "opex/log.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace {

/// The command line's overrides of opex.yml's server section.
struct command_line {
  std::string bind;
  int port = -1, threads = 0;
  bool no_auth = false;
};

/// The HTTP server's settings from opex.yml and the command line, with the API keys from the
/// environment. Errors: SECRET_NOT_FOUND (a signing secret; exit 1), VALIDATION_ERROR (no API
/// key and no --insecure-no-auth: a usage error, exit 2).
opex::result<opex::tools::api_server_options> server_options(const opex::opex_config& cfg, const command_line& args) {
  opex::tools::api_server_options so;
  so.bind = args.bind.empty() ? cfg.server.bind : args.bind;
  so.port = static_cast<std::uint16_t>(args.port >= 0 ? args.port : cfg.server.port);
  so.threads = args.threads > 0 ? args.threads : cfg.server.threads;
  so.max_body_bytes = cfg.server.max_body_bytes;
  so.require_auth = !args.no_auth;
  so.max_connections = cfg.server.max_connections;
  so.access_log = cfg.server.access_log;
  so.tls_certificate = cfg.server.tls_certificate;
  so.tls_private_key = cfg.server.tls_private_key;
  so.allowed_origins = cfg.server.allowed_origins;
  so.cors_max_age_s = cfg.server.cors_max_age_s;
  auto edge = opex::tools::edge_policies(cfg);  // signing secrets resolved once, here
  if (!edge)
    return edge.error();
  std::tie(so.edge, so.tenant_edge) = std::move(edge).value();
  if (const char* keys = std::getenv(cfg.server.api_keys_env.c_str()))
    so.keys = opex::tools::parse_api_keys(keys, "default");
  for (const auto& t : cfg.tenants)  // each tenant's keys act for that tenant only
    if (!t.api_keys_env.empty())
      if (const char* keys = std::getenv(t.api_keys_env.c_str()))
        for (auto& k : opex::tools::parse_api_keys(keys, t.slug))
          so.keys.push_back(std::move(k));
  if (so.require_auth && so.keys.empty())
    return opex::make_error(opex::error_code::validation_error,
                            "no API keys: set " + cfg.server.api_keys_env
                              + "=key1,key2:read (or pass --insecure-no-auth for local development)");
  return so;
}

} // namespace

/// SIGHUP (docs/operations.md, "Reload"): the file is read again; when it loads, passes the
/// engine's checks and yields server settings (keys, rate limits, signatures), the engine's
/// policies and the keys are replaced; otherwise both stay and the error is logged.
static void reload(opex::engine& eng, opex::tools::api_server& server, const std::string& path, const command_line& args) {
  using opex::log_event;
  using opex::log_level;
  if (path.empty()) {
    log_event(log_level::warn, "config.reload_skipped", "SIGHUP received; opexd runs on the built-in configuration (no --config)");
    return;
  }
  auto loaded = opex::load_config(path);
  if (!loaded) {
    log_event(log_level::error, "config.reload_failed", "the configuration was not reloaded: " + loaded.error().message,
              boost::json::object{{"path", path}});
    return;
  }
  auto next = server_options(*loaded, args);
  if (!next) {
    log_event(log_level::error, "config.reload_failed", "the configuration was not reloaded: " + next.error().message,
              boost::json::object{{"path", path}});
    return;
  }
  if (!eng.reload(std::move(loaded).value()))
    return;  // logged by the engine; the keys stay as well
  auto keys = next->keys.size();
  server.reload_keys(std::move(next->keys), std::move(next->edge), std::move(next->tenant_edge));
  server.configuration_reloaded();  // MCP clients hear of a changed tool list
  log_event(log_level::info, "server.keys_reloaded", "opexd's API keys and edge rules were reloaded",
            boost::json::object{{"keys", keys}});  // the reload is complete from here
}

int main(int argc, char** argv) {
  CLI::App app{"opexd: the opex orchestration daemon"};
  std::string config, database;
  command_line args;
  app.add_option("--config,-c", config, "opex.yml (default: the built-in configuration)");
  app.add_option("--database", database, "SQLite database (default: storage.database or the data dir)");
  app.add_option("--bind", args.bind, "Address to listen on (default: server.bind, 127.0.0.1)");
  app.add_option("--port,-p", args.port, "Port (default: server.port; 0 = any free port, printed on stdout)");
  app.add_option("--threads", args.threads, "HTTP I/O threads (default: server.threads)");
  app.add_flag("--insecure-no-auth", args.no_auth, "Accept requests without X-API-Key (development only)");
  app.set_version_flag("--version", std::string("opexd ") + OPEX_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version: printed, nothing starts
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // unknown option, bad value: named by CLI11
    app.exit(e);
    return 2;
  }

  // Block the signals before any thread starts, so only wait_for_signal() receives them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  try {
    opex::gateway::progress_hub mcp_progress;  // /mcp's tools/call progress (docs/mcp-gateway.md)
    opex::engine_options eo;
    eo.config_path = config;
    eo.database = database;
    eo.on_progress = mcp_progress.sink();
    opex::engine eng(std::move(eo));
    const auto& cfg = eng.configuration();
    auto options = server_options(cfg, args);
    if (!options) {
      std::cerr << "opexd: " << options.error().message << "\n";
      return options.error().code == opex::error_code::validation_error ? 2 : 1;
    }
    auto& so = *options;
    so.mcp_progress = &mcp_progress;
    opex::tools::api_server server(eng, so);
    server.start();
    std::cout << "opexd listening on " << (so.tls_certificate.empty() ? "" : "https://") << so.bind << ":"
              << server.port() << " (database " << eng.database() << ")" << std::endl;
    opex::tools::service_notifier systemd;  // Type=notify; nothing without NOTIFY_SOCKET
    systemd.ready("listening on " + so.bind + ":" + std::to_string(server.port()),
                  [&server] { return server.responsive(std::chrono::seconds(1)); });
    int sig = server.wait_for_signal([&] { reload(eng, server, config, args); });
    systemd.stopping("draining " + std::to_string(eng.in_flight()) + " request(s)");
    auto drain = std::chrono::seconds(std::max(0, cfg.server.drain_timeout_s));
    std::cout << "opexd stopping (" << (sig == SIGINT ? "SIGINT" : "SIGTERM") << "): draining " << eng.in_flight()
              << " request(s), up to " << drain.count() << " s" << std::endl;
    int left = server.drain(drain);
    if (left > 0)
      std::cout << "opexd: " << left << " request(s) still running: interrupted, they resume at the next start"
                << std::endl;
    eng.shutdown();  // interrupted callers get 503 UNAVAILABLE; everything accepted is committed
    server.wait_idle(std::chrono::seconds(2));
    server.stop();
    std::cout << "opexd stopped" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "opexd: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
