// Prometheus metrics of one engine: an observer (opex/observer.hpp) that counts what the
// engine tells it into prometheus-cpp families, in a registry opexd adds its HTTP metrics to.
// The names, labels and units are listed in docs/operations.md, "Metrics".
#pragma once

#include "opex/observer.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
} // namespace prometheus

namespace opex::observers {

/// A circuit breaker's state as the engine reports it (engine::breakers()).
struct breaker_sample {
  std::string target;
  std::string state;  ///< closed | open | half_open
};

/// The engine's metrics. Every hook is thread-safe (prometheus-cpp's metrics are atomic; the
/// request table has its own lock) and never blocks on I/O.
///
/// Series (docs/operations.md, "Metrics"):
/// - `opex_requests_total{entry, tenant, type, status}`: answered requests; entry = the first
///   agent (kimmy, prolex, proxy), type = the ProlexOutput type or `none`, status = the
///   request_status name.
/// - `opex_request_duration_seconds{entry}`: histogram of the answer's duration_ms.
/// - `opex_step_attempts_total{tool, outcome}`, `opex_step_retries_total{tool}`,
///   `opex_steps_total{tool, status}`, `opex_step_duration_seconds{tool}` (histogram).
/// - `opex_circuit_breaker_state{target, state}`: 1 for the current state, 0 for the others;
///   `opex_circuit_breaker_transitions_total{target, from, to}`.
/// - `opex_approvals_total{status}` (pending = opened, then approved, rejected, expired) and
///   `opex_approvals_pending{tenant}` (set by set_pending_approvals, from the store).
/// - `opex_cost_usd_total{tenant, tool}` (USD) and `opex_llm_tokens_total{tenant, tool,
///   direction}` (direction input or output; tool = the step's tool, or kimmy / prolex for the
///   agents' own model calls); `opex_model_calls_total{agent, endpoint, outcome}`.
/// - `opex_journal_batch_entries` and `opex_journal_batch_rows` (histograms of one commit),
///   `opex_journal_commit_seconds` (histogram), `opex_journal_commit_failures_total`.
class prometheus_metrics : public observer {
public:
  /// Registers the families in `registry` (a new one when null).
  explicit prometheus_metrics(std::shared_ptr<prometheus::Registry> registry = nullptr);
  ~prometheus_metrics() override;

  /// The registry the families live in (opexd adds its own families to it).
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  /// Everything in the registry, in the text exposition format (version 0.0.4).
  std::string exposition() const;

  /// Sets the breaker state gauges from a snapshot (called before each scrape).
  void set_breakers(const std::vector<breaker_sample>& breakers);

  /// Sets `opex_approvals_pending{tenant}` from a count per tenant; tenants seen before and
  /// absent now go to 0 (`default` is always there).
  void set_pending_approvals(const std::map<std::string, double>& by_tenant);

  void on_request_start(const request_started& e) override;
  void on_request_end(const request_result& r) override;
  void on_attempt_end(const attempt_ended& e) override;
  void on_step_end(const step_ended& e) override;
  void on_breaker_change(const breaker_changed& e) override;
  void on_approval(const approval_changed& e) override;
  void on_model_call(const model_call_ended& e) override;
  void on_commit(const batch_committed& e) override;

private:
  struct families;
  void count_usage(const std::string& tenant, const std::string& tool, double cost_usd, std::int64_t input_tokens,
                   std::int64_t output_tokens);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<families> f_;
  struct started {
    std::string entry;
    std::string tenant;
  };
  std::mutex m_;
  std::map<std::string, started, std::less<>> running_;  ///< request id -> its labels, until answered
  std::map<std::string, double, std::less<>> pending_tenants_{{"default", 0.0}};
};

/// Histogram buckets (seconds) shared by opex's duration histograms: 1 ms to 60 s.
const std::vector<double>& duration_buckets_seconds();

} // namespace opex::observers
