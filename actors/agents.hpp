// Spawns the agents of one engine on an actor system.
#pragma once

#include "runtime.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace opex::connectors {
class http_client;
}

namespace opex::actors {

/// Spawns the journal writer (detached: it owns SQLite), the executors (one per tool category
/// present in the catalogue), Prolex, the Proxy Master, and returns Kimmy, the entry of the
/// full pipeline. Fills the handles in `rt` (which must outlive the actors). Errors: the
/// journal database cannot be opened.
result<agent_actor> spawn_agents(caf::actor_system& system, const std::shared_ptr<runtime>& rt,
                                 const std::string& database, bool detached_journal = true);

/// Spawns a Kimmy filter (the entry of the full pipeline) over `rt`.
agent_actor spawn_kimmy_filter(caf::actor_system& system, std::shared_ptr<const runtime> rt);
agent_actor spawn_prolex_planner(caf::actor_system& system, std::shared_ptr<const runtime> rt);
agent_actor spawn_proxy_master(caf::actor_system& system, std::shared_ptr<const runtime> rt);

/// The store (journal, plan state, approvals) over a database path (":memory:" in tests).
/// `detached` runs it on its own thread (production); tests under the deterministic scheduler
/// pass false.
result<store_actor> spawn_store(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                                const std::string& database, bool detached);

/// The report reader over `database` (its own connection), detached unless `detached` is
/// false (tests under the deterministic scheduler). Errors: the backend's open errors.
result<report_actor> spawn_report_reader(caf::actor_system& system, const opex_config::storage_settings& storage,
                                         const std::string& database, bool detached);

/// What the alert evaluator delivers with: an HTTP client for webhook targets, the signing
/// secret of each webhook target that has one (by target name, read from its env var), and the
/// engine's guarded pipeline for tool targets: `submit_tool` runs `payload` as a tool_call of
/// `target.tool` for `target.tenant` with the idempotency key, and gives `done` the error
/// (empty when the call succeeded), on any thread.
struct alert_delivery_parts {
  std::shared_ptr<connectors::http_client> http;
  std::map<std::string, std::string, std::less<>> secrets;
  std::function<void(const alert_target& target, boost::json::object payload, std::string idempotency_key,
                     std::function<void(error_info)> done)>
    submit_tool;
};

/// The alert evaluator over `rt` (its store and report reader must be spawned): loads the stored
/// states, then evaluates every alerts.evaluation_interval_ms when alerts.enabled (and on
/// run_atom). docs/operations.md, "Alerts".
alert_actor spawn_alert_evaluator(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                                  alert_delivery_parts parts);

/// A supervisor for one plan (spawned by the Proxy Master per tool_call or multi_tool_plan).
supervisor_actor spawn_plan_supervisor(caf::actor_system& system, std::shared_ptr<const plan_parts> parts);

/// An executor for one tool category.
executor_actor spawn_executor(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                              std::string category);

/// The LLM gateway (Kimmy's and Prolex's model calls: retries, breaker).
llm_actor spawn_llm_gateway(caf::actor_system& system, std::shared_ptr<const runtime> rt);

/// Sends an exit to every long-lived actor in `rt` (the actor system then shuts down).
void stop_agents(caf::actor_system& system, runtime& rt);

} // namespace opex::actors
