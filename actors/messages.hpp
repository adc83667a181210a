// The messages the agents exchange and their typed actor interfaces (one place, as CAF
// wants): a request travels kimmy_filter -> prolex_planner -> proxy_master -> plan_supervisor
// as a request_context, and the last stage answers the original requester (delegation).
#pragma once

#include "opex/connectors/connector.hpp"
#include "opex/connectors/llm_client.hpp"
#include "opex/connectors/storage.hpp"
#include "opex/contracts.hpp"

#include <caf/actor_clock.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace opex::actors {

struct checked_output;

// -- atoms (at most 10 characters) ------------------------------------------------------------
using run_atom = caf::atom_constant<caf::atom("run")>;
using exec_atom = caf::atom_constant<caf::atom("exec")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using journal_atom = caf::atom_constant<caf::atom("journal")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using state_atom = caf::atom_constant<caf::atom("state")>;
using approval_atom = caf::atom_constant<caf::atom("approval")>;
using decide_atom = caf::atom_constant<caf::atom("decide")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using facts_atom = caf::atom_constant<caf::atom("facts")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using llm_atom = caf::atom_constant<caf::atom("llm")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;
using purge_atom = caf::atom_constant<caf::atom("purge")>;
using alerts_atom = caf::atom_constant<caf::atom("alerts")>;

/// Where a request enters the chain.
enum class entry_point { kimmy, prolex, proxy };

/// The state a request carries from agent to agent. Copied at each hop; the heavy parts are
/// shared and immutable.
struct policy_generation;

struct request_context {
  std::string request_id;
  std::string user_id;
  std::string tenant = "default";
  std::string source = "api";
  std::string client;  ///< the sending program (MCP clientInfo), "" = unknown
  entry_point entry = entry_point::kimmy;
  caf::actor_clock::time_point received;  ///< runtime::elapsed_now() when accepted
  std::shared_ptr<const std::string> text;                ///< raw text (kimmy entry)
  std::shared_ptr<const boost::json::value> raw;          ///< raw JSON (prolex/proxy entry)
  std::shared_ptr<const kimmy_payload> kimmy;
  std::shared_ptr<const kimmy_decision> decision;
  std::shared_ptr<const prolex_output> output;
  /// The user's history Kimmy read (request_history::lookup JSON), null when none: the
  /// context of Prolex's model prompt (docs/kimmy.md, "Context from the journal").
  std::shared_ptr<const boost::json::object> history;
  std::string planned_by;                                 ///< kimmy | prolex | client
  std::string idempotency_key;                            ///< "" = none (docs/durability.md)
  std::string body_digest;                                ///< SHA-256 of entry point and body
  trace_context trace;                                    ///< the request's span (W3C)
  /// The policies it was admitted under, kept to its end across reloads (null: the engine's
  /// first, in runtime_services and runtime_agents). docs/operations.md, "Reload".
  std::shared_ptr<const policy_generation> generation;
};

/// The final answer of the chain for one request. `stored`: the request's row already holds
/// this answer (a supervisor committed it), or must stay as it is (an interrupted plan that
/// resumes); otherwise the engine commits the row before answering.
struct request_outcome {
  std::shared_ptr<request_result> result;
  bool stored = false;
};

/// One attempt of one step, sent by the supervisor to an executor.
struct step_call {
  std::uint64_t call_id = 0;              ///< unique per attempt; cancel_atom names it
  const tool_definition* tool = nullptr;  ///< catalogue entry (the catalogue outlives actors)
  std::shared_ptr<const boost::json::object> payload;  ///< resolved and validated
  connectors::call_context context;
};

/// A plan that passed the Proxy Master, handed to a supervisor.
using checked_plan = std::shared_ptr<const checked_output>;

/// A person's decision on an approval, as the store checks and records it.
struct approval_decision {
  std::string approval_id;
  std::string tenant;             ///< "" = any (operators); else the approval must be this tenant's
  bool approve = true;
  std::string decided_by;
  std::string confirmation_code;  ///< required when the approval requires_code
  std::string comment;
};

/// The store's answer about one approval: the record, or why not.
struct approval_reply {
  std::optional<connectors::approval_record> approval;
  error_info error;
  std::string code;  ///< on creation: the confirmation code (never journaled)
};

/// Approvals matching a tenant ("" = all), status ("" = all) and request ("" = all).
struct approval_query {
  std::string tenant;
  std::string status;
  std::string request_id;
};

using approval_list = std::vector<connectors::approval_record>;

/// What the guard wants counted.
struct facts_query {
  std::string tenant;
  std::vector<std::string> tools;
  std::vector<std::string> workflows;
  std::string day_start;
  std::string month_start;
};

/// A stored request, its steps, found by id (tenant-scoped).
struct request_lookup {
  std::string request_id;
  std::string tenant;
};

struct stored_plan {
  std::optional<connectors::stored_request> request;
  std::vector<connectors::stored_step> steps;
};

using stored_plans = std::vector<stored_plan>;

/// A step to persist, or a request (upserts, batched).
using step_state = connectors::stored_step;
using request_state = connectors::stored_request;

/// Rows and journal entries written in one transaction (docs/durability.md). Sent with
/// `state_atom` it is batched and nobody waits; with `commit_atom` the store answers once the
/// group commit that holds it (and everything it received before) is durable.
struct write_batch {
  std::vector<journal_entry> entries;
  std::vector<step_state> steps;
  std::vector<request_state> requests;

  bool empty() const noexcept { return entries.empty() && steps.empty() && requests.empty(); }
};

/// A submission's idempotency key, claimed before anything runs (docs/durability.md,
/// "Idempotency keys"). `key` is scoped by `tenant`; `digest` is the SHA-256 of the entry point
/// and the canonical body.
struct idempotency_claim {
  std::string tenant = "default";
  std::string key;
  std::string request_id;
  std::string digest;
};

/// What a claim found. fresh: nobody used the key (the claim holds until the request's row is
/// written); replay: a request with this key ended or answered (`stored` is its result JSON);
/// running: it runs now (wait for it); conflict: the key, or the request id, was used with
/// another body or by another tenant (IDEMPOTENCY_CONFLICT in `error`).
struct claim_reply {
  enum class kind { fresh, replay, running, conflict };
  kind outcome = kind::fresh;
  std::string request_id;
  boost::json::value stored;
  error_info error;
};

/// One model call for an agent (Kimmy's or Prolex's llm mode), retried and guarded by the
/// LLM gateway.
struct llm_call {
  std::string endpoint;  ///< "" = llm.default
  connectors::llm_request request;
  std::string request_id;
  std::string tenant;   ///< the request's tenant (observers)
  std::string purpose;  ///< "kimmy" | "prolex": journaled with each attempt
  trace_context span;   ///< the asking agent's span (each model call is a child of it)
};

/// The gateway's answer: the response of the last attempt, or why every attempt failed;
/// tokens and cost summed over the attempts that were answered.
struct llm_reply {
  bool ok = false;
  connectors::llm_response response;
  error_info error;
  int attempts = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0.0;
  double duration_ms = 0.0;
};

// -- interfaces -------------------------------------------------------------------------------

/// kimmy_filter, prolex_planner and proxy_master: each takes a request and passes it on (or
/// answers it).
using agent_actor = caf::typed_actor<caf::replies_to<run_atom, request_context>::with<request_outcome>>;

/// One supervisor per plan: runs it and answers with the request's outcome.
/// `cancel_atom` cancels the plan; `retry_atom` is its own retry timer; `approval_atom`
/// brings a decided approval (approved, rejected or expired) for one of its steps; `recover_atom`
/// resumes a plan from its stored state after a restart (nobody waits for its answer). An exit
/// message (engine shutdown) answers a waiting caller with UNAVAILABLE: the plan resumes at the
/// next start.
using supervisor_actor =
  caf::typed_actor<caf::replies_to<run_atom, request_context, checked_plan>::with<request_outcome>,
                   caf::reacts_to<recover_atom, request_context, checked_plan, stored_plan>,
                   caf::reacts_to<retry_atom, std::uint64_t>,
                   caf::reacts_to<approval_atom, connectors::approval_record, std::string>,
                   caf::reacts_to<cancel_atom>>;

/// One executor per tool category: runs one attempt through the tool's connector, behind its
/// bulkhead (max concurrent calls, bounded queue), the target's concurrency limit and the
/// target's circuit breaker. `cancel_atom` abandons a call by id (the flag says the caller gave
/// up because the attempt timed out: the breaker then counts a failure); `wake_atom` retries
/// queued calls after another executor freed a target permit.
using executor_actor =
  caf::typed_actor<caf::replies_to<exec_atom, step_call>::with<connectors::call_outcome>,
                   caf::reacts_to<done_atom, std::uint64_t, connectors::call_outcome>,
                   caf::reacts_to<cancel_atom, std::uint64_t, bool>,
                   caf::reacts_to<wake_atom>>;

/// The LLM gateway: runs a model call with the endpoint's retry policy (backoff, Retry-After)
/// behind its circuit breaker ("llm:<endpoint>"). `done_atom` brings an attempt's result from
/// the client's thread; `retry_atom` is its own retry timer.
using llm_actor = caf::typed_actor<caf::replies_to<llm_atom, llm_call>::with<llm_reply>,
                                   caf::reacts_to<done_atom, std::uint64_t, llm_reply>,
                                   caf::reacts_to<retry_atom, std::uint64_t>>;

/// The store: the SystemJournal (batched appends, queries), the plan state (requests and steps,
/// batched upserts), the approvals (created, decided and expired at once, never batched), and
/// the guard's usage facts. One SQLite owner, detached in production. `commit_atom` answers
/// after the group commit holding its writes; `flush_atom` commits what is buffered and answers
/// true when nothing is left uncommitted (false: the commit failed, the writes are kept and
/// retried); `claim_atom` claims an idempotency key;
/// `purge_atom` forgets keys older than the idempotency window (returns how many).
using store_actor =
  caf::typed_actor<caf::reacts_to<journal_atom, journal_entry>,
                   caf::reacts_to<state_atom, step_state>,
                   caf::reacts_to<state_atom, request_state>,
                   caf::reacts_to<tick_atom>,
                   caf::replies_to<flush_atom>::with<bool>,
                   caf::replies_to<query_atom, journal_query>::with<std::shared_ptr<const boost::json::array>>,
                   caf::replies_to<approval_atom, connectors::approval_record>::with<approval_reply>,
                   caf::replies_to<decide_atom, approval_decision>::with<approval_reply>,
                   caf::replies_to<list_atom, approval_query>::with<approval_list>,
                   caf::replies_to<expire_atom>::with<approval_list>,
                   caf::replies_to<facts_atom, facts_query>::with<connectors::usage_facts>,
                   caf::replies_to<get_atom, request_lookup>::with<stored_plan>,
                   caf::replies_to<recover_atom>::with<stored_plans>,
                   caf::reacts_to<state_atom, write_batch>,
                   caf::replies_to<commit_atom, write_batch>::with<bool>,
                   caf::replies_to<claim_atom, idempotency_claim>::with<claim_reply>,
                   caf::replies_to<purge_atom>::with<std::size_t>>;

/// A report's answer: its JSON, or why it failed (INTERNAL_ERROR).
struct report_reply {
  error_info error;
  boost::json::object body;
};

/// The tenant's recent tasks, notes and events the report reader lists for references
/// (journal_reports::tenant_items).
struct item_lookup {
  std::string tenant;
  int limit = 200;
};

/// The report reader: the journal's reports (opex/connectors/storage.hpp, journal_reports) on a
/// connection and a thread of their own, so a report over a long window never delays the
/// store's commits: workflow metrics (`query_atom`), request listings (`list_atom`) and the
/// evidence of improvement proposals over a window (`get_atom`), the alerts' stored states and
/// undelivered notifications (`alerts_atom`), the tenant's items for references (`list_atom,
/// item_lookup`: Prolex) and the user's history (`get_atom, history_query`: Kimmy). Detached in
/// production. The engine runs two: `reports` for operators' reports and `context` for the
/// agents' lookups, so a long report never delays a request.
using report_actor = caf::typed_actor<caf::replies_to<query_atom, workflow_metrics_query>::with<report_reply>,
                                      caf::replies_to<list_atom, request_filter>::with<report_reply>,
                                      caf::replies_to<get_atom, workflow_metrics_query>::with<report_reply>,
                                      caf::replies_to<alerts_atom>::with<report_reply>,
                                      caf::replies_to<list_atom, item_lookup>::with<report_reply>,
                                      caf::replies_to<get_atom, history_query>::with<report_reply>>;

/// The alert evaluator (actors/alerts; docs/operations.md, "Alerts"): `run_atom` evaluates the
/// rules now and answers {"evaluated_at", "transitions": [notification...], "deliveries":
/// [{"transition_id", "target", "state", "attempts", "error"}], "alerts": [status...]} once
/// the transitions are committed and their first delivery attempts ended; `list_atom` answers
/// {"enabled", "evaluation_interval_ms", "rules": [..], "alerts": [..], "deliveries": [..]};
/// `tick_atom` is its own timer; `done_atom` brings a delivery's outcome.
struct alert_delivery_outcome {
  std::string transition_id;
  std::string target;
  error_info error;  ///< empty: delivered
};
using alert_actor = caf::typed_actor<caf::replies_to<run_atom>::with<report_reply>,
                                     caf::replies_to<list_atom>::with<report_reply>,
                                     caf::reacts_to<tick_atom>,
                                     caf::reacts_to<done_atom, alert_delivery_outcome>>;

} // namespace opex::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::request_context)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::request_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::step_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::checked_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::connectors::call_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::journal_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::journal_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const boost::json::array>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::approval_decision)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::approval_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::approval_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::approval_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::facts_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::request_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::stored_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::stored_plans)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::connectors::approval_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::connectors::stored_step)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::connectors::stored_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::connectors::usage_facts)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::workflow_metrics_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::request_filter)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::report_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::item_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::history_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::alert_delivery_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::llm_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::llm_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::idempotency_claim)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(opex::actors::claim_reply)
