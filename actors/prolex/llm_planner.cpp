// Prolex's prompt and the acceptance of the model's answer (see llm_planner.hpp).
#include "llm_planner.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/autonomy_policy.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace opex::actors {

namespace json = boost::json;

namespace {

/// "name: type" of one schema property (enum values, date formats and arrays spelt out).
std::string describe_property(const json::object& prop) {
  std::string out;
  if (const auto* e = get_member(prop, "enum"); e && e->is_array()) {
    out = "one of ";
    bool first = true;
    for (const auto& v : e->get_array()) {
      out += (first ? "" : "|") + (v.is_string() ? std::string(v.get_string()) : json::serialize(v));
      first = false;
    }
    return out;
  }
  if (const auto* t = get_member(prop, "type")) {
    if (t->is_string())
      out = std::string(t->get_string());
    else if (t->is_array())
      for (const auto& x : t->get_array())
        if (x.is_string())
          out += (out.empty() ? "" : "|") + std::string(x.get_string());
  }
  if (out.empty())
    out = "any";
  if (auto f = get_string(prop, "format"))
    out += " (" + std::string(*f) + ")";
  if (out == "array")
    if (const auto* items = get_member(prop, "items"); items && items->is_object())
      if (auto it = get_string(items->get_object(), "type"))
        out = "array of " + std::string(*it);
  return out;
}

/// The payload fields of a tool, from its schema: "title: string (required), due_date: string (date), ...".
std::string describe_payload(const json::value* schema) {
  if (schema == nullptr || !schema->is_object())
    return "free-form object";
  const auto& s = schema->get_object();
  std::vector<std::string> required;
  if (const auto* r = get_member(s, "required"); r && r->is_array())
    for (const auto& x : r->get_array())
      if (x.is_string())
        required.emplace_back(x.get_string());
  const auto* props = get_member(s, "properties");
  if (props == nullptr || !props->is_object())
    return "free-form object";
  std::string out;
  for (const auto& kv : props->get_object()) {
    if (!kv.value().is_object())
      continue;
    std::string name(kv.key());
    if (!out.empty())
      out += ", ";
    out += name + ": " + describe_property(kv.value().get_object());
    if (std::find(required.begin(), required.end(), name) != required.end())
      out += " (required)";
  }
  return out.empty() ? "free-form object" : out;
}

void collect_errors(const error_info& err, std::vector<std::string>& out) {
  std::string where;
  if (auto step = get_member(err.details, "step"); step && step->is_int64())
    where = "step " + std::to_string(step->get_int64()) + ": ";
  if (const auto* list = get_member(err.details, "errors"); list && list->is_array() && !list->get_array().empty()) {
    for (const auto& e : list->get_array())
      out.push_back(where + std::string(error_code_name(err.code)) + " " + (e.is_string() ? std::string(e.get_string()) : json::serialize(e)));
    return;
  }
  out.push_back(where + std::string(error_code_name(err.code)) + ": " + err.message);
}

} // namespace


llm_planner::llm_planner(const opex_config& cfg, const schema_registry& schemas, const proxy_checker& proxy)
  : cfg_(cfg), schemas_(schemas), proxy_(proxy) {}

std::vector<const tool_definition*> llm_planner::offered_tools(const policies::guard_context& g) const {
  std::vector<const tool_definition*> out;
  const auto* tenant = cfg_.find_tenant(g.tenant);
  for (const auto& t : cfg_.catalogue.tools()) {
    if (tenant && !tenant->allowed_tools.empty()
        && std::find(tenant->allowed_tools.begin(), tenant->allowed_tools.end(), t.id) == tenant->allowed_tools.end())
      continue;
    if (policies::check_autonomy(t, g.level, cfg_.autonomy))
      continue;
    if (t.target.type.empty())
      continue;
    out.push_back(&t);
  }
  return out;
}

namespace {

/// The prompt's context from the SystemJournal: the payload's history_refs spelled out (the
/// user's earlier requests of the intent, the tools' recent failures), "" when there are none.
std::string journal_context(const json::object& history, const kimmy_payload& payload) {
  auto find = [&](std::string_view list, std::string_view key, std::string_view value) -> const json::object* {
    if (const auto* v = history.if_contains(list); v && v->is_array())
      for (const auto& r : v->get_array())
        if (r.is_object() && get_string(r.get_object(), key).value_or("") == value)
          return &r.get_object();
    return nullptr;
  };
  std::string requests, failures;
  for (const auto& ref : payload.history_refs) {
    if (ref.rfind("request:", 0) == 0) {
      const auto id = ref.substr(8);
      const auto* r = find("recent", "request_id", id);
      if (!r)
        r = find("same_intent", "request_id", id);
      if (r)
        requests += "- " + std::string(get_string(*r, "timestamp").value_or("")) + " (" + id + "): \""
                    + std::string(get_string(*r, "text").value_or("")) + "\" parameters "
                    + json::serialize(r->contains("parameters") ? r->at("parameters") : json::value(nullptr)) + "\n";
    } else if (ref.rfind("failure:", 0) == 0) {
      const auto rest = ref.substr(8);
      const auto colon = rest.find(':');
      if (colon == std::string::npos)
        continue;
      const auto tool = rest.substr(0, colon), id = rest.substr(colon + 1);
      if (const auto* v = history.if_contains("failures"); v && v->is_array())
        for (const auto& f : v->get_array())
          if (f.is_object() && get_string(f.get_object(), "tool").value_or("") == tool
              && get_string(f.get_object(), "request_id").value_or("") == id) {
            failures += "- " + tool + " failed at " + std::string(get_string(f.get_object(), "timestamp").value_or(""))
                        + " with " + std::string(get_string(f.get_object(), "error_code").value_or("an error"))
                        + " (request " + id + ")\n";
            break;
          }
    }
  }
  std::string out;
  if (!requests.empty())
    out += "\n\nThe user's earlier requests of this intent (SystemJournal), newest first:\n" + requests;
  if (!failures.empty())
    out += "\n\nRecent failures of the suggested tools (SystemJournal):\n" + failures;
  return out;
}

} // namespace

llm_request llm_planner::request_for(const kimmy_payload& payload, const policies::guard_context& g,
                                     const json::object* history) const {
  std::string level_name;
  int max_tools = cfg_.system.max_plan_steps;
  if (const auto* def = cfg_.autonomy.find(g.level)) {
    level_name = def->name;
    if (def->max_tools_per_plan)
      max_tools = std::min(max_tools, *def->max_tools_per_plan);
  }
  std::string sys;
  sys += "You are Prolex, the planner of the opex orchestration engine. You turn one classified request "
         "(a KimmyPayload) into exactly one ProlexOutput.\n\n";
  sys += "Answer with ONE bare JSON object and nothing else: no prose, no Markdown, no code fence.\n\n";
  sys += "A ProlexOutput is one of:\n"
         "{\"type\": \"answer\", \"content\": \"text\"}\n"
         "{\"type\": \"tool_call\", \"tool\": \"TOOL_ID\", \"payload\": {...}}\n"
         "{\"type\": \"multi_tool_plan\", \"plan\": [{\"step\": 1, \"tool\": \"TOOL_ID\", \"payload\": {...}}, "
         "{\"step\": 2, \"tool\": \"TOOL_ID\", \"payload\": {...}, \"depends_on\": [1]}]}\n"
         "{\"type\": \"clarification\", \"questions\": [\"a question of at least 10 characters\"]}\n"
         "No other keys are allowed at the top level or in a step.\n\n";
  sys += "Rules:\n"
         "- Use only the tools listed below, with payloads that have their fields and types.\n"
         "- Never invent a value the request does not give. When a required field is unknown, answer a "
         "clarification (1 to 3 questions) instead.\n"
         "- In a plan, steps are numbered from 1; depends_on lists earlier steps. A payload value may be a "
         "placeholder \"{{ step_N.result.FIELD }}\" that receives step N's result, when N is in the step's "
         "depends_on (directly or through other steps).\n"
         "- At most " + std::to_string(max_tools) + " steps.\n"
         "- Write answers and questions in the request's language (" + payload.language + ").\n";
  sys += "\nContext: autonomy level " + std::to_string(g.level) + (level_name.empty() ? "" : " (" + level_name + ")")
         + ", environment " + g.environment + ", request sensitivity " + g.sensitivity + ".";
  if (g.can_use_web && !*g.can_use_web)
    sys += " The request forbids web access: do not use web tools.";
  if (g.max_cost_usd)
    sys += " Budget of the request: " + std::to_string(*g.max_cost_usd) + " USD.";
  sys += "\n\nTools allowed at this level (ID [risk; approval when a person must approve it first]: "
         "description. Payload: fields):\n";
  for (const auto* t : offered_tools(g)) {
    bool approval = policies::is_high_risk(*t, cfg_.system, cfg_.autonomy);
    auto schema_id = proxy_.payload_schema_id(*t);
    const json::value* schema = schema_id.empty() ? nullptr : schemas_.document(schema_id);
    sys += "- " + t->id + " [" + t->risk_level + (approval ? "; approval" : "") + "]: "
           + (t->description.empty() ? t->name : t->description) + " Payload: " + describe_payload(schema) + "\n";
  }
  if (!cfg_.prolex.answer_source.empty())
    sys += "\nQuestions may be answered from: " + cfg_.prolex.answer_source + "\n";

  json::object constraints = payload.constraints;
  std::string user = "Plan this request. KimmyPayload:\n" + json::serialize(to_json(payload));
  if (history)
    user += journal_context(*history, payload);
  llm_request r;
  r.system = std::move(sys);
  r.messages.push_back(llm_message{"user", std::move(user)});
  return r;
}

std::vector<std::string> llm_planner::check(std::string_view answer, const policies::guard_context& g,
                                            prolex_output& out) const {
  std::vector<std::string> errors;
  auto doc = parse_bare_json(answer);
  if (!doc) {
    collect_errors(doc.error(), errors);
    return errors;
  }
  auto checked = proxy_.check_json(*doc, g);
  if (!checked) {
    collect_errors(checked.error(), errors);
    return errors;
  }
  out = std::move(checked->output);
  return errors;
}

result<prolex_output> llm_planner::accept(std::string_view answer, const policies::guard_context& g) const {
  prolex_output out;
  auto errors = check(answer, g, out);
  if (errors.empty())
    return out;
  json::array list;
  for (auto& e : errors)
    list.emplace_back(std::move(e));
  return make_error(error_code::output_invalid, "the model's ProlexOutput is refused", json::object{{"errors", std::move(list)}});
}

} // namespace opex::actors
