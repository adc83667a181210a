// The plan_supervisor actor: one per plan, a thin shell over plan_run. It feeds plan_run its
// inputs (start or resume, commits, outcomes, timers, approvals, cancellation) with the actor
// clock's time, and carries out the commands plan_run returns: writes to the store (waiting for
// the commit where plan_run asks), attempts to the executors with their timeouts, retry timers,
// approvals, progress, the answer.
#include "../agents.hpp"
#include "plan_run.hpp"

#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace opex::actors {

namespace {

struct supervisor_state {
  std::shared_ptr<const plan_parts> rt;
  std::unique_ptr<plan_run> run;
  caf::typed_response_promise<request_outcome> promise;
  bool promise_pending = false;
  std::map<std::uint64_t, executor_actor> in_flight;  ///< call id -> executor
  static inline const char* name = "plan_supervisor";
};

using self_pointer = supervisor_actor::stateful_pointer<supervisor_state>;

run_time now_of(self_pointer self) {
  return self->clock().now();
}

void carry_out(self_pointer self);

/// Sends one attempt; its answer (or its timeout) comes back as an input.
void send_attempt(self_pointer self, run_cmd::dispatch& d) {
  auto& st = self->state;
  auto exec = st.rt->routes->executors.find(d.category);
  auto step = d.step;
  auto call_id = d.call.call_id;
  if (exec == st.rt->routes->executors.end()) {
    connectors::call_outcome o;
    o.error = make_error(error_code::connector_unavailable, "no executor for category " + d.category,
                         boost::json::object{{"category", d.category}});
    st.run->outcome(step, call_id, std::move(o), now_of(self));
    return;
  }
  st.in_flight[call_id] = exec->second;
  self->request(exec->second, d.timeout, exec_atom::value, std::move(d.call))
    .then(
      [self, step, call_id](connectors::call_outcome& outcome) {
        self->state.in_flight.erase(call_id);
        self->state.run->outcome(step, call_id, std::move(outcome), now_of(self));
        carry_out(self);
      },
      [self, step, call_id](caf::error& err) {
        if (err == caf::sec::request_timeout) {
          self->state.run->attempt_timed_out(step, call_id, now_of(self));
        } else {
          self->state.in_flight.erase(call_id);
          self->state.run->attempt_failed(step, call_id, to_string(err), now_of(self));
        }
        carry_out(self);
      });
}

void send_persist(self_pointer self, run_cmd::persist& p) {
  auto& st = self->state;
  if (p.commit == 0) {
    self->send(st.rt->base->store, state_atom::value, std::move(p.writes));
    return;
  }
  auto token = p.commit;
  self->request(st.rt->base->store, std::chrono::seconds(60), commit_atom::value, std::move(p.writes))
    .then(
      [self, token](bool) {
        self->state.run->committed(token, now_of(self));
        carry_out(self);
      },
      [self, token](caf::error& err) {
        self->state.run->commit_failed(
          token, make_error(error_code::internal_error, "commit failed", {{"reason", caf::to_string(err)}}),
          now_of(self));
        carry_out(self);
      });
}

void send_approval(self_pointer self, run_cmd::open_approval& a) {
  auto& st = self->state;
  if (!a.reply) {
    caf::anon_send(st.rt->base->store, approval_atom::value, std::move(a.record));  // fire and forget
    return;
  }
  auto step = a.step;
  self->request(st.rt->base->store, std::chrono::seconds(30), approval_atom::value, std::move(a.record))
    .then(
      [self, step](approval_reply& reply) {
        self->state.run->approval_recorded(step, std::move(reply), now_of(self));
        carry_out(self);
      },
      [self, step](caf::error& err) {
        approval_reply reply;
        reply.error = make_error(error_code::internal_error, "cannot record the approval: " + caf::to_string(err));
        self->state.run->approval_recorded(step, std::move(reply), now_of(self));
        carry_out(self);
      });
}

/// Performs every command plan_run produced, until it produces no more.
void carry_out(self_pointer self) {
  auto& st = self->state;
  for (auto commands = st.run->take_commands(); !commands.empty(); commands = st.run->take_commands()) {
    for (auto& c : commands) {
      if (auto* p = std::get_if<run_cmd::persist>(&c)) {
        send_persist(self, *p);
      } else if (auto* d = std::get_if<run_cmd::dispatch>(&c)) {
        send_attempt(self, *d);
      } else if (auto* a = std::get_if<run_cmd::abandon>(&c)) {
        if (auto it = st.in_flight.find(a->call_id); it != st.in_flight.end()) {
          self->send(it->second, cancel_atom::value, a->call_id, a->timed_out);
          st.in_flight.erase(it);
        }
      } else if (auto* s = std::get_if<run_cmd::schedule>(&c)) {
        self->delayed_send(self, s->delay, retry_atom::value, static_cast<std::uint64_t>(s->step));
      } else if (auto* o = std::get_if<run_cmd::open_approval>(&c)) {
        send_approval(self, *o);
      } else if (auto* x = std::get_if<run_cmd::close_approval>(&c)) {
        caf::anon_send(st.rt->base->store, decide_atom::value, std::move(x->decision));
      } else if (auto* r = std::get_if<run_cmd::observe>(&c)) {
        std::visit([&](const auto& e) { st.rt->base->observers.notify(e); }, r->event);
      } else if (auto* dl = std::get_if<run_cmd::deliver>(&c)) {
        if (dl->to_watchers) {
          st.rt->routes->requests.remove(st.run->request_id());
          st.rt->routes->completions.complete(*dl->result);
          if (!st.promise_pending)
            st.rt->routes->answers.complete(*dl->result);  // a resumed plan: repeats wait for this
        }
        if (dl->to_caller && st.promise_pending) {
          st.promise_pending = false;
          st.promise.deliver(request_outcome{dl->result, true});
        }
      } else if (std::holds_alternative<run_cmd::finished>(c)) {
        self->quit();
        return;
      }
    }
  }
}

supervisor_actor::behavior_type plan_supervisor(self_pointer self, std::shared_ptr<const plan_parts> rt) {
  self->state.rt = std::move(rt);
  // The engine stops (shutdown, SIGTERM past the drain deadline): the caller learns that the
  // request is interrupted; its committed state resumes at the next start.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    for (auto& [call_id, exec] : st.in_flight)
      self->send(exec, cancel_atom::value, call_id, false);
    st.in_flight.clear();
    if (st.promise_pending && st.run) {
      st.promise_pending = false;
      st.promise.deliver(request_outcome{st.run->interrupted_result(), true});
    }
    self->quit(msg.reason);
  });
  return {
    [self](run_atom, request_context ctx, checked_plan plan) -> caf::result<request_outcome> {
      auto& st = self->state;
      st.run = std::make_unique<plan_run>(st.rt, std::move(ctx), std::move(plan), now_of(self));
      st.promise = self->make_response_promise<request_outcome>();
      st.promise_pending = true;
      st.run->start(now_of(self));
      carry_out(self);
      return st.promise;
    },
    [self](recover_atom, request_context ctx, checked_plan plan, stored_plan stored) {
      auto& st = self->state;
      st.run = std::make_unique<plan_run>(st.rt, std::move(ctx), std::move(plan), now_of(self));
      st.run->resume(stored, now_of(self));  // nobody waits: results go to the store and watchers
      carry_out(self);
    },
    [self](approval_atom, const connectors::approval_record& a, const std::string& code) {
      if (!self->state.run)
        return;
      self->state.run->decision(a, code, now_of(self));
      carry_out(self);
    },
    [self](retry_atom, std::uint64_t i) {
      if (!self->state.run)
        return;
      self->state.run->timer(static_cast<std::size_t>(i), now_of(self));
      carry_out(self);
    },
    [self](cancel_atom) {
      if (!self->state.run)
        return;
      self->state.run->cancel(now_of(self));
      carry_out(self);
    },
  };
}

} // namespace

supervisor_actor spawn_plan_supervisor(caf::actor_system& system, std::shared_ptr<const plan_parts> parts) {
  return system.spawn(plan_supervisor, std::move(parts));
}

} // namespace opex::actors
