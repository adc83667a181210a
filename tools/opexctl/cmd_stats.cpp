// opexctl stats: the workflow metrics as a table (or --json), from the database or, with
// --server, from opexd's GET /v1/metrics/workflows (docs/operations.md, "Workflow metrics").
#include "opexctl.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

struct stats_args {
  std::string since;
  std::string until;
  std::string tenant;
  std::string tool;
  std::string group_by;
};

std::string percent(const json::value& v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", v.to_number<double>() * 100.0);
  return buf;
}

std::string number(const json::value& v, const char* format = "%.0f") {
  if (v.is_null())
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v.to_number<double>());
  return buf;
}

std::string label_of(const json::object& row, const json::array& group_by) {
  std::string out;
  for (const auto& d : group_by) {
    const auto& v = row.at(d.as_string());
    out += (out.empty() ? "" : " / ") + std::string(v.is_string() ? v.as_string().c_str() : "-");
  }
  return out.empty() ? "all" : out;
}

void print_row(const std::string& label, const json::object& r) {
  const auto& lat = r.at("latency_ms").as_object();
  std::cout << std::left << std::setw(34) << label << std::right << std::setw(7) << r.at("executions").as_int64()
            << std::setw(8) << percent(r.at("success_rate")) << std::setw(8) << percent(r.at("failure_rate"))
            << std::setw(8) << percent(r.at("skipped_rate")) << std::setw(9) << number(r.at("executions_per_day"), "%.1f")
            << std::setw(9) << number(lat.at("mean")) << std::setw(8) << number(lat.at("p50")) << std::setw(8)
            << number(lat.at("p95")) << std::setw(8) << number(lat.at("p99")) << std::setw(11)
            << number(r.at("cost_usd").at("total"), "%.4f") << std::setw(9) << r.at("tokens").as_int64() << "\n";
}

/// The table: one line per group, then the total.
void print_stats(const json::object& m) {
  std::cout << "workflows from " << m.at("since").as_string().c_str() << " to " << m.at("until").as_string().c_str();
  if (m.at("tenant").is_string())
    std::cout << ", tenant " << m.at("tenant").as_string().c_str();
  std::cout << "\n"
            << std::left << std::setw(34) << "WORKFLOW" << std::right << std::setw(7) << "RUNS" << std::setw(8) << "OK"
            << std::setw(8) << "FAILED" << std::setw(8) << "SKIPPED" << std::setw(9) << "PER DAY" << std::setw(9)
            << "MEAN ms" << std::setw(8) << "P50" << std::setw(8) << "P95" << std::setw(8) << "P99" << std::setw(11)
            << "COST USD" << std::setw(9) << "TOKENS" << "\n";
  const auto& group_by = m.at("group_by").as_array();
  for (const auto& row : m.at("workflows").as_array())
    print_row(label_of(row.as_object(), group_by), row.as_object());
  print_row("total", m.at("total").as_object());
}

int show_stats(const stats_args& a, const common_options& o) {
  std::vector<std::pair<std::string, std::string>> params{
    {"since", a.since}, {"until", a.until}, {"tenant", a.tenant}, {"tool", a.tool}, {"group_by", a.group_by}};
  if (!o.server.empty())
    return remote_show(o, "GET", "/v1/metrics/workflows" + query_string(params), "", print_stats);
  auto e = make_engine(o, false, true);
  std::map<std::string, std::string, std::less<>> given;
  for (auto& [k, v] : params)
    if (!v.empty())
      given.emplace(k, v);
  auto q = make_workflow_metrics_query(given, e.time().now().utc);
  if (!q)
    return print_error(q.error(), o);
  auto m = e.workflow_metrics(*q);
  if (!m)
    return print_error(m.error(), o, exit_failed);
  if (o.json_output)
    std::cout << json::serialize(*m) << std::endl;
  else
    print_stats(*m);
  return 0;
}

} // namespace

void add_report_commands(CLI::App& app, command_list& out) {
  auto a = std::make_shared<stats_args>();
  auto* stats = app.add_subcommand("stats", "Workflow metrics from the journal: runs, success and failure rates, "
                                            "latency percentiles, cost (default: the last 7 days)");
  stats->add_option("--since", a->since, "Window start (ISO 8601 date-time or YYYY-MM-DD; default: until - 7 days)");
  stats->add_option("--until", a->until, "Window end, excluded (default: now)");
  stats->add_option("--tenant", a->tenant, "Only this tenant");
  stats->add_option("--tool", a->tool, "Only this tool (workflow)");
  stats->add_option("--group-by", a->group_by, "Comma-separated columns: tool, tenant, intent (default: tool)");
  out.push_back({stats, [a](const common_options& o) { return show_stats(*a, o); }});
}

} // namespace opexctl
