// The packaged workflow a client_workflow request names, resolved against opex.yml's
// `workflows:` catalogue (a reference-format opex_workflows.yml; docs/kimmy.md, "Tool choice").
// Plain logic.
#pragma once

#include "opex/contracts.hpp"
#include "opex/packaged_workflows.hpp"

#include <optional>
#include <string>
#include <vector>

namespace opex::actors {

/// Sets `workflow_id` (the workflow's id) and `workflow_name` (its name) in p.parameters when
/// the payload names one workflow of `workflows`: `parameters.workflow_name` equal to a name
/// (accents and case folded), else whose words are all in one name or role; without a name, a
/// catalogue name the request's text holds ("lance le Pack Pro pour Dupont"). A payload that
/// has a workflow_id, or names nothing, is left as it is. Returns the clarification's questions
/// when the name matches several workflows or none (with the packaged workflows no tool runs on
/// its own, at most 5), nullopt otherwise.
std::optional<std::vector<std::string>> resolve_workflow(kimmy_payload& p,
                                                         const std::vector<packaged_workflow>& workflows);

} // namespace opex::actors
