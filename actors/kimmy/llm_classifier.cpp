// Kimmy's prompt, and the model's classification checked, grounded and merged (see
// llm_classifier.hpp).
#include "kimmy/llm_classifier.hpp"

#include "text_regex.hpp"

#include "kimmy/text_normalizer.hpp"
#include "llm/model_answer.hpp"

#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace opex::actors {

namespace json = boost::json;

namespace {

const std::set<std::string, std::less<>> text_parameters{"title", "description", "client_name", "task_id",
                                                          "doc_id", "workflow_id"};
const std::set<std::string, std::less<>> known_parameters{"title",    "description", "due_date",         "priority",
                                                          "client_name", "tags",     "task_id",          "doc_id",
                                                          "start",    "duration_minutes", "workflow_id"};

std::string iso_date(std::chrono::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buf;
}

std::string weekday_name(std::chrono::year_month_day d) {
  static constexpr const char* names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  return names[std::chrono::weekday{std::chrono::sys_days{d}}.c_encoding()];
}

/// True when most significant words (3 letters or more) of `value` occur in the request.
bool grounded(std::string_view value, const std::string& folded_text) {
  auto folded = fold_text(value);
  std::istringstream in(folded);
  std::string word;
  int total = 0, found = 0;
  while (in >> word) {
    while (!word.empty() && !std::isalnum(static_cast<unsigned char>(word.back())))
      word.pop_back();
    while (!word.empty() && !std::isalnum(static_cast<unsigned char>(word.front())))
      word.erase(word.begin());
    if (word.size() < 3)
      continue;
    ++total;
    if (folded_text.find(word) != std::string::npos)
      ++found;
  }
  if (total == 0)
    return folded_text.find(folded) != std::string::npos;
  return found * 2 >= total;
}

bool valid_date(std::string_view s) {
  static const boost::regex re("^\\d{4}-\\d{2}-\\d{2}$", text_regex_flags);
  if (!boost::regex_match(s.begin(), s.end(), re))
    return false;
  int y = std::stoi(std::string(s.substr(0, 4)));
  unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}}.ok();
}

} // namespace

llm_classifier::llm_classifier(const opex_config& cfg, const kimmy_classifier& rules) : cfg_(cfg), rules_(rules) {}

llm_request llm_classifier::request_for(const kimmy_request& req) const {
  auto today = req.now.local_date();
  std::string sys =
    "You are Kimmy, the input filter of the opex orchestration engine. You classify one request written "
    "by a person (French or English).\n\n"
    "Answer with ONE bare JSON object and nothing else (no prose, no Markdown, no code fence):\n"
    "{\"language\": \"fr\" or \"en\", \"intent\": INTENT, \"complexity\": \"simple\" | \"complex\" | \"unclear\", "
    "\"confidence\": number from 0 to 1, \"summary\": \"one sentence in the request's language\", "
    "\"parameters\": {\"title\": string|null, \"description\": string|null, \"due_date\": \"YYYY-MM-DD\"|null, "
    "\"priority\": \"low\"|\"medium\"|\"high\"|\"urgent\"|null, \"client_name\": string|null, \"tags\": [strings]}}\n\n"
    "INTENT is exactly one of: task_create (create a task or reminder), task_update (change an existing task), "
    "calendar_event (schedule a meeting or event), doc_note (write a note), doc_structuring (organise or restructure "
    "documents), question_simple (a factual question), question_systeme (a question about opex itself), debug_infra "
    "(diagnose servers, logs, infrastructure), client_workflow (run or change a client's workflow), dev_workflow "
    "(code, Git, n8n workflow development), reporting (reports, summaries, costs), config_change (change the "
    "configuration, permissions or production systems), other (anything else or unclear).\n\n"
    "complexity: simple for one clear action with what it needs; complex for several actions or a project; "
    "unclear when the request is ambiguous or lacks what the action needs.\n"
    "Parameters: never invent one. A value the text does not state is null. title is the object of the action in "
    "the request's words. due_date is resolved from the text's date expression against today, "
    + weekday_name(today) + " " + iso_date(today) + " (\"vendredi\"/\"by Friday\" = the first Friday after today).";
  llm_request r;
  r.system = std::move(sys);
  r.messages.push_back(llm_message{"user", req.text});
  return r;
}

namespace {

/// One parameter of the model's answer, checked by its type; "" when it is kept as it is.
std::string parameter_error(const std::string& key, const json::value& v) {
  if (key == "duration_minutes")
    return v.is_number() ? "" : "duration_minutes must be a number";
  if (!v.is_string())
    return key + " must be a string or null";
  if (key == "priority") {
    auto p = v.get_string();
    return p == "low" || p == "medium" || p == "high" || p == "urgent" ? ""
                                                                        : "priority must be low, medium, high, urgent or null";
  }
  if (key == "due_date")
    return valid_date(v.get_string()) ? "" : "due_date must be a date YYYY-MM-DD or null";
  return "";
}

/// The model's parameters, each known and of its type (tags: only those the text contains).
json::object read_parameters(const json::object& params, const std::string& folded, std::vector<std::string>& errors) {
  json::object merged;
  for (const auto& kv : params) {
    std::string key(kv.key());
    const auto& v = kv.value();
    if (!known_parameters.contains(key)) {
      errors.push_back("unknown parameter " + key);
    } else if (v.is_null()) {
      merged[key] = nullptr;
    } else if (key == "tags") {
      if (!v.is_array()) {
        errors.push_back("tags must be a list of strings");
        continue;
      }
      json::array tags;
      for (const auto& t : v.get_array())
        if (t.is_string() && grounded(t.get_string(), folded))
          tags.push_back(t);
      merged[key] = std::move(tags);
    } else if (auto err = parameter_error(key, v); !err.empty()) {
      errors.push_back(std::move(err));
    } else {
      merged[key] = v;
    }
  }
  return merged;
}

/// Grounding: what the text does not support is dropped, never kept (a text value the request
/// does not contain; a date or priority the rules did not find in it).
void drop_ungrounded(json::object& merged, const json::object& rule_parameters, const std::string& folded,
                     std::vector<std::string>& dropped) {
  for (auto& kv : merged) {
    std::string key(kv.key());
    if (text_parameters.contains(key) && kv.value().is_string() && !grounded(kv.value().get_string(), folded)) {
      dropped.push_back(key + " \"" + std::string(kv.value().get_string()) + "\" does not occur in the request");
      kv.value() = nullptr;
    }
  }
  auto rules_found = [&](std::string_view key) {
    const auto* v = get_member(rule_parameters, key);
    return v && !v->is_null();
  };
  if (auto it = merged.find("due_date"); it != merged.end() && it->value().is_string() && !rules_found("due_date")) {
    dropped.push_back("due_date " + std::string(it->value().get_string()) + ": the request names no date opex recognises");
    it->value() = nullptr;
  }
  if (auto it = merged.find("priority"); it != merged.end() && it->value().is_string() && !rules_found("priority")) {
    dropped.push_back("priority " + std::string(it->value().get_string()) + ": the request states none");
    it->value() = nullptr;
  }
}

} // namespace

std::vector<std::string> llm_classifier::merge(std::string_view answer, kimmy_analysis& a,
                                               std::vector<std::string>& dropped) const {
  std::vector<std::string> errors;
  auto doc = parse_bare_json(answer);
  if (!doc) {
    for (const auto& e : doc.error().details.at("errors").as_array())
      errors.emplace_back(e.as_string());
    return errors;
  }
  if (!doc->is_object())
    return {"the answer is not a JSON object"};
  const auto& o = doc->get_object();
  for (const auto& kv : o)
    if (kv.key() != "language" && kv.key() != "intent" && kv.key() != "complexity" && kv.key() != "confidence"
        && kv.key() != "summary" && kv.key() != "parameters")
      errors.push_back("unknown key " + std::string(kv.key()));
  auto intent_text = get_string(o, "intent");
  std::optional<std::string_view> intent = intent_text ? canonical_intent(*intent_text) : std::nullopt;
  if (!intent)
    errors.push_back("intent must be one of the 13 intents, got " + (intent_text ? std::string(*intent_text) : "nothing"));
  auto complexity = get_string(o, "complexity");
  if (!complexity || (*complexity != "simple" && *complexity != "complex" && *complexity != "unclear"))
    errors.push_back("complexity must be simple, complex or unclear");
  const auto* conf = get_member(o, "confidence");
  if (!conf || !conf->is_number() || conf->to_number<double>() < 0 || conf->to_number<double>() > 1)
    errors.push_back("confidence must be a number from 0 to 1");
  auto language = get_string(o, "language");
  if (language && *language != "fr" && *language != "en")
    errors.push_back("language must be fr or en");
  const auto folded = fold_text(a.payload.raw_input);
  const auto* params = get_member(o, "parameters");
  if (params && !params->is_object())
    errors.push_back("parameters must be an object");
  json::object merged;
  if (params && params->is_object())
    merged = read_parameters(params->get_object(), folded, errors);
  if (!errors.empty())
    return errors;
  drop_ungrounded(merged, a.payload.parameters, folded, dropped);

  auto& p = a.payload;
  p.intent = std::string(*intent);
  p.complexity = std::string(*complexity);
  p.confidence = std::round(std::clamp(conf->to_number<double>(), 0.0, 1.0) * 100.0) / 100.0;
  if (language)
    p.language = std::string(*language);
  if (auto summary = get_string(o, "summary"); summary && summary->size() >= 10 && summary->size() <= 490)
    p.kimmy_summary = std::string(*summary);
  json::object parameters;
  for (const auto& key : {"title", "description", "due_date", "priority", "client_name"})
    parameters[key] = nullptr;
  parameters["tags"] = json::array{};
  for (auto& kv : merged)
    parameters[kv.key()] = kv.value();
  p.parameters = std::move(parameters);
  p.suggested_tools.clear();
  if (auto it = cfg_.prolex.planning.find(p.intent); it != cfg_.prolex.planning.end() && !it->second.tool.empty())
    p.suggested_tools.push_back(it->second.tool);
  rules_.decide(a);
  return errors;
}

} // namespace opex::actors
