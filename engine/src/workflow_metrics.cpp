// Workflow metrics queries (opex/workflow_metrics.hpp): parameters checked and defaulted.
#include "opex/workflow_metrics.hpp"

#include "opex/clock.hpp"

#include <algorithm>

namespace opex {

namespace {

error_info bad(std::string_view parameter, std::string_view expected, std::string_view value) {
  return make_error(error_code::validation_error,
                    "bad parameter '" + std::string(parameter) + "': expected " + std::string(expected),
                    boost::json::object{{"parameter", parameter}, {"expected", expected}, {"value", value}});
}

/// An ISO 8601 date-time or date, as the journal's timestamp format (UTC, milliseconds).
std::optional<std::string> journal_time(std::string_view text) {
  auto t = parse_iso8601(text);
  if (!t)
    return std::nullopt;
  return format_timestamp(t->utc);
}

} // namespace

std::string_view workflow_dimension_name(workflow_dimension d) noexcept {
  switch (d) {
  case workflow_dimension::tool:
    return "tool";
  case workflow_dimension::tenant:
    return "tenant";
  case workflow_dimension::intent:
    return "intent";
  }
  return "tool";
}

result<workflow_metrics_query> make_workflow_metrics_query(const std::map<std::string, std::string, std::less<>>& params,
                                                           std::chrono::system_clock::time_point now) {
  constexpr std::string_view time_shape = "an ISO 8601 date-time or a YYYY-MM-DD date";
  workflow_metrics_query q;
  auto param = [&](const char* name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() || it->second.empty() ? nullptr : &it->second;
  };
  q.until = format_timestamp(now);
  if (const auto* u = param("until")) {
    auto t = journal_time(*u);
    if (!t)
      return bad("until", time_shape, *u);
    q.until = *t;
  }
  auto until = parse_iso8601(q.until)->utc;
  q.since = format_timestamp(until - std::chrono::hours(24 * 7));
  if (const auto* s = param("since")) {
    auto t = journal_time(*s);
    if (!t)
      return bad("since", time_shape, *s);
    q.since = *t;
  }
  if (q.since >= q.until)
    return bad("since", "a time before until (" + q.until + ")", q.since);
  if (const auto* t = param("tenant"))
    q.tenant = *t;
  if (const auto* t = param("tool"))
    q.tool = *t;
  if (const auto* g = param("group_by")) {
    q.group_by.clear();
    std::string_view rest = *g;
    while (true) {
      auto comma = rest.find(',');
      auto name = rest.substr(0, comma);
      std::optional<workflow_dimension> d;
      for (auto c : {workflow_dimension::tool, workflow_dimension::tenant, workflow_dimension::intent})
        if (workflow_dimension_name(c) == name)
          d = c;
      if (!d || std::find(q.group_by.begin(), q.group_by.end(), *d) != q.group_by.end())
        return bad("group_by", "a comma-separated list of distinct tool, tenant, intent", *g);
      q.group_by.push_back(*d);
      if (comma == std::string_view::npos)
        break;
      rest = rest.substr(comma + 1);
    }
  }
  return q;
}

double window_days(const workflow_metrics_query& q) {
  auto since = parse_iso8601(q.since);
  auto until = parse_iso8601(q.until);
  if (!since || !until)
    return 1.0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until->utc - since->utc).count();
  return std::max<double>(static_cast<double>(ms), 1.0) / 86'400'000.0;
}

} // namespace opex
