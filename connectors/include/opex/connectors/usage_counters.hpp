// Usage counted as the SystemJournal is written, so quotas and budgets read a few counter rows
// instead of scanning the day's or the month's journal on every request (docs/guarded-execution.md,
// "Quotas and budgets: usage counters").
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace opex::connectors {

class sqlite_db;

/// The `usage_counters` table: one row per (kind, subject, tenant, bucket), bucket the UTC start
/// of a 15-minute interval as "YYYY-MM-DDTHH:MM" (every time zone's midnight falls on one), with
/// `count` and `cost_usd` (USD). Kinds:
/// - `tool_success`, subject a tool id: step outcomes of opex that succeeded (journal entries
///   with agent opex, a tool, status success, first tag `step`);
/// - `cost`, subject "": metadata.cost_usd of opex's tool entries and of Kimmy's and Prolex's;
/// - `request`, subject "": requests the Proxy Master journaled, counted at their first entry;
/// - a fact a guard policy asked to record once a step succeeded (the step entry's
///   `metadata.facts: [{kind, subject}]`, guard_verdict::facts), tenant and bucket "": today
///   `workflow_tested`, subject a workflow name or id an n8n test succeeded for.
namespace usage_counters {

/// Creates the table. When it is new and the journal already holds entries (a database made
/// before the counters), fills it from them once, in SQL. Throws std::runtime_error.
void ensure_schema(sqlite_db& db);

/// Counts one journal entry, in the caller's transaction, before the entry is inserted (a
/// request is counted when no proxy entry of it is in the journal yet). `bucket` is
/// bucket_of(the entry's timestamp); `agent`, `tool` (empty when none), `status` and `tenant`
/// are the entry's columns. Throws std::runtime_error.
void count(sqlite_db& db, const boost::json::object& entry, std::string_view bucket, std::string_view agent,
           std::string_view tool, std::string_view status, std::string_view tenant);

/// "YYYY-MM-DDTHH:MM" of the 15-minute bucket holding an RFC 3339 UTC timestamp
/// ("2026-12-02T07:44:10.123Z" -> "2026-12-02T07:30"); the text unchanged when it is shorter.
std::string bucket_of(std::string_view timestamp);

/// bucket_of() of the column `timestamp`, as an SQL expression (for statements over the
/// journal's rows: filling counters or marks from an older database).
inline constexpr std::string_view timestamp_bucket_sql =
  "substr(timestamp, 1, 14) || printf('%02d', (CAST(substr(timestamp, 15, 2) AS INTEGER) / 15) * 15)";

} // namespace usage_counters
} // namespace opex::connectors
