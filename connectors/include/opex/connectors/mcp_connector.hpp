// The MCP client (target type `mcp_tool`): one session per configured server, over stdio (a
// child process) or Streamable HTTP. Sessions start on first use: initialize with version
// negotiation, notifications/initialized, tools/list (cached, refreshed on
// notifications/tools/list_changed); then tools/call per step attempt. A stdio server that
// dies is restarted with backoff; its stderr goes to <log_dir>/mcp-<server>.log.
// docs/connectors.md describes the configuration and the result mapping.
#pragma once

#include "opex/config.hpp"
#include "opex/connectors/connector.hpp"
#include "opex/connectors/mcp_protocol.hpp"

#include <boost/json/array.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace opex::connectors {

class http_client;

struct mcp_connector_options {
  mcp_settings settings;
  std::shared_ptr<http_client> http;  ///< used by streamable_http servers
  std::string log_dir;                ///< resolved folder of the server logs; "" = no log files
};

/// Runs `mcp_tool` targets. Thread-safe: calls are posted to the connector's I/O thread.
///
/// Step results (mcp::map_tool_result): data {"text", "content", "structured"?}. Errors:
/// - CONNECTOR_UNAVAILABLE {server, tool}: no such server under mcp.servers; the command cannot
///   be started {stage: "spawn"}; the server speaks no supported protocol version; the
///   server gave up after maximum_restarts.
/// - CONNECTION_FAILED {server, stage, reason, exit_code?, stderr_tail?}: the process died or
///   the HTTP exchange failed (transient: the retry policy retries it); while a dead server
///   waits for its restart, calls fail at once with {reason: "restarting", retry_after_ms}.
/// - TIMEOUT {server, tool, timeout_ms}: no answer within the attempt's timeout
///   (notifications/cancelled is sent to the server).
/// - TOOL_EXECUTION_FAILED (isError, JSON-RPC errors), VALIDATION_ERROR (JSON-RPC -32602),
///   PROTOCOL_ERROR (malformed answers), HTTP_ERROR {status, body, retry_after?}.
class mcp_connector final : public connector {
public:
  explicit mcp_connector(mcp_connector_options options);
  ~mcp_connector() override;
  mcp_connector(const mcp_connector&) = delete;
  mcp_connector& operator=(const mcp_connector&) = delete;

  cancel_handle call(const tool_definition& tool, const boost::json::object& payload, const call_context& ctx,
                     call_completion done) override;

  /// "mcp:<server>": one circuit breaker per MCP server.
  std::string breaker_key(const tool_definition& tool) const override;

  /// Calls `tool_name` on `server` with `arguments` (what call() does for a catalogue tool).
  /// A valid `trace` goes in `params._meta` as {traceparent, tracestate?}.
  cancel_handle call_tool(const std::string& server, const std::string& tool_name, boost::json::object arguments,
                          std::chrono::milliseconds timeout, call_completion done, const trace_context& trace = {});

  using tools_callback = std::function<void(result<std::vector<mcp::tool_info>>)>;

  /// The tools a server offers: the cached list (refreshed on notifications/tools/list_changed)
  /// when the session is ready, else a fresh tools/list, every page, starting the server when
  /// needed. `done` is called once, on the connector's thread. Errors as for calls.
  void list_tools(const std::string& server, std::chrono::milliseconds timeout, tools_callback done);

  /// The servers' states: [{"server", "transport", "state": idle|starting|ready|restarting|
  /// failed|stopped, "pid", "restarts" (scheduled since start), "consecutive_failures",
  /// "protocol_version", "server_info", "tools" (count of the cached list), "last_error"}].
  boost::json::array status() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace opex::connectors
