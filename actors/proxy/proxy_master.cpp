// The proxy_master actor: runs the Proxy Master's checks on every ProlexOutput (from Prolex,
// from Kimmy's quick actions or from a client), journals the decision, answers answers and
// clarifications itself, and hands tool calls and plans to a new plan supervisor.
#include "../agents.hpp"

#include "opex/json_util.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace opex::actors {

namespace json = boost::json;

namespace {

agent_actor::behavior_type proxy_master(agent_actor::pointer self, std::shared_ptr<const runtime> rt) {
  return {
    [self, rt](run_atom, request_context ctx) -> caf::result<request_outcome> {
      auto started = std::chrono::steady_clock::now();
      result<checked_output> checked = ctx.output ? rt->proxy->check(*ctx.output)
                                       : ctx.raw  ? rt->proxy->check_json(*ctx.raw)
                                                  : result<checked_output>(make_error(
                                                      error_code::internal_error, "no ProlexOutput"));
      auto entry = make_journal_entry(*rt, ctx, "proxy", "execution");
      entry.metadata["execution_time_ms"] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      if (ctx.output)
        entry.payload_snapshot = to_json(*ctx.output);
      else if (ctx.raw && ctx.raw->is_object())
        entry.payload_snapshot = *ctx.raw;
      if (!checked) {
        const auto& err = checked.error();
        entry.action_type = "error";
        entry.status = "failure";
        entry.error = err.message;
        entry.error_code = std::string(error_code_name(err.code));
        entry.data = json::object{{"decision", "refused"}, {"details", err.details}};
        if (auto tool = get_string(err.details, "tool"))
          entry.tool_used = std::string(*tool);
        self->send(rt->journal, journal_atom::value, std::move(entry));
        return refusal(*rt, ctx, std::move(checked).error());
      }
      auto plan = std::make_shared<const checked_output>(std::move(checked).value());
      if (!ctx.output) {
        ctx.output = std::shared_ptr<const prolex_output>(plan, &plan->output);
        ctx.planned_by = "client";
      }
      const auto type = plan->output.type;
      if (type == output_type::answer || type == output_type::clarification) {
        entry.data = json::object{{"decision", "returned"}, {"output_type", output_type_name(type)}};
        self->send(rt->journal, journal_atom::value, std::move(entry));
        auto r = make_result(*rt, ctx);
        r->status = request_status::succeeded;
        return request_outcome{std::move(r)};
      }
      if (type == output_type::tool_call)
        entry.tool_used = plan->output.plan.front().tool;
      entry.data = json::object{{"decision", "routed"},
                                {"output_type", output_type_name(type)},
                                {"steps", static_cast<std::int64_t>(plan->dag->steps.size())},
                                {"estimated_cost_usd", plan->estimated_cost_usd}};
      self->send(rt->journal, journal_atom::value, std::move(entry));
      auto supervisor = spawn_plan_supervisor(self->system(), rt);
      rt->requests.add(ctx.request_id, supervisor);  // for cancellation; the supervisor removes it
      return self->delegate(supervisor, run_atom::value, std::move(ctx), checked_plan(plan));
    },
  };
}

} // namespace

agent_actor spawn_proxy_master(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  return system.spawn(proxy_master, std::move(rt));
}

} // namespace opex::actors
