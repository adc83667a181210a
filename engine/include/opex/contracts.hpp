// The contracts exchanged between the agents and with clients: KimmyPayload, ProlexOutput,
// step and plan results, the request result, and SystemJournal entries. Each has a draft-07
// schema under schemas/ (embedded) and converts to and from Boost.JSON.
#pragma once

#include "opex/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex {

class schema_registry;

// -- KimmyPayload ---------------------------------------------------------------------------

/// Kimmy's structured view of a request (schemas/kimmy_payload.schema.json; reference
/// schemas/kimmy_payload.schema.json, docs/kimmy.md).
/// JSON: {"request_id": uuid, "source": "chat|whatsapp|telegram|email|api|other",
///        "raw_input": str, "language": "fr", "kimmy_summary": str (10-500),
///        "intent": one of the 13 intents, "complexity": "simple|complex|unclear",
///        "confidence": 0..1, "requires_prolex": bool, "suggested_tools": [TOOL_ID],
///        "parameters": {title, description, due_date, client_name, priority, tags, ...},
///        "constraints": {max_cost_usd, can_use_web, sensitivity}, "history_refs": [str]}
struct kimmy_payload {
  std::string request_id;
  std::string source = "api";
  std::string raw_input;
  std::string language;
  std::string kimmy_summary;
  std::string intent;
  std::string complexity;
  double confidence = 0.0;
  bool requires_prolex = true;
  std::vector<std::string> suggested_tools;
  boost::json::object parameters;
  boost::json::object constraints;
  std::vector<std::string> history_refs;
  /// opex extension, not in the schema's required set: user id carried along the chain.
  std::string user_id;
};

/// The 13 canonical intents, in schema order (docs/decisions.md, decision 2).
const std::vector<std::string_view>& canonical_intents();

/// Maps an upper-case kimmy_intents.yml id (TASK_HELP, DEV_HELP...) or a canonical id to the
/// canonical lower-case intent; unknown text yields nullopt. Aliases are accepted, never emitted.
std::optional<std::string_view> canonical_intent(std::string_view id);

/// The KimmyPayload JSON shape above (valid against schemas/kimmy_payload.schema.json).
boost::json::object to_json(const kimmy_payload& p);

/// Builds a KimmyPayload from JSON already checked against kimmy_payload.schema.json.
kimmy_payload kimmy_payload_from_json(const boost::json::object& obj);

// -- ProlexOutput ---------------------------------------------------------------------------

/// The four kinds of ProlexOutput (schemas/prolex_output.schema.json).
enum class output_type { answer, tool_call, multi_tool_plan, clarification };

std::string_view output_type_name(output_type t) noexcept;

/// One step of a plan. A tool_call is held as a plan of one step numbered 1.
/// JSON: {"step": int >= 1, "tool": TOOL_ID, "payload": {...}, "depends_on": [int],
///        "retry": {retry policy, optional}, "continue_on_failure": bool (optional),
///        "start_to_close_ms": per-attempt timeout, "schedule_to_close_ms": step timeout}
struct plan_step {
  int step = 1;
  std::string tool;
  boost::json::object payload;
  std::vector<int> depends_on;
  /// Optional per-step retry policy object (policies/retry_policy.hpp), empty when absent.
  boost::json::object retry;
  bool continue_on_failure = false;
  std::optional<int> start_to_close_ms;     ///< per attempt (ms), overrides the tool's
  std::optional<int> schedule_to_close_ms;  ///< all attempts (ms), overrides the default
};

/// Prolex's decision (docs/architecture.md, "Prolex"): an answer, one tool call, a multi-tool plan (a DAG over
/// depends_on) or clarification questions (1-3, each >= 10 characters).
struct prolex_output {
  output_type type = output_type::answer;
  std::string content;                 ///< answer
  std::vector<std::string> questions;  ///< clarification
  std::vector<plan_step> plan;         ///< tool_call (one step) and multi_tool_plan
};

/// The ProlexOutput JSON of its type (valid against schemas/prolex_output.schema.json).
boost::json::object to_json(const prolex_output& o);

/// Builds a ProlexOutput from JSON already checked against prolex_output.schema.json.
prolex_output prolex_output_from_json(const boost::json::object& obj);

// -- Results --------------------------------------------------------------------------------

/// Status of a plan step (docs/decisions.md). `pending` and `running` only appear in progress events.
enum class step_status {
  pending,
  running,
  succeeded,
  failed,
  skipped,
  cancelled,
  timed_out,
  awaiting_approval,
};

std::string_view step_status_name(step_status s) noexcept;

/// The status a name gives back ("succeeded" -> succeeded); nullopt for unknown text.
std::optional<step_status> parse_step_status(std::string_view name) noexcept;

/// True for statuses a step never leaves.
bool is_terminal(step_status s) noexcept;

/// State of an approval (docs/guarded-execution.md, "Approvals"): pending until a person decides
/// (approved, rejected) or its deadline passes (expired). In JSON and rows as the names below.
enum class approval_status { pending, approved, rejected, expired };

std::string_view approval_status_name(approval_status s) noexcept;

/// "approved" -> approved; nullopt for unknown text.
std::optional<approval_status> parse_approval_status(std::string_view name) noexcept;

/// What an approval gates: one plan step (`step`), or the review of an n8n workflow before its
/// promotion (`review`).
enum class approval_kind { step, review };

std::string_view approval_kind_name(approval_kind k) noexcept;

/// "review" -> review; nullopt for unknown text.
std::optional<approval_kind> parse_approval_kind(std::string_view name) noexcept;

/// One attempt at running a step: when it started, how long it took (ms), its outcome and
/// error code ("" on success).
struct attempt_record {
  int number = 1;
  std::string started_at;
  double duration_ms = 0.0;
  step_status outcome = step_status::succeeded;
  std::string error_code;
  /// Why this attempt is special, e.g. "re-run after a restart: the previous attempt's outcome
  /// was not committed" (at-least-once targets; docs/durability.md). "" usually.
  std::string note;
};

/// The result of one step.
/// JSON: {"step", "tool", "status", "data": any|null, "error": standard error object|null,
///        "attempts": int, "attempt_log": [{"attempt", "started_at", "duration_ms", "outcome",
///        "error_code"}], "started_at", "finished_at", "duration_ms", "cost_usd"}
struct step_result {
  int step = 0;
  std::string tool;
  step_status status = step_status::pending;
  boost::json::value data;
  error_info error;
  std::vector<attempt_record> attempts;
  std::string started_at;
  std::string finished_at;
  double duration_ms = 0.0;
  double cost_usd = 0.0;
};

/// The step result JSON shape above (schemas/step_result.schema.json); durations in ms, cost in USD.
boost::json::object to_json(const step_result& r);

/// Overall status of a request: succeeded (every step succeeded, or an answer/clarification
/// was produced), partial (some steps succeeded), failed, rejected (refused before anything
/// ran), cancelled, timed_out, awaiting_approval (answered early: the rest of the plan waits for
/// a person; the final result is stored and readable by request id).
enum class request_status { succeeded, partial, failed, rejected, cancelled, timed_out, awaiting_approval };

std::string_view request_status_name(request_status s) noexcept;

/// The status a name gives back; nullopt for unknown text.
std::optional<request_status> parse_request_status(std::string_view name) noexcept;

/// What Kimmy decided about a request: escalate to Prolex or handle it directly, and why.
struct kimmy_decision {
  bool requires_prolex = true;
  bool handled_directly = false;
  std::vector<std::string> reasons;
};

/// Everything the engine returns for one request (`opexctl --json`, opexd responses).
/// JSON: {"request_id", "user_id", "status", "kimmy": KimmyPayload|absent,
///        "kimmy_decision": {"requires_prolex", "handled_directly", "reasons"}|absent,
///        "prolex": ProlexOutput|absent, "planned_by": "kimmy|prolex|client",
///        "result": {"type": "answer|clarification|tool_call|multi_tool_plan|error",
///                   "status", "content"?, "questions"?, "steps"?: [step_result],
///                   "error"?: standard error JSON, "duration_ms", "cost_usd"}}
struct request_result {
  std::string request_id;
  std::string user_id;
  request_status status = request_status::succeeded;
  std::optional<kimmy_payload> kimmy;
  std::optional<kimmy_decision> decision;
  std::optional<prolex_output> output;
  std::string planned_by;
  std::vector<step_result> steps;
  error_info error;
  std::string error_timestamp;
  double duration_ms = 0.0;
  /// True when this is the stored result of an earlier request with the same idempotency key
  /// (not part of the JSON; opexd answers it with `Idempotent-Replayed: true`).
  bool replayed = false;
};

/// The request result JSON shape above (schemas/request_result.schema.json); an error result
/// carries the standard error JSON under result.error.
boost::json::object to_json(const request_result& r);

/// Reads the JSON of to_json(request_result) back (a stored result, replayed for an
/// idempotency key). Fields it cannot read keep their defaults.
request_result request_result_from_json(const boost::json::object& o);

// -- SystemJournal --------------------------------------------------------------------------

/// One SystemJournal entry (schemas/journal_entry.schema.json, which supersedes the reference
/// schemas/logs/systemjournal_entry.schema.json by widening tool_used to ^[A-Z][A-Z0-9_]*$).
/// JSON: {"timestamp", "agent": "kimmy|prolex|opex|proxy|system", "action_type", "request_id",
///        "user_id", "intent": str|null, "tool_used": TOOL_ID|null, "payload_snapshot": {}|null,
///        "result": {"status": "success|failure|partial|pending", "data": {}|null,
///                   "error": str|null, "error_code": str|null},
///        "metadata": {"execution_time_ms", "cost_usd", "autonomy_level", "step", ...},
///        "tags": [str], "notes": str}
struct journal_entry {
  std::string timestamp;
  std::string agent;
  std::string action_type;
  std::string request_id;
  std::string user_id;
  std::optional<std::string> intent;
  std::optional<std::string> tool_used;
  boost::json::value payload_snapshot;  ///< null or object
  std::string status = "success";
  boost::json::value data;  ///< null or object
  std::optional<std::string> error;
  std::optional<std::string> error_code;
  boost::json::object metadata;
  std::vector<std::string> tags;
  std::string notes;
  /// The tenant the entry belongs to ("default" without tenants); stored in its own column and
  /// in metadata.tenant, so one tenant never reads another's entries.
  std::string tenant = "default";
};

/// The journal entry JSON shape above (schemas/journal_entry.schema.json); metadata.tenant is
/// added from `tenant`.
boost::json::object to_json(const journal_entry& e);

/// A journal query: entries of one request and/or agent, newest last, at most `limit`
/// (0 = no limit).
/// Which journal entries a query returns: the newest `limit` matching every non-empty field,
/// in id order (oldest first). Times are ISO 8601 UTC over `timestamp`, [since, until).
/// `before_id` pages backwards: only entries with a smaller id (the previous page's first id).
struct journal_query {
  std::string request_id;
  std::string agent;
  std::size_t limit = 1000;
  std::string tenant;  ///< only this tenant's entries; "" = every tenant (operators)
  std::string since;
  std::string until;
  std::string tool;    ///< tool_used
  std::string status;  ///< result.status: success | failure | partial | pending
  std::string intent;
  std::string source;  ///< metadata.source: api, mcp, cli, alerts, improvement, ...
  std::int64_t before_id = 0;  ///< 0 = from the newest
};

/// Which requests a listing returns, newest first (GET /v1/requests, the console). Empty
/// fields do not filter; times are ISO 8601 UTC over created_at, [since, until).
struct request_filter {
  std::string tenant;
  std::string status;  ///< running | awaiting_approval | succeeded | partial | failed | rejected | cancelled | timed_out
  std::string tool;    ///< requests with a step of this tool
  std::string since;
  std::string until;
  std::size_t limit = 50;
};

/// What Kimmy asks the journal before it classifies (docs/kimmy.md, "Context from the journal";
/// connectors: opex/connectors/request_history.hpp): the user's recent requests, those of one
/// intent, and the recent failures of some tools, all of one tenant.
struct history_query {
  std::string tenant = "default";
  std::string user_id;
  std::string intent;              ///< "" = no same-intent list
  std::vector<std::string> tools;  ///< tools whose recent failures are wanted
  int recent = 5;                  ///< the user's newest requests, any intent
  int same_intent = 3;             ///< the user's newest requests of `intent`
  int failures = 3;                ///< per tool
};

} // namespace opex
