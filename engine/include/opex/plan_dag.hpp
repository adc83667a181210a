// The plan DAG: a multi_tool_plan validated as a directed acyclic graph over depends_on
// (docs/resilience.md), with the step indices the supervisor schedules from.
#pragma once

#include "opex/contracts.hpp"
#include "opex/error.hpp"

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

namespace opex {

/// A validated plan. Steps keep their input order; edges are by index into `steps`.
/// Immutable once built: shared read-only between the proxy and the supervisor.
struct plan_dag {
  std::vector<plan_step> steps;
  std::vector<std::vector<std::size_t>> dependencies;  ///< index -> indices it waits for
  std::vector<std::vector<std::size_t>> dependents;    ///< index -> indices waiting for it
  std::vector<std::size_t> topological_order;
  std::vector<std::size_t> roots;                      ///< steps without dependencies
  std::unordered_map<int, std::size_t> index_of;       ///< step number -> index

  /// True when `ancestor` is reachable from `index` through dependencies.
  bool is_ancestor(std::size_t ancestor, std::size_t index) const;
};

/// Validates `steps` and builds the DAG. Checks, in order: count within `max_steps` (0 = no
/// limit; CONSTRAINT_VIOLATION {max_plan_steps, steps}), unique step numbers (PLAN_INVALID
/// {reason: duplicate_step}), depends_on naming existing steps (PLAN_INVALID {reason:
/// unknown_dependency}), no self-dependency and no cycle (PLAN_CYCLE {cycle: [steps]}), and
/// template placeholders naming only ancestor steps or a secret (`{{ secrets.NAME }}`) (TEMPLATE_INVALID {step, placeholder,
/// referenced_step}). Source: docs/decisions.md, decision 5, §5.
result<std::shared_ptr<const plan_dag>> build_plan_dag(std::vector<plan_step> steps,
                                                       std::size_t max_steps = 0);

} // namespace opex
