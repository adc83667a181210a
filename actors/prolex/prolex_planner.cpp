// The prolex_planner actor: validates a KimmyPayload that arrives from outside, plans it with
// the rule planner, journals the plan and passes the ProlexOutput to the Proxy Master.
#include "../agents.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace {

agent_actor::behavior_type prolex_planner(agent_actor::pointer self, std::shared_ptr<const runtime> rt) {
  return {
    [self, rt](run_atom, request_context ctx) -> caf::result<request_outcome> {
      auto started = std::chrono::steady_clock::now();
      if (!ctx.kimmy && ctx.raw) {
        // /webhook/prolex-intake: the payload comes from outside.
        if (auto err = rt->schemas->check(schema_ids::kimmy_payload, *ctx.raw, "KimmyPayload")) {
          err.message = "Invalid KimmyPayload schema";
          auto entry = make_journal_entry(*rt, ctx, "prolex", "error");
          entry.status = "failure";
          entry.error = err.message;
          entry.error_code = std::string(error_code_name(err.code));
          self->send(rt->store, journal_atom::value, std::move(entry));
          return refusal(*rt, ctx, std::move(err));
        }
        auto payload = kimmy_payload_from_json(ctx.raw->get_object());
        if (payload.user_id.empty())
          payload.user_id = ctx.user_id;
        ctx.request_id = payload.request_id;
        ctx.kimmy = std::make_shared<const kimmy_payload>(std::move(payload));
      }
      if (!ctx.kimmy)
        return refusal(*rt, ctx, make_error(error_code::internal_error, "Prolex received no KimmyPayload"));
      auto planned = rt->planner->plan(*ctx.kimmy, rt->config.level_for(ctx.tenant));
      auto entry = make_journal_entry(*rt, ctx, "prolex", "planning");
      entry.payload_snapshot = to_json(planned.output);
      entry.data = boost::json::object{{"output_type", output_type_name(planned.output.type)},
                                       {"rule", planned.note.rule},
                                       {"detail", planned.note.detail}};
      if (planned.output.type == output_type::tool_call)
        entry.tool_used = planned.output.plan.front().tool;
      entry.metadata["execution_time_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      entry.metadata["model"] = "rules";
      entry.metadata["tokens_used"] = 0;
      entry.metadata["cost_usd"] = 0.0;
      self->send(rt->store, journal_atom::value, std::move(entry));
      ctx.output = std::make_shared<const prolex_output>(std::move(planned.output));
      ctx.planned_by = "prolex";
      return self->delegate(rt->proxy_master, run_atom::value, std::move(ctx));
    },
  };
}

} // namespace

agent_actor spawn_prolex_planner(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  return system.spawn(prolex_planner, std::move(rt));
}

} // namespace opex::actors
