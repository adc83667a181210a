// The improvement run (docs/operations.md, "Improvement proposals"): the journal's metrics and
// evidence over improvement.window_days, the proposals made from them, and each proposal's
// TODO_CREATE submitted through the guarded pipeline with its per-day idempotency key. The
// sweeper starts it once a day when improvement.daily; engine::run_improvements on demand.
#include "engine_impl.hpp"

#include "opex/ids.hpp"
#include "opex/improvement.hpp"
#include "opex/log.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <future>
#include <mutex>

namespace opex {

namespace json = boost::json;

namespace {

using report_done = std::function<void(result<json::object>)>;

/// One run's proposals and the submissions still answering.
struct improvement_run {
  std::vector<improvement_proposal> proposals;
  json::array applied;
  std::size_t left = 0;
  report_done done;
  std::mutex m;  ///< answers come on several actor threads
};

json::object applied_json(const improvement_proposal& p, const request_result& r) {
  // The same proposal applied earlier today with other numbers: its TODO exists already.
  const bool earlier = r.error.code == error_code::idempotency_conflict;
  return json::object{{"kind", improvement_kind_name(p.kind)},
                      {"subject", p.subject},
                      {"idempotency_key", p.idempotency_key},
                      {"request_id", r.request_id},
                      {"status", earlier ? "succeeded" : request_status_name(r.status)},
                      {"replayed", r.replayed || earlier}};
}

/// The run's summary in the journal (agent prolex, action_type reporting, tags improvement).
journal_entry summary_entry(const actors::runtime& rt, const improvement_run& run) {
  journal_entry e;
  e.timestamp = rt.now();
  e.agent = "prolex";
  e.action_type = "reporting";
  e.request_id = make_uuid_v4();
  e.user_id = "opex-improve";
  e.tags = {"improvement", "proposals"};
  e.data = json::object{{"proposals", run.proposals.size()}, {"applied", run.applied}};
  e.notes = std::to_string(run.proposals.size()) + " improvement proposal(s) created as TODOs for human review";
  return e;
}

void finish(const std::shared_ptr<actors::runtime>& rt, const std::shared_ptr<improvement_run>& run) {
  caf::anon_send(rt->store, actors::journal_atom::value, summary_entry(*rt, *run));
  json::array proposals;
  for (const auto& p : run->proposals)
    proposals.push_back(p.to_json());
  run->done(json::object{{"proposals", std::move(proposals)}, {"applied", std::move(run->applied)}});
}

} // namespace

void engine::impl::apply_improvements(std::vector<improvement_proposal> proposals, report_done done) {
  auto run = std::make_shared<improvement_run>();
  run->proposals = std::move(proposals);
  run->left = run->proposals.size();
  run->done = std::move(done);
  if (run->left == 0)
    return finish(rt, run);
  for (std::size_t i = 0; i < run->proposals.size(); ++i) {
    const auto& p = run->proposals[i];
    submit_options so;
    so.idempotency_key = p.idempotency_key;
    so.source = "improvement";
    so.user_id = "opex-improve";
    result_callback cb = [run, i, runtime = rt](request_result r) {
      std::unique_lock guard(run->m);
      run->applied.push_back(applied_json(run->proposals[i], r));
      if (--run->left == 0) {
        guard.unlock();
        finish(runtime, run);
      }
    };
    auto ctx = start(so, cb);
    if (!ctx)
      continue;
    ctx->planned_by = "client";
    ctx->raw = std::make_shared<const json::value>(p.to_json().at("todo"));
    submit(std::move(*ctx), actors::entry_point::proxy, std::move(cb));
  }
}

void engine::impl::run_improvements(report_done done) {
  const auto& cfg = rt->config.improvement;
  const auto now = rt->time->now().utc;
  workflow_metrics_query q;
  q.until = format_timestamp(now + std::chrono::milliseconds(1));
  q.since = format_timestamp(now - std::chrono::hours(24) * cfg.window_days);
  std::vector<std::string> tools;
  for (const auto& t : rt->config.catalogue.tools())
    tools.push_back(t.id);
  auto* imp = this;
  auto settings = cfg.settings;
  system->spawn([imp, q, now, tools, settings, done = std::move(done)](caf::event_based_actor* self) {
    auto failed = [done](caf::error& err) {
      done(make_error(error_code::internal_error, "the improvement run failed: " + caf::to_string(err)));
    };
    const auto store = imp->rt->store;
    const auto reports = imp->rt->reports;
    self->request(store, std::chrono::seconds(30), actors::flush_atom::value).then([=](bool) {
      self->request(reports, std::chrono::seconds(60), actors::query_atom::value, q).then([=](actors::report_reply& m) {
        if (m.error)
          return done(std::move(m.error));
        self->request(reports, std::chrono::seconds(60), actors::get_atom::value, q)
          .then([=, metrics = std::move(m.body)](actors::report_reply& ev) mutable {
            if (ev.error)
              return done(std::move(ev.error));
            improvement_input in{std::move(metrics), std::move(ev.body), tools, now};
            imp->apply_improvements(propose_improvements(in, settings), done);
          }, failed);
      }, failed);
    }, failed);
  });
}

void engine::impl::maybe_improve() {
  const auto& cfg = rt->config.improvement;
  if (!cfg.daily || stopped)
    return;
  auto due = improvement_run_due(rt->time->now().utc, cfg.at_minute, last_improvement_day);
  if (!due)
    return;
  last_improvement_day = *due;
  run_improvements([day = *due](result<json::object> r) {
    if (!r)
      log_event(log_level::error, "improvement.run_failed", "the daily improvement run failed",
                json::object{{"day", day}, {"reason", r.error().message}});
    else
      log_event(log_level::info, "improvement.ran", "the daily improvement run created its TODOs",
                json::object{{"day", day}, {"proposals", r->at("proposals").as_array().size()}});
  });
}

void engine::run_improvements(report_done done) {
  if (impl_->read_only || impl_->stopped)
    return done(make_error(error_code::unavailable, "a read-only or stopped engine creates no TODOs"));
  impl_->run_improvements(std::move(done));
}

result<json::object> engine::run_improvements() {
  auto promise = std::make_shared<std::promise<result<json::object>>>();
  auto answer = promise->get_future();
  run_improvements([promise](result<json::object> r) { promise->set_value(std::move(r)); });
  return answer.get();
}

} // namespace opex
