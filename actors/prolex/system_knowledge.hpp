// What opex knows about itself (docs/kimmy.md, "Answers"): its configuration as documents for
// the knowledge index, and the answer the rule planner gives from the best matches, with its
// sources. Plain logic.
#pragma once

#include "opex/config.hpp"
#include "opex/knowledge.hpp"

#include <optional>
#include <string>
#include <vector>

namespace opex::actors {

/// One document per autonomy level, one listing the levels, one per catalogue tool (what it
/// does, its risk, the levels where it runs without approval, its daily quota, its keywords),
/// the limits (steps per plan, budgets in USD, request rates), the tools that never run on
/// their own, and each tenant's tools and level. French and English words in each, so both
/// languages match.
std::vector<knowledge_document> system_documents(const opex_config& cfg);

/// The answer from `hits` (best first): the best documents' text with their sources, when the
/// best one holds at least two of the question's words (all of them for a question of one or
/// two words); nullopt otherwise (then the planner says it does not know).
std::optional<std::string> knowledge_answer(const std::vector<knowledge_hit>& hits, bool french);

} // namespace opex::actors
