// The plan_supervisor actor: one per plan. Keeps the DAG's ready set (dag_scheduler), resolves
// each step's templates against its ancestors' results, sends attempts to the executors with
// a per-attempt timeout (start_to_close), retries transient failures after the retry policy's
// delay, bounds each step's attempts (schedule_to_close) and the whole plan
// (max_execution_time_minutes) by capping attempt timeouts and retry delays, cancels on request, skips the dependents of failed steps,
// journals every attempt and step, and answers with the request's outcome.
#include "../agents.hpp"
#include "dag_scheduler.hpp"

#include "opex/engine.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"
#include "opex/policies/retry_policy.hpp"
#include "opex/template_resolver.hpp"

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json/serialize.hpp>

#include <map>
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
  std::string approval_id;  ///< while awaiting a person's decision
  bool approved = false;
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
  policies::guard_context guard;                ///< for the checks repeated after resolution
  std::size_t awaiting = 0;                     ///< steps waiting for an approval
  bool early_delivered = false;                 ///< answered "awaiting_approval" already
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
  if (st.plan->sensitive)  // sensitivity high: a digest, never the payload in clear
    entry.payload_snapshot = json::object{{"sha256", policies::sha256_hex(json::serialize(entry.payload_snapshot))},
                                          {"sensitivity", "high"}};
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
  self->send(st.rt->store, journal_atom::value, std::move(entry));
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
  self->send(st.rt->store, journal_atom::value, std::move(entry));
}

void pump(self_pointer self);

/// Writes step i's state (before dispatch, when parked, after completion).
void persist_step(self_pointer self, std::size_t i) {
  auto& st = self->state;
  const auto& r = st.results[i];
  step_state row;
  row.request_id = st.ctx.request_id;
  row.step = r.step;
  row.tool = r.tool;
  row.status = std::string(step_status_name(r.status));
  // The payload is written once, before dispatch (or when parked); later writes keep it.
  if (st.steps[i].payload && !is_terminal(r.status))
    row.payload = *st.steps[i].payload;
  row.data = r.data;
  if (r.status == step_status::awaiting_approval)
    row.data = json::object{{"approval_id", st.steps[i].approval_id}};
  if (r.error)
    row.error = json::object{{"error", r.error.message}, {"error_code", error_code_name(r.error.code)}, {"details", r.error.details}};
  row.attempts = static_cast<int>(r.attempts.size());
  row.updated_at = st.rt->now();
  self->send(st.rt->store, state_atom::value, std::move(row));
}

/// Writes the request's state; `result` is null until it ends (or parks).
void persist_request(self_pointer self, std::string status, json::value result = nullptr) {
  auto& st = self->state;
  request_state row;
  row.id = st.ctx.request_id;
  row.tenant = st.ctx.tenant.empty() ? "default" : st.ctx.tenant;
  row.user_id = st.ctx.user_id;
  row.status = std::move(status);
  row.output = to_json(st.plan->output);
  row.result = std::move(result);
  row.created_at = st.rt->now();
  row.updated_at = row.created_at;
  self->send(st.rt->store, state_atom::value, std::move(row));
}

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
  if (r.status == step_status::awaiting_approval && st.awaiting > 0)
    --st.awaiting;
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
  persist_step(self, i);
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
    persist_step(self, skip.index);
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
    const auto* tool = st.plan->tools[i];
    if (tool->id == "N8N_WORKFLOW_UPSERT" && s.payload) {
      // review_required (the default): a person reviews the new workflow before any promotion.
      const auto* review = get_member(*s.payload, "review_required");
      auto name = get_string(*s.payload, "workflow_name");
      if (name && !(review && review->is_bool() && !review->get_bool())) {
        connectors::approval_record rec;
        rec.tenant = st.guard.tenant;
        rec.request_id = st.ctx.request_id;
        rec.step = r.step;
        rec.tool = tool->id;
        rec.kind = "review";
        rec.subject = std::string(*name);
        rec.payload_digest = policies::sha256_hex(json::serialize(*s.payload));
        rec.reason = "review_required: review workflow " + std::string(*name) + " before it is promoted";
        rec.created_at = st.rt->now();
        auto expires = st.rt->time->now().utc + std::chrono::minutes(st.rt->config.approvals.expiry_minutes);
        rec.expires_at = format_timestamp(expires);
        caf::anon_send(st.rt->store, approval_atom::value, std::move(rec));  // fire and forget
      }
    }
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
  call.context.tenant = st.guard.tenant;
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

bool validate_payload(self_pointer self, std::size_t i);
void request_approval(self_pointer self, std::size_t i);
void maybe_deliver_early(self_pointer self);

/// First attempt of a ready step: deadline, templates, checks on the resolved payload,
/// approval when needed, payload schema, then attempt.
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
    auto verdict = st.rt->proxy->check_resolved(*st.plan->tools[i], resolved->get_object(), st.guard);
    if (verdict.error) {
      verdict.error.details["step"] = step.step;
      finish_step(self, i, step_status::failed, nullptr, std::move(verdict.error));
      return;
    }
    if (verdict.rewritten)
      *resolved = std::move(*verdict.rewritten);
    s.payload = std::make_shared<const json::object>(std::move(resolved->get_object()));
  } else {
    s.payload = std::shared_ptr<const json::object>(st.plan, &step.payload);
  }
  if (st.plan->needs_approval[i] && !s.approved) {
    request_approval(self, i);
    return;
  }
  if (!validate_payload(self, i))
    return;
  persist_step(self, i);
  attempt(self, i);
}

/// Checks a payload whose schema check was deferred (templates, confirmation code); fails the
/// step (PAYLOAD_INVALID) and returns false when it does not match.
bool validate_payload(self_pointer self, std::size_t i) {
  auto& st = self->state;
  if (!st.plan->validate_at_dispatch[i])
    return true;
  const auto& step = st.plan->dag->steps[i];
  auto schema = st.rt->proxy->payload_schema_id(*st.plan->tools[i]);
  if (auto err = st.rt->schemas->check(schema, json::value(*st.steps[i].payload), "payload of " + step.tool)) {
    err.code = error_code::payload_invalid;
    err.details["step"] = step.step;
    err.details["tool"] = step.tool;
    finish_step(self, i, step_status::failed, nullptr, std::move(err));
    return false;
  }
  return true;
}

/// Answers the caller once nothing can progress without a person: the request is
/// "awaiting_approval"; the supervisor stays to finish the plan after the decisions.
void maybe_deliver_early(self_pointer self) {
  auto& st = self->state;
  if (st.early_delivered || st.delivered || st.awaiting == 0 || st.scheduler->running() != st.awaiting
      || st.scheduler->has_ready())
    return;
  st.early_delivered = true;
  auto result = make_result(*st.rt, st.ctx);
  result->status = request_status::awaiting_approval;
  result->steps = st.results;
  persist_request(self, "awaiting_approval", to_json(*result));
  st.promise.deliver(request_outcome{std::move(result)});
}

/// Parks step i until a person decides: records a pending approval (with the payload's digest
/// and the reasons), then other steps go on.
void request_approval(self_pointer self, std::size_t i) {
  auto& st = self->state;
  auto& s = st.steps[i];
  auto& r = st.results[i];
  connectors::approval_record rec;
  rec.tenant = st.guard.tenant;
  rec.request_id = st.ctx.request_id;
  rec.step = r.step;
  rec.tool = r.tool;
  rec.kind = "step";
  rec.payload_digest = policies::sha256_hex(json::serialize(*s.payload));
  rec.reason = st.plan->approval_reasons[i];
  rec.requires_code = st.plan->requires_code[i];
  rec.created_at = st.rt->now();
  rec.expires_at = format_timestamp(st.rt->time->now().utc + std::chrono::minutes(st.rt->config.approvals.expiry_minutes));
  r.status = step_status::awaiting_approval;
  ++st.awaiting;
  self->request(st.rt->store, std::chrono::seconds(30), approval_atom::value, std::move(rec))
    .then(
      [self, i](approval_reply& reply) {
        auto& state = self->state;
        if (state.results[i].status != step_status::awaiting_approval)
          return;
        if (reply.error || !reply.approval) {
          finish_step(self, i, step_status::failed, nullptr, reply.error ? reply.error
                                                               : make_error(error_code::internal_error, "no approval"));
          return;
        }
        state.steps[i].approval_id = reply.approval->id;
        auto entry = step_entry(self, i);
        entry.status = "pending";
        entry.data = json::object{{"step_status", "awaiting_approval"},
                                  {"approval_id", reply.approval->id},
                                  {"reason", reply.approval->reason},
                                  {"requires_code", reply.approval->requires_code},
                                  {"expires_at", reply.approval->expires_at}};
        entry.tags = {"approval", "awaiting_approval"};
        self->send(state.rt->store, journal_atom::value, std::move(entry));
        persist_step(self, i);
        report(self, i, step_status::awaiting_approval, "APPROVAL_REQUIRED",
               "approval " + reply.approval->id + ": " + reply.approval->reason);
        maybe_deliver_early(self);
      },
      [self, i](caf::error& err) {
        finish_step(self, i, step_status::failed, nullptr,
                    make_error(error_code::internal_error, "cannot record the approval: " + caf::to_string(err)));
      });
}

/// A person (or the expiry) decided on step i's approval.
void on_decision(self_pointer self, const connectors::approval_record& a, const std::string& code) {
  auto& st = self->state;
  auto it = st.plan->dag->index_of.find(a.step);
  if (it == st.plan->dag->index_of.end() || a.kind != "step")
    return;
  auto i = it->second;
  auto& r = st.results[i];
  auto& s = st.steps[i];
  if (r.status != step_status::awaiting_approval || (!s.approval_id.empty() && s.approval_id != a.id))
    return;
  if (a.status == "approved") {
    --st.awaiting;
    s.approved = true;
    r.status = step_status::running;
    if (st.plan->requires_code[i] && !code.empty()) {
      auto with_code = std::make_shared<json::object>(*s.payload);
      (*with_code)["confirmation_code"] = code;  // issued by opex, single use (decision 7)
      s.payload = std::move(with_code);
    }
    // The time spent waiting for a person does not count against max_execution_time_minutes.
    st.request_deadline = self->clock().now() + std::chrono::minutes(std::max(1, st.rt->config.system.max_execution_time_minutes));
    if (!validate_payload(self, i))
      return;
    persist_step(self, i);
    attempt(self, i);
    return;
  }
  bool expired = a.status == "expired";
  finish_step(self, i, step_status::skipped, nullptr,
              make_error(expired ? error_code::approval_expired : error_code::approval_rejected,
                         expired ? "the approval expired before anyone decided" : "a person rejected the step",
                         json::object{{"approval_id", a.id},
                                      {"reason", expired ? "expired" : "rejected"},
                                      {"decided_by", a.decided_by},
                                      {"comment", a.comment}}));
}

void deliver(self_pointer self) {
  auto& st = self->state;
  if (st.delivered)
    return;
  st.delivered = true;
  st.rt->requests.remove(st.ctx.request_id);
  // Approvals of steps that will never run are closed.
  for (std::size_t i = 0; i < st.results.size(); ++i)
    if (st.results[i].status == step_status::cancelled && !st.steps[i].approval_id.empty() && !st.steps[i].approved) {
      approval_decision d;
      d.approval_id = st.steps[i].approval_id;
      d.approve = false;
      d.decided_by = "opex";
      d.comment = "the request ended before a decision";
      caf::anon_send(st.rt->store, decide_atom::value, std::move(d));
    }
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
  self->send(st.rt->store, journal_atom::value, std::move(entry));
  persist_request(self, std::string(request_status_name(result->status)), to_json(*result));
  st.rt->completions.complete(*result);
  if (!st.early_delivered)
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
  else
    maybe_deliver_early(self);
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
      if (st.results[i].status == step_status::awaiting_approval) {
        finish_step(self, i, step_status::cancelled, nullptr, why);
        continue;
      }
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

/// The per-plan state both a new run and a recovery start from.
void setup(self_pointer self, request_context ctx, checked_plan plan) {
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
  st.guard = guard_for(*st.rt, st.ctx);
  st.request_deadline = self->clock().now() + std::chrono::minutes(std::max(1, cfg.system.max_execution_time_minutes));
  for (std::size_t i = 0; i < n; ++i) {
    const auto& step = st.plan->dag->steps[i];
    st.results[i].step = step.step;
    st.results[i].tool = step.tool;
    auto settings = retry_settings_from_json(st.plan->tools[i]->retry, cfg.execution.retry);
    st.steps[i].retry = retry_settings_from_json(step.retry, settings);
  }
}

supervisor_actor::behavior_type plan_supervisor(self_pointer self, std::shared_ptr<const runtime> rt) {
  self->state.rt = std::move(rt);
  return {
    [self](run_atom, request_context ctx, checked_plan plan) -> caf::result<request_outcome> {
      auto& st = self->state;
      setup(self, std::move(ctx), std::move(plan));
      const auto& cfg = st.rt->config;
      st.promise = self->make_response_promise<request_outcome>();
      // The request's own deadline (system.yml max_execution_time_minutes).
      st.request_deadline =
        self->clock().now() + std::chrono::minutes(std::max(1, cfg.system.max_execution_time_minutes));
      st.guard = guard_for(*st.rt, st.ctx);
      persist_request(self, "running");
      pump(self);
      return st.promise;
    },
    [self](recover_atom, request_context ctx, checked_plan plan, stored_plan stored) -> caf::result<request_outcome> {
      auto& st = self->state;
      setup(self, std::move(ctx), std::move(plan));
      // Restore what ran before the restart, in topological order: results feed templates.
      std::map<int, const connectors::stored_step*> by_step;
      for (const auto& s : stored.steps)
        by_step[s.step] = &s;
      const auto& dag = *st.plan->dag;
      for (auto i : dag.topological_order) {
        auto it = by_step.find(dag.steps[i].step);
        if (it == by_step.end())
          continue;
        const auto& s = *it->second;
        auto& r = st.results[i];
        if (!s.payload.is_null() && s.payload.is_object())
          st.steps[i].payload = std::make_shared<const json::object>(s.payload.get_object());
        r.attempts.resize(static_cast<std::size_t>(std::max(0, s.attempts)));
        for (std::size_t k = 0; k < r.attempts.size(); ++k)
          r.attempts[k].number = static_cast<int>(k + 1);
        if (s.status == "awaiting_approval") {
          if (s.data.is_object())
            if (auto id = get_string(s.data.get_object(), "approval_id"))
              st.steps[i].approval_id = std::string(*id);
          st.scheduler->restore(i, step_status::awaiting_approval);
          r.status = step_status::awaiting_approval;
          ++st.awaiting;
          continue;
        }
        step_status status = step_status::pending;
        for (auto candidate : {step_status::succeeded, step_status::failed, step_status::skipped,
                               step_status::cancelled, step_status::timed_out})
          if (s.status == step_status_name(candidate))
            status = candidate;
        if (status == step_status::pending)
          continue;  // running or pending when the engine stopped: it runs again (same idempotency key)
        r.status = status;
        r.data = s.data;
        if (s.error.is_object())
          r.error = error_from_json(s.error);
        st.scope[i] = json::object{{"result", r.data},
                                   {"status", step_status_name(status)},
                                   {"error", r.error ? json::value(error_json(r.error)) : json::value(nullptr)}};
        st.scheduler->restore(i, status);
      }
      st.early_delivered = true;  // nobody waits on this promise any more: results go to the store
      st.promise = self->make_response_promise<request_outcome>();
      pump(self);
      return st.promise;
    },
    [self](approval_atom, const connectors::approval_record& a, const std::string& code) { on_decision(self, a, code); },
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
