// The usage the guard looks at before a plan runs, as the store counts it (usage counters, the
// approvals): one struct for both sides (docs/guarded-execution.md, "Quotas and budgets").
#pragma once

#include <map>
#include <string>

namespace opex {

/// Usage counted before a plan runs, over the local day and month (USD for costs).
struct usage_counts {
  std::map<std::string, int> tool_executions_today;         ///< successful opex steps per tool, all tenants
  std::map<std::string, int> tenant_tool_executions_today;  ///< the same, this tenant only
  double cost_today_usd = 0.0;
  double cost_month_usd = 0.0;
  int tenant_requests_today = 0;
  double tenant_cost_today_usd = 0.0;
  std::map<std::string, bool> workflow_tested;    ///< workflow name or id -> a test succeeded
  std::map<std::string, bool> workflow_reviewed;  ///< workflow name -> a review was approved
};

} // namespace opex
