// The plan_supervisor actor: one per plan. Keeps the DAG's ready set (dag_scheduler), resolves
// each step's templates against its ancestors' results, sends attempts to the executors with
// a per-attempt timeout (start_to_close), retries transient failures after the retry policy's
// delay, bounds each step's attempts (schedule_to_close) and the whole plan
// (max_execution_time_minutes) by capping attempt timeouts and retry delays, cancels on request, skips the dependents of failed steps,
// journals every attempt and step, and answers with the request's outcome.
#include "../agents.hpp"
#include "dag_scheduler.hpp"

#include "opex/engine.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/retry_policy.hpp"
#include "opex/template_resolver.hpp"

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <random>

namespace opex::actors {

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using caf_time = caf::actor_clock::time_point;

namespace {

struct step_runtime {
  std::shared_ptr<const json::object> payload;  ///< resolved once per step
  retry_settings retry;
  caf_time step_started{};
  caf_time attempt_started{};
  std::optional<caf_time> deadline;  ///< schedule_to_close
  std::uint64_t call_id = 0;         ///< the attempt in flight, 0 when none
  executor_actor executor;
  clock_type::time_point wall_started{};
  clock_type::time_point wall_attempt{};
};

struct supervisor_state {
  std::shared_ptr<const runtime> rt;
  request_context ctx;
  checked_plan plan;
  std::unique_ptr<dag_scheduler> scheduler;
  std::vector<step_result> results;
  std::vector<json::value> scope;  ///< per step: {"result", "status", "error"} for templates
  std::vector<step_runtime> steps;
  caf::typed_response_promise<request_outcome> promise;
  std::size_t max_parallel = 16;
  std::mt19937_64 rng;
  bool delivered = false;
  std::optional<request_status> forced_status;  ///< cancelled / timed_out
  caf_time request_deadline{};                  ///< start + max_execution_time_minutes
  static inline const char* name = "plan_supervisor";
};

using self_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

double ms_between(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void report(self_pointer self, std::size_t i, step_status status, const std::string& code = {},
            const std::string& message = {}) {
  auto& st = self->state;
  if (!st.ctx.progress || !*st.ctx.progress)
    return;
  const auto& r = st.results[i];
  progress_event ev;
  ev.request_id = st.ctx.request_id;
  ev.step = r.step;
  ev.tool = r.tool;
  ev.status = status;
  ev.attempt = static_cast<int>(r.attempts.size());
  ev.duration_ms = r.duration_ms;
  ev.error_code = code;
  ev.message = message;
  (*st.ctx.progress)(ev);
}

json::object error_json(const error_info& e) {
  return json::object{{"error", e.message}, {"error_code", error_code_name(e.code)}, {"details", e.details}};
}

journal_entry step_entry(self_pointer self, std::size_t i) {
  auto& st = self->state;
  const auto& r = st.results[i];
  auto entry = make_journal_entry(*st.rt, st.ctx, "opex", "execution");
  entry.tool_used = r.tool;
  if (st.steps[i].payload)
    entry.payload_snapshot = *st.steps[i].payload;
  else
    entry.payload_snapshot = st.plan->dag->steps[i].payload;
  entry.metadata["step"] = r.step;
  return entry;
}

/// A failed attempt that will be retried gets its own entry (the final attempt's entry is the
/// step's entry): one journal entry per attempt.
void journal_attempt(self_pointer self, std::size_t i, const error_info& err, std::chrono::milliseconds delay) {
  auto& st = self->state;
  const auto& a = st.results[i].attempts.back();
  auto entry = step_entry(self, i);
  entry.status = "failure";
  entry.error = err.message;
  entry.error_code = std::string(error_code_name(err.code));
  entry.data = json::object{{"attempt_outcome", step_status_name(a.outcome)},
                            {"retry_in_ms", delay.count()},
                            {"details", err.details}};
  entry.metadata["attempt"] = a.number;
  entry.metadata["execution_time_ms"] = a.duration_ms;
  entry.tags = {"attempt", "retrying"};
  self->send(st.rt->journal, journal_atom::value, std::move(entry));
}

void journal_step(self_pointer self, std::size_t i) {
  auto& st = self->state;
  const auto& r = st.results[i];
  auto entry = step_entry(self, i);
  entry.status = r.status == step_status::succeeded ? "success" : "failure";
  if (r.data.is_object())
    entry.data = r.data;
  else if (!r.data.is_null())
    entry.data = json::object{{"value", r.data}};
  if (r.status != step_status::succeeded) {
    json::object d = entry.data.is_object() ? entry.data.get_object() : json::object{};
    d["step_status"] = step_status_name(r.status);
    entry.data = std::move(d);
  }
  if (r.error) {
    entry.error = r.error.message;
    entry.error_code = std::string(error_code_name(r.error.code));
  }
  if (!r.attempts.empty())
    entry.metadata["attempt"] = r.attempts.back().number;
  entry.metadata["attempts"] = static_cast<std::int64_t>(r.attempts.size());
  entry.metadata["execution_time_ms"] = r.duration_ms;
  entry.metadata["cost_usd"] = r.cost_usd;
  entry.tags = {"step", std::string(step_status_name(r.status))};
  self->send(st.rt->journal, journal_atom::value, std::move(entry));
}

void pump(self_pointer self);

/// Abandons the attempt in flight for step i, if any: the executor closes its call.
/// `timed_out` tells the executor the attempt ran out of time (a failure for the breaker).
void abandon_attempt(self_pointer self, std::size_t i, bool timed_out = false) {
  auto& s = self->state.steps[i];
  if (s.call_id != 0 && s.executor)
    self->send(s.executor, cancel_atom::value, s.call_id, timed_out);
  s.call_id = 0;
}

/// Records a terminal status for step i, skips what depends on it, and schedules more.
void finish_step(self_pointer self, std::size_t i, step_status status, json::value data, error_info error) {
  auto& st = self->state;
  auto& r = st.results[i];
  if (is_terminal(r.status))
    return;
  abandon_attempt(self, i);
  r.status = status;
  r.data = std::move(data);
  r.error = std::move(error);
  r.finished_at = st.rt->now();
  if (st.steps[i].wall_started != clock_type::time_point{})
    r.duration_ms = ms_between(st.steps[i].wall_started, clock_type::now());
  st.scope[i] = json::object{{"result", r.data},
                             {"status", step_status_name(status)},
                             {"error", r.error ? json::value(error_json(r.error)) : json::value(nullptr)}};
  journal_step(self, i);
  report(self, i, status, r.error ? std::string(error_code_name(r.error.code)) : std::string{}, r.error.message);
  for (const auto& skip : st.scheduler->complete(i, status)) {
    auto& s = st.results[skip.index];
    s.status = step_status::skipped;
    s.data = nullptr;
    s.error = make_error(error_code::dependency_failed, skip.reason,
                         json::object{{"dependency", skip.failed_dependency}, {"reason", skip.reason}});
    s.finished_at = r.finished_at;
    st.scope[skip.index] = json::object{{"result", nullptr}, {"status", "skipped"}, {"error", error_json(s.error)}};
    journal_step(self, skip.index);
    report(self, skip.index, step_status::skipped, "DEPENDENCY_FAILED", skip.reason);
  }
  pump(self);
}

/// The deadline that binds step i now: its own schedule_to_close, or the request's.
struct deadline_view {
  std::chrono::milliseconds left{0};
  bool request = false;  ///< the request's deadline is the nearer one
};

deadline_view remaining(self_pointer self, std::size_t i) {
  const auto& st = self->state;
  const auto& s = st.steps[i];
  auto now = self->clock().now();
  auto until = st.request_deadline;
  bool request = true;
  if (s.deadline && *s.deadline < until) {
    until = *s.deadline;
    request = false;
  }
  auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now);
  return {std::max(left, std::chrono::milliseconds{0}), request};
}

bool request_expired(self_pointer self) {
  return self->clock().now() >= self->state.request_deadline;
}

void stop_plan(self_pointer self, request_status status, step_status running_status, const error_info& why);

/// The request ran out of time: everything stops (docs/resilience.md, "Timeouts").
void request_timed_out(self_pointer self) {
  auto minutes = self->state.rt->config.system.max_execution_time_minutes;
  stop_plan(self, request_status::timed_out, step_status::timed_out,
            make_error(error_code::timeout, "the request exceeded max_execution_time_minutes",
                       json::object{{"scope", "request"}, {"max_execution_time_minutes", minutes}}));
}

void attempt(self_pointer self, std::size_t i);

/// An attempt ended with `outcome`: success, retry after the policy's delay, or failure.
void on_outcome(self_pointer self, std::size_t i, connectors::call_outcome outcome) {
  auto& st = self->state;
  auto& r = st.results[i];
  auto& s = st.steps[i];
  if (is_terminal(r.status))
    return;
  s.call_id = 0;
  auto& a = r.attempts.back();
  a.duration_ms = ms_between(s.wall_attempt, clock_type::now());
  r.cost_usd += outcome.cost_usd;
  if (outcome.ok) {
    a.outcome = step_status::succeeded;
    finish_step(self, i, step_status::succeeded, std::move(outcome.data), {});
    return;
  }
  bool timed_out = outcome.error.code == error_code::timeout;
  a.outcome = timed_out ? step_status::timed_out : step_status::failed;
  a.error_code = std::string(error_code_name(outcome.error.code));
  if (request_expired(self)) {
    request_timed_out(self);
    return;
  }
  auto next = static_cast<int>(r.attempts.size()) + 1;
  auto dl = remaining(self, i);
  auto decision = policies::decide_retry(s.retry, next, outcome.error, dl.left, st.rng, st.rt->time->now().utc);
  if (decision.retry) {
    journal_attempt(self, i, outcome.error, decision.delay);
    report(self, i, step_status::running, a.error_code,
           "attempt " + std::to_string(next - 1) + " failed (" + outcome.error.message + "), retry in "
             + std::to_string(decision.delay.count()) + " ms (" + decision.reason + ")");
    self->delayed_send(self, decision.delay, retry_atom::value, static_cast<std::uint64_t>(i));
    return;
  }
  if (decision.reason == "step_deadline") {
    // No time for another attempt before the nearer deadline: this step times out now, the
    // other steps go on until theirs.
    finish_step(self, i, step_status::timed_out, nullptr,
                make_error(error_code::timeout,
                           dl.request ? "the request's deadline leaves no time for another attempt"
                                      : "the step's schedule_to_close deadline leaves no time for another attempt",
                           json::object{{"scope", dl.request ? "request" : "step"},
                                        {"last_error", error_json(outcome.error)}}));
    return;
  }
  finish_step(self, i, timed_out ? step_status::timed_out : step_status::failed, nullptr, std::move(outcome.error));
}

void attempt(self_pointer self, std::size_t i) {
  auto& st = self->state;
  auto& r = st.results[i];
  auto& s = st.steps[i];
  const auto* tool = st.plan->tools[i];
  auto exec = st.rt->executors.find(tool->category);
  if (exec == st.rt->executors.end()) {
    finish_step(self, i, step_status::failed, nullptr,
                make_error(error_code::connector_unavailable, "no executor for category " + tool->category,
                           json::object{{"tool", tool->id}, {"category", tool->category}}));
    return;
  }
  const auto& step = st.plan->dag->steps[i];
  int timeout_ms = step.start_to_close_ms.value_or(tool->timeout_ms.value_or(st.rt->config.execution.attempt_timeout_ms));
  // An attempt never outlives its step nor its request: when the nearer deadline comes, the
  // attempt's timeout fires, so no separate timer is needed (timers would keep finished
  // supervisors alive in the actor clock until they fire).
  timeout_ms = static_cast<int>(std::min<long long>(timeout_ms, std::max<long long>(1, remaining(self, i).left.count())));
  attempt_record rec;
  rec.number = static_cast<int>(r.attempts.size()) + 1;
  rec.started_at = st.rt->now();
  r.attempts.push_back(std::move(rec));
  s.attempt_started = self->clock().now();
  s.wall_attempt = clock_type::now();
  report(self, i, step_status::running);
  step_call call;
  call.call_id = ++st.rt->next_call_id;
  call.tool = tool;
  call.payload = s.payload;
  call.context.request_id = st.ctx.request_id;
  call.context.user_id = st.ctx.user_id;
  call.context.step = r.step;
  call.context.attempt = static_cast<int>(r.attempts.size());
  call.context.timeout = std::chrono::milliseconds(timeout_ms);
  call.progress = st.ctx.progress;
  s.call_id = call.call_id;
  s.executor = exec->second;
  auto call_id = call.call_id;
  self->request(exec->second, std::chrono::milliseconds(timeout_ms), exec_atom::value, std::move(call))
    .then(
      [self, i, call_id](connectors::call_outcome& outcome) {
        if (self->state.steps[i].call_id == call_id)
          on_outcome(self, i, std::move(outcome));
      },
      [self, i, call_id, timeout_ms](caf::error& err) {
        if (self->state.steps[i].call_id != call_id)
          return;
        connectors::call_outcome outcome;
        if (err == caf::sec::request_timeout) {
          abandon_attempt(self, i, true);  // closes the connection of the late call
          outcome.error = make_error(error_code::timeout,
                                     "attempt exceeded its start_to_close timeout of " + std::to_string(timeout_ms) + " ms",
                                     json::object{{"timeout_ms", timeout_ms}, {"scope", "attempt"}});
        } else {
          outcome.error = make_error(error_code::internal_error, "executor failed: " + to_string(err));
        }
        on_outcome(self, i, std::move(outcome));
      });
}

/// First attempt of a ready step: deadline, templates, payload schema, then attempt.
void dispatch(self_pointer self, std::size_t i) {
  auto& st = self->state;
  auto& r = st.results[i];
  auto& s = st.steps[i];
  s.step_started = self->clock().now();
  s.wall_started = clock_type::now();
  r.started_at = st.rt->now();
  const auto& step = st.plan->dag->steps[i];
  int step_timeout = step.schedule_to_close_ms.value_or(st.rt->config.execution.step_timeout_ms);
  if (step_timeout > 0)
    s.deadline = s.step_started + std::chrono::milliseconds(step_timeout);
  if (st.plan->templated[i]) {
    const auto& dag = *st.plan->dag;
    auto lookup = [&](std::string_view root) -> const json::value* {
      auto n = step_number_of(root);
      if (!n)
        return nullptr;
      auto it = dag.index_of.find(*n);
      if (it == dag.index_of.end() || st.scope[it->second].is_null())
        return nullptr;
      return &st.scope[it->second];
    };
    auto resolved = resolve_templates(json::value(step.payload), lookup, template_mode::strict);
    if (!resolved) {
      auto err = resolved.error();
      err.details["step"] = step.step;
      finish_step(self, i, step_status::failed, nullptr, std::move(err));
      return;
    }
    if (st.plan->validate_at_dispatch[i]) {
      auto schema = st.rt->proxy->payload_schema_id(*st.plan->tools[i]);
      if (auto err = st.rt->schemas->check(schema, *resolved, "payload of " + step.tool)) {
        err.details["step"] = step.step;
        err.details["tool"] = step.tool;
        finish_step(self, i, step_status::failed, nullptr, std::move(err));
        return;
      }
    }
    s.payload = std::make_shared<const json::object>(std::move(resolved->get_object()));
  } else {
    s.payload = std::shared_ptr<const json::object>(st.plan, &step.payload);
  }
  attempt(self, i);
}

void deliver(self_pointer self) {
  auto& st = self->state;
  if (st.delivered)
    return;
  st.delivered = true;
  st.rt->requests.remove(st.ctx.request_id);
  auto result = make_result(*st.rt, st.ctx);
  std::size_t ok = 0, failed = 0, skipped = 0, cancelled = 0;
  double cost = 0;
  for (const auto& r : st.results) {
    if (r.status == step_status::succeeded)
      ++ok;
    else if (r.status == step_status::skipped)
      ++skipped;
    else if (r.status == step_status::cancelled)
      ++cancelled;
    else
      ++failed;
    cost += r.cost_usd;
  }
  if (st.forced_status)
    result->status = *st.forced_status;
  else
    result->status = ok == st.results.size() ? request_status::succeeded
                     : ok > 0               ? request_status::partial
                                            : request_status::failed;
  result->steps = std::move(st.results);
  auto entry = make_journal_entry(*st.rt, st.ctx, "opex", "execution");
  entry.status = result->status == request_status::succeeded ? "success"
                 : result->status == request_status::partial ? "partial"
                                                             : "failure";
  entry.data = json::object{{"plan_steps", static_cast<std::int64_t>(result->steps.size())},
                            {"succeeded", ok},
                            {"failed", failed},
                            {"skipped", skipped},
                            {"cancelled", cancelled},
                            {"request_status", request_status_name(result->status)}};
  entry.metadata["execution_time_ms"] = result->duration_ms;
  entry.metadata["cost_usd"] = cost;
  entry.tags = {"plan"};
  self->send(st.rt->journal, journal_atom::value, std::move(entry));
  st.promise.deliver(request_outcome{std::move(result)});
  self->quit();
}

void pump(self_pointer self) {
  auto& st = self->state;
  if (st.scheduler->finished()) {
    deliver(self);
    return;
  }
  if (st.forced_status)
    return;
  auto running = st.scheduler->running();
  if (running >= st.max_parallel)
    return;
  for (auto i : st.scheduler->take_ready(st.max_parallel - running))
    dispatch(self, i);
  if (st.scheduler->finished())
    deliver(self);
}

/// Ends the plan early: steps in flight get `running_status` (their calls are abandoned),
/// steps not started are cancelled; the request gets `status`.
void stop_plan(self_pointer self, request_status status, step_status running_status, const error_info& why) {
  auto& st = self->state;
  if (st.delivered || st.forced_status)
    return;
  st.forced_status = status;
  for (auto i : st.scheduler->cancel_pending()) {
    auto& r = st.results[i];
    r.status = step_status::cancelled;
    r.error = make_error(error_code::cancelled, "not started: " + why.message, why.details);
    r.finished_at = st.rt->now();
    journal_step(self, i);
    report(self, i, step_status::cancelled, "CANCELLED", r.error.message);
  }
  for (std::size_t i = 0; i < st.results.size(); ++i)
    if (!is_terminal(st.results[i].status)) {
      if (!st.results[i].attempts.empty() && st.steps[i].call_id != 0) {
        auto& a = st.results[i].attempts.back();
        a.outcome = running_status;
        a.error_code = std::string(error_code_name(why.code));
        a.duration_ms = ms_between(st.steps[i].wall_attempt, clock_type::now());
      }
      abandon_attempt(self, i, running_status == step_status::timed_out);
      finish_step(self, i, running_status, nullptr, why);
    }
  deliver(self);
}

supervisor_actor::behavior_type plan_supervisor(self_pointer self, std::shared_ptr<const runtime> rt) {
  self->state.rt = std::move(rt);
  return {
    [self](run_atom, request_context ctx, checked_plan plan) -> caf::result<request_outcome> {
      auto& st = self->state;
      st.ctx = std::move(ctx);
      st.plan = std::move(plan);
      const auto n = st.plan->dag->steps.size();
      st.scheduler = std::make_unique<dag_scheduler>(st.plan->dag);
      st.results.resize(n);
      st.scope.assign(n, json::value(nullptr));
      st.steps.resize(n);
      const auto& cfg = st.rt->config;
      st.max_parallel = static_cast<std::size_t>(std::max(1, cfg.execution.max_parallelism));
      auto seed = cfg.execution.jitter_seed != 0 ? cfg.execution.jitter_seed : std::random_device{}();
      st.rng.seed(seed ^ std::hash<std::string>{}(st.ctx.request_id));
      for (std::size_t i = 0; i < n; ++i) {
        const auto& step = st.plan->dag->steps[i];
        st.results[i].step = step.step;
        st.results[i].tool = step.tool;
        auto settings = retry_settings_from_json(st.plan->tools[i]->retry, cfg.execution.retry);
        st.steps[i].retry = retry_settings_from_json(step.retry, settings);
      }
      st.promise = self->make_response_promise<request_outcome>();
      // The request's own deadline (system.yml max_execution_time_minutes).
      st.request_deadline =
        self->clock().now() + std::chrono::minutes(std::max(1, cfg.system.max_execution_time_minutes));
      pump(self);
      return st.promise;
    },
    [self](retry_atom, std::uint64_t i) {
      if (i >= self->state.results.size() || is_terminal(self->state.results[i].status) || self->state.forced_status)
        return;
      if (request_expired(self))
        request_timed_out(self);
      else
        attempt(self, static_cast<std::size_t>(i));
    },
    [self](cancel_atom) {
      stop_plan(self, request_status::cancelled, step_status::cancelled,
                make_error(error_code::cancelled, "the request was cancelled", json::object{{"scope", "request"}}));
    },
  };
}

} // namespace

supervisor_actor spawn_plan_supervisor(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  return system.spawn(plan_supervisor, std::move(rt));
}

} // namespace opex::actors
