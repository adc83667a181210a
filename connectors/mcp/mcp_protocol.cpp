// MCP messages, SSE framing and result mapping (see mcp_protocol.hpp).
#include "opex/connectors/mcp_protocol.hpp"

#include "opex/config.hpp"
#include "opex/json_util.hpp"

#include <algorithm>
#include <cmath>

namespace opex::connectors::mcp {

namespace json = boost::json;

bool is_supported_version(std::string_view version) noexcept {
  return std::find(supported_versions.begin(), supported_versions.end(), version) != supported_versions.end();
}

json::object make_request(std::int64_t id, std::string_view method, json::object params) {
  json::object m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.empty())
    m["params"] = std::move(params);
  return m;
}

json::object make_notification(std::string_view method, json::object params) {
  json::object m{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.empty())
    m["params"] = std::move(params);
  return m;
}

json::object make_result(const json::value& id, json::object result) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json::object make_error_response(const json::value& id, int code, std::string_view message) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", json::object{{"code", code}, {"message", message}}}};
}

json::object initialize_params(std::string_view version) {
  return json::object{{"protocolVersion", version},
                      {"capabilities", json::object{}},
                      {"clientInfo", json::object{{"name", "opex"}, {"title", "opex orchestration engine"},
                                                  {"version", "0.1.0"}}}};
}

incoming_message classify(const json::value& message) {
  incoming_message m;
  if (!message.is_object()) {
    m.problem = "not a JSON object";
    return m;
  }
  const auto& o = message.get_object();
  if (auto v = get_string(o, "jsonrpc"); !v || *v != "2.0") {
    m.problem = "jsonrpc is not \"2.0\"";
    return m;
  }
  const auto* id = get_member(o, "id");
  const auto* method = get_member(o, "method");
  if (method != nullptr) {
    if (!method->is_string()) {
      m.problem = "method is not a string";
      return m;
    }
    m.method = std::string(method->get_string());
    if (const auto* p = get_member(o, "params"); p && p->is_object())
      m.params = p->get_object();
    if (id != nullptr && !id->is_null()) {
      m.kind = message_kind::request;
      m.id = *id;
    } else {
      m.kind = message_kind::notification;
    }
    return m;
  }
  if (id == nullptr) {
    m.problem = "neither a method nor an id";
    return m;
  }
  m.id = *id;
  if (const auto* e = get_member(o, "error"); e && e->is_object()) {
    m.kind = message_kind::response;
    m.error = e->get_object();
    return m;
  }
  if (const auto* r = get_member(o, "result")) {
    m.kind = message_kind::response;
    m.result = *r;
    return m;
  }
  m.problem = "a response without result or error";
  return m;
}

std::int64_t response_id(const incoming_message& m) noexcept {
  if (m.id.is_int64())
    return m.id.get_int64();
  if (m.id.is_uint64())
    return static_cast<std::int64_t>(m.id.get_uint64());
  if (m.id.is_double() && std::floor(m.id.get_double()) == m.id.get_double())
    return static_cast<std::int64_t>(m.id.get_double());
  return -1;
}

// --- SSE ------------------------------------------------------------------------------------

void sse_parser::line(std::vector<sse_event>& out) {
  if (line_.empty()) {  // blank line: dispatch
    if (has_data_)
      out.push_back(std::move(current_));
    current_ = sse_event{};
    has_data_ = false;
    return;
  }
  if (line_.front() == ':')
    return;  // comment
  auto colon = line_.find(':');
  std::string_view field = std::string_view(line_).substr(0, colon);
  std::string_view value;
  if (colon != std::string::npos) {
    value = std::string_view(line_).substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_)
      current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event = value.empty() ? "message" : std::string(value);
  } else if (field == "id") {
    current_.id = std::string(value);
  }
}

std::vector<sse_event> sse_parser::feed(std::string_view chunk) {
  std::vector<sse_event> out;
  for (char c : chunk) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n')
        continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      line(out);
      line_.clear();
      continue;
    }
    line_.push_back(c);
  }
  return out;
}

std::vector<sse_event> sse_parser::finish() {
  std::vector<sse_event> out;
  if (!line_.empty()) {
    line(out);
    line_.clear();
  }
  line_.clear();
  line(out);  // the blank line the stream did not send
  return out;
}

// --- tools ----------------------------------------------------------------------------------

json::object tool_info::to_json() const {
  json::object o{{"name", name}, {"title", title}, {"description", description}, {"input_schema", input_schema}};
  if (!output_schema.empty())
    o["output_schema"] = output_schema;
  return o;
}

result<std::vector<tool_info>> parse_tools(const json::value& list_result, std::string& next_cursor) {
  next_cursor.clear();
  const json::array* tools = nullptr;
  if (list_result.is_object())
    if (const auto* t = get_member(list_result.get_object(), "tools"); t && t->is_array())
      tools = &t->get_array();
  if (tools == nullptr)
    return make_error(error_code::protocol_error, "tools/list answered without a tools list");
  std::vector<tool_info> out;
  out.reserve(tools->size());
  for (const auto& t : *tools) {
    if (!t.is_object() || !get_string(t.get_object(), "name"))
      return make_error(error_code::protocol_error, "tools/list answered a tool without a name");
    const auto& o = t.get_object();
    tool_info info;
    info.name = std::string(*get_string(o, "name"));
    info.title = std::string(get_string(o, "title").value_or(""));
    info.description = std::string(get_string(o, "description").value_or(""));
    if (const auto* s = get_member(o, "inputSchema"); s && s->is_object())
      info.input_schema = s->get_object();
    if (const auto* s = get_member(o, "outputSchema"); s && s->is_object())
      info.output_schema = s->get_object();
    out.push_back(std::move(info));
  }
  if (auto c = get_string(list_result.get_object(), "nextCursor"))
    next_cursor = std::string(*c);
  return out;
}

call_outcome map_tool_result(const json::value& result, std::string_view server, std::string_view tool) {
  call_outcome out;
  const json::array* content = nullptr;
  if (result.is_object())
    if (const auto* c = get_member(result.get_object(), "content"); c && c->is_array())
      content = &c->get_array();
  if (content == nullptr) {
    out.error = make_error(error_code::protocol_error, "tools/call answered without a content list",
                           json::object{{"server", server}, {"tool", tool}});
    return out;
  }
  const auto& r = result.get_object();
  std::string text;
  for (const auto& item : *content)
    if (item.is_object())
      if (auto type = get_string(item.get_object(), "type"); type && *type == "text")
        if (auto t = get_string(item.get_object(), "text")) {
          if (!text.empty())
            text.push_back('\n');
          text.append(*t);
        }
  const auto* is_error = get_member(r, "isError");
  if (is_error && is_error->is_bool() && is_error->get_bool()) {
    out.error = make_error(error_code::tool_execution_failed,
                           "MCP tool " + std::string(tool) + " reported an error: " + text.substr(0, 500),
                           json::object{{"server", server}, {"tool", tool}, {"text", text}, {"content", *content}});
    return out;
  }
  json::object data{{"text", std::move(text)}, {"content", *content}};
  if (const auto* s = get_member(r, "structuredContent"); s && !s->is_null())
    data["structured"] = *s;
  out.ok = true;
  out.data = std::move(data);
  return out;
}

error_info map_rpc_error(const json::object& error, std::string_view server, std::string_view tool) {
  std::int64_t code = 0;
  if (const auto* c = get_member(error, "code"); c && c->is_number())
    code = c->to_number<std::int64_t>();
  std::string message(get_string(error, "message").value_or("(no message)"));
  json::object details{{"server", server}, {"tool", tool}, {"jsonrpc_code", code}};
  if (const auto* d = get_member(error, "data"))
    details["data"] = *d;
  error_code mapped = code == -32602   ? error_code::validation_error
                      : code == -32601 ? error_code::connector_unavailable
                                       : error_code::tool_execution_failed;
  return make_error(mapped, "MCP server " + std::string(server) + ": " + message, std::move(details));
}

std::chrono::milliseconds restart_delay(const restart_settings& s, int restart) noexcept {
  double d = s.initial_interval_ms * std::pow(std::max(1.0, s.backoff_coefficient), std::max(0, restart - 1));
  d = std::min(d, s.maximum_interval_ms);
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, d)));
}

} // namespace opex::connectors::mcp
