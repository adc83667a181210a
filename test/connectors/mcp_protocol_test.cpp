// MCP as data: message classification, SSE framing, result and error mapping, restart delays.
#include "opex/config.hpp"
#include "opex/connectors/mcp_protocol.hpp"
#include "opex/json_util.hpp"

#include <catch2/catch.hpp>

namespace json = boost::json;
using namespace opex;
namespace mcp = opex::connectors::mcp;

namespace {

json::value js(std::string_view text) {
  return parse_json(text).value();
}

} // namespace

TEST_CASE("mcp classify tells responses, requests and notifications apart", "[mcp]") {
  auto r = mcp::classify(js(R"({"jsonrpc":"2.0","id":7,"result":{"tools":[]}})"));
  CHECK(r.kind == mcp::message_kind::response);
  CHECK(mcp::response_id(r) == 7);
  CHECK(r.result.is_object());

  auto e = mcp::classify(js(R"({"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"bad"}})"));
  CHECK(e.kind == mcp::message_kind::response);
  CHECK(e.error.at("code").as_int64() == -32602);

  auto q = mcp::classify(js(R"({"jsonrpc":"2.0","id":"s1","method":"ping"})"));
  CHECK(q.kind == mcp::message_kind::request);
  CHECK(q.method == "ping");
  CHECK(mcp::response_id(q) == -1);  // string ids are the server's own

  auto n = mcp::classify(js(R"({"method":"notifications/tools/list_changed","jsonrpc":"2.0"})"));
  CHECK(n.kind == mcp::message_kind::notification);

  CHECK(mcp::classify(js(R"({"id":1,"result":{}})")).kind == mcp::message_kind::invalid);
  CHECK(mcp::classify(js(R"({"jsonrpc":"2.0"})")).kind == mcp::message_kind::invalid);
  CHECK(mcp::classify(js(R"([1,2])")).kind == mcp::message_kind::invalid);
  CHECK(mcp::classify(js(R"({"jsonrpc":"2.0","id":3})")).problem == "a response without result or error");
}

TEST_CASE("mcp requests carry jsonrpc 2.0, an integer id and params only when given", "[mcp]") {
  auto m = mcp::make_request(5, "tools/list");
  CHECK(m.at("jsonrpc") == "2.0");
  CHECK(m.at("id") == 5);
  CHECK_FALSE(m.contains("params"));
  auto init = mcp::make_request(1, "initialize", mcp::initialize_params("2025-06-18"));
  CHECK(init.at("params").at("protocolVersion") == "2025-06-18");
  CHECK(init.at("params").at("capabilities").as_object().empty());
  CHECK(init.at("params").at("clientInfo").at("name") == "opex");
  auto note = mcp::make_notification("notifications/cancelled", json::object{{"requestId", 5}});
  CHECK_FALSE(note.contains("id"));
}

TEST_CASE("mcp protocol versions opex speaks", "[mcp]") {
  CHECK(mcp::is_supported_version("2025-06-18"));
  CHECK(mcp::is_supported_version("2025-03-26"));
  CHECK(mcp::is_supported_version("2024-11-05"));
  CHECK_FALSE(mcp::is_supported_version("2025-11-25"));
  CHECK_FALSE(mcp::is_supported_version(""));
}

TEST_CASE("sse parser joins data lines and dispatches on blank lines", "[mcp][sse]") {
  mcp::sse_parser p;
  auto events = p.feed("event: message\nid: 1\ndata: {\"a\":\ndata: 1}\n\n: comment\n\ndata: x\n\n");
  REQUIRE(events.size() == 2);
  CHECK(events[0].event == "message");
  CHECK(events[0].id == "1");
  CHECK(events[0].data == "{\"a\":\n1}");
  CHECK(events[1].data == "x");
}

TEST_CASE("sse parser handles CRLF and events split across chunks", "[mcp][sse]") {
  mcp::sse_parser p;
  CHECK(p.feed("data: hel").empty());
  CHECK(p.feed("lo\r").empty());
  auto events = p.feed("\n\r\ndata:no-space\r\n\r\n");
  REQUIRE(events.size() == 2);
  CHECK(events[0].data == "hello");
  CHECK(events[1].data == "no-space");
}

TEST_CASE("sse parser finishes an event the stream did not terminate", "[mcp][sse]") {
  mcp::sse_parser p;
  CHECK(p.feed("event: message\ndata: {\"jsonrpc\":\"2.0\"}").empty());
  auto last = p.finish();
  REQUIRE(last.size() == 1);
  CHECK(last[0].data == "{\"jsonrpc\":\"2.0\"}");
  mcp::sse_parser q;
  CHECK(q.feed("event: endpoint\n\n").empty());  // no data: no event
}

TEST_CASE("mcp tool results map text, content and structured content", "[mcp]") {
  auto ok = mcp::map_tool_result(
    js(R"({"content":[{"type":"text","text":"a"},{"type":"image","data":"AA==","mimeType":"image/png"},{"type":"text","text":"b"}],
           "structuredContent":{"temperature":21}})"),
    "everything", "weather");
  REQUIRE(ok.ok);
  CHECK(ok.data.at("text") == "a\nb");
  CHECK(ok.data.at("content").as_array().size() == 3);
  CHECK(ok.data.at("structured").at("temperature") == 21);

  auto plain = mcp::map_tool_result(js(R"({"content":[{"type":"text","text":"Echo: hi"}]})"), "s", "echo");
  REQUIRE(plain.ok);
  CHECK_FALSE(plain.data.as_object().contains("structured"));
}

TEST_CASE("mcp isError results are tool failures, malformed ones protocol errors", "[mcp]") {
  auto failed = mcp::map_tool_result(js(R"({"content":[{"type":"text","text":"no such file"}],"isError":true})"),
                                     "fs", "read_text_file");
  REQUIRE_FALSE(failed.ok);
  CHECK(failed.error.code == error_code::tool_execution_failed);
  CHECK(failed.error.details.at("text") == "no such file");
  CHECK(failed.error.details.at("server") == "fs");
  CHECK_FALSE(is_transient(failed.error.code));

  auto broken = mcp::map_tool_result(js(R"({"result":"text"})"), "s", "t");
  REQUIRE_FALSE(broken.ok);
  CHECK(broken.error.code == error_code::protocol_error);
}

TEST_CASE("mcp JSON-RPC errors map to opex error codes", "[mcp]") {
  auto invalid = mcp::map_rpc_error(js(R"({"code":-32602,"message":"Invalid params","data":{"at":"a"}})").as_object(),
                                    "s", "get-sum");
  CHECK(invalid.code == error_code::validation_error);
  CHECK(invalid.details.at("jsonrpc_code") == -32602);
  CHECK(invalid.details.at("data").at("at") == "a");
  CHECK(mcp::map_rpc_error(js(R"({"code":-32601,"message":"no"})").as_object(), "s", "t").code
        == error_code::connector_unavailable);
  CHECK(mcp::map_rpc_error(js(R"({"code":-32603,"message":"boom"})").as_object(), "s", "t").code
        == error_code::tool_execution_failed);
}

TEST_CASE("mcp tools/list pages parse with their cursor", "[mcp]") {
  std::string cursor;
  auto tools = mcp::parse_tools(
    js(R"({"tools":[{"name":"echo","description":"Echoes","inputSchema":{"type":"object"}},
                    {"name":"sum","outputSchema":{"type":"object"}}],"nextCursor":"p2"})"),
    cursor);
  REQUIRE(tools);
  REQUIRE(tools->size() == 2);
  CHECK((*tools)[0].name == "echo");
  CHECK((*tools)[0].input_schema.at("type") == "object");
  CHECK_FALSE((*tools)[1].output_schema.empty());
  CHECK(cursor == "p2");
  CHECK_FALSE(mcp::parse_tools(js(R"({"tools":[{"title":"nameless"}]})"), cursor));
  CHECK_FALSE(mcp::parse_tools(js(R"({"items":[]})"), cursor));
}

TEST_CASE("mcp restart delays grow by the coefficient up to the cap", "[mcp]") {
  restart_settings s;
  s.initial_interval_ms = 500;
  s.backoff_coefficient = 2;
  s.maximum_interval_ms = 3000;
  CHECK(mcp::restart_delay(s, 1).count() == 500);
  CHECK(mcp::restart_delay(s, 2).count() == 1000);
  CHECK(mcp::restart_delay(s, 3).count() == 2000);
  CHECK(mcp::restart_delay(s, 4).count() == 3000);
  CHECK(mcp::restart_delay(s, 40).count() == 3000);
}
