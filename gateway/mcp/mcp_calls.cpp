// tools/call through the guarded pipeline, and opex's answers as CallToolResults
// (docs/mcp-gateway.md, "Calls").
#include "mcp_gateway_tools.hpp"

#include "opex/clock.hpp"
#include "opex/contracts.hpp"
#include "opex/engine.hpp"
#include "opex/json_util.hpp"

#include <boost/json/serialize.hpp>

namespace opex::gateway {

namespace json = boost::json;

namespace {

json::object text_content(std::string text) {
  return json::object{{"type", "text"}, {"text", std::move(text)}};
}

/// The approvals a parked request waits for, from the approval records of its tenant
/// (engine::approvals: {id, request_id, step, tool, reason, requires_code, expires_at, ...}).
json::array approvals_of(const json::value& request_id, const json::array& records) {
  json::array out;
  for (const auto& rec : records) {
    const auto& a = rec.as_object();
    if (a.if_contains("request_id") == nullptr || a.at("request_id") != request_id)
      continue;
    json::object one{{"approval_id", a.at("id")}};
    for (auto key : {"step", "tool", "kind", "reason", "requires_code", "expires_at"})
      if (const auto* v = a.if_contains(key))
        one[key] = *v;
    out.push_back(std::move(one));
  }
  return out;
}

json::object pending_answer(const json::object& result, json::array approvals) {
  const std::string first = approvals.empty() ? "ID" : std::string(get_string(approvals[0].as_object(), "approval_id").value_or("ID"));
  return json::object{
    {"status", "awaiting_approval"},
    {"request_id", result.at("request_id")},
    {"approvals", std::move(approvals)},
    {"how_to_decide",
     json::object{{"opexctl", "opexctl approve " + first + " [--code CODE]  (or: opexctl reject " + first + ")"},
                  {"opexd", "POST /v1/approvals/" + first + " {\"decision\": \"approve\", \"confirmation_code\": ...}"},
                  {"console", "/ui/ (Approvals tab)"},
                  {"then", "opex_get_request {\"request_id\": ...} gives the result once decided"},
                  {"note", "a confirmation code is given to the person out of band, never through MCP"}}}};
}

/// The standard error JSON of a result that did not succeed.
json::object failure_of(const json::object& res, const json::array& steps, const json::value& request_id) {
  if (const auto* e = res.if_contains("error"); e && e->is_object())
    return e->get_object();
  for (const auto& s : steps)
    if (const auto* e = s.as_object().if_contains("error"); e && e->is_object())
      return e->get_object();
  const auto status = std::string(get_string(res, "status").value_or("?"));  // no error recorded: a known code
  return to_error_json(make_error(error_code::tool_execution_failed, "the request ended " + status,
                                  json::object{{"status", status}}),
                       request_id.is_string() ? std::string_view(request_id.get_string()) : std::string_view{},
                       format_timestamp(std::chrono::system_clock::now()));
}

json::object tool_call_output(const std::string& tool, json::object payload) {
  return json::object{{"type", "tool_call"}, {"tool", tool}, {"payload", std::move(payload)}};
}

} // namespace

json::object error_result(const error_info& err, const std::string& request_id, const std::string& timestamp) {
  auto body = to_error_json(err, request_id, timestamp);
  return json::object{{"content", json::array{text_content(json::serialize(body))}},
                      {"structuredContent", std::move(body)},
                      {"isError", true}};
}

json::object data_result(json::object data) {
  auto text = json::serialize(data);
  return json::object{{"content", json::array{text_content(std::move(text))}},
                      {"structuredContent", std::move(data)},
                      {"isError", false}};
}

json::object call_result(const json::object& r, const schema_registry& schemas, const std::string& output_schema_id,
                         const json::array& approvals) {
  const auto status = std::string(get_string(r, "status").value_or(""));
  const json::object empty;
  const auto& res = r.contains("result") && r.at("result").is_object() ? r.at("result").get_object() : empty;
  static const json::array no_steps;
  const auto& steps = res.contains("steps") && res.at("steps").is_array() ? res.at("steps").get_array() : no_steps;
  if (status == "awaiting_approval")
    return data_result(pending_answer(r, approvals_of(r.at("request_id"), approvals)));
  if (status != "succeeded") {
    auto err = failure_of(res, steps, r.at("request_id"));
    if (!err.contains("request_id"))
      err["request_id"] = r.at("request_id");
    return json::object{{"content", json::array{text_content(json::serialize(err))}},
                        {"structuredContent", std::move(err)},
                        {"isError", true}};
  }
  if (!output_schema_id.empty() && steps.size() == 1 && steps[0].as_object().contains("data")
      && steps[0].as_object().at("data").is_object()) {
    const auto& data = steps[0].as_object().at("data").get_object();
    auto violations = schemas.validate(schemas.resolve(output_schema_id), data);
    if (!violations.empty()) {
      json::array list;
      for (auto& v : violations)
        list.emplace_back(v);
      return error_result(make_error(error_code::validation_error,
                                     "the tool's result does not match its response schema",
                                     json::object{{"schema", output_schema_id}, {"errors", std::move(list)},
                                                  {"rule", "RESULT_INVALID"}}),
                          std::string(get_string(r, "request_id").value_or("")),
                          format_timestamp(std::chrono::system_clock::now()));
    }
    return data_result(data);
  }
  json::object summary{{"request_id", r.at("request_id")}, {"status", status}};
  if (const auto* content = res.if_contains("content"))
    summary["content"] = *content;
  if (const auto* questions = res.if_contains("questions"))
    summary["questions"] = *questions;
  summary["steps"] = steps;
  return data_result(std::move(summary));
}

namespace {

/// Answers a finished request's CallToolResult; a parked one first reads its approvals.
std::function<void(request_result)> answer_with(const call_context& c, std::shared_ptr<const schema_registry> schemas,
                                                std::string output_schema) {
  return [eng = &c.eng, tenant = c.who.tenant, done = c.done, schemas, output_schema](request_result r) {
    if (r.status != request_status::awaiting_approval)
      return done(call_result(to_json(r), *schemas, output_schema));
    eng->approvals(tenant, "pending", [r = to_json(r), done, schemas, output_schema](result<json::array> list) {
      done(call_result(r, *schemas, output_schema, list ? *list : json::array{}));
    });
  };
}

} // namespace

namespace {

submit_options options_of(const call_context& c) {
  submit_options so;
  so.request_id = c.request_id;
  so.source = "mcp";
  so.client = c.client;
  so.tenant = c.who.tenant;
  return so;
}

} // namespace

void submit_guarded(call_context c, const std::string& tool, json::object payload, const std::string& output_schema) {
  auto answer = answer_with(c, c.eng.current_schemas(), output_schema);
  c.eng.submit_output(tool_call_output(tool, std::move(payload)), options_of(c), std::move(answer));
}

void call_catalogue_tool(call_context c) {
  auto so = options_of(c);
  auto schemas = c.eng.current_schemas();
  if (c.tool == "opex_ask") {
    if (auto user = get_string(c.arguments, "user_id"))
      so.user_id = std::string(*user);
    return c.eng.submit_text(std::string(get_string(c.arguments, "text").value_or("")), so, answer_with(c, schemas, ""));
  }
  if (c.tool == "opex_run_plan")
    return c.eng.submit_output(std::move(c.arguments), so, answer_with(c, schemas, ""));
  const std::string tool = c.tool == "log_entry" ? "LOG_APPEND" : c.tool;
  auto cfg = c.eng.current_configuration();
  const auto* t = cfg->catalogue.find(tool);
  auto payload = std::move(c.arguments);
  submit_guarded(std::move(c), tool, std::move(payload), t ? t->response_schema : std::string{});
}

} // namespace opex::gateway
