// Workflow metrics bench: how long GET /v1/metrics/workflows' query takes on a journal of a
// million entries, against the same counts and mean latency read from the journal's JSON
// (json_extract over every row, as a report without workflow_runs would), in one run.
// The journal is a month of requests, four entries each (routed, attempt started, step outcome,
// plan), over 12 tools and 3 tenants, 8 % of steps failed and 2 % skipped.
//
//   opex_workflow_metrics_bench [--entries N] [--repeat R] [--dir DIR] [--json]
//
//   --entries N   journal entries written before measuring (default 1000000)
//   --repeat R    runs of each query; the median is reported (default 5)
//   --dir DIR     where metrics.db goes, replaced if there and kept (default: a fresh
//                 temporary folder, removed at the end)
//   --json        one JSON object per line instead of the table:
//                 {"bench":"workflow_metrics","query","entries","step_rows","median_ms",
//                  "journal_json_ms","ratio"}
//   -h, --help    this text
// Exit codes: 0 done, 1 the database failed, 2 bad arguments.
#include "bench_cli.hpp"
#include "opex/clock.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"
#include "opex/connectors/workflow_runs.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace json = boost::json;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using namespace opex;

namespace {

struct bench_args {
  int entries = 1'000'000;
  int repeat = 5;
  std::string dir;
  bool json = false;
};

void usage(std::FILE* to) {
  std::fputs("usage: opex_workflow_metrics_bench [--entries N] [--repeat R] [--dir DIR] [--json]\n"
             "The workflow metrics' query on a journal of N entries, against the journal's JSON.\n"
             "tools/bench/README.md describes the output and the published figures.\n",
             to);
}

bench_args parse_args(int argc, char** argv) {
  bench_args a;
  opex::bench::arg_reader r(argc, argv, "opex_workflow_metrics_bench", usage);
  while (r.next()) {
    const auto& arg = r.arg();
    if (arg == "-h" || arg == "--help")
      r.help();
    else if (arg == "--json")
      a.json = true;
    else if (arg == "--entries" || arg == "--repeat") {
      int n = std::atoi(r.value().c_str());
      if (n <= 0)
        r.fail(arg + " must be a positive number");
      (arg == "--entries" ? a.entries : a.repeat) = n;
    } else if (arg == "--dir")
      a.dir = r.value();
    else
      r.fail("unknown argument " + arg);
  }
  return a;
}

const char* const tools[] = {"TASK_CREATE", "DOC_CREATE_NOTE", "CALENDAR_CREATE_EVENT", "N8N_WORKFLOW_RUN",
                             "WEB_SEARCH", "CLIENT_MONTHLY_REPORT", "LOG_APPEND", "GIT_CLONE",
                             "N8N_WORKFLOW_TEST", "WEEKLY_SUMMARY", "TODO_CREATE", "HTTP_REQUEST"};
const char* const tenants[] = {"default", "acme", "globex"};

/// Request `i`'s four entries, `seconds` after the month's start.
void request_entries(std::vector<json::object>& out, int i, std::int64_t seconds) {
  auto ts = format_timestamp(parse_iso8601("2026-11-01T00:00:00Z")->utc + std::chrono::seconds(seconds));
  std::string request = "req-" + std::to_string(i);
  std::string tool = tools[i % 12];
  std::string tenant = tenants[i % 3];
  std::string status = i % 47 == 0 ? "skipped" : i % 13 == 1 ? "failed" : "succeeded";
  double ms = 1.0 + (i * 7919 % 1000) / 10.0;
  json::object md{{"tenant", tenant}, {"autonomy_level", 2}, {"step", 1}};
  auto entry = [&](std::string agent, json::array tags, std::string result_status, bool with_tool) {
    json::object e{{"timestamp", ts}, {"request_id", request}, {"agent", agent}, {"action_type", "execution"},
                   {"user_id", "system"}, {"intent", "task_create"}, {"result", {{"status", result_status}}},
                   {"metadata", md}, {"tags", std::move(tags)}};
    if (with_tool)
      e["tool_used"] = tool;
    return e;
  };
  out.push_back(entry("proxy", {"proxy"}, "success", true));
  out.push_back(entry("opex", {"attempt", "started"}, "pending", true));
  auto outcome = entry("opex", {"step", json::string(status)}, status == "succeeded" ? "success" : "failure", true);
  auto& m = outcome["metadata"].as_object();
  m["execution_time_ms"] = ms;
  m["cost_usd"] = tool == "WEB_SEARCH" ? 0.002 : 0.0;
  if (status == "failed")
    outcome["result"].as_object()["error_code"] = "CONNECTION_FAILED";
  out.push_back(std::move(outcome));
  out.push_back(entry("opex", {"plan"}, "success", false));
}

double median_ms(int repeat, const std::function<void()>& run) {
  std::vector<double> ms;
  for (int r = 0; r < repeat; ++r) {
    auto start = steady::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

/// The counts and mean latency per tool from the journal's JSON (no percentiles: that alone
/// would need the rows sorted per tool in C++).
void journal_json_report(connectors::sqlite_db& db, const workflow_metrics_query& q) {
  std::string sql =
    "SELECT tool_used, COUNT(*), SUM(json_extract(entry, '$.tags[1]') = 'succeeded'),"
    " AVG(json_extract(entry, '$.metadata.execution_time_ms')), TOTAL(json_extract(entry, '$.metadata.cost_usd'))"
    " FROM journal WHERE agent = 'opex' AND tool_used IS NOT NULL AND json_extract(entry, '$.tags[0]') = 'step'"
    " AND timestamp >= ?1 AND timestamp < ?2";
  if (!q.tool.empty())
    sql += " AND tool_used = ?3";
  sql += " GROUP BY tool_used";
  connectors::sqlite_statement st(db.handle(), sql);
  st.bind(1, std::string_view(q.since));
  st.bind(2, std::string_view(q.until));
  if (!q.tool.empty())
    st.bind(3, std::string_view(q.tool));
  while (st.step()) {
  }
}

} // namespace

int main(int argc, char** argv) {
  auto a = parse_args(argc, argv);
  const bool temporary = a.dir.empty();
  std::string dir = temporary ? (fs::temp_directory_path() / ("opex-metrics-bench-" + std::to_string(::getpid()))).string() : a.dir;
  fs::create_directories(dir);
  const std::string path = dir + "/metrics.db";
  for (const auto* suffix : {"", "-wal", "-shm"})
    fs::remove(path + suffix);
  auto journal = connectors::sqlite_journal::open(path);
  auto db = connectors::sqlite_db::open(path);
  if (!journal || !db) {
    std::fprintf(stderr, "opex_workflow_metrics_bench: cannot open %s\n", path.c_str());
    return 1;
  }
  const int requests = std::max(1, a.entries / 4);
  const std::int64_t month_s = 30 * 86400;
  std::vector<json::object> batch;
  for (int i = 0; i < requests; ++i) {
    request_entries(batch, i, static_cast<std::int64_t>(i) * month_s / requests);
    if (batch.size() >= 4000 || i + 1 == requests) {
      if (!(*journal)->append(batch)) {
        std::fprintf(stderr, "opex_workflow_metrics_bench: the journal write failed\n");
        return 1;
      }
      batch.clear();
    }
  }
  struct named_query {
    std::string name;
    workflow_metrics_query q;
  };
  auto window = [](std::string since, std::string until, std::string tool = "") {
    workflow_metrics_query q;
    q.since = std::move(since);
    q.until = std::move(until);
    q.tool = std::move(tool);
    return q;
  };
  auto by_tenant = window("2026-11-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z");
  by_tenant.group_by = {workflow_dimension::tool, workflow_dimension::tenant};
  std::vector<named_query> queries{
    {"last day", window("2026-11-30T00:00:00.000Z", "2026-12-01T00:00:00.000Z")},
    {"last 7 days", window("2026-11-24T00:00:00.000Z", "2026-12-01T00:00:00.000Z")},
    {"30 days", window("2026-11-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z")},
    {"30 days, one tool", window("2026-11-01T00:00:00.000Z", "2026-12-01T00:00:00.000Z", "WEB_SEARCH")},
    {"30 days, tool x tenant", by_tenant},
  };
  if (!a.json)
    std::printf("%d journal entries, %d step outcomes\n%-24s %12s %16s %8s\n", requests * 4, requests, "query",
                "metrics ms", "journal JSON ms", "ratio");
  for (auto& [name, q] : queries) {
    double ms = median_ms(a.repeat, [&] { (void)connectors::workflow_runs::metrics(**db, q); });
    double scan = median_ms(a.repeat, [&] { journal_json_report(**db, q); });
    if (a.json)
      std::printf("{\"bench\":\"workflow_metrics\",\"query\":\"%s\",\"entries\":%d,\"step_rows\":%d,\"median_ms\":%.2f,"
                  "\"journal_json_ms\":%.2f,\"ratio\":%.2f}\n",
                  name.c_str(), requests * 4, requests, ms, scan, scan / ms);
    else
      std::printf("%-24s %12.2f %16.2f %7.1fx\n", name.c_str(), ms, scan, scan / ms);
  }
  journal->reset();
  db->reset();
  if (temporary)
    fs::remove_all(dir);
  return 0;
}
