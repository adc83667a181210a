// opexctl mcp serve --server URL: a stdio MCP server that relays to opexd's /mcp (Streamable
// HTTP), so a desktop client that only speaks stdio gets the daemon's engine, keys and
// approvals (docs/mcp-gateway.md, "Over stdio"). Each line is POSTed as it comes (calls run
// concurrently, a cancellation reaches a running call); the session id and protocol version
// the daemon gave are sent back on each POST. A stream's events are written when its answer
// ends. A refusal of the HTTP request itself becomes a JSON-RPC error carrying the standard
// error JSON.
#include "mcp_stdio.hpp"
#include "opexctl.hpp"

#include "opex/connectors/http_client.hpp"
#include "opex/connectors/mcp_protocol.hpp"
#include "opex/json_util.hpp"

#include <boost/json/parse.hpp>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

struct bridge_state {
  std::mutex m;
  std::string session_id;
  std::string version;
};

/// Writes what opexd answered to one POST: nothing (202), the JSON response, each event of a
/// stream, or an error response for a refused POST of a request.
void relay_answer(const json::value& sent, error_info err, const connectors::http_response& res, line_writer& out,
                  bridge_state& st) {
  const auto* msg = sent.if_object();
  const json::value id = msg && msg->contains("id") ? msg->at("id") : json::value(nullptr);
  const bool request = msg && msg->contains("id") && msg->contains("method");
  if (!err && res.status == 200) {
    if (auto sid = res.header("mcp-session-id")) {
      std::lock_guard lock(st.m);
      st.session_id = *sid;
    }
    std::vector<std::string> bodies;
    if (res.header("content-type").value_or("").starts_with("text/event-stream")) {
      connectors::mcp::sse_parser parser;
      for (auto& e : parser.feed(res.body))
        bodies.push_back(std::move(e.data));
      for (auto& e : parser.finish())
        bodies.push_back(std::move(e.data));
    } else {
      bodies.push_back(res.body);
    }
    for (const auto& b : bodies) {
      boost::system::error_code ec;
      auto v = json::parse(b, ec);
      if (ec || !v.is_object())
        continue;
      if (auto* result = v.get_object().if_contains("result"); result && result->is_object())
        if (auto pv = get_string(result->get_object(), "protocolVersion")) {
          std::lock_guard lock(st.m);
          st.version = std::string(*pv);
        }
      out.write(v.get_object());
    }
    return;
  }
  if (!err && res.status == 202)
    return;
  if (!request)
    return;
  json::object data;
  if (!err) {
    boost::system::error_code ec;
    auto body = json::parse(res.body, ec);
    if (!ec && body.is_object())
      data = body.get_object();
    else
      data = json::object{{"status", res.status}};
  } else {
    data = to_error_json(err, "", "");
  }
  auto text = std::string(get_string(data, "error").value_or("opexd refused the request"));
  out.write(json::object{{"jsonrpc", "2.0"}, {"id", id},
                         {"error", json::object{{"code", -32000}, {"message", text}, {"data", std::move(data)}}}});
}

void relay_line(const std::string& line, const common_options& o, connectors::http_client& client, line_writer& out,
                bridge_state& st) {
  auto parsed = parse_line(line, out);
  if (!parsed)
    return;
  auto& message = *parsed;
  connectors::http_request req;
  req.method = "POST";
  auto base = o.server;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  req.url = base + "/mcp";
  req.headers = {{"X-API-Key", o.api_key}, {"Accept", "application/json, text/event-stream"},
                 {"Content-Type", "application/json"}};
  {
    std::lock_guard lock(st.m);
    if (!st.session_id.empty())
      req.headers.emplace_back("Mcp-Session-Id", st.session_id);
    if (!st.version.empty())
      req.headers.emplace_back("MCP-Protocol-Version", st.version);
  }
  req.body = line;
  req.timeout = std::chrono::milliseconds(o.timeout_ms);
  out.opened();
  client.send(std::move(req), [sent = std::move(message), &out, &st](error_info err, connectors::http_response res) {
    relay_answer(sent, std::move(err), res, out, st);
    out.ended();
  });
}

} // namespace

int serve_remote(int drain_ms, const common_options& o) {
  if (o.api_key.empty())
    return print_error(make_error(error_code::unauthorized, "--server needs an API key: --api-key KEY or OPEX_API_KEY",
                                  json::object{{"option", "--api-key"}}), o);
  if (!connectors::parse_url(o.server))
    return print_error(make_error(error_code::validation_error, "--server: not an http:// or https:// URL: " + o.server,
                                  json::object{{"option", "--server"}, {"value", o.server}}), o);
  signal_pipe signals;
  connectors::http_client_options options;
  options.ca_file = o.ca_file;
  connectors::http_client client(options);
  line_writer out;
  bridge_state st;
  stdio_loop(
    signals, [&](const std::string& line) { relay_line(line, o, client, out, st); }, [] {});
  out.drain(std::chrono::milliseconds(drain_ms));
  return exit_succeeded;
}

} // namespace opexctl
