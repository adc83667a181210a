// Helpers shared by the agents: journal entries and results pre-filled from a request.
#include "runtime.hpp"

#include <algorithm>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace opex::actors {

bool target_limiter::try_acquire(const std::string& target, const executor_actor& waiter) {
  std::lock_guard lock(m_);
  auto& s = slots_[target];
  if (s.in_use < max_) {
    ++s.in_use;
    return true;
  }
  if (std::find(s.waiters.begin(), s.waiters.end(), waiter) == s.waiters.end())
    s.waiters.push_back(waiter);
  return false;
}

std::vector<executor_actor> target_limiter::release(const std::string& target) {
  std::lock_guard lock(m_);
  auto& s = slots_[target];
  if (s.in_use > 0)
    --s.in_use;
  std::vector<executor_actor> wake;
  if (!s.waiters.empty()) {
    wake.push_back(std::move(s.waiters.front()));
    s.waiters.pop_front();
  }
  return wake;
}

void request_registry::add(const std::string& request_id, supervisor_actor supervisor) {
  std::lock_guard lock(m_);
  running_[request_id] = std::move(supervisor);
  count_.store(running_.size(), std::memory_order_relaxed);
}

void request_registry::remove(const std::string& request_id) {
  std::lock_guard lock(m_);
  running_.erase(request_id);
  count_.store(running_.size(), std::memory_order_relaxed);
}

void completion_hub::watch(const std::string& request_id, callback cb) {
  std::lock_guard lock(m_);
  watchers_[request_id].push_back(std::move(cb));
}

void completion_hub::complete(const request_result& r) {
  std::vector<callback> cbs;
  {
    std::lock_guard lock(m_);
    auto it = watchers_.find(r.request_id);
    if (it == watchers_.end())
      return;
    cbs = std::move(it->second);
    watchers_.erase(it);
  }
  for (auto& cb : cbs)
    cb(r);
}

void request_registry::stop_all() {
  std::lock_guard lock(m_);
  for (auto& [_, sup] : running_)
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  running_.clear();
  count_.store(0, std::memory_order_relaxed);
}

supervisor_actor request_registry::find(const std::string& request_id) const {
  std::lock_guard lock(m_);
  auto it = running_.find(request_id);
  return it == running_.end() ? supervisor_actor{} : it->second;
}

journal_entry breaker_entry(const runtime_services& rt, const policies::breaker_transition& t, const std::string& request_id,
                            const std::string& tool) {
  journal_entry e;
  e.timestamp = rt.now();
  e.agent = "system";
  e.action_type = "alert";
  e.request_id = request_id;
  e.user_id = "system";
  if (!tool.empty())
    e.tool_used = tool;
  e.status = t.to == policies::breaker_state::open ? "failure" : "success";
  e.data = boost::json::object{{"circuit_breaker", t.target},
                               {"from", policies::breaker_state_name(t.from)},
                               {"to", policies::breaker_state_name(t.to)},
                               {"failure_rate", t.failure_rate},
                               {"slow_call_rate", t.slow_rate},
                               {"calls", t.calls}};
  e.tags = {"circuit_breaker", std::string(policies::breaker_state_name(t.to))};
  return e;
}

journal_entry make_journal_entry(const runtime_services& rt, const request_context& ctx, std::string agent,
                                 std::string action_type) {
  journal_entry e;
  e.timestamp = rt.now();
  e.agent = std::move(agent);
  e.action_type = std::move(action_type);
  e.request_id = ctx.request_id;
  const auto& cfg = config_of(rt, ctx);  // the request's generation: the level its guard applied
  e.user_id = ctx.user_id.empty() ? cfg.default_user_id : ctx.user_id;
  e.tenant = ctx.tenant.empty() ? "default" : ctx.tenant;
  if (ctx.kimmy)
    e.intent = ctx.kimmy->intent;
  e.metadata["autonomy_level"] = cfg.level_for(e.tenant);
  e.metadata["source"] = ctx.source;
  if (!ctx.client.empty())
    e.metadata["client"] = ctx.client;
  return e;
}

std::shared_ptr<request_result> make_result(const runtime_services& rt, const request_context& ctx) {
  auto r = std::make_shared<request_result>();
  r->request_id = ctx.request_id;
  r->user_id = ctx.user_id.empty() ? config_of(rt, ctx).default_user_id : ctx.user_id;
  if (ctx.kimmy)
    r->kimmy = *ctx.kimmy;
  if (ctx.decision)
    r->decision = *ctx.decision;
  if (ctx.output)
    r->output = *ctx.output;
  r->planned_by = ctx.planned_by;
  r->duration_ms = std::chrono::duration<double, std::milli>(rt.elapsed_now() - ctx.received).count();
  return r;
}

policies::guard_context guard_for(const runtime_services& rt, const request_context& ctx) {
  policies::guard_context g;
  const auto& cfg = config_of(rt, ctx);
  g.cfg = &cfg;
  g.tenant = ctx.tenant.empty() ? "default" : ctx.tenant;
  g.level = cfg.level_for(g.tenant);
  g.environment = cfg.environment;
  if (ctx.kimmy) {
    const auto& c = ctx.kimmy->constraints;
    if (auto it = c.find("max_cost_usd"); it != c.end() && it->value().is_number())
      g.max_cost_usd = it->value().to_number<double>();
    if (auto it = c.find("can_use_web"); it != c.end() && it->value().is_bool())
      g.can_use_web = it->value().get_bool();
    if (auto it = c.find("sensitivity"); it != c.end() && it->value().is_string())
      g.sensitivity = std::string(it->value().get_string());
  }
  return g;
}

std::pair<std::string, std::string> day_and_month_start(const runtime_services& rt) {
  namespace chr = std::chrono;
  auto now = rt.time->now();
  auto today = now.local_date();
  auto midnight = chr::sys_days{today} - now.offset;
  auto first = chr::sys_days{chr::year_month_day{today.year(), today.month(), chr::day{1}}} - now.offset;
  return {format_timestamp(chr::time_point_cast<chr::system_clock::duration>(midnight)),
          format_timestamp(chr::time_point_cast<chr::system_clock::duration>(first))};
}

request_outcome refusal(const runtime_services& rt, const request_context& ctx, error_info err) {
  boost::json::value details = std::move(err.details);  // errors never carry secrets either
  policies::mask_secrets(details, rt.masking);
  err.details = std::move(details.get_object());
  auto r = make_result(rt, ctx);
  r->status = request_status::rejected;
  r->error = std::move(err);
  r->error_timestamp = rt.now();
  return {std::move(r)};
}

void mask_result(request_result& r, const policies::masking_rules& rules, const std::vector<std::string>& literals) {
  auto mask_value = [&](boost::json::value& v) {
    policies::mask_secrets(v, rules);
    policies::mask_literals(v, literals);
  };
  auto mask_object = [&](boost::json::object& o) {
    boost::json::value v = std::move(o);
    mask_value(v);
    o = std::move(v.get_object());
  };
  auto mask_error = [&](error_info& e) {
    if (!e)
      return;
    mask_object(e.details);
    boost::json::value m(boost::json::string(e.message));
    mask_value(m);
    e.message = std::string(m.get_string());
  };
  if (r.output)
    for (auto& step : r.output->plan)
      mask_object(step.payload);
  if (r.kimmy) {
    mask_object(r.kimmy->parameters);
    rules.mask_text(r.kimmy->raw_input);
    rules.mask_text(r.kimmy->kimmy_summary);
  }
  for (auto& s : r.steps) {
    mask_value(s.data);
    mask_error(s.error);
  }
  mask_error(r.error);
}

void observe_agent(const runtime_services& rt, const request_context& ctx, std::string agent, const trace_context& span,
                   std::chrono::nanoseconds took, std::string outcome, std::string code) {
  if (rt.observers.empty())
    return;
  agent_ended e;
  e.request_id = ctx.request_id;
  e.tenant = ctx.tenant;
  e.agent = std::move(agent);
  e.span = span;
  e.duration_ms = std::chrono::duration<double, std::milli>(took).count();
  e.outcome = std::move(outcome);
  e.error_code = std::move(code);
  rt.observers.notify(e);
}

} // namespace opex::actors
