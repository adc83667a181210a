// Packaged workflows named in a request (workflow_resolver.hpp).
#include "workflow_resolver.hpp"

#include "kimmy/kimmy_text.hpp"
#include "kimmy/text_normalizer.hpp"

#include "opex/json_util.hpp"

namespace opex::actors {

namespace json = boost::json;

namespace {

bool has_all_words(const std::string& folded_text, const std::string& folded_words) {
  const auto words = kimmy_detail::words_of(folded_words);
  if (words.empty())
    return false;
  for (const auto& w : words)
    if (!contains_word(folded_text, w))
      return false;
  return true;
}

std::vector<const packaged_workflow*> matching(const std::string& name, const std::vector<packaged_workflow>& all) {
  const auto folded = fold_text(name);
  std::vector<const packaged_workflow*> equal, containing;
  for (const auto& w : all) {
    if (fold_text(w.name) == folded)
      equal.push_back(&w);
    else if (has_all_words(fold_text(w.name), folded) || has_all_words(fold_text(w.role), folded))
      containing.push_back(&w);
  }
  return equal.empty() ? containing : equal;
}

std::string listed(const std::vector<const packaged_workflow*>& found, const std::vector<packaged_workflow>& all) {
  std::vector<const packaged_workflow*> shown = found;
  if (shown.empty())
    for (const auto& w : all)
      if (w.tool_id.empty())
        shown.push_back(&w);
  std::string out;
  for (std::size_t i = 0; i < shown.size() && i < 5; ++i)
    out += (out.empty() ? "" : ", ") + shown[i]->name + " (" + shown[i]->id + ")";
  return out;
}

} // namespace

std::optional<std::vector<std::string>> resolve_workflow(kimmy_payload& p,
                                                         const std::vector<packaged_workflow>& workflows) {
  auto& params = p.parameters;
  if (workflows.empty() || !get_string(params, "workflow_id").value_or("").empty())
    return std::nullopt;
  const bool fr = p.language == "fr";
  const std::string name(get_string(params, "workflow_name").value_or(""));
  std::vector<const packaged_workflow*> found;
  if (name.empty()) {
    const auto text = fold_text(p.raw_input);
    for (const auto& w : workflows)
      if (contains_word(text, fold_text(w.name)))
        found.push_back(&w);
    if (found.size() != 1)
      return std::nullopt;  // nothing named (or too much): the planning table asks
  } else {
    found = matching(name, workflows);
  }
  if (found.size() == 1) {
    params["workflow_id"] = found.front()->id;
    params["workflow_name"] = found.front()->name;
    return std::nullopt;
  }
  const auto choices = listed(found, workflows);
  if (found.empty())
    return std::vector<std::string>{fr ? "Je ne connais aucun workflow « " + name + " ». Lequel lancer : " + choices + " ?"
                                       : "I know no workflow \"" + name + "\". Which one should run: " + choices + "?"};
  return std::vector<std::string>{fr ? "Plusieurs workflows correspondent à « " + name + " » : " + choices + ". Lequel ?"
                                     : "Several workflows match \"" + name + "\": " + choices + ". Which one?"};
}

} // namespace opex::actors
