// What the MCP gateway's files share: the tool entries (mcp_tools.cpp, mcp_own_tools.cpp) and
// the calls (mcp_calls.cpp) the session (mcp_session.cpp) dispatches.
#pragma once

#include "opex/gateway/mcp_server.hpp"

#include "opex/catalogue.hpp"
#include "opex/error.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <string>

namespace opex::gateway {

/// opex's own tools and the SystemJournal tools, in tools/list form.
boost::json::array own_tools(const schema_registry& schemas);

/// True for the names own_tools lists.
bool is_own_tool(std::string_view name);

/// The shape of opex's answer while a call waits for a person:
/// {"status": "awaiting_approval", "request_id", "approvals", "how_to_decide"}.
boost::json::object pending_schema();

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

} // namespace opex::gateway
