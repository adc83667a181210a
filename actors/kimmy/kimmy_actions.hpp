// Several actions in one request (docs/kimmy.md, "Several actions"): where the text is cut,
// and the `actions` parameter Kimmy builds from each part's own analysis for Prolex, which
// plans them as one multi_tool_plan. Plain logic over folded text.
#pragma once

#include "kimmy_classifier.hpp"
#include "kimmy_vocabulary.hpp"
#include "text_normalizer.hpp"

#include <string_view>
#include <vector>

namespace opex::actors::kimmy_detail {

/// One part of a request: folded [begin, end), and whether it depends on the part before it
/// (a `sequence` or `dependent` connector: "puis", "then", "and use it to").
struct action_part {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool after_previous = false;
};

/// The parts of `folded`, in order: cut where a connector is followed by the verb of a new
/// action (`actions` in the vocabulary). One part covering the text when nothing cuts it.
std::vector<action_part> split_actions(std::string_view folded, const action_split_rule& rule);

/// A dependent part's text without the words that only point at the earlier result ("avec le
/// résultat", "with what you find", "summarizing it").
std::string without_result_phrase(const normalized_text& nt, const action_part& part);

/// "ajoute deux tâches : Acheter des timbres et Poster le colis, les deux pour demain": one
/// request text per listed item ("ajoute une tâche : Acheter des timbres pour demain"), the
/// shared words ("les deux pour demain", "both by Friday") added to each. Empty when the text
/// announces no count of tasks, notes or reminders, or lists another number of items.
std::vector<std::string> listed_actions(const normalized_text& nt);

/// True when a part points at an earlier result ("and write a note with the results", "avec ce
/// que tu trouves"): it depends on the part before it, whatever its connector.
bool mentions_result(const normalized_text& nt, const action_part& part);

/// True when a part's own analysis is an action Prolex can plan (not a question, a greeting
/// or nothing recognisable), so the request may be cut there.
bool is_plannable_action(const kimmy_analysis& part);

/// True when the parts only say the same untitled action twice ("le site est down, vérifie les
/// serveurs": one HEALTHCHECK_RUN), so the request is not cut. Parts that name a task or a note
/// are two actions.
bool repeats_one_action(const std::vector<kimmy_analysis>& parts);

/// True when a part only points back at the previous one with a pronoun and the same intent,
/// or changes it ("I have a physio appointment on Monday at 8am, add it to my calendar": one
/// event; "La tâche du fournisseur peut attendre, repousse-la à vendredi": one update).
bool refers_back(const std::vector<kimmy_analysis>& parts, const normalized_text& nt,
                 const std::vector<action_part>& cuts);

/// Turns `whole` (the analysis of the full text) into the analysis of a request with several
/// actions: the first part's intent and parameters, complexity "complex", the lowest
/// confidence less 0.05, one suggested tool per part, and `parameters.actions`
/// [{intent, text, parameters, suggested_tool, depends_on: [index of the earlier part]}].
void combine_actions(kimmy_analysis& whole, const std::vector<kimmy_analysis>& parts,
                     const std::vector<action_part>& cuts);

/// The tool Kimmy suggests for a planning entry (docs/kimmy.md, "Tool choice"): among the
/// entry's own tool and its alternatives, the one whose catalogue keywords cover the most
/// words of `folded`; the entry's tool ("" for an answer) when no keyword matches.
std::string choose_tool(const planning_entry& entry, const tool_catalogue& catalogue, std::string_view folded);

} // namespace opex::actors::kimmy_detail
