// Alert states and deliveries: projections of the journal's alert entries, written in the
// journal's transaction, so an alert's state is committed before its notification is sent and
// a restart finds what was not delivered yet (docs/operations.md, "Alerts").
#pragma once

#include <boost/json/object.hpp>

#include <string_view>

namespace opex::connectors {

class sqlite_db;

/// Two tables:
/// - `alert_states` (rule, subject, state, updated_at, status JSON): one row per rule and
///   subject, the last transition's status (opex::alert_status JSON);
/// - `alert_deliveries` (transition_id, target, state pending | delivered | failed, attempts,
///   last_error, updated_at, notification JSON): one row per transition and target.
/// Journal entries (agent system, action_type alert, tags[0] "alert"):
/// - a transition: tags[1] = the new state, result.data = {"alert": status, "notification":
///   notification JSON, "targets": [names]} (one pending delivery per target);
/// - a delivery attempt: tags[1] = "delivery", result.data = {"delivery": {"transition_id",
///   "target", "state", "attempts", "error"}}.
namespace alert_states {

/// Creates the tables. Throws std::runtime_error.
void ensure_schema(sqlite_db& db);

/// Records one journal entry when it is an alert transition or delivery (else nothing), in the
/// caller's transaction. Throws std::runtime_error.
void record(sqlite_db& db, const boost::json::object& entry, std::string_view timestamp);

/// {"alerts": [status...] (firing first, then pending, resolved, inactive; newest first),
///  "deliveries": [{"transition_id", "target", "state", "attempts", "last_error",
///  "updated_at", "notification"}] (the ones not delivered: pending and failed, oldest first,
///  at most 500)}. Throws std::runtime_error.
boost::json::object list(sqlite_db& db);

} // namespace alert_states
} // namespace opex::connectors
