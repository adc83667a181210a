// Helpers shared by the agents: journal entries and results pre-filled from a request.
#include "runtime.hpp"

#include <algorithm>

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
}

void request_registry::remove(const std::string& request_id) {
  std::lock_guard lock(m_);
  running_.erase(request_id);
}

supervisor_actor request_registry::find(const std::string& request_id) const {
  std::lock_guard lock(m_);
  auto it = running_.find(request_id);
  return it == running_.end() ? supervisor_actor{} : it->second;
}

journal_entry make_journal_entry(const runtime& rt, const request_context& ctx, std::string agent,
                                 std::string action_type) {
  journal_entry e;
  e.timestamp = rt.now();
  e.agent = std::move(agent);
  e.action_type = std::move(action_type);
  e.request_id = ctx.request_id;
  e.user_id = ctx.user_id.empty() ? rt.config.default_user_id : ctx.user_id;
  if (ctx.kimmy)
    e.intent = ctx.kimmy->intent;
  e.metadata["autonomy_level"] = rt.config.autonomy_level;
  return e;
}

std::shared_ptr<request_result> make_result(const runtime& rt, const request_context& ctx) {
  auto r = std::make_shared<request_result>();
  r->request_id = ctx.request_id;
  r->user_id = ctx.user_id.empty() ? rt.config.default_user_id : ctx.user_id;
  if (ctx.kimmy)
    r->kimmy = *ctx.kimmy;
  if (ctx.decision)
    r->decision = *ctx.decision;
  if (ctx.output)
    r->output = *ctx.output;
  r->planned_by = ctx.planned_by;
  r->duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ctx.received).count();
  return r;
}

request_outcome refusal(const runtime& rt, const request_context& ctx, error_info err) {
  auto r = make_result(rt, ctx);
  r->status = request_status::rejected;
  r->error = std::move(err);
  r->error_timestamp = rt.now();
  return {std::move(r)};
}

} // namespace opex::actors
