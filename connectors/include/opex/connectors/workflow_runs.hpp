// Workflow runs: one indexed row per step outcome, written in the journal's transaction, so the
// workflow metrics are SQL over a few columns instead of JSON over the whole journal
// (docs/operations.md, "Workflow metrics").
#pragma once

#include "opex/workflow_metrics.hpp"

#include <boost/json/object.hpp>

#include <string_view>

namespace opex::connectors {

class sqlite_db;

/// The `workflow_runs` table: (timestamp, journal_id, tenant, tool, intent, request_id, step,
/// status, error_code, duration_ms, cost_usd, tokens), one row per journal entry of agent opex with a
/// tool and first tag `step` (a step's outcome; status is its step status: succeeded, failed,
/// timed_out, skipped, cancelled). Its key is (timestamp, journal_id), so a window is one
/// range read in order; indexed by (tool, timestamp) too.
namespace workflow_runs {

/// Creates the table and its indexes. When it is new and the journal already holds step
/// outcomes (a database made before it), fills it from them once, in SQL. Throws
/// std::runtime_error.
void ensure_schema(sqlite_db& db);

/// Records one journal entry when it is a step outcome (else nothing), in the caller's
/// transaction, after the entry's row was inserted as `journal_id`. `timestamp`, `tool` and
/// `tenant` are the entry's columns. Throws std::runtime_error.
void record(sqlite_db& db, const boost::json::object& entry, std::int64_t journal_id, std::string_view timestamp,
            std::string_view tool, std::string_view tenant);

/// The workflow metrics of `q`, read on `db` (any connection to the journal's database).
/// JSON: {"since", "until", "days", "group_by": [..], "tenant", "tool",
///        "workflows": [row...], "total": row, "per_day": [{"day", "executions", "succeeded",
///        "failed", "skipped", "cost_usd"}]}
/// where a row is {<each group_by column>, "executions", "succeeded", "failed" (failed and
/// timed_out), "skipped", "cancelled", "success_rate", "failure_rate", "skipped_rate"
/// (fractions of executions, 0 to 1), "executions_per_day", "latency_ms": {"mean", "p50",
/// "p95", "p99"} (nearest rank over the steps that ran: succeeded, failed, timed_out; null when
/// none), "cost_usd": {"total", "mean"} (USD), "tokens", "first_at", "last_at"}; rows by
/// executions, most first. Throws std::runtime_error when SQLite fails.
boost::json::object metrics(sqlite_db& db, const workflow_metrics_query& q);

/// The journal's evidence for improvement proposals (opex/improvement.hpp) over q's window and
/// tenant: {"error_codes": [{"tool", "error_code", "count", "request_ids": [at most 5, newest
/// first]}] (per tool, most frequent first), "last_used": {tool: timestamp} (the whole journal),
/// "first_at": the oldest step's timestamp, or null}. Throws std::runtime_error.
boost::json::object evidence(sqlite_db& db, const workflow_metrics_query& q);

} // namespace workflow_runs
} // namespace opex::connectors
