// A plan's DAG as a graph people read: each step with its tool and, for a request, its state,
// attempts, duration and error or skip reason; written as Graphviz DOT or Mermaid
// (docs/operations.md, "Plan graphs"). `opexctl graph` prints it; opexd renders the DOT as SVG
// (`GET /v1/requests/{id}/graph.svg`).
#pragma once

#include "opex/error.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace opex {

/// One step of the graph. `status` is "" for a plan that has not run (else a step status name:
/// pending, running, succeeded, failed, skipped, cancelled, timed_out, awaiting_approval).
struct graph_step {
  int step = 1;
  std::string tool;
  std::vector<int> depends_on;
  std::string status;
  int attempts = 0;
  std::optional<double> duration_ms;
  std::string error_code;  ///< e.g. CONNECTION_FAILED; DEPENDENCY_FAILED for a skipped step
  std::string error;       ///< the error or skip reason, masked as stored
};

/// A plan's steps in plan order, and what the graph is of.
struct plan_graph {
  std::string title;   ///< "plan" or "request <id>"
  std::string status;  ///< the request's status; "" for a plan
  std::vector<graph_step> steps;
};

/// The graph of a ProlexOutput (a tool_call or a multi_tool_plan, already valid against its
/// schema). Errors: VALIDATION_ERROR {type} for an answer or a clarification (no plan).
result<plan_graph> graph_of_output(const boost::json::object& prolex_output);

/// The graph of a request as engine::request_state gives it ({"request": {id, status, output,
/// result}, "steps": [{step, tool, status, attempts, error}]}): the plan from its output, the
/// states from its stored steps, durations (and final states) from its request_result's
/// `result.steps`. Errors: VALIDATION_ERROR when the
/// request has no plan (an answer, a clarification, a refusal before planning).
result<plan_graph> graph_of_request(const boost::json::object& request_state);

/// Graphviz DOT: `digraph plan`, left to right, one node `sN` per step (id "step-N", filled by
/// state), an edge per depends_on.
std::string to_dot(const plan_graph& g);

/// Mermaid `flowchart LR`, one node per step with a class per state, an edge per depends_on.
std::string to_mermaid(const plan_graph& g);

} // namespace opex
