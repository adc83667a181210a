// The prolex_planner actor: validates a KimmyPayload that arrives from outside, plans it, journals
// the plan and passes the ProlexOutput to the Proxy Master. Modes (prolex.mode): `rules` (the
// planning table), `llm` (the model; its failure refuses the request), `llm_with_rules_fallback`
// (the model; the rules when it is unavailable, over budget or still invalid after one re-ask).
#include "../agents.hpp"
#include "../llm/model_dialog.hpp"
#include "kimmy/kimmy_history.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace {

using self_pointer = agent_actor::pointer;
namespace json = boost::json;

/// The planning entry of the journal (model, tokens and cost in metadata).
void journal_plan(self_pointer self, const runtime_services& rt, const request_context& ctx, const prolex_output& output,
                  const std::string& rule, const std::string& detail, caf::actor_clock::time_point started,
                  const trace_context& span, const model_note* note) {
  observe_agent(rt, ctx, "prolex", span, self->clock().now() - started, "planned");
  auto entry = make_journal_entry(rt, ctx, "prolex", "planning");
  entry.payload_snapshot = to_json(output);
  json::object data{{"output_type", output_type_name(output.type)}, {"rule", rule}, {"detail", detail}};
  if (note)
    data["llm"] = note->to_json();
  entry.data = std::move(data);
  if (output.type == output_type::tool_call)
    entry.tool_used = output.plan.front().tool;
  entry.metadata["execution_time_ms"] =
    std::chrono::duration<double, std::milli>(rt.elapsed_now() - started).count();
  entry.metadata["model"] = note && note->fallback_reason.empty() ? note->model : std::string("rules");
  entry.metadata["tokens_used"] = note ? note->tokens : 0;
  entry.metadata["cost_usd"] = note ? note->cost_usd : 0.0;
  if (note && !note->fallback_reason.empty())
    entry.tags = {"prolex", "llm_fallback", note->fallback_reason};
  self->send(rt.store, journal_atom::value, std::move(entry));
}

/// Plans with the rules and passes the output on; `items` are the tenant's tasks and notes
/// for references (null when the payload names none or they could not be read).
template <class Delegate>
auto plan_with_rules(self_pointer self, const std::shared_ptr<const agent_parts>& rt, request_context ctx,
                     caf::actor_clock::time_point started, const trace_context& span, const model_note* note,
                     Delegate delegate, const json::object* items = nullptr) {
  auto planned =
    agents_of(*rt->agents, ctx).planner->plan(*ctx.kimmy, config_of(*rt->base, ctx).level_for(ctx.tenant), items);
  std::string rule = planned.note.rule;
  std::string detail = planned.note.detail;
  if (note) {
    rule = "llm_fallback:" + rule;
    detail = "the model's plan was not used (" + note->fallback_reason + "): " + note->error.message + "; " + detail;
  }
  journal_plan(self, *rt->base, ctx, planned.output, rule, detail, started, span, note);
  ctx.output = std::make_shared<const prolex_output>(std::move(planned.output));
  ctx.planned_by = "prolex";
  return delegate(std::move(ctx));
}

/// True when the payload (or one of its actions) refers to a task, note or event without its id.
bool names_items(const kimmy_payload& p) {
  auto refers = [](const json::object& params) {
    return params.contains("task_ref") || params.contains("doc_ref") || params.contains("event_ref");
  };
  if (refers(p.parameters))
    return true;
  if (const auto* actions = p.parameters.if_contains("actions"); actions && actions->is_array())
    for (const auto& a : actions->get_array())
      if (const auto* params = a.is_object() ? a.get_object().if_contains("parameters") : nullptr;
          params && params->is_object() && refers(params->get_object()))
        return true;
  return false;
}

/// Reads the tenant's items on the report reader (its own connection and thread), then plans
/// with the rules; without them (a read that fails or times out) the references stay titles.
caf::result<request_outcome> plan_with_items(self_pointer self, const std::shared_ptr<const agent_parts>& rt,
                                             request_context ctx, caf::actor_clock::time_point started,
                                             const trace_context& span) {
  auto rp = self->make_response_promise<request_outcome>();
  auto pass_on = [self, rt, rp](request_context c) mutable {
    rp.delegate(rt->routes->proxy_master, run_atom::value, std::move(c));
    return 0;
  };
  item_lookup q{ctx.tenant, 200};
  self->request(rt->base->context, std::chrono::seconds(5), list_atom::value, std::move(q))
    .then(
      [self, rt, ctx, started, span, pass_on](const report_reply& r) mutable {
        plan_with_rules(self, rt, std::move(ctx), started, span, nullptr, pass_on, r.error ? nullptr : &r.body);
      },
      [self, rt, ctx, started, span, pass_on](const caf::error&) mutable {
        plan_with_rules(self, rt, std::move(ctx), started, span, nullptr, pass_on);
      });
  return rp;
}

/// Checks a KimmyPayload sent from outside and makes it the request's (its request id, the
/// caller's user id when it names none); the schema error (journaled) when it does not pass.
error_info adopt_payload(self_pointer self, const runtime_services& rt, request_context& ctx) {
  if (auto err = schemas_of(rt, ctx).check(schema_ids::kimmy_payload, *ctx.raw, "KimmyPayload")) {
    err.message = "Invalid KimmyPayload schema";
    auto entry = make_journal_entry(rt, ctx, "prolex", "error");
    entry.status = "failure";
    entry.error = err.message;
    entry.error_code = std::string(error_code_name(err.code));
    self->send(rt.store, journal_atom::value, std::move(entry));
    return err;
  }
  auto payload = kimmy_payload_from_json(ctx.raw->get_object());
  if (payload.user_id.empty())
    payload.user_id = ctx.user_id;
  ctx.request_id = payload.request_id;
  ctx.kimmy = std::make_shared<const kimmy_payload>(std::move(payload));
  return {};
}

/// A KimmyPayload from outside gets the context Kimmy would have given it (docs/kimmy.md,
/// "Context from the journal"): the user's history from the agents' reader and, when it came
/// with none, its history_refs; then it is planned like any (sent to this actor again). A read
/// that fails or takes more than 2 s leaves the payload as it came.
caf::result<request_outcome> plan_with_context(self_pointer self, const std::shared_ptr<const agent_parts>& rt,
                                               request_context ctx) {
  auto rp = self->make_response_promise<request_outcome>();
  history_query q;
  q.tenant = ctx.tenant;
  q.user_id = ctx.kimmy->user_id;
  q.intent = ctx.kimmy->intent;
  q.tools = ctx.kimmy->suggested_tools;
  auto go_on = [rp, me = caf::actor_cast<agent_actor>(self), ctx](const json::object* history) mutable {
    if (history) {
      auto payload = *ctx.kimmy;
      if (payload.history_refs.empty())
        payload.history_refs = history_refs_of(*history, payload);
      ctx.kimmy = std::make_shared<const kimmy_payload>(std::move(payload));
      ctx.history = std::make_shared<const json::object>(*history);
    }
    rp.delegate(me, run_atom::value, std::move(ctx));
  };
  self->request(rt->base->context, std::chrono::seconds(2), get_atom::value, std::move(q))
    .then([go_on](const report_reply& r) mutable { go_on(r.error ? nullptr : &r.body); },
          [go_on](const caf::error&) mutable { go_on(nullptr); });
  return rp;
}

agent_actor::behavior_type prolex_planner(self_pointer self, std::shared_ptr<const agent_parts> rt) {
  return {
    [self, rt](run_atom, request_context ctx) -> caf::result<request_outcome> {
      auto started = self->clock().now();
      auto span = ctx.trace.valid() ? ctx.trace.child() : trace_context{};
      if (!ctx.kimmy && ctx.raw) {  // /webhook/prolex-intake: the payload comes from outside
        if (auto err = adopt_payload(self, *rt->base, ctx)) {
          observe_agent(*rt->base, ctx, "prolex", span, self->clock().now() - started, "refused",
                        std::string(error_code_name(err.code)));
          return refusal(*rt->base, ctx, std::move(err));
        }
        if (rt->base->context && !ctx.kimmy->user_id.empty())
          return plan_with_context(self, rt, std::move(ctx));
      }
      if (!ctx.kimmy)
        return refusal(*rt->base, ctx, make_error(error_code::internal_error, "Prolex received no KimmyPayload"));

      const auto& mode = config_of(*rt->base, ctx).prolex.mode;
      if (mode == "rules" || !agents_of(*rt->agents, ctx).llm_plans) {
        if (names_items(*ctx.kimmy) && rt->base->context)
          return plan_with_items(self, rt, std::move(ctx), started, span);
        return plan_with_rules(self, rt, std::move(ctx), started, span, nullptr, [self, rt](request_context c) {
          return caf::result<request_outcome>(self->delegate(rt->routes->proxy_master, run_atom::value, std::move(c)));
        });
      }

      // The model plans; its budget is the planning limit, the request's own budget and what
      // is left of the day's.
      auto rp = self->make_response_promise<request_outcome>();
      auto g = guard_for(*rt->base, ctx);
      auto with_budget = [self, rt, ctx, g, rp, started, span](double spent_today) mutable {
        const auto& cfg = config_of(*rt->base, ctx);
        double budget = cfg.prolex.max_cost_per_call_usd > 0 ? cfg.prolex.max_cost_per_call_usd
                                                             : cfg.system.max_cost_per_request_usd;
        if (g.max_cost_usd)
          budget = std::min(budget, *g.max_cost_usd);
        budget = std::max(0.0, std::min(budget, cfg.system.max_cost_per_day_usd - spent_today));
        llm_call call;
        call.endpoint = cfg.prolex.llm;
        call.request = agents_of(*rt->agents, ctx).llm_plans->request_for(*ctx.kimmy, g, ctx.history.get());
        call.request_id = ctx.request_id;
        call.tenant = ctx.tenant;
        call.purpose = "prolex";
        call.span = span;
        auto output = std::make_shared<prolex_output>();
        run_model_dialog(
          self, rt->llm.get(), rt->routes->llm_gateway, std::move(call), budget,
          // `gen` keeps the generation `agents` points into alive for the dialog.
          [g, output, agents = &agents_of(*rt->agents, ctx), gen = ctx.generation](const std::string& text) {
            return agents->llm_plans->check(text, g, *output);
          },
          [self, rt, ctx, rp, started, span, output](bool accepted, model_note note) mutable {
            auto pass_on = [self, rt, rp](request_context c) mutable {
              rp.delegate(rt->routes->proxy_master, run_atom::value, std::move(c));
              return 0;
            };
            if (accepted) {
              journal_plan(self, *rt->base, ctx, *output, "llm", "planned by " + note.model, started, span, &note);
              ctx.output = std::make_shared<const prolex_output>(std::move(*output));
              ctx.planned_by = "prolex";
              pass_on(std::move(ctx));
              return;
            }
            if (config_of(*rt->base, ctx).prolex.mode == "llm_with_rules_fallback") {
              plan_with_rules(self, rt, std::move(ctx), started, span, &note, pass_on);
              return;
            }
            self->send(rt->base->store, journal_atom::value, model_failure_entry(*rt->base, ctx, "prolex", note));
            observe_agent(*rt->base, ctx, "prolex", span, self->clock().now() - started, "refused",
                          std::string(error_code_name(note.error.code)));
            rp.deliver(model_refusal(*rt->base, ctx, note));
          });
      };
      with_spent_today(self, *rt->base, g.tenant, std::move(with_budget));
      return rp;
    },
  };
}

} // namespace

agent_actor spawn_prolex_planner(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  // Kimmy and Prolex receive their agent_parts only.
  return system.spawn(prolex_planner, agent_parts_of(rt));
}

} // namespace opex::actors
