// Prolex's rule planner (docs/architecture.md, "Prolex"): turns a KimmyPayload into a ProlexOutput from the
// planning table of opex.yml (intent -> tool, plan, answer or clarification). Plain logic,
// called by the prolex_planner actor and by Kimmy for its quick actions.
#pragma once

#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/knowledge.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace opex::actors {

/// Why the planner produced what it produced (journaled with the planning entry).
struct planning_note {
  std::string rule;    ///< "planning_table", "missing_parameters", "autonomy", "high_risk", ...
  std::string detail;  ///< human-readable
};

/// A plan and its note.
struct planning_result {
  prolex_output output;
  planning_note note;
};

/// The rule planner. Holds a reference to the configuration (which outlives it); const and
/// thread-safe.
class rule_planner {
public:
  /// `knowledge` (optional, outlives the planner): what question_systeme and question_simple
  /// are answered from (system_knowledge.hpp); without it they get the planning table's answer.
  explicit rule_planner(const opex_config& cfg, const knowledge_index* knowledge = nullptr);

  /// Plans one KimmyPayload. Produces a clarification (in the request's language, 1-3
  /// questions of >= 10 characters) when a required parameter is missing, when a planned tool
  /// is above the current autonomy level or high-risk, or when its requires_context keys are
  /// absent; an answer for question_simple ("no answer source configured" unless one is) and
  /// question_systeme (a summary of the engine's level and tools); otherwise a tool_call or a
  /// multi_tool_plan whose payloads come from the planning table's templates over the payload
  /// (`{{ parameters.title }}`, `{{ request_id }}`).
  planning_result plan(const kimmy_payload& payload) const;

  /// Same at a given autonomy level (a tenant's).
  planning_result plan(const kimmy_payload& payload, int level) const;

  /// Same with the tenant's items (journal_reports::tenant_items JSON, may be null), against
  /// which Kimmy's references are resolved (reference_resolver.hpp): a reference that matches
  /// several items or none becomes a clarification.
  planning_result plan(const kimmy_payload& payload, int level, const boost::json::object* items) const;

  /// A short description of the engine for question_systeme answers.
  std::string system_summary(const std::string& language) const;

private:
  /// A request with several actions (`parameters.actions`, at least two): each planned on its
  /// own, joined into one multi_tool_plan (rule_planner_actions.cpp); the first action that
  /// cannot be planned (a clarification, an answer) is the result instead.
  planning_result plan_actions(const kimmy_payload& payload, const boost::json::array& actions, int level,
                               const boost::json::object* items) const;

  /// The answer to a question from the knowledge index, or nullopt without one.
  std::optional<planning_result> answer_from_knowledge(const kimmy_payload& payload) const;

  const opex_config& cfg_;
  const knowledge_index* knowledge_;
  /// The catalogue's tool ids, folded once ("git_clone"), with their knowledge document ids
  /// ("tool:GIT_CLONE").
  std::vector<std::pair<std::string, std::string>> tool_ids_;
};

} // namespace opex::actors
