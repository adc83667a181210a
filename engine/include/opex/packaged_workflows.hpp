// The packaged n8n workflows of a reference-format opex_workflows.yml (opex.yml `workflows:`):
// what a client workflow named in a request ("le pack pro", "the Client Onboarding workflow")
// resolves to (docs/kimmy.md, "Tool choice").
#pragma once

#include "opex/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace opex {

/// One workflow of the catalogue.
struct packaged_workflow {
  std::string id;        ///< "331"
  std::string name;      ///< "Pack Pro"
  std::string role;      ///< "Pack automatisations pro"
  std::string category;  ///< the list it is in: "client_workflows", "reporting", ...
  std::string tool_id;   ///< the catalogue tool that runs it, "" when none (run by CLIENT_WORKFLOW_RUN)
};

/// Loads a reference-format opex_workflows.yml: every top-level key but `metadata` is a
/// category holding a list of {id, file, name, role, tool_id, autonomy_levels, ...}; other keys
/// of an entry are ignored. Errors: CONFIG_ERROR {path, key, reason} (not a mapping, an entry
/// without id or name).
result<std::vector<packaged_workflow>> load_packaged_workflows(const std::string& path);

/// The same from YAML text; `origin` names it in errors.
result<std::vector<packaged_workflow>> parse_packaged_workflows(std::string_view yaml, std::string_view origin);

} // namespace opex
