// The OTLP span exporter (opex/observers/otlp_trace_exporter.hpp): the spans of one request's
// events, their names and attributes (GenAI and MCP semantic conventions), their parents, the
// bounded queue and the batches. The exporter runs without its thread here: flush() sends.
#include "opex/observers/otlp_trace_exporter.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <map>

using namespace opex;
using namespace opex::observers;
namespace json = boost::json;

namespace {

struct captured {
  std::vector<std::string> bodies;
  bool accept = true;

  otlp_sender sender() {
    return [this](std::string body, std::function<void(bool, std::string)> done) {
      bodies.push_back(std::move(body));
      done(accept, accept ? "" : "refused");
    };
  }
};

otlp_exporter_options options_at(std::int64_t* now) {
  otlp_exporter_options o;
  o.service_version = "9.9.9";
  o.now_unix_ns = [now] { return *now; };
  return o;
}

/// span name -> span object, over every body sent.
std::map<std::string, json::object> spans_by_name(const std::vector<std::string>& bodies) {
  std::map<std::string, json::object> out;
  for (const auto& b : bodies) {
    auto body = json::parse(b);
    for (const auto& rs : body.at("resourceSpans").as_array())
      for (const auto& ss : rs.at("scopeSpans").as_array())
        for (const auto& s : ss.at("spans").as_array())
          out[std::string(s.at("name").as_string())] = s.as_object();
  }
  return out;
}

/// A string's text, any other value as JSON ("null" when absent).
std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

std::string attribute(const json::object& span, std::string_view key) {
  for (const auto& a : span.at("attributes").as_array())
    if (a.at("key").as_string() == key) {
      const auto& v = a.at("value").as_object();
      return text(v.begin()->value());
    }
  return "null";
}

} // namespace

TEST_CASE("otlp_trace_exporter: one request's events become one trace under the caller's span") {
  std::int64_t now = 1'700'000'000'000'000'000;
  captured sent;
  otlp_trace_exporter exporter(options_at(&now), sent.sender(), false);

  auto caller = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(caller);
  auto request_span = caller->child();
  exporter.on_request_start({"r1", "acme", "u", "api", "kimmy", request_span});

  agent_ended kimmy{"r1", "acme", "kimmy", request_span.child(), 2.0, "classified", ""};
  model_call_ended model;
  model.request_id = "r1";
  model.agent = "prolex";
  model.model = "claude-x";
  model.input_tokens = 120;
  model.output_tokens = 30;
  model.duration_ms = 40.0;
  auto prolex_span = request_span.child();
  model.span = prolex_span;
  now += 50'000'000;
  exporter.on_agent_end(kimmy);
  exporter.on_model_call(model);
  exporter.on_agent_end({"r1", "acme", "prolex", prolex_span, 45.0, "planned", ""});

  attempt_ended a;
  a.request_id = "r1";
  a.step = 1;
  a.tool = "FS_READ";
  a.attempt = 2;
  a.outcome = step_status::failed;
  a.duration_ms = 10.0;
  a.error_code = "CONNECTION_FAILED";
  a.message = "refused";
  a.span = request_span.child();
  a.call_span_id = a.span.child().span_id;
  a.target_type = "mcp_tool";
  a.target_name = "read_file";
  a.arguments = R"({"path":"x"})";
  exporter.on_attempt_end(a);
  request_result r;
  r.request_id = "r1";
  r.status = request_status::failed;
  r.error = make_error(error_code::connection_failed, "refused");
  exporter.on_request_end(r);
  CHECK(sent.bodies.empty());  // nothing leaves before a flush (no thread here)
  exporter.flush();

  REQUIRE(sent.bodies.size() == 1);
  auto body = json::parse(sent.bodies[0]);
  const auto& resource = body.at("resourceSpans").at(0).at("resource").as_object();
  CHECK(text(resource.at("attributes").at(0).at("key")) == "service.name");
  CHECK(text(resource.at("attributes").at(0).at("value").at("stringValue")) == "opex");
  auto spans = spans_by_name(sent.bodies);
  REQUIRE(spans.size() == 6);  // the request, kimmy, prolex, chat, the attempt, its MCP call
  for (const auto& [name, s] : spans)
    CHECK(text(s.at("traceId")) == caller->trace_id);

  const auto& root = spans.at("invoke_agent opex");
  CHECK(text(root.at("spanId")) == request_span.span_id);
  CHECK(text(root.at("parentSpanId")) == caller->span_id);
  CHECK(text(root.at("kind")) == "2");
  CHECK(text(root.at("status").at("code")) == "2");
  CHECK(attribute(root, "error.type") == "CONNECTION_FAILED");
  CHECK(attribute(root, "opex.tenant") == "acme");

  CHECK(text(spans.at("invoke_agent kimmy").at("parentSpanId")) == request_span.span_id);
  CHECK(attribute(spans.at("invoke_agent kimmy"), "gen_ai.agent.name") == "kimmy");
  CHECK(spans.at("invoke_agent kimmy").at("status").as_object().empty());  // UNSET: it did not fail

  const auto& chat = spans.at("chat claude-x");
  CHECK(text(chat.at("parentSpanId")) == prolex_span.span_id);
  CHECK(text(chat.at("kind")) == "3");
  CHECK(attribute(chat, "gen_ai.usage.input_tokens") == "120");  // OTLP JSON: int64 as a string
  CHECK(attribute(chat, "gen_ai.operation.name") == "chat");
  // The model call ended at `now`, 40 ms long.
  CHECK(text(chat.at("endTimeUnixNano")) == std::to_string(now));
  CHECK(text(chat.at("startTimeUnixNano")) == std::to_string(now - 40'000'000));

  const auto& tool = spans.at("execute_tool FS_READ");
  CHECK(text(tool.at("spanId")) == a.span.span_id);
  CHECK(text(tool.at("parentSpanId")) == request_span.span_id);
  CHECK(attribute(tool, "gen_ai.tool.name") == "FS_READ");
  CHECK(attribute(tool, "gen_ai.tool.call.id") == "r1:1");
  CHECK(attribute(tool, "opex.attempt") == "2");
  CHECK(attribute(tool, "error.type") == "CONNECTION_FAILED");
  CHECK(attribute(tool, "gen_ai.tool.call.arguments") == "null");  // capture_content is off

  const auto& call = spans.at("tools/call read_file");
  CHECK(text(call.at("spanId")) == a.call_span_id);
  CHECK(text(call.at("parentSpanId")) == a.span.span_id);
  CHECK(attribute(call, "mcp.method.name") == "tools/call");
  CHECK(text(call.at("kind")) == "3");
}

TEST_CASE("otlp_trace_exporter: arguments only when configured, a full queue drops, a refused export counts") {
  std::int64_t now = 1'000'000'000;
  captured sent;
  auto o = options_at(&now);
  o.capture_content = true;
  o.max_queue = 3;
  o.max_batch = 2;
  otlp_trace_exporter exporter(o, sent.sender(), false);
  attempt_ended a;
  a.request_id = "r2";
  a.tool = "HTTP_POST";
  a.span = trace_context::start();
  a.call_span_id = a.span.child().span_id;
  a.target_type = "webhook";
  a.arguments = R"({"token":"***"})";
  a.result = R"({"ok":true})";
  exporter.on_attempt_end(a);  // two spans: the attempt and its POST
  exporter.on_attempt_end(a);  // the queue holds 3: one of these is dropped
  CHECK(exporter.stats().dropped == 1);
  sent.accept = false;
  exporter.flush();
  CHECK(sent.bodies.size() == 2);  // batches of 2: 2 + 1
  CHECK(exporter.stats().failed == 3);
  CHECK(exporter.stats().exported == 0);
  auto spans = spans_by_name(sent.bodies);
  CHECK(attribute(spans.at("execute_tool HTTP_POST"), "gen_ai.tool.call.arguments") == R"({"token":"***"})");
  CHECK(attribute(spans.at("execute_tool HTTP_POST"), "gen_ai.tool.call.result") == R"({"ok":true})");
  CHECK(attribute(spans.at("POST"), "http.request.method") == "POST");

  // A request without a trace (no span ids), or one its caller did not sample, gives no span.
  attempt_ended untraced;
  untraced.tool = "X";
  exporter.on_attempt_end(untraced);
  attempt_ended unsampled = a;
  unsampled.span = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->child();
  exporter.on_attempt_end(unsampled);
  exporter.on_agent_end({"r2", "t", "kimmy", unsampled.span, 1.0, "classified", ""});
  sent.bodies.clear();
  exporter.flush();
  CHECK(sent.bodies.empty());
}

TEST_CASE("otlp_trace_exporter: the thread sends a full batch without waiting for the interval") {
  std::int64_t now = 1;
  std::mutex m;
  std::condition_variable cv;
  int bodies = 0;
  auto o = options_at(&now);
  o.max_batch = 1;
  o.flush_interval = std::chrono::hours(1);
  otlp_trace_exporter exporter(o, [&](std::string, std::function<void(bool, std::string)> done) {
    done(true, {});
    std::lock_guard lock(m);
    ++bodies;
    cv.notify_all();
  });
  exporter.on_agent_end({"r3", "t", "kimmy", trace_context::start(), 1.0, "classified", ""});
  std::unique_lock lock(m);
  // Bounded wait for another thread's work, not a timing assertion: the interval is an hour.
  CHECK(cv.wait_for(lock, std::chrono::seconds(10), [&] { return bodies == 1; }));
  lock.unlock();
  exporter.stop();
  CHECK(exporter.stats().exported == 1);
}
