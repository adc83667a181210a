// What the Proxy Master's policies look at besides the plan: the tenant, its level and
// environment, the request's constraints (from Kimmy), and the usage counted from the journal.
#pragma once

#include "opex/config.hpp"

#include <map>
#include <optional>
#include <string>

namespace opex::policies {

/// Usage counted from the journal before a plan runs (local day and month).
struct usage_counts {
  std::map<std::string, int> tool_executions_today;         ///< all tenants
  std::map<std::string, int> tenant_tool_executions_today;  ///< this tenant
  double cost_today_usd = 0.0;
  double cost_month_usd = 0.0;
  int tenant_requests_today = 0;
  double tenant_cost_today_usd = 0.0;
  std::map<std::string, bool> workflow_tested;
  std::map<std::string, bool> workflow_reviewed;
};

/// The request's side of the guard.
struct guard_context {
  const opex_config* cfg = nullptr;
  std::string tenant = "default";
  int level = 2;
  std::string environment = "development";
  std::optional<double> max_cost_usd;  ///< KimmyPayload constraints.max_cost_usd
  std::optional<bool> can_use_web;     ///< KimmyPayload constraints.can_use_web
  std::string sensitivity = "low";     ///< KimmyPayload constraints.sensitivity
  usage_counts usage;
};

} // namespace opex::policies
