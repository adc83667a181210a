// The embedding API: load a configuration, submit a request (text, KimmyPayload or
// ProlexOutput), get its result as a future or a callback, read the journal (docs/architecture.md).
#pragma once

#include "opex/trace_context.hpp"
#include "opex/clock.hpp"
#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/progress.hpp"
#include "opex/workflow_metrics.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace opex::observers {
class prometheus_metrics;
}

namespace opex {

class schema_registry;

/// One circuit breaker as seen from outside (docs/resilience.md).
struct breaker_info {
  std::string target;
  std::string state;  ///< closed | open | half_open
  double failure_rate = 0.0;  ///< percent over the current window
  std::uint64_t opened = 0;
  std::uint64_t half_opened = 0;
  std::uint64_t closed = 0;
  std::uint64_t rejected = 0;  ///< calls refused with CIRCUIT_OPEN
};

/// How to build an engine.
struct engine_options {
  /// opex.yml path; "" = the built-in default configuration (used when `config` is empty).
  std::string config_path;
  /// A configuration already loaded (takes precedence over config_path).
  std::optional<opex_config> config;
  /// Overrides storage.database (tests use a temporary file).
  std::string database;
  /// The clock used for dates and timestamps; default: the system clock.
  std::shared_ptr<const clock> time;
  /// Live step progress; called on actor threads, must be thread-safe and quick (it becomes
  /// the first observer, opex/progress.hpp).
  std::function<void(const progress_event&)> on_progress;
  /// More observers (opex/observer.hpp), called after on_progress in this order.
  std::vector<std::shared_ptr<observer>> observers;
  /// Actor scheduler worker threads (0 = CAF's default, one per core).
  int worker_threads = 0;
  /// Resume plans the database holds unfinished (awaiting approval, or running when the last
  /// engine stopped).
  bool recover = true;
  /// Only read (journal, requests, approvals, codes): no lock on the database, no recovery, no
  /// timers, and submissions and decisions are refused with UNAVAILABLE. An engine that
  /// executes holds an exclusive lock on the database (`<database>.lock`); a second one fails
  /// to start with DATABASE_LOCKED (docs/durability.md, "One writer per database").
  bool read_only = false;
};

/// Optional fields of a submission.
struct submit_options {
  /// UUID; generated when empty. A request id given here is also the idempotency key unless
  /// `idempotency_key` is set.
  std::string request_id;
  /// Idempotency key, scoped by tenant (docs/durability.md, "Idempotency keys"): a repeat with
  /// the same body answers the stored result (`replayed`), or waits for the running request, and
  /// never executes again; a repeat with another body is refused with IDEMPOTENCY_CONFLICT.
  /// Kept for `idempotency.retention_hours` (24). "" = the client-given request_id, if any.
  std::string idempotency_key;
  std::string user_id;     ///< default: config default_user_id
  /// Where the request came from, journaled as metadata.source on each of its entries: api,
  /// cli, mcp, alerts, improvement, ...
  std::string source = "api";
  /// The program that sent it (an MCP client's clientInfo "name/version"), journaled as
  /// metadata.client; "" = not known.
  std::string client;
  std::string tenant;      ///< a configured tenant's slug; "" = "default"
  /// The span the request runs under (W3C Trace Context; opexd: a child of the caller's
  /// traceparent). Unset: a new trace. Each step attempt calls its target under a child span,
  /// sent as `traceparent` / `tracestate` (docs/operations.md, "Traces").
  std::optional<trace_context> trace;
};

/// A person's decision on a pending approval.
struct approval_decision_request {
  std::string approval_id;
  bool approve = true;
  std::string decided_by;         ///< journaled with the decision
  std::string confirmation_code;  ///< required when the approval says requires_code
  std::string comment;
  std::string tenant;             ///< "" = operator (any tenant); else only that tenant's approvals
};

/// What the engine's constructor throws when it cannot start: the error as data (code,
/// message, details), e.g. DATABASE_LOCKED with {database, lock_file, pid}.
class engine_error : public std::runtime_error {
public:
  explicit engine_error(error_info e) : std::runtime_error(e.message), info(std::move(e)) {}
  error_info info;
};

/// The checks the engine makes at start-up beyond load_config, which need the registered
/// extensions: every catalogue and `targets.overrides` target against its connector type's schema
/// (normalising aliases such as MCP's `mcp_server`), and `guard.step_policies` against the guard
/// policies, and `storage.backend` against the storage backends. Returns the first error
/// (CONFIG_ERROR with details {key, tool?, type?, errors?}), or none. `opexctl validate` runs it; the engine's constructor throws it as engine_error.
error_info check_configuration(opex_config& config);

/// What a configuration reload did (engine::reload): the new generation's number (the
/// configuration the engine started with is 1) and the sections that changed but only apply
/// at the next start (storage, journal, execution, server, targets' connections, mcp, llm,
/// n8n, tracing, logging, secrets, masking; a tool category without an executor).
struct reload_report {
  std::uint64_t generation = 1;
  std::vector<std::string> restart_needed;
};

/// Receives a request's result, on an actor thread.
using result_callback = std::function<void(request_result)>;

/// The engine: owns the actor system, the agents (Kimmy, Prolex, the Proxy Master, one
/// executor per tool category, the journal writer) and the connectors.
///
/// Thread-safety: every member function may be called from any thread concurrently.
/// Errors: the constructor throws std::runtime_error when the configuration cannot be loaded or
/// the database cannot be opened, and engine_error (a runtime_error) when another engine
/// executes on the database (DATABASE_LOCKED); submissions never throw — refusals come back as a request_result
/// whose `error` is set (standard error JSON via to_json).
/// Durability (docs/durability.md): a result is delivered only after the request's final state
/// and journal entries are committed; results, stored rows and the journal are masked.
class engine {
public:
  explicit engine(engine_options options = {});
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Full pipeline from text: Kimmy -> (Prolex) -> Proxy Master -> supervisor.
  void submit_text(std::string text, submit_options opts, result_callback done);

  /// From a KimmyPayload (JSON, validated against kimmy_payload.schema.json): Prolex -> ...
  void submit_payload(boost::json::value kimmy_payload, submit_options opts, result_callback done);

  /// From a ProlexOutput (JSON, validated against prolex_output.schema.json): Proxy -> ...
  void submit_output(boost::json::value prolex_output, submit_options opts, result_callback done);

  /// Future-returning variants of the three above.
  std::future<request_result> submit_text(std::string text, submit_options opts = {});
  std::future<request_result> submit_payload(boost::json::value kimmy_payload, submit_options opts = {});
  std::future<request_result> submit_output(boost::json::value prolex_output, submit_options opts = {});

  /// Cancels a running plan: steps not started become `cancelled`, calls in flight are
  /// abandoned (their HTTP connections closed) and the request answers with status
  /// `cancelled`. Returns false when no plan with this id is running (unknown, finished, or
  /// still before the Proxy Master).
  bool cancel(const std::string& request_id);

  /// The circuit breakers seen so far: target, state, failure rate (percent) and transition
  /// counters.
  std::vector<breaker_info> breakers() const;

  /// The engine's Prometheus metrics (always on; opexd serves them at /metrics and adds its
  /// HTTP series to the same registry): opex/observers/prometheus_metrics.hpp for the series,
  /// docs/operations.md, "Metrics".
  observers::prometheus_metrics& metrics() const;

  /// Approvals (JSON: {"id", "tenant", "request_id", "step", "tool", "kind", "subject",
  /// "payload_digest", "reason", "status", "requires_code", "created_at", "expires_at",
  /// "decided_by", "decided_at", "comment"}) of a tenant ("" = all) with a status ("" = all).
  /// Pending approvals past their expiry are expired first. Blocks the caller.
  result<boost::json::array> approvals(const std::string& tenant = "", const std::string& status = "");
  void approvals(const std::string& tenant, const std::string& status,
                 std::function<void(result<boost::json::array>)> done);

  /// Decides a pending approval: approved -> the step runs (with its confirmation code in the
  /// payload when it needs one); rejected -> the step is skipped. Errors: NOT_FOUND, CONFLICT
  /// (already decided), APPROVAL_EXPIRED, CONFIRMATION_INVALID (missing or wrong code; the
  /// approval stays pending). The decision is journaled with who decided.
  result<boost::json::object> decide(approval_decision_request d);
  void decide(approval_decision_request d, std::function<void(result<boost::json::object>)> done);

  /// The confirmation code of a pending approval that requires one: for the operator's console
  /// (`opexctl approvals`), never sent over opexd's API. Errors: NOT_FOUND, CONFLICT.
  result<std::string> approval_code(const std::string& approval_id);

  /// Expires pending approvals whose time is up (their steps are skipped); returns how many.
  /// Also runs every minute on its own.
  std::size_t expire_approvals();

  /// A request's stored state: {"request": {id, tenant, user_id, status, output, result,
  /// created_at, updated_at}, "steps": [{step, tool, status, data, error, attempts}]}.
  /// Errors: NOT_FOUND (also for another tenant's request).
  result<boost::json::object> request_state(const std::string& request_id, const std::string& tenant = "");
  void request_state(const std::string& request_id, const std::string& tenant,
                     std::function<void(result<boost::json::object>)> done);

  /// Waits until a running request ends (e.g. after its approvals were decided) and returns its
  /// final result; a request that already ended returns its stored result. Errors: NOT_FOUND,
  /// TIMEOUT (still running after `timeout`). Blocks the caller.
  result<boost::json::object> wait(const std::string& request_id, std::chrono::milliseconds timeout);

  /// Journal entries matching `q`, after flushing pending writes. Blocks the caller (not for
  /// actor threads). Errors: INTERNAL_ERROR when the database fails.
  result<boost::json::array> journal(const journal_query& q);

  /// Same, asynchronously: `done` receives the entries (or the error) on an actor thread.
  void journal(const journal_query& q, std::function<void(result<boost::json::array>)> done);

  /// Writes every pending journal entry to the database. Blocks the caller.
  void flush_journal();

  /// The workflow metrics of `q` over the committed journal, after flushing pending writes; the
  /// query runs on the report reader's connection and thread, never the store's
  /// (docs/operations.md, "Workflow metrics"). JSON: opex/connectors/workflow_runs.hpp. Errors:
  /// INTERNAL_ERROR. `done` runs on an actor thread.
  void workflow_metrics(const workflow_metrics_query& q, std::function<void(result<boost::json::object>)> done);

  /// Same, blocking the caller (not for actor threads).
  result<boost::json::object> workflow_metrics(const workflow_metrics_query& q);

  /// Requests matching `f`, newest first, on the report reader (committed rows; JSON:
  /// connectors::journal_reports::list_requests). Errors: INTERNAL_ERROR. `done` runs on an
  /// actor thread.
  void list_requests(const request_filter& f, std::function<void(result<boost::json::object>)> done);

  /// The journal's evidence for improvement proposals over q's window and tenant (JSON:
  /// opex/connectors/workflow_runs.hpp, evidence), after flushing pending writes. Errors:
  /// INTERNAL_ERROR. Blocks the caller (not for actor threads).
  result<boost::json::object> improvement_evidence(const workflow_metrics_query& q);

  /// opex's alerts (docs/operations.md, "Alerts"): {"enabled", "evaluation_interval_ms",
  /// "rules": [{"name", "kind", "threshold", "window_ms", "min_count", "for_ms", "severity",
  /// "targets"}], "targets": [{"name", "type"}], "alerts": [alert_status JSON, opex/alerts.hpp;
  /// firing first], "deliveries": [{"transition_id", "target", "state" (pending | failed),
  /// "attempts", "last_error", "notification"}]}. A read-only engine answers the stored
  /// "alerts" and "deliveries" only. Errors: INTERNAL_ERROR. `done` runs on an actor thread.
  void alerts(std::function<void(result<boost::json::object>)> done);
  /// Same, blocking the caller (not for actor threads).
  result<boost::json::object> alerts();

  /// Evaluates the alert rules now, over the committed journal: {"evaluated_at",
  /// "transitions": [notification or status JSON], "deliveries": [{"transition_id", "target",
  /// "delivered", "error"}] (the attempts it made), "alerts": [status...]}, answered after the
  /// transitions are committed and the deliveries attempted. Errors: UNAVAILABLE (alerts.enabled
  /// is false, or a read-only engine), INTERNAL_ERROR. `done` runs on an actor thread.
  void evaluate_alerts(std::function<void(result<boost::json::object>)> done);
  /// Same, blocking the caller (not for actor threads).
  result<boost::json::object> evaluate_alerts();

  /// The improvement run (docs/operations.md, "Improvement proposals"): proposals from the
  /// journal's last improvement.window_days with improvement's thresholds, each created as a
  /// TODO through the guarded pipeline (idempotency key improve:<kind>:<subject>:<day>, so a day
  /// creates each TODO once), and a summary journaled (agent prolex, action_type reporting,
  /// tags improvement). JSON: {"proposals": [improvement_proposal JSON], "applied": [{"kind",
  /// "subject", "idempotency_key", "request_id", "status", "replayed"}]}. Runs by itself once a
  /// day after improvement.at (UTC) when improvement.daily. Never changes configuration.
  /// Errors: UNAVAILABLE (read-only or stopped engine), INTERNAL_ERROR.
  void run_improvements(std::function<void(result<boost::json::object>)> done);
  /// Same, blocking the caller (not for actor threads).
  result<boost::json::object> run_improvements();

  /// Stops executing: new submissions get UNAVAILABLE, running plans are interrupted (a caller
  /// still waiting gets UNAVAILABLE, and the plan resumes at the next start on this database),
  /// pending writes are committed. Idempotent; the destructor calls it, then releases the actor
  /// system and the database lock. Threads of the caller's that called into the engine (an
  /// HTTP server's) must end before the destructor runs. Blocks the caller.
  void shutdown();

  /// Requests submitted and not answered yet.
  std::size_t in_flight() const noexcept;

  /// The MCP servers and their states: [{"server", "transport", "state" (idle | starting |
  /// ready | restarting | failed | stopped), "pid", "restarts", "consecutive_failures",
  /// "protocol_version", "server_info", "tools", "last_error"}]; empty without mcp.servers.
  boost::json::array mcp_servers() const;

  /// Whether the engine can take work (opexd's /readyz; docs/operations.md, "Health"), given to
  /// `done` on another thread: {"ready": bool, "checks": {"journal": "ok" | why,
  /// "mcp_servers": {name: state}}}. The journal check asks the store to commit what it holds
  /// within 2 s (the writer is alive and the database takes writes); an MCP server is ready when
  /// its state is ready or idle (started on first use), not when starting, restarting, failed or
  /// stopped. A read-only or stopped engine is not ready.
  void readiness(std::function<void(boost::json::object)> done) const;

  /// Reloads the configuration (opexd: SIGHUP; docs/operations.md, "Reload"): the file is
  /// loaded and checked as at start-up, then the catalogue, autonomy levels, system limits,
  /// tenants, guard policies, approvals, planning, protected workflows and tool costs are
  /// replaced at once. Requests already admitted finish under the configuration they started
  /// with; the next ones get the new one; nothing is interrupted. Errors: CONFIG_ERROR (the
  /// file or its checks; details {path?, key, reason}) and UNAVAILABLE (a read-only or
  /// stopped engine): the current configuration stays.
  result<reload_report> reload(const std::string& config_path);
  result<reload_report> reload(opex_config config);

  /// The configuration new requests are admitted under (the last reload's, else the first).
  std::shared_ptr<const opex_config> current_configuration() const;

  /// The schemas new requests are checked with (payload and response schemas of the current
  /// configuration's catalogue included; a reload replaces them). Thread-safe.
  std::shared_ptr<const schema_registry> current_schemas() const;

  /// The number of the configuration generation new requests are admitted under (1 at start,
  /// +1 per successful reload): a change means the catalogue, levels or tenants may differ.
  std::uint64_t configuration_generation() const;

  /// The tools an MCP server lists now, starting it when needed: [{"name", "title",
  /// "description", "input_schema", "output_schema"?}]. Errors: CONNECTOR_UNAVAILABLE (no
  /// such server, cannot start), CONNECTION_FAILED, TIMEOUT. Blocks the caller.
  result<boost::json::array> mcp_tools(const std::string& server, std::chrono::milliseconds timeout);
  /// The same, answered to `done` (once, on the MCP connector's thread) instead of blocking.
  void mcp_tools(const std::string& server, std::chrono::milliseconds timeout,
                 std::function<void(result<boost::json::array>)> done);

  /// The effective configuration (targets resolved).
  const opex_config& configuration() const noexcept;

  /// The database file in use.
  const std::string& database() const noexcept;

  /// The engine's clock.
  const clock& time() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace opex
