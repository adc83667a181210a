// The engine's Prometheus metrics (opex/observers/prometheus_metrics.hpp): prometheus-cpp
// families filled from the observer hooks. docs/operations.md, "Metrics".
#include "opex/observers/prometheus_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <set>

namespace opex::observers {

namespace pm = prometheus;

const std::vector<double>& duration_buckets_seconds() {
  static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1.0,    2.5,   5.0,  10.0,  30.0, 60.0};
  return buckets;
}

namespace {

const std::vector<double>& batch_buckets() {
  static const std::vector<double> buckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  return buckets;
}

constexpr const char* breaker_states[] = {"closed", "open", "half_open"};

} // namespace

struct prometheus_metrics::families {
  explicit families(pm::Registry& r)
    : requests(pm::BuildCounter().Name("opex_requests_total").Help("Requests answered, by first agent, tenant, ProlexOutput type and status").Register(r)),
      request_duration(pm::BuildHistogram().Name("opex_request_duration_seconds").Help("Time to a request's answer").Register(r)),
      attempts(pm::BuildCounter().Name("opex_step_attempts_total").Help("Step attempts by tool and outcome").Register(r)),
      retries(pm::BuildCounter().Name("opex_step_retries_total").Help("Attempts followed by a retry, by tool").Register(r)),
      steps(pm::BuildCounter().Name("opex_steps_total").Help("Steps that reached a terminal state, by tool and status").Register(r)),
      step_duration(pm::BuildHistogram().Name("opex_step_duration_seconds").Help("Time from a step's first dispatch to its end").Register(r)),
      breaker_state(pm::BuildGauge().Name("opex_circuit_breaker_state").Help("1 for a target's current circuit-breaker state").Register(r)),
      breaker_transitions(pm::BuildCounter().Name("opex_circuit_breaker_transitions_total").Help("Circuit-breaker transitions by target").Register(r)),
      approvals(pm::BuildCounter().Name("opex_approvals_total").Help("Approvals opened (pending) and decided, by status").Register(r)),
      approvals_pending(pm::BuildGauge().Name("opex_approvals_pending").Help("Approvals waiting for a decision, by tenant").Register(r)),
      cost(pm::BuildCounter().Name("opex_cost_usd_total").Help("Cost in USD reported by calls, by tenant and tool").Register(r)),
      tokens(pm::BuildCounter().Name("opex_llm_tokens_total").Help("Model tokens by tenant, tool (or agent) and direction").Register(r)),
      model_calls(pm::BuildCounter().Name("opex_model_calls_total").Help("The agents' model calls by agent, endpoint and outcome").Register(r)),
      batch_entries(pm::BuildHistogram().Name("opex_journal_batch_entries").Help("Journal entries per committed batch").Register(r)),
      batch_rows(pm::BuildHistogram().Name("opex_journal_batch_rows").Help("Request and step rows per committed batch").Register(r)),
      commit_seconds(pm::BuildHistogram().Name("opex_journal_commit_seconds").Help("Time one batch's transaction took").Register(r)),
      commit_failures(pm::BuildCounter().Name("opex_journal_commit_failures_total").Help("Batches whose commit failed (kept and tried again)").Register(r)) {}

  pm::Family<pm::Counter>& requests;
  pm::Family<pm::Histogram>& request_duration;
  pm::Family<pm::Counter>& attempts;
  pm::Family<pm::Counter>& retries;
  pm::Family<pm::Counter>& steps;
  pm::Family<pm::Histogram>& step_duration;
  pm::Family<pm::Gauge>& breaker_state;
  pm::Family<pm::Counter>& breaker_transitions;
  pm::Family<pm::Counter>& approvals;
  pm::Family<pm::Gauge>& approvals_pending;
  pm::Family<pm::Counter>& cost;
  pm::Family<pm::Counter>& tokens;
  pm::Family<pm::Counter>& model_calls;
  pm::Family<pm::Histogram>& batch_entries;
  pm::Family<pm::Histogram>& batch_rows;
  pm::Family<pm::Histogram>& commit_seconds;
  pm::Family<pm::Counter>& commit_failures;
};

prometheus_metrics::prometheus_metrics(std::shared_ptr<prometheus::Registry> registry)
  : registry_(registry ? std::move(registry) : std::make_shared<pm::Registry>()),
    f_(std::make_unique<families>(*registry_)) {
  f_->commit_failures.Add({});
}

prometheus_metrics::~prometheus_metrics() = default;

std::string prometheus_metrics::exposition() const {
  return pm::TextSerializer().Serialize(registry_->Collect());
}

void prometheus_metrics::set_breakers(const std::vector<breaker_sample>& breakers) {
  for (const auto& b : breakers)
    for (const char* s : breaker_states)
      f_->breaker_state.Add({{"target", b.target}, {"state", s}}).Set(b.state == s ? 1.0 : 0.0);
}

void prometheus_metrics::set_pending_approvals(const std::map<std::string, double>& by_tenant) {
  std::lock_guard lock(m_);
  for (auto& [tenant, n] : pending_tenants_)
    n = 0;
  for (const auto& [tenant, n] : by_tenant)
    pending_tenants_[tenant] = n;
  for (const auto& [tenant, n] : pending_tenants_)
    f_->approvals_pending.Add({{"tenant", tenant}}).Set(n);
}

void prometheus_metrics::on_request_start(const request_started& e) {
  std::lock_guard lock(m_);
  running_[e.request_id] = started{e.entry, e.tenant};
}

void prometheus_metrics::on_request_end(const request_result& r) {
  started labels{"proxy", "default"};
  {
    std::lock_guard lock(m_);
    if (auto it = running_.find(r.request_id); it != running_.end()) {
      labels = std::move(it->second);
      running_.erase(it);
    }
  }
  const std::string type = r.output ? std::string(output_type_name(r.output->type)) : "none";
  f_->requests
    .Add({{"entry", labels.entry}, {"tenant", labels.tenant}, {"type", type},
          {"status", std::string(request_status_name(r.status))}})
    .Increment();
  f_->request_duration.Add({{"entry", labels.entry}}, duration_buckets_seconds()).Observe(r.duration_ms / 1000.0);
}

void prometheus_metrics::on_attempt_end(const attempt_ended& e) {
  f_->attempts.Add({{"tool", e.tool}, {"outcome", std::string(step_status_name(e.outcome))}}).Increment();
  if (e.retry_in)
    f_->retries.Add({{"tool", e.tool}}).Increment();
  count_usage(e.tenant, e.tool, e.cost_usd, e.input_tokens, e.output_tokens);
}

void prometheus_metrics::on_step_end(const step_ended& e) {
  f_->steps.Add({{"tool", e.tool}, {"status", std::string(step_status_name(e.status))}}).Increment();
  if (e.attempts > 0)
    f_->step_duration.Add({{"tool", e.tool}}, duration_buckets_seconds()).Observe(e.duration_ms / 1000.0);
}

void prometheus_metrics::on_breaker_change(const breaker_changed& e) {
  f_->breaker_transitions.Add({{"target", e.target}, {"from", e.from}, {"to", e.to}}).Increment();
  set_breakers({{e.target, e.to}});
}

void prometheus_metrics::on_approval(const approval_changed& e) {
  f_->approvals.Add({{"status", std::string(approval_status_name(e.status))}}).Increment();
}

void prometheus_metrics::on_model_call(const model_call_ended& e) {
  f_->model_calls
    .Add({{"agent", e.agent}, {"endpoint", e.endpoint}, {"outcome", e.error_code.empty() ? "ok" : e.error_code}})
    .Increment();
  count_usage(e.tenant, e.agent, e.cost_usd, e.input_tokens, e.output_tokens);
}

void prometheus_metrics::on_commit(const batch_committed& e) {
  if (!e.ok) {
    f_->commit_failures.Add({}).Increment();
    return;
  }
  f_->batch_entries.Add({}, batch_buckets()).Observe(static_cast<double>(e.entries));
  f_->batch_rows.Add({}, batch_buckets()).Observe(static_cast<double>(e.rows));
  f_->commit_seconds.Add({}, duration_buckets_seconds()).Observe(e.duration_ms / 1000.0);
}

void prometheus_metrics::count_usage(const std::string& tenant, const std::string& tool, double cost_usd,
                                     std::int64_t input_tokens, std::int64_t output_tokens) {
  if (cost_usd > 0.0)
    f_->cost.Add({{"tenant", tenant}, {"tool", tool}}).Increment(cost_usd);
  if (input_tokens > 0)
    f_->tokens.Add({{"tenant", tenant}, {"tool", tool}, {"direction", "input"}}).Increment(static_cast<double>(input_tokens));
  if (output_tokens > 0)
    f_->tokens.Add({{"tenant", tenant}, {"tool", tool}, {"direction", "output"}})
      .Increment(static_cast<double>(output_tokens));
}

} // namespace opex::observers
