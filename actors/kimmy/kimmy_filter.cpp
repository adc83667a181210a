// The kimmy_filter actor: classifies the text, journals the classification, then either runs a
// reversible quick action (a tool_call planned from the same planning table, still checked by
// the Proxy Master) or escalates the KimmyPayload to Prolex. Modes (kimmy.mode): `rules`,
// `llm` (the model classifies; its failure refuses the request), `llm_with_rules_fallback`
// (the rules' analysis when the model is unavailable, over budget or still invalid). In both
// llm modes the decision rule and the sensitive keywords are opex's own.
#include "../agents.hpp"
#include "../llm/model_dialog.hpp"
#include "kimmy_history.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace {

using self_pointer = agent_actor::pointer;
namespace json = boost::json;

/// How long Kimmy waits for the user's history before it goes on without it.
constexpr auto history_timeout = std::chrono::seconds(2);

/// Journals the classification, then passes the request on (quick action or Prolex).
template <class Delegate>
auto classified(self_pointer self, const std::shared_ptr<const agent_parts>& rt, request_context ctx,
                const kimmy_analysis& analysis, caf::actor_clock::time_point started, const trace_context& span,
                const model_note* note,
                const std::vector<std::string>& dropped, Delegate delegate) {
  ctx.kimmy = std::make_shared<const kimmy_payload>(analysis.payload);
  ctx.decision = std::make_shared<const kimmy_decision>(analysis.decision);
  auto entry = make_journal_entry(*rt->base, ctx, "kimmy", "classification");
  entry.payload_snapshot = to_json(analysis.payload);
  json::array reasons;
  for (const auto& r : analysis.decision.reasons)
    reasons.emplace_back(r);
  json::object data{{"requires_prolex", analysis.decision.requires_prolex},
                    {"handled_directly", analysis.decision.handled_directly},
                    {"reasons", std::move(reasons)},
                    {"classified_by", note && note->fallback_reason.empty() ? "llm" : "rules"}};
  if (note)
    data["llm"] = note->to_json();
  if (!dropped.empty()) {
    json::array d;
    for (const auto& x : dropped)
      d.emplace_back(x);
    data["dropped_parameters"] = std::move(d);
  }
  entry.data = std::move(data);
  entry.metadata["confidence"] = analysis.payload.confidence;
  entry.metadata["execution_time_ms"] =
    std::chrono::duration<double, std::milli>(rt->base->elapsed_now() - started).count();
  entry.metadata["model"] = note && note->fallback_reason.empty() ? note->model : std::string("rules");
  entry.metadata["tokens_used"] = note ? note->tokens : 0;
  entry.metadata["cost_usd"] = note ? note->cost_usd : 0.0;
  entry.tags = {"kimmy", analysis.payload.language, analysis.payload.intent};
  if (note && !note->fallback_reason.empty()) {
    entry.tags.emplace_back("llm_fallback");
    entry.tags.push_back(note->fallback_reason);
  }
  self->send(rt->base->store, journal_atom::value, std::move(entry));
  observe_agent(*rt->base, ctx, "kimmy", span, self->clock().now() - started, "classified");

  if (analysis.decision.handled_directly) {
    auto planned = agents_of(*rt->agents, ctx).planner->plan(analysis.payload, config_of(*rt->base, ctx).level_for(ctx.tenant));
    if (planned.output.type == output_type::tool_call || planned.output.type == output_type::answer) {
      ctx.output = std::make_shared<const prolex_output>(std::move(planned.output));
      ctx.planned_by = "kimmy";
      return delegate(rt->routes->proxy_master, std::move(ctx));
    }
  }
  return delegate(rt->routes->prolex, std::move(ctx));
}

using outcome_promise = caf::typed_response_promise<request_outcome>;

/// Classifies with the rules or the model (kimmy.mode), the user's `history` applied (null:
/// none could be read), and hands the request on through `rp`.
void classify(self_pointer self, const std::shared_ptr<const agent_parts>& rt, request_context ctx,
              const kimmy_request& req, kimmy_analysis analysis, std::shared_ptr<const json::object> history,
              caf::actor_clock::time_point started, const trace_context& span, outcome_promise rp) {
  const auto& agents = agents_of(*rt->agents, ctx);  // the request's generation (reloads)
  if (history)
    add_history(*agents.kimmy, analysis, *history, req.now);
  ctx.history = history;
  auto pass_on = [self, rp](const agent_actor& next, request_context c) mutable {
    rp.delegate(next, run_atom::value, std::move(c));
    return 0;
  };
  const auto& mode = config_of(*rt->base, ctx).kimmy.mode;
  if (mode == "rules" || !agents.llm_kimmy) {
    classified(self, rt, std::move(ctx), analysis, started, span, nullptr, {}, pass_on);
    return;
  }
  auto rules = std::make_shared<kimmy_analysis>(std::move(analysis));
  auto with_budget = [self, rt, ctx, rp, req, rules, history, started, span, pass_on](double spent_today) mutable {
    const auto& cfg = config_of(*rt->base, ctx);
    double budget = std::max(0.0, std::min(cfg.system.max_cost_per_request_usd,
                                           cfg.system.max_cost_per_day_usd - spent_today));
    llm_call call;
    call.endpoint = cfg.kimmy.llm;
    call.request = agents_of(*rt->agents, ctx).llm_kimmy->request_for(req);
    call.request_id = ctx.request_id;
    call.tenant = ctx.tenant;
    call.purpose = "kimmy";
    call.span = span;
    auto merged = std::make_shared<kimmy_analysis>(*rules);
    auto dropped = std::make_shared<std::vector<std::string>>();
    run_model_dialog(
      self, rt->llm.get(), rt->routes->llm_gateway, std::move(call), budget,
      // `gen` keeps the generation `agents` points into alive for the dialog.
      [merged, rules, dropped, agents = &agents_of(*rt->agents, ctx), gen = ctx.generation](const std::string& text) {
        *merged = *rules;
        dropped->clear();
        return agents->llm_kimmy->merge(text, *merged, *dropped);
      },
      [self, rt, ctx, rp, req, rules, merged, dropped, history, started, span, pass_on](bool accepted,
                                                                                      model_note note) mutable {
        if (accepted) {
          if (history)  // the model's intent: its own history refs
            add_history(*agents_of(*rt->agents, ctx).kimmy, *merged, *history, req.now);
          classified(self, rt, std::move(ctx), *merged, started, span, &note, *dropped, pass_on);
          return;
        }
        if (config_of(*rt->base, ctx).kimmy.mode == "llm_with_rules_fallback") {
          classified(self, rt, std::move(ctx), *rules, started, span, &note, {}, pass_on);
          return;
        }
        self->send(rt->base->store, journal_atom::value, model_failure_entry(*rt->base, ctx, "kimmy", note));
        observe_agent(*rt->base, ctx, "kimmy", span, self->clock().now() - started, "refused",
                      std::string(error_code_name(note.error.code)));
        rp.deliver(model_refusal(*rt->base, ctx, note));
      });
  };
  with_spent_today(self, *rt->base, ctx.tenant, std::move(with_budget));
}

agent_actor::behavior_type kimmy_filter(self_pointer self, std::shared_ptr<const agent_parts> rt) {
  return {
    [self, rt](run_atom, request_context ctx) -> caf::result<request_outcome> {
      auto started = self->clock().now();
      auto span = ctx.trace.valid() ? ctx.trace.child() : trace_context{};
      kimmy_request req;
      req.request_id = ctx.request_id;
      req.text = ctx.text ? *ctx.text : std::string{};
      req.source = ctx.source;
      req.user_id = ctx.user_id;
      req.now = rt->base->time->now();
      auto analysis = agents_of(*rt->agents, ctx).kimmy->analyze(req);
      auto rp = self->make_response_promise<request_outcome>();
      if (!rt->base->context || ctx.user_id.empty()) {
        classify(self, rt, std::move(ctx), req, std::move(analysis), nullptr, started, span, rp);
        return rp;
      }
      // The user's history, on the agents' reader (docs/kimmy.md, "Context from the journal");
      // without it (a read that fails or is slow) the request goes on without context.
      history_query q;
      q.tenant = ctx.tenant;
      q.user_id = ctx.user_id;
      q.intent = analysis.payload.intent;
      q.tools = analysis.payload.suggested_tools;
      auto parts = std::make_shared<std::tuple<request_context, kimmy_request, kimmy_analysis>>(
        std::move(ctx), req, std::move(analysis));
      auto go_on = [self, rt, parts, started, span, rp](std::shared_ptr<const json::object> history) mutable {
        auto& [c, r, a] = *parts;
        classify(self, rt, std::move(c), r, std::move(a), std::move(history), started, span, rp);
      };
      self->request(rt->base->context, history_timeout, get_atom::value, std::move(q))
        .then([go_on](const report_reply& r) mutable {
                go_on(r.error ? nullptr : std::make_shared<const json::object>(r.body));
              },
              [go_on](const caf::error&) mutable { go_on(nullptr); });
      return rp;
    },
  };
}

} // namespace

agent_actor spawn_kimmy_filter(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  // Kimmy and Prolex receive their agent_parts only.
  return system.spawn(kimmy_filter, agent_parts_of(rt));
}

} // namespace opex::actors
