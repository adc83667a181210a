// The Model Context Protocol as data: JSON-RPC 2.0 messages, protocol versions, the SSE framing
// of Streamable HTTP, and the mapping of tools/call results to step outcomes. Plain functions,
// no I/O (the MCP client in connectors/mcp uses them; tests check them directly).
// Source: modelcontextprotocol.io specification 2025-06-18 (basic/lifecycle, basic/transports,
// server/tools).
#pragma once

#include "opex/connectors/connector.hpp"
#include "opex/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opex {
struct restart_settings;
}

namespace opex::connectors::mcp {

/// Versions opex speaks, newest first. A server answering another version is refused.
inline constexpr std::array<std::string_view, 3> supported_versions{"2025-06-18", "2025-03-26",
                                                                    "2024-11-05"};

/// True when opex speaks `version`.
bool is_supported_version(std::string_view version) noexcept;

/// `{"jsonrpc": "2.0", "id": id, "method": method, "params": params}` (params omitted when
/// empty).
boost::json::object make_request(std::int64_t id, std::string_view method, boost::json::object params = {});

/// `{"jsonrpc": "2.0", "method": method, "params": params}`.
boost::json::object make_notification(std::string_view method, boost::json::object params = {});

/// A response to a server's request: `{"jsonrpc", "id", "result"}`.
boost::json::object make_result(const boost::json::value& id, boost::json::object result);

/// An error response to a server's request: `{"jsonrpc", "id", "error": {code, message}}`.
boost::json::object make_error_response(const boost::json::value& id, int code, std::string_view message);

/// The params of `initialize`: {protocolVersion, capabilities: {}, clientInfo: {name: "opex",
/// version}}. opex offers no client capabilities (no roots, sampling or elicitation).
boost::json::object initialize_params(std::string_view version);

/// What an incoming message is.
enum class message_kind { response, request, notification, invalid };

/// An incoming message, taken apart. `id` is the request id (responses: the id we sent;
/// requests: the server's id, echoed back); `error` is the JSON-RPC error object of an error
/// response.
struct incoming_message {
  message_kind kind = message_kind::invalid;
  boost::json::value id;
  std::string method;
  boost::json::object params;
  boost::json::value result;
  boost::json::object error;
  std::string problem;  ///< why it is invalid
};

/// Classifies one JSON-RPC message (a response has `id` and `result` or `error`; a request has
/// `id` and `method`; a notification has `method` only).
incoming_message classify(const boost::json::value& message);

/// The integer id of a response (ids opex sends are integers), or -1.
std::int64_t response_id(const incoming_message& m) noexcept;

/// One server-sent event.
struct sse_event {
  std::string event = "message";
  std::string data;  ///< data lines joined with '\n'
  std::string id;
};

/// An incremental parser of text/event-stream (WHATWG HTML §9.2): `feed` takes any slice of the
/// stream and returns the events it completes. Comments and retry fields are ignored.
class sse_parser {
public:
  std::vector<sse_event> feed(std::string_view chunk);

  /// Events completed by the end of the stream (a last event without its blank line).
  std::vector<sse_event> finish();

private:
  std::string line_;
  sse_event current_;
  bool has_data_ = false;
  bool skip_lf_ = false;
  void line(std::vector<sse_event>& out);
};

/// One tool as listed by tools/list.
struct tool_info {
  std::string name;
  std::string title;
  std::string description;
  boost::json::object input_schema;
  boost::json::object output_schema;  ///< empty when the tool declares none

  /// `{"name", "title", "description", "input_schema", "output_schema"}`.
  boost::json::object to_json() const;
};

/// The tools of one tools/list page and its `nextCursor` ("" on the last page).
/// Errors: PROTOCOL_ERROR when `tools` is not a list of named tools.
result<std::vector<tool_info>> parse_tools(const boost::json::value& list_result, std::string& next_cursor);

/// Maps a tools/call result to a step outcome.
/// Success: data = {"text": text items joined with "\n", "content": [content items as sent],
///                  "structured": structuredContent (only when the server sent one)}.
/// `isError: true`: TOOL_EXECUTION_FAILED {server, tool, text, content}.
/// Not an object with a `content` list: PROTOCOL_ERROR {server, tool}.
call_outcome map_tool_result(const boost::json::value& result, std::string_view server, std::string_view tool);

/// Maps a JSON-RPC error object of a request opex sent: -32602 (invalid params) ->
/// VALIDATION_ERROR, -32601 (method not found) -> CONNECTOR_UNAVAILABLE, anything else ->
/// TOOL_EXECUTION_FAILED; details {server, tool, jsonrpc_code, data}.
error_info map_rpc_error(const boost::json::object& error, std::string_view server, std::string_view tool);

/// Delay before restart number `restart` (1-based) of a dead server: initial_interval_ms *
/// backoff_coefficient^(restart-1), at most maximum_interval_ms.
std::chrono::milliseconds restart_delay(const restart_settings& settings, int restart) noexcept;

} // namespace opex::connectors::mcp
