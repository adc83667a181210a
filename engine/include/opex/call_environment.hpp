// Which environment a call lands in: one rule for the guard's checks (constraints, n8n
// guardrails) and the n8n connector, so a payload is never judged on one environment and run on
// another (docs/decisions.md, "Environments").
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace opex {

/// The environment a call lands in: for a promotion (N8N_WORKFLOW_PROMOTE, operation
/// workflow_promote) its `to` (default "production"); otherwise the payload's `target`, else
/// its `environment`; else `fallback`.
std::string call_environment(const boost::json::object& payload, std::string_view fallback, bool promotion = false);

} // namespace opex
