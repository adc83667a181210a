// Workflow runs and the workflow metrics over them (opex/connectors/workflow_runs.hpp).
#include "opex/connectors/workflow_runs.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <map>
#include <vector>

namespace opex::connectors::workflow_runs {

namespace json = boost::json;

namespace {

std::optional<std::string_view> tag(const json::object& entry, std::size_t i) {
  const auto* tags = get_member(entry, "tags");
  if (!tags || !tags->is_array() || tags->get_array().size() <= i || !tags->get_array()[i].is_string())
    return std::nullopt;
  return std::string_view(tags->get_array()[i].get_string());
}

const json::object* object_member(const json::object& o, std::string_view key) {
  const auto* v = get_member(o, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

double number_of(const json::object* o, std::string_view key) {
  return o ? get_number(*o, key).value_or(0.0) : 0.0;
}

/// The window's rows, with the query's filters bound as ?1..?4: the group columns (as many as
/// group_by, or none), then status, duration_ms, cost_usd, tokens, timestamp. The range is read
/// in the table's own order (its key starts with the timestamp).
std::string window_sql(const workflow_metrics_query& q) {
  std::string sql = "SELECT ";
  for (auto d : q.group_by)
    sql += d == workflow_dimension::intent ? "COALESCE(intent, ''), " : std::string(workflow_dimension_name(d)) + ", ";
  sql += "status, duration_ms, cost_usd, tokens, timestamp FROM workflow_runs WHERE timestamp >= ?1 AND timestamp < ?2";
  if (!q.tenant.empty())
    sql += " AND tenant = ?3";
  if (!q.tool.empty())
    sql += " AND tool = ?4";
  return sql;
}

void bind_window(sqlite_statement& st, const workflow_metrics_query& q) {
  st.bind(1, std::string_view(q.since));
  st.bind(2, std::string_view(q.until));
  if (!q.tenant.empty())
    st.bind(3, std::string_view(q.tenant));
  if (!q.tool.empty())
    st.bind(4, std::string_view(q.tool));
}

enum count_index { executions, succeeded, failed, skipped, cancelled };
constexpr const char* count_names[] = {"executions", "succeeded", "failed", "skipped", "cancelled"};

/// What one group (or day, or the total) adds up to.
struct tally {
  std::int64_t counts[5] = {0, 0, 0, 0, 0};
  double cost = 0;
  std::int64_t tokens = 0;
  std::string first_at, last_at;
  std::vector<double> ran_ms;  ///< durations of the steps that ran (succeeded, failed, timed_out)

  void add(std::string_view status, double ms, double cost_usd, std::int64_t t, const std::string& at, bool keep_ms) {
    ++counts[executions];
    bool ran = true;
    if (status == "succeeded")
      ++counts[succeeded];
    else if (status == "failed" || status == "timed_out")
      ++counts[failed];
    else {
      ran = false;
      ++counts[status == "skipped" ? skipped : cancelled];
    }
    if (ran && keep_ms)
      ran_ms.push_back(ms);
    cost += cost_usd;
    tokens += t;
    if (first_at.empty() || at < first_at)
      first_at = at;
    if (last_at.empty() || at > last_at)
      last_at = at;
  }
};

/// Mean and nearest-rank percentiles (rank = ceil(p * n)) of `ms`; nulls when it is empty.
json::object latency_of(std::vector<double>& ms) {
  if (ms.empty())
    return json::object{{"mean", nullptr}, {"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}};
  double sum = 0;
  for (double v : ms)
    sum += v;
  auto rank = [&](std::size_t p) {
    auto i = (p * ms.size() + 99) / 100 - 1;
    std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(i), ms.end());
    return ms[i];
  };
  return json::object{{"mean", sum / static_cast<double>(ms.size())}, {"p50", rank(50)}, {"p95", rank(95)}, {"p99", rank(99)}};
}

json::object row_of(tally& t, double days) {
  json::object row;
  const double n = static_cast<double>(t.counts[executions]);
  for (int i = 0; i < 5; ++i)
    row[count_names[i]] = t.counts[i];
  auto rate = [&](int i) { return n > 0 ? static_cast<double>(t.counts[i]) / n : 0.0; };
  row["success_rate"] = rate(succeeded);
  row["failure_rate"] = rate(failed);
  row["skipped_rate"] = rate(skipped);
  row["executions_per_day"] = n / days;
  row["latency_ms"] = latency_of(t.ran_ms);
  row["cost_usd"] = json::object{{"total", t.cost}, {"mean", n > 0 ? t.cost / n : 0.0}};
  row["tokens"] = t.tokens;
  row["first_at"] = t.first_at.empty() ? json::value(nullptr) : json::value(t.first_at);
  row["last_at"] = t.last_at.empty() ? json::value(nullptr) : json::value(t.last_at);
  return row;
}

/// The window in one pass: its groups (by their columns' values), its days and its total.
struct window_tallies {
  std::map<std::vector<std::string>, tally> groups;
  std::map<std::string, tally, std::less<>> days;
  tally total;
};

window_tallies tally_window(sqlite_db& db, const workflow_metrics_query& q) {
  sqlite_statement st(db.handle(), window_sql(q));
  bind_window(st, q);
  const int columns = static_cast<int>(q.group_by.size());
  window_tallies w;
  std::vector<std::string> key(q.group_by.size());
  while (st.step()) {
    for (int i = 0; i < columns; ++i)
      key[static_cast<std::size_t>(i)] = st.column_text(i);
    const auto status = st.column_text(columns);
    const double ms = st.column_double(columns + 1);
    const double cost = st.column_double(columns + 2);
    const auto tokens = st.column_int(columns + 3);
    const auto at = st.column_text(columns + 4);
    w.groups[key].add(status, ms, cost, tokens, at, true);
    w.days[at.substr(0, 10)].add(status, ms, cost, tokens, at, false);
    w.total.add(status, ms, cost, tokens, at, false);
  }
  // The total's durations are its groups': gathered once instead of kept twice row by row.
  for (const auto& [_, t] : w.groups)
    w.total.ran_ms.insert(w.total.ran_ms.end(), t.ran_ms.begin(), t.ran_ms.end());
  return w;
}

json::array groups_json(window_tallies& w, const workflow_metrics_query& q, double days) {
  std::vector<std::pair<const std::vector<std::string>*, tally*>> order;
  for (auto& [key, t] : w.groups)
    order.emplace_back(&key, &t);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->counts[executions] > b.second->counts[executions];
  });
  json::array out;
  for (auto& [key, t] : order) {
    json::object row;
    for (std::size_t i = 0; i < q.group_by.size(); ++i) {
      const auto& value = (*key)[i];
      if (q.group_by[i] == workflow_dimension::intent && value.empty())
        row[workflow_dimension_name(q.group_by[i])] = nullptr;
      else
        row[workflow_dimension_name(q.group_by[i])] = value;
    }
    for (auto& [k, v] : row_of(*t, days))
      row[k] = std::move(v);
    out.push_back(std::move(row));
  }
  return out;
}

json::array days_json(window_tallies& w) {
  json::array out;
  for (auto& [day, t] : w.days)
    out.push_back(json::object{{"day", day},
                               {"executions", t.counts[executions]},
                               {"succeeded", t.counts[succeeded]},
                               {"failed", t.counts[failed]},
                               {"skipped", t.counts[skipped]},
                               {"cost_usd", t.cost}});
  return out;
}

/// True when the table has the journal_id column of its key (a table without it was made by a
/// development build before the key; it is rebuilt from the journal).
bool current_shape(sqlite_db& db) {
  sqlite_statement info(db.handle(), "PRAGMA table_info(workflow_runs)");
  while (info.step())
    if (info.column_text(1) == "journal_id")
      return true;
  return false;
}

} // namespace

void ensure_schema(sqlite_db& db) {
  if (db.has_table("workflow_runs")) {
    if (current_shape(db))
      return;
    db.exec("DROP TABLE workflow_runs");
  }
  sqlite_transaction tx(db);
  db.exec(
    "CREATE TABLE workflow_runs (timestamp TEXT NOT NULL, journal_id INTEGER NOT NULL, tenant TEXT NOT NULL,"
    " tool TEXT NOT NULL, intent TEXT, request_id TEXT NOT NULL, step INTEGER, status TEXT NOT NULL,"
    " error_code TEXT, duration_ms REAL NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,"
    " tokens INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (timestamp, journal_id)) WITHOUT ROWID;"
    "CREATE INDEX workflow_runs_tool ON workflow_runs(tool, timestamp);");
  if (db.has_table("journal"))
    db.exec(
      "INSERT INTO workflow_runs(timestamp, journal_id, tenant, tool, intent, request_id, step, status, error_code,"
      " duration_ms, cost_usd, tokens)"
      " SELECT timestamp, id, tenant, tool_used, json_extract(entry, '$.intent'), request_id,"
      " json_extract(entry, '$.metadata.step'), json_extract(entry, '$.tags[1]'),"
      " json_extract(entry, '$.result.error_code'), COALESCE(json_extract(entry, '$.metadata.execution_time_ms'), 0),"
      " COALESCE(json_extract(entry, '$.metadata.cost_usd'), 0), COALESCE(json_extract(entry, '$.metadata.tokens_used'), 0)"
      " FROM journal WHERE agent = 'opex' AND tool_used IS NOT NULL AND json_extract(entry, '$.tags[0]') = 'step'"
      " AND json_type(entry, '$.tags[1]') = 'text' ORDER BY id");
  tx.commit();
}

void record(sqlite_db& db, const json::object& entry, std::int64_t journal_id, std::string_view timestamp,
            std::string_view tool, std::string_view tenant) {
  if (tool.empty() || get_string(entry, "agent").value_or("") != "opex" || tag(entry, 0) != "step")
    return;
  auto status = tag(entry, 1);
  if (!status)
    return;
  const auto* metadata = object_member(entry, "metadata");
  const auto* result = object_member(entry, "result");
  auto st = db.prepared(
    "INSERT INTO workflow_runs(timestamp, tenant, tool, intent, request_id, step, status, error_code,"
    " duration_ms, cost_usd, tokens, journal_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  st->bind(1, timestamp);
  st->bind(2, tenant);
  st->bind(3, tool);
  if (auto intent = get_string(entry, "intent"))
    st->bind(4, *intent);
  else
    st->bind_null(4);
  st->bind(5, get_string(entry, "request_id").value_or(""));
  st->bind(6, static_cast<std::int64_t>(number_of(metadata, "step")));
  st->bind(7, *status);
  if (auto code = result ? get_string(*result, "error_code") : std::nullopt)
    st->bind(8, *code);
  else
    st->bind_null(8);
  st->bind(9, number_of(metadata, "execution_time_ms"));
  st->bind(10, number_of(metadata, "cost_usd"));
  st->bind(11, static_cast<std::int64_t>(number_of(metadata, "tokens_used")));
  st->bind(12, journal_id);
  st->step();
}

json::object metrics(sqlite_db& db, const workflow_metrics_query& q) {
  const double days = window_days(q);
  json::array group_by;
  for (auto dim : q.group_by)
    group_by.push_back(json::string(workflow_dimension_name(dim)));
  auto w = tally_window(db, q);
  return json::object{{"since", q.since},
                      {"until", q.until},
                      {"days", days},
                      {"group_by", std::move(group_by)},
                      {"tenant", q.tenant.empty() ? json::value(nullptr) : json::value(q.tenant)},
                      {"tool", q.tool.empty() ? json::value(nullptr) : json::value(q.tool)},
                      {"workflows", groups_json(w, q, days)},
                      {"total", row_of(w.total, days)},
                      {"per_day", days_json(w)}};
}

json::object evidence(sqlite_db& db, const workflow_metrics_query& q) {
  std::string tenant_filter = q.tenant.empty() ? "" : " AND tenant = ?3";
  sqlite_statement codes(db.handle(), "SELECT tool, error_code, COUNT(*) AS n FROM workflow_runs WHERE timestamp >= ?1"
                                      " AND timestamp < ?2" + tenant_filter + " AND status IN ('failed', 'timed_out')"
                                      " AND error_code IS NOT NULL GROUP BY tool, error_code ORDER BY tool, n DESC, error_code");
  sqlite_statement ids(db.handle(), "SELECT request_id FROM workflow_runs WHERE tool = ?4 AND error_code = ?5"
                                    " AND timestamp >= ?1 AND timestamp < ?2" + tenant_filter +
                                    " ORDER BY timestamp DESC LIMIT 5");
  for (auto* st : {&codes, &ids}) {
    st->bind(1, std::string_view(q.since));
    st->bind(2, std::string_view(q.until));
    if (!q.tenant.empty())
      st->bind(3, std::string_view(q.tenant));
  }
  json::array error_codes;
  while (codes.step()) {
    auto tool = codes.column_text(0);
    auto code = codes.column_text(1);
    ids.bind(4, std::string_view(tool));
    ids.bind(5, std::string_view(code));
    json::array request_ids;
    while (ids.step())
      request_ids.push_back(json::string(ids.column_text(0)));
    ids.reset();
    error_codes.push_back(json::object{{"tool", tool}, {"error_code", code}, {"count", codes.column_int(2)},
                                       {"request_ids", std::move(request_ids)}});
  }
  sqlite_statement last(db.handle(), "SELECT tool, MAX(timestamp) FROM workflow_runs" +
                                       std::string(q.tenant.empty() ? "" : " WHERE tenant = ?1") + " GROUP BY tool");
  if (!q.tenant.empty())
    last.bind(1, std::string_view(q.tenant));
  json::object last_used;
  while (last.step())
    last_used[last.column_text(0)] = last.column_text(1);
  sqlite_statement first(db.handle(), "SELECT MIN(timestamp) FROM workflow_runs");
  json::value first_at = nullptr;
  if (first.step() && !first.column_is_null(0))
    first_at = json::string(first.column_text(0));
  return json::object{{"error_codes", std::move(error_codes)}, {"last_used", std::move(last_used)}, {"first_at", first_at}};
}

} // namespace opex::connectors::workflow_runs
