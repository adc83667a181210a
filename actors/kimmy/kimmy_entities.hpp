// Kimmy's entities (docs/kimmy.md, "Parameters"): e-mail addresses, URLs and repositories,
// branches, amounts with their currency, durations, people, report periods, workflow names and
// search queries, read from the request's text only: an entity the text does not state is never
// added. Plain functions over normalize_text's output.
#pragma once

#include "kimmy_text.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <string_view>
#include <vector>

namespace opex::actors::kimmy_detail {

/// Adds to `params` what the text states, and to `cuts` the folded spans that stated it (so
/// titles leave them out):
/// - `emails` ["a@b.fr"], `urls` ["https://..."];
/// - `repo_url` (a repository URL, or https://github.com/OWNER/NAME for "repo OWNER/NAME"),
///   `repo` ("OWNER/NAME"), `branch` and `base` ("branche X", "into main");
/// - `amounts` [{value (number), currency (ISO 4217: EUR, USD, GBP)}];
/// - `duration_minutes` (integer, minutes);
/// - `people` ["Paul"]: capitalised names after "avec" / "with" / "contact";
/// - a report period: `period` "custom", `period_start` and `period_end` (YYYY-MM-DD), `month`
///   (1-12) and `year`, for "le mois dernier", "last month", "ce mois-ci", "this week", "last
///   week", "en octobre", "for October 2026", "du mois" (the current month);
/// - per intent: `workflow_name` (client_workflow: "le workflow relances"), `query`
///   (question_simple after a search verb: "cherche sur le web X"), `event_ref` (task_create,
///   doc_note, question_simple: an existing event, "ma réunion de jeudi", "the call with Paul":
///   {"date": YYYY-MM-DD or null, "with": a capitalised name or null}, never both null).
void add_entities(const normalized_text& nt, std::string_view intent, std::chrono::year_month_day today,
                  boost::json::object& params, std::vector<span>& cuts);

/// What kind of item a reference names.
enum class item_kind { task, note };

/// The item a request refers to without its id (docs/kimmy.md, "References"): a quoted title,
/// "la tâche Préparer la démo", "the call task", "Mark Call the accountant as done", "c'est
/// fait pour réserver la salle", "@last" for "la dernière tâche" / "the last task", "@first" for
/// "la première tâche de ma liste"; "" when the text names none. Prolex resolves it against
/// the tenant's items.
std::string find_reference(const normalized_text& nt, item_kind kind, const std::optional<span>& quote);

} // namespace opex::actors::kimmy_detail
