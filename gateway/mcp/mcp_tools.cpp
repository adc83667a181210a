// tools/list: the catalogue as the guard sees it for one tenant, plus opex's own tools and the
// SystemJournal tools (docs/mcp-gateway.md, "What an agent sees").
#include "opex/gateway/mcp_server.hpp"
#include "mcp_gateway_tools.hpp"

#include "opex/json_util.hpp"
#include "opex/policies/autonomy_policy.hpp"

#include <algorithm>

namespace opex::gateway {

namespace json = boost::json;

/// A schema document as an MCP schema: the same object without `$schema`, `$id` and opex's
/// `x-opex-*` keys (clients compile it inside other schemas).
json::object client_schema(const json::value* doc) {
  json::object out;
  if (doc == nullptr || !doc->is_object())
    return json::object{{"type", "object"}};
  for (const auto& [key, value] : doc->get_object())
    if (key != "$schema" && key != "$id" && !key.starts_with("x-opex-"))
      out[key] = value;
  return out;
}

namespace {

bool contains(const std::vector<std::string>& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

} // namespace

json::object annotations_of(const tool_definition& t) {
  const bool read_only = t.category == "search" || t.category == "reporting" || t.id.find("_LIST_") != std::string::npos;
  const bool destructive = !read_only && t.risk_level != "low";
  const bool idempotent = read_only || t.id.ends_with("_UPDATE") || t.id.ends_with("_SYNC");
  return json::object{{"title", t.name.empty() ? t.id : t.name},
                      {"readOnlyHint", read_only},
                      {"destructiveHint", destructive},
                      {"idempotentHint", idempotent},
                      {"openWorldHint", t.target.type != "builtin"}};
}

namespace {

std::string description_of(const tool_definition& t, const opex_config& cfg) {
  std::string text = t.description.empty() ? t.name : t.description;
  text += " [opex: category " + t.category + ", risk " + t.risk_level;
  if (policies::is_high_risk(t, cfg.system, cfg.autonomy))
    text += ", runs only once a person approves it (the answer gives the approval id)";
  return text + "]";
}

} // namespace

json::object catalogue_tool_entry(const tool_definition& t, const opex_config& cfg, const schema_registry& schemas) {
  json::object entry{{"name", t.id},
                     {"title", t.name.empty() ? t.id : t.name},
                     {"description", description_of(t, cfg)},
                     {"inputSchema", client_schema(t.payload_schema.empty() ? nullptr
                                                   : schemas.document(schemas.resolve(t.payload_schema)))},
                     {"annotations", annotations_of(t)}};
  if (!t.response_schema.empty() && schemas.contains(t.response_schema)) {
    // The tool's result, or opex's answer while it waits for a person (docs/mcp-gateway.md).
    entry["outputSchema"] =
      json::object{{"type", "object"},
                   {"anyOf", json::array{client_schema(schemas.document(schemas.resolve(t.response_schema))),
                                         pending_schema()}}};
  }
  return entry;
}

bool tool_visible(const tool_definition& t, const opex_config& cfg, const std::string& tenant) {
  if (t.target.type.empty())
    return false;  // nothing can run it
  if (const auto* ts = cfg.find_tenant(tenant); ts && !ts->allowed_tools.empty() && !contains(ts->allowed_tools, t.id))
    return false;
  return !policies::check_autonomy(t, cfg.level_for(tenant), cfg.autonomy);
}

json::array list_tools(const opex_config& cfg, const schema_registry& schemas, const std::string& tenant) {
  json::array out;
  for (const auto& t : cfg.catalogue.tools())
    if (tool_visible(t, cfg, tenant) && !is_exposed_server_tool(t))  // those list their server's tools
      out.push_back(catalogue_tool_entry(t, cfg, schemas));
  for (auto& own : own_tools(schemas))
    out.push_back(std::move(own));
  return out;
}

} // namespace opex::gateway
