// The spans of the engine's events, named and attributed by the OpenTelemetry semantic
// conventions for GenAI (invoke_agent, execute_tool, chat; gen_ai.*) and MCP (mcp.method.name)
// (opex/observers/otlp_trace_exporter.hpp; docs/operations.md, "Traces").
#include "opex/observers/otlp_trace_exporter.hpp"

#include "opex/error.hpp"

namespace opex::observers {

namespace {

using attributes = std::vector<std::pair<std::string, attribute_value>>;

span_record span_of(const trace_context& t, std::string name, span_kind kind, std::int64_t start, std::int64_t end) {
  span_record s;
  s.trace_id = t.trace_id;
  s.span_id = t.span_id;
  s.parent_span_id = t.parent_span_id;
  s.name = std::move(name);
  s.kind = kind;
  s.start_unix_ns = start;
  s.end_unix_ns = std::max(start, end);
  return s;
}

void fail(span_record& s, const std::string& code, const std::string& message) {
  if (code.empty())
    return;
  s.error = true;
  s.status_message = message.empty() ? code : message;
  s.attributes.emplace_back("error.type", code);
}

/// W3C trace flags: bit 0 is "sampled"; a caller that did not sample gets no spans from us.
bool sampled(const trace_context& t) {
  return t.flags.size() == 2 && (std::stoi(t.flags, nullptr, 16) & 1) == 1;
}

bool failed(request_status s) {
  return s == request_status::failed || s == request_status::rejected || s == request_status::timed_out
         || s == request_status::cancelled;
}

/// The connector call's span name and attributes, by target type.
std::pair<std::string, attributes> connector_call(const attempt_ended& e) {
  const std::string& name = e.target_name.empty() ? e.tool : e.target_name;
  if (e.target_type == "mcp_tool")
    return {"tools/call " + name,
            {{"mcp.method.name", std::string("tools/call")},
             {"gen_ai.operation.name", std::string("execute_tool")},
             {"gen_ai.tool.name", name}}};
  if (e.target_type == "webhook")
    return {"POST", {{"http.request.method", std::string("POST")}}};
  if (e.target_type == "llm")
    return {"chat " + name,
            {{"gen_ai.operation.name", std::string("chat")},
             {"gen_ai.usage.input_tokens", e.input_tokens},
             {"gen_ai.usage.output_tokens", e.output_tokens}}};
  if (e.target_type == "n8n_api")
    return {"n8n " + name, {{"opex.n8n.operation", name}}};
  return {e.target_type + " " + name, {}};
}

} // namespace

void otlp_trace_exporter::on_request_start(const request_started& e) {
  if (!e.trace.valid() || !sampled(e.trace))
    return;
  std::lock_guard lock(mutex_);
  if (open_.size() >= options_.max_queue) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  open_[e.request_id] = open_request{e.trace, now_ns(), e.tenant, e.source};
}

void otlp_trace_exporter::on_request_end(const request_result& r) {
  open_request o;
  {
    std::lock_guard lock(mutex_);
    auto it = open_.find(r.request_id);
    if (it == open_.end())
      return;
    o = std::move(it->second);
    open_.erase(it);
  }
  auto s = span_of(o.trace, "invoke_agent opex", span_kind::server, o.start_unix_ns, now_ns());
  s.attributes = {{"gen_ai.operation.name", std::string("invoke_agent")},
                  {"gen_ai.agent.name", std::string("opex")},
                  {"opex.request_id", r.request_id},
                  {"opex.tenant", o.tenant},
                  {"opex.source", o.source},
                  {"opex.status", std::string(request_status_name(r.status))}};
  if (failed(r.status))
    fail(s, r.error ? std::string(error_code_name(r.error.code)) : std::string(request_status_name(r.status)),
         r.error.message);
  push(std::move(s));
}

void otlp_trace_exporter::on_agent_end(const agent_ended& e) {
  if (!sampled(e.span))
    return;
  auto end = now_ns();
  auto s = span_of(e.span, "invoke_agent " + e.agent, span_kind::internal, start_of(end, e.duration_ms), end);
  s.attributes = {{"gen_ai.operation.name", std::string("invoke_agent")},
                  {"gen_ai.agent.name", e.agent},
                  {"opex.request_id", e.request_id},
                  {"opex.outcome", e.outcome}};
  fail(s, e.error_code, e.outcome);
  push(std::move(s));
}

void otlp_trace_exporter::on_attempt_end(const attempt_ended& e) {
  if (!e.span.valid() || !sampled(e.span))
    return;
  auto end = now_ns();
  auto start = start_of(end, e.duration_ms);
  auto attempt = span_of(e.span, "execute_tool " + e.tool, span_kind::internal, start, end);
  attempt.attributes = {{"gen_ai.operation.name", std::string("execute_tool")},
                        {"gen_ai.tool.name", e.tool},
                        {"gen_ai.tool.call.id", e.request_id + ":" + std::to_string(e.step)},
                        {"opex.request_id", e.request_id},
                        {"opex.step", static_cast<std::int64_t>(e.step)},
                        {"opex.attempt", static_cast<std::int64_t>(e.attempt)},
                        {"opex.cost_usd", e.cost_usd}};
  if (options_.capture_content) {
    if (!e.arguments.empty())
      attempt.attributes.emplace_back("gen_ai.tool.call.arguments", e.arguments);
    if (!e.result.empty())
      attempt.attributes.emplace_back("gen_ai.tool.call.result", e.result);
  }
  fail(attempt, e.error_code, e.message);
  if (!e.call_span_id.empty()) {
    trace_context call = e.span;
    call.parent_span_id = e.span.span_id;
    call.span_id = e.call_span_id;
    auto [name, attrs] = connector_call(e);
    auto kind = e.target_type == "builtin" ? span_kind::internal : span_kind::client;  // builtins run in process
    auto c = span_of(call, std::move(name), kind, start, end);
    c.attributes = std::move(attrs);
    c.attributes.emplace_back("opex.target.type", e.target_type);
    fail(c, e.error_code, e.message);
    push(std::move(c));
  }
  push(std::move(attempt));
}

void otlp_trace_exporter::on_model_call(const model_call_ended& e) {
  if (!e.span.valid() || !sampled(e.span))
    return;
  auto end = now_ns();
  auto s = span_of(e.span.child(), "chat " + e.model, span_kind::client, start_of(end, e.duration_ms), end);
  s.attributes = {{"gen_ai.operation.name", std::string("chat")},
                  {"gen_ai.request.model", e.model},
                  {"gen_ai.agent.name", e.agent},
                  {"gen_ai.usage.input_tokens", e.input_tokens},
                  {"gen_ai.usage.output_tokens", e.output_tokens},
                  {"opex.llm.endpoint", e.endpoint},
                  {"opex.cost_usd", e.cost_usd}};
  fail(s, e.error_code, {});
  push(std::move(s));
}

} // namespace opex::observers
