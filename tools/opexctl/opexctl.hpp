// What opexctl's commands share: the global options, the engine one command uses, how results
// and errors are printed (and the exit code they give), Ctrl-C while a request runs, and the
// command list main() dispatches to. The exit codes are in the README ("opexctl").
#pragma once

#include "opex/engine.hpp"

#include <boost/json/value.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace opexctl {

/// opexctl's exit codes (README, "opexctl"; asserted by test/tools/cli_test.sh).
enum exit_code : int {
  exit_succeeded = 0,  ///< done: the request succeeded, the plan or configuration is valid
  exit_failed = 1,     ///< a step failed (partial, failed, timed out, cancelled); validate found errors
  exit_usage = 2,      ///< usage or configuration: unknown command or option, bad value, invalid opex.yml, database locked
  exit_awaiting = 3,   ///< the plan waits for a person's approval
  exit_refused = 4,    ///< refused: the guard rejected the request, or a decision or lookup was refused (CONFLICT, NOT_FOUND...)
};

/// The options every command takes (they may follow the subcommand).
struct common_options {
  std::string config;
  std::string database;
  std::string now;
  bool json_output = false;
  bool quiet = false;
  bool progress = false;
  /// --server URL (or OPEX_SERVER): talk to that opexd instead of opening the database;
  /// --api-key (or OPEX_API_KEY) is its key, --ca-file an extra CA bundle for https.
  std::string server;
  std::string api_key;
  std::string ca_file;
  int timeout_ms = 300000;  ///< per call to opexd (ms)
};

/// opexd's answer to one call: its HTTP status and JSON object body.
struct server_answer {
  int status = 0;
  boost::json::value body;
};

/// Calls opexd (`o.server` + `path`) with `o.api_key` as X-API-Key; `body`, when given, is sent
/// as application/json. Errors: UNAUTHORIZED (no key), VALIDATION_ERROR (not a URL),
/// CONNECTION_FAILED / TIMEOUT (unreachable), PROTOCOL_ERROR (an answer that is not JSON).
opex::result<server_answer> call_server(const common_options& o, const std::string& method, const std::string& path,
                                        const std::string& body = {});

/// POSTs a submission (kimmy-intake, proxy-exec) and prints its result like a local run
/// (the same exit codes); an error answer gives exit_usage for 401/403, exit_failed for 429 and
/// 5xx, exit_refused otherwise.
int remote_submit(const common_options& o, const std::string& path, const boost::json::object& body);

/// Calls a reading or deciding route and prints its JSON (--json, or without `human`) or
/// `human`'s rendering; an error answer: exit_refused for 404 and 409, exit_usage for other
/// 4xx, exit_failed for 429 and 5xx.
int remote_show(const common_options& o, const std::string& method, const std::string& path, const std::string& body,
                const std::function<void(const boost::json::object&)>& human);

/// `?k=v&...` with each value percent-encoded (empty values left out); "" when none.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

/// A subcommand: its CLI11 node, and what it runs once parsed (returns the exit code).
struct command {
  CLI::App* sub = nullptr;
  std::function<int(const common_options&)> run;
};
using command_list = std::vector<command>;

/// Each file of commands adds its subcommands (and their options) to `app` and `out`.
void add_request_commands(CLI::App& app, command_list& out);   ///< ask, run, request
void add_approval_commands(CLI::App& app, command_list& out);  ///< approvals, approve, reject
void add_inspect_commands(CLI::App& app, command_list& out);   ///< journal, mcp servers, mcp tools
void add_validate_command(CLI::App& app, command_list& out);   ///< validate
void add_completion_command(CLI::App& app, command_list& out); ///< completion bash
void add_report_commands(CLI::App& app, command_list& out);    ///< stats
void add_graph_command(CLI::App& app, command_list& out);      ///< graph
void add_improve_command(CLI::App& app, command_list& out);    ///< improve
void add_alerts_command(CLI::App& app, command_list& out);     ///< alerts
void add_mcp_serve_command(CLI::App& mcp, command_list& out);  ///< mcp serve (under `mcp`)

/// An engine for one command. Only approve/reject resume the plans waiting in the database
/// (they must run somewhere); other commands leave them to opexd or to the next decision.
/// Commands that only read open the database without its lock, so they work beside a running
/// opexd; the others refuse to start while another engine executes on it (DATABASE_LOCKED).
/// Throws engine_error (CONFIG_ERROR, DATABASE_LOCKED) and CLI::ValidationError (--now).
opex::engine make_engine(const common_options& o, bool recover = false, bool read_only = false);

/// Prints a request's result (JSON with --json, else a summary); exit_succeeded, exit_awaiting,
/// exit_refused (status rejected) or exit_failed.
int finish(const opex::request_result& r, const common_options& o);

/// Prints an error (the standard error JSON on stdout with --json, else on stderr); returns
/// `code` (exit_usage by default).
int print_error(const opex::error_info& err, const common_options& o, exit_code code = exit_usage);

/// Turns SIGINT into a callback while a request runs (signals blocked in every thread, one
/// thread waits for them); a second Ctrl-C after the request ended exits as usual.
class interrupt_watch {
public:
  /// Blocks SIGINT in the calling thread, and so in every thread started after it (call it
  /// before the engine starts its threads).
  static void block_sigint() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

  explicit interrupt_watch(std::function<void()> on_interrupt) : on_interrupt_(std::move(on_interrupt)) {
    thread_ = std::thread([this] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      timespec tick{0, 100'000'000};
      while (!stopped_) {
        if (sigtimedwait(&set, nullptr, &tick) == SIGINT)
          on_interrupt_();
      }
    });
  }
  void stop() {
    stopped_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  ~interrupt_watch() { stop(); }

private:
  std::function<void()> on_interrupt_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};


} // namespace opexctl
