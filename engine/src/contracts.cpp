// Conversions between the contract structs and Boost.JSON.
#include "opex/contracts.hpp"

#include "opex/json_util.hpp"

#include <algorithm>
#include <array>

namespace opex {

namespace json = boost::json;

namespace {

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (const auto& s : v)
    a.emplace_back(s);
  return a;
}

std::vector<std::string> strings_of(const json::object& obj, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* v = get_member(obj, key); v && v->is_array())
    for (const auto& item : v->get_array())
      if (item.is_string())
        out.emplace_back(item.get_string());
  return out;
}

std::string string_of(const json::object& obj, std::string_view key) {
  auto s = get_string(obj, key);
  return s ? std::string(*s) : std::string{};
}

json::object object_of(const json::object& obj, std::string_view key) {
  if (const auto* v = get_member(obj, key); v && v->is_object())
    return v->get_object();
  return {};
}

plan_step step_from_json(const json::object& s) {
  plan_step out;
  if (const auto* v = get_member(s, "step"); v && v->is_int64())
    out.step = static_cast<int>(v->get_int64());
  else if (v && v->is_uint64())
    out.step = static_cast<int>(v->get_uint64());
  out.tool = string_of(s, "tool");
  out.payload = object_of(s, "payload");
  if (const auto* v = get_member(s, "depends_on"); v && v->is_array())
    for (const auto& d : v->get_array())
      if (d.is_int64())
        out.depends_on.push_back(static_cast<int>(d.get_int64()));
  out.retry = object_of(s, "retry");
  if (const auto* v = get_member(s, "continue_on_failure"); v && v->is_bool())
    out.continue_on_failure = v->get_bool();
  if (const auto* v = get_member(s, "start_to_close_ms"); v && v->is_int64())
    out.start_to_close_ms = static_cast<int>(v->get_int64());
  if (const auto* v = get_member(s, "schedule_to_close_ms"); v && v->is_int64())
    out.schedule_to_close_ms = static_cast<int>(v->get_int64());
  return out;
}

json::object step_to_json(const plan_step& s) {
  json::object o;
  o["step"] = s.step;
  o["tool"] = s.tool;
  o["payload"] = s.payload;
  if (!s.depends_on.empty()) {
    json::array deps;
    for (int d : s.depends_on)
      deps.emplace_back(d);
    o["depends_on"] = std::move(deps);
  }
  if (!s.retry.empty())
    o["retry"] = s.retry;
  if (s.continue_on_failure)
    o["continue_on_failure"] = true;
  if (s.start_to_close_ms)
    o["start_to_close_ms"] = *s.start_to_close_ms;
  if (s.schedule_to_close_ms)
    o["schedule_to_close_ms"] = *s.schedule_to_close_ms;
  return o;
}

} // namespace

const std::vector<std::string_view>& canonical_intents() {
  static const std::vector<std::string_view> intents{
    "task_create",      "task_update",  "calendar_event", "doc_note",        "doc_structuring",
    "question_simple",  "question_systeme", "debug_infra", "client_workflow", "dev_workflow",
    "reporting",        "config_change", "other"};
  return intents;
}

std::optional<std::string_view> canonical_intent(std::string_view id) {
  for (auto i : canonical_intents())
    if (i == id)
      return i;
  // kimmy_intents.yml vocabulary (docs/kimmy.md), accepted as aliases only.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> aliases{{
    {"TASK_HELP", "task_create"},
    {"DOC_QUESTION", "question_simple"},
    {"DEV_HELP", "dev_workflow"},
    {"CLIENT_CONTEXT", "client_workflow"},
    {"SYSTEM_STATUS", "question_systeme"},
    {"HIGH_RISK_ACTION", "config_change"},
    {"SIMPLE_QUESTION", "question_simple"},
    {"CLARIFICATION_NEEDED", "other"},
  }};
  for (const auto& [alias, canonical] : aliases)
    if (alias == id)
      return canonical;
  return std::nullopt;
}

json::object to_json(const kimmy_payload& p) {
  json::object o;
  o["request_id"] = p.request_id;
  o["source"] = p.source;
  o["raw_input"] = p.raw_input;
  o["language"] = p.language;
  o["kimmy_summary"] = p.kimmy_summary;
  o["intent"] = p.intent;
  o["complexity"] = p.complexity;
  o["confidence"] = p.confidence;
  o["requires_prolex"] = p.requires_prolex;
  o["suggested_tools"] = to_array(p.suggested_tools);
  o["parameters"] = p.parameters;
  o["constraints"] = p.constraints;
  o["history_refs"] = to_array(p.history_refs);
  if (!p.user_id.empty())
    o["user_id"] = p.user_id;
  return o;
}

kimmy_payload kimmy_payload_from_json(const json::object& obj) {
  kimmy_payload p;
  p.request_id = string_of(obj, "request_id");
  p.source = string_of(obj, "source");
  p.raw_input = string_of(obj, "raw_input");
  p.language = string_of(obj, "language");
  p.kimmy_summary = string_of(obj, "kimmy_summary");
  p.intent = string_of(obj, "intent");
  p.complexity = string_of(obj, "complexity");
  if (const auto* v = get_member(obj, "confidence"); v && v->is_number())
    p.confidence = v->to_number<double>();
  if (const auto* v = get_member(obj, "requires_prolex"); v && v->is_bool())
    p.requires_prolex = v->get_bool();
  p.suggested_tools = strings_of(obj, "suggested_tools");
  p.parameters = object_of(obj, "parameters");
  p.constraints = object_of(obj, "constraints");
  p.history_refs = strings_of(obj, "history_refs");
  p.user_id = string_of(obj, "user_id");
  return p;
}

std::string_view output_type_name(output_type t) noexcept {
  switch (t) {
    case output_type::answer: return "answer";
    case output_type::tool_call: return "tool_call";
    case output_type::multi_tool_plan: return "multi_tool_plan";
    case output_type::clarification: return "clarification";
  }
  return "answer";
}

json::object to_json(const prolex_output& o) {
  json::object out;
  out["type"] = output_type_name(o.type);
  switch (o.type) {
    case output_type::answer:
      out["content"] = o.content;
      break;
    case output_type::clarification:
      out["questions"] = to_array(o.questions);
      break;
    case output_type::tool_call:
      if (!o.plan.empty()) {
        out["tool"] = o.plan.front().tool;
        out["payload"] = o.plan.front().payload;
      }
      break;
    case output_type::multi_tool_plan: {
      json::array plan;
      plan.reserve(o.plan.size());
      for (const auto& s : o.plan)
        plan.push_back(step_to_json(s));
      out["plan"] = std::move(plan);
      break;
    }
  }
  return out;
}

prolex_output prolex_output_from_json(const json::object& obj) {
  prolex_output o;
  auto type = string_of(obj, "type");
  if (type == "tool_call") {
    o.type = output_type::tool_call;
    plan_step s;
    s.step = 1;
    s.tool = string_of(obj, "tool");
    s.payload = object_of(obj, "payload");
    o.plan.push_back(std::move(s));
  } else if (type == "multi_tool_plan") {
    o.type = output_type::multi_tool_plan;
    if (const auto* v = get_member(obj, "plan"); v && v->is_array())
      for (const auto& s : v->get_array())
        if (s.is_object())
          o.plan.push_back(step_from_json(s.get_object()));
  } else if (type == "clarification") {
    o.type = output_type::clarification;
    o.questions = strings_of(obj, "questions");
  } else {
    o.type = output_type::answer;
    o.content = string_of(obj, "content");
  }
  return o;
}

std::string_view step_status_name(step_status s) noexcept {
  switch (s) {
    case step_status::pending: return "pending";
    case step_status::running: return "running";
    case step_status::succeeded: return "succeeded";
    case step_status::failed: return "failed";
    case step_status::skipped: return "skipped";
    case step_status::cancelled: return "cancelled";
    case step_status::timed_out: return "timed_out";
    case step_status::awaiting_approval: return "awaiting_approval";
  }
  return "pending";
}

bool is_terminal(step_status s) noexcept {
  return s != step_status::pending && s != step_status::running
         && s != step_status::awaiting_approval;
}

json::object to_json(const step_result& r) {
  json::object o;
  o["step"] = r.step;
  o["tool"] = r.tool;
  o["status"] = step_status_name(r.status);
  o["data"] = r.data;
  if (r.error) {
    json::object e;
    e["error"] = r.error.message;
    e["error_code"] = error_code_name(r.error.code);
    e["details"] = r.error.details;
    o["error"] = std::move(e);
  } else {
    o["error"] = nullptr;
  }
  o["attempts"] = static_cast<std::int64_t>(r.attempts.size());  // int64: valijson rejects uint64 as "integer"
  json::array log;
  log.reserve(r.attempts.size());
  for (const auto& a : r.attempts) {
    json::object ao;
    ao["attempt"] = a.number;
    ao["started_at"] = a.started_at;
    ao["duration_ms"] = a.duration_ms;
    ao["outcome"] = step_status_name(a.outcome);
    if (a.error_code.empty())
      ao["error_code"] = nullptr;
    else
      ao["error_code"] = a.error_code;
    if (!a.note.empty())
      ao["note"] = a.note;
    log.push_back(std::move(ao));
  }
  o["attempt_log"] = std::move(log);
  o["started_at"] = r.started_at.empty() ? json::value(nullptr) : json::value(r.started_at);
  o["finished_at"] = r.finished_at.empty() ? json::value(nullptr) : json::value(r.finished_at);
  o["duration_ms"] = r.duration_ms;
  o["cost_usd"] = r.cost_usd;
  return o;
}

std::string_view request_status_name(request_status s) noexcept {
  switch (s) {
    case request_status::succeeded: return "succeeded";
    case request_status::partial: return "partial";
    case request_status::failed: return "failed";
    case request_status::rejected: return "rejected";
    case request_status::cancelled: return "cancelled";
    case request_status::timed_out: return "timed_out";
    case request_status::awaiting_approval: return "awaiting_approval";
  }
  return "failed";
}

json::object to_json(const request_result& r) {
  json::object o;
  o["request_id"] = r.request_id;
  if (!r.user_id.empty())
    o["user_id"] = r.user_id;
  o["status"] = request_status_name(r.status);
  if (r.kimmy)
    o["kimmy"] = to_json(*r.kimmy);
  if (r.decision) {
    json::object d;
    d["requires_prolex"] = r.decision->requires_prolex;
    d["handled_directly"] = r.decision->handled_directly;
    d["reasons"] = to_array(r.decision->reasons);
    o["kimmy_decision"] = std::move(d);
  }
  if (r.output)
    o["prolex"] = to_json(*r.output);
  if (!r.planned_by.empty())
    o["planned_by"] = r.planned_by;
  json::object res;
  if (r.error && (!r.output || r.steps.empty())) {
    res["type"] = "error";
    res["status"] = request_status_name(r.status);
    res["error"] = to_error_json(r.error, r.request_id, r.error_timestamp);
  } else if (r.output) {
    res["type"] = output_type_name(r.output->type);
    res["status"] = request_status_name(r.status);
    if (r.output->type == output_type::answer)
      res["content"] = r.output->content;
    else if (r.output->type == output_type::clarification)
      res["questions"] = to_array(r.output->questions);
    else {
      json::array steps;
      steps.reserve(r.steps.size());
      double cost = 0;
      for (const auto& s : r.steps) {
        steps.push_back(to_json(s));
        cost += s.cost_usd;
      }
      res["steps"] = std::move(steps);
      res["cost_usd"] = cost;
    }
    if (r.error)
      res["error"] = to_error_json(r.error, r.request_id, r.error_timestamp);
  } else {
    res["type"] = "error";
    res["status"] = request_status_name(r.status);
  }
  res["duration_ms"] = r.duration_ms;
  o["result"] = std::move(res);
  return o;
}

json::object to_json(const journal_entry& e) {
  json::object o;
  o["timestamp"] = e.timestamp;
  o["agent"] = e.agent;
  o["action_type"] = e.action_type;
  o["request_id"] = e.request_id;
  o["user_id"] = e.user_id;
  o["intent"] = e.intent ? json::value(*e.intent) : json::value(nullptr);
  o["tool_used"] = e.tool_used ? json::value(*e.tool_used) : json::value(nullptr);
  o["payload_snapshot"] = e.payload_snapshot.is_object() ? e.payload_snapshot : json::value(nullptr);
  json::object res;
  res["status"] = e.status;
  res["data"] = e.data.is_object() ? e.data : json::value(nullptr);
  res["error"] = e.error ? json::value(*e.error) : json::value(nullptr);
  res["error_code"] = e.error_code ? json::value(*e.error_code) : json::value(nullptr);
  o["result"] = std::move(res);
  o["metadata"] = e.metadata;
  o["metadata"].as_object()["tenant"] = e.tenant;
  o["tags"] = to_array(e.tags);
  if (!e.notes.empty())
    o["notes"] = e.notes;
  return o;
}

} // namespace opex
