// The tools of the MCP servers opex is a client of, re-exposed through its MCP server when the
// server has `expose:` (docs/mcp-gateway.md, "Aggregation"): listed as <server>__<tool>, each
// definition pinned by digest at first sight, a changed one hidden and refused until an
// operator approves it; calls guarded as the catalogue tool MCP_<SERVER>.
#include "mcp_gateway_tools.hpp"

#include "opex/clock.hpp"
#include "opex/engine.hpp"
#include "opex/gateway/tool_pins.hpp"
#include "opex/json_util.hpp"

#include <atomic>

namespace opex::gateway {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view separator = "__";

/// The MCP definition (name, description, inputSchema) of a connector tool listing
/// (mcp::tool_info::to_json: {name, title, description, input_schema}).
json::object definition_of(const json::object& info) {
  json::object schema = info.contains("input_schema") && info.at("input_schema").is_object()
                          ? info.at("input_schema").get_object() : json::object{};
  if (schema.empty())
    schema["type"] = "object";
  return json::object{{"name", info.at("name")}, {"description", info.contains("description") ? info.at("description") : ""},
                      {"inputSchema", std::move(schema)}};
}

std::string now_text(const engine& eng) { return format_timestamp(eng.time().now().utc); }

} // namespace

bool is_exposed_server_tool(const tool_definition& t) {
  return t.target.type == "mcp_tool" && t.target.text("tool_name") == "*";
}

std::vector<const tool_definition*> exposed_servers(const opex_config& cfg, const std::string& tenant) {
  std::vector<const tool_definition*> out;
  for (const auto& t : cfg.catalogue.tools())
    if (is_exposed_server_tool(t) && tool_visible(t, cfg, tenant))
      out.push_back(&t);
  return out;
}

void list_exposed(engine& eng, const std::string& tenant, std::function<void(json::array)> done) {
  auto cfg = eng.current_configuration();
  auto servers = exposed_servers(*cfg, tenant);
  if (servers.empty())
    return done({});
  auto pins = tool_pins::of_database(eng.database());
  struct gather {
    std::mutex m;
    json::array tools;
    std::atomic<std::size_t> left{0};
  };
  auto g = std::make_shared<gather>();
  g->left = servers.size();
  for (const auto* guard : servers) {
    const auto server = guard->target.text("server");
    auto annotations = annotations_of(*guard);
    eng.mcp_tools(server, 20s, [g, server, annotations, done, pins, &eng, risk = guard->risk_level](result<json::array> listed) {
      json::array mine;
      for (const auto& info : listed ? *listed : json::array{}) {
        auto def = definition_of(info.as_object());
        auto verdict = pins ? (*pins)->check(server, def, now_text(eng)) : result<tool_pins::verdict>(pins.error());
        if (!verdict || !verdict->allowed)
          continue;  // a changed definition never reaches the client before an operator approves it
        auto name = server + std::string(separator) + std::string(def.at("name").as_string());
        auto a = annotations;
        a["title"] = name;
        mine.push_back(json::object{
          {"name", name},
          {"title", info.as_object().contains("title") && !info.at("title").as_string().empty() ? info.at("title") : json::value(name)},
          {"description", "[opex: via the MCP server " + server + ", risk " + risk + ", definition pinned sha256:"
                            + verdict->pinned_digest.substr(0, 12) + "] " + std::string(def.at("description").as_string())},
          {"inputSchema", def.at("inputSchema")},
          {"annotations", std::move(a)}});
      }
      std::lock_guard lock(g->m);
      for (auto& t : mine)
        g->tools.push_back(std::move(t));
      if (--g->left == 0)
        done(std::move(g->tools));
    });
  }
}

const tool_definition* exposed_target(const opex_config& cfg, const std::string& tenant, const std::string& name,
                                      std::string& tool) {
  for (const auto* guard : exposed_servers(cfg, tenant)) {
    const auto prefix = guard->target.text("server") + std::string(separator);
    if (name.starts_with(prefix) && name.size() > prefix.size()) {
      tool = name.substr(prefix.size());
      return guard;
    }
  }
  return nullptr;
}

void call_exposed(call_context c, const tool_definition& guard, std::string tool) {
  const auto server = guard.target.text("server");
  const auto guard_id = guard.id;
  auto* eng = &c.eng;
  eng->mcp_tools(server, 20s, [c = std::move(c), server, tool, guard_id, eng](result<json::array> listed) mutable {
    auto fail = [&](error_info err) { c.done(error_result(err, c.request_id, now_text(*eng))); };
    if (!listed)
      return fail(listed.error());
    const json::object* info = nullptr;
    for (const auto& t : *listed)
      if (get_string(t.as_object(), "name").value_or("") == tool)
        info = &t.as_object();
    if (!info)
      return fail(make_error(error_code::tool_not_found, "the MCP server " + server + " has no tool " + tool,
                             json::object{{"server", server}, {"tool", tool}}));
    auto pins = tool_pins::of_database(eng->database());
    if (!pins)
      return fail(pins.error());
    auto verdict = (*pins)->check(server, definition_of(*info), now_text(*eng));
    if (!verdict)
      return fail(verdict.error());
    if (!verdict->allowed)
      return fail(make_error(error_code::tool_definition_changed,
                             "the definition of " + server + " " + tool + " changed since it was pinned: refused until an operator approves it",
                             json::object{{"server", server}, {"tool", tool}, {"pinned_digest", verdict->pinned_digest},
                                          {"current_digest", verdict->current_digest},
                                          {"approve", "opexctl mcp pins --approve " + server + " " + tool + " " + verdict->current_digest}}));
    auto arguments = std::move(c.arguments);
    submit_guarded(std::move(c), guard_id, json::object{{"tool", tool}, {"arguments", std::move(arguments)}}, "");
  });
}

} // namespace opex::gateway
