// What the engine builds once and its actors share, in parts (services, the agents' logic,
// execution, routing): each actor receives the parts it uses (docs/architecture.md, "What an
// actor receives").
#pragma once

#include "messages.hpp"

#include "kimmy/kimmy_classifier.hpp"
#include "kimmy/llm_classifier.hpp"
#include "prolex/llm_planner.hpp"
#include "prolex/rule_planner.hpp"
#include "proxy/proxy_checks.hpp"

#include "opex/clock.hpp"
#include "opex/config.hpp"
#include "opex/observer.hpp"
#include "opex/connectors/connector.hpp"
#include "opex/connectors/secret_store.hpp"
#include "opex/policies/circuit_breaker.hpp"
#include "opex/policies/guard_context.hpp"
#include "opex/policies/masking.hpp"
#include "opex/schema_registry.hpp"

#include <caf/actor_clock.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace opex::actors {

/// Concurrent calls per target, across executors (a bulkhead per target). Thread-safe. An
/// executor that cannot get a permit waits and is woken when one is released.
class target_limiter {
public:
  explicit target_limiter(int max_per_target) : max_(max_per_target) {}

  /// Takes a permit for `target`, or registers `waiter` to be woken and returns false.
  bool try_acquire(const std::string& target, const executor_actor& waiter);

  /// Gives a permit back; returns the executors to wake (at most one per freed permit).
  std::vector<executor_actor> release(const std::string& target);

private:
  struct slot {
    int in_use = 0;
    std::deque<executor_actor> waiters;
  };
  int max_;
  std::mutex m_;
  std::map<std::string, slot, std::less<>> slots_;
};

/// Running plans by request id, for cancellation. Thread-safe.
class request_registry {
public:
  void add(const std::string& request_id, supervisor_actor supervisor);
  void remove(const std::string& request_id);
  /// Plans running now (read without the lock: a hint, for group commit).
  std::size_t running() const noexcept { return count_.load(std::memory_order_relaxed); }
  /// The supervisor of a running request, or an invalid handle.
  supervisor_actor find(const std::string& request_id) const;
  /// Stops every registered supervisor (engine shutdown: their plans resume on the next start).
  void stop_all();

private:
  mutable std::mutex m_;
  std::map<std::string, supervisor_actor, std::less<>> running_;
  std::atomic<std::size_t> count_{0};
};

/// Callbacks waiting for requests to end (a plan answered early while waiting for approvals
/// ends later). Thread-safe.
class completion_hub {
public:
  using callback = std::function<void(const request_result&)>;
  void watch(const std::string& request_id, callback cb);
  void complete(const request_result& r);

private:
  std::mutex m_;
  std::map<std::string, std::vector<callback>, std::less<>> watchers_;
};

/// What every actor reads: configuration, schemas, clocks, masking, observers and the store.
struct runtime_services {
  opex_config config;
  std::shared_ptr<schema_registry> schemas;
  std::shared_ptr<const clock> time;
  policies::masking_rules masking;
  /// Told what happens as requests run (progress, metrics, tracing); filled before spawn_agents.
  observer_set observers;
  /// A read-only engine (engine_options::read_only): the store changes nothing when it reads.
  bool read_only = false;
  /// The store actor (journal, plan state, approvals), set by spawn_agents.
  store_actor store;
  /// The report reader (workflow metrics, alerts' queries), set by spawn_agents.
  report_actor reports;
  /// The agents' reader (Kimmy's history, Prolex's items), a report reader of its own: a
  /// long report on `reports` never delays a request. Set by spawn_agents.
  report_actor context;
  /// The actor system's clock (set by spawn_agents; simulated under CAF's test_coordinator):
  /// every duration and timer. Wall-clock dates come from `time`. docs/architecture.md, "Time".
  const caf::actor_clock* actor_time = nullptr;

  /// ISO 8601 UTC now, from `time`.
  std::string now() const { return format_timestamp(time->now().utc); }
  /// The current instant of `actor_time`: what durations (duration_ms, execution_time_ms) are
  /// measured against. Before spawn_agents (plain-logic tests) the steady clock, which the
  /// actor clock also reads outside test_coordinator.
  caf::actor_clock::time_point elapsed_now() const {
    return actor_time ? actor_time->now() : std::chrono::steady_clock::now();
  }
};

/// The agents' plain logic (Kimmy, Prolex, the Proxy Master's checks).
struct runtime_agents {
  std::unique_ptr<kimmy_classifier> kimmy;
  std::unique_ptr<knowledge_index> knowledge;  ///< the planner's answers (before it: outlives it)
  std::unique_ptr<rule_planner> planner;
  std::unique_ptr<proxy_checker> proxy;
  std::unique_ptr<llm_planner> llm_plans;     ///< Prolex's llm modes
  std::unique_ptr<llm_classifier> llm_kimmy;  ///< Kimmy's llm modes
};

/// What runs tool and model calls: connectors, breakers, the bulkhead, secrets, call ids.
struct runtime_execution {
  /// LLM endpoints (null without `llm.endpoints`): the `llm` connector and the gateway use it.
  std::shared_ptr<const connectors::llm_service> llm;
  /// Connector per target type name ("webhook", "builtin").
  std::map<std::string, std::shared_ptr<connectors::connector>, std::less<>> connectors;
  /// Circuit breakers per target, shared by every plan.
  mutable std::unique_ptr<policies::breaker_registry> breakers;
  /// Concurrent calls per target.
  mutable std::unique_ptr<target_limiter> limiter;
  /// Tenants' secrets, for `{{ secrets.NAME }}` in payloads (null: none resolves).
  std::shared_ptr<const connectors::secret_store> secrets;
  /// Source of step_call ids.
  mutable std::atomic<std::uint64_t> next_call_id{0};
  /// Seed of retry jitter when execution.jitter_seed is 0 (drawn once at start-up).
  std::uint64_t jitter_seed = 0x9e3779b97f4a7c15ULL;
};

/// The long-lived actors (set by spawn_agents) and the registries that route to running plans.
struct runtime_routing {
  agent_actor prolex;
  agent_actor proxy_master;
  llm_actor llm_gateway;  ///< set when `llm` is
  std::map<std::string, executor_actor, std::less<>> executors;  ///< by tool category
  /// Running plans, for cancellation and approvals.
  mutable request_registry requests;
  /// Who waits for which request to end.
  mutable completion_hub completions;
  /// Who waits for a request's first answer (repeats of its idempotency key).
  mutable completion_hub answers;
};

/// Everything the engine built, immutable after start-up except for the thread-safe parts
/// marked mutable. The composition root fills it; no actor receives it whole. The executors and
/// the LLM gateway receive only its services and execution parts, the store its services and
/// routing (`part<P>(rt)`, a shared_ptr keeping the whole alive), Kimmy and Prolex their
/// agent_parts, the Proxy Master and the plan supervisors their plan_parts.
struct runtime : runtime_services, runtime_agents, runtime_execution, runtime_routing {
  /// HMAC key of confirmation codes (env or file); "" = a random key kept in the database.
  std::string approval_secret;
};

/// What a configuration reload (engine::reload, SIGHUP) replaces, all at once: the configuration
/// the agents and the guard read (catalogue, autonomy, system limits, tenants, guard policies,
/// approvals, planning, protected workflows, tool costs), the payload schemas and the agents'
/// logic built over them. A request keeps the generation it was admitted with to its end; the
/// engine's settings (storage, journal, execution, server, connectors, tracing, logging) stay
/// those it started with. docs/operations.md, "Reload".
struct policy_generation {
  std::uint64_t number = 1;  ///< 1 for the configuration the engine started with
  opex_config config;
  std::shared_ptr<schema_registry> schemas;
  runtime_agents agents;
};

/// What a request's agents and guard read: its generation's, else the engine's first.
inline const opex_config& config_of(const runtime_services& rt, const request_context& ctx) {
  return ctx.generation ? ctx.generation->config : rt.config;
}
inline const schema_registry& schemas_of(const runtime_services& rt, const request_context& ctx) {
  return ctx.generation ? *ctx.generation->schemas : *rt.schemas;
}
inline const runtime_agents& agents_of(const runtime_agents& first, const request_context& ctx) {
  return ctx.generation ? ctx.generation->agents : first;
}
inline const proxy_checker& checks_of(const proxy_checker& first, const request_context& ctx) {
  return ctx.generation ? *ctx.generation->agents.proxy : first;
}

/// What Kimmy and Prolex receive: the services, the agents' logic, the routes (the next agent,
/// the LLM gateway) and the model service their dialogs estimate costs with.
struct agent_parts {
  std::shared_ptr<const runtime_services> base;
  std::shared_ptr<const runtime_agents> agents;
  std::shared_ptr<const runtime_routing> routes;
  std::shared_ptr<const connectors::llm_service> llm;  ///< null without llm.endpoints
};

/// What the Proxy Master and the plan supervisors (and plan_run) receive: the services, the
/// Proxy Master's checks (no other agent's logic), execution (call ids, secrets, the jitter
/// seed) and the routes (the executors, the running plans, who waits for answers).
struct plan_parts {
  std::shared_ptr<const runtime_services> base;
  std::shared_ptr<const proxy_checker> checks;
  std::shared_ptr<const runtime_execution> exec;
  std::shared_ptr<const runtime_routing> routes;
};

/// One part of `rt`, sharing its lifetime.
template <class Part>
std::shared_ptr<const Part> part(const std::shared_ptr<const runtime>& rt) {
  return std::shared_ptr<const Part>(rt, static_cast<const Part*>(rt.get()));
}

/// The parts Kimmy and Prolex receive.
inline std::shared_ptr<const agent_parts> agent_parts_of(const std::shared_ptr<const runtime>& rt) {
  return std::make_shared<const agent_parts>(
    agent_parts{part<runtime_services>(rt), part<runtime_agents>(rt), part<runtime_routing>(rt), rt->llm});
}

/// The parts the Proxy Master and the plan supervisors receive.
inline std::shared_ptr<const plan_parts> plan_parts_of(const std::shared_ptr<const runtime>& rt) {
  return std::make_shared<const plan_parts>(plan_parts{part<runtime_services>(rt),
                                                       std::shared_ptr<const proxy_checker>(rt, rt->proxy.get()),
                                                       part<runtime_execution>(rt), part<runtime_routing>(rt)});
}

/// A journal entry pre-filled from the request: timestamp, agent, action_type, request_id,
/// user_id, intent (from Kimmy), metadata.autonomy_level.
journal_entry make_journal_entry(const runtime_services& rt, const request_context& ctx, std::string agent,
                                 std::string action_type);

/// The journal entry of a circuit-breaker transition caused by a call of `request_id` (agent
/// system, action_type alert, data {circuit_breaker, from, to, failure_rate, slow_call_rate,
/// calls}, tags circuit_breaker and the new state). `tool` may be "".
journal_entry breaker_entry(const runtime_services& rt, const policies::breaker_transition& t, const std::string& request_id,
                            const std::string& tool);

/// A request_result pre-filled from the request (ids, Kimmy payload and decision, output,
/// planned_by, duration).
std::shared_ptr<request_result> make_result(const runtime_services& rt, const request_context& ctx);

/// The result of a refusal: status rejected, error set (timestamped).
request_outcome refusal(const runtime_services& rt, const request_context& ctx, error_info err);

/// Tells the observers an agent finished its part of a request (its span: a child of the
/// request's). `outcome`: classified | planned | routed | answered | refused; `code` "" unless
/// refused. Nothing when no observer listens.
void observe_agent(const runtime_services& rt, const request_context& ctx, std::string agent, const trace_context& span,
                   std::chrono::nanoseconds took, std::string outcome, std::string code = {});

/// Masks a result in place (policies/masking): the ProlexOutput's payloads, each step's data
/// and error details, the error's details, and `literals` (secret values a plan resolved).
void mask_result(request_result& r, const policies::masking_rules& rules, const std::vector<std::string>& literals = {});

/// The guard's view of a request: its tenant, level, environment and Kimmy's constraints.
policies::guard_context guard_for(const runtime_services& rt, const request_context& ctx);

/// Local midnight of today and the first of this month, as UTC ISO 8601 (quota windows).
std::pair<std::string, std::string> day_and_month_start(const runtime_services& rt);

} // namespace opex::actors
