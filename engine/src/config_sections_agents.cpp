// opex.yml's agent sections: kimmy, and prolex with its planning table.
#include "config_reading.hpp"

#include "opex/catalogue.hpp"
#include "opex/contracts.hpp"
#include "opex/json_util.hpp"
#include "opex/schema_registry.hpp"

#include <filesystem>

namespace opex::config_detail {

namespace json = boost::json;

error_info read_kimmy(const json::value& section, opex_config& cfg, const config_reading&) {
  const auto* k = section.is_object() ? &section.get_object() : nullptr;
  if (!k)
    return {};
  cfg.kimmy.mode = std::string(get_string(*k, "mode").value_or("rules"));
  cfg.kimmy.llm = std::string(get_string(*k, "llm").value_or(""));
  cfg.kimmy.extra_sensitive_keywords = strings_at(*k, "extra_sensitive_keywords");
  return {};
}

namespace {

planning_entry read_planning_entry(const json::object& eo) {
  planning_entry e;
  e.tool = std::string(get_string(eo, "tool").value_or(""));
  if (const auto* p = object_at(eo, "payload"))
    e.payload = *p;
  e.required = strings_at(eo, "required");
  if (const auto* p = get_member(eo, "plan"); p && p->is_array())
    e.plan = p->get_array();
  e.answer = std::string(get_string(eo, "answer").value_or(""));
  e.clarification = strings_at(eo, "clarification");
  if (const auto* c = object_at(eo, "chain"))
    e.chain = *c;
  if (const auto* alts = get_member(eo, "alternatives"); alts && alts->is_array())
    for (const auto& a : alts->get_array())
      if (a.is_object())
        e.alternatives.push_back(read_planning_entry(a.get_object()));
  return e;
}

} // namespace

error_info read_prolex(const json::value& section, opex_config& cfg, const config_reading& r) {
  // Planning table: the user's, or the embedded default's.
  const json::object* prolex = section.is_object() ? &section.get_object() : nullptr;
  json::value default_doc;
  const json::object* planning = prolex ? object_at(*prolex, "planning") : nullptr;
  if (!planning) {
    auto def = parse_yaml(embedded_file("policies/default/opex.yml"), "policies/default/opex.yml");
    if (!def)
      return def.error();
    default_doc = std::move(def).value();
    if (const auto* dp = object_at(default_doc.get_object(), "prolex"))
      planning = object_at(*dp, "planning");
  }
  if (prolex) {
    cfg.prolex.mode = std::string(get_string(*prolex, "mode").value_or("rules"));
    cfg.prolex.answer_source = std::string(get_string(*prolex, "answer_source").value_or(""));
    cfg.prolex.llm = std::string(get_string(*prolex, "llm").value_or(""));
    cfg.prolex.max_cost_per_call_usd = number_at(*prolex, "max_cost_per_call_usd").value_or(0.0);
    if (const auto* knowledge = object_at(*prolex, "knowledge"))
      for (const auto& d : strings_at(*knowledge, "documents")) {
        auto path = resolve_path(r.base_dir, d);
        std::error_code ec;
        if (!std::filesystem::exists(path, ec))
          return config_error(r.origin, "prolex.knowledge.documents", "no such file or folder: " + path);
        cfg.prolex.knowledge_documents.push_back(std::move(path));
      }
  }
  if (planning)
    for (const auto& kv : *planning) {
      if (!canonical_intent(kv.key()))
        return config_error(r.origin, "prolex.planning." + std::string(kv.key()), "unknown intent");
      const auto& eo = kv.value().get_object();
      // An alternative whose tool the catalogue lacks has no keywords, so it is never chosen.
      cfg.prolex.planning[std::string(kv.key())] = read_planning_entry(eo);
    }

  return {};
}

} // namespace opex::config_detail
