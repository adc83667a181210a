// Plan state and approvals on SQLite.
#include "opex/connectors/plan_store.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"
#include "opex/connectors/usage_counters.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>
#include <openssl/rand.h>

namespace opex::connectors {

namespace json = boost::json;

namespace {

std::string text_of(const json::value& v) {
  return v.is_null() ? std::string{} : json::serialize(v);
}

json::value parse_or_null(const std::string& text) {
  if (text.empty())
    return nullptr;
  auto v = parse_json(text);
  return v ? std::move(v).value() : json::value(nullptr);
}

approval_record approval_from(sqlite_statement& st) {
  approval_record a;
  a.id = st.column_text(0);
  a.tenant = st.column_text(1);
  a.request_id = st.column_text(2);
  a.step = static_cast<int>(st.column_int(3));
  a.tool = st.column_text(4);
  a.kind = parse_approval_kind(st.column_text(5)).value_or(approval_kind::step);
  a.subject = st.column_text(6);
  a.payload_digest = st.column_text(7);
  a.reason = st.column_text(8);
  a.status = parse_approval_status(st.column_text(9)).value_or(approval_status::pending);
  a.requires_code = st.column_int(10) != 0;
  a.created_at = st.column_text(11);
  a.expires_at = st.column_text(12);
  a.decided_by = st.column_text(13);
  a.decided_at = st.column_text(14);
  a.comment = st.column_text(15);
  return a;
}

constexpr const char* approval_columns =
  "id, tenant, request_id, step, tool, kind, subject, payload_digest, reason, status, requires_code,"
  " created_at, expires_at, decided_by, decided_at, comment";

} // namespace

json::object approval_record::to_json() const {
  json::object o{{"id", id},
                 {"tenant", tenant},
                 {"request_id", request_id},
                 {"step", step},
                 {"tool", tool},
                 {"kind", approval_kind_name(kind)},
                 {"payload_digest", payload_digest},
                 {"reason", reason},
                 {"status", approval_status_name(status)},
                 {"requires_code", requires_code},
                 {"created_at", created_at},
                 {"expires_at", expires_at}};
  o["subject"] = subject.empty() ? json::value(nullptr) : json::value(subject);
  o["decided_by"] = decided_by.empty() ? json::value(nullptr) : json::value(decided_by);
  o["decided_at"] = decided_at.empty() ? json::value(nullptr) : json::value(decided_at);
  o["comment"] = comment.empty() ? json::value(nullptr) : json::value(comment);
  return o;
}

plan_store::plan_store(std::shared_ptr<sqlite_db> db) : db_(std::move(db)) {}

plan_store::~plan_store() {
  if (in_batch_) {
    try {
      db_->exec("COMMIT");
    } catch (const std::exception&) {
    }
  }
}

result<std::unique_ptr<plan_store>> plan_store::open(const std::string& path) {
  auto db = sqlite_db::open(path);
  if (!db)
    return db.error();
  return open_on(std::shared_ptr<sqlite_db>(std::move(db).value()));
}

result<std::unique_ptr<plan_store>> plan_store::open_on(std::shared_ptr<sqlite_db> shared) {
  auto* db = &shared;
  const std::string path = shared->path();
  try {
    (*db)->exec(
      "CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL,"
      " status TEXT NOT NULL, output TEXT, result TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS requests_status ON requests(status);"
      "CREATE TABLE IF NOT EXISTS steps (request_id TEXT NOT NULL, step INTEGER NOT NULL, tool TEXT NOT NULL,"
      " status TEXT NOT NULL, payload TEXT, data TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
      " updated_at TEXT NOT NULL, PRIMARY KEY (request_id, step));"
      "CREATE TABLE IF NOT EXISTS approvals (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, request_id TEXT NOT NULL,"
      " step INTEGER NOT NULL, tool TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '',"
      " payload_digest TEXT NOT NULL, reason TEXT NOT NULL, status TEXT NOT NULL, requires_code INTEGER NOT NULL,"
      " created_at TEXT NOT NULL, expires_at TEXT NOT NULL, decided_by TEXT NOT NULL DEFAULT '',"
      " decided_at TEXT NOT NULL DEFAULT '', comment TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX IF NOT EXISTS approvals_status ON approvals(status, expires_at);"
      "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);");
    sqlite_journal::ensure_schema(**db);  // usage counters are filled from an older journal
    // Databases made before idempotency keys get the columns.
    bool has_key = false;
    {
      sqlite_statement info((*db)->handle(), "PRAGMA table_info(requests)");
      while (info.step())
        has_key |= info.column_text(1) == "idempotency_key";
    }
    if (!has_key)
      (*db)->exec("ALTER TABLE requests ADD COLUMN idempotency_key TEXT;"
                  "ALTER TABLE requests ADD COLUMN body_digest TEXT;");
    (*db)->exec(
      "CREATE UNIQUE INDEX IF NOT EXISTS requests_key ON requests(tenant, idempotency_key)"
      " WHERE idempotency_key IS NOT NULL;"
      "CREATE INDEX IF NOT EXISTS requests_keyed ON requests(created_at) WHERE idempotency_key IS NOT NULL;");
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot create the plan state tables",
                      json::object{{"path", path}, {"reason", e.what()}});
  }
  return std::unique_ptr<plan_store>(new plan_store(std::move(shared)));
}

void plan_store::begin() {
  if (!in_batch_) {
    db_->exec("BEGIN IMMEDIATE");
    in_batch_ = true;
  }
}

void plan_store::commit() {
  if (in_batch_) {
    in_batch_ = false;
    db_->exec("COMMIT");
  }
}

void plan_store::save_request(const stored_request& r) {
  auto st = db_->prepared("INSERT INTO requests(id, tenant, user_id, status, output, result, created_at, updated_at,"
                      " idempotency_key, body_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                      " ON CONFLICT(id) DO UPDATE SET status = ?4, output = coalesce(?5, output),"
                      " result = coalesce(?6, result), updated_at = ?8,"
                      " idempotency_key = coalesce(idempotency_key, ?9), body_digest = coalesce(body_digest, ?10)"
                      " WHERE tenant = ?2");
  st->bind(1, std::string_view(r.id));
  st->bind(2, std::string_view(r.tenant));
  st->bind(3, std::string_view(r.user_id));
  st->bind(4, std::string_view(r.status));
  auto out = text_of(r.output), res = text_of(r.result);
  if (out.empty())
    st->bind_null(5);
  else
    st->bind(5, std::string_view(out));
  if (res.empty())
    st->bind_null(6);
  else
    st->bind(6, std::string_view(res));
  st->bind(7, std::string_view(r.created_at.empty() ? r.updated_at : r.created_at));
  st->bind(8, std::string_view(r.updated_at));
  if (r.idempotency_key.empty())
    st->bind_null(9);
  else
    st->bind(9, std::string_view(r.idempotency_key));
  if (r.body_digest.empty())
    st->bind_null(10);
  else
    st->bind(10, std::string_view(r.body_digest));
  st->step();
}

void plan_store::save_step(const stored_step& s) {
  auto st = db_->prepared("INSERT INTO steps(request_id, step, tool, status, payload, data, error, attempts, updated_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(request_id, step) DO UPDATE SET"
                      " status = ?4, payload = coalesce(?5, payload), data = ?6, error = ?7, attempts = ?8,"
                      " updated_at = ?9");
  st->bind(1, std::string_view(s.request_id));
  st->bind(2, static_cast<std::int64_t>(s.step));
  st->bind(3, std::string_view(s.tool));
  st->bind(4, std::string_view(s.status));
  auto payload = text_of(s.payload), data = text_of(s.data), error = text_of(s.error);
  if (payload.empty())
    st->bind_null(5);
  else
    st->bind(5, std::string_view(payload));
  if (data.empty())
    st->bind_null(6);
  else
    st->bind(6, std::string_view(data));
  if (error.empty())
    st->bind_null(7);
  else
    st->bind(7, std::string_view(error));
  st->bind(8, static_cast<std::int64_t>(s.attempts));
  st->bind(9, std::string_view(s.updated_at));
  st->step();
}

namespace {

constexpr const char* request_columns =
  "id, tenant, user_id, status, output, result, created_at, updated_at, idempotency_key, body_digest";

stored_request request_from(sqlite_statement& st) {
  stored_request r;
  r.id = st.column_text(0);
  r.tenant = st.column_text(1);
  r.user_id = st.column_text(2);
  r.status = st.column_text(3);
  r.output = parse_or_null(st.column_text(4));
  r.result = parse_or_null(st.column_text(5));
  r.created_at = st.column_text(6);
  r.updated_at = st.column_text(7);
  r.idempotency_key = st.column_text(8);
  r.body_digest = st.column_text(9);
  return r;
}

} // namespace

std::optional<stored_request> plan_store::find_request(const std::string& id, const std::string& tenant) {
  auto st = db_->prepared(std::string("SELECT ") + request_columns
                                       + " FROM requests WHERE id = ?1 AND (?2 = '' OR tenant = ?2)");
  st->bind(1, std::string_view(id));
  st->bind(2, std::string_view(tenant));
  if (!st->step())
    return std::nullopt;
  return request_from(*st);
}

std::optional<stored_request> plan_store::find_by_key(const std::string& tenant, const std::string& key) {
  auto st = db_->prepared(std::string("SELECT ") + request_columns
                                       + " FROM requests WHERE tenant = ?1 AND idempotency_key = ?2");
  st->bind(1, std::string_view(tenant));
  st->bind(2, std::string_view(key));
  if (!st->step())
    return std::nullopt;
  return request_from(*st);
}

std::size_t plan_store::forget_keys_before(const std::string& before) {
  sqlite_statement st(db_->handle(), "UPDATE requests SET idempotency_key = NULL"
                                     " WHERE idempotency_key IS NOT NULL AND created_at < ?1");
  st.bind(1, std::string_view(before));
  st.step();
  return static_cast<std::size_t>(db_->changes());
}

std::vector<stored_step> plan_store::steps_of(const std::string& request_id) {
  auto st = db_->prepared("SELECT request_id, step, tool, status, payload, data, error, attempts, updated_at FROM steps"
                      " WHERE request_id = ?1 ORDER BY step");
  st->bind(1, std::string_view(request_id));
  std::vector<stored_step> out;
  while (st->step()) {
    stored_step s;
    s.request_id = st->column_text(0);
    s.step = static_cast<int>(st->column_int(1));
    s.tool = st->column_text(2);
    s.status = st->column_text(3);
    s.payload = parse_or_null(st->column_text(4));
    s.data = parse_or_null(st->column_text(5));
    s.error = parse_or_null(st->column_text(6));
    s.attempts = static_cast<int>(st->column_int(7));
    s.updated_at = st->column_text(8);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<stored_request> plan_store::unfinished() {
  std::vector<std::string> ids;
  {
    sqlite_statement st(db_->handle(),
                        "SELECT id FROM requests WHERE status IN ('running', 'awaiting_approval') ORDER BY created_at");
    while (st.step())
      ids.push_back(st.column_text(0));
  }
  std::vector<stored_request> out;
  for (const auto& id : ids)
    if (auto r = find_request(id, ""))
      out.push_back(std::move(*r));
  return out;
}

result<approval_record> plan_store::create_approval(approval_record a) {
  try {
    sqlite_statement st(db_->handle(), std::string("INSERT INTO approvals(") + approval_columns
                                         + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    st.bind(1, std::string_view(a.id));
    st.bind(2, std::string_view(a.tenant));
    st.bind(3, std::string_view(a.request_id));
    st.bind(4, static_cast<std::int64_t>(a.step));
    st.bind(5, std::string_view(a.tool));
    st.bind(6, approval_kind_name(a.kind));
    st.bind(7, std::string_view(a.subject));
    st.bind(8, std::string_view(a.payload_digest));
    st.bind(9, std::string_view(a.reason));
    st.bind(10, approval_status_name(a.status));
    st.bind(11, static_cast<std::int64_t>(a.requires_code ? 1 : 0));
    st.bind(12, std::string_view(a.created_at));
    st.bind(13, std::string_view(a.expires_at));
    st.bind(14, std::string_view(a.decided_by));
    st.bind(15, std::string_view(a.decided_at));
    st.bind(16, std::string_view(a.comment));
    st.step();
    return a;
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot record the approval", json::object{{"reason", e.what()}});
  }
}

std::optional<approval_record> plan_store::find_approval(const std::string& id, const std::string& tenant) {
  sqlite_statement st(db_->handle(), std::string("SELECT ") + approval_columns
                                       + " FROM approvals WHERE id = ?1 AND (?2 = '' OR tenant = ?2)");
  st.bind(1, std::string_view(id));
  st.bind(2, std::string_view(tenant));
  if (!st.step())
    return std::nullopt;
  return approval_from(st);
}

std::vector<approval_record> plan_store::list_approvals(const std::string& tenant, const std::string& status) {
  sqlite_statement st(db_->handle(), std::string("SELECT ") + approval_columns
                                       + " FROM approvals WHERE (?1 = '' OR tenant = ?1) AND (?2 = '' OR status = ?2)"
                                         " ORDER BY created_at, id");
  st.bind(1, std::string_view(tenant));
  st.bind(2, std::string_view(status));
  std::vector<approval_record> out;
  while (st.step())
    out.push_back(approval_from(st));
  return out;
}

result<approval_record> plan_store::decide(const std::string& id, approval_status status, const std::string& by,
                                           const std::string& comment, const std::string& now) {
  try {
    sqlite_statement st(db_->handle(),
                        "UPDATE approvals SET status = ?2, decided_by = ?3, decided_at = ?4, comment = ?5"
                        " WHERE id = ?1 AND status = 'pending'");
    st.bind(1, std::string_view(id));
    st.bind(2, approval_status_name(status));
    st.bind(3, std::string_view(by));
    st.bind(4, std::string_view(now));
    st.bind(5, std::string_view(comment));
    st.step();
    auto a = find_approval(id, "");
    if (!a)
      return make_error(error_code::not_found, "no approval " + id, json::object{{"approval_id", id}});
    if (a->status != status || a->decided_at != now)
      return make_error(error_code::conflict, "approval " + id + " is already " + std::string(approval_status_name(a->status)),
                        json::object{{"approval_id", id}, {"status", approval_status_name(a->status)}});
    return *a;
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot record the decision", json::object{{"reason", e.what()}});
  }
}

std::vector<approval_record> plan_store::expire_due(const std::string& now) {
  std::vector<approval_record> due;
  {
    sqlite_statement st(db_->handle(), std::string("SELECT ") + approval_columns
                                         + " FROM approvals WHERE status = 'pending' AND expires_at <= ?1");
    st.bind(1, std::string_view(now));
    while (st.step())
      due.push_back(approval_from(st));
  }
  for (auto& a : due) {
    sqlite_statement st(db_->handle(),
                        "UPDATE approvals SET status = 'expired', decided_by = 'opex', decided_at = ?2"
                        " WHERE id = ?1 AND status = 'pending'");
    st.bind(1, std::string_view(a.id));
    st.bind(2, std::string_view(now));
    st.step();
    a.status = approval_status::expired;
    a.decided_by = "opex";
    a.decided_at = now;
  }
  return due;
}

std::string plan_store::secret(const std::string& name) {
  {
    sqlite_statement st(db_->handle(), "SELECT value FROM settings WHERE name = ?1");
    st.bind(1, std::string_view(name));
    if (st.step())
      return st.column_text(0);
  }
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  static constexpr char hex[] = "0123456789abcdef";
  std::string value;
  for (auto b : bytes) {
    value.push_back(hex[b >> 4]);
    value.push_back(hex[b & 15]);
  }
  sqlite_statement st(db_->handle(), "INSERT OR IGNORE INTO settings(name, value) VALUES (?1, ?2)");
  st.bind(1, std::string_view(name));
  st.bind(2, std::string_view(value));
  st.step();
  return secret(name);
}

usage_facts plan_store::facts(const std::string& tenant, const std::vector<std::string>& tools,
                              const std::vector<std::string>& workflows, const std::string& day_start,
                              const std::string& month_start) {
  // Read from the usage counters the journal keeps (usage_counters.hpp): a few rows per tool,
  // tenant and 15-minute bucket, however long the journal.
  usage_facts f;
  auto day = usage_counters::bucket_of(day_start);
  for (const auto& tool : tools) {
    auto st = db_->prepared(
      "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(CASE WHEN tenant = ?3 THEN count ELSE 0 END), 0)"
      " FROM usage_counters WHERE kind = 'tool_success' AND subject = ?1 AND bucket >= ?2");
    st->bind(1, std::string_view(tool));
    st->bind(2, std::string_view(day));
    st->bind(3, std::string_view(tenant));
    st->step();
    f.tool_executions_today[tool] = static_cast<int>(st->column_int(0));
    f.tenant_tool_executions_today[tool] = static_cast<int>(st->column_int(1));
  }
  auto cost_since = [&](const std::string& since, bool tenant_only) {
    auto st = db_->prepared(
      "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_counters WHERE kind = 'cost' AND subject = ''"
      " AND bucket >= ?1 AND (?2 = '' OR tenant = ?2)");
    st->bind(1, std::string_view(usage_counters::bucket_of(since)));
    st->bind(2, std::string_view(tenant_only ? tenant : std::string{}));
    st->step();
    auto text = st->column_text(0);
    return std::stod(text.empty() ? "0" : text);
  };
  f.cost_today_usd = cost_since(day_start, false);
  f.cost_month_usd = cost_since(month_start, false);
  f.tenant_cost_today_usd = cost_since(day_start, true);
  {
    auto st = db_->prepared(
      "SELECT COALESCE(SUM(count), 0) FROM usage_counters WHERE kind = 'request' AND subject = ''"
      " AND tenant = ?1 AND bucket >= ?2");
    st->bind(1, std::string_view(tenant));
    st->bind(2, std::string_view(day));
    st->step();
    f.tenant_requests_today = static_cast<int>(st->column_int(0));
  }
  for (const auto& w : workflows) {
    {
      auto st = db_->prepared(
        "SELECT 1 FROM usage_counters WHERE kind = 'workflow_tested' AND subject = ?1 AND tenant = '' AND bucket = ''");
      st->bind(1, std::string_view(w));
      f.workflow_tested[w] = st->step();
    }
    {
      sqlite_statement st(db_->handle(),
                          "SELECT 1 FROM approvals WHERE kind = 'review' AND subject = ?1 AND status = 'approved' LIMIT 1");
      st.bind(1, std::string_view(w));
      f.workflow_reviewed[w] = st.step();
    }
  }
  return f;
}

} // namespace opex::connectors
