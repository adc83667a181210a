// What opexd's route handlers share (api_routes.cpp: the engine routes and the route table;
// api_console.cpp: the console, listings, metrics and graphs).
#pragma once

#include "api_server_impl.hpp"

#include <functional>
#include <map>
#include <string>

namespace opex::tools {

/// One route's query parameters, decoded and checked: names it knows, each at most once.
using query_map = std::map<std::string, std::string, std::less<>>;
using reply_fn = std::function<void(http_reply)>;

/// What a route's handler is given: the engine, the caller, the request, its `{id}` segment
/// ("" on routes without one), its checked query parameters, and where to answer (once).
struct route_call {
  engine& eng;
  const schema_registry& schemas;
  const caller& who;
  const http_request_view& req;
  std::string id;
  const query_map& query;
  const std::string& request_id;
  const reply_fn& reply;
  const trace_context& trace;  ///< the request's span
  svg_renderer& graphs;        ///< plan graphs to SVG, on its own thread
  mcp_http_sessions& mcp;      ///< /mcp's sessions
};

/// VALIDATION_ERROR "query parameter NAME: REASON" with details {parameter, reason, value?}.
error_info bad_parameter(const std::string& name, std::string reason, std::string value = {});

/// The `limit` parameter: `fallback` when absent, else an integer from 1 to `most`.
/// Errors: VALIDATION_ERROR (bad_parameter).
result<std::size_t> limit_of(const query_map& q, std::size_t fallback = 1000, std::size_t most = 10000);

/// The tenant a read covers: the `tenant` parameter, else the key's own ("" for an admin key,
/// every tenant). Errors: PERMISSION_DENIED {parameter, value, tenant} when a tenant's key names
/// another tenant ("this key reads only tenant T's <what>").
result<std::string> tenant_scope(const caller& who, const query_map& q, std::string_view what);

/// A callback answering 200 with the JSON object, or the error in the standard error JSON.
std::function<void(result<boost::json::object>)> json_answer(const route_call& c);

/// `GET /ui/` and its files (index.html, console.js, console.css), served from the binary with
/// a Content-Security-Policy of 'self'; no key (the page asks for one and sends it as X-API-Key).
void route_console(const route_call& c);
/// `GET /`: 302 to /ui/.
void route_root(const route_call& c);
/// `GET /v1/whoami` -> {"tenant", "scope" (read | all | admin), "can_decide", "all_tenants"}.
void route_whoami(const route_call& c);
/// `GET /v1/requests?status&tool&tenant&since&until&limit` -> {"requests": [...]}, newest first.
void route_request_list(const route_call& c);
/// `GET /v1/metrics/workflows` (opex/connectors/workflow_runs.hpp).
void route_workflow_metrics(const route_call& c);
/// `GET /v1/alerts` (engine::alerts: rules, states, open deliveries).
void route_alerts(const route_call& c);
/// `POST /v1/alerts/evaluate`: evaluates the rules now (engine::evaluate_alerts); 503
/// UNAVAILABLE when alerts are disabled.
void route_alerts_evaluate(const route_call& c);
/// `POST|GET|DELETE /mcp`: opex's MCP server over Streamable HTTP (api_mcp.cpp,
/// docs/mcp-gateway.md). Any key scope: a read-only key's session may only call read tools.
void route_mcp(const route_call& c);
/// `GET /v1/requests/{id}/graph.svg` (svg) or `graph.dot`.
void route_request_graph(const route_call& c, const std::string& id, bool svg);

} // namespace opex::tools
