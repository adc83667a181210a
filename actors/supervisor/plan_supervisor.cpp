// The plan_supervisor actor: one per plan. Keeps the DAG's ready set (dag_scheduler), resolves
// each step's templates against its ancestors' results, sends attempts to the executors with
// a per-attempt timeout, retries transient failures after the retry policy's delay, skips the
// dependents of failed steps, journals every step, and answers with the request's outcome.
#include "../agents.hpp"
#include "dag_scheduler.hpp"

#include "opex/engine.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/retry_policy.hpp"
#include "opex/template_resolver.hpp"

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct supervisor_state {
  std::shared_ptr<const runtime> rt;
  request_context ctx;
  checked_plan plan;
  std::unique_ptr<dag_scheduler> scheduler;
  std::vector<step_result> results;
  std::vector<json::value> scope;  ///< per step: {"result", "status", "error"} for templates
  std::vector<std::shared_ptr<const json::object>> payloads;  ///< resolved once per step
  std::vector<clock_type::time_point> step_started;
  std::vector<clock_type::time_point> attempt_started;
  std::vector<retry_settings> retry;
  caf::typed_response_promise<request_outcome> promise;
  std::size_t max_parallel = 16;
  bool delivered = false;
  static inline const char* name = "plan_supervisor";
};

using self_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
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

void journal_step(self_pointer self, std::size_t i) {
  auto& st = self->state;
  const auto& r = st.results[i];
  auto entry = make_journal_entry(*st.rt, st.ctx, "opex", "execution");
  entry.tool_used = r.tool;
  if (st.payloads[i])
    entry.payload_snapshot = *st.payloads[i];
  else
    entry.payload_snapshot = st.plan->dag->steps[i].payload;
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
  entry.metadata["step"] = r.step;
  entry.metadata["attempts"] = static_cast<std::int64_t>(r.attempts.size());
  entry.metadata["execution_time_ms"] = r.duration_ms;
  entry.metadata["cost_usd"] = r.cost_usd;
  entry.tags = {"step", std::string(step_status_name(r.status))};
  self->send(st.rt->journal, journal_atom::value, std::move(entry));
}

void pump(self_pointer self);

/// Records a terminal status for step i, skips what depends on it, and schedules more.
void finish_step(self_pointer self, std::size_t i, step_status status, json::value data, error_info error) {
  auto& st = self->state;
  auto& r = st.results[i];
  if (is_terminal(r.status))
    return;
  r.status = status;
  r.data = std::move(data);
  r.error = std::move(error);
  r.finished_at = st.rt->now();
  r.duration_ms = ms_since(st.step_started[i]);
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

void attempt(self_pointer self, std::size_t i);

/// An attempt ended with `outcome`: success, retry after the policy's delay, or failure.
void on_outcome(self_pointer self, std::size_t i, connectors::call_outcome outcome) {
  auto& st = self->state;
  auto& r = st.results[i];
  if (is_terminal(r.status))
    return;
  auto& a = r.attempts.back();
  a.duration_ms = ms_since(st.attempt_started[i]);
  r.cost_usd += outcome.cost_usd;
  if (outcome.ok) {
    a.outcome = step_status::succeeded;
    finish_step(self, i, step_status::succeeded, std::move(outcome.data), {});
    return;
  }
  bool timed_out = outcome.error.code == error_code::timeout;
  a.outcome = timed_out ? step_status::timed_out : step_status::failed;
  a.error_code = std::string(error_code_name(outcome.error.code));
  auto next = static_cast<int>(r.attempts.size()) + 1;
  if (auto delay = policies::next_retry_delay(st.retry[i], next, outcome.error)) {
    report(self, i, step_status::running, a.error_code,
           "attempt " + std::to_string(next - 1) + " failed, retry in " + std::to_string(delay->count()) + " ms");
    self->delayed_send(self, *delay, retry_atom::value, static_cast<std::uint64_t>(i));
    return;
  }
  finish_step(self, i, timed_out ? step_status::timed_out : step_status::failed, nullptr, std::move(outcome.error));
}

void attempt(self_pointer self, std::size_t i) {
  auto& st = self->state;
  auto& r = st.results[i];
  const auto* tool = st.plan->tools[i];
  auto exec = st.rt->executors.find(tool->category);
  if (exec == st.rt->executors.end()) {
    finish_step(self, i, step_status::failed, nullptr,
                make_error(error_code::connector_unavailable, "no executor for category " + tool->category,
                           json::object{{"tool", tool->id}, {"category", tool->category}}));
    return;
  }
  attempt_record rec;
  rec.number = static_cast<int>(r.attempts.size()) + 1;
  rec.started_at = st.rt->now();
  r.attempts.push_back(std::move(rec));
  st.attempt_started[i] = clock_type::now();
  report(self, i, step_status::running);
  int timeout_ms = tool->timeout_ms.value_or(st.rt->config.execution.attempt_timeout_ms);
  step_call call;
  call.tool = tool;
  call.payload = st.payloads[i];
  call.context.request_id = st.ctx.request_id;
  call.context.user_id = st.ctx.user_id;
  call.context.step = r.step;
  call.context.attempt = static_cast<int>(r.attempts.size());
  call.context.timeout = std::chrono::milliseconds(timeout_ms);
  auto attempt_number = r.attempts.size();
  self->request(exec->second, std::chrono::milliseconds(timeout_ms), exec_atom::value, std::move(call))
    .then(
      [self, i, attempt_number](connectors::call_outcome& outcome) {
        if (self->state.results[i].attempts.size() == attempt_number)
          on_outcome(self, i, std::move(outcome));
      },
      [self, i, attempt_number, timeout_ms](caf::error& err) {
        if (self->state.results[i].attempts.size() != attempt_number)
          return;
        connectors::call_outcome outcome;
        if (err == caf::sec::request_timeout)
          outcome.error = make_error(error_code::timeout,
                                     "attempt exceeded " + std::to_string(timeout_ms) + " ms",
                                     json::object{{"timeout_ms", timeout_ms}, {"scope", "attempt"}});
        else
          outcome.error = make_error(error_code::internal_error, "executor failed: " + to_string(err));
        on_outcome(self, i, std::move(outcome));
      });
}

/// First attempt of a ready step: resolve templates, check the payload schema, then attempt.
void dispatch(self_pointer self, std::size_t i) {
  auto& st = self->state;
  auto& r = st.results[i];
  st.step_started[i] = clock_type::now();
  r.started_at = st.rt->now();
  const auto& step = st.plan->dag->steps[i];
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
    st.payloads[i] = std::make_shared<const json::object>(std::move(resolved->get_object()));
  } else {
    st.payloads[i] = std::shared_ptr<const json::object>(st.plan, &step.payload);
  }
  attempt(self, i);
}

void deliver(self_pointer self) {
  auto& st = self->state;
  if (st.delivered)
    return;
  st.delivered = true;
  auto result = make_result(*st.rt, st.ctx);
  std::size_t ok = 0, failed = 0, skipped = 0;
  double cost = 0;
  for (const auto& r : st.results) {
    if (r.status == step_status::succeeded)
      ++ok;
    else if (r.status == step_status::skipped)
      ++skipped;
    else
      ++failed;
    cost += r.cost_usd;
  }
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
  auto running = st.scheduler->running();
  if (running >= st.max_parallel)
    return;
  for (auto i : st.scheduler->take_ready(st.max_parallel - running))
    dispatch(self, i);
  if (st.scheduler->finished())
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
      st.payloads.resize(n);
      st.step_started.resize(n);
      st.attempt_started.resize(n);
      st.retry.reserve(n);
      const auto& cfg = st.rt->config;
      st.max_parallel = static_cast<std::size_t>(std::max(1, cfg.execution.max_parallelism));
      for (std::size_t i = 0; i < n; ++i) {
        const auto& step = st.plan->dag->steps[i];
        st.results[i].step = step.step;
        st.results[i].tool = step.tool;
        auto settings = retry_settings_from_json(st.plan->tools[i]->retry, cfg.execution.retry);
        st.retry.push_back(retry_settings_from_json(step.retry, settings));
      }
      st.promise = self->make_response_promise<request_outcome>();
      pump(self);
      return st.promise;
    },
    [self](retry_atom, std::uint64_t i) {
      if (i < self->state.results.size() && !is_terminal(self->state.results[i].status))
        attempt(self, static_cast<std::size_t>(i));
    },
  };
}

} // namespace

supervisor_actor spawn_plan_supervisor(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  return system.spawn(plan_supervisor, std::move(rt));
}

} // namespace opex::actors
