// Alert states and deliveries (opex/connectors/alert_states.hpp).
#include "opex/connectors/alert_states.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace opex::connectors::alert_states {

namespace json = boost::json;

namespace {

const json::object* data_of(const json::object& entry) {
  const auto* r = get_member(entry, "result");
  const auto* d = r && r->is_object() ? get_member(r->get_object(), "data") : nullptr;
  return d && d->is_object() ? &d->get_object() : nullptr;
}

std::string_view tag(const json::object& entry, std::size_t i) {
  const auto* tags = get_member(entry, "tags");
  if (!tags || !tags->is_array() || tags->get_array().size() <= i || !tags->get_array()[i].is_string())
    return {};
  return tags->get_array()[i].get_string();
}

void record_transition(sqlite_db& db, const json::object& data, std::string_view timestamp) {
  const auto* alert = get_member(data, "alert");
  if (!alert || !alert->is_object())
    return;
  const auto& a = alert->get_object();
  auto st = db.prepared(
    "INSERT INTO alert_states(rule, subject, state, updated_at, status) VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(rule, subject) DO UPDATE SET state = ?3, updated_at = ?4, status = ?5");
  st->bind(1, get_string(a, "rule").value_or(""));
  st->bind(2, get_string(a, "subject").value_or(""));
  st->bind(3, get_string(a, "state").value_or(""));
  st->bind(4, timestamp);
  st->bind(5, std::string_view(json::serialize(a)));
  st->step();
  const auto* targets = get_member(data, "targets");
  const auto* notification = get_member(data, "notification");
  if (!targets || !targets->is_array() || !notification)
    return;
  const auto text = json::serialize(*notification);
  auto ins = db.prepared(
    "INSERT OR IGNORE INTO alert_deliveries(transition_id, target, state, attempts, updated_at, notification)"
    " VALUES (?1, ?2, 'pending', 0, ?3, ?4)");
  for (const auto& t : targets->get_array()) {
    if (!t.is_string())
      continue;
    ins->bind(1, get_string(a, "transition_id").value_or(""));
    ins->bind(2, std::string_view(t.get_string()));
    ins->bind(3, timestamp);
    ins->bind(4, std::string_view(text));
    ins->step();
    ins->reset();
  }
}

void record_delivery(sqlite_db& db, const json::object& data, std::string_view timestamp) {
  const auto* d = get_member(data, "delivery");
  if (!d || !d->is_object())
    return;
  const auto& o = d->get_object();
  auto st = db.prepared(
    "UPDATE alert_deliveries SET state = ?3, attempts = ?4, last_error = ?5, updated_at = ?6"
    " WHERE transition_id = ?1 AND target = ?2");
  st->bind(1, get_string(o, "transition_id").value_or(""));
  st->bind(2, get_string(o, "target").value_or(""));
  st->bind(3, get_string(o, "state").value_or("pending"));
  st->bind(4, static_cast<std::int64_t>(get_number(o, "attempts").value_or(0)));
  if (auto e = get_string(o, "error"))
    st->bind(5, *e);
  else
    st->bind_null(5);
  st->bind(6, timestamp);
  st->step();
}

json::value parsed(const std::string& text) {
  auto v = parse_json(text);
  return v ? std::move(v).value() : json::value(nullptr);
}

} // namespace

void ensure_schema(sqlite_db& db) {
  db.exec(
    "CREATE TABLE IF NOT EXISTS alert_states (rule TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL,"
    " updated_at TEXT NOT NULL, status TEXT NOT NULL, PRIMARY KEY (rule, subject)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS alert_deliveries (transition_id TEXT NOT NULL, target TEXT NOT NULL,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, updated_at TEXT NOT NULL,"
    " notification TEXT NOT NULL, PRIMARY KEY (transition_id, target)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS alert_deliveries_open ON alert_deliveries(state, updated_at);");
}

void record(sqlite_db& db, const json::object& entry, std::string_view timestamp) {
  if (get_string(entry, "action_type").value_or("") != "alert" || tag(entry, 0) != "alert")
    return;
  const auto* data = data_of(entry);
  if (!data)
    return;
  if (tag(entry, 1) == "delivery")
    record_delivery(db, *data, timestamp);
  else
    record_transition(db, *data, timestamp);
}

json::object list(sqlite_db& db) {
  json::array alerts;
  {
    auto st = db.prepared(
      "SELECT status FROM alert_states ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'pending' THEN 1"
      " WHEN 'resolved' THEN 2 ELSE 3 END, updated_at DESC");
    while (st->step())
      alerts.push_back(parsed(st->column_text(0)));
  }
  json::array deliveries;
  {
    auto st = db.prepared(
      "SELECT transition_id, target, state, attempts, last_error, updated_at, notification FROM alert_deliveries"
      " WHERE state != 'delivered' ORDER BY updated_at LIMIT 500");
    while (st->step())
      deliveries.push_back(json::object{
        {"transition_id", st->column_text(0)},
        {"target", st->column_text(1)},
        {"state", st->column_text(2)},
        {"attempts", st->column_int(3)},
        {"last_error", st->column_is_null(4) ? json::value(nullptr) : json::value(st->column_text(4))},
        {"updated_at", st->column_text(5)},
        {"notification", parsed(st->column_text(6))}});
  }
  return json::object{{"alerts", std::move(alerts)}, {"deliveries", std::move(deliveries)}};
}

} // namespace opex::connectors::alert_states
