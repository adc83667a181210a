// One MCP session: the lifecycle (initialize, version negotiation), ping, tools/list,
// tools/call with progress and cancellation (docs/mcp-gateway.md). Source: MCP specification
// 2025-06-18, basic/lifecycle, basic/utilities/{cancellation,progress,ping}, server/tools.
#include "mcp_gateway_tools.hpp"

#include "opex/clock.hpp"
#include "opex/engine.hpp"
#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

#include <atomic>

namespace opex::gateway {

namespace json = boost::json;

namespace {

/// JSON-RPC 2.0 error codes (JSON-RPC 2.0 §5.1; -32002 as in MCP SDKs for "not initialized").
enum rpc_code : int { invalid_request = -32600, method_not_found = -32601, invalid_params = -32602, not_initialized = -32002 };

json::object response(const json::value& id, json::object result) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json::object rpc_error(const json::value& id, int code, std::string message, json::object data = {}) {
  json::object err{{"code", code}, {"message", std::move(message)}};
  if (!data.empty())
    err["data"] = std::move(data);
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

json::object notification(std::string_view method, json::object params) {
  return json::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

/// One line a person can read about a step's progress.
std::string progress_text(const progress_event& e) {
  if (e.kind == progress_kind::breaker)
    return "circuit breaker of " + e.target + ": " + e.breaker_state;
  std::string text = "step " + std::to_string(e.step) + " " + e.tool + ": " + std::string(step_status_name(e.status));
  if (e.status == step_status::running)
    text += " (attempt " + std::to_string(e.attempt) + ")";
  if (!e.error_code.empty())
    text += " " + e.error_code;
  if (!e.message.empty())
    text += ": " + e.message;
  return text;
}

constexpr std::string_view instructions =
  "opex runs each tool call through its Proxy Master: schemas, autonomy level, approvals, quotas, "
  "budgets and the tenant's tools, and journals it. A refusal is a result with isError and the "
  "standard error JSON. A call that needs a person answers at once with status awaiting_approval and "
  "its approval id: a person decides with opexctl, opexd or the console, then opex_get_request gives "
  "the result. opex_ask takes a request in words; query_logs reads your SystemJournal.";

} // namespace

mcp_session::mcp_session(engine& eng, progress_hub* progress, mcp_caller who)
  : eng_(eng), progress_(progress), who_(std::move(who)) {}

bool mcp_session::initialized() const {
  std::lock_guard lock(m_);
  return initialized_;
}

std::string mcp_session::protocol_version() const {
  std::lock_guard lock(m_);
  return version_;
}

std::string mcp_session::client_name() const {
  std::lock_guard lock(m_);
  return client_;
}

void mcp_session::notify_if_list_changed(const std::function<void(json::object)>& send) {
  const auto now = eng_.configuration_generation();
  {
    std::lock_guard lock(m_);
    if (!initialized_ || listed_generation_ == now)
      return;
    listed_generation_ = now;
  }
  send(notification("notifications/tools/list_changed", {}));
}

void mcp_session::handle(const json::value& message, mcp_outlet out) {
  const auto* msg = message.if_object();
  if (msg == nullptr || get_string(*msg, "jsonrpc").value_or("") != "2.0") {
    out.message(rpc_error(nullptr, invalid_request,
                          message.is_array() ? "JSON-RPC batches are not supported (MCP 2025-06-18)"
                                             : "not a JSON-RPC 2.0 message"));
    return out.end();
  }
  const auto* id = msg->if_contains("id");
  const auto method = std::string(get_string(*msg, "method").value_or(""));
  static const json::object no_params;
  const auto* p = msg->if_contains("params");
  const auto& params = p && p->is_object() ? p->get_object() : no_params;
  if (method.empty() || id == nullptr) {  // a notification, or a response to us
    if (method == "notifications/cancelled")
      cancel(params);
    else if (method.empty() && id != nullptr)
      elicited(*msg);
    return out.end();
  }
  if (method == "initialize")
    return initialize(*id, params, std::move(out));
  if (method == "ping") {
    out.message(response(*id, {}));
    return out.end();
  }
  if (!initialized()) {
    out.message(rpc_error(*id, not_initialized, "send initialize first"));
    return out.end();
  }
  if (method == "tools/list") {
    auto cfg = eng_.current_configuration();
    auto schemas = eng_.current_schemas();
    {
      std::lock_guard lock(m_);
      listed_generation_ = eng_.configuration_generation();
    }
    auto tools = std::make_shared<json::array>(list_tools(*cfg, *schemas, who_.tenant));
    return list_exposed(eng_, who_.tenant, [tools, id = *id, out](json::array exposed) {
      for (auto& t : exposed)
        tools->push_back(std::move(t));
      out.message(response(id, json::object{{"tools", std::move(*tools)}}));
      out.end();
    });
  }
  if (method == "tools/call")
    return tools_call(*id, params, std::move(out));
  out.message(rpc_error(*id, method_not_found, "method not found: " + method, {{"method", method}}));
  out.end();
}

void mcp_session::initialize(const json::value& id, const json::object& params, mcp_outlet out) {
  const auto asked = std::string(get_string(params, "protocolVersion").value_or(""));
  std::string version(served_versions.front());
  for (auto v : served_versions)
    if (v == asked)
      version = asked;
  std::string client;
  if (const auto* info = params.if_contains("clientInfo"); info && info->is_object()) {
    client = std::string(get_string(info->get_object(), "name").value_or(""));
    if (auto v = get_string(info->get_object(), "version"))
      client += "/" + std::string(*v);
  }
  const auto* caps = params.if_contains("capabilities");
  const bool elicitation = caps && caps->is_object() && caps->get_object().contains("elicitation");
  {
    std::lock_guard lock(m_);
    version_ = version;
    client_ = client;
    elicitation_ = elicitation;
    initialized_ = true;
    listed_generation_ = eng_.configuration_generation();
  }
  out.message(response(
    id, json::object{{"protocolVersion", version},
                     {"capabilities", json::object{{"tools", json::object{{"listChanged", true}}}}},
                     {"serverInfo", json::object{{"name", "opex"}, {"title", "opex guarded tool gateway"},
                                                 {"version", OPEX_VERSION}}},
                     {"instructions", instructions}}));
  out.end();
}

void mcp_session::cancel(const json::object& params) {
  const auto* rid = params.if_contains("requestId");
  if (rid == nullptr)
    return;
  std::string request_id;
  {
    std::lock_guard lock(m_);
    auto key = json::serialize(*rid);
    auto it = running_.find(key);
    if (it == running_.end())
      return;  // finished already, or unknown: ignored (cancellation, "Behavior Requirements")
    cancelled_[key] = true;
    request_id = it->second;
  }
  eng_.cancel(request_id);
}

namespace {

bool read_tool(std::string_view name) {
  return name == "query_logs" || name == "get_metrics" || name == "opex_get_request";
}

} // namespace

void mcp_session::tools_call(const json::value& id, const json::object& params, mcp_outlet out) {
  const auto name = std::string(get_string(params, "name").value_or(""));
  const auto* args = params.if_contains("arguments");
  if (args && !args->is_object()) {
    out.message(rpc_error(id, invalid_params, "tools/call: arguments must be an object", {{"tool", name}}));
    return out.end();
  }
  auto cfg = eng_.current_configuration();
  const bool own = is_own_tool(name);
  std::string exposed_tool;
  const auto* exposed = own ? nullptr : exposed_target(*cfg, who_.tenant, name, exposed_tool);
  const auto* listed = own || exposed ? nullptr : cfg->catalogue.find(name);
  if (!own && !exposed && (listed == nullptr || is_exposed_server_tool(*listed))) {
    out.message(rpc_error(id, invalid_params, "unknown tool: " + name, {{"tool", name}}));
    return out.end();
  }
  auto now = format_timestamp(eng_.time().now().utc);
  if (who_.scope == "read" && !read_tool(name)) {
    out.message(response(id, error_result(make_error(error_code::permission_denied,
                                                     "this key is read-only: it may call query_logs, get_metrics and opex_get_request",
                                                     json::object{{"tool", name}, {"scope", who_.scope}}),
                                          "", now)));
    return out.end();
  }
  const auto key = json::serialize(id);
  const auto request_id = make_uuid_v4();
  std::uint64_t token = 0;
  const json::value* meta = params.if_contains("_meta");
  const json::value* progress_token = meta && meta->is_object() ? meta->get_object().if_contains("progressToken") : nullptr;
  if (progress_ && progress_token) {
    auto counter = std::make_shared<std::atomic<int>>(0);
    token = progress_->subscribe(request_id, [send = out.message, tok = *progress_token, counter](const progress_event& e) {
      send(notification("notifications/progress",
                        json::object{{"progressToken", tok}, {"progress", ++*counter}, {"message", progress_text(e)}}));
    });
  }
  {
    std::lock_guard lock(m_);
    running_[key] = request_id;
  }
  auto self = shared_from_this();
  auto done = [self, key, id, out, token](json::object result) {
    bool cancelled = false;
    if (token != 0)
      self->progress_->unsubscribe(token);
    {
      std::lock_guard lock(self->m_);
      self->running_.erase(key);
      cancelled = self->cancelled_.erase(key) > 0;
    }
    if (cancelled) {  // a cancelled request gets no response (cancellation, "Behavior Requirements")
      out.end();
      return;
    }
    out.message(response(id, result));
    out.end();
    self->ask_person(result);  // after the answer: the client knows the approval first
  };
  call_context c{eng_, who_, client_name(), name, args ? args->get_object() : json::object{}, request_id, std::move(done)};
  if (own)
    call_own_tool(std::move(c));
  else if (exposed)
    call_exposed(std::move(c), *exposed, exposed_tool);
  else
    call_catalogue_tool(std::move(c));
}

void mcp_session::set_push(std::function<void(json::object)> push) {
  std::lock_guard lock(m_);
  push_ = std::move(push);
}

void mcp_session::ask_person(const json::object& result) {
  const auto* sc = result.if_contains("structuredContent");
  if (!sc || !sc->is_object() || get_string(sc->get_object(), "status").value_or("") != "awaiting_approval"
      || who_.scope == "read")
    return;
  for (const auto& a : sc->get_object().at("approvals").as_array()) {
    const auto& approval = a.as_object();
    if (const auto* code = approval.if_contains("requires_code"); code && code->is_bool() && code->get_bool())
      continue;  // a confirmation code reaches the person out of band, never through MCP
    std::function<void(json::object)> push;
    std::string rid;
    {
      std::lock_guard lock(m_);
      if (!elicitation_ || !push_)
        return;
      push = push_;
      rid = "opex-approval-" + std::to_string(next_elicitation_++);
      asked_[rid] = std::string(get_string(approval, "approval_id").value_or(""));
    }
    std::string text = "opex asks you to approve " + std::string(get_string(approval, "tool").value_or("a step"));
    if (auto reason = get_string(approval, "reason"))
      text += " (" + std::string(*reason) + ")";
    text += ". Approve or reject it; nothing runs before you decide.";
    push(json::object{
      {"jsonrpc", "2.0"},
      {"id", rid},
      {"method", "elicitation/create"},
      {"params", json::object{{"message", text},
                              {"requestedSchema",
                               json::object{{"type", "object"},
                                            {"properties",
                                             json::object{{"decision", json::object{{"type", "string"},
                                                                                    {"title", "Decision"},
                                                                                    {"enum", json::array{"approve", "reject"}}}},
                                                          {"comment", json::object{{"type", "string"}, {"title", "Comment"}}}}},
                                            {"required", json::array{"decision"}}}}}}});
  }
}

void mcp_session::elicited(const json::object& response) {
  const auto* id = response.if_contains("id");
  if (!id || !id->is_string())
    return;
  std::string approval_id;
  std::string client;
  {
    std::lock_guard lock(m_);
    auto it = asked_.find(std::string(id->get_string()));
    if (it == asked_.end())
      return;
    approval_id = it->second;
    asked_.erase(it);
    client = client_;
  }
  const auto* answer = response.if_contains("result");
  if (!answer || !answer->is_object() || get_string(answer->get_object(), "action").value_or("") != "accept")
    return;  // declined, cancelled or an error: the approval stays pending for another way to decide
  const auto* content = answer->get_object().if_contains("content");
  if (!content || !content->is_object())
    return;
  const auto decision = std::string(get_string(content->get_object(), "decision").value_or(""));
  if (decision != "approve" && decision != "reject")
    return;
  approval_decision_request d;
  d.approval_id = approval_id;
  d.approve = decision == "approve";
  d.decided_by = "mcp:" + (client.empty() ? std::string("client") : client) + " (" + who_.fingerprint + ")";
  d.comment = std::string(get_string(content->get_object(), "comment").value_or("decided through MCP elicitation"));
  d.tenant = who_.scope == "admin" ? std::string{} : who_.tenant;
  eng_.decide(std::move(d), [](result<json::object>) {});  // the decision and its outcome are journaled
}

std::function<void(const progress_event&)> progress_hub::sink() {
  return [st = state_](const progress_event& e) {
    std::vector<listener> targets;
    {
      std::lock_guard lock(st->m);
      auto [first, last] = st->by_request.equal_range(e.request_id);
      for (auto it = first; it != last; ++it)
        targets.push_back(it->second.second);
    }
    for (auto& fn : targets)
      fn(e);
  };
}

std::uint64_t progress_hub::subscribe(const std::string& request_id, listener fn) {
  std::lock_guard lock(state_->m);
  auto token = state_->next++;
  state_->by_request.emplace(request_id, std::make_pair(token, std::move(fn)));
  return token;
}

void progress_hub::unsubscribe(std::uint64_t token) {
  std::lock_guard lock(state_->m);
  for (auto it = state_->by_request.begin(); it != state_->by_request.end(); ++it)
    if (it->second.first == token) {
      state_->by_request.erase(it);
      return;
    }
}

} // namespace opex::gateway
