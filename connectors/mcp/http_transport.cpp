// The Streamable HTTP transport (MCP 2025-06-18 basic/transports): every message is a POST to
// the endpoint; a request is answered by a JSON body or by an SSE stream that carries the
// response (and any notifications or requests sent before it); notifications get 202.
#include "mcp_transport.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/connectors/mcp_protocol.hpp"
#include "opex/json_util.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/serialize.hpp>

#include <map>

namespace opex::connectors::mcp {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

class http_transport final : public transport {
public:
  http_transport(std::shared_ptr<io_gate> gate, const mcp_server_settings& settings, std::shared_ptr<http_client> http)
    : gate_(std::move(gate)), settings_(settings), http_(std::move(http)) {}

  ~http_transport() override { close(); }

  error_info start(transport_handlers handlers) override {
    handlers_ = std::move(handlers);
    if (!parse_url(settings_.url))
      return make_error(error_code::connector_unavailable, "MCP server " + settings_.name + ": invalid url",
                        json::object{{"server", settings_.name}, {"stage", "connect"}, {"url", settings_.url}});
    headers_.clear();
    for (const auto& [name, value] : settings_.headers) {
      auto resolved = resolve_reference(value);
      if (!resolved)
        return make_error(error_code::connector_unavailable,
                          "MCP server " + settings_.name + ": header " + name + ": " + resolved.error().message,
                          json::object{{"server", settings_.name}, {"stage", "connect"}, {"header", name}});
      headers_.emplace_back(name, std::move(resolved).value());
    }
    session_id_.clear();
    closed_ = false;
    return {};
  }

  void set_protocol_version(std::string version) override { version_ = std::move(version); }

  void send(const json::object& message, std::optional<std::int64_t> id, std::chrono::milliseconds timeout) override {
    if (closed_)
      return;
    http_request req;
    req.method = "POST";
    req.url = settings_.url;
    req.timeout = timeout + std::chrono::milliseconds(1000);  // the session's own timer fires first
    req.body = json::serialize(message);
    req.headers = headers_;
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Accept", "application/json, text/event-stream");
    if (!session_id_.empty())
      req.headers.emplace_back("Mcp-Session-Id", session_id_);
    if (!version_.empty())
      req.headers.emplace_back("MCP-Protocol-Version", version_);
    bool had_session = !session_id_.empty();
    std::weak_ptr<http_transport> weak = std::static_pointer_cast<http_transport>(shared_from_this());
    auto cancel = http_->send(std::move(req), [weak, gate = gate_, id, had_session](error_info err, http_response res) {
      gate->post([weak, id, had_session, err = std::move(err), res = std::move(res)]() mutable {
        if (auto self = weak.lock())
          self->answered(id, had_session, std::move(err), std::move(res));
      });
    });
    if (id)
      in_flight_[*id] = std::move(cancel);
  }

  void abandon(std::int64_t id) override {
    if (auto it = in_flight_.find(id); it != in_flight_.end()) {
      auto cancel = std::move(it->second);
      in_flight_.erase(it);
      if (cancel)
        cancel();
    }
  }

  void close() override {
    if (closed_)
      return;
    closed_ = true;
    for (auto& [id, cancel] : in_flight_)
      if (cancel)
        cancel();
    in_flight_.clear();
    if (!session_id_.empty()) {  // ends the session on the server; nobody waits for the answer
      http_request req;
      req.method = "DELETE";
      req.url = settings_.url;
      req.timeout = std::chrono::milliseconds(2000);
      req.headers = headers_;
      req.headers.emplace_back("Mcp-Session-Id", session_id_);
      if (!version_.empty())
        req.headers.emplace_back("MCP-Protocol-Version", version_);
      http_->send(std::move(req), [](error_info, http_response) {});
      session_id_.clear();
    }
  }

private:
  std::shared_ptr<io_gate> gate_;
  const mcp_server_settings settings_;
  std::shared_ptr<http_client> http_;
  transport_handlers handlers_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string session_id_;
  std::string version_;
  std::map<std::int64_t, std::function<void()>> in_flight_;
  bool closed_ = false;

  void failed(std::optional<std::int64_t> id, error_info err) {
    if (id && handlers_.on_send_failed)
      handlers_.on_send_failed(*id, std::move(err));
    else if (handlers_.on_log)
      handlers_.on_log("notification not delivered: " + err.message);
  }

  void deliver(std::string_view text) {
    auto parsed = parse_json(text);
    if (!parsed) {
      if (handlers_.on_log)
        handlers_.on_log("a message that is not JSON (ignored): " + std::string(text.substr(0, 500)));
      return;
    }
    if (parsed->is_array()) {  // a JSON-RPC batch (2025-03-26)
      for (auto& m : parsed->get_array())
        if (handlers_.on_message)
          handlers_.on_message(std::move(m));
      return;
    }
    if (handlers_.on_message)
      handlers_.on_message(std::move(parsed).value());
  }

  void answered(std::optional<std::int64_t> id, bool had_session, error_info err, http_response res) {
    if (id) {
      auto it = in_flight_.find(*id);
      if (it == in_flight_.end())
        return;  // abandoned
      in_flight_.erase(it);
    }
    if (closed_)
      return;
    if (err) {
      err.details["server"] = settings_.name;
      failed(id, std::move(err));
      return;
    }
    if (auto sid = res.header("mcp-session-id"); sid && !sid->empty())
      session_id_ = *sid;
    if (had_session && (res.status == 404 || (res.status == 400 && res.body.find("ession") != std::string::npos))) {
      // The server forgot the session (restarted, expired): a new initialize is needed.
      session_id_.clear();
      failed(id, make_error(error_code::connection_failed, "MCP server " + settings_.name + " ended the session",
                            json::object{{"server", settings_.name}, {"status", res.status},
                                         {"session_expired", true}}));
      return;
    }
    if (res.status == 202 || res.status == 204)
      return;  // a notification or response accepted
    if (res.status < 200 || res.status > 299) {
      json::object details{{"server", settings_.name}, {"status", res.status}, {"body", res.body.substr(0, 2048)}};
      if (auto ra = res.header("retry-after"))
        details["retry_after"] = *ra;
      failed(id, make_error(error_code::http_error,
                            "MCP server " + settings_.name + " answered HTTP " + std::to_string(res.status),
                            std::move(details)));
      return;
    }
    auto type = res.header("content-type").value_or("");
    if (type.find("text/event-stream") != std::string::npos) {
      sse_parser parser;
      auto events = parser.feed(res.body);
      auto tail = parser.finish();
      events.insert(events.end(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
      for (const auto& e : events)
        if (e.event == "message" && !e.data.empty())
          deliver(e.data);
    } else if (res.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      deliver(res.body);
    }
    // A request whose answer carried no response for it (ignored by the session when the
    // response did arrive).
    if (id && !closed_)
      failed(id, make_error(error_code::protocol_error,
                            "MCP server " + settings_.name + " answered without a JSON-RPC response",
                            json::object{{"server", settings_.name}, {"status", res.status},
                                         {"content_type", type}}));
  }
};

} // namespace

std::shared_ptr<transport> make_http_transport(std::shared_ptr<io_gate> gate, const mcp_server_settings& settings,
                                               std::shared_ptr<http_client> http) {
  return std::make_shared<http_transport>(std::move(gate), settings, std::move(http));
}

} // namespace opex::connectors::mcp
