// The kimmy_filter actor: classifies the text, journals the classification, then either runs a
// reversible quick action (a tool_call planned from the same planning table, still checked by
// the Proxy Master) or escalates the KimmyPayload to Prolex.
#include "../agents.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace {

agent_actor::behavior_type kimmy_filter(agent_actor::pointer self, std::shared_ptr<const runtime> rt) {
  return {
    [self, rt](run_atom, request_context ctx) -> caf::result<request_outcome> {
      auto started = std::chrono::steady_clock::now();
      kimmy_request req;
      req.request_id = ctx.request_id;
      req.text = ctx.text ? *ctx.text : std::string{};
      req.source = ctx.source;
      req.user_id = ctx.user_id;
      req.now = rt->time->now();
      auto analysis = rt->kimmy->analyze(req);
      ctx.kimmy = std::make_shared<const kimmy_payload>(analysis.payload);
      ctx.decision = std::make_shared<const kimmy_decision>(analysis.decision);

      auto entry = make_journal_entry(*rt, ctx, "kimmy", "classification");
      entry.payload_snapshot = to_json(analysis.payload);
      boost::json::array reasons;
      for (const auto& r : analysis.decision.reasons)
        reasons.emplace_back(r);
      entry.data = boost::json::object{{"requires_prolex", analysis.decision.requires_prolex},
                                       {"handled_directly", analysis.decision.handled_directly},
                                       {"reasons", std::move(reasons)}};
      entry.metadata["confidence"] = analysis.payload.confidence;
      entry.metadata["execution_time_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      entry.metadata["tokens_used"] = 0;
      entry.metadata["cost_usd"] = 0.0;
      entry.tags = {"kimmy", analysis.payload.language, analysis.payload.intent};
      self->send(rt->store, journal_atom::value, std::move(entry));

      if (analysis.decision.handled_directly) {
        auto planned = rt->planner->plan(analysis.payload, rt->config.level_for(ctx.tenant));
        if (planned.output.type == output_type::tool_call || planned.output.type == output_type::answer) {
          ctx.output = std::make_shared<const prolex_output>(std::move(planned.output));
          ctx.planned_by = "kimmy";
          return self->delegate(rt->proxy_master, run_atom::value, std::move(ctx));
        }
      }
      return self->delegate(rt->prolex, run_atom::value, std::move(ctx));
    },
  };
}

} // namespace

agent_actor spawn_kimmy_filter(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  return system.spawn(kimmy_filter, std::move(rt));
}

} // namespace opex::actors
