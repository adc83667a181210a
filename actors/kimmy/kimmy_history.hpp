// Kimmy's context from the journal (docs/kimmy.md, "Context from the journal"): the
// history_refs of a payload, and follow-ups ("la même chose pour demain", "do the same for
// Hooli") planned as the user's last request with what the new text changes. Plain logic over
// the history the journal's request_history gives (opex/connectors/request_history.hpp).
#pragma once

#include "kimmy_classifier.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace opex::actors {

/// The payload's history_refs: "request:<request_id>" for the user's recent requests of the
/// payload's intent (at most 3, newest first; the one a follow-up repeats first), then
/// "failure:<TOOL>:<request_id>" for the recent failed steps of its suggested tools (at most 3
/// per tool). `history`: request_history::lookup's JSON.
std::vector<std::string> history_refs_of(const boost::json::object& history, const kimmy_payload& payload,
                                         const std::string& repeated_request = {});

/// Where a follow-up cue ends in the folded text ("la même chose", "pareil", "idem", "do the
/// same", "same thing", "same for"), when it opens a short request (at most 14 words, the cue
/// within its first 4); nullopt otherwise.
std::optional<std::size_t> find_follow_up(const std::string& folded);

/// Makes `out` (the analysis of a follow-up's text) the user's last plannable request of
/// `history.recent` with what the text changes: a date (due_date, the date of `start`), the
/// entities Kimmy reads (a period, e-mails, amounts, a duration...) and a name ("pour le client
/// Acme", "for Hooli") in place of the earlier client_name or people (and in the title where
/// it named them). Sets intent, parameters (with `follow_up_of`), suggested_tools, a summary,
/// complexity and confidence. Returns the repeated request's id, or "" when there is none or
/// the text names something the earlier request has no place for (then `out` is unchanged).
std::string apply_follow_up(kimmy_analysis& out, const boost::json::object& history, const zoned_time& now);

/// Kimmy's context for one analysed request: the follow-up (apply_follow_up), the
/// history_refs, then the decision rule again. A follow-up always goes to Prolex (its reason
/// names the repeated request).
void add_history(const kimmy_classifier& kimmy, kimmy_analysis& out, const boost::json::object& history,
                 const zoned_time& now);

} // namespace opex::actors
