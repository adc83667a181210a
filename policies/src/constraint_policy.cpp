// Cost, plan size, tenant tools, web access, required context and environments.
#include "opex/policies/constraint_policy.hpp"

#include "opex/call_environment.hpp"
#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace opex::policies {

namespace json = boost::json;

namespace {

double round_usd(double v) {
  return std::round(v * 1e6) / 1e6;
}

std::string usd(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  std::string s = buf;
  while (s.size() > 3 && s.back() == '0' && s[s.size() - 2] != '.')
    s.pop_back();
  return s;
}

error_info cost_error(const std::string& rule, double limit, double current, double estimated) {
  return make_error(error_code::cost_limit_exceeded,
                    "estimated cost exceeds " + rule + " (" + usd(current) + " USD > " + usd(limit) + " USD)",
                    json::object{{"rule", rule},
                                 {"required", round_usd(limit)},
                                 {"current", round_usd(current)},
                                 {"estimated_usd", round_usd(estimated)},
                                 {"unit", "USD"}});
}

bool has_value(const json::object& payload, std::string_view key) {
  const auto* v = get_member(payload, key);
  return v && !v->is_null() && !(v->is_string() && v->get_string().empty());
}

} // namespace

double tool_cost(const tool_definition& tool, const opex_config& cfg) {
  if (auto it = cfg.tool_costs.find(tool.id); it != cfg.tool_costs.end())
    return it->second;
  return tool.cost_usd;
}

error_info check_cost(double est, const guard_context& g) {
  const auto& cfg = *g.cfg;
  if (g.max_cost_usd && est > *g.max_cost_usd)
    return cost_error("max_cost_usd", *g.max_cost_usd, est, est);
  double per_request = cfg.system.max_cost_per_request_usd;
  std::string rule = "max_cost_per_request_usd";
  if (const auto* lvl = cfg.autonomy.find(g.level); lvl && lvl->max_cost_per_request_usd
                                                   && *lvl->max_cost_per_request_usd < per_request) {
    per_request = *lvl->max_cost_per_request_usd;
    rule = "level_" + std::to_string(g.level) + ".max_cost_per_request_usd";
  }
  if (per_request > 0 && est > per_request)
    return cost_error(rule, per_request, est, est);
  if (est > 0 && cfg.system.max_cost_per_day_usd > 0 && g.usage.cost_today_usd + est > cfg.system.max_cost_per_day_usd)
    return cost_error("max_cost_per_day_usd", cfg.system.max_cost_per_day_usd, g.usage.cost_today_usd + est, est);
  if (est > 0 && cfg.system.max_cost_per_month_usd > 0
      && g.usage.cost_month_usd + est > cfg.system.max_cost_per_month_usd)
    return cost_error("max_cost_per_month_usd", cfg.system.max_cost_per_month_usd, g.usage.cost_month_usd + est, est);
  if (const auto* t = cfg.find_tenant(g.tenant); t && t->max_cost_per_day_usd && est > 0
                                                  && g.usage.tenant_cost_today_usd + est > *t->max_cost_per_day_usd)
    return cost_error("tenant.max_cost_per_day_usd", *t->max_cost_per_day_usd, g.usage.tenant_cost_today_usd + est, est);
  return {};
}

error_info check_plan_size(std::size_t steps, const guard_context& g) {
  const auto& cfg = *g.cfg;
  auto refuse = [&](const std::string& rule, std::size_t limit) {
    return make_error(error_code::plan_too_large,
                      "the plan has " + std::to_string(steps) + " steps, above " + rule + " " + std::to_string(limit),
                      json::object{{"rule", rule},
                                   {"required", static_cast<std::int64_t>(limit)},
                                   {"current", static_cast<std::int64_t>(steps)}});
  };
  if (cfg.system.max_plan_steps > 0 && steps > static_cast<std::size_t>(cfg.system.max_plan_steps))
    return refuse("max_plan_steps", static_cast<std::size_t>(cfg.system.max_plan_steps));
  if (const auto* lvl = cfg.autonomy.find(g.level); lvl && lvl->max_tools_per_plan && *lvl->max_tools_per_plan > 0
                                                   && steps > static_cast<std::size_t>(*lvl->max_tools_per_plan))
    return refuse("level_" + std::to_string(g.level) + ".max_tools_per_plan",
                  static_cast<std::size_t>(*lvl->max_tools_per_plan));
  return {};
}

error_info check_tenant_tool(const tool_definition& tool, const guard_context& g) {
  const auto* t = g.cfg->find_tenant(g.tenant);
  if (t == nullptr || t->allowed_tools.empty()
      || std::find(t->allowed_tools.begin(), t->allowed_tools.end(), tool.id) != t->allowed_tools.end())
    return {};
  json::array allowed;
  for (const auto& a : t->allowed_tools)
    allowed.emplace_back(a);
  return make_error(error_code::tool_not_allowed, "tenant " + g.tenant + " may not use " + tool.id,
                    json::object{{"tool", tool.id},
                                 {"rule", "tenant_allowed_tools"},
                                 {"tenant", g.tenant},
                                 {"required", std::move(allowed)},
                                 {"current", tool.id}});
}

error_info check_web(const tool_definition& tool, const guard_context& g) {
  if (!g.can_use_web || *g.can_use_web || tool.category != "search")
    return {};
  return make_error(error_code::web_access_denied, tool.id + " uses the web, and this request may not",
                    json::object{{"tool", tool.id}, {"rule", "can_use_web"}, {"required", true}, {"current", false}});
}

bool has_context(const json::object& payload, std::string_view key) {
  for (std::size_t from = 0; from <= key.size();) {
    const auto bar = std::min(key.find('|', from), key.size());
    if (has_value(payload, key.substr(from, bar - from)))
      return true;
    from = bar + 1;
  }
  return false;
}

error_info check_context(const tool_definition& tool, const json::object& payload) {
  json::array missing;
  for (const auto& key : tool.constraints.requires_context)
    if (key != "confirmation_code" && !has_context(payload, key))
      missing.emplace_back(key);
  if (missing.empty())
    return {};
  json::array required;
  for (const auto& key : tool.constraints.requires_context)
    required.emplace_back(key);
  return make_error(error_code::context_missing, tool.id + " needs " + json::serialize(missing) + " in its payload",
                    json::object{{"tool", tool.id},
                                 {"rule", "requires_context"},
                                 {"required", std::move(required)},
                                 {"missing", std::move(missing)}});
}

std::string call_environment(const tool_definition& tool, const json::object& payload, const guard_context& g) {
  std::string fallback = g.environment == "development" ? "dev" : g.environment == "production" ? "prod" : g.environment;
  if (tool.category == "n8n_management")
    fallback = "sandbox";
  return opex::call_environment(payload, fallback, tool.id == "N8N_WORKFLOW_PROMOTE");
}

environment_verdict check_environment(const tool_definition& tool, const json::object& payload,
                                      const guard_context& g) {
  environment_verdict v;
  auto env = call_environment(tool, payload, g);
  auto normal = [](std::string e) {
    if (e == "development")
      return std::string("dev");
    if (e == "production")
      return std::string("prod");
    return e;
  };
  env = normal(env);
  // autonomy.yml environment_restrictions for this kind of tool at this level.
  std::string kind = tool.category == "n8n_management" ? "n8n_workflows"
                     : tool.category == "devops"       ? "git_operations"
                                                       : "";
  std::vector<std::string> allowed;
  std::vector<std::string> manual;
  bool restricted = false;
  if (!kind.empty()) {
    if (auto it = g.cfg->autonomy.environment_restrictions.find(kind); it != g.cfg->autonomy.environment_restrictions.end()) {
      if (auto l = it->second.find("level_" + std::to_string(g.level)); l != it->second.end()) {
        restricted = true;
        for (const auto& e : l->second)
          allowed.push_back(normal(e));
      }
      if (auto m = it->second.find("manual_only"); m != it->second.end())
        for (const auto& e : m->second)
          manual.push_back(normal(e));
    }
  }
  auto in = [](const std::vector<std::string>& list, const std::string& e) {
    return std::find(list.begin(), list.end(), e) != list.end();
  };
  if (in(manual, env)) {
    v.needs_approval = true;
    v.reason = "environment " + env + " is manual only";
    return v;
  }
  bool catalogue_ok = tool.constraints.allowed_environments.empty();
  for (const auto& e : tool.constraints.allowed_environments)
    catalogue_ok |= normal(e) == env;
  bool level_ok = !restricted || in(allowed, env);
  if (catalogue_ok && level_ok)
    return v;
  json::array req;
  for (const auto& e : catalogue_ok ? allowed : tool.constraints.allowed_environments)
    req.emplace_back(e);
  v.error = make_error(error_code::environment_not_allowed,
                       tool.id + " may not run in environment " + env,
                       json::object{{"tool", tool.id},
                                    {"rule", catalogue_ok ? "environment_restrictions" : "allowed_environments"},
                                    {"required", std::move(req)},
                                    {"current", env}});
  return v;
}

} // namespace opex::policies
