// Quotas counted from the journal (docs/guarded-execution.md): max_executions_per_day per tool (catalogue,
// autonomy.yml daily_limits, tenant quotas) and per-tenant daily request limits.
#pragma once

#include "opex/catalogue.hpp"
#include "opex/error.hpp"
#include "opex/policies/guard_context.hpp"

#include <map>
#include <string>

namespace opex::policies {

/// The daily limit of a tool (the lowest configured), or -1 when none.
int daily_limit(const tool_definition& tool, const guard_context& g);

/// `planned` calls of `tool` on top of today's count. Error: QUOTA_EXCEEDED {tool, rule:
/// max_executions_per_day, required (limit), current (count + planned), scope: engine|tenant}.
error_info check_tool_quota(const tool_definition& tool, int planned, const guard_context& g);

/// The tenant's max_requests_per_day (this request included). Error: QUOTA_EXCEEDED {rule:
/// max_requests_per_day, required, current, tenant}.
error_info check_request_quota(const guard_context& g);

} // namespace opex::policies
