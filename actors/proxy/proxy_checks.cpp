// Proxy Master checks.
#include "proxy_checks.hpp"

#include "opex/policies/autonomy_policy.hpp"
#include "opex/template_resolver.hpp"

namespace opex::actors {

namespace json = boost::json;

proxy_checker::proxy_checker(const opex_config& cfg, const schema_registry& schemas)
  : cfg_(cfg), schemas_(schemas) {}

std::string proxy_checker::payload_schema_id(const tool_definition& tool) const {
  if (tool.payload_schema.empty())
    return {};
  return schemas_.resolve(tool.payload_schema);
}

result<checked_output> proxy_checker::check_json(const json::value& output) const {
  if (auto err = schemas_.check(schema_ids::prolex_output, output, "ProlexOutput")) {
    err.message = "Invalid ProlexOutput schema";
    return err;
  }
  return check(prolex_output_from_json(output.get_object()));
}

result<checked_output> proxy_checker::check(prolex_output output) const {
  checked_output out;
  if (output.type == output_type::answer || output.type == output_type::clarification) {
    out.output = std::move(output);
    return out;
  }
  // Structure first: a cyclic or dangling plan is refused before any step is looked at.
  auto dag = build_plan_dag(output.plan, 0);
  if (!dag)
    return dag.error();
  out.tools.reserve(output.plan.size());
  out.validate_at_dispatch.reserve(output.plan.size());
  out.templated.reserve(output.plan.size());
  for (const auto& step : (*dag)->steps) {
    auto step_details = [&](json::object d) {
      d["step"] = step.step;
      d["tool"] = step.tool;
      return d;
    };
    const auto* tool = cfg_.catalogue.find(step.tool);
    if (tool == nullptr)
      return make_error(error_code::tool_not_found, "Tool " + step.tool + " not found",
                        step_details({{"rule", "tool_exists"}}));
    bool templated = !find_placeholders(json::value(step.payload)).empty();
    auto schema = payload_schema_id(*tool);
    if (!schema.empty() && !templated) {
      if (!schemas_.contains(schema))
        return make_error(error_code::internal_error, "payload schema " + schema + " is not loaded",
                          step_details({{"schema", schema}}));
      if (auto err = schemas_.check(schema, json::value(step.payload), "payload of " + step.tool)) {
        err.details = step_details(std::move(err.details));
        err.details["rule"] = "payload_schema";
        return err;
      }
    }
    if (auto err = policies::check_autonomy(*tool, cfg_.autonomy_level, cfg_.autonomy)) {
      err.details["step"] = step.step;
      return err;
    }
    if (policies::is_high_risk(*tool, cfg_.system, cfg_.autonomy)) {
      auto err = policies::approval_required_error(*tool, cfg_.system, cfg_.autonomy);
      err.details["step"] = step.step;
      return err;
    }
    out.tools.push_back(tool);
    out.validate_at_dispatch.push_back(templated && !schema.empty());
    out.templated.push_back(templated);
    out.estimated_cost_usd += tool->cost_usd;
  }
  auto max_steps = static_cast<std::size_t>(std::max(0, cfg_.system.max_plan_steps));
  if (max_steps > 0 && (*dag)->steps.size() > max_steps)
    return make_error(error_code::constraint_violation,
                      "the plan has " + std::to_string((*dag)->steps.size())
                        + " steps, above max_plan_steps " + std::to_string(max_steps),
                      json::object{{"rule", "max_plan_steps"},
                                   {"required", static_cast<std::int64_t>(max_steps)},
                                   {"current", static_cast<std::int64_t>((*dag)->steps.size())}});
  out.dag = std::move(dag).value();
  out.output = std::move(output);
  return out;
}

} // namespace opex::actors
