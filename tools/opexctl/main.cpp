// opexctl: the command line for test authors and operators. Each subcommand lives in a
// cmd_*.cpp file and registers itself in the list below; main() parses and runs the one given.
//   ask, run, request, cancel cmd_requests.cpp
//   approvals, approve, reject cmd_approvals.cpp
//   journal, mcp servers|tools cmd_inspect.cpp
//   mcp serve                 cmd_mcp_serve.cpp
//   validate                  cmd_validate.cpp
//   completion bash           cmd_completion.cpp
//   stats                     cmd_stats.cpp
//   graph                     cmd_graph.cpp
//   improve                   cmd_improve.cpp
// With --server, the request, approval and journal commands call opexd's API (remote.cpp).
#include "opexctl.hpp"

#include <exception>

using namespace opex;
using namespace opexctl;

int main(int argc, char** argv) {
  CLI::App app{"opexctl: run and inspect opex requests\n"
               "Exit codes: 0 succeeded, 1 a step failed (or validate found errors), 2 usage or\n"
               "configuration error, 3 awaiting approval, 4 refused."};
  app.set_version_flag("--version", std::string("opexctl ") + OPEX_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `opexctl ask "..." --json`
  common_options o;
  app.add_option("--config,-c", o.config, "opex.yml (default: the built-in configuration)");
  app.add_option("--database", o.database, "SQLite database (default: storage.database or the data dir)");
  app.add_option("--now", o.now, "Fix the clock for relative dates (ISO 8601)");
  app.add_flag("--json", o.json_output, "Print one JSON object on stdout");
  app.add_flag("--quiet,-q", o.quiet, "No live progress on stderr");
  app.add_flag("--progress", o.progress, "Live progress on stderr even when it is not a terminal");
  app.add_option("--server", o.server, "A running opexd (http[s]://host:port): ask, run, request, cancel, approvals, "
                                       "approve, reject, journal, stats, graph and alerts go through its API")
    ->envname("OPEX_SERVER");
  app.add_option("--api-key", o.api_key, "opexd's API key (prefer the OPEX_API_KEY variable: arguments are visible to ps)")
    ->envname("OPEX_API_KEY");
  app.add_option("--ca-file", o.ca_file, "Extra CA bundle for an https --server");
  app.add_option("--server-timeout-ms", o.timeout_ms, "How long one call to --server may take (ms)")->check(CLI::PositiveNumber);

  command_list commands;
  add_request_commands(app, commands);
  add_validate_command(app, commands);
  add_approval_commands(app, commands);
  add_inspect_commands(app, commands);
  add_report_commands(app, commands);
  add_graph_command(app, commands);
  add_improve_command(app, commands);
  add_alerts_command(app, commands);
  add_completion_command(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version: printed, nothing runs
    return app.exit(e);
  } catch (const CLI::ParseError& e) {  // unknown command or option, bad value: named by CLI11
    auto rest = app.remaining();
    if (!rest.empty() && app.get_subcommands().empty()) {  // CLI11 would only say one is required
      std::string known;
      for (const auto& c : commands)
        known += (known.empty() ? "" : ", ")
                 + (c.sub->get_parent() != &app ? c.sub->get_parent()->get_name() + " " : "") + c.sub->get_name();
      std::cerr << "opexctl: unknown command '" << rest.front() << "' (commands: " << known << ")\n";
      return exit_usage;
    }
    app.exit(e);
    return exit_usage;
  }
  try {
    for (const auto& c : commands)
      if (c.sub->parsed())
        return c.run(o);
  } catch (const CLI::Error& e) {
    app.exit(e);
    return exit_usage;
  } catch (const engine_error& e) {
    return print_error(e.info, o);
  } catch (const std::exception& e) {
    return print_error(make_error(error_code::config_error, e.what()), o);
  }
  return exit_usage;
}
