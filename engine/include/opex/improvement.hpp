// Improvement proposals from the SystemJournal (docs/operations.md, "Improvement proposals"):
// what a person should look at, with its evidence, as TODO_CREATE payloads for human review.
// Pure logic over the workflow metrics and the journal's evidence; it never changes
// configuration, rules or the catalogue: `opexctl improve --apply` only submits the TODOs
// through the guarded pipeline.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace opex {

/// What makes a proposal. Rates are fractions (0 to 1), durations ms, costs USD.
struct improvement_settings {
  double failure_rate = 0.10;     ///< a tool failing more than this with one error code
  int min_executions = 5;         ///< fewer steps than this in the window prove nothing
  double latency_target_ms = 30000;  ///< a workflow whose p95 exceeds its target
  std::map<std::string, double, std::less<>> latency_targets_ms;  ///< per tool, overriding the above
  double cost_factor = 3.0;       ///< a day costing more than this times the window's daily mean
  int unused_days = 30;           ///< a catalogue tool with no step for this many days
};

/// `improvement:` in opex.yml: the daily run (off by default) and its thresholds.
struct improvement_schedule {
  bool daily = false;         ///< run once a day in the engine (opexd), creating the TODOs
  int at_minute = 6 * 60;     ///< when, in minutes after midnight UTC (`at: "06:00"`)
  int window_days = 30;       ///< the window it reads, ending now
  improvement_settings settings;
};

/// The UTC date (`YYYY-MM-DD`) whose daily run is due at `now`: today once its `at_minute` has
/// passed, unless `last_run_day` is today already; nullopt otherwise.
std::optional<std::string> improvement_run_due(std::chrono::system_clock::time_point now, int at_minute,
                                               std::string_view last_run_day);

/// The kinds of proposal.
enum class improvement_kind { recurrent_error, slow_workflow, cost_anomaly, unused_tool };

/// `recurrent_error` | `slow_workflow` | `cost_anomaly` | `unused_tool`.
std::string_view improvement_kind_name(improvement_kind k) noexcept;

/// One proposal. JSON (to_json): {"kind", "subject" (a tool or a day), "title", "evidence":
/// {...}, "idempotency_key", "todo": {"type": "tool_call", "tool": "TODO_CREATE", "payload":
/// {"title", "notes", "priority"}}}.
struct improvement_proposal {
  improvement_kind kind = improvement_kind::recurrent_error;
  std::string subject;
  std::string title;
  boost::json::object evidence;
  std::string priority = "medium";
  /// `improve:<kind>:<subject>:<date>`: applying the same proposal twice in a day creates one TODO.
  std::string idempotency_key;
  std::string notes;  ///< the evidence in words, for the TODO

  boost::json::object to_json() const;
};

/// What the proposals are made from: the workflow metrics of the window grouped by tool
/// (opex/connectors/workflow_runs.hpp), the journal's evidence (error codes by tool with
/// request ids, each tool's last step, the first step's time: workflow_runs::evidence), the
/// catalogue's tool ids, and now.
struct improvement_input {
  boost::json::object metrics;
  boost::json::object evidence;
  std::vector<std::string> catalogue_tools;
  std::chrono::system_clock::time_point now;
};

/// The proposals, in kind order then by subject.
std::vector<improvement_proposal> propose_improvements(const improvement_input& in, const improvement_settings& s);

} // namespace opex
