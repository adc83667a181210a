// plan_run, what it writes: journal entries (attempt start, retried failure, step outcome with
// an attempt summary past the journal's cap, plan), step and request rows, the result. Every
// row and answer is masked here (key names, value shapes, the secrets the run resolved).
#include "plan_run.hpp"

#include "opex/json_util.hpp"

#include "opex/policies/confirmation_code.hpp"
#include "opex/policies/masking.hpp"

#include <boost/json/serialize.hpp>

namespace opex::actors {

namespace json = boost::json;

namespace {

json::value masked_copy(const json::value& v, const policies::masking_rules& rules,
                        const std::vector<std::string>& literals) {
  json::value out = v;
  policies::mask_secrets(out, rules);
  policies::mask_literals(out, literals);
  return out;
}

} // namespace

namespace plan_run_detail {

json::object error_json(const error_info& e) {
  return json::object{{"error", e.message}, {"error_code", error_code_name(e.code)}, {"details", e.details}};
}

json::value scope_of(const step_result& r) {
  return json::object{{"result", r.data},
                      {"status", step_status_name(r.status)},
                      {"error", r.error ? json::value(error_json(r.error)) : json::value(nullptr)}};
}

} // namespace plan_run_detail

void plan_run::mask_outcome(json::value& data, error_info& error) const {
  policies::mask_literals(data, secret_values_);
  if (error) {
    json::value d = std::move(error.details);
    policies::mask_literals(d, secret_values_);
    error.details = std::move(d.get_object());
    json::value m(json::string(error.message));
    policies::mask_literals(m, secret_values_);
    error.message = std::string(m.get_string());
  }
}

json::value plan_run::masked_payload(std::size_t i) const {
  return steps_[i].payload ? masked_copy(*steps_[i].payload, rt_->masking, secret_values_) : json::value(nullptr);
}

json::value plan_run::masked_data(const json::value& data) const {
  return masked_copy(data, rt_->masking, secret_values_);
}

journal_entry plan_run::step_entry(std::size_t i) const {
  const auto& r = results_[i];
  auto entry = make_journal_entry(*rt_, ctx_, "opex", "execution");
  entry.tool_used = r.tool;
  if (steps_[i].payload)
    entry.payload_snapshot = *steps_[i].payload;
  else
    entry.payload_snapshot = plan_->dag->steps[i].payload;
  if (plan_->sensitive)  // sensitivity high: a digest, never the payload in clear
    entry.payload_snapshot = json::object{{"sha256", policies::sha256_hex(json::serialize(entry.payload_snapshot))},
                                          {"sensitivity", "high"}};
  entry.metadata["step"] = r.step;
  return entry;
}

journal_entry plan_run::attempt_started_entry(std::size_t i) const {
  const auto& a = results_[i].attempts.back();
  auto entry = step_entry(i);
  entry.status = "pending";
  json::object data{{"step_status", "running"}, {"attempt", a.number}};
  if (!a.note.empty())
    data["note"] = a.note;
  entry.data = std::move(data);
  entry.metadata["attempt"] = a.number;
  entry.tags = {"attempt", "started"};
  return entry;
}

journal_entry plan_run::attempt_failed_entry(std::size_t i, const error_info& err, std::chrono::milliseconds delay) const {
  const auto& a = results_[i].attempts.back();
  auto entry = step_entry(i);
  entry.status = "failure";
  entry.error = err.message;
  entry.error_code = std::string(error_code_name(err.code));
  entry.data = json::object{{"attempt_outcome", step_status_name(a.outcome)},
                            {"retry_in_ms", delay.count()},
                            {"details", err.details}};
  entry.metadata["attempt"] = a.number;
  entry.metadata["execution_time_ms"] = a.duration_ms;
  entry.tags = {"attempt", "retrying"};
  return entry;
}

journal_entry plan_run::step_outcome_entry(std::size_t i) const {
  const auto& r = results_[i];
  auto entry = step_entry(i);
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
  auto cap = static_cast<std::size_t>(rt_->config.journal.max_attempt_entries);
  if (r.attempts.size() > cap) {
    json::object codes;
    for (const auto& [code, n] : steps_[i].failure_codes)
      codes[code] = n;
    json::object d = entry.data.is_object() ? entry.data.get_object() : json::object{};
    d["attempt_summary"] = json::object{{"attempts", static_cast<std::int64_t>(r.attempts.size())},
                                        {"journaled", static_cast<std::int64_t>(cap)},
                                        {"omitted", static_cast<std::int64_t>(r.attempts.size() - cap)},
                                        {"omitted_error_codes", std::move(codes)}};
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
  if (auto tokens = steps_[i].last_input_tokens + steps_[i].last_output_tokens; tokens > 0)
    entry.metadata["tokens_used"] = tokens;
  if (r.status == step_status::succeeded && steps_[i].payload) {
    // Facts a policy asked to record (guard_verdict::facts), from the payload as sent: the
    // usage counters keep them (docs/guarded-execution.md, "Quotas and budgets").
    json::array facts;
    for (const auto& f : plan_->facts[i])
      for (const auto& field : f.subject_fields)
        if (auto subject = get_string(*steps_[i].payload, field))
          facts.push_back(json::object{{"kind", f.kind}, {"subject", *subject}});
    if (!facts.empty())
      entry.metadata["facts"] = std::move(facts);
  }
  entry.tags = {"step", std::string(step_status_name(r.status))};
  return entry;
}

journal_entry plan_run::plan_entry(const request_result& result) const {
  std::int64_t ok = 0, failed = 0, skipped = 0, cancelled = 0;
  double cost = 0;
  for (const auto& r : result.steps) {
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
  auto entry = make_journal_entry(*rt_, ctx_, "opex", "execution");
  entry.status = result.status == request_status::succeeded ? "success"
                 : result.status == request_status::partial ? "partial"
                                                            : "failure";
  entry.data = json::object{{"plan_steps", static_cast<std::int64_t>(result.steps.size())},
                            {"succeeded", ok},
                            {"failed", failed},
                            {"skipped", skipped},
                            {"cancelled", cancelled},
                            {"request_status", request_status_name(result.status)}};
  entry.metadata["execution_time_ms"] = result.duration_ms;
  entry.metadata["cost_usd"] = cost;
  entry.tags = {"plan"};
  return entry;
}

step_state plan_run::step_row(std::size_t i) const {
  const auto& r = results_[i];
  step_state row;
  row.request_id = ctx_.request_id;
  row.step = r.step;
  row.tool = r.tool;
  row.status = std::string(step_status_name(r.status));
  // The payload is written before the first attempt (or when parked); later writes keep it.
  // Secrets stay as {{ secrets.NAME }}: the value is resolved into the call only.
  if (steps_[i].payload && !is_terminal(r.status))
    row.payload = masked_copy(*steps_[i].payload, rt_->masking, secret_values_);
  row.data = masked_copy(r.data, rt_->masking, secret_values_);
  if (r.status == step_status::awaiting_approval)
    row.data = json::object{{"approval_id", steps_[i].approval_id}};
  if (r.error)
    row.error = masked_copy(json::object{{"error", r.error.message},
                                         {"error_code", error_code_name(r.error.code)},
                                         {"details", r.error.details}},
                            rt_->masking, secret_values_);
  row.attempts = static_cast<int>(r.attempts.size());
  row.updated_at = rt_->now();
  return row;
}

request_state plan_run::request_row(std::string status, json::value result) const {
  request_state row;
  row.id = ctx_.request_id;
  row.tenant = ctx_.tenant.empty() ? "default" : ctx_.tenant;
  row.user_id = ctx_.user_id;
  row.status = std::move(status);
  // The output is written with the first row (resume reads it); later rows keep it.
  if (!started_run_)
    row.output = masked_copy(to_json(plan_->output), rt_->masking, {});
  row.result = std::move(result);
  row.idempotency_key = ctx_.idempotency_key;
  row.body_digest = ctx_.body_digest;
  row.created_at = rt_->now();
  row.updated_at = row.created_at;
  return row;
}

std::shared_ptr<request_result> plan_run::build_result() const {
  auto result = make_result(*rt_, ctx_);
  result->steps = results_;
  mask_result(*result, rt_->masking, secret_values_);
  return result;
}

std::shared_ptr<request_result> plan_run::interrupted_result() const {
  auto result = make_result(*rt_, ctx_);
  result->status = request_status::failed;
  result->error = make_error(error_code::unavailable,
                             "the engine stopped before the request ended; it resumes at the next start",
                             json::object{{"request_id", ctx_.request_id}, {"reason", "shutdown"}});
  result->error_timestamp = rt_->now();
  mask_result(*result, rt_->masking, secret_values_);
  return result;
}

} // namespace opex::actors
