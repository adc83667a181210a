// The engine's alerts (docs/operations.md, "Alerts"): the alert evaluator is spawned with the
// engine's HTTP client for webhook targets and this engine's guarded pipeline for tool targets;
// listing and evaluating on demand ask it.
#include "engine_impl.hpp"

#include "opex/connectors/http_client.hpp"

#include <caf/event_based_actor.hpp>

#include <cstdlib>
#include <future>

namespace opex {

namespace json = boost::json;

namespace {

using report_done = std::function<void(result<json::object>)>;

/// Asks `target` `msg` (a report_reply); `done` gets its body or error on an actor thread.
template <class Handle, class Atom>
void ask(caf::actor_system& system, Handle target, Atom atom, const char* what, report_done done) {
  system.spawn([target, atom, what, done = std::move(done)](caf::event_based_actor* self) {
    self->request(target, std::chrono::seconds(120), atom)
      .then(
        [done](actors::report_reply& r) {
          if (r.error)
            return done(std::move(r.error));
          done(std::move(r.body));
        },
        [done, what](caf::error& err) {
          done(make_error(error_code::internal_error, std::string(what) + " failed: " + caf::to_string(err)));
        });
  });
}

result<json::object> blocking(const std::function<void(report_done)>& start) {
  auto promise = std::make_shared<std::promise<result<json::object>>>();
  auto answer = promise->get_future();
  start([promise](result<json::object> r) { promise->set_value(std::move(r)); });
  return answer.get();
}

/// What a tool target's call means for its delivery: delivered when the call succeeded.
error_info delivery_error(const request_result& r) {
  if (r.error)
    return r.error;
  if (r.status != request_status::succeeded) {
    std::string why;
    for (const auto& s : r.steps)
      if (s.error)
        why = ": " + s.error.message;
    return make_error(error_code::tool_execution_failed,
                      "the alert's tool call ended " + std::string(request_status_name(r.status)) + why,
                      json::object{{"request_id", r.request_id}});
  }
  return {};
}

} // namespace

void engine::impl::start_alerts(std::shared_ptr<connectors::http_client> http) {
  actors::alert_delivery_parts parts;
  parts.http = std::move(http);
  const auto& cfg = rt->config.alerts;
  for (std::size_t i = 0; i < cfg.targets.size(); ++i) {
    const auto& t = cfg.targets[i];
    if (t.secret_env.empty())
      continue;
    const char* secret = std::getenv(t.secret_env.c_str());
    if (!secret || !*secret)
      throw engine_error(make_error(error_code::config_error,
                                    "alerts.targets[" + std::to_string(i) + "].secret_env: the environment variable "
                                      + t.secret_env + " is not set",
                                    json::object{{"key", "alerts.targets[" + std::to_string(i) + "].secret_env"},
                                                 {"env", t.secret_env}}));
    parts.secrets.emplace(t.name, secret);
  }
  auto* imp = this;
  parts.submit_tool = [imp](const alert_target& t, json::object payload, std::string key,
                            std::function<void(error_info)> done) {
    submit_options so;
    so.tenant = t.tenant == "default" ? "" : t.tenant;
    so.idempotency_key = std::move(key);
    so.user_id = "system";
    so.source = "alerts";
    result_callback cb = [done = std::move(done)](request_result r) { done(delivery_error(r)); };
    auto ctx = imp->start(so, cb);
    if (!ctx)
      return;
    ctx->planned_by = "client";
    ctx->raw = std::make_shared<const json::value>(
      json::object{{"type", "tool_call"}, {"tool", t.tool}, {"payload", std::move(payload)}});
    imp->submit(std::move(*ctx), actors::entry_point::proxy, std::move(cb));
  };
  alerts = actors::spawn_alert_evaluator(*system, rt, std::move(parts));
}

void engine::alerts(report_done done) {
  if (impl_->alerts)
    return ask(*impl_->system, impl_->alerts, actors::list_atom::value, "alert listing", std::move(done));
  ask(*impl_->system, impl_->rt->reports, actors::alerts_atom::value, "alert listing", std::move(done));
}

result<json::object> engine::alerts() {
  return blocking([&](report_done done) { alerts(std::move(done)); });
}

void engine::evaluate_alerts(report_done done) {
  if (!impl_->alerts || !impl_->rt->config.alerts.enabled || impl_->stopped)
    return done(make_error(error_code::unavailable,
                           impl_->rt->config.alerts.enabled ? "alerts are not evaluated by a read-only or stopped engine"
                                                            : "alerts are disabled (alerts.enabled is false)"));
  ask(*impl_->system, impl_->alerts, actors::run_atom::value, "alert evaluation", std::move(done));
}

result<json::object> engine::evaluate_alerts() {
  return blocking([&](report_done done) { evaluate_alerts(std::move(done)); });
}

} // namespace opex
