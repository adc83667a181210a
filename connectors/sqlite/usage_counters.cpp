// Usage counters kept in the journal's transaction (opex/connectors/usage_counters.hpp).
#include "opex/connectors/usage_counters.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

namespace opex::connectors::usage_counters {

namespace json = boost::json;

namespace {

void add(sqlite_db& db, std::string_view kind, std::string_view subject, std::string_view tenant,
         std::string_view bucket, std::int64_t count, double cost_usd) {
  auto st = db.prepared(
    "INSERT INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(kind, subject, tenant, bucket) DO UPDATE SET count = count + excluded.count,"
    " cost_usd = cost_usd + excluded.cost_usd");
  st->bind(1, kind);
  st->bind(2, subject);
  st->bind(3, tenant);
  st->bind(4, bucket);
  st->bind(5, count);
  st->bind(6, cost_usd);
  st->step();
}

bool first_tag_is_step(const json::object& entry) {
  const auto* tags = get_member(entry, "tags");
  return tags && tags->is_array() && !tags->get_array().empty() && tags->get_array()[0].is_string()
         && tags->get_array()[0].get_string() == "step";
}

double cost_of(const json::object& entry) {
  const auto* m = get_member(entry, "metadata");
  return m && m->is_object() ? get_number(m->get_object(), "cost_usd").value_or(0.0) : 0.0;
}

bool proxy_entry_exists(sqlite_db& db, std::string_view request_id) {
  auto st = db.prepared("SELECT 1 FROM journal WHERE request_id = ?1 AND agent = 'proxy' LIMIT 1");
  st->bind(1, request_id);
  return st->step();
}

void fill_from_journal(sqlite_db& db) {
  const std::string b(timestamp_bucket_sql);
  db.exec(
    "INSERT INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd)"
    " SELECT 'tool_success', tool_used, tenant, " + b + ", COUNT(*), 0 FROM journal"
    " WHERE agent = 'opex' AND tool_used IS NOT NULL AND status = 'success'"
    " AND json_extract(entry, '$.tags[0]') = 'step' GROUP BY 1, 2, 3, 4;"
    "INSERT INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd)"
    " SELECT 'cost', '', tenant, " + b + ", 0, SUM(json_extract(entry, '$.metadata.cost_usd')) FROM journal"
    " WHERE ((agent = 'opex' AND tool_used IS NOT NULL) OR agent IN ('kimmy', 'prolex'))"
    " AND json_type(entry, '$.metadata.cost_usd') IN ('integer', 'real') GROUP BY 1, 2, 3, 4;"
    "INSERT INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd)"
    " SELECT 'request', '', tenant, " + b + ", COUNT(*), 0 FROM"
    " (SELECT tenant, MIN(timestamp) AS timestamp FROM journal WHERE agent = 'proxy' GROUP BY request_id)"
    " GROUP BY 1, 2, 3, 4;"
    "INSERT OR IGNORE INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd)"
    " SELECT json_extract(f.value, '$.kind'), json_extract(f.value, '$.subject'), '', '', 1, 0"
    " FROM journal, json_each(journal.entry, '$.metadata.facts') AS f"
    " WHERE agent = 'opex' AND status = 'success' AND json_extract(entry, '$.tags[0]') = 'step'"
    " AND json_type(f.value, '$.kind') = 'text' AND json_type(f.value, '$.subject') = 'text';"
    // Journals written before steps carried metadata.facts: their successful tests.
    "INSERT OR IGNORE INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd)"
    " SELECT 'workflow_tested', json_extract(entry, p.path), '', '', 1, 0"
    " FROM journal, (SELECT '$.payload_snapshot.workflow_name' AS path UNION ALL"
    " SELECT '$.payload_snapshot.workflow_id') AS p"
    " WHERE agent = 'opex' AND tool_used = 'N8N_WORKFLOW_TEST' AND status = 'success'"
    " AND json_extract(entry, '$.tags[0]') = 'step' AND json_type(entry, p.path) = 'text';");
}

} // namespace

std::string bucket_of(std::string_view ts) {
  if (ts.size() < 16)
    return std::string(ts);
  int minute = (ts[14] - '0') * 10 + (ts[15] - '0');
  std::string out(ts.substr(0, 14));
  int start = minute / 15 * 15;
  out += static_cast<char>('0' + start / 10);
  out += static_cast<char>('0' + start % 10);
  return out;
}

void ensure_schema(sqlite_db& db) {
  if (db.has_table("usage_counters"))
    return;
  sqlite_transaction tx(db);
  db.exec(
    "CREATE TABLE usage_counters (kind TEXT NOT NULL, subject TEXT NOT NULL, tenant TEXT NOT NULL,"
    " bucket TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,"
    " PRIMARY KEY (kind, subject, tenant, bucket)) WITHOUT ROWID");
  if (db.has_table("journal"))
    fill_from_journal(db);
  tx.commit();
}

void count(sqlite_db& db, const json::object& entry, std::string_view bucket, std::string_view agent,
           std::string_view tool, std::string_view status, std::string_view tenant) {
  bool opex_tool = agent == "opex" && !tool.empty();
  if (!opex_tool && agent != "kimmy" && agent != "prolex" && agent != "proxy")
    return;
  if (opex_tool && status == "success" && first_tag_is_step(entry)) {
    add(db, "tool_success", tool, tenant, bucket, 1, 0.0);
    // Facts the guard asked to record once the step succeeded (metadata.facts: [{kind, subject}]).
    if (const auto* md = get_member(entry, "metadata"); md && md->is_object())
      if (const auto* facts = get_member(md->get_object(), "facts"); facts && facts->is_array())
        for (const auto& f : facts->get_array()) {
          const auto* fo = f.if_object();
          auto kind = fo ? get_string(*fo, "kind") : std::nullopt;
          auto subject = fo ? get_string(*fo, "subject") : std::nullopt;
          if (!kind || !subject)
            continue;
          auto st = db.prepared(
            "INSERT OR IGNORE INTO usage_counters(kind, subject, tenant, bucket, count, cost_usd)"
            " VALUES (?1, ?2, '', '', 1, 0)");
          st->bind(1, *kind);
          st->bind(2, *subject);
          st->step();
        }
  }
  if (opex_tool || agent == "kimmy" || agent == "prolex")
    if (double cost = cost_of(entry); cost != 0.0)
      add(db, "cost", "", tenant, bucket, 0, cost);
  if (agent == "proxy") {
    auto request_id = get_string(entry, "request_id").value_or("");
    if (!proxy_entry_exists(db, request_id))
      add(db, "request", "", tenant, bucket, 1, 0.0);
  }
}

} // namespace opex::connectors::usage_counters
