// The run logic of one plan as a pure state machine: inputs (start, resume, a commit, a step
// outcome, a retry timer, an approval, a cancellation) go in, commands (persist, dispatch,
// abandon, schedule, open or close an approval, observe, deliver, finished) come out. No actors,
// no clocks of its own: the caller passes the time with every input and carries the commands
// out (the plan_supervisor actor in production, the tests directly). docs/durability.md gives
// the ordering rules this class enforces.
#pragma once

#include "../runtime.hpp"
#include "dag_scheduler.hpp"

#include "opex/observer.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace opex::actors {

/// The time plan_run reasons in: the actor clock (steady; simulated under test_coordinator).
using run_time = std::chrono::steady_clock::time_point;

/// Commands plan_run asks its carrier to perform, in the order given.
namespace run_cmd {

/// Write rows and journal entries. `commit` != 0: the carrier reports committed(commit) once the
/// store's group commit holding them is durable; 0: batched, nobody waits.
struct persist {
  write_batch writes;
  std::uint64_t commit = 0;
};

/// Send one attempt to the executor of `category`; report its outcome with outcome(step,
/// call.call_id, ...), or attempt_timed_out(step, call.call_id) when `timeout` passes first.
struct dispatch {
  std::size_t step = 0;
  step_call call;
  std::string category;
  std::chrono::milliseconds timeout{0};
};

/// Abandon the attempt in flight `call_id` of `step` (the executor closes its call);
/// `timed_out`: the breaker counts a failure.
struct abandon {
  std::size_t step = 0;
  std::uint64_t call_id = 0;
  bool timed_out = false;
};

/// Call timer(step) after `delay` (a retry's backoff).
struct schedule {
  std::size_t step = 0;
  std::chrono::milliseconds delay{0};
};

/// Record a pending approval. `reply`: report approval_recorded(step, reply) (a parked step);
/// otherwise fire and forget (the review of a workflow).
struct open_approval {
  std::size_t step = 0;
  connectors::approval_record record;
  bool reply = true;
};

/// Decide an approval nobody will decide any more (its step was cancelled).
struct close_approval {
  approval_decision decision;
};

/// Tell the engine's observers (runtime::observers) what happened, in order.
using observation = std::variant<attempt_started, attempt_ended, step_ended, approval_changed>;
struct observe {
  observation event;
};

/// Answer: `to_caller` delivers the request's promise (once), `to_watchers` completes the
/// request for those waiting on it (completion hub).
struct deliver {
  std::shared_ptr<request_result> result;
  bool to_caller = true;
  bool to_watchers = true;
};

/// The run is over: unregister the request and stop.
struct finished {};

} // namespace run_cmd

using run_command = std::variant<run_cmd::persist, run_cmd::dispatch, run_cmd::abandon, run_cmd::schedule,
                                 run_cmd::open_approval, run_cmd::close_approval, run_cmd::observe,
                                 run_cmd::deliver, run_cmd::finished>;

namespace plan_run_detail {
/// The error as templates and results see it: {"error", "error_code", "details"}.
boost::json::object error_json(const error_info& e);
/// A step's template scope: {"result", "status", "error"}.
boost::json::value scope_of(const step_result& r);
} // namespace plan_run_detail

/// One plan's run. Ordering rules (docs/durability.md, "Commit before acknowledge"):
/// 1. the request row (output, tenant, idempotency key) is committed before any step is
///    dispatched;
/// 2. a step's outcome (row and journal entry) is committed before any step depending on it is
///    dispatched; independent steps are not held;
/// 3. the final state and its journal entries are committed before the answer is delivered
///    (also the early "awaiting_approval" answer).
/// Bounded work: retry intervals have a floor (execution.minimum_retry_interval_ms), attempts
/// per step a cap (execution.maximum_attempts_per_step) on top of the step and request
/// deadlines, and the journal keeps every attempt up to journal.max_attempt_entries, then a
/// summary in the step's entry. Not thread-safe: one owner.
class plan_run {
public:
  plan_run(std::shared_ptr<const plan_parts> parts, request_context ctx, checked_plan plan, run_time now);

  /// A new request: persist it as running (committed), then dispatch.
  void start(run_time now);
  /// A request found unfinished after a restart: restores what was committed and runs the rest
  /// (a step that was running runs again under the same idempotency key; its attempt log says
  /// so). Nobody waits for the answer: it goes to the store and to watchers.
  void resume(const stored_plan& stored, run_time now);

  /// The store committed the writes of `token`.
  void committed(std::uint64_t token, run_time now);
  /// The store could not commit `token`: the run stops as failed, nothing more is dispatched.
  void commit_failed(std::uint64_t token, const error_info& why, run_time now);
  /// An attempt's outcome (ignored unless `call_id` is the attempt in flight of `step`).
  void outcome(std::size_t step, std::uint64_t call_id, connectors::call_outcome outcome, run_time now);
  /// An attempt's start_to_close timeout passed before its outcome.
  void attempt_timed_out(std::size_t step, std::uint64_t call_id, run_time now);
  /// The executor could not run the attempt (it died, or answered with a CAF error).
  void attempt_failed(std::size_t step, std::uint64_t call_id, std::string why, run_time now);
  /// A retry timer fired.
  void timer(std::size_t step, run_time now);
  /// The store recorded (or refused) the approval of a parked step.
  void approval_recorded(std::size_t step, approval_reply reply, run_time now);
  /// A person (or the expiry) decided an approval of this request.
  void decision(const connectors::approval_record& a, const std::string& code, run_time now);
  /// The request is cancelled.
  void cancel(run_time now);

  /// The answer for a caller when the engine stops before the run ends: UNAVAILABLE, with the
  /// request id; nothing is written (the committed state resumes at the next start).
  std::shared_ptr<request_result> interrupted_result() const;

  /// The commands produced since the last call, in order.
  std::vector<run_command> take_commands();

  /// True once `finished` was emitted.
  bool over() const noexcept { return over_; }
  const std::string& request_id() const noexcept { return ctx_.request_id; }
  const std::vector<step_result>& results() const noexcept { return results_; }

private:
  /// Per-step run state.
  struct step_state_rt {
    std::shared_ptr<const boost::json::object> payload;  ///< resolved once per step ({{ secrets.* }} kept)
    retry_settings retry;
    run_time step_started{};
    run_time attempt_started{};
    std::optional<run_time> deadline;  ///< schedule_to_close
    std::uint64_t call_id = 0;         ///< the attempt in flight, 0 when none
    int attempt_timeout_ms = 0;        ///< the attempt in flight's start_to_close
    std::string approval_id;           ///< while awaiting a person's decision
    bool approved = false;
    bool dispatched = false;           ///< dispatch() ran (a held step has not)
    std::string resume_note;           ///< the next attempt re-runs one whose outcome was lost
    std::map<std::string, int> failure_codes;  ///< error codes of attempts beyond the journal's cap
    /// What the last answered attempt reported (observers): USD and model tokens.
    double last_cost_usd = 0.0;
    std::int64_t last_input_tokens = 0;
    std::int64_t last_output_tokens = 0;
    /// The attempt in flight's span and its connector call's span id (tracing).
    trace_context attempt_span;
    std::string call_span_id;
    std::string last_result;  ///< masked result JSON, kept only when tracing.capture_content
  };

  /// What a commit token unblocks.
  struct pending_commit {
    enum class kind { started, steps, early, final_run };
    kind what = kind::steps;
    std::vector<std::size_t> steps;
    std::shared_ptr<request_result> result;  ///< early / final_run: the answer
  };

  void pump(run_time now);
  void dispatch(std::size_t i, run_time now);
  void attempt(std::size_t i, run_time now);
  bool validate_payload(std::size_t i, run_time now);
  void request_approval(std::size_t i);
  /// The review a policy asked for once step `i` succeeded (guard_verdict::review), if any.
  void open_review(std::size_t i);
  void on_failure(std::size_t i, connectors::call_outcome outcome, run_time now);
  void finish_step(std::size_t i, step_status status, boost::json::value data, error_info error, run_time now);
  void stop_plan(request_status status, step_status running_status, const error_info& why, run_time now);
  void request_timed_out(run_time now);
  void maybe_deliver_early();
  void finish_run(write_batch writes);
  void deliver_early(std::shared_ptr<request_result> result);
  void deliver_final();
  void release_held(run_time now);
  bool dependencies_committed(std::size_t i) const;
  std::uint64_t commit(write_batch writes, pending_commit what);
  void abandon_attempt(std::size_t i, bool timed_out);
  /// Observations for the engine's observers (nothing when there are none).
  void observe_attempt_start(std::size_t i);
  void observe_attempt_end(std::size_t i, const error_info* error, std::optional<std::chrono::milliseconds> retry_in = {},
                           const std::string& retry_reason = {});
  void observe_step_end(std::size_t i);
  /// What the attempt's span carries: its target, and its arguments and result when configured.
  void describe_attempt(std::size_t i, attempt_ended& e) const;
  void observe_approval(std::size_t i, const std::string& approval_id, approval_status status,
                        const std::string& reason = {});

  // rows and journal entries (plan_run_records.cpp)
  journal_entry step_entry(std::size_t i) const;
  journal_entry attempt_started_entry(std::size_t i) const;
  journal_entry attempt_failed_entry(std::size_t i, const error_info& err, std::chrono::milliseconds delay) const;
  journal_entry step_outcome_entry(std::size_t i) const;
  journal_entry plan_entry(const request_result& r) const;
  step_state step_row(std::size_t i) const;
  request_state request_row(std::string status, boost::json::value result) const;
  std::shared_ptr<request_result> build_result() const;
  void mask_outcome(boost::json::value& data, error_info& error) const;
  /// Copies masked like the step's row: its resolved payload, and a result.
  boost::json::value masked_payload(std::size_t i) const;
  boost::json::value masked_data(const boost::json::value& data) const;

  struct deadline_view {
    std::chrono::milliseconds left{0};
    bool request = false;  ///< the request's deadline is the nearer one
  };
  deadline_view remaining(std::size_t i, run_time now) const;

  std::shared_ptr<const plan_parts> parts_;
  const runtime_services* rt_;  ///< parts_->base
  const runtime_execution* exec_;  ///< parts_->exec
  request_context ctx_;
  checked_plan plan_;
  policies::guard_context guard_;
  std::unique_ptr<dag_scheduler> scheduler_;
  std::vector<step_result> results_;
  std::vector<boost::json::value> scope_;  ///< per step: {"result", "status", "error"} for templates
  std::vector<step_state_rt> steps_;
  std::vector<bool> committed_;            ///< the step's terminal state is durable
  std::vector<std::size_t> held_;          ///< ready steps waiting for their dependencies' commits
  std::map<std::uint64_t, pending_commit> commits_;
  std::uint64_t next_token_ = 0;
  std::vector<run_command> out_;
  std::vector<std::string> secret_values_;  ///< resolved {{ secrets.NAME }} values: masked in outcomes
  std::size_t max_parallel_ = 16;
  std::mt19937_64 rng_;
  run_time request_deadline_{};
  std::size_t awaiting_ = 0;
  std::optional<request_status> forced_status_;
  bool early_delivered_ = false;  ///< the caller has (or will have) its answer already
  bool final_emitted_ = false;
  bool started_run_ = false;      ///< the request row is committed: steps may be dispatched
  bool over_ = false;
};

} // namespace opex::actors
