// The alert evaluator's book (docs/operations.md, "Alerts"): the rules' states per subject and
// the deliveries still open, what an evaluation changes and the journal entries that record it.
// Plain logic, tested without actors; the evaluator actor (alert_evaluator.cpp) reads the
// metrics, commits the entries and delivers.
#pragma once

#include "opex/alerts.hpp"
#include "opex/contracts.hpp"
#include "opex/error.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace opex::actors {

/// One transition an evaluation makes, with what it delivers.
struct planned_transition {
  alert_transition transition;
  boost::json::object notification;  ///< alert_notification (empty when not delivered)
  std::vector<std::string> targets;  ///< the targets it goes to (none unless it notifies)
};

/// A notification to deliver to one target.
enum class delivery_state { pending, delivered, failed };

struct alert_delivery {
  std::string transition_id;
  std::string target;
  boost::json::object notification;
  int attempts = 0;
  delivery_state state = delivery_state::pending;
  bool in_flight = false;
  std::string last_error;
};

class alert_book {
public:
  explicit alert_book(alert_settings settings);

  const alert_settings& settings() const noexcept { return settings_; }
  const alert_target* target(std::string_view name) const noexcept;

  /// Loads what the database holds (connectors::alert_states::list's JSON); rows that do not
  /// parse are left out.
  void load(const boost::json::object& stored);

  /// The windows (ms) the rules need metrics over, each once.
  std::vector<std::int64_t> windows() const;

  /// The transitions of one evaluation at `now`, from the metrics of each window (grouped by
  /// tool). Subjects with a pending or firing state and no observation are evaluated as not
  /// breached. `new_id` gives each transition its id. Changes nothing.
  std::vector<planned_transition> evaluate(const std::map<std::int64_t, boost::json::object>& metrics,
                                           std::chrono::system_clock::time_point now,
                                           const std::function<std::string()>& new_id) const;

  /// The journal entries recording `planned` (agent system, action_type alert; schema in
  /// opex/connectors/alert_states.hpp), timestamped `now`.
  static std::vector<journal_entry> entries(const std::vector<planned_transition>& planned, const std::string& now);

  /// After the entries are committed: the states change and a delivery opens per target.
  void apply(const std::vector<planned_transition>& planned);

  /// The deliveries to attempt now (pending, not in flight, attempts left), marked in flight
  /// with their attempt counted; copies.
  std::vector<alert_delivery> start_due();

  /// Records a delivery attempt's outcome and returns the journal entry recording it (state
  /// delivered, pending to retry, or failed once max_delivery_attempts are spent).
  journal_entry finish(const std::string& transition_id, const std::string& target, const error_info& error,
                       const std::string& now);

  /// {"enabled", "evaluation_interval_ms", "rules": [{"name", "kind", "threshold", "window_ms",
  /// "min_count", "for_ms", "severity", "targets"}], "targets": [{"name", "type"}], "alerts":
  /// [status...] (firing first), "deliveries": [open or failed deliveries]}.
  boost::json::object to_json() const;

  /// Statuses, firing first (as to_json's "alerts").
  boost::json::array alerts_json() const;

private:
  alert_settings settings_;
  std::map<std::pair<std::string, std::string>, alert_status> states_;     ///< (rule, subject)
  std::map<std::pair<std::string, std::string>, alert_delivery> open_;     ///< (transition, target)
};

std::string_view delivery_state_name(delivery_state s) noexcept;

} // namespace opex::actors
