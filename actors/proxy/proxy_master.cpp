// The proxy_master actor: runs the Proxy Master's checks on every ProlexOutput (from Prolex,
// from Kimmy's quick actions or from a client), counts usage from the journal when budgets or
// quotas apply, journals the decision, answers answers and clarifications itself, and hands tool
// calls and plans to a new plan supervisor.
#include "../agents.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"

#include <boost/json/serialize.hpp>
#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <variant>

namespace opex::actors {

namespace json = boost::json;

namespace {

using promise_type = caf::typed_response_promise<request_outcome>;

/// The Proxy Master's span over one request: when its checks began, under which span id.
struct check_span {
  trace_context span;
  caf::actor_clock::time_point started;

  void end(agent_actor::pointer self, const runtime_services& rt, const request_context& ctx, std::string outcome,
           std::string code = {}) const {
    observe_agent(rt, ctx, "proxy_master", span, self->clock().now() - started, std::move(outcome), std::move(code));
  }
};

journal_entry decision_entry(const runtime_services& rt, const request_context& ctx, const checked_output* plan,
                             const json::value* raw) {
  auto entry = make_journal_entry(rt, ctx, "proxy", "execution");
  if (ctx.output)
    entry.payload_snapshot = to_json(*ctx.output);
  else if (raw && raw->is_object())
    entry.payload_snapshot = *raw;
  if (plan && plan->sensitive)  // sensitivity high: a digest, never the payload in clear
    entry.payload_snapshot =
      json::object{{"sha256", policies::sha256_hex(json::serialize(entry.payload_snapshot))}, {"sensitivity", "high"}};
  return entry;
}

/// Refuses: journals the refusal and answers with the standard error.
request_outcome refuse(agent_actor::pointer self, const runtime_services& rt, const request_context& ctx, error_info err,
                       const json::value* raw, const check_span& cs) {
  cs.end(self, rt, ctx, "refused", std::string(error_code_name(err.code)));
  auto entry = decision_entry(rt, ctx, nullptr, raw);
  entry.action_type = "error";
  entry.status = "failure";
  entry.error = err.message;
  entry.error_code = std::string(error_code_name(err.code));
  entry.data = json::object{{"decision", "refused"}, {"details", err.details}};
  if (auto tool = get_string(err.details, "tool"))
    entry.tool_used = std::string(*tool);
  if (err.code == error_code::workflow_protected)
    entry.tags = {"alert", "critical", "cash_workflow_violation_attempt"};
  self->send(rt.store, journal_atom::value, std::move(entry));
  return refusal(rt, ctx, std::move(err));
}

/// Routes a checked plan: answers and clarifications are answered here; tool calls and plans
/// get a new supervisor (returned, registered for cancellation and approvals).
std::variant<request_outcome, supervisor_actor> route(agent_actor::pointer self, const std::shared_ptr<const plan_parts>& rt,
                                                      request_context& ctx,
                                                      const std::shared_ptr<const checked_output>& plan,
                                                      const check_span& cs) {
  auto entry = decision_entry(*rt->base, ctx, plan.get(), ctx.raw.get());
  if (!ctx.output) {
    ctx.output = std::shared_ptr<const prolex_output>(plan, &plan->output);
    ctx.planned_by = "client";
  }
  const auto type = plan->output.type;
  if (type == output_type::answer || type == output_type::clarification) {
    entry.data = json::object{{"decision", "returned"}, {"output_type", output_type_name(type)}};
    self->send(rt->base->store, journal_atom::value, std::move(entry));
    cs.end(self, *rt->base, ctx, "answered");
    auto r = make_result(*rt->base, ctx);
    r->status = request_status::succeeded;
    return request_outcome{std::move(r)};
  }
  if (type == output_type::tool_call)
    entry.tool_used = plan->output.plan.front().tool;
  std::int64_t approvals = 0;
  for (bool a : plan->needs_approval)
    approvals += a ? 1 : 0;
  entry.data = json::object{{"decision", "routed"},
                            {"output_type", output_type_name(type)},
                            {"steps", static_cast<std::int64_t>(plan->dag->steps.size())},
                            {"steps_needing_approval", approvals},
                            {"estimated_cost_usd", plan->estimated_cost_usd}};
  self->send(rt->base->store, journal_atom::value, std::move(entry));
  cs.end(self, *rt->base, ctx, "routed");
  auto supervisor = spawn_plan_supervisor(self->system(), rt);
  rt->routes->requests.add(ctx.request_id, supervisor);
  return supervisor;
}

agent_actor::behavior_type proxy_master(agent_actor::pointer self, std::shared_ptr<const plan_parts> rt) {
  return {
    [self, rt](run_atom, request_context ctx) -> caf::result<request_outcome> {
      check_span cs{ctx.trace.valid() ? ctx.trace.child() : trace_context{}, self->clock().now()};
      auto g = guard_for(*rt->base, ctx);
      const auto& checks = checks_of(*rt->checks, ctx);  // the request's generation (reloads)
      result<checked_output> checked = ctx.output ? checks.check(*ctx.output, g)
                                       : ctx.raw  ? checks.check_json(*ctx.raw, g)
                                                  : result<checked_output>(make_error(
                                                      error_code::internal_error, "no ProlexOutput"));
      if (!checked)
        return refuse(self, *rt->base, ctx, std::move(checked).error(), ctx.raw.get(), cs);
      auto plan = std::make_shared<const checked_output>(std::move(checked).value());
      auto needs = checks.usage_needs_of(*plan, g);
      if (!needs.any) {
        auto routed = route(self, rt, ctx, plan, cs);
        if (auto* outcome = std::get_if<request_outcome>(&routed))
          return std::move(*outcome);
        return self->delegate(std::get<supervisor_actor>(routed), run_atom::value, std::move(ctx), checked_plan(plan));
      }
      // Budgets and quotas are counted from the journal by the store, off this thread.
      facts_query q;
      q.tenant = g.tenant;
      q.tools = checks.usage_tools(*plan);
      q.workflows = std::move(needs.workflows);
      std::tie(q.day_start, q.month_start) = day_and_month_start(*rt->base);
      auto rp = self->make_response_promise<request_outcome>();
      self->request(rt->base->store, std::chrono::seconds(30), facts_atom::value, std::move(q))
        .then(
          [self, rt, ctx, plan, g, rp, cs](connectors::usage_facts& f) mutable {
            auto guard = g;
            guard.usage = std::move(f);
            if (auto err = checks_of(*rt->checks, ctx).check_usage(*plan, guard)) {
              rp.deliver(refuse(self, *rt->base, ctx, std::move(err), ctx.raw.get(), cs));
              return;
            }
            auto routed = route(self, rt, ctx, plan, cs);
            if (auto* outcome = std::get_if<request_outcome>(&routed))
              rp.deliver(std::move(*outcome));
            else
              rp.delegate(std::get<supervisor_actor>(routed), run_atom::value, ctx, checked_plan(plan));
          },
          [self, rt, ctx, rp, cs](caf::error& err) mutable {
            rp.deliver(refuse(self, *rt->base, ctx,
                              make_error(error_code::internal_error, "cannot count usage: " + caf::to_string(err)),
                              ctx.raw.get(), cs));
          });
      return rp;
    },
  };
}

} // namespace

agent_actor spawn_proxy_master(caf::actor_system& system, std::shared_ptr<const runtime> rt) {
  return system.spawn(proxy_master, plan_parts_of(rt));
}

} // namespace opex::actors
