// opex's own MCP tools (opex_ask, opex_run_plan, opex_get_request) and the SystemJournal tools
// of the spec (log_entry, query_logs, get_metrics): their tools/list entries and the read
// tools' calls (docs/mcp-gateway.md, "opex's own tools").
#include "mcp_gateway_tools.hpp"

#include "opex/engine.hpp"
#include "opex/json_util.hpp"
#include "opex/clock.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <optional>

namespace opex::gateway {

namespace json = boost::json;

namespace {

constexpr std::string_view query_logs_input = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "since": {"type": "string", "description": "ISO 8601 UTC date-time: entries at or after it"},
    "until": {"type": "string", "description": "ISO 8601 UTC date-time: entries before it"},
    "agent": {"type": "string", "enum": ["kimmy", "prolex", "opex", "proxy", "system"]},
    "intent": {"type": "string"},
    "tool": {"type": "string", "description": "A catalogue tool id (tool_used)"},
    "status": {"type": "string", "enum": ["success", "failure", "partial", "pending"]},
    "request_id": {"type": "string"},
    "source": {"type": "string", "description": "Where requests came from: api, mcp, cli, alerts, ..."},
    "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "cursor": {"type": "string", "description": "next_cursor of the previous page"}
  }})json";

constexpr std::string_view query_logs_output = R"json({
  "type": "object", "required": ["entries"],
  "properties": {"entries": {"type": "array", "items": {"type": "object"}},
                 "next_cursor": {"type": ["string", "null"]}}})json";

constexpr std::string_view get_metrics_input = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "since": {"type": "string", "description": "ISO 8601 date-time or YYYY-MM-DD (default: 7 days before until)"},
    "until": {"type": "string", "description": "ISO 8601 date-time or YYYY-MM-DD (default: now)"},
    "tool": {"type": "string"},
    "group_by": {"type": "string", "description": "Comma-separated: tool, tenant, intent (default tool)"}
  }})json";

constexpr std::string_view ask_input = R"json({
  "type": "object", "required": ["text"], "additionalProperties": false,
  "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 20000,
                          "description": "The request in words, French or English"},
                 "user_id": {"type": "string"}}})json";

constexpr std::string_view get_request_input = R"json({
  "type": "object", "required": ["request_id"], "additionalProperties": false,
  "properties": {"request_id": {"type": "string", "description": "The request_id an earlier call answered"}}})json";

json::object parsed(std::string_view text) { return json::parse(text).as_object(); }

json::object entry(std::string name, std::string title, std::string description, json::object input,
                   bool read_only, std::optional<json::object> output = std::nullopt) {
  json::object e{{"name", name}, {"title", title}, {"description", std::move(description)},
                 {"inputSchema", std::move(input)},
                 {"annotations", json::object{{"title", title}, {"readOnlyHint", read_only},
                                              {"destructiveHint", false}, {"idempotentHint", read_only},
                                              {"openWorldHint", !read_only}}}};
  if (output)
    e["outputSchema"] = std::move(*output);
  return e;
}

json::object schema_or_object(const schema_registry& schemas, std::string_view id) {
  return client_schema(schemas.document(schemas.resolve(id)));
}

constexpr std::array<std::string_view, 6> own_names{"opex_ask", "opex_run_plan", "opex_get_request",
                                                    "log_entry", "query_logs", "get_metrics"};

} // namespace

bool is_own_tool(std::string_view name) {
  return std::find(own_names.begin(), own_names.end(), name) != own_names.end();
}

json::object pending_schema() {
  return parsed(R"json({"type": "object", "required": ["status", "request_id"],
    "properties": {"status": {"const": "awaiting_approval"}, "request_id": {"type": "string"},
                   "approvals": {"type": "array"}, "how_to_decide": {"type": "object"}}})json");
}

json::array own_tools(const schema_registry& schemas) {
  json::array out;
  out.push_back(entry("opex_ask", "Ask opex",
                      "A request in words (French or English) through Kimmy and Prolex: opex classifies it, plans "
                      "the tools and runs them under the same guard, approvals and journal as any call.",
                      parsed(ask_input), false));
  out.push_back(entry("opex_run_plan", "Run a plan",
                      "A ProlexOutput (answer, tool_call, multi_tool_plan with depends_on and {{ step_N.result }} "
                      "templates, or clarification) checked by the Proxy Master and run as a DAG.",
                      schema_or_object(schemas, schema_ids::prolex_output), false));
  out.push_back(entry("opex_get_request", "Read a request",
                      "The state of a request this tenant sent: its status, each step's status, data and error "
                      "(after an approval, the result of the plan that waited).",
                      parsed(get_request_input), true));
  out.push_back(entry("log_entry", "Write to the SystemJournal",
                      "Writes one line into the SystemJournal through the LOG_APPEND tool (guarded and journaled).",
                      schema_or_object(schemas, "schemas/payloads/log_append.schema.json"), false));
  out.push_back(entry("query_logs", "Read the SystemJournal",
                      "This tenant's SystemJournal entries, newest page first and oldest first within a page, "
                      "filtered by date, agent, intent, tool, status, request id or source; paged by next_cursor.",
                      parsed(query_logs_input), true, parsed(query_logs_output)));
  out.push_back(entry("get_metrics", "Workflow metrics",
                      "Per tool (workflow): executions, success, failure and skip rates, latency mean and p50, "
                      "p95, p99 (ms), cost (USD) and tokens over a window, with counts and costs per day.",
                      parsed(get_metrics_input), true));
  return out;
}

namespace {

std::string text_arg(const json::object& args, std::string_view key) {
  return std::string(get_string(args, key).value_or(""));
}

void query_logs(call_context c) {
  journal_query q;
  q.tenant = c.who.scope == "admin" ? std::string{} : c.who.tenant;
  q.since = text_arg(c.arguments, "since");
  q.until = text_arg(c.arguments, "until");
  q.agent = text_arg(c.arguments, "agent");
  q.intent = text_arg(c.arguments, "intent");
  q.tool = text_arg(c.arguments, "tool");
  q.status = text_arg(c.arguments, "status");
  q.request_id = text_arg(c.arguments, "request_id");
  q.source = text_arg(c.arguments, "source");
  q.limit = 50;
  if (const auto* v = c.arguments.if_contains("limit"); v && v->is_int64())
    q.limit = static_cast<std::size_t>(v->as_int64());
  for (const auto* t : {&q.since, &q.until})
    if (!t->empty() && !parse_iso8601(*t))
      return c.done(error_result(make_error(error_code::validation_error, "query_logs: not an ISO 8601 date-time: " + *t,
                                            json::object{{"value", *t}}),
                                 "", format_timestamp(c.eng.time().now().utc)));
  if (auto cursor = text_arg(c.arguments, "cursor"); !cursor.empty()) {
    try {
      q.before_id = std::stoll(cursor);
    } catch (const std::exception&) {
      return c.done(error_result(make_error(error_code::validation_error, "query_logs: the cursor is not one next_cursor gave",
                                            json::object{{"cursor", cursor}}),
                                 "", format_timestamp(c.eng.time().now().utc)));
    }
  }
  const auto limit = q.limit;
  c.eng.journal(q, [done = c.done, limit, time = &c.eng.time()](result<json::array> rows) {
    if (!rows)
      return done(error_result(rows.error(), "", format_timestamp(time->now().utc)));
    json::value next = nullptr;
    if (rows->size() == limit && !rows->empty())
      next = std::to_string(rows->front().as_object().at("id").to_number<std::int64_t>());
    done(data_result(json::object{{"entries", std::move(*rows)}, {"next_cursor", std::move(next)}}));
  });
}

void get_metrics(call_context c) {
  std::map<std::string, std::string, std::less<>> params;
  for (auto key : {"since", "until", "tool", "group_by"})
    if (auto v = text_arg(c.arguments, key); !v.empty())
      params[key] = v;
  params["tenant"] = c.who.scope == "admin" ? std::string{} : c.who.tenant;
  auto q = make_workflow_metrics_query(params, c.eng.time().now().utc);
  if (!q)
    return c.done(error_result(q.error(), "", format_timestamp(c.eng.time().now().utc)));
  c.eng.workflow_metrics(*q, [done = c.done, time = &c.eng.time()](result<json::object> m) {
    done(m ? data_result(std::move(*m)) : error_result(m.error(), "", format_timestamp(time->now().utc)));
  });
}

void get_request(call_context c) {
  auto id = text_arg(c.arguments, "request_id");
  const std::string tenant = c.who.scope == "admin" ? std::string{} : c.who.tenant;
  c.eng.request_state(id, tenant, [done = c.done, id, time = &c.eng.time()](result<json::object> state) {
    if (!state)
      return done(error_result(state.error(), id, format_timestamp(time->now().utc)));
    done(data_result(std::move(*state)));
  });
}

} // namespace

void call_own_tool(call_context c) {
  if (c.tool == "query_logs")
    return query_logs(std::move(c));
  if (c.tool == "get_metrics")
    return get_metrics(std::move(c));
  if (c.tool == "opex_get_request")
    return get_request(std::move(c));
  call_catalogue_tool(std::move(c));  // opex_ask, opex_run_plan, log_entry: the guarded pipeline
}

} // namespace opex::gateway
