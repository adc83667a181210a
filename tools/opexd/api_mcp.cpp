// opexd's /mcp: opex's MCP server over Streamable HTTP (docs/mcp-gateway.md, "Over HTTP").
// POST carries one JSON-RPC message: a request is answered with application/json, or with
// text/event-stream when it is a tools/call asking for progress; a notification or a response
// gets 202. GET opens the session's stream for what the server sends outside a call
// (tools/list_changed, elicitation/create); DELETE ends
// the session. Source: MCP specification 2025-06-18, basic/transports ("Streamable HTTP").
#include "api_routes.hpp"
#include "mcp_http_sessions.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace opex::tools {

namespace json = boost::json;

std::string mcp_http_sessions::open(std::shared_ptr<gateway::mcp_session> s, const std::string& fingerprint) {
  std::lock_guard lock(m_);
  if (sessions_.size() >= max_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
    if (oldest->second.events)
      oldest->second.events->close();
    sessions_.erase(oldest);
  }
  auto id = make_uuid_v4();
  sessions_[id] = entry{std::move(s), fingerprint, std::chrono::steady_clock::now(), nullptr};
  return id;
}

std::shared_ptr<gateway::mcp_session> mcp_http_sessions::find(const std::string& id, const std::string& fingerprint) {
  std::lock_guard lock(m_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.fingerprint != fingerprint)
    return nullptr;
  it->second.used = std::chrono::steady_clock::now();
  return it->second.session;
}

bool mcp_http_sessions::close(const std::string& id, const std::string& fingerprint) {
  std::lock_guard lock(m_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.fingerprint != fingerprint)
    return false;
  if (it->second.events)
    it->second.events->close();
  sessions_.erase(it);
  return true;
}

void mcp_http_sessions::attach_events(const std::string& id, std::shared_ptr<reply_stream> events) {
  std::lock_guard lock(m_);
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return events->close();
  if (it->second.events)
    it->second.events->close();
  it->second.events = std::move(events);
}

void mcp_http_sessions::notify_list_changed() {
  std::vector<std::pair<std::shared_ptr<gateway::mcp_session>, std::shared_ptr<reply_stream>>> open;
  {
    std::lock_guard lock(m_);
    for (auto& [id, e] : sessions_)
      if (e.events && !e.events->ended())
        open.emplace_back(e.session, e.events);
  }
  for (auto& [session, events] : open)
    session->notify_if_list_changed([events = events](json::object m) { events->push(sse_event(json::serialize(m))); });
}

void mcp_http_sessions::close_all() {
  std::lock_guard lock(m_);
  for (auto& [id, e] : sessions_)
    if (e.events)
      e.events->close();
  sessions_.clear();
}

std::size_t mcp_http_sessions::size() const {
  std::lock_guard lock(m_);
  return sessions_.size();
}

namespace {

/// A transport-level refusal: the standard error JSON with `status`.
http_reply mcp_refusal(const route_call& c, int status, error_code code, std::string message, json::object details) {
  auto r = error_reply(make_error(code, std::move(message), std::move(details)), c.request_id);
  r.status = status;
  return r;
}

bool accepts(const std::string& accept, std::string_view type) {
  return accept.empty() || accept.find(type) != std::string::npos || accept.find("*/*") != std::string::npos;
}

/// SSE when the client takes it and the message is a tools/call with a progressToken.
bool wants_stream(const json::object& msg, const std::string& accept) {
  if (accept.find("text/event-stream") == std::string::npos || get_string(msg, "method").value_or("") != "tools/call")
    return false;
  const auto* params = msg.if_contains("params");
  const auto* meta = params && params->is_object() ? params->get_object().if_contains("_meta") : nullptr;
  return meta && meta->is_object() && meta->get_object().contains("progressToken");
}

/// Runs one message of `session` and answers: 202 for a notification or a response, the
/// response as JSON, or an event stream of its notifications and response.
void answer_message(const route_call& c, const std::shared_ptr<gateway::mcp_session>& session, const json::object& msg,
                    std::vector<std::pair<std::string, std::string>> headers) {
  const bool is_request = msg.contains("id") && msg.contains("method");
  if (!is_request) {
    session->handle(msg, gateway::mcp_outlet{[](json::object) {}, [] {}});
    return c.reply(http_reply{202, "", c.request_id, std::move(headers)});
  }
  if (wants_stream(msg, c.req.header("Accept"))) {
    auto stream = std::make_shared<reply_stream>();
    http_reply r{200, "", c.request_id, std::move(headers)};
    r.content_type = "text/event-stream";
    r.stream = stream;
    c.reply(std::move(r));
    return session->handle(msg, gateway::mcp_outlet{[stream](json::object m) { stream->push(sse_event(json::serialize(m))); },
                                                    [stream] { stream->close(); }});
  }
  auto answer = std::make_shared<std::optional<json::object>>();
  session->handle(msg, gateway::mcp_outlet{[answer](json::object m) {
                                             if (m.contains("id"))  // the response; notifications need a stream
                                               *answer = std::move(m);
                                           },
                                           [answer, reply = c.reply, rid = c.request_id, headers]() mutable {
                                             if (*answer)
                                               reply(http_reply{200, json::serialize(**answer), rid, std::move(headers)});
                                             else  // a cancelled request: no response
                                               reply(http_reply{202, "", rid, std::move(headers)});
                                           }});
}

/// The session a request names, checked: Mcp-Session-Id present (400) and known to this key
/// (404, the client starts a new one), MCP-Protocol-Version one the session agreed on (400).
std::shared_ptr<gateway::mcp_session> session_of(const route_call& c, std::string& id) {
  id = c.req.header("Mcp-Session-Id");
  if (id.empty()) {
    c.reply(mcp_refusal(c, 400, error_code::validation_error, "missing Mcp-Session-Id header (send initialize first)",
                        json::object{{"header", "Mcp-Session-Id"}}));
    return nullptr;
  }
  auto session = c.mcp.find(id, c.who.fingerprint);
  if (!session) {
    c.reply(mcp_refusal(c, 404, error_code::not_found, "no MCP session " + id + " (it ended or expired: initialize again)",
                        json::object{{"session", id}}));
    return nullptr;
  }
  auto version = c.req.header("MCP-Protocol-Version");
  if (!version.empty() && version != session->protocol_version()) {
    c.reply(mcp_refusal(c, 400, error_code::validation_error,
                        "MCP-Protocol-Version " + version + " is not the session's " + session->protocol_version(),
                        json::object{{"header", "MCP-Protocol-Version"}, {"value", version},
                                     {"expected", session->protocol_version()}}));
    return nullptr;
  }
  return session;
}

void mcp_post(const route_call& c) {
  if (!accepts(c.req.header("Accept"), "application/json") && !accepts(c.req.header("Accept"), "text/event-stream"))
    return c.reply(mcp_refusal(c, 406, error_code::validation_error, "Accept must include application/json or text/event-stream",
                               json::object{{"header", "Accept"}, {"value", c.req.header("Accept")}}));
  boost::system::error_code ec;
  auto message = json::parse(c.req.body, ec);
  if (ec || !message.is_object()) {
    json::object rpc{{"jsonrpc", "2.0"}, {"id", nullptr},
                     {"error", json::object{{"code", ec ? -32700 : -32600},
                                            {"message", ec ? "parse error: " + ec.message()
                                                           : std::string("one JSON-RPC message per POST (no batches)")}}}};
    return c.reply(http_reply{400, json::serialize(rpc), c.request_id});
  }
  const auto& msg = message.get_object();
  if (get_string(msg, "method").value_or("") == "initialize" && msg.contains("id")) {
    auto session = std::make_shared<gateway::mcp_session>(
      c.eng, c.mcp.progress, gateway::mcp_caller{c.who.tenant, c.who.scope, c.who.fingerprint, "http"});
    auto id = c.mcp.open(session, c.who.fingerprint);
    return answer_message(c, session, msg, {{"Mcp-Session-Id", id}});
  }
  std::string id;
  if (auto session = session_of(c, id))
    answer_message(c, session, msg, {});
}

void mcp_get(const route_call& c) {
  if (c.req.header("Accept").find("text/event-stream") == std::string::npos)
    return c.reply(mcp_refusal(c, 406, error_code::validation_error, "GET /mcp opens an event stream: Accept: text/event-stream",
                               json::object{{"header", "Accept"}}));
  std::string id;
  auto session = session_of(c, id);
  if (!session)
    return;
  auto stream = std::make_shared<reply_stream>();
  http_reply r{200, "", c.request_id};
  r.content_type = "text/event-stream";
  r.stream = stream;
  c.mcp.attach_events(id, stream);
  session->set_push([stream](json::object m) { stream->push(sse_event(json::serialize(m))); });  // elicitation
  c.reply(std::move(r));
  stream->push(": opex MCP notifications\n\n");  // an SSE comment: the stream is open
}

} // namespace

void route_mcp(const route_call& c) {
  if (c.req.method == "POST")
    return mcp_post(c);
  if (c.req.method == "GET")
    return mcp_get(c);
  std::string id;  // DELETE
  if (session_of(c, id)) {
    c.mcp.close(id, c.who.fingerprint);
    c.reply(http_reply{204, "", c.request_id});
  }
}

} // namespace opex::tools
