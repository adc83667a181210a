// opexctl: the command line for test authors and operators. Each subcommand lives in a
// cmd_*.cpp file and registers itself in the list below; main() parses and runs the one given.
//   ask, run, request         cmd_requests.cpp
//   approvals, approve, reject cmd_approvals.cpp
//   journal, mcp servers|tools cmd_inspect.cpp
//   validate                  cmd_validate.cpp
#include "opexctl.hpp"

#include <exception>

using namespace opex;
using namespace opexctl;

int main(int argc, char** argv) {
  CLI::App app{"opexctl: run and inspect opex requests"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `opexctl ask "..." --json`
  common_options o;
  app.add_option("--config,-c", o.config, "opex.yml (default: the built-in configuration)");
  app.add_option("--database", o.database, "SQLite database (default: storage.database or the data dir)");
  app.add_option("--now", o.now, "Fix the clock for relative dates (ISO 8601)");
  app.add_flag("--json", o.json_output, "Print one JSON object on stdout");
  app.add_flag("--quiet,-q", o.quiet, "No live progress on stderr");
  app.add_flag("--progress", o.progress, "Live progress on stderr even when it is not a terminal");

  command_list commands;
  add_request_commands(app, commands);
  add_validate_command(app, commands);
  add_approval_commands(app, commands);
  add_inspect_commands(app, commands);

  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& c : commands)
      if (c.sub->parsed())
        return c.run(o);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const engine_error& e) {
    return print_error(e.info, o);
  } catch (const std::exception& e) {
    return print_error(make_error(error_code::config_error, e.what()), o);
  }
  return 2;
}
