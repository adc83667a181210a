// Local tasks, notes and events on SQLite (sqlite_local_store.hpp).
#include "sqlite_local_store.hpp"

#include "opex/connectors/journal_marks.hpp"
#include "opex/connectors/sqlite_db.hpp"

#include "opex/clock.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace opex::connectors {

namespace json = boost::json;

namespace {

/// Sorted by creation time, so the primary-key index grows at its end (docs/performance.md).
std::string new_id(std::string_view prefix) {
  return make_time_ordered_id(prefix);
}

std::optional<std::string> str(const json::object& p, std::string_view key) {
  if (auto s = get_string(p, key))
    return std::string(*s);
  return std::nullopt;
}

call_outcome ok(json::object data) {
  call_outcome out;
  out.ok = true;
  out.data = std::move(data);
  return out;
}

call_outcome failure(error_code code, std::string message, json::object details) {
  call_outcome out;
  out.error = make_error(code, std::move(message), std::move(details));
  return out;
}

call_outcome db_failure(const std::exception& e) {
  return failure(error_code::tool_execution_failed, "local store error",
                 json::object{{"reason", e.what()}});
}

std::string format_local(const zoned_time& t) {
  auto local = std::chrono::floor<std::chrono::seconds>(t.utc + t.offset);
  auto day = std::chrono::floor<std::chrono::days>(local);
  std::chrono::hh_mm_ss<std::chrono::seconds> tod{local - day};
  auto off = t.offset.count();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%sT%02d:%02d:%02d%c%02d:%02d",
                format_date(std::chrono::year_month_day{day}).c_str(),
                static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                static_cast<int>(tod.seconds().count()), off < 0 ? '-' : '+',
                static_cast<int>(std::abs(off) / 60), static_cast<int>(std::abs(off) % 60));
  return buf;
}

std::optional<std::string> date_time_of(const json::object& p, std::string_view key) {
  const auto* v = get_member(p, key);
  if (v == nullptr)
    return std::nullopt;
  if (v->is_string())
    return std::string(v->get_string());
  if (v->is_object())
    if (auto dt = get_string(v->get_object(), "dateTime"))
      return std::string(*dt);
  return std::nullopt;
}

std::string tags_json(const json::object& p) {
  if (const auto* t = get_member(p, "tags"); t && t->is_array())
    return json::serialize(*t);
  return "[]";
}

} // namespace

sqlite_local_store::sqlite_local_store(std::unique_ptr<sqlite_db> db, std::unique_ptr<sqlite_db> journal)
  : db_(std::move(db)), journal_(std::move(journal)) {}

sqlite_local_store::~sqlite_local_store() = default;

result<std::unique_ptr<local_store>> sqlite_local_store::open(const std::string& path, const std::string& journal_path,
                                                       std::int64_t checkpoint_pages) {
  auto db = sqlite_db::open(path);
  if (!db)
    return db.error();
  auto journal = sqlite_db::open(journal_path);
  if (!journal)
    return journal.error();
  try {
    (*db)->exec(
      "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT,"
      " due_date TEXT, priority TEXT, status TEXT NOT NULL, tags TEXT NOT NULL, client_name TEXT,"
      " request_id TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, title TEXT NOT NULL, content TEXT NOT NULL,"
      " format TEXT NOT NULL, tags TEXT NOT NULL, request_id TEXT, created_at TEXT NOT NULL,"
      " updated_at TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, summary TEXT NOT NULL, description TEXT,"
      " start TEXT NOT NULL, end TEXT NOT NULL, location TEXT, request_id TEXT, created_at TEXT NOT NULL);"
      // One row per effect, written in the effect's own transaction: a step re-run under the same
      // idempotency key (a plan resumed after a crash) gets the first result back.
      "CREATE TABLE IF NOT EXISTS effects (tenant TEXT NOT NULL, idempotency_key TEXT NOT NULL,"
      " tool TEXT NOT NULL, result TEXT NOT NULL, created_at TEXT NOT NULL,"
      " PRIMARY KEY (tenant, idempotency_key));");
    // Stores made before tenants get the column (every old row: tenant default).
    for (const char* table : {"tasks", "notes", "events"}) {
      bool has_tenant = false;
      sqlite_statement info((*db)->handle(), std::string("PRAGMA table_info(") + table + ")");
      while (info.step())
        has_tenant |= info.column_text(1) == "tenant";
      if (!has_tenant)
        (*db)->exec(std::string("ALTER TABLE ") + table + " ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'");
    }
    (*db)->exec("CREATE INDEX IF NOT EXISTS tasks_tenant ON tasks(tenant, created_at);"
                "CREATE INDEX IF NOT EXISTS notes_tenant ON notes(tenant, created_at);");
    if (checkpoint_pages > 0)
      (*db)->checkpoint_in_background(checkpoint_pages);
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot create the local store tables",
                      json::object{{"path", path}, {"reason", e.what()}});
  }
  return std::unique_ptr<local_store>(new sqlite_local_store(std::move(db).value(), std::move(journal).value()));
}

call_outcome sqlite_local_store::task_create(const json::object& p, const call_context& ctx,
                                      const std::string& now) {
  try {
    auto id = new_id("task");
    auto title = str(p, "title").value_or("(untitled)");
    auto description = str(p, "description");
    if (!description)
      description = str(p, "notes");
    auto due = str(p, "due_date");
    if (!due)
      if (auto d = str(p, "due"))
        due = d->substr(0, 10);
    auto priority = str(p, "priority").value_or("medium");
    auto st = db_->prepared("INSERT INTO tasks(id, title, description, due_date, priority, status, tags,"
                        " client_name, request_id, created_at, updated_at, tenant)"
                        " VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)");
    st->bind(1, std::string_view(id));
    st->bind(2, std::string_view(title));
    st->bind_optional(3, description);
    st->bind_optional(4, due);
    st->bind(5, std::string_view(priority));
    st->bind(6, std::string_view(tags_json(p)));
    st->bind_optional(7, str(p, "client_name"));
    st->bind(8, std::string_view(ctx.request_id));
    st->bind(9, std::string_view(now));
    st->bind(10, std::string_view(now));
    st->bind(11, std::string_view(ctx.tenant));
    st->step();
    json::object data{{"task_id", id},       {"status", "created"}, {"title", title},
                      {"priority", priority}, {"url", "opex://tasks/" + id}};
    data["due_date"] = due ? json::value(*due) : json::value(nullptr);
    return ok(std::move(data));
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

call_outcome sqlite_local_store::task_update(const json::object& p, const call_context& ctx, const std::string& now) {
  try {
    auto key = str(p, "task_id").value_or("");
    std::string id;
    {
      sqlite_statement find(db_->handle(),
                            "SELECT id FROM tasks WHERE tenant = ?2 AND (id = ?1 OR lower(title) = lower(?1))"
                            " ORDER BY created_at DESC LIMIT 1");
      find.bind(1, std::string_view(key));
      find.bind(2, std::string_view(ctx.tenant));
      if (find.step())
        id = find.column_text(0);
    }
    if (id.empty())
      return failure(error_code::tool_execution_failed, "no task with id or title '" + key + "'",
                     json::object{{"reason", "task_not_found"}, {"task_id", key}});
    json::array changed;
    auto update = [&](const char* column, const std::optional<std::string>& value) {
      if (!value)
        return;
      sqlite_statement st(db_->handle(), std::string("UPDATE tasks SET ") + column
                                           + " = ?1, updated_at = ?2 WHERE id = ?3");
      st.bind(1, std::string_view(*value));
      st.bind(2, std::string_view(now));
      st.bind(3, std::string_view(id));
      st.step();
      changed.emplace_back(column);
    };
    update("title", str(p, "title"));
    auto description = str(p, "description");
    update("description", description ? description : str(p, "notes"));
    auto due = str(p, "due_date");
    if (!due)
      if (auto d = str(p, "due"))
        due = d->substr(0, 10);
    update("due_date", due);
    update("priority", str(p, "priority"));
    if (auto status = str(p, "status"))
      update("status", std::optional<std::string>(*status == "completed" || *status == "done" ? "done" : "open"));
    if (get_member(p, "tags"))
      update("tags", tags_json(p));
    return ok(json::object{{"task_id", id}, {"status", "updated"}, {"changed", std::move(changed)}});
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

call_outcome sqlite_local_store::event_create(const json::object& p, const call_context& ctx,
                                       const std::string& now) {
  try {
    auto summary = str(p, "summary");
    if (!summary)
      summary = str(p, "title");
    auto start = date_time_of(p, "start");
    auto end = date_time_of(p, "end");
    auto date = str(p, "date");
    std::string start_text, end_text;
    int duration = 60;
    if (const auto* d = get_member(p, "duration_minutes"); d && d->is_int64())
      duration = static_cast<int>(d->get_int64());
    if (start) {
      auto parsed = parse_iso8601(*start);
      if (!parsed)
        return failure(error_code::validation_error, "start is not an ISO 8601 date-time",
                       json::object{{"start", *start}});
      start_text = *start;
      if (end) {
        end_text = *end;
      } else {
        zoned_time e = *parsed;
        e.utc += std::chrono::minutes{duration};
        end_text = format_local(e);
      }
    } else if (date) {
      start_text = *date;  // all-day event
      end_text = end.value_or(*date);
    } else {
      return failure(error_code::validation_error, "an event needs a start or a date",
                     json::object{{"reason", "missing_start"}});
    }
    auto id = new_id("event");
    auto st = db_->prepared("INSERT INTO events(id, summary, description, start, end, location, request_id,"
                        " created_at, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st->bind(1, std::string_view(id));
    st->bind(2, std::string_view(summary.value_or("(untitled)")));
    st->bind_optional(3, str(p, "description"));
    st->bind(4, std::string_view(start_text));
    st->bind(5, std::string_view(end_text));
    st->bind_optional(6, str(p, "location"));
    st->bind(7, std::string_view(ctx.request_id));
    st->bind(8, std::string_view(now));
    st->bind(9, std::string_view(ctx.tenant));
    st->step();
    return ok(json::object{{"event_id", id},
                           {"status", "created"},
                           {"summary", summary.value_or("(untitled)")},
                           {"start", start_text},
                           {"end", end_text}});
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

call_outcome sqlite_local_store::note_create(const json::object& p, const call_context& ctx,
                                      const std::string& now) {
  try {
    auto id = new_id("doc");
    auto title = str(p, "title").value_or("(untitled)");
    auto st = db_->prepared("INSERT INTO notes(id, title, content, format, tags, request_id, created_at,"
                        " updated_at, tenant) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st->bind(1, std::string_view(id));
    st->bind(2, std::string_view(title));
    st->bind(3, std::string_view(str(p, "content").value_or("")));
    st->bind(4, std::string_view(str(p, "format").value_or("markdown")));
    st->bind(5, std::string_view(tags_json(p)));
    st->bind(6, std::string_view(ctx.request_id));
    st->bind(7, std::string_view(now));
    st->bind(8, std::string_view(now));
    st->bind(9, std::string_view(ctx.tenant));
    st->step();
    return ok(json::object{{"doc_id", id}, {"status", "created"}, {"title", title}, {"url", "opex://notes/" + id}});
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

call_outcome sqlite_local_store::doc_update(const json::object& p, const call_context& ctx, const std::string& now) {
  try {
    auto key = str(p, "doc_id").value_or("");
    std::string id, content;
    {
      sqlite_statement find(db_->handle(),
                            "SELECT id, content FROM notes WHERE tenant = ?2 AND (id = ?1 OR lower(title) = lower(?1))"
                            " ORDER BY created_at DESC LIMIT 1");
      find.bind(1, std::string_view(key));
      find.bind(2, std::string_view(ctx.tenant));
      if (find.step()) {
        id = find.column_text(0);
        content = find.column_text(1);
      }
    }
    if (id.empty())
      return failure(error_code::tool_execution_failed, "no document with id or title '" + key + "'",
                     json::object{{"reason", "document_not_found"}, {"doc_id", key}});
    auto op = str(p, "operation").value_or("replace");
    auto text = str(p, "content");
    if (!text)
      text = str(p, "append_content");
    if (text) {
      if (op == "append" || get_member(p, "append_content"))
        content += (content.empty() ? "" : "\n") + *text;
      else if (op == "prepend")
        content = *text + (content.empty() ? "" : "\n") + content;
      else
        content = *text;
    }
    sqlite_statement st(db_->handle(),
                        "UPDATE notes SET content = ?1, title = coalesce(?2, title), updated_at = ?3 WHERE id = ?4");
    st.bind(1, std::string_view(content));
    st.bind_optional(2, str(p, "title"));
    st.bind(3, std::string_view(now));
    st.bind(4, std::string_view(id));
    st.step();
    return ok(json::object{{"doc_id", id}, {"status", "updated"}, {"operation", op}});
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

call_outcome sqlite_local_store::once(const std::string& tool, const call_context& ctx, const std::string& now,
                                const std::function<call_outcome()>& effect) {
  try {
    if (ctx.idempotency_key.empty()) {  // no key: nothing to remember, but a failure still leaves nothing
      sqlite_transaction tx(*db_);
      auto out = effect();
      if (out.ok)
        tx.commit();
      return out;
    }
    sqlite_transaction tx(*db_);
    {
      auto find = db_->prepared("SELECT result FROM effects WHERE tenant = ?1 AND idempotency_key = ?2");
      find->bind(1, std::string_view(ctx.tenant));
      find->bind(2, std::string_view(ctx.idempotency_key));
      if (find->step()) {
        auto stored = parse_json(find->column_text(0));
        if (stored && stored->is_object())
          return ok(std::move(stored->get_object()));
      }
    }
    auto out = effect();
    if (!out.ok)
      return out;  // the transaction rolls back: a failed effect leaves nothing
    auto keep = db_->prepared("INSERT INTO effects(tenant, idempotency_key, tool, result, created_at)"
                                         " VALUES (?1, ?2, ?3, ?4, ?5)");
    keep->bind(1, std::string_view(ctx.tenant));
    keep->bind(2, std::string_view(ctx.idempotency_key));
    keep->bind(3, std::string_view(tool));
    keep->bind(4, std::string_view(json::serialize(out.data)));
    keep->bind(5, std::string_view(now));
    keep->step();
    tx.commit();
    return out;
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

error_info sqlite_local_store::in_one_transaction(const std::function<void()>& body) {
  try {
    sqlite_transaction tx(*db_);
    body();
    tx.commit();
    return {};
  } catch (const std::exception& e) {
    return db_failure(e).error;
  }
}

call_outcome sqlite_local_store::healthcheck() {
  // Every query here is O(log n): the largest rowid, never COUNT(*), so the check costs the same
  // with a million journal entries as with ten (docs/performance.md).
  json::object checks;
  bool healthy = true;
  try {
    sqlite_statement st(db_->handle(), "SELECT (SELECT max(rowid) FROM tasks), (SELECT max(rowid) FROM notes),"
                                       " (SELECT max(rowid) FROM events)");
    st.step();
    checks["database"] = json::object{{"status", "ok"},
                                      {"latest_rowid", json::object{{"tasks", st.column_int(0)},
                                                                    {"notes", st.column_int(1)},
                                                                    {"events", st.column_int(2)}}}};
  } catch (const std::exception& e) {
    healthy = false;
    checks["database"] = json::object{{"status", "error"}, {"reason", e.what()}};
  }
  try {
    sqlite_statement st(journal_->handle(), "SELECT max(id) FROM journal");
    st.step();
    checks["journal"] = json::object{{"status", "ok"}, {"last_entry_id", st.column_int(0)}};
  } catch (const std::exception& e) {
    checks["journal"] = json::object{{"status", "absent"}, {"reason", e.what()}};
  }
  return ok(json::object{{"status", healthy ? "ok" : "degraded"}, {"checks", std::move(checks)}});
}

call_outcome sqlite_local_store::journal_summary(const std::string& since) {
  try {
    json::object data{{"since", since}};
    // The window as an id range (journal_marks.hpp): rows from its first mark on, not the
    // whole journal.
    auto first = journal_marks::first_id_since(*journal_, since);
    {
      sqlite_statement st(journal_->handle(), "SELECT COUNT(DISTINCT request_id) FROM journal WHERE id >= ?2 AND timestamp >= ?1");
      st.bind(1, std::string_view(since));
      st.bind(2, first);
      st.step();
      data["requests"] = st.column_int(0);
    }
    auto grouped = [&](const char* column) {
      json::object out;
      sqlite_statement st(journal_->handle(), std::string("SELECT ") + column + ", COUNT(*) FROM journal"
                                           " WHERE id >= ?2 AND timestamp >= ?1 GROUP BY 1 ORDER BY 2 DESC LIMIT 10");
      st.bind(1, std::string_view(since));
      st.bind(2, first);
      while (st.step())
        out[st.column_is_null(0) ? "(none)" : st.column_text(0)] = st.column_int(1);
      return out;
    };
    data["by_agent"] = grouped("agent");
    data["by_status"] = grouped("status");
    {
      json::object tools;
      sqlite_statement st(journal_->handle(), "SELECT tool_used, COUNT(*) FROM journal WHERE id >= ?2 AND timestamp >= ?1"
                                         " AND agent = 'opex' AND tool_used IS NOT NULL"
                                         " GROUP BY 1 ORDER BY 2 DESC LIMIT 10");
      st.bind(1, std::string_view(since));
      st.bind(2, first);
      while (st.step())
        tools[st.column_text(0)] = st.column_int(1);
      data["top_tools"] = std::move(tools);
    }
    {
      sqlite_statement st(journal_->handle(), "SELECT COUNT(*) FROM journal WHERE id >= ?2 AND timestamp >= ?1 AND status = 'failure'");
      st.bind(1, std::string_view(since));
      st.bind(2, first);
      st.step();
      data["failures"] = st.column_int(0);
    }
    return ok(std::move(data));
  } catch (const std::exception& e) {
    return db_failure(e);
  }
}

std::vector<daily_usage> sqlite_local_store::usage_by_day(const std::string& tenant, const std::string& first_bucket,
                                                         const std::string& end_bucket) {
  sqlite_statement st(journal_->handle(),
                      "SELECT substr(bucket, 1, 10),"
                      " CAST(round(SUM(CASE WHEN kind = 'cost' THEN cost_usd ELSE 0 END) * 1e6) AS INTEGER),"
                      " SUM(CASE WHEN kind = 'request' THEN count ELSE 0 END)"
                      " FROM usage_counters WHERE kind IN ('cost', 'request') AND subject = '' AND tenant = ?1"
                      " AND bucket >= ?2 AND bucket < ?3 GROUP BY 1 ORDER BY 1");
  st.bind(1, std::string_view(tenant));
  st.bind(2, std::string_view(first_bucket));
  st.bind(3, std::string_view(end_bucket));
  std::vector<daily_usage> out;
  while (st.step())
    out.push_back({st.column_text(0), static_cast<double>(st.column_int(1)) / 1e6, st.column_int(2)});
  return out;
}

} // namespace opex::connectors
