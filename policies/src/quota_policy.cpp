// Daily quotas per tool and per tenant.
#include "opex/policies/quota_policy.hpp"

#include <algorithm>

namespace opex::policies {

namespace json = boost::json;

int daily_limit(const tool_definition& tool, const guard_context& g) {
  int limit = -1;
  auto lower = [&](int v) { limit = limit < 0 ? v : std::min(limit, v); };
  if (tool.constraints.max_executions_per_day)
    lower(*tool.constraints.max_executions_per_day);
  if (auto it = g.cfg->autonomy.daily_limits.find(tool.id); it != g.cfg->autonomy.daily_limits.end())
    lower(it->second);
  return limit;
}

error_info check_tool_quota(const tool_definition& tool, int planned, const guard_context& g) {
  auto refuse = [&](int limit, int current, const char* scope) {
    return make_error(error_code::quota_exceeded,
                      tool.id + " reached its daily quota (" + std::to_string(current) + " > " + std::to_string(limit) + ")",
                      json::object{{"tool", tool.id},
                                   {"rule", "max_executions_per_day"},
                                   {"required", limit},
                                   {"current", current},
                                   {"scope", scope}});
  };
  if (int limit = daily_limit(tool, g); limit >= 0) {
    auto it = g.usage.tool_executions_today.find(tool.id);
    int used = it == g.usage.tool_executions_today.end() ? 0 : it->second;
    if (used + planned > limit)
      return refuse(limit, used + planned, "engine");
  }
  if (const auto* t = g.cfg->find_tenant(g.tenant))
    if (auto q = t->max_executions_per_day.find(tool.id); q != t->max_executions_per_day.end()) {
      auto it = g.usage.tenant_tool_executions_today.find(tool.id);
      int used = it == g.usage.tenant_tool_executions_today.end() ? 0 : it->second;
      if (used + planned > q->second)
        return refuse(q->second, used + planned, "tenant");
    }
  return {};
}

error_info check_request_quota(const guard_context& g) {
  const auto* t = g.cfg->find_tenant(g.tenant);
  if (t == nullptr || !t->max_requests_per_day)
    return {};
  int current = g.usage.tenant_requests_today + 1;
  if (current <= *t->max_requests_per_day)
    return {};
  return make_error(error_code::quota_exceeded, "tenant " + g.tenant + " reached its daily request quota",
                    json::object{{"rule", "max_requests_per_day"},
                                 {"required", *t->max_requests_per_day},
                                 {"current", current},
                                 {"tenant", g.tenant},
                                 {"scope", "tenant"}});
}

} // namespace opex::policies
