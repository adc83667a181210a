// The tool_executor actor: one per tool category. Every attempt passes, in order, the
// executor's bulkhead (at most executor_max_concurrency calls, then a bounded queue, then
// QUEUE_FULL), the target's concurrency limit (shared by all executors), and the target's
// circuit breaker (CIRCUIT_OPEN while open); then the connector picked by the tool's target
// type runs it. Completions from connector threads come back as done messages (or, when the
// connector finished synchronously, are handled at once). Cancelled calls close their
// connection and answer CANCELLED.
#include "../agents.hpp"

#include "opex/policies/retry_policy.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>

namespace opex::actors {

namespace json = boost::json;
using promise_type = caf::typed_response_promise<connectors::call_outcome>;

namespace {

struct queued_call {
  step_call call;
  promise_type promise;
  connectors::connector* connector = nullptr;
  std::string target;  ///< breaker and limiter key, "" for local tools
};

struct running_call {
  promise_type promise;
  connectors::cancel_handle cancel;
  std::string target;
  caf::actor_clock::time_point started;
  const tool_definition* tool = nullptr;
  std::string request_id;
  int step = 0;
  bool timed_out = false;  ///< abandoned by the caller's attempt timeout
  bool recorded = false;   ///< the breaker already counted this call
};

struct executor_state {
  std::shared_ptr<const runtime_services> base;  ///< config, store, observers, clocks
  std::shared_ptr<const runtime_execution> exec;  ///< connectors, breakers, the bulkhead, call ids
  std::string category;
  std::deque<queued_call> queue;
  std::unordered_map<std::uint64_t, running_call> running;
  static inline const char* name = "tool_executor";
};

using self_pointer = executor_actor::stateful_pointer<executor_state>;

/// Lets a completion that runs inside connector::call (same thread, same handler) be handled
/// directly instead of going through the mailbox.
struct sync_slot {
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> in_call{true};
  std::optional<connectors::call_outcome> value;
};

connectors::call_outcome failure(error_code code, std::string message, json::object details) {
  connectors::call_outcome out;
  out.error = make_error(code, std::move(message), std::move(details));
  return out;
}

/// Journals a breaker transition caused by a call of `request_id` and tells the observers.
void breaker_changed(self_pointer self, const policies::breaker_transition& t, const std::string& request_id,
                     const tool_definition& tool, int step) {
  const auto& base = *self->state.base;
  auto e = breaker_entry(base, t, request_id, tool.id);
  self->send(base.store, journal_atom::value, std::move(e));
  base.observers.notify(opex::breaker_changed{request_id, step, tool.id, t.target,
                                            std::string(policies::breaker_state_name(t.from)),
                                            std::string(policies::breaker_state_name(t.to))});
}

void pump(self_pointer self);

/// A call ended (or was refused): breaker, target permit, promise, then more queued calls.
void finish(self_pointer self, std::uint64_t id, connectors::call_outcome outcome) {
  auto& st = self->state;
  auto it = st.running.find(id);
  if (it == st.running.end())
    return;
  auto call = std::move(it->second);
  st.running.erase(it);
  const auto& exec = *st.exec;
  if (!call.target.empty()) {
    auto now = self->clock().now();
    if (call.recorded) {
      // counted when the caller gave up on it
    } else if (outcome.error.code == error_code::cancelled) {
      exec.breakers->release(call.target, now);
    } else {
      bool failed = !outcome.ok && policies::is_retryable(outcome.error, retry_settings{});
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(now - call.started);
      if (auto t = exec.breakers->record(call.target, failed, took, now))
        breaker_changed(self, *t, call.request_id, *call.tool, call.step);
    }
    for (auto& waiter : exec.limiter->release(call.target))
      if (waiter != caf::actor_cast<executor_actor>(self))
        self->send(waiter, wake_atom::value);
  }
  call.promise.deliver(std::move(outcome));
  pump(self);
}

/// Starts one call that has its permits; false when the breaker refused it (answered).
void start(self_pointer self, queued_call q) {
  auto& st = self->state;
  const auto& exec = *st.exec;
  auto id = q.call.call_id;
  running_call r;
  r.promise = std::move(q.promise);
  r.target = q.target;
  r.started = self->clock().now();
  r.tool = q.call.tool;
  r.request_id = q.call.context.request_id;
  r.step = q.call.context.step;
  if (!q.target.empty()) {
    auto permit = exec.breakers->try_acquire(q.target, r.started);
    if (permit.transition)
      breaker_changed(self, *permit.transition, r.request_id, *r.tool, r.step);
    if (!permit.permitted) {
      for (auto& waiter : exec.limiter->release(q.target))
        if (waiter != caf::actor_cast<executor_actor>(self))
          self->send(waiter, wake_atom::value);
      r.promise.deliver(failure(error_code::circuit_open, "circuit open for " + q.target,
                                json::object{{"target", q.target},
                                             {"state", policies::breaker_state_name(permit.state)},
                                             {"retry_after_ms", permit.retry_after.count()}}));
      return;
    }
  }
  st.running.emplace(id, std::move(r));
  auto slot = std::make_shared<sync_slot>();
  auto handle = caf::actor_cast<executor_actor>(self);
  auto cancel = q.connector->call(*q.call.tool, *q.call.payload, q.call.context,
                                  [slot, handle, id](connectors::call_outcome outcome) {
                                    if (slot->in_call.load(std::memory_order_acquire)
                                        && std::this_thread::get_id() == slot->caller) {
                                      slot->value = std::move(outcome);
                                      return;
                                    }
                                    caf::anon_send(handle, done_atom::value, id, std::move(outcome));
                                  });
  slot->in_call.store(false, std::memory_order_release);
  if (slot->value) {
    finish(self, id, std::move(*slot->value));
    return;
  }
  if (auto it = st.running.find(id); it != st.running.end())
    it->second.cancel = std::move(cancel);
}

/// Starts queued calls while the bulkhead and their targets allow, in arrival order (a call
/// whose target is saturated lets later calls to other targets pass).
void pump(self_pointer self) {
  auto& st = self->state;
  const auto max = static_cast<std::size_t>(std::max(1, st.base->config.execution.executor_max_concurrency));
  auto handle = caf::actor_cast<executor_actor>(self);
  for (auto it = st.queue.begin(); it != st.queue.end() && st.running.size() < max;) {
    if (!it->target.empty() && !st.exec->limiter->try_acquire(it->target, handle)) {
      ++it;
      continue;
    }
    auto q = std::move(*it);
    it = st.queue.erase(it);
    start(self, std::move(q));
  }
}

executor_actor::behavior_type tool_executor(self_pointer self, std::shared_ptr<const runtime_services> base,
                                            std::shared_ptr<const runtime_execution> exec, std::string category) {
  self->state.base = std::move(base);
  self->state.exec = std::move(exec);
  self->state.category = std::move(category);
  return {
    [self](exec_atom, step_call& call) -> caf::result<connectors::call_outcome> {
      auto& st = self->state;
      const std::string& type = call.tool->target.type;
      auto it = st.exec->connectors.find(type);
      if (it == st.exec->connectors.end())
        return failure(error_code::connector_unavailable,
                       "no connector for target type " + (type.empty() ? std::string("none") : type)
                         + ": opex.yml does not configure it (docs/connectors.md)",
                       json::object{{"tool", call.tool->id}, {"target_type", type.empty() ? "none" : type}});
      const auto capacity = static_cast<std::size_t>(std::max(0, st.base->config.execution.queue_capacity));
      if (st.queue.size() >= capacity
          && st.running.size() >= static_cast<std::size_t>(std::max(1, st.base->config.execution.executor_max_concurrency)))
        return failure(error_code::queue_full, "executor " + st.category + " is saturated",
                       json::object{{"category", st.category},
                                    {"running", static_cast<std::int64_t>(st.running.size())},
                                    {"queued", static_cast<std::int64_t>(st.queue.size())},
                                    {"queue_capacity", static_cast<std::int64_t>(capacity)}});
      if (call.call_id == 0)
        call.call_id = ++st.exec->next_call_id;
      queued_call q;
      q.connector = it->second.get();
      q.target = q.connector->breaker_key(*call.tool);
      q.call = std::move(call);
      q.promise = self->make_response_promise<connectors::call_outcome>();
      auto promise = q.promise;
      st.queue.push_back(std::move(q));
      pump(self);
      return promise;
    },
    [self](done_atom, std::uint64_t id, connectors::call_outcome& outcome) { finish(self, id, std::move(outcome)); },
    [self](cancel_atom, std::uint64_t id, bool timed_out) {
      auto& st = self->state;
      for (auto it = st.queue.begin(); it != st.queue.end(); ++it)
        if (it->call.call_id == id) {
          it->promise.deliver(failure(error_code::cancelled, "the call was cancelled before it started", {}));
          st.queue.erase(it);
          return;
        }
      auto it = st.running.find(id);
      if (it == st.running.end())
        return;
      auto& call = it->second;
      if (timed_out && !call.target.empty() && !call.recorded) {
        // The attempt ran out of time: a failure for the breaker now, before the next call.
        auto now = self->clock().now();
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(now - call.started);
        if (auto t = st.exec->breakers->record(call.target, true, took, now))
          breaker_changed(self, *t, call.request_id, *call.tool, call.step);
        call.recorded = true;
      }
      if (it->second.cancel)
        it->second.cancel();  // the connector answers CANCELLED through done
      else
        finish(self, id, failure(error_code::cancelled, "the call was cancelled", {}));
    },
    [self](wake_atom) { pump(self); },
  };
}

} // namespace

executor_actor spawn_executor(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                              std::string category) {
  // An executor receives only the services and the execution parts of the runtime.
  return system.spawn(tool_executor, part<runtime_services>(rt), part<runtime_execution>(rt), std::move(category));
}

} // namespace opex::actors
