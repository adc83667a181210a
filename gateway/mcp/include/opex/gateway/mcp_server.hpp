// opex as an MCP server (docs/mcp-gateway.md): the catalogue's tools, opex's own tools and the
// SystemJournal tools, each call through the Proxy Master's guard. Transport-free: opexd's
// Streamable HTTP route (/mcp) and `opexctl mcp serve` (stdio) hand each JSON-RPC message to
// an mcp_session and write what it sends. Source: modelcontextprotocol.io specification
// 2025-06-18 (basic/lifecycle, basic/utilities/cancellation and progress, server/tools).
#pragma once

#include "opex/config.hpp"
#include "opex/progress.hpp"
#include "opex/schema_registry.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace opex {
class engine;
}

namespace opex::gateway {

/// Protocol versions the server speaks, newest first: a client asking for another one gets the
/// newest (lifecycle, "Version Negotiation").
inline constexpr std::array<std::string_view, 2> served_versions{"2025-06-18", "2025-03-26"};

/// Who calls, as the transport authenticated it: the key's tenant and scope (read | all |
/// admin; stdio: the operator's --tenant with scope all) and a fingerprint for decided_by.
struct mcp_caller {
  std::string tenant = "default";
  std::string scope = "all";
  std::string fingerprint = "local";
  std::string transport = "stdio";  ///< stdio | http
};

/// Delivers the engine's progress events to the MCP calls waiting for them (a tools/call
/// with a progressToken). Its sink() goes in engine_options::on_progress; thread-safe.
class progress_hub {
public:
  using listener = std::function<void(const progress_event&)>;
  /// The callback for engine_options::on_progress (called on actor threads).
  std::function<void(const progress_event&)> sink();
  /// Calls `fn` with each event of `request_id` until unsubscribe(token).
  std::uint64_t subscribe(const std::string& request_id, listener fn);
  void unsubscribe(std::uint64_t token);

private:
  struct state {
    std::mutex m;
    std::uint64_t next = 1;
    std::multimap<std::string, std::pair<std::uint64_t, listener>, std::less<>> by_request;
  };
  std::shared_ptr<state> state_ = std::make_shared<state>();
};

/// Where one incoming message's answers go: `message` takes the notifications sent while it
/// runs (progress) and its response; `end` is called once after the last of them (also when
/// no response comes: a notification, a response, a cancelled request). Callable from any
/// thread, in order.
struct mcp_outlet {
  std::function<void(boost::json::object)> message;
  std::function<void()> end;
};

/// The tools an MCP client of `tenant` sees (tools/list): the catalogue's tools that tenant
/// may use at its autonomy level (tenant allowed_tools, auto_allowed_levels and autonomy.yml,
/// as the guard checks them; tools that only run with an approval included), then opex's own
/// tools (opex_ask, opex_run_plan, opex_get_request) and the SystemJournal tools (log_entry,
/// query_logs, get_metrics). Each: {"name", "title", "description", "inputSchema",
/// "outputSchema"?, "annotations": {"title", "readOnlyHint", "destructiveHint",
/// "idempotentHint", "openWorldHint"}}; derivation in docs/mcp-gateway.md, "What an agent sees".
boost::json::array list_tools(const opex_config& cfg, const schema_registry& schemas, const std::string& tenant);

/// The CallToolResult of a finished, parked or refused opex request (to_json(request_result);
/// `approvals`: the tenant's pending approval records, engine::approvals, for a parked one):
/// {"content": [{"type": "text", "text"}], "structuredContent", "isError"}. Succeeded: the
/// last step's data as structuredContent when `output_schema_id` names the tool's response
/// schema (checked against it: a result that does not conform is an isError RESULT_INVALID),
/// else {"request_id", "status", "steps"}. awaiting_approval: isError false with
/// {"status": "awaiting_approval", "request_id", "approvals": [{approval_id, step, tool, kind,
/// reason, requires_code, expires_at}], "how_to_decide"}. Refused, failed, cancelled: isError true,
/// structuredContent the standard error JSON (error, error_code, details, timestamp,
/// request_id).
boost::json::object call_result(const boost::json::object& request_result, const schema_registry& schemas,
                                const std::string& output_schema_id, const boost::json::array& approvals = {});

/// One MCP session (one client): negotiated version, client info, the calls in flight (for
/// notifications/cancelled). Thread-safe; keep it in a shared_ptr while calls run.
class mcp_session : public std::enable_shared_from_this<mcp_session> {
public:
  mcp_session(engine& eng, progress_hub* progress, mcp_caller who);

  /// Handles one JSON-RPC message (a request, a notification or a response). Requests:
  /// initialize, ping, tools/list, tools/call (others: -32601). Errors are JSON-RPC errors:
  /// -32700 not JSON (the transport's), -32600 not a JSON-RPC message, -32602 bad params,
  /// -32002 before initialize; a tool's refusal is a result with isError.
  void handle(const boost::json::value& message, mcp_outlet out);

  /// True once initialize was answered.
  bool initialized() const;
  /// The version initialize agreed on ("" before).
  std::string protocol_version() const;
  /// notifications/tools/list_changed when the engine's configuration generation moved
  /// since the client last listed (or since initialize); nothing otherwise.
  void notify_if_list_changed(const std::function<void(boost::json::object)>& send);
  const mcp_caller& caller() const noexcept { return who_; }
  /// Where the session sends requests of its own (elicitation/create) outside any call: stdout
  /// over stdio, the GET stream over HTTP. Unset: no elicitation.
  void set_push(std::function<void(boost::json::object)> push);
  /// The client's "name/version" from initialize ("" before).
  std::string client_name() const;

private:
  engine& eng_;
  progress_hub* progress_;
  mcp_caller who_;
  mutable std::mutex m_;
  std::string version_;
  std::string client_;
  bool initialized_ = false;
  bool elicitation_ = false;  ///< the client declared the elicitation capability
  std::function<void(boost::json::object)> push_;
  std::uint64_t next_elicitation_ = 1;
  std::map<std::string, std::string> asked_;  ///< our elicitation request id -> approval id
  std::uint64_t listed_generation_ = 0;
  std::map<std::string, std::string> running_;  ///< JSON-RPC id (serialized) -> opex request id
  std::map<std::string, bool> cancelled_;       ///< JSON-RPC ids the client cancelled

  void initialize(const boost::json::value& id, const boost::json::object& params, mcp_outlet out);
  void tools_call(const boost::json::value& id, const boost::json::object& params, mcp_outlet out);
  void cancel(const boost::json::object& params);
  /// After a call parked: asks the person, through elicitation/create, to approve or reject
  /// each of its approvals that needs no confirmation code.
  void ask_person(const boost::json::object& call_result);
  /// A client's answer to an elicitation/create: an accepted decision is passed to the engine.
  void elicited(const boost::json::object& response);
};

} // namespace opex::gateway
