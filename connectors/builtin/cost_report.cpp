// COST_REPORT_RUN as a builtin (`cost_report`): what opex itself spent for the calling tenant
// over a period, read from the usage counters (a few rows per 15 minutes, never the journal).
#include "builtin_tool.hpp"

#include "opex/connectors/usage_counters.hpp"
#include "opex/json_util.hpp"

#include <chrono>

namespace opex::connectors {

namespace json = boost::json;
namespace chr = std::chrono;

namespace {

call_outcome refused(std::string message, json::object details) {
  call_outcome out;
  out.error = make_error(error_code::tool_execution_failed, std::move(message), std::move(details));
  return out;
}

/// The report's window: [since, until) and the usage-counter buckets it covers.
struct report_window {
  std::string since, until;
  std::string first_bucket, end_bucket;  ///< bucket >= first and < end
};

/// daily, weekly and monthly are the last 1, 7 and 30 days up to now (the current bucket
/// included); custom runs from start_date 00:00 UTC to the end of end_date (default: now).
std::optional<report_window> window_of(const builtin_call& c) {
  const auto now = c.options.time->now().utc;
  const auto period = get_string(c.payload, "period").value_or("monthly");
  auto window = [](chr::system_clock::time_point from, chr::system_clock::time_point to,
                   chr::system_clock::time_point end) {
    return report_window{format_timestamp(from), format_timestamp(to),
                         usage_counters::bucket_of(format_timestamp(from)),
                         usage_counters::bucket_of(format_timestamp(end))};
  };
  const auto next_bucket = now + chr::minutes{15};
  if (period != "custom") {
    const int days = period == "daily" ? 1 : period == "weekly" ? 7 : 30;
    return window(now - chr::hours{24 * days}, now, next_bucket);
  }
  auto start = get_string(c.payload, "start_date");
  auto first = start ? parse_iso8601(std::string(*start) + "T00:00:00Z") : std::nullopt;
  auto end = get_string(c.payload, "end_date");
  auto last = end ? parse_iso8601(std::string(*end) + "T00:00:00Z") : std::nullopt;
  if (!first || (end && !last))
    return std::nullopt;
  if (!last)
    return window(first->utc, now, next_bucket);
  const auto midnight = last->utc + chr::hours{24};
  return window(first->utc, midnight, midnight);
}

} // namespace

/// -> {period, since, until, tenant, currency: "USD", total_cost_usd, requests, by_day: [{day,
/// cost_usd, requests}], source}. The costs are those opex journaled (tool cost estimates and
/// model calls), not the providers' invoices. Errors: TOOL_EXECUTION_FAILED {reason:
/// "unsupported_format"} for csv/pdf, {reason: "bad_period"} for a custom period without a
/// valid start_date.
call_outcome cost_report_tool(const builtin_call& c) {
  if (auto format = get_string(c.payload, "format"); format && *format != "json")
    return refused("COST_REPORT_RUN's builtin answers JSON only, not " + std::string(*format),
                   json::object{{"reason", "unsupported_format"}, {"format", *format}});
  auto window = window_of(c);
  if (!window)
    return refused("a custom period needs start_date (and end_date, when given) as YYYY-MM-DD",
                   json::object{{"reason", "bad_period"}});
  const auto& [since, until, first_bucket, end_bucket] = *window;
  json::array by_day;
  double total = 0;
  std::int64_t requests = 0;
  try {
    for (const auto& d : c.items->usage_by_day(c.ctx.tenant, first_bucket, end_bucket)) {
      total += d.cost_usd;
      requests += d.requests;
      by_day.push_back(json::object{{"day", d.day}, {"cost_usd", d.cost_usd}, {"requests", d.requests}});
    }
  } catch (const std::exception& e) {
    return refused("the usage counters cannot be read", json::object{{"reason", e.what()}});
  }
  call_outcome out;
  out.ok = true;
  out.data = json::object{{"period", get_string(c.payload, "period").value_or("monthly")},
                          {"since", since},
                          {"until", until},
                          {"tenant", c.ctx.tenant},
                          {"currency", "USD"},
                          {"total_cost_usd", total},
                          {"requests", requests},
                          {"by_day", std::move(by_day)},
                          {"source", "opex's usage counters: the tool cost estimates and model calls it journaled"}};
  return out;
}

} // namespace opex::connectors
