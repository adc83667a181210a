// SQLite journal sink.
#include "opex/connectors/sqlite_journal.hpp"

#include "opex/connectors/journal_marks.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/usage_counters.hpp"
#include "opex/connectors/alert_states.hpp"
#include "opex/connectors/workflow_runs.hpp"
#include "opex/connectors/request_history.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <iterator>

namespace opex::connectors {

namespace json = boost::json;

namespace {

std::optional<std::string> string_member(const json::object& o, std::string_view key) {
  if (auto s = get_string(o, key))
    return std::string(*s);
  return std::nullopt;
}

/// The columns of a row that the stored JSON does not repeat (docs/performance.md).
constexpr std::string_view column_keys[] = {"timestamp", "agent", "action_type", "request_id", "tool_used"};
/// Top-level members kept as null when absent, as the journal entry schema shows them.
constexpr std::string_view nullable_keys[] = {"intent", "tool_used", "payload_snapshot"};

/// Members of `result` kept as null when absent, as the journal entry schema shows them.
constexpr std::string_view nullable_result_keys[] = {"error", "error_code"};

template <std::size_t N>
bool listed(const std::string_view (&keys)[N], std::string_view key) {
  return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

/// `o` serialized without the members `leave_out` names; `write` appends each kept value.
template <typename LeaveOut, typename Write>
void append_object(std::string& out, const json::object& o, LeaveOut leave_out, Write write) {
  out.push_back('{');
  bool first = true;
  for (const auto& [key, value] : o) {
    if (leave_out(key, value))
      continue;
    if (!first)
      out.push_back(',');
    first = false;
    out += json::serialize(json::string_view(key));
    out.push_back(':');
    write(out, key, value);
  }
  out.push_back('}');
}

void append_value(std::string& out, std::string_view, const json::value& value) {
  out += json::serialize(value);
}

/// The entry without what its columns hold (the tenant too, in metadata) and without nulls at
/// the top level and in `result` (docs/performance.md, "A smaller journal row").
std::string compact_text(const json::object& e) {
  std::string out;
  out.reserve(512);
  append_object(
    out, e, [](std::string_view key, const json::value& value) { return value.is_null() || listed(column_keys, key); },
    [](std::string& to, std::string_view key, const json::value& value) {
      if (key == "result" && value.is_object())
        append_object(
          to, value.get_object(),
          [](std::string_view k, const json::value& v) { return v.is_null() && listed(nullable_result_keys, k); },
          append_value);
      else if (key == "metadata" && value.is_object())
        append_object(
          to, value.get_object(), [](std::string_view k, const json::value&) { return k == "tenant"; }, append_value);
      else
        append_value(to, key, value);
    });
  return out;
}

/// An entry as written: the columns first, the nullable members back (top level and in
/// `result`), then the rest, with the tenant column back in `metadata`.
json::object whole_entry(sqlite_statement& st, json::object stored) {
  json::object out;
  out.reserve(stored.size() + 8);
  out["id"] = st.column_int(0);
  // Rows written before the columns were left out carry them in the JSON too: the same values.
  out["timestamp"] = st.column_text(2);
  out["agent"] = st.column_text(3);
  out["action_type"] = st.column_text(4);
  out["request_id"] = st.column_text(5);
  if (auto* user = stored.if_contains("user_id"))
    out["user_id"] = std::move(*user);
  for (auto key : nullable_keys)
    out[key] = nullptr;
  if (!st.column_is_null(6))
    out["tool_used"] = st.column_text(6);
  for (auto& [key, value] : stored)
    if (!listed(column_keys, key) && key != "user_id")
      out[key] = std::move(value);
  if (auto* result = out.if_contains("result"); result && result->is_object())
    for (auto key : nullable_result_keys)
      if (!result->get_object().contains(key))
        result->get_object()[key] = nullptr;
  if (auto* metadata = out.if_contains("metadata"); metadata && metadata->is_object()
                                                     && !metadata->get_object().contains("tenant"))
    metadata->get_object()["tenant"] = st.column_text(7);
  return out;
}

} // namespace

sqlite_journal::sqlite_journal(std::shared_ptr<sqlite_db> db) : db_(std::move(db)) {}

sqlite_journal::~sqlite_journal() = default;

result<std::unique_ptr<sqlite_journal>> sqlite_journal::open(const std::string& path) {
  auto db = sqlite_db::open(path);
  if (!db)
    return db.error();
  return open_on(std::shared_ptr<sqlite_db>(std::move(db).value()));
}

void sqlite_journal::ensure_schema(sqlite_db& db) {
  db.exec(
    "CREATE TABLE IF NOT EXISTS journal ("
    " id INTEGER PRIMARY KEY,"
    " timestamp TEXT NOT NULL,"
    " request_id TEXT NOT NULL,"
    " agent TEXT NOT NULL,"
    " action_type TEXT NOT NULL,"
    " tool_used TEXT,"
    " status TEXT NOT NULL,"
    " entry TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS journal_request ON journal(request_id);"
    // Time windows go through journal_marks, tool usage through usage_counters: these two
    // indexes cost every insert and no query needs them any more (docs/performance.md).
    "DROP INDEX IF EXISTS journal_time;"
    "DROP INDEX IF EXISTS journal_tool;");
  // Databases made before tenants existed get the column (every old entry: tenant default).
  bool has_tenant = false;
  {
    sqlite_statement info(db.handle(), "PRAGMA table_info(journal)");
    while (info.step())
      has_tenant |= info.column_text(1) == "tenant";
  }
  if (!has_tenant)
    db.exec("ALTER TABLE journal ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'");
  // A tenant's entries in id order (its key is tenant then rowid): what a tenant's journal
  // query reads, newest first. It replaces journal_tenant(tenant, timestamp).
  db.exec("DROP INDEX IF EXISTS journal_tenant;"
          "CREATE INDEX IF NOT EXISTS journal_by_tenant ON journal(tenant)");
  usage_counters::ensure_schema(db);
  journal_marks::ensure_schema(db);
  workflow_runs::ensure_schema(db);
  request_history::ensure_schema(db);
  alert_states::ensure_schema(db);
}

result<std::unique_ptr<sqlite_journal>> sqlite_journal::open_on(std::shared_ptr<sqlite_db> shared) {
  try {
    ensure_schema(*shared);
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot create the journal table",
                      json::object{{"path", shared->path()}, {"reason", e.what()}});
  }
  return std::unique_ptr<sqlite_journal>(new sqlite_journal(std::move(shared)));
}

result<std::size_t> sqlite_journal::append(const std::vector<json::object>& entries) {
  try {
    sqlite_transaction tx(*db_);
    insert(entries);
    tx.commit();
    return entries.size();
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "journal write failed",
                      json::object{{"path", db_->path()}, {"reason", e.what()}});
  }
}

void sqlite_journal::insert(const std::vector<json::object>& entries) {
  {
    auto st = db_->prepared(
      "INSERT INTO journal(timestamp, request_id, agent, action_type, tool_used,"
      " status, entry, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& e : entries) {
      auto timestamp = get_string(e, "timestamp").value_or("");
      auto agent = get_string(e, "agent").value_or("system");
      auto tool = string_member(e, "tool_used");
      std::string_view status = "success";
      if (const auto* r = get_member(e, "result"); r && r->is_object())
        status = get_string(r->get_object(), "status").value_or("success");
      std::string_view tenant = "default";
      if (const auto* m = get_member(e, "metadata"); m && m->is_object())
        tenant = get_string(m->get_object(), "tenant").value_or("default");
      const auto bucket = usage_counters::bucket_of(timestamp);
      usage_counters::count(*db_, e, bucket, agent, tool ? std::string_view(*tool) : std::string_view(), status, tenant);
      st->bind(1, timestamp);
      st->bind(2, get_string(e, "request_id").value_or(""));
      st->bind(3, agent);
      st->bind(4, get_string(e, "action_type").value_or("execution"));
      st->bind_optional(5, tool);
      st->bind(6, status);
      st->bind(7, std::string_view(compact_text(e)));
      st->bind(8, tenant);
      st->step();
      const auto journal_id = db_->last_insert_id();
      workflow_runs::record(*db_, e, journal_id, timestamp, tool ? std::string_view(*tool) : std::string_view(), tenant);
      request_history::record(*db_, e, journal_id, timestamp, tenant);
      alert_states::record(*db_, e, timestamp);
      journal_marks::mark(*db_, bucket);
      st->reset();
    }
  }
}

result<std::vector<json::object>> sqlite_journal::query(const journal_query& q) {
  try {
    // Each filter is one numbered parameter; the time window starts at its hour's first id
    // (journal_marks), so `since` never scans older entries.
    std::string sql = "SELECT id, entry, timestamp, agent, action_type, request_id, tool_used, tenant FROM journal WHERE 1=1";
    const std::pair<const std::string*, const char*> text_filters[] = {
      {&q.request_id, " AND request_id = ?1"}, {&q.agent, " AND agent = ?2"},
      {&q.tenant, " AND tenant = ?3"},         {&q.since, " AND timestamp >= ?4 AND id >= ?10"},
      {&q.until, " AND timestamp < ?5"},       {&q.tool, " AND tool_used = ?6"},
      {&q.status, " AND status = ?7"},         {&q.intent, " AND json_extract(entry, '$.intent') = ?8"},
      {&q.source, " AND json_extract(entry, '$.metadata.source') = ?9"},
    };
    for (const auto& [value, clause] : text_filters)
      if (!value->empty())
        sql += clause;
    if (q.before_id > 0)
      sql += " AND id < ?11";
    sql += " ORDER BY id DESC";
    if (q.limit > 0)
      sql += " LIMIT " + std::to_string(q.limit);
    sqlite_statement st(db_->handle(), sql);
    int index = 1;
    for (const auto& [value, clause] : text_filters) {
      if (!value->empty())
        st.bind(index, std::string_view(*value));
      ++index;
    }
    if (!q.since.empty())
      st.bind(10, journal_marks::first_id_since(*db_, q.since));
    if (q.before_id > 0)
      st.bind(11, q.before_id);
    std::vector<json::object> out;
    while (st.step()) {
      auto parsed = parse_json(st.column_text(1));
      if (!parsed || !parsed->is_object())
        continue;
      out.push_back(whole_entry(st, std::move(parsed->get_object())));
    }
    std::reverse(out.begin(), out.end());
    return out;
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "journal query failed",
                      json::object{{"path", db_->path()}, {"reason", e.what()}});
  }
}

result<std::size_t> sqlite_journal::count_tool_since(const std::string& tool,
                                                     const std::string& since_timestamp) {
  try {
    auto first = journal_marks::first_id_since(*db_, since_timestamp);
    sqlite_statement st(db_->handle(),
                        "SELECT COUNT(*) FROM journal WHERE id >= ?3 AND tool_used = ?1 AND agent = 'opex'"
                        " AND status = 'success' AND timestamp >= ?2");
    st.bind(1, std::string_view(tool));
    st.bind(2, std::string_view(since_timestamp));
    st.bind(3, first);
    st.step();
    return static_cast<std::size_t>(st.column_int(0));
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "journal count failed",
                      json::object{{"reason", e.what()}});
  }
}

} // namespace opex::connectors
