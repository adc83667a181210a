// plan_run: the run logic of one plan (ready set, templates, approvals, attempts, retries,
// deadlines, cancellation, resume) with the commit-before-acknowledge ordering of
// docs/durability.md. Rows and journal entries are built in plan_run_records.cpp.
#include "plan_run.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"
#include "opex/policies/retry_policy.hpp"
#include "opex/template_resolver.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace opex::actors {

namespace json = boost::json;
using plan_run_detail::error_json;
using plan_run_detail::scope_of;
using std::chrono::milliseconds;

namespace {

double ms_between(run_time from, run_time to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

constexpr std::string_view resume_note =
  "re-run after a restart: the previous attempt's outcome was not committed";

} // namespace

plan_run::plan_run(std::shared_ptr<const plan_parts> parts, request_context ctx, checked_plan plan, run_time now)
  : parts_(std::move(parts)), rt_(parts_->base.get()), exec_(parts_->exec.get()), ctx_(std::move(ctx)), plan_(std::move(plan)) {
  const auto n = plan_->dag->steps.size();
  scheduler_ = std::make_unique<dag_scheduler>(plan_->dag);
  results_.resize(n);
  scope_.assign(n, json::value(nullptr));
  steps_.resize(n);
  committed_.assign(n, false);
  const auto& cfg = rt_->config;
  max_parallel_ = static_cast<std::size_t>(std::max(1, cfg.execution.max_parallelism));
  // The seed: configured (tests), else the engine's, drawn once at start-up; mixed with the id.
  rng_.seed((cfg.execution.jitter_seed != 0 ? cfg.execution.jitter_seed : exec_->jitter_seed)
            ^ std::hash<std::string>{}(ctx_.request_id));
  guard_ = guard_for(*rt_, ctx_);
  request_deadline_ = now + std::chrono::minutes(std::max(1, config_of(*rt_, ctx_).system.max_execution_time_minutes));
  for (std::size_t i = 0; i < n; ++i) {
    const auto& step = plan_->dag->steps[i];
    results_[i].step = step.step;
    results_[i].tool = step.tool;
    auto settings = retry_settings_from_json(plan_->tools[i]->retry, cfg.execution.retry);
    steps_[i].retry = retry_settings_from_json(step.retry, settings);
  }
}

std::vector<run_command> plan_run::take_commands() {
  std::vector<run_command> out;
  out.swap(out_);
  return out;
}

std::uint64_t plan_run::commit(write_batch writes, pending_commit what) {
  auto token = ++next_token_;
  commits_.emplace(token, std::move(what));
  out_.emplace_back(run_cmd::persist{std::move(writes), token});
  return token;
}

namespace {

/// The request, step and tool of an observation, and its error's code and message.
template <class Event>
Event observed(const std::string& request_id, const step_result& r, const error_info* error = nullptr) {
  Event e;
  e.request_id = request_id;
  e.step = r.step;
  e.tool = r.tool;
  if (error && *error) {
    e.error_code = std::string(error_code_name(error->code));
    e.message = error->message;
  }
  return e;
}

} // namespace

void plan_run::observe_attempt_start(std::size_t i) {
  if (rt_->observers.empty())
    return;
  const auto& r = results_[i];
  out_.emplace_back(run_cmd::observe{attempt_started{ctx_.request_id, r.step, r.tool,
                                                     static_cast<int>(r.attempts.size()), r.attempts.back().note}});
}

void plan_run::observe_attempt_end(std::size_t i, const error_info* error, std::optional<std::chrono::milliseconds> retry_in,
                                   const std::string& retry_reason) {
  if (rt_->observers.empty())
    return;
  const auto& r = results_[i];
  const auto& a = r.attempts.back();
  const auto& s = steps_[i];
  auto e = observed<attempt_ended>(ctx_.request_id, r, error);
  e.tenant = guard_.tenant;
  e.cost_usd = s.last_cost_usd;
  e.input_tokens = s.last_input_tokens;
  e.output_tokens = s.last_output_tokens;
  e.attempt = static_cast<int>(r.attempts.size());
  e.outcome = a.outcome;
  e.duration_ms = a.duration_ms;
  e.retry_in = retry_in;
  e.retry_reason = retry_reason;
  describe_attempt(i, e);
  out_.emplace_back(run_cmd::observe{std::move(e)});
}

void plan_run::describe_attempt(std::size_t i, attempt_ended& e) const {
  const auto& s = steps_[i];
  e.span = s.attempt_span;
  e.call_span_id = s.call_span_id;
  if (const auto* tool = plan_->tools[i]) {
    const auto& target = tool->target;
    e.target_type = target.type;
    e.target_name = target.text("tool_name", target.text("operation", target.text("name")));
  }
  if (!rt_->config.tracing.capture_content)
    return;
  if (s.payload)
    e.arguments = json::serialize(masked_payload(i));
  e.result = s.last_result;
}

void plan_run::observe_step_end(std::size_t i) {
  if (rt_->observers.empty())
    return;
  const auto& r = results_[i];
  auto e = observed<step_ended>(ctx_.request_id, r, &r.error);
  e.tenant = guard_.tenant;
  e.status = r.status;
  e.attempts = static_cast<int>(r.attempts.size());
  e.duration_ms = r.duration_ms;
  e.cost_usd = r.cost_usd;
  out_.emplace_back(run_cmd::observe{std::move(e)});
}

void plan_run::observe_approval(std::size_t i, const std::string& approval_id, approval_status status,
                                const std::string& reason) {
  if (rt_->observers.empty())
    return;
  const auto& r = results_[i];
  out_.emplace_back(run_cmd::observe{approval_changed{ctx_.request_id, r.step, r.tool, approval_id, status, reason}});
}

// -- inputs -----------------------------------------------------------------------------------

void plan_run::start(run_time) {
  write_batch w;
  w.requests.push_back(request_row(std::string(request_state::running_status), nullptr));
  commit(std::move(w), {pending_commit::kind::started, {}, nullptr});
}

void plan_run::resume(const stored_plan& stored, run_time now) {
  // Restore what ran before the restart, in topological order: results feed templates.
  std::map<int, const connectors::stored_step*> by_step;
  for (const auto& s : stored.steps)
    by_step[s.step] = &s;
  const auto& dag = *plan_->dag;
  for (auto i : dag.topological_order) {
    auto it = by_step.find(dag.steps[i].step);
    if (it == by_step.end())
      continue;
    const auto& s = *it->second;
    auto& r = results_[i];
    if (s.payload.is_object())
      steps_[i].payload = std::make_shared<const json::object>(s.payload.get_object());
    // Attempts made before the restart: only their number is stored.
    r.attempts.resize(static_cast<std::size_t>(std::max(0, s.attempts)));
    for (std::size_t k = 0; k < r.attempts.size(); ++k) {
      r.attempts[k].number = static_cast<int>(k + 1);
      r.attempts[k].outcome = step_status::cancelled;
      r.attempts[k].note = "made before a restart";
    }
    auto status = parse_step_status(s.status).value_or(step_status::pending);
    if (status == step_status::awaiting_approval) {
      if (s.data.is_object())
        if (auto id = get_string(s.data.get_object(), "approval_id"))
          steps_[i].approval_id = std::string(*id);
      scheduler_->restore(i, step_status::awaiting_approval);
      r.status = step_status::awaiting_approval;
      ++awaiting_;
      continue;
    }
    if (!is_terminal(status)) {
      // Running when the engine stopped: it runs again under the same idempotency key.
      if (status == step_status::running || s.attempts > 0)
        steps_[i].resume_note = std::string(resume_note);
      continue;
    }
    r.status = status;
    r.data = s.data;
    if (s.error.is_object())
      r.error = error_from_json(s.error);
    scope_[i] = scope_of(r);
    committed_[i] = true;
    scheduler_->restore(i, status);
  }
  early_delivered_ = true;  // nobody waits on this run: results go to the store and to watchers
  started_run_ = true;
  pump(now);
}

void plan_run::committed(std::uint64_t token, run_time now) {
  auto it = commits_.find(token);
  if (it == commits_.end())
    return;
  auto what = std::move(it->second);
  commits_.erase(it);
  switch (what.what) {
    case pending_commit::kind::started:
      started_run_ = true;
      pump(now);
      break;
    case pending_commit::kind::steps:
      for (auto i : what.steps)
        committed_[i] = true;
      release_held(now);
      pump(now);
      break;
    case pending_commit::kind::early:
      out_.emplace_back(run_cmd::deliver{std::move(what.result), true, false});
      break;
    case pending_commit::kind::final_run:
      out_.emplace_back(run_cmd::deliver{std::move(what.result), !early_delivered_, true});
      out_.emplace_back(run_cmd::finished{});
      over_ = true;
      break;
  }
}

void plan_run::commit_failed(std::uint64_t token, const error_info& why, run_time now) {
  auto it = commits_.find(token);
  if (it == commits_.end())
    return;
  auto what = std::move(it->second);
  commits_.erase(it);
  if (what.what == pending_commit::kind::final_run || what.what == pending_commit::kind::early) {
    // The answer cannot be made durable: the caller learns it failed; the plan resumes from
    // what the store holds at the next start.
    auto r = what.result ? what.result : build_result();
    r->status = request_status::failed;
    r->error = make_error(error_code::internal_error, "the request's state could not be committed", why.details);
    r->error_timestamp = rt_->now();
    out_.emplace_back(run_cmd::deliver{std::move(r), what.what == pending_commit::kind::early || !early_delivered_,
                                       what.what == pending_commit::kind::final_run});
    if (what.what == pending_commit::kind::final_run) {
      out_.emplace_back(run_cmd::finished{});
      over_ = true;
    } else {
      early_delivered_ = true;
    }
    return;
  }
  stop_plan(request_status::failed, step_status::cancelled,
            make_error(error_code::internal_error, "the request's state could not be committed", why.details), now);
}

void plan_run::outcome(std::size_t i, std::uint64_t call_id, connectors::call_outcome o, run_time now) {
  if (i >= results_.size() || steps_[i].call_id != call_id || call_id == 0)
    return;
  auto& r = results_[i];
  auto& s = steps_[i];
  if (is_terminal(r.status))
    return;
  s.call_id = 0;
  auto& a = r.attempts.back();
  a.duration_ms = ms_between(s.attempt_started, now);
  r.cost_usd += o.cost_usd;
  s.last_cost_usd = o.cost_usd;
  s.last_input_tokens = o.input_tokens;
  s.last_output_tokens = o.output_tokens;
  mask_outcome(o.data, o.error);
  if (rt_->config.tracing.capture_content && o.ok)
    s.last_result = json::serialize(masked_data(o.data));
  if (!o.ok) {
    on_failure(i, std::move(o), now);
    return;
  }
  a.outcome = step_status::succeeded;
  observe_attempt_end(i, nullptr);
  open_review(i);
  finish_step(i, step_status::succeeded, std::move(o.data), {}, now);
}

void plan_run::attempt_timed_out(std::size_t i, std::uint64_t call_id, run_time now) {
  if (i >= results_.size() || steps_[i].call_id != call_id || call_id == 0)
    return;
  auto timeout_ms = steps_[i].attempt_timeout_ms;
  abandon_attempt(i, true);  // closes the connection of the late call
  connectors::call_outcome o;
  o.error = make_error(error_code::timeout,
                       "attempt exceeded its start_to_close timeout of " + std::to_string(timeout_ms) + " ms",
                       json::object{{"timeout_ms", timeout_ms}, {"scope", "attempt"}});
  steps_[i].call_id = call_id;  // abandoned, but outcome() checks it
  outcome(i, call_id, std::move(o), now);
}

void plan_run::attempt_failed(std::size_t i, std::uint64_t call_id, std::string why, run_time now) {
  connectors::call_outcome o;
  o.error = make_error(error_code::internal_error, "executor failed: " + why);
  outcome(i, call_id, std::move(o), now);
}

void plan_run::timer(std::size_t i, run_time now) {
  if (i >= results_.size() || is_terminal(results_[i].status) || forced_status_)
    return;
  if (now >= request_deadline_)
    request_timed_out(now);
  else
    attempt(i, now);
}

void plan_run::approval_recorded(std::size_t i, approval_reply reply, run_time now) {
  if (i >= results_.size() || results_[i].status != step_status::awaiting_approval)
    return;
  if (reply.error || !reply.approval) {
    finish_step(i, step_status::failed, nullptr,
                reply.error ? reply.error : make_error(error_code::internal_error, "no approval"), now);
    return;
  }
  steps_[i].approval_id = reply.approval->id;
  auto entry = step_entry(i);
  entry.status = "pending";
  entry.data = json::object{{"step_status", "awaiting_approval"},
                            {"approval_id", reply.approval->id},
                            {"reason", reply.approval->reason},
                            {"requires_code", reply.approval->requires_code},
                            {"expires_at", reply.approval->expires_at}};
  entry.tags = {"approval", "awaiting_approval"};
  write_batch w;
  w.entries.push_back(std::move(entry));
  w.steps.push_back(step_row(i));
  out_.emplace_back(run_cmd::persist{std::move(w), 0});
  observe_approval(i, reply.approval->id, approval_status::pending, reply.approval->reason);
  maybe_deliver_early();
}

void plan_run::decision(const connectors::approval_record& a, const std::string& code, run_time now) {
  auto it = plan_->dag->index_of.find(a.step);
  if (it == plan_->dag->index_of.end() || a.kind != approval_kind::step || forced_status_)
    return;
  auto i = it->second;
  auto& r = results_[i];
  auto& s = steps_[i];
  if (r.status != step_status::awaiting_approval || (!s.approval_id.empty() && s.approval_id != a.id))
    return;
  observe_approval(i, a.id, a.status);
  if (a.status == approval_status::approved) {
    --awaiting_;
    s.approved = true;
    r.status = step_status::running;
    if (!s.payload) {  // parked before its payload was persisted (resume): resolve it again
      dispatch(i, now);
      return;
    }
    if (plan_->requires_code[i] && !code.empty()) {
      auto with_code = std::make_shared<json::object>(*s.payload);
      (*with_code)["confirmation_code"] = code;  // issued by opex, single use (decision 7)
      s.payload = std::move(with_code);
    }
    // The time spent waiting for a person does not count against max_execution_time_minutes.
    request_deadline_ = now + std::chrono::minutes(std::max(1, config_of(*rt_, ctx_).system.max_execution_time_minutes));
    if (!validate_payload(i, now))
      return;
    attempt(i, now);
    return;
  }
  bool expired = a.status == approval_status::expired;
  finish_step(i, step_status::skipped, nullptr,
              make_error(expired ? error_code::approval_expired : error_code::approval_rejected,
                         expired ? "the approval expired before anyone decided" : "a person rejected the step",
                         json::object{{"approval_id", a.id},
                                      {"reason", expired ? "expired" : "rejected"},
                                      {"decided_by", a.decided_by},
                                      {"comment", a.comment}}),
              now);
}

void plan_run::cancel(run_time now) {
  stop_plan(request_status::cancelled, step_status::cancelled,
            make_error(error_code::cancelled, "the request was cancelled", json::object{{"scope", "request"}}), now);
}

// -- scheduling ------------------------------------------------------------------------------

bool plan_run::dependencies_committed(std::size_t i) const {
  for (auto d : plan_->dag->dependencies[i])
    if (!committed_[d])
      return false;
  return true;
}

void plan_run::release_held(run_time now) {
  std::vector<std::size_t> still;
  auto held = std::move(held_);
  held_.clear();
  for (auto i : held) {
    if (is_terminal(results_[i].status))
      continue;
    if (dependencies_committed(i))
      dispatch(i, now);
    else
      still.push_back(i);
  }
  held_.insert(held_.end(), still.begin(), still.end());
}

void plan_run::pump(run_time now) {
  if (!started_run_ || final_emitted_)
    return;
  if (scheduler_->finished()) {
    finish_run({});
    return;
  }
  if (forced_status_)
    return;
  auto running = scheduler_->running();
  if (running < max_parallel_)
    for (auto i : scheduler_->take_ready(max_parallel_ - running)) {
      if (dependencies_committed(i))
        dispatch(i, now);
      else
        held_.push_back(i);
    }
  if (scheduler_->finished())
    finish_run({});
  else
    maybe_deliver_early();
}

plan_run::deadline_view plan_run::remaining(std::size_t i, run_time now) const {
  const auto& s = steps_[i];
  auto until = request_deadline_;
  bool request = true;
  if (s.deadline && *s.deadline < until) {
    until = *s.deadline;
    request = false;
  }
  auto left = std::chrono::ceil<milliseconds>(until - now);
  return {std::max(left, milliseconds{0}), request};
}

void plan_run::request_timed_out(run_time now) {
  auto minutes = config_of(*rt_, ctx_).system.max_execution_time_minutes;
  stop_plan(request_status::timed_out, step_status::timed_out,
            make_error(error_code::timeout, "the request exceeded max_execution_time_minutes",
                       json::object{{"scope", "request"}, {"max_execution_time_minutes", minutes}}),
            now);
}

} // namespace opex::actors
