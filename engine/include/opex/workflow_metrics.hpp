// Workflow metrics read from the SystemJournal: per tool (workflow), tenant and intent, over a
// window, how often a step ran, how often it succeeded, failed or was skipped, how long it took
// and what it cost (docs/operations.md, "Workflow metrics"). The query is pure data; the SQLite
// backend computes it over the journal's indexed `workflow_runs` rows
// (connectors/sqlite/workflow_runs.cpp).
#pragma once

#include "opex/error.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace opex {

/// A column the metrics can be grouped by.
enum class workflow_dimension { tool, tenant, intent };

/// `tool` | `tenant` | `intent`.
std::string_view workflow_dimension_name(workflow_dimension d) noexcept;

/// One metrics question. Times are ISO 8601 UTC (the journal's format); the window is
/// [since, until).
struct workflow_metrics_query {
  std::string since;
  std::string until;
  std::string tenant;  ///< "" = every tenant (operators); a tenant's key only sees its own
  std::string tool;    ///< "" = every tool
  /// Rows are grouped by these, in this order (default: tool).
  std::vector<workflow_dimension> group_by{workflow_dimension::tool};
};

/// Builds a query from HTTP or CLI parameters: `since`, `until` (ISO 8601 date-time or a
/// `YYYY-MM-DD` date, midnight UTC), `tenant`, `tool`, `group_by` (comma-separated tool, tenant,
/// intent). Defaults: until = `now`, since = until - 7 days. Errors: VALIDATION_ERROR
/// {parameter, expected, value} for a time that does not parse, since >= until, an unknown
/// dimension or a repeated one.
result<workflow_metrics_query> make_workflow_metrics_query(const std::map<std::string, std::string, std::less<>>& params,
                                                           std::chrono::system_clock::time_point now);

/// Days the window spans (at least one millisecond's worth; fractional), the divisor of
/// `executions_per_day`.
double window_days(const workflow_metrics_query& q);

} // namespace opex
