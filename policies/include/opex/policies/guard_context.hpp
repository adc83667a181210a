// What the Proxy Master's policies look at besides the plan: the tenant, its level and
// environment, the request's constraints (from Kimmy), and the usage counted from the journal.
#pragma once

#include "opex/config.hpp"
#include "opex/usage.hpp"

#include <map>
#include <optional>
#include <string>

namespace opex::policies {

using opex::usage_counts;

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
