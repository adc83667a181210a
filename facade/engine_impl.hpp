// The engine's private state, shared by engine.cpp (construction, queries, shutdown) and
// engine_submit.cpp (submissions, idempotency, commit before answer).
#pragma once

#include "opex/engine.hpp"
#include "opex/improvement.hpp"

#include "agents.hpp"

#include "opex/connectors/database_lock.hpp"
#include "opex/observers/otlp_trace_exporter.hpp"
#include "opex/observers/prometheus_metrics.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace opex {

struct engine::impl {
  std::shared_ptr<actors::runtime> rt;
  std::shared_ptr<observers::prometheus_metrics> metrics;
  std::shared_ptr<observers::otlp_trace_exporter> tracer;  ///< nullptr unless tracing.endpoint
  caf::actor sweeper;
  actors::alert_actor alerts;  ///< the alert evaluator (null when read-only)
  std::string database;
  std::unique_ptr<caf::actor_system_config> system_config;
  std::unique_ptr<caf::actor_system> system;
  actors::agent_actor kimmy;
  std::unique_ptr<connectors::database_lock> lock;
  bool read_only = false;
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> in_flight{0};
  std::mutex stop_m;
  /// The policies new requests are admitted under after a reload; null: the first ones (in rt).
  mutable std::mutex generation_m;  ///< held for a pointer copy or swap, never while building one
  std::shared_ptr<const actors::policy_generation> generation;
  std::mutex reload_m;  ///< one reload at a time

  std::shared_ptr<const actors::policy_generation> current_generation() const {
    std::lock_guard guard(generation_m);
    return generation;
  }

  ~impl() { release(); }

  /// engine::shutdown: no new work, running plans interrupted, writes committed.
  void shutdown();

  /// shutdown, then the agents, connectors, actor system and database lock are released.
  void release();

  /// Once a minute (one timer for the engine): expires pending approvals, forgets idempotency
  /// keys older than idempotency.retention_hours.
  void start_sweeper();

  /// Spawns the alert evaluator (docs/operations.md, "Alerts"), delivering webhooks with
  /// `http` and tool targets through this engine's guarded pipeline. Throws engine_error
  /// (CONFIG_ERROR {key, env}) when a webhook target's secret_env is not set.
  void start_alerts(std::shared_ptr<connectors::http_client> http);

  /// The improvement run (engine::run_improvements) over improvement.window_days.
  void run_improvements(std::function<void(result<boost::json::object>)> done);
  /// Submits each proposal's TODO_CREATE; `done` gets {"proposals", "applied"} once all answered.
  void apply_improvements(std::vector<improvement_proposal> proposals,
                          std::function<void(result<boost::json::object>)> done);
  /// The sweeper's minute: starts the day's improvement run once it is due (improvement.daily).
  void maybe_improve();
  std::string last_improvement_day;  ///< the UTC day the daily run last started (sweeper only)

  /// Forwards decided approvals to their plans' supervisors.
  void notify(const connectors::approval_record& a, const std::string& code);

  /// Resumes the plans the database holds unfinished (docs/resilience.md: nothing accepted is lost).
  void recover();

  /// A request context from the submission options, or nullopt after answering `done` with
  /// VALIDATION_ERROR (request id not a UUID, unknown tenant) or UNAVAILABLE (read-only or
  /// stopped engine).
  std::optional<actors::request_context> start(submit_options& opts, const result_callback& done);

  /// Claims the idempotency key (if any), then runs the request from `entry`, commits the
  /// final state of requests that did not reach a supervisor, masks and answers.
  void submit(actors::request_context ctx, actors::entry_point entry, result_callback done);

private:
  void run(actors::request_context ctx, actors::entry_point entry, result_callback done);
  void answer_repeat(const std::string& request_id, result_callback done);
};

/// Loads the payload and response schemas the catalogue names that opex does not embed, from the
/// catalogue's folder or its parents (the reference layout: rag/tools/tools.yml next to
/// schemas/payloads/). Throws std::runtime_error when one cannot be found.
void load_payload_schemas(const opex_config& cfg, schema_registry& schemas);

/// Prolex's rule planner with its knowledge index (docs/kimmy.md, "Answers"): the
/// configuration's documents indexed with SQLite FTS5; without FTS5, the planner answers from
/// its planning table (logged).
void make_rule_planner(actors::runtime_agents& agents, const opex_config& cfg);

/// The span exporter `tracing:` configures (its own HTTP client), or nullptr without an
/// endpoint. Throws engine_error (CONFIG_ERROR) when a header reference cannot be resolved.
std::shared_ptr<observers::otlp_trace_exporter> make_trace_exporter(const opex_config& cfg, const std::string& version);

/// A request_result for a refusal before anything ran.
request_result immediate_error(const std::string& request_id, error_info err, const clock& time);

} // namespace opex
