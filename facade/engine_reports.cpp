// The engine's reports (workflow metrics, request listings): for metrics the store first commits
// what it holds; the report reader answers on its own connection (docs/operations.md, "Workflow metrics").
#include "engine_impl.hpp"

#include <caf/event_based_actor.hpp>

#include <future>

namespace opex {

namespace json = boost::json;

void engine::workflow_metrics(const workflow_metrics_query& q, std::function<void(result<json::object>)> done) {
  auto store = impl_->rt->store;
  auto reports = impl_->rt->reports;
  impl_->system->spawn([store, reports, q, done = std::move(done)](caf::event_based_actor* self) {
    auto failed = [done](caf::error& err) {
      done(make_error(error_code::internal_error, "workflow metrics failed: " + caf::to_string(err)));
    };
    self->request(store, std::chrono::seconds(30), actors::flush_atom::value)
      .then(
        [self, reports, q, done, failed](bool) {
          self->request(reports, std::chrono::seconds(60), actors::query_atom::value, q)
            .then(
              [done](actors::report_reply& r) {
                if (r.error)
                  return done(std::move(r.error));
                done(std::move(r.body));
              },
              failed);
        },
        failed);
  });
}

void engine::list_requests(const request_filter& f, std::function<void(result<json::object>)> done) {
  auto reports = impl_->rt->reports;
  impl_->system->spawn([reports, f, done = std::move(done)](caf::event_based_actor* self) {
    self->request(reports, std::chrono::seconds(30), actors::list_atom::value, f)
      .then(
        [done](actors::report_reply& r) {
          if (r.error)
            return done(std::move(r.error));
          done(std::move(r.body));
        },
        [done](caf::error& err) { done(make_error(error_code::internal_error, "request listing failed: " + caf::to_string(err))); });
  });
}

result<json::object> engine::workflow_metrics(const workflow_metrics_query& q) {
  auto promise = std::make_shared<std::promise<result<json::object>>>();
  auto answer = promise->get_future();
  workflow_metrics(q, [promise](result<json::object> r) { promise->set_value(std::move(r)); });
  return answer.get();
}

} // namespace opex
