// The builtin tools, one registration line each.
#include "builtin_tool.hpp"

#include "opex/json_util.hpp"

#include <chrono>

namespace opex::connectors {

call_outcome noop_tool(const builtin_call& c);        // below
call_outcome log_append_tool(const builtin_call& c);  // below
call_outcome cost_report_tool(const builtin_call& c); // cost_report.cpp

namespace json = boost::json;

namespace {

using runs = builtin_runs;

call_outcome task_create(const builtin_call& c) { return c.items->task_create(c.payload, c.ctx, c.now()); }
call_outcome task_update(const builtin_call& c) { return c.items->task_update(c.payload, c.ctx, c.now()); }
call_outcome event_create(const builtin_call& c) { return c.items->event_create(c.payload, c.ctx, c.now()); }
call_outcome note_create(const builtin_call& c) { return c.items->note_create(c.payload, c.ctx, c.now()); }
call_outcome doc_update(const builtin_call& c) { return c.items->doc_update(c.payload, c.ctx, c.now()); }
call_outcome healthcheck(const builtin_call& c) { return c.items->healthcheck(); }
call_outcome journal_summary(const builtin_call& c) {
  return c.items->journal_summary(format_timestamp(c.options.time->now().utc - std::chrono::hours{24 * 7}));
}

constexpr builtin_tool all[] = {
  {"task_create", {"TASK_CREATE", "TODO_CREATE"}, runs::store_once, task_create},
  {"task_update", {"TASK_UPDATE", ""}, runs::store_once, task_update},
  {"calendar_event_create", {"CAL_EVENT_CREATE", ""}, runs::store_once, event_create},
  {"note_create", {"DOC_CREATE_NOTE", ""}, runs::store_once, note_create},
  {"doc_update", {"DOC_UPDATE", ""}, runs::store_once, doc_update},
  {"log_append", {"LOG_APPEND", ""}, runs::inline_call, log_append_tool},
  {"healthcheck", {"HEALTHCHECK_RUN", ""}, runs::store, healthcheck},
  {"journal_summary", {"WEEKLY_SUMMARY", ""}, runs::store, journal_summary},
  {"cost_report", {"COST_REPORT_RUN", ""}, runs::store, cost_report_tool},
  {"noop", {"NOOP", ""}, runs::inline_call, noop_tool, true},
  {"echo", {"", ""}, runs::inline_call, noop_tool, true},
};

} // namespace

std::span<const builtin_tool> builtin_tools() noexcept {
  return all;
}

const builtin_tool* find_builtin(std::string_view name) noexcept {
  for (const auto& b : all)
    if (!b.name.empty() && b.name == name)
      return &b;
  return nullptr;
}

call_outcome noop_tool(const builtin_call& c) {
  call_outcome out;
  if (auto code = get_string(c.payload, "fail_with")) {
    auto parsed = parse_error_code(*code);
    json::object details{{"requested", *code}};
    if (*code == "HTTP_ERROR" || !parsed)
      details["status"] = 500;
    out.error = make_error(parsed.value_or(error_code::tool_execution_failed),
                           "NOOP failed as asked (fail_with " + std::string(*code) + ")", std::move(details));
    return out;
  }
  out.ok = true;
  json::object data;
  if (const auto* echo = get_member(c.payload, "echo"))
    data["echo"] = *echo;
  out.data = std::move(data);
  return out;
}

call_outcome log_append_tool(const builtin_call& c) {
  journal_entry e;
  e.timestamp = c.now();
  e.agent = "system";
  e.action_type = "reporting";
  e.request_id = c.ctx.request_id;
  e.user_id = c.ctx.user_id.empty() ? "system" : c.ctx.user_id;
  e.tool_used = c.tool.id;
  e.notes = std::string(get_string(c.payload, "message").value_or(""));
  auto level = std::string(get_string(c.payload, "level").value_or("info"));
  e.tags = {"log_append", level};
  if (const auto* details = get_member(c.payload, "details"))
    e.data = details->is_object() ? *details : json::value(json::object{{"value", *details}});
  e.metadata["step"] = c.ctx.step;
  if (c.options.journal_sink)
    c.options.journal_sink(std::move(e));
  call_outcome out;
  out.ok = true;
  out.data = json::object{{"logged", true}, {"level", level}};
  return out;
}

} // namespace opex::connectors
