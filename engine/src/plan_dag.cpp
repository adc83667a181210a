// Plan validation and DAG construction (docs/resilience.md).
#include "opex/plan_dag.hpp"

#include "opex/template_resolver.hpp"

#include <algorithm>
#include <deque>

namespace opex {

namespace json = boost::json;

bool plan_dag::is_ancestor(std::size_t ancestor, std::size_t index) const {
  std::vector<char> seen(steps.size(), 0);
  std::vector<std::size_t> stack(dependencies[index].begin(), dependencies[index].end());
  while (!stack.empty()) {
    auto i = stack.back();
    stack.pop_back();
    if (i == ancestor)
      return true;
    if (seen[i])
      continue;
    seen[i] = 1;
    stack.insert(stack.end(), dependencies[i].begin(), dependencies[i].end());
  }
  return false;
}

namespace {

/// Finds one cycle among the nodes left after Kahn's algorithm, as step numbers.
std::vector<int> find_cycle(const plan_dag& dag, const std::vector<std::size_t>& indegree) {
  // Every remaining node has a remaining dependency; walk dependencies until a node repeats.
  std::size_t start = 0;
  while (start < indegree.size() && indegree[start] == 0)
    ++start;
  std::vector<int> order(dag.steps.size(), -1);
  std::vector<std::size_t> path;
  std::size_t cur = start;
  while (order[cur] < 0) {
    order[cur] = static_cast<int>(path.size());
    path.push_back(cur);
    std::size_t next = cur;
    for (auto d : dag.dependencies[cur])
      if (indegree[d] > 0) {
        next = d;
        break;
      }
    cur = next;
  }
  std::vector<int> cycle;
  for (auto i = static_cast<std::size_t>(order[cur]); i < path.size(); ++i)
    cycle.push_back(dag.steps[path[i]].step);
  std::reverse(cycle.begin(), cycle.end());
  cycle.push_back(cycle.front());
  return cycle;
}

/// Step numbers: from 1, each once; fills index_of.
error_info index_steps(plan_dag& dag) {
  const auto n = dag.steps.size();
  dag.index_of.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    int number = dag.steps[i].step;
    if (number < 1)
      return make_error(error_code::plan_invalid, "step numbers start at 1",
                        json::object{{"reason", "invalid_step_number"}, {"step", number}});
    if (!dag.index_of.emplace(number, i).second)
      return make_error(error_code::plan_invalid, "step " + std::to_string(number) + " appears twice",
                        json::object{{"reason", "duplicate_step"}, {"step", number}});
  }
  return {};
}

/// The edges of depends_on (each once), refusing self and unknown dependencies.
error_info link_steps(plan_dag& dag) {
  const auto n = dag.steps.size();
  dag.dependencies.resize(n);
  dag.dependents.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = dag.steps[i];
    for (int d : s.depends_on) {
      if (d == s.step)
        return make_error(error_code::plan_cycle, "step " + std::to_string(d) + " depends on itself",
                          json::object{{"reason", "self_dependency"}, {"step", d}, {"cycle", json::array{d, d}}});
      auto it = dag.index_of.find(d);
      if (it == dag.index_of.end())
        return make_error(error_code::plan_invalid,
                          "step " + std::to_string(s.step) + " depends on step " + std::to_string(d)
                            + ", which does not exist",
                          json::object{{"reason", "unknown_dependency"}, {"step", s.step}, {"depends_on", d}});
      auto& deps = dag.dependencies[i];
      if (std::find(deps.begin(), deps.end(), it->second) != deps.end())
        continue;  // duplicate edge: harmless, count once
      deps.push_back(it->second);
      dag.dependents[it->second].push_back(i);
    }
  }
  return {};
}

/// Kahn's algorithm: roots and topological order, or PLAN_CYCLE with the cycle.
error_info order_steps(plan_dag& dag) {
  const auto n = dag.steps.size();
  std::vector<std::size_t> indegree(n);
  std::deque<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i) {
    indegree[i] = dag.dependencies[i].size();
    if (indegree[i] == 0) {
      ready.push_back(i);
      dag.roots.push_back(i);
    }
  }
  dag.topological_order.reserve(n);
  while (!ready.empty()) {
    auto i = ready.front();
    ready.pop_front();
    dag.topological_order.push_back(i);
    for (auto d : dag.dependents[i])
      if (--indegree[d] == 0)
        ready.push_back(d);
  }
  if (dag.topological_order.size() == n)
    return {};
  json::array c;
  std::string text;
  for (int s : find_cycle(dag, indegree)) {
    c.emplace_back(s);
    text += (text.empty() ? "" : " -> ") + std::to_string(s);
  }
  return make_error(error_code::plan_cycle, "the plan's depends_on edges form a cycle: " + text,
                    json::object{{"reason", "cycle"}, {"cycle", std::move(c)}});
}

/// Templates may only name ancestors or a secret (docs/decisions.md, decision 5).
error_info check_templates(const plan_dag& dag) {
  for (std::size_t i = 0; i < dag.steps.size(); ++i) {
    const auto& s = dag.steps[i];
    for (const auto& ph : find_placeholders(json::value(s.payload))) {
      auto ref = step_number_of(ph.root);
      std::string why;
      if (ph.root == "secrets") {
        // {{ secrets.NAME }}: resolved from the tenant's scope when the attempt is sent.
        if (ph.path.empty() || ph.path.find('.') != std::string::npos)
          why = "a secret is named by one segment: {{ secrets.NAME }}";
      } else if (!ref) {
        why = "placeholders in plans name an earlier step ({{ step_N.result... }}) or a secret ({{ secrets.NAME }})";
      } else if (auto it = dag.index_of.find(*ref); it == dag.index_of.end()) {
        why = "step " + std::to_string(*ref) + " does not exist";
      } else if (!dag.is_ancestor(it->second, i)) {
        why = "step " + std::to_string(*ref) + " is not an ancestor of step " + std::to_string(s.step)
              + " (add it to depends_on)";
      }
      if (!why.empty()) {
        json::object details{{"step", s.step}, {"placeholder", ph.expression}};
        details["referenced_step"] = ref ? json::value(*ref) : json::value(nullptr);
        details["reason"] = why;
        return make_error(error_code::template_invalid,
                          "step " + std::to_string(s.step) + ": {{ " + ph.expression + " }}: " + why,
                          std::move(details));
      }
    }
  }
  return {};
}

} // namespace

result<std::shared_ptr<const plan_dag>> build_plan_dag(std::vector<plan_step> steps,
                                                       std::size_t max_steps) {
  if (steps.empty())
    return make_error(error_code::plan_invalid, "a plan needs at least one step",
                      json::object{{"reason", "empty_plan"}});
  if (max_steps > 0 && steps.size() > max_steps)
    return make_error(error_code::constraint_violation,
                      "the plan has " + std::to_string(steps.size()) + " steps, above max_plan_steps "
                        + std::to_string(max_steps),
                      json::object{{"rule", "max_plan_steps"},
                                   {"required", static_cast<std::int64_t>(max_steps)},
                                   {"current", static_cast<std::int64_t>(steps.size())}});
  auto dag = std::make_shared<plan_dag>();
  dag->steps = std::move(steps);
  for (auto stage : {index_steps, link_steps, order_steps})
    if (auto err = stage(*dag))
      return err;
  if (auto err = check_templates(*dag))
    return err;
  return std::shared_ptr<const plan_dag>(std::move(dag));
}

} // namespace opex
