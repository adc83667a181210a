// The llm_gateway actor: Kimmy's and Prolex's model calls with the endpoint's retry policy
// (backoff, Retry-After on 429/503, CIRCUIT_OPEN waits) behind one circuit breaker per
// endpoint ("llm:<name>", shared with `llm` tool steps). Attempts complete on the HTTP
// client's thread and come back as done messages; retry delays are actor timers, so the
// deterministic scheduler drives them in tests.
#include "../agents.hpp"

#include "opex/policies/retry_policy.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <random>
#include <unordered_map>

namespace opex::actors {

namespace json = boost::json;

namespace {

struct pending_llm_call {
  llm_call call;
  caf::typed_response_promise<llm_reply> promise;
  llm_reply reply;
  std::string endpoint;  ///< resolved name
  std::string breaker;
  std::string model;  ///< the endpoint's configured model
  const retry_settings* retry = nullptr;
  caf::actor_clock::time_point started;
  caf::actor_clock::time_point attempt_started;
};

struct gateway_state {
  std::shared_ptr<const runtime_services> base;  ///< config, store, clocks
  std::shared_ptr<const runtime_execution> exec;  ///< the model service, breakers
  std::unordered_map<std::uint64_t, pending_llm_call> calls;
  std::uint64_t next_id = 0;
  std::mt19937_64 rng{std::random_device{}()};
  static inline const char* name = "llm_gateway";
};

using self_pointer = llm_actor::stateful_pointer<gateway_state>;

void journal_breaker(self_pointer self, const policies::breaker_transition& t, const pending_llm_call& c) {
  const auto& base = *self->state.base;
  self->send(base.store, journal_atom::value, breaker_entry(base, t, c.call.request_id, ""));
  base.observers.notify(opex::breaker_changed{c.call.request_id, 0, "", t.target,
                                            std::string(policies::breaker_state_name(t.from)),
                                            std::string(policies::breaker_state_name(t.to))});
}

/// Tells the observers how one attempt went (tokens, cost, duration, error).
void observe_attempt(self_pointer self, const pending_llm_call& c, const llm_reply& r,
                     caf::actor_clock::time_point now) {
  const auto& base = *self->state.base;
  if (base.observers.empty())
    return;
  model_call_ended e;
  e.request_id = c.call.request_id;
  e.tenant = c.call.tenant;
  e.agent = c.call.purpose;
  e.endpoint = c.endpoint;
  e.model = r.ok && !r.response.model.empty() ? r.response.model : c.model;
  if (r.ok) {
    e.input_tokens = r.response.usage.input_tokens;
    e.output_tokens = r.response.usage.output_tokens;
    e.cost_usd = r.response.usage.cost_usd;
  } else {
    e.error_code = std::string(error_code_name(r.error.code));
  }
  e.duration_ms = std::chrono::duration<double, std::milli>(now - c.attempt_started).count();
  e.span = c.call.span;
  base.observers.notify(e);
}

void finish(self_pointer self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.calls.find(id);
  if (it == st.calls.end())
    return;
  auto c = std::move(it->second);
  st.calls.erase(it);
  c.reply.duration_ms = std::chrono::duration<double, std::milli>(self->clock().now() - c.started).count();
  c.promise.deliver(std::move(c.reply));
}

void attempt(self_pointer self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.calls.find(id);
  if (it == st.calls.end())
    return;
  auto& c = it->second;
  ++c.reply.attempts;
  c.attempt_started = self->clock().now();
  auto permit = st.exec->breakers->try_acquire(c.breaker, c.attempt_started);
  if (permit.transition)
    journal_breaker(self, *permit.transition, c);
  if (!permit.permitted) {
    llm_reply refused;
    refused.error = make_error(error_code::circuit_open, "circuit open for " + c.breaker,
                               json::object{{"target", c.breaker},
                                            {"state", policies::breaker_state_name(permit.state)},
                                            {"retry_after_ms", permit.retry_after.count()}});
    self->send(self, done_atom::value, id, std::move(refused));
    return;
  }
  auto handle = caf::actor_cast<llm_actor>(self);
  st.exec->llm->complete(c.endpoint, c.call.request, [handle, id](result<connectors::llm_response> r) {
    llm_reply reply;
    if (r) {
      reply.ok = true;
      reply.response = std::move(r).value();
    } else {
      reply.error = std::move(r).error();
    }
    caf::anon_send(handle, done_atom::value, id, std::move(reply));
  });
}

llm_actor::behavior_type llm_gateway(self_pointer self, std::shared_ptr<const runtime_services> base,
                                     std::shared_ptr<const runtime_execution> exec) {
  self->state.base = std::move(base);
  self->state.exec = std::move(exec);
  if (auto seed = self->state.base->config.execution.jitter_seed)
    self->state.rng.seed(seed);
  return {
    [self](llm_atom, llm_call& call) -> caf::result<llm_reply> {
      auto& st = self->state;
      const auto* endpoint = st.exec->llm ? st.exec->llm->settings().find(call.endpoint) : nullptr;
      if (endpoint == nullptr) {
        llm_reply r;
        r.error = make_error(error_code::connector_unavailable,
                             call.endpoint.empty() ? "no LLM endpoint is configured"
                                                   : "no LLM endpoint named " + call.endpoint,
                             json::object{{"endpoint", call.endpoint}});
        return r;
      }
      auto id = ++st.next_id;
      auto& c = st.calls[id];
      c.endpoint = endpoint->name;
      c.breaker = "llm:" + endpoint->name;
      c.model = endpoint->model;
      c.retry = &endpoint->retry;
      c.call = std::move(call);
      c.started = self->clock().now();
      c.promise = self->make_response_promise<llm_reply>();
      auto promise = c.promise;
      attempt(self, id);
      return promise;
    },
    [self](done_atom, std::uint64_t id, llm_reply& r) {
      auto& st = self->state;
      auto it = st.calls.find(id);
      if (it == st.calls.end())
        return;
      auto& c = it->second;
      auto now = self->clock().now();
      observe_attempt(self, c, r, now);
      if (r.error.code != error_code::circuit_open) {
        bool failed = !r.ok && policies::is_retryable(r.error, retry_settings{});
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(now - c.attempt_started);
        if (auto t = st.exec->breakers->record(c.breaker, failed, took, now))
          journal_breaker(self, *t, c);
      }
      if (r.ok) {
        c.reply.input_tokens += r.response.usage.input_tokens;
        c.reply.output_tokens += r.response.usage.output_tokens;
        c.reply.cost_usd += r.response.usage.cost_usd;
        c.reply.ok = true;
        c.reply.response = std::move(r.response);
        c.reply.error = {};
        finish(self, id);
        return;
      }
      c.reply.ok = false;
      c.reply.error = std::move(r.error);
      auto decision = policies::decide_retry(*c.retry, c.reply.attempts + 1, c.reply.error, std::nullopt, st.rng,
                                             st.base->time->now().utc);
      if (!decision.retry) {
        c.reply.error.details["attempts"] = c.reply.attempts;
        finish(self, id);
        return;
      }
      self->delayed_send(self, decision.delay, retry_atom::value, id);
    },
    [self](retry_atom, std::uint64_t id) { attempt(self, id); },
  };
}

} // namespace

llm_actor spawn_llm_gateway(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  // The gateway receives only the services and the execution parts of the runtime.
  return system.spawn(llm_gateway, part<runtime_services>(rt), part<runtime_execution>(rt));
}

} // namespace opex::actors
