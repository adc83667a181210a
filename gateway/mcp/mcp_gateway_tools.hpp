// What the MCP gateway's files share: the tool entries (mcp_tools.cpp, mcp_own_tools.cpp) and
// the calls (mcp_calls.cpp) the session (mcp_session.cpp) dispatches.
#pragma once

#include "opex/gateway/mcp_server.hpp"

#include "opex/catalogue.hpp"
#include "opex/error.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <vector>

namespace opex::gateway {

/// opex's own tools and the SystemJournal tools, in tools/list form.
boost::json::array own_tools(const schema_registry& schemas);

/// True for the names own_tools lists.
bool is_own_tool(std::string_view name);

/// The shape of opex's answer while a call waits for a person:
/// {"status": "awaiting_approval", "request_id", "approvals", "how_to_decide"}.
boost::json::object pending_schema();

/// A schema document as an MCP schema: the same object without `$schema`, `$id` and opex's
/// `x-opex-*` keys; `{"type": "object"}` for none.
boost::json::object client_schema(const boost::json::value* doc);

/// The hints a client shows before a call (server/tools, "Tool Annotations"), from the
/// catalogue: read-only for search and reporting tools and listings; destructive for a tool
/// that changes things at medium or high risk; idempotent when read-only or an update or sync
/// to given values; open world unless it runs inside opex (builtin). docs/mcp-gateway.md.
boost::json::object annotations_of(const tool_definition& t);

/// A catalogue tool's tools/list entry.
boost::json::object catalogue_tool_entry(const tool_definition& t, const opex_config& cfg, const schema_registry& schemas);

/// True when tools/list shows `t` to `tenant` (a target to run it, the tenant's tools, the
/// autonomy level).
bool tool_visible(const tool_definition& t, const opex_config& cfg, const std::string& tenant);

/// A refusal before anything ran, as a CallToolResult with isError (the standard error JSON).
boost::json::object error_result(const error_info& err, const std::string& request_id, const std::string& timestamp);

/// A read tool's answer as a CallToolResult: structuredContent `data`, and its JSON as text.
boost::json::object data_result(boost::json::object data);

/// What one tools/call needs: the engine, who calls, the client, its arguments, the opex
/// request id it runs under (chosen before it starts, so progress and cancellation find it)
/// and where its CallToolResult goes (exactly once).
struct call_context {
  engine& eng;
  const mcp_caller& who;
  std::string client;
  std::string tool;
  boost::json::object arguments;
  std::string request_id;
  std::function<void(boost::json::object)> done;
};

/// Runs an own tool (is_own_tool). Read tools (query_logs, get_metrics, opex_get_request)
/// answer from the journal and the plan store; the others go through the guarded pipeline.
void call_own_tool(call_context c);

/// Runs a catalogue tool as a one-step tool_call through the guarded pipeline.
void call_catalogue_tool(call_context c);

/// Submits the tool_call {tool, payload} through the guarded pipeline and answers c.done with
/// its CallToolResult (`output_schema`: the response schema its data is checked against).
void submit_guarded(call_context c, const std::string& tool, boost::json::object payload, const std::string& output_schema);

// Aggregation (mcp_aggregation.cpp, docs/mcp-gateway.md "Aggregation").

/// True for the catalogue tool an exposed MCP server's tools are guarded as (MCP_<SERVER>:
/// target mcp_tool with tool_name "*"); never listed or called by that id.
bool is_exposed_server_tool(const tool_definition& t);
/// The exposed servers' guard tools `tenant` may use at its level.
std::vector<const tool_definition*> exposed_servers(const opex_config& cfg, const std::string& tenant);
/// The exposed servers' tools as tools/list entries (<server>__<tool>), each definition pinned
/// at first sight; a changed definition is left out. `done` is called once.
void list_exposed(engine& eng, const std::string& tenant, std::function<void(boost::json::array)> done);
/// The guard tool of an exposed server tool's name, with the server's tool name in `tool`, or
/// nullptr.
const tool_definition* exposed_target(const opex_config& cfg, const std::string& tenant, const std::string& name,
                                      std::string& tool);
/// A call of an exposed server's tool: its current definition is checked against its pin
/// (TOOL_DEFINITION_CHANGED when it differs), then MCP_<SERVER> runs through the guard with
/// {"tool", "arguments"}.
void call_exposed(call_context c, const tool_definition& guard, std::string tool);

} // namespace opex::gateway
