// Request history (opex/connectors/request_history.hpp).
#include "opex/connectors/request_history.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <set>

namespace opex::connectors::request_history {

namespace json = boost::json;

namespace {

constexpr const char* columns = "request_id, timestamp, intent, language, text, parameters, tools";

json::value parsed_or(const std::string& text, json::value fallback) {
  auto v = parse_json(text);
  return v ? std::move(v).value() : fallback;
}

json::array requests_of(sqlite_statement& st) {
  json::array out;
  while (st.step()) {
    json::array tools;
    if (auto v = parsed_or(st.column_text(6), json::array{}); v.is_array())
      tools = std::move(v.get_array());
    auto params = parsed_or(st.column_text(5), json::object{});
    out.push_back(json::object{{"request_id", st.column_text(0)},
                               {"timestamp", st.column_text(1)},
                               {"intent", st.column_text(2)},
                               {"language", st.column_text(3)},
                               {"text", st.column_text(4)},
                               {"parameters", params.is_object() ? params : json::object{}},
                               {"tools", std::move(tools)}});
  }
  return out;
}

} // namespace

void ensure_schema(sqlite_db& db) {
  if (db.has_table("request_history"))
    return;
  sqlite_transaction tx(db);
  db.exec(
    "CREATE TABLE request_history (tenant TEXT NOT NULL, user_id TEXT NOT NULL, timestamp TEXT NOT NULL,"
    " journal_id INTEGER NOT NULL, request_id TEXT NOT NULL, intent TEXT NOT NULL, language TEXT NOT NULL,"
    " text TEXT NOT NULL, parameters TEXT NOT NULL, tools TEXT NOT NULL,"
    " PRIMARY KEY (tenant, user_id, timestamp, journal_id)) WITHOUT ROWID;"
    "CREATE INDEX request_history_intent ON request_history(tenant, user_id, intent, timestamp);");
  if (db.has_table("journal"))
    db.exec(
      "INSERT INTO request_history(tenant, user_id, timestamp, journal_id, request_id, intent, language, text,"
      " parameters, tools)"
      " SELECT tenant, json_extract(entry, '$.user_id'), timestamp, id, request_id,"
      " json_extract(entry, '$.payload_snapshot.intent'), COALESCE(json_extract(entry, '$.payload_snapshot.language'), ''),"
      " substr(COALESCE(json_extract(entry, '$.payload_snapshot.raw_input'), ''), 1, 300),"
      " COALESCE(json_extract(entry, '$.payload_snapshot.parameters'), '{}'),"
      " COALESCE(json_extract(entry, '$.payload_snapshot.suggested_tools'), '[]')"
      " FROM journal WHERE agent = 'kimmy' AND action_type = 'classification'"
      " AND json_type(entry, '$.user_id') = 'text' AND json_extract(entry, '$.user_id') <> ''"
      " AND json_type(entry, '$.payload_snapshot.intent') = 'text' ORDER BY id");
  tx.commit();
}

void record(sqlite_db& db, const json::object& entry, std::int64_t journal_id, std::string_view timestamp,
            std::string_view tenant) {
  if (get_string(entry, "agent").value_or("") != "kimmy" || get_string(entry, "action_type").value_or("") != "classification")
    return;
  auto user = get_string(entry, "user_id").value_or("");
  const auto* snapshot = get_member(entry, "payload_snapshot");
  if (user.empty() || !snapshot || !snapshot->is_object())
    return;
  const auto& p = snapshot->get_object();
  auto intent = get_string(p, "intent");
  if (!intent)
    return;
  const auto* params = get_member(p, "parameters");
  const auto* tools = get_member(p, "suggested_tools");
  auto st = db.prepared(
    "INSERT OR IGNORE INTO request_history(tenant, user_id, timestamp, journal_id, request_id, intent, language,"
    " text, parameters, tools) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, substr(?8, 1, 300), ?9, ?10)");
  st->bind(1, tenant);
  st->bind(2, user);
  st->bind(3, timestamp);
  st->bind(4, journal_id);
  st->bind(5, get_string(entry, "request_id").value_or(""));
  st->bind(6, *intent);
  st->bind(7, get_string(p, "language").value_or(""));
  st->bind(8, get_string(p, "raw_input").value_or(""));
  st->bind(9, std::string_view(params && params->is_object() ? json::serialize(*params) : std::string("{}")));
  st->bind(10, std::string_view(tools && tools->is_array() ? json::serialize(*tools) : std::string("[]")));
  st->step();
}

json::object lookup(sqlite_db& db, const history_query& q) {
  json::object out{{"recent", json::array{}}, {"same_intent", json::array{}}, {"failures", json::array{}}};
  if (q.user_id.empty())
    return out;
  auto recent = db.prepared(std::string("SELECT ") + columns +
                            " FROM request_history WHERE tenant = ?1 AND user_id = ?2"
                            " ORDER BY timestamp DESC, journal_id DESC LIMIT ?3");
  recent->bind(1, std::string_view(q.tenant));
  recent->bind(2, std::string_view(q.user_id));
  recent->bind(3, static_cast<std::int64_t>(q.recent));
  auto recent_rows = requests_of(*recent);
  if (!q.intent.empty()) {
    auto same = db.prepared(std::string("SELECT ") + columns +
                            " FROM request_history WHERE tenant = ?1 AND user_id = ?2 AND intent = ?3"
                            " ORDER BY timestamp DESC LIMIT ?4");
    same->bind(1, std::string_view(q.tenant));
    same->bind(2, std::string_view(q.user_id));
    same->bind(3, std::string_view(q.intent));
    same->bind(4, static_cast<std::int64_t>(q.same_intent));
    out["same_intent"] = requests_of(*same);
  }
  // The tools asked for, then those of the recent requests (a follow-up plans with one of them).
  std::vector<std::string> tools = q.tools;
  std::set<std::string> seen(tools.begin(), tools.end());
  for (const auto& r : recent_rows)
    for (const auto& t : r.as_object().at("tools").as_array())
      if (t.is_string() && seen.insert(std::string(t.get_string())).second)
        tools.emplace_back(t.get_string());
  auto failed = db.prepared(
    "SELECT request_id, error_code, timestamp FROM workflow_runs WHERE tool = ?1 AND tenant = ?2"
    " AND status IN ('failed', 'timed_out') ORDER BY timestamp DESC LIMIT ?3");
  json::array failures;
  for (const auto& tool : tools) {
    failed->bind(1, std::string_view(tool));
    failed->bind(2, std::string_view(q.tenant));
    failed->bind(3, static_cast<std::int64_t>(q.failures));
    while (failed->step())
      failures.push_back(json::object{{"tool", tool},
                                      {"request_id", failed->column_text(0)},
                                      {"error_code", failed->column_is_null(1) ? json::value(nullptr)
                                                                               : json::value(failed->column_text(1))},
                                      {"timestamp", failed->column_text(2)}});
    failed->reset();
  }
  out["recent"] = std::move(recent_rows);
  out["failures"] = std::move(failures);
  return out;
}

} // namespace opex::connectors::request_history
