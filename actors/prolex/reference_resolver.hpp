// References to the tenant's items resolved for the rule planner (docs/kimmy.md, "References"):
// Kimmy's `task_ref` / `doc_ref` (a title, "@last", "@first") matched against the tasks and
// notes the report reader lists (journal_reports::tenant_items). Plain logic.
#pragma once

#include "opex/contracts.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace opex::actors {

/// How a reference matched.
enum class reference_outcome { found, ambiguous, missing };

struct reference_match {
  reference_outcome outcome = reference_outcome::missing;
  std::string id;                   ///< found
  std::vector<std::string> titles;  ///< ambiguous: the candidates' titles (at most 5)
};

/// Matches `ref` against `items` [{id, title, status?, ...}] (newest first): "@last" is the
/// newest, "@first" the oldest; else the titles equal to it (accents and case folded), else
/// those containing all its words; open tasks before completed ones.
reference_match match_reference(const std::string& ref, const boost::json::array& items);

/// Replaces `task_ref` with `task_id` and `doc_ref` with `doc_id` in `payload.parameters`.
/// With `items` (the tenant's, may be null): the matched id, or the clarification to ask
/// (several matches: their titles; none: says so). Without items: the reference itself (the
/// builtin tools find a task or note by exact title), "@last"/"@first" left unresolved.
/// An `event_ref` {date, with} is matched against the items' events (the start's date, all the
/// words of `with` in the title): one match sets `event_id`, `event_title`, `event_start` and
/// `event_note` (a line naming it, in the request's language); without items it is dropped.
/// Returns the clarification's questions, or nullopt when the payload can be planned.
std::optional<std::vector<std::string>> resolve_references(kimmy_payload& payload, const boost::json::object* items);

} // namespace opex::actors
