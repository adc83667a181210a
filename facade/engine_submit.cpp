// Submissions: the request context, the idempotency claim (docs/durability.md, "Idempotency
// keys"), the run through the agents, and the commit of the final state of requests that end
// before a supervisor (refusals, answers, clarifications) before their answer.
#include "engine_impl.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <boost/json/serialize.hpp>

namespace opex {

namespace json = boost::json;

request_result immediate_error(const std::string& request_id, error_info err, const clock& time) {
  request_result r;
  r.request_id = request_id;
  r.status = request_status::rejected;
  r.error = std::move(err);
  r.error_timestamp = format_timestamp(time.now().utc);
  return r;
}

namespace {

std::string_view entry_name(actors::entry_point e) {
  switch (e) {
    case actors::entry_point::kimmy: return "kimmy";
    case actors::entry_point::prolex: return "prolex";
    case actors::entry_point::proxy: return "proxy";
  }
  return "proxy";
}

/// SHA-256 of what the request asks: entry point, caller, and the body as parsed.
std::string body_digest(const actors::request_context& ctx, actors::entry_point entry) {
  std::string text(entry_name(entry));
  text += '\n';
  text += ctx.user_id;
  text += '\n';
  text += ctx.source;
  text += '\n';
  if (ctx.text)
    text += *ctx.text;
  else if (ctx.raw)
    text += json::serialize(*ctx.raw);
  return policies::sha256_hex(text);
}

/// The row of a request that ended before a supervisor (refused, answered, clarified).
actors::request_state final_row(const actors::runtime& rt, const actors::request_context& ctx, const request_result& r) {
  actors::request_state row;
  row.id = r.request_id;
  row.tenant = ctx.tenant.empty() ? "default" : ctx.tenant;
  row.user_id = r.user_id.empty() ? ctx.user_id : r.user_id;
  row.status = std::string(request_status_name(r.status));
  if (r.output)
    row.output = to_json(*r.output);
  row.result = to_json(r);
  row.idempotency_key = ctx.idempotency_key;
  row.body_digest = ctx.body_digest;
  row.created_at = rt.now();
  row.updated_at = row.created_at;
  return row;
}

} // namespace

std::optional<actors::request_context> engine::impl::start(submit_options& opts, const result_callback& done) {
  actors::request_context ctx;
  ctx.request_id = opts.request_id.empty() ? make_uuid_v7() : opts.request_id;
  if (read_only || stopped) {
    done(immediate_error(ctx.request_id,
                         make_error(error_code::unavailable,
                                    read_only ? "this engine is read-only: it does not execute requests"
                                              : "the engine is stopping",
                                    json::object{{"reason", read_only ? "read_only" : "stopping"}}),
                         *rt->time));
    return std::nullopt;
  }
  if (auto limit = static_cast<std::size_t>(std::max(0, rt->config.execution.max_in_flight_requests));
      limit > 0 && in_flight.load(std::memory_order_relaxed) >= limit) {
    // Admission control: refusing here keeps the store's backlog, and the memory it takes, bounded.
    done(immediate_error(ctx.request_id,
                         make_error(error_code::overloaded,
                                    "too many requests in flight (" + std::to_string(limit) + "); retry later",
                                    json::object{{"in_flight", in_flight.load()}, {"limit", limit},
                                                 {"setting", "execution.max_in_flight_requests"}}),
                         *rt->time));
    return std::nullopt;
  }
  if (!is_uuid(ctx.request_id)) {
    done(immediate_error(ctx.request_id,
                         make_error(error_code::validation_error, "request_id must be a UUID",
                                    json::object{{"request_id", ctx.request_id}}),
                         *rt->time));
    return std::nullopt;
  }
  ctx.user_id = std::move(opts.user_id);
  ctx.source = opts.source.empty() ? "api" : std::move(opts.source);
  ctx.client = std::move(opts.client);
  ctx.tenant = opts.tenant.empty() ? "default" : std::move(opts.tenant);
  ctx.trace = opts.trace ? std::move(*opts.trace) : trace_context::start();
  ctx.generation = current_generation();  // its policies to the end, whatever reloads follow
  if (ctx.tenant != "default" && !actors::config_of(*rt, ctx).find_tenant(ctx.tenant)) {
    done(immediate_error(ctx.request_id,
                         make_error(error_code::validation_error, "unknown tenant " + ctx.tenant,
                                    json::object{{"tenant", ctx.tenant}}),
                         *rt->time));
    return std::nullopt;
  }
  ctx.idempotency_key = !opts.idempotency_key.empty() ? std::move(opts.idempotency_key) : opts.request_id;
  if (ctx.idempotency_key.size() > 255) {
    done(immediate_error(ctx.request_id,
                         make_error(error_code::validation_error, "the idempotency key is longer than 255 characters",
                                    json::object{{"field", "idempotency_key"}}),
                         *rt->time));
    return std::nullopt;
  }
  return ctx;
}

void engine::impl::submit(actors::request_context ctx, actors::entry_point entry, result_callback done) {
  ctx.entry = entry;
  ctx.received = rt->elapsed_now();
  if (ctx.user_id.empty())
    ctx.user_id = actors::config_of(*rt, ctx).default_user_id;
  rt->observers.notify(request_started{ctx.request_id, ctx.tenant, ctx.user_id, ctx.source, std::string(entry_name(entry)), ctx.trace});
  ++in_flight;
  // Observers see the end under the id they saw start: a repeat answers the first request's
  // result, and prolex-intake runs under its payload's request_id.
  auto counted = [this, admitted = ctx.request_id, done = std::move(done)](request_result r) {
    --in_flight;
    if (r.request_id == admitted) {
      rt->observers.notify(r);
    } else {
      auto seen = r;
      seen.request_id = admitted;
      rt->observers.notify(seen);
    }
    done(std::move(r));
  };
  if (ctx.idempotency_key.empty()) {
    run(std::move(ctx), entry, std::move(counted));
    return;
  }
  ctx.body_digest = body_digest(ctx, entry);
  actors::idempotency_claim claim{ctx.tenant, ctx.idempotency_key, ctx.request_id, ctx.body_digest};
  auto store = rt->store;
  auto time = rt->time;
  system->spawn([this, store, claim, ctx = std::move(ctx), entry, time, done = std::move(counted)](
                  caf::event_based_actor* self) mutable {
    self->request(store, std::chrono::seconds(30), actors::claim_atom::value, claim)
      .then(
        [this, ctx = std::move(ctx), entry, done, time](actors::claim_reply& reply) mutable {
          using kind = actors::claim_reply::kind;
          switch (reply.outcome) {
            case kind::fresh:
              run(std::move(ctx), entry, std::move(done));
              return;
            case kind::replay: {
              auto r = request_result_from_json(reply.stored.as_object());
              r.replayed = true;
              done(std::move(r));
              return;
            }
            case kind::running:
              answer_repeat(reply.request_id, std::move(done));
              return;
            case kind::conflict:
              done(immediate_error(ctx.request_id, std::move(reply.error), *time));
              return;
          }
        },
        [ctx, done, time](caf::error& err) {
          done(immediate_error(ctx.request_id,
                               make_error(error_code::internal_error, "idempotency claim failed: " + caf::to_string(err)),
                               *time));
        });
  });
}

void engine::impl::answer_repeat(const std::string& request_id, result_callback done) {
  // The first answer of the running request, or its stored result if it came meanwhile (rows
  // are committed before answers, so a missed answer is found in the store).
  auto fired = std::make_shared<std::atomic<bool>>(false);
  auto once = [fired, done](request_result r) {
    if (fired->exchange(true))
      return;
    r.replayed = true;
    done(std::move(r));
  };
  rt->answers.watch(request_id, once);
  rt->completions.watch(request_id, once);
  auto store = rt->store;
  actors::request_lookup q{request_id, ""};
  system->spawn([store, q, once](caf::event_based_actor* self) {
    self->request(store, std::chrono::seconds(30), actors::get_atom::value, q).then([once](actors::stored_plan& p) {
      if (p.request && p.request->result.is_object() && !p.request->running())
        once(request_result_from_json(p.request->result.as_object()));
    });
  });
}

void engine::impl::run(actors::request_context ctx, actors::entry_point entry, result_callback done) {
  actors::agent_actor target = entry == actors::entry_point::kimmy    ? kimmy
                               : entry == actors::entry_point::prolex ? rt->prolex
                                                                      : rt->proxy_master;
  // The supervisor enforces max_execution_time_minutes itself and answers timed_out; this
  // bound only catches a chain that never answers.
  auto timeout = std::chrono::minutes(std::max(1, actors::config_of(*rt, ctx).system.max_execution_time_minutes) + 1);
  auto runtime = rt;
  system->spawn([ctx = std::move(ctx), target, timeout, runtime, done = std::move(done)](
                  caf::event_based_actor* self) mutable {
    auto request_id = ctx.request_id;
    self->request(target, timeout, actors::run_atom::value, ctx)
      .then(
        [self, ctx, runtime, done](actors::request_outcome& outcome) {
          auto result = outcome.result;
          if (outcome.stored) {  // a supervisor committed it (and masked it)
            runtime->answers.complete(*result);
            done(std::move(*result));
            return;
          }
          // Refused, answered or clarified before any plan ran: commit its row, then answer.
          actors::mask_result(*result, runtime->masking);
          actors::write_batch w;
          w.requests.push_back(final_row(*runtime, ctx, *result));
          self->request(runtime->store, std::chrono::seconds(60), actors::commit_atom::value, std::move(w))
            .then(
              [runtime, result, done](bool) {
                runtime->answers.complete(*result);
                done(std::move(*result));
              },
              [runtime, result, done](caf::error& err) {
                result->status = request_status::failed;
                result->error = make_error(error_code::internal_error, "the request's state could not be committed",
                                           json::object{{"reason", caf::to_string(err)}});
                result->error_timestamp = runtime->now();
                done(std::move(*result));
              });
        },
        [done, request_id, runtime, timeout](caf::error& err) {
          error_info e =
            err == caf::sec::request_timeout
              ? make_error(error_code::timeout, "the request exceeded max_execution_time_minutes",
                           json::object{{"scope", "request"}, {"max_execution_time_minutes", timeout.count()}})
              : make_error(error_code::internal_error, "request failed: " + caf::to_string(err));
          auto r = immediate_error(request_id, std::move(e), *runtime->time);
          r.status = err == caf::sec::request_timeout ? request_status::timed_out : request_status::failed;
          done(std::move(r));
        });
  });
}

void engine::submit_text(std::string text, submit_options opts, result_callback done) {
  auto ctx = impl_->start(opts, done);
  if (!ctx)
    return;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    done(immediate_error(ctx->request_id,
                         make_error(error_code::validation_error, "the request text is empty",
                                    json::object{{"field", "text"}}),
                         *impl_->rt->time));
    return;
  }
  ctx->text = std::make_shared<const std::string>(std::move(text));
  impl_->submit(std::move(*ctx), actors::entry_point::kimmy, std::move(done));
}

void engine::submit_payload(json::value kimmy_payload, submit_options opts, result_callback done) {
  // The payload's own request_id wins when it is a UUID (and is its idempotency key); the
  // schema check comes in Prolex.
  if (const auto* obj = kimmy_payload.if_object())
    if (auto id = get_string(*obj, "request_id"); id && is_uuid(*id))
      opts.request_id = std::string(*id);
  auto ctx = impl_->start(opts, done);
  if (!ctx)
    return;
  ctx->raw = std::make_shared<const json::value>(std::move(kimmy_payload));
  impl_->submit(std::move(*ctx), actors::entry_point::prolex, std::move(done));
}

void engine::submit_output(json::value prolex_output, submit_options opts, result_callback done) {
  auto ctx = impl_->start(opts, done);
  if (!ctx)
    return;
  ctx->planned_by = "client";
  ctx->raw = std::make_shared<const json::value>(std::move(prolex_output));
  impl_->submit(std::move(*ctx), actors::entry_point::proxy, std::move(done));
}

namespace {

template <class Submit>
std::future<request_result> as_future(Submit&& submit) {
  auto promise = std::make_shared<std::promise<request_result>>();
  auto future = promise->get_future();
  submit([promise](request_result r) { promise->set_value(std::move(r)); });
  return future;
}

} // namespace

std::future<request_result> engine::submit_text(std::string text, submit_options opts) {
  return as_future([&](result_callback cb) { submit_text(std::move(text), std::move(opts), std::move(cb)); });
}

std::future<request_result> engine::submit_payload(json::value payload, submit_options opts) {
  return as_future([&](result_callback cb) { submit_payload(std::move(payload), std::move(opts), std::move(cb)); });
}

std::future<request_result> engine::submit_output(json::value output, submit_options opts) {
  return as_future([&](result_callback cb) { submit_output(std::move(output), std::move(opts), std::move(cb)); });
}

std::size_t engine::in_flight() const noexcept {
  return impl_->in_flight.load();
}

} // namespace opex
