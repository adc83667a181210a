// The engine's reports (workflow metrics, request listings, improvement evidence): the report
// reader answers on its own connection and thread; for metrics and evidence the store first
// commits what it holds, so they include every request answered before (docs/operations.md,
// "Workflow metrics").
#include "engine_impl.hpp"

#include <caf/event_based_actor.hpp>

#include <future>

namespace opex {

namespace json = boost::json;

namespace {

using report_done = std::function<void(result<json::object>)>;

/// Asks the report reader `atom, q` (after a store flush when `flush_first`); `done` gets its
/// answer or INTERNAL_ERROR "<what> failed: ..." on an actor thread.
template <class Atom, class Query>
void ask_reports(caf::actor_system& system, actors::store_actor store, actors::report_actor reports, Atom atom, Query q,
                 bool flush_first, const char* what, report_done done) {
  system.spawn([store, reports, atom, q = std::move(q), flush_first, what, done = std::move(done)](caf::event_based_actor* self) {
    auto failed = [done, what](caf::error& err) {
      done(make_error(error_code::internal_error, std::string(what) + " failed: " + caf::to_string(err)));
    };
    auto ask = [self, reports, atom, q, done, failed] {
      self->request(reports, std::chrono::seconds(60), atom, q)
        .then(
          [done](actors::report_reply& r) {
            if (r.error)
              return done(std::move(r.error));
            done(std::move(r.body));
          },
          failed);
    };
    if (!flush_first)
      return ask();
    self->request(store, std::chrono::seconds(30), actors::flush_atom::value).then([ask](bool) { ask(); }, failed);
  });
}

result<json::object> blocking(const std::function<void(report_done)>& start) {
  auto promise = std::make_shared<std::promise<result<json::object>>>();
  auto answer = promise->get_future();
  start([promise](result<json::object> r) { promise->set_value(std::move(r)); });
  return answer.get();
}

} // namespace

void engine::workflow_metrics(const workflow_metrics_query& q, report_done done) {
  ask_reports(*impl_->system, impl_->rt->store, impl_->rt->reports, actors::query_atom::value, q, true,
              "workflow metrics", std::move(done));
}

result<json::object> engine::workflow_metrics(const workflow_metrics_query& q) {
  return blocking([&](report_done done) { workflow_metrics(q, std::move(done)); });
}

void engine::list_requests(const request_filter& f, report_done done) {
  ask_reports(*impl_->system, impl_->rt->store, impl_->rt->reports, actors::list_atom::value, f, false,
              "request listing", std::move(done));
}

result<json::object> engine::improvement_evidence(const workflow_metrics_query& q) {
  return blocking([&](report_done done) {
    ask_reports(*impl_->system, impl_->rt->store, impl_->rt->reports, actors::get_atom::value, q, true,
                "improvement evidence", std::move(done));
  });
}

} // namespace opex
