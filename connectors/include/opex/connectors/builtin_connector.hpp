// The `builtin` connector: tools implemented inside opex so the engine works offline — a local
// store on SQLite for tasks, notes and calendar events, journal appends, a health check, a
// journal summary, and a no-op for benchmarks and tests.
#pragma once

#include "opex/clock.hpp"
#include "opex/connectors/connector.hpp"
#include "opex/contracts.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace opex::connectors {

/// Builtin implementations, by `target.name` (registered in connectors/builtin/builtin_registry.cpp):
/// - `task_create`: payload task_create.schema.json -> {task_id, status: "created", title,
///   due_date, priority, url}
/// - `task_update`: finds the task by task_id, else by exact title (case-insensitive) ->
///   {task_id, status: "updated", changed: [fields]}; unknown task -> TOOL_EXECUTION_FAILED
///   {reason: "task_not_found"}
/// - `calendar_event_create`: start from `start` (date-time or {dateTime}) or `date`
///   (+ optional time), end from `end` or `duration_minutes` (default 60) -> {event_id,
///   status: "created", summary, start, end}
/// - `note_create`: -> {doc_id, status: "created", title}
/// - `doc_update`: by doc_id or title; operation replace|append|prepend -> {doc_id,
///   status: "updated"}
/// - `log_append`: writes one journal entry (agent system, action_type reporting) -> {logged}
/// - `healthcheck`: -> {status: "ok"|"degraded", checks: {database, journal}}
/// - `journal_summary`: the last 7 days of the journal -> {since, requests, by_agent,
///   by_status, top_tools, failures}
/// - `cost_report` (COST_REPORT_RUN): the calling tenant's costs opex journaled over `period`
///   (daily|weekly|monthly = the last 1|7|30 days, custom = start_date..end_date) -> {period,
///   since, until, tenant, currency: "USD", total_cost_usd, requests, by_day: [{day, cost_usd,
///   requests}], source}; format csv|pdf -> TOOL_EXECUTION_FAILED {reason: "unsupported_format"}
/// - `noop`: -> {echo: payload.echo}; `fail_with: CODE` fails with that error code;
///   `delay_ms` answers after that delay (timer, not a sleep)
struct builtin_options {
  std::string database;  ///< the journal's SQLite file; items go to <name>-items.db beside it
  std::int64_t checkpoint_pages = 0;  ///< > 0: the items database checkpoints in the background
  std::string backend = "sqlite";     ///< the local store's backend (storage.backend)
  std::shared_ptr<const clock> time;              ///< timestamps of created items
  std::function<void(journal_entry)> journal_sink;  ///< where log_append writes
};

/// Runs builtin tools: SQLite work on its own worker thread, noops inline. Thread-safe.
class builtin_connector final : public connector {
public:
  explicit builtin_connector(builtin_options options);
  ~builtin_connector() override;

  /// True when `name` is a builtin implementation.
  static bool has_builtin(std::string_view name) noexcept;

  /// The builtin implementing a reference tool id (TASK_CREATE -> task_create, ...), or "".
  static std::string_view builtin_for_tool(std::string_view tool_id) noexcept;

  cancel_handle call(const tool_definition& tool, const boost::json::object& payload,
                     const call_context& ctx, call_completion done) override;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace opex::connectors
