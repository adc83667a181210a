// The alert evaluator (alert_actor, actors/messages.hpp; docs/operations.md, "Alerts"): on its
// timer or on demand it asks the report reader for the workflow metrics of each rule's window,
// lets the book decide the transitions, has the store commit them, and only then delivers the
// notifications: a signed webhook POST, or a catalogue tool through the guarded pipeline. A
// delivery is at least once: the transition id is its idempotency key, and an attempt whose
// outcome was not recorded before a crash is made again after the restart.
#include "../agents.hpp"
#include "alerts/alert_book.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/ids.hpp"
#include "opex/log.hpp"
#include "opex/policies/webhook_signature.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <boost/json/serialize.hpp>

#include <set>

namespace opex::actors {

namespace json = boost::json;

namespace {

constexpr auto report_timeout = std::chrono::seconds(60);

/// One evaluation in progress: the metrics gathered so far and who waits for its answer.
struct evaluation {
  std::map<std::int64_t, json::object> metrics;
  std::size_t expected = 0;
  error_info error;
  std::vector<caf::typed_response_promise<report_reply>> waiters;
  json::array transitions;
  json::array deliveries;
  std::set<std::pair<std::string, std::string>> started;  ///< (transition, target) it waits for
};

struct alert_evaluator_state {
  std::shared_ptr<const runtime> rt;
  alert_delivery_parts parts;
  std::unique_ptr<alert_book> book;
  bool loaded = false;
  std::shared_ptr<evaluation> current;  ///< the evaluation running, or null
  std::vector<caf::typed_response_promise<report_reply>> queued;  ///< asked while one ran
  std::vector<caf::typed_response_promise<report_reply>> listings;  ///< asked before the load
  static inline const char* name = "alert_evaluator";
};

using self_pointer = alert_actor::stateful_pointer<alert_evaluator_state>;

void evaluate(self_pointer self);

void answer(self_pointer self, const std::shared_ptr<evaluation>& ev) {
  json::object body{{"evaluated_at", self->state.rt->now()},
                    {"transitions", ev->transitions},
                    {"deliveries", ev->deliveries},
                    {"alerts", self->state.book->alerts_json()}};
  for (auto& w : ev->waiters)
    w.deliver(report_reply{ev->error, ev->error ? json::object{} : body});
  self->state.current = nullptr;
  if (!self->state.queued.empty())
    evaluate(self);
}

/// Sends one delivery; its outcome comes back as done_atom.
void send_delivery(self_pointer self, const alert_delivery& d) {
  const auto* target = self->state.book->target(d.target);
  alert_actor me = self;
  auto report = [me, id = d.transition_id, name = d.target](error_info err) {
    caf::anon_send(me, done_atom::value, alert_delivery_outcome{id, name, std::move(err)});
  };
  if (!target) {
    report(make_error(error_code::config_error, "alert target " + d.target + " is no longer configured"));
    return;
  }
  if (target->type == alert_target::kind::tool) {
    if (!self->state.parts.submit_tool) {
      report(make_error(error_code::unavailable, "tool targets need the engine's pipeline"));
      return;
    }
    self->state.parts.submit_tool(*target, alert_tool_payload(*target, d.notification),
                                  "alert:" + d.transition_id + ":" + d.target, std::move(report));
    return;
  }
  connectors::http_request req;
  req.method = "POST";
  req.url = target->url;
  req.timeout = std::chrono::milliseconds(target->timeout_ms);
  req.body = json::serialize(d.notification);
  req.headers = {{"Content-Type", "application/json"},
                 {"Idempotency-Key", d.transition_id},
                 {"X-Opex-Alert-Target", d.target},
                 {"X-Opex-Attempt", std::to_string(d.attempts)}};
  if (auto s = self->state.parts.secrets.find(d.target); s != self->state.parts.secrets.end()) {
    const auto ts = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(self->state.rt->time->now().utc.time_since_epoch()).count());
    req.headers.emplace_back("X-Opex-Timestamp", ts);
    req.headers.emplace_back("X-Opex-Signature", policies::webhook_signature(s->second, ts, req.body));
  }
  self->state.parts.http->send(std::move(req), [report = std::move(report)](error_info err,
                                                                             connectors::http_response res) mutable {
    if (!err && (res.status < 200 || res.status >= 300))
      err = make_error(error_code::http_error, "the alert webhook answered HTTP " + std::to_string(res.status),
                       json::object{{"status", res.status}});
    report(std::move(err));
  });
}

/// Starts every delivery that is due; `ev` (if any) waits for their outcomes.
void deliver_due(self_pointer self, const std::shared_ptr<evaluation>& ev) {
  auto due = self->state.book->start_due();
  if (ev)
    for (const auto& d : due)
      ev->started.emplace(d.transition_id, d.target);
  for (const auto& d : due)
    send_delivery(self, d);
}

void commit_and_deliver(self_pointer self, const std::shared_ptr<evaluation>& ev) {
  auto& st = self->state;
  const auto now = st.rt->time->now().utc;
  auto planned = st.book->evaluate(ev->metrics, now, [] { return make_uuid_v4(); });
  if (planned.empty()) {
    deliver_due(self, ev);  // retries of earlier ones
    if (ev->started.empty())
      answer(self, ev);
    return;
  }
  write_batch batch;
  batch.entries = alert_book::entries(planned, format_timestamp(now));
  self->request(st.rt->store, report_timeout, commit_atom::value, std::move(batch))
    .then(
      [self, ev, planned](bool committed) {
        if (!committed) {
          ev->error = make_error(error_code::internal_error, "the alert transitions could not be committed");
          answer(self, ev);
          return;
        }
        self->state.book->apply(planned);
        for (const auto& p : planned)
          ev->transitions.push_back(p.transition.notify ? json::value(p.notification)
                                                        : json::value(p.transition.status.to_json()));
        deliver_due(self, ev);
        if (ev->started.empty())
          answer(self, ev);
      },
      [self, ev](caf::error& e) {
        ev->error = make_error(error_code::internal_error, "the store did not commit the alert transitions",
                               json::object{{"reason", caf::to_string(e)}});
        answer(self, ev);
      });
}

void gather(self_pointer self, const std::shared_ptr<evaluation>& ev) {
  auto& st = self->state;
  const auto now = st.rt->time->now().utc;
  const auto windows = st.book->windows();
  ev->expected = windows.size();
  if (windows.empty()) {
    answer(self, ev);
    return;
  }
  for (auto w : windows) {
    workflow_metrics_query q;
    q.until = format_timestamp(now + std::chrono::milliseconds(1));  // the window holds `now` (its end is excluded)
    q.since = format_timestamp(now - std::chrono::milliseconds(w));
    self->request(st.rt->reports, report_timeout, query_atom::value, q)
      .then(
        [self, ev, w](report_reply& r) {
          if (r.error)
            ev->error = r.error;
          else
            ev->metrics[w] = std::move(r.body);
          if (--ev->expected == 0) {
            if (ev->error)
              answer(self, ev);
            else
              commit_and_deliver(self, ev);
          }
        },
        [self, ev](caf::error& e) {
          ev->error = make_error(error_code::internal_error, "the report reader did not answer",
                                 json::object{{"reason", caf::to_string(e)}});
          if (--ev->expected == 0)
            answer(self, ev);
        });
  }
}

/// Starts an evaluation for the queued askers (none: the timer's), after the store committed
/// what it holds, so the metrics include every step already answered.
void evaluate(self_pointer self) {
  auto& st = self->state;
  if (st.current || !st.loaded)
    return;
  auto ev = std::make_shared<evaluation>();
  ev->waiters = std::move(st.queued);
  st.queued.clear();
  st.current = ev;
  self->request(st.rt->store, report_timeout, flush_atom::value)
    .then([self, ev](bool) { gather(self, ev); },
          [self, ev](caf::error& e) {
            ev->error = make_error(error_code::internal_error, "the store did not flush",
                                   json::object{{"reason", caf::to_string(e)}});
            answer(self, ev);
          });
}

/// After the stored states are read (or could not be): answers who asked before, delivers
/// what was not delivered before a restart, runs the evaluation asked for meanwhile.
void loaded(self_pointer self) {
  auto& st = self->state;
  st.loaded = true;
  for (auto& l : st.listings)
    l.deliver(report_reply{{}, st.book->to_json()});
  st.listings.clear();
  deliver_due(self, nullptr);
  if (!st.queued.empty())
    evaluate(self);
}

void load(self_pointer self) {
  self->request(self->state.rt->reports, report_timeout, alerts_atom::value)
    .then(
      [self](report_reply& r) {
        if (r.error)
          log_event(log_level::error, "alerts.load_failed", "the stored alert states could not be read",
                    json::object{{"reason", r.error.message}});
        else
          self->state.book->load(r.body);
        loaded(self);
      },
      [self](caf::error& e) {
        log_event(log_level::error, "alerts.load_failed", "the stored alert states could not be read",
                  json::object{{"reason", caf::to_string(e)}});
        loaded(self);
      });
}

alert_actor::behavior_type alert_evaluator(self_pointer self, std::shared_ptr<const runtime> rt,
                                           alert_delivery_parts parts) {
  auto& st = self->state;
  st.rt = std::move(rt);
  st.parts = std::move(parts);
  st.book = std::make_unique<alert_book>(st.rt->config.alerts);
  load(self);
  const auto interval = std::chrono::milliseconds(st.rt->config.alerts.evaluation_interval_ms);
  if (st.rt->config.alerts.enabled && interval.count() > 0)
    self->delayed_send(self, interval, tick_atom::value);
  return {
    [self](run_atom) {
      auto rp = self->make_response_promise<report_reply>();
      self->state.queued.push_back(rp);
      evaluate(self);
      return rp;
    },
    [self](list_atom) {
      auto rp = self->make_response_promise<report_reply>();
      if (self->state.loaded)
        rp.deliver(report_reply{{}, self->state.book->to_json()});
      else
        self->state.listings.push_back(rp);
      return rp;
    },
    [self, interval](tick_atom) {
      evaluate(self);
      self->delayed_send(self, interval, tick_atom::value);
    },
    [self](done_atom, alert_delivery_outcome& out) {
      auto& book = *self->state.book;
      auto entry = book.finish(out.transition_id, out.target, out.error, self->state.rt->now());
      if (out.error)
        log_event(log_level::warn, "alerts.delivery_failed", "an alert notification was not delivered",
                  json::object{{"transition_id", out.transition_id}, {"target", out.target},
                               {"reason", out.error.message}});
      caf::anon_send(self->state.rt->store, journal_atom::value, std::move(entry));
      if (auto ev = self->state.current; ev && ev->started.erase({out.transition_id, out.target}) > 0) {
        ev->deliveries.push_back(json::object{{"transition_id", out.transition_id},
                                              {"target", out.target},
                                              {"delivered", !out.error},
                                              {"error", out.error ? json::value(out.error.message) : json::value(nullptr)}});
        if (ev->started.empty())
          answer(self, ev);
      }
    },
  };
}

} // namespace

alert_actor spawn_alert_evaluator(caf::actor_system& system, std::shared_ptr<const runtime> rt,
                                  alert_delivery_parts parts) {
  return system.spawn(alert_evaluator, std::move(rt), std::move(parts));
}

} // namespace opex::actors
