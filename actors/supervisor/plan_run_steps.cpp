// plan_run, the life of a step: dispatch (templates, checks on the resolved payload, approval),
// attempts (secrets resolved into the call only, timeouts capped by the deadlines), retries
// (floor, cap, journal cap), completion (committed before dependents run), the end of the run.
#include "plan_run.hpp"

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

/// {NAME: "{{ secrets.NAME }}"} for every secrets placeholder: resolving step templates keeps
/// them as they are (they are resolved into the call only, never stored).
json::value secrets_kept(const json::value& payload) {
  json::object out;
  for (const auto& ph : find_placeholders(payload))
    if (ph.root == "secrets" && !ph.path.empty())
      out[ph.path] = "{{ secrets." + ph.path + " }}";
  return out;
}

bool has_secret_placeholders(const json::value& payload) {
  for (const auto& ph : find_placeholders(payload))
    if (ph.root == "secrets")
      return true;
  return false;
}

} // namespace

void plan_run::dispatch(std::size_t i, run_time now) {
  auto& r = results_[i];
  auto& s = steps_[i];
  s.dispatched = true;
  s.step_started = now;
  r.started_at = rt_->now();
  const auto& step = plan_->dag->steps[i];
  int step_timeout = step.schedule_to_close_ms.value_or(rt_->config.execution.step_timeout_ms);
  if (step_timeout > 0)
    s.deadline = s.step_started + milliseconds(step_timeout);
  if (plan_->templated[i]) {
    const auto& dag = *plan_->dag;
    json::value kept = secrets_kept(json::value(step.payload));
    auto lookup = [&](std::string_view root) -> const json::value* {
      if (root == "secrets")
        return &kept;
      auto n = step_number_of(root);
      if (!n)
        return nullptr;
      auto it = dag.index_of.find(*n);
      if (it == dag.index_of.end() || scope_[it->second].is_null())
        return nullptr;
      return &scope_[it->second];
    };
    auto resolved = resolve_templates(json::value(step.payload), lookup, template_mode::strict);
    if (!resolved) {
      auto err = resolved.error();
      err.details["step"] = step.step;
      finish_step(i, step_status::failed, nullptr, std::move(err), now);
      return;
    }
    auto verdict = checks_of(*parts_->checks, ctx_).check_resolved(*plan_->tools[i], resolved->get_object(), guard_);
    if (verdict.error) {
      verdict.error.details["step"] = step.step;
      finish_step(i, step_status::failed, nullptr, std::move(verdict.error), now);
      return;
    }
    if (verdict.rewritten)
      *resolved = std::move(*verdict.rewritten);
    s.payload = std::make_shared<const json::object>(std::move(resolved->get_object()));
  } else {
    s.payload = std::shared_ptr<const json::object>(plan_, &step.payload);
  }
  if (plan_->needs_approval[i] && !s.approved) {
    request_approval(i);
    return;
  }
  if (!validate_payload(i, now))
    return;
  attempt(i, now);
}

bool plan_run::validate_payload(std::size_t i, run_time now) {
  if (!plan_->validate_at_dispatch[i] || has_secret_placeholders(json::value(*steps_[i].payload)))
    return true;  // with secrets, the connector's own checks apply (the value is never validated here)
  const auto& step = plan_->dag->steps[i];
  auto schema = checks_of(*parts_->checks, ctx_).payload_schema_id(*plan_->tools[i]);
  if (auto err = schemas_of(*rt_, ctx_).check(schema, json::value(*steps_[i].payload), "payload of " + step.tool)) {
    err.code = error_code::payload_invalid;
    err.details["step"] = step.step;
    err.details["tool"] = step.tool;
    finish_step(i, step_status::failed, nullptr, std::move(err), now);
    return false;
  }
  return true;
}

void plan_run::request_approval(std::size_t i) {
  auto& s = steps_[i];
  auto& r = results_[i];
  connectors::approval_record rec;
  rec.tenant = guard_.tenant;
  rec.request_id = ctx_.request_id;
  rec.step = r.step;
  rec.tool = r.tool;
  rec.kind = approval_kind::step;
  rec.payload_digest = policies::sha256_hex(json::serialize(*s.payload));
  rec.reason = plan_->approval_reasons[i];
  rec.requires_code = plan_->requires_code[i];
  rec.created_at = rt_->now();
  rec.expires_at = format_timestamp(rt_->time->now().utc + std::chrono::minutes(config_of(*rt_, ctx_).approvals.expiry_minutes));
  r.status = step_status::awaiting_approval;
  ++awaiting_;
  out_.emplace_back(run_cmd::open_approval{i, std::move(rec), true});
}

void plan_run::open_review(std::size_t i) {
  const auto& review = plan_->reviews[i];
  const auto& s = steps_[i];
  if (!review || !s.payload)
    return;
  auto subject = get_string(*s.payload, review->subject_field);
  if (!subject)
    return;
  connectors::approval_record rec;
  rec.tenant = guard_.tenant;
  rec.request_id = ctx_.request_id;
  rec.step = results_[i].step;
  rec.tool = results_[i].tool;
  rec.kind = approval_kind::review;
  rec.subject = std::string(*subject);
  rec.payload_digest = policies::sha256_hex(json::serialize(*s.payload));
  rec.reason = review->reason;
  if (auto at = rec.reason.find("{subject}"); at != std::string::npos)
    rec.reason.replace(at, 9, rec.subject);
  rec.created_at = rt_->now();
  rec.expires_at = format_timestamp(rt_->time->now().utc + std::chrono::minutes(config_of(*rt_, ctx_).approvals.expiry_minutes));
  out_.emplace_back(run_cmd::open_approval{i, std::move(rec), false});
}

void plan_run::attempt(std::size_t i, run_time now) {
  auto& r = results_[i];
  auto& s = steps_[i];
  const auto* tool = plan_->tools[i];
  const auto& cfg = rt_->config;
  if (!parts_->routes->executors.empty() && !parts_->routes->executors.contains(tool->category)) {
    finish_step(i, step_status::failed, nullptr,
                make_error(error_code::connector_unavailable, "no executor for category " + tool->category,
                           json::object{{"tool", tool->id}, {"category", tool->category}}),
                now);
    return;
  }
  auto call_payload = s.payload;
  if (has_secret_placeholders(json::value(*s.payload))) {
    json::object values;
    for (const auto& ph : find_placeholders(json::value(*s.payload))) {
      if (ph.root != "secrets" || values.contains(ph.path))
        continue;
      auto value = exec_->secrets ? exec_->secrets->get(guard_.tenant, ph.path) : std::nullopt;
      if (!value) {
        finish_step(i, step_status::failed, nullptr,
                    make_error(error_code::secret_not_found,
                               "the tenant has no secret " + ph.path + " for {{ secrets." + ph.path + " }}",
                               json::object{{"secret", ph.path}, {"tenant", guard_.tenant}, {"step", r.step}}),
                    now);
        return;
      }
      if (std::find(secret_values_.begin(), secret_values_.end(), *value) == secret_values_.end())
        secret_values_.push_back(*value);
      values[ph.path] = std::move(*value);
    }
    json::value secrets = std::move(values);
    auto resolved = resolve_templates(json::value(*s.payload),
                                      [&](std::string_view root) { return root == "secrets" ? &secrets : nullptr; });
    call_payload = std::make_shared<const json::object>(std::move(resolved->get_object()));
  }
  int timeout_ms = plan_->dag->steps[i].start_to_close_ms.value_or(tool->timeout_ms.value_or(cfg.execution.attempt_timeout_ms));
  // An attempt never outlives its step nor its request: when the nearer deadline comes, the
  // attempt's timeout fires, so no separate timer is needed.
  timeout_ms = static_cast<int>(std::min<long long>(timeout_ms, std::max<long long>(1, remaining(i, now).left.count())));
  attempt_record rec;
  rec.number = static_cast<int>(r.attempts.size()) + 1;
  rec.started_at = rt_->now();
  rec.note = std::move(s.resume_note);
  s.resume_note.clear();
  r.attempts.push_back(std::move(rec));
  r.status = step_status::running;
  s.attempt_started = now;
  s.attempt_timeout_ms = timeout_ms;
  // The step row (payload as resolved, secrets as placeholders) and the attempt's start entry:
  // batched, the call does not wait for them.
  write_batch w;
  w.steps.push_back(step_row(i));
  if (r.attempts.size() <= static_cast<std::size_t>(cfg.journal.max_attempt_entries))
    w.entries.push_back(attempt_started_entry(i));
  out_.emplace_back(run_cmd::persist{std::move(w), 0});
  observe_attempt_start(i);
  step_call call;
  call.call_id = ++exec_->next_call_id;
  call.tool = tool;
  call.payload = std::move(call_payload);
  call.context.request_id = ctx_.request_id;
  call.context.user_id = ctx_.user_id;
  call.context.tenant = guard_.tenant;
  call.context.step = r.step;
  call.context.attempt = static_cast<int>(r.attempts.size());
  call.context.timeout = milliseconds(timeout_ms);
  call.context.idempotency_key = ctx_.request_id + ":" + std::to_string(r.step);
  if (ctx_.trace.valid()) {
    s.attempt_span = ctx_.trace.child();
    call.context.trace = s.attempt_span.child();  // the connector call's span: the target's parent
    s.call_span_id = call.context.trace.span_id;
  }
  s.call_id = call.call_id;
  out_.emplace_back(run_cmd::dispatch{i, std::move(call), tool->category, milliseconds(timeout_ms)});
}

void plan_run::on_failure(std::size_t i, connectors::call_outcome o, run_time now) {
  auto& r = results_[i];
  auto& s = steps_[i];
  auto& a = r.attempts.back();
  bool timed_out = o.error.code == error_code::timeout;
  a.outcome = timed_out ? step_status::timed_out : step_status::failed;
  a.error_code = std::string(error_code_name(o.error.code));
  if (now >= request_deadline_) {
    observe_attempt_end(i, &o.error);
    request_timed_out(now);
    return;
  }
  const auto& exec = rt_->config.execution;
  auto next = static_cast<int>(r.attempts.size()) + 1;
  auto dl = remaining(i, now);
  auto decision = policies::decide_retry(s.retry, next, o.error, dl.left, rng_, rt_->time->now().utc);
  if (decision.retry && next > exec.maximum_attempts_per_step) {
    decision.retry = false;
    decision.reason = "attempt_cap";
  }
  if (decision.retry) {
    // A floor under every retry interval: "retry at once" never becomes a busy loop.
    decision.delay = std::max(decision.delay, milliseconds(exec.minimum_retry_interval_ms));
    if (r.attempts.size() <= static_cast<std::size_t>(rt_->config.journal.max_attempt_entries)) {
      out_.emplace_back(run_cmd::persist{write_batch{{attempt_failed_entry(i, o.error, decision.delay)}, {}, {}}, 0});
    } else {
      ++s.failure_codes[a.error_code];
    }
    observe_attempt_end(i, &o.error, decision.delay, decision.reason);
    out_.emplace_back(run_cmd::schedule{i, decision.delay});
    return;
  }
  observe_attempt_end(i, &o.error);
  if (decision.reason == "step_deadline") {
    // No time for another attempt before the nearer deadline: this step times out now, the
    // other steps go on until theirs.
    finish_step(i, step_status::timed_out, nullptr,
                make_error(error_code::timeout,
                           dl.request ? "the request's deadline leaves no time for another attempt"
                                      : "the step's schedule_to_close deadline leaves no time for another attempt",
                           json::object{{"scope", dl.request ? "request" : "step"}, {"last_error", error_json(o.error)}}),
                now);
    return;
  }
  if (decision.reason == "attempt_cap")
    o.error.details["attempt_cap"] = exec.maximum_attempts_per_step;
  finish_step(i, timed_out ? step_status::timed_out : step_status::failed, nullptr, std::move(o.error), now);
}

void plan_run::abandon_attempt(std::size_t i, bool timed_out) {
  auto& s = steps_[i];
  if (s.call_id != 0)
    out_.emplace_back(run_cmd::abandon{i, s.call_id, timed_out});
  s.call_id = 0;
}

void plan_run::finish_step(std::size_t i, step_status status, json::value data, error_info error, run_time now) {
  auto& r = results_[i];
  if (is_terminal(r.status))
    return;
  if (r.status == step_status::awaiting_approval && awaiting_ > 0)
    --awaiting_;
  abandon_attempt(i, false);
  r.status = status;
  r.data = std::move(data);
  r.error = std::move(error);
  r.finished_at = rt_->now();
  if (steps_[i].dispatched)
    r.duration_ms = std::chrono::duration<double, std::milli>(now - steps_[i].step_started).count();
  scope_[i] = scope_of(r);
  write_batch w;
  w.entries.push_back(step_outcome_entry(i));
  w.steps.push_back(step_row(i));
  observe_step_end(i);
  std::vector<std::size_t> done{i};
  for (const auto& skip : scheduler_->complete(i, status)) {
    auto& s = results_[skip.index];
    s.status = step_status::skipped;
    s.data = nullptr;
    s.error = make_error(error_code::dependency_failed, skip.reason,
                         json::object{{"dependency", skip.failed_dependency}, {"reason", skip.reason}});
    s.finished_at = r.finished_at;
    scope_[skip.index] = scope_of(s);
    w.entries.push_back(step_outcome_entry(skip.index));
    w.steps.push_back(step_row(skip.index));
    observe_step_end(skip.index);
    done.push_back(skip.index);
  }
  if (scheduler_->finished() || forced_status_) {
    // The last outcome and the final state go in one commit; a forced stop collects them all.
    if (forced_status_) {
      out_.emplace_back(run_cmd::persist{std::move(w), 0});
      return;
    }
    finish_run(std::move(w));
    return;
  }
  commit(std::move(w), {pending_commit::kind::steps, std::move(done), nullptr});
  pump(now);
}

void plan_run::stop_plan(request_status status, step_status running_status, const error_info& why, run_time now) {
  if (final_emitted_ || forced_status_)
    return;
  forced_status_ = status;
  write_batch w;
  auto not_started = [&](std::size_t i) {
    auto& r = results_[i];
    r.status = step_status::cancelled;
    r.error = make_error(error_code::cancelled, "not started: " + why.message, why.details);
    r.finished_at = rt_->now();
    w.entries.push_back(step_outcome_entry(i));
    w.steps.push_back(step_row(i));
    observe_step_end(i);
  };
  for (auto i : scheduler_->cancel_pending())
    not_started(i);
  for (auto i : held_)
    if (!is_terminal(results_[i].status))
      not_started(i);
  held_.clear();
  out_.emplace_back(run_cmd::persist{std::move(w), 0});
  for (std::size_t i = 0; i < results_.size(); ++i) {
    if (is_terminal(results_[i].status))
      continue;
    if (results_[i].status == step_status::awaiting_approval) {
      finish_step(i, step_status::cancelled, nullptr, why, now);
      continue;
    }
    if (!results_[i].attempts.empty() && steps_[i].call_id != 0) {
      auto& a = results_[i].attempts.back();
      a.outcome = running_status;
      a.error_code = std::string(error_code_name(why.code));
      a.duration_ms = std::chrono::duration<double, std::milli>(now - steps_[i].attempt_started).count();
      steps_[i].last_cost_usd = 0.0;  // an abandoned attempt reports nothing
      steps_[i].last_input_tokens = steps_[i].last_output_tokens = 0;
      observe_attempt_end(i, &why);
    }
    abandon_attempt(i, running_status == step_status::timed_out);
    finish_step(i, running_status, nullptr, why, now);
  }
  finish_run({});
}

void plan_run::maybe_deliver_early() {
  if (early_delivered_ || final_emitted_ || awaiting_ == 0 || scheduler_->running() != awaiting_
      || scheduler_->has_ready())
    return;
  early_delivered_ = true;
  auto result = build_result();
  result->status = request_status::awaiting_approval;
  write_batch w;
  w.requests.push_back(request_row(std::string(request_status_name(request_status::awaiting_approval)), to_json(*result)));
  commit(std::move(w), {pending_commit::kind::early, {}, std::move(result)});
}

void plan_run::finish_run(write_batch w) {
  if (final_emitted_)
    return;
  final_emitted_ = true;
  // Approvals of steps that will never run are closed.
  for (std::size_t i = 0; i < results_.size(); ++i)
    if (results_[i].status == step_status::cancelled && !steps_[i].approval_id.empty() && !steps_[i].approved) {
      approval_decision d;
      d.approval_id = steps_[i].approval_id;
      d.approve = false;
      d.decided_by = "opex";
      d.comment = "the request ended before a decision";
      out_.emplace_back(run_cmd::close_approval{std::move(d)});
    }
  auto result = build_result();
  std::size_t ok = 0;
  for (const auto& r : results_)
    ok += r.status == step_status::succeeded ? 1 : 0;
  if (forced_status_)
    result->status = *forced_status_;
  else
    result->status = ok == results_.size() ? request_status::succeeded
                     : ok > 0              ? request_status::partial
                                           : request_status::failed;
  w.entries.push_back(plan_entry(*result));
  w.requests.push_back(request_row(std::string(request_status_name(result->status)), to_json(*result)));
  commit(std::move(w), {pending_commit::kind::final_run, {}, std::move(result)});
}

} // namespace opex::actors
