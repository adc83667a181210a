// The exchange Kimmy and Prolex have with a model in their llm modes: ask; check the answer;
// when it is refused, ask once more with the checker's errors; give up (the caller falls back
// to its rules, or refuses the request) when the model is unavailable, over budget, or still
// wrong. Every call goes through the LLM gateway (retries, breaker).
#pragma once

#include "../messages.hpp"
#include "../runtime.hpp"

#include <caf/event_based_actor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace opex::actors {

/// What happened with the model, journaled with the agent's entry (metadata model,
/// tokens_used, cost_usd; data llm {calls, attempts, errors, fallback_reason}).
struct model_note {
  std::string endpoint;
  std::string model;
  int calls = 0;       ///< questions asked (1, or 2 after a refused answer)
  int attempts = 0;    ///< HTTP attempts over all calls (retries included)
  std::int64_t tokens = 0;
  double cost_usd = 0.0;
  std::vector<std::string> errors;  ///< the checker's errors on the last refused answer
  /// "" when an answer was accepted; else model_unavailable | over_budget | invalid_output.
  std::string fallback_reason;
  error_info error;  ///< why (the gateway's error, or OUTPUT_INVALID with the errors)

  boost::json::object to_json() const;
};

/// Checks an answer: the errors to send back (empty = accepted, the checker kept the value).
using answer_checker = std::function<std::vector<std::string>(const std::string& text)>;

/// Called once with the outcome: `accepted` and the note.
using dialog_done = std::function<void(bool accepted, model_note note)>;

/// The journal entry of a request refused because the model failed in `llm` mode (agent's
/// action_type error, the note under data.llm, model, tokens and cost in metadata).
journal_entry model_failure_entry(const runtime_services& rt, const request_context& ctx, std::string agent,
                                  const model_note& note);

/// The refusal of that request: the note's error with the note under details.llm.
request_outcome model_refusal(const runtime_services& rt, const request_context& ctx, const model_note& note);

/// The question asked again after a refused answer: the conversation so far, then the errors.
connectors::llm_request retry_request(connectors::llm_request first, const std::string& answer,
                                      const std::vector<std::string>& errors);

/// Asks the store what the tenant spent today (journaled costs, USD) and calls `then` with it,
/// or with 0 when the store cannot answer: the budget of a model call needs it.
template <class Self, class Then>
void with_spent_today(Self* self, const runtime_services& rt, std::string tenant, Then then) {
  facts_query q;
  q.tenant = tenant.empty() ? "default" : std::move(tenant);
  std::tie(q.day_start, q.month_start) = day_and_month_start(rt);
  self->request(rt.store, std::chrono::seconds(30), facts_atom::value, std::move(q))
    .then([then](connectors::usage_facts& f) mutable { then(f.cost_today_usd); },
          [then](caf::error&) mutable { then(0.0); });
}

namespace detail {

struct dialog_state {
  llm_call call;
  model_note note;
  answer_checker check;
  dialog_done done;
  double budget = -1;
  const llm_endpoint_settings* endpoint = nullptr;

  void give_up(std::string reason, error_info err) {
    note.fallback_reason = std::move(reason);
    note.error = std::move(err);
    done(false, std::move(note));
  }
};

template <class Self>
void dialog_ask(Self* self, llm_actor gateway, std::shared_ptr<dialog_state> st) {
  if (st->budget >= 0) {
    double estimate = connectors::llm::estimate_cost_usd(*st->endpoint, st->call.request);
    if (st->note.cost_usd + estimate > st->budget) {
      st->give_up("over_budget",
                  make_error(error_code::cost_limit_exceeded, "the model call would exceed the planning budget",
                             boost::json::object{{"estimated_cost_usd", estimate},
                                                 {"spent_usd", st->note.cost_usd},
                                                 {"budget_usd", st->budget}}));
      return;
    }
  }
  ++st->note.calls;
  self->request(gateway, caf::infinite, llm_atom::value, st->call)
    .then(
      [self, gateway, st](llm_reply& r) {
        st->note.attempts += r.attempts;
        st->note.tokens += r.input_tokens + r.output_tokens;
        st->note.cost_usd += r.cost_usd;
        if (!r.ok) {
          st->give_up("model_unavailable", std::move(r.error));
          return;
        }
        st->note.model = r.response.model;
        auto errors = st->check(r.response.text);
        if (errors.empty()) {
          st->note.errors.clear();
          st->done(true, std::move(st->note));
          return;
        }
        st->note.errors = errors;
        if (st->note.calls >= 2) {
          boost::json::array list;
          for (const auto& e : errors)
            list.emplace_back(e);
          st->give_up("invalid_output", make_error(error_code::output_invalid,
                                                   "the model's answer is still invalid after a second try",
                                                   boost::json::object{{"errors", std::move(list)}}));
          return;
        }
        st->call.request = retry_request(std::move(st->call.request), r.response.text, errors);
        dialog_ask(self, gateway, st);
      },
      [st](caf::error& err) {
        st->give_up("model_unavailable",
                    make_error(error_code::internal_error, "the LLM gateway did not answer: " + caf::to_string(err)));
      });
}

} // namespace detail

/// Runs the dialog from actor `self` (any actor type that can send requests) through `gateway`;
/// `llm` gives the endpoints' prices. `budget_usd` bounds the estimated cost of each call plus
/// what was spent (< 0: no bound).
template <class Self>
void run_model_dialog(Self* self, const connectors::llm_service* llm, llm_actor gateway, llm_call call, double budget_usd,
                      answer_checker check, dialog_done done) {
  auto st = std::make_shared<detail::dialog_state>();
  st->endpoint = llm ? llm->settings().find(call.endpoint) : nullptr;
  st->note.endpoint = st->endpoint ? st->endpoint->name : call.endpoint;
  st->call = std::move(call);
  st->check = std::move(check);
  st->done = std::move(done);
  st->budget = budget_usd;
  if (!gateway || st->endpoint == nullptr) {
    st->give_up("model_unavailable", make_error(error_code::connector_unavailable, "no LLM endpoint is configured"));
    return;
  }
  detail::dialog_ask(self, std::move(gateway), std::move(st));
}

} // namespace opex::actors
