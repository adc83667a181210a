// Results read back from their JSON (stored request results replayed for an idempotency key),
// and the status names parsed back to their enums.
#include "opex/contracts.hpp"
#include "opex/progress.hpp"

#include "opex/json_util.hpp"

#include <array>

namespace opex {

namespace json = boost::json;

namespace {

std::string text(const json::object& o, std::string_view key) {
  auto s = get_string(o, key);
  return s ? std::string(*s) : std::string{};
}

double number(const json::object& o, std::string_view key) {
  const auto* v = get_member(o, key);
  return v && v->is_number() ? v->to_number<double>() : 0.0;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = get_member(o, key);
  return v ? v->if_object() : nullptr;
}

step_result step_from(const json::object& o) {
  step_result r;
  if (const auto* v = get_member(o, "step"); v && v->is_int64())
    r.step = static_cast<int>(v->get_int64());
  r.tool = text(o, "tool");
  r.status = parse_step_status(text(o, "status")).value_or(step_status::failed);
  if (const auto* d = get_member(o, "data"))
    r.data = *d;
  if (const auto* e = object_at(o, "error"))
    r.error = error_from_json(*e);
  if (const auto* log = get_member(o, "attempt_log"); log && log->is_array())
    for (const auto& item : log->get_array()) {
      const auto* a = item.if_object();
      if (!a)
        continue;
      attempt_record rec;
      if (const auto* n = get_member(*a, "attempt"); n && n->is_int64())
        rec.number = static_cast<int>(n->get_int64());
      rec.started_at = text(*a, "started_at");
      rec.duration_ms = number(*a, "duration_ms");
      rec.outcome = parse_step_status(text(*a, "outcome")).value_or(step_status::failed);
      rec.error_code = text(*a, "error_code");
      rec.note = text(*a, "note");
      r.attempts.push_back(std::move(rec));
    }
  r.started_at = text(o, "started_at");
  r.finished_at = text(o, "finished_at");
  r.duration_ms = number(o, "duration_ms");
  r.cost_usd = number(o, "cost_usd");
  return r;
}

} // namespace

std::optional<step_status> parse_step_status(std::string_view name) noexcept {
  static constexpr std::array all{step_status::pending,   step_status::running,   step_status::succeeded,
                                  step_status::failed,    step_status::skipped,   step_status::cancelled,
                                  step_status::timed_out, step_status::awaiting_approval};
  for (auto s : all)
    if (step_status_name(s) == name)
      return s;
  return std::nullopt;
}

std::optional<request_status> parse_request_status(std::string_view name) noexcept {
  static constexpr std::array all{request_status::succeeded, request_status::partial,   request_status::failed,
                                  request_status::rejected,  request_status::cancelled, request_status::timed_out,
                                  request_status::awaiting_approval};
  for (auto s : all)
    if (request_status_name(s) == name)
      return s;
  return std::nullopt;
}

std::string_view approval_status_name(approval_status s) noexcept {
  switch (s) {
    case approval_status::pending: return "pending";
    case approval_status::approved: return "approved";
    case approval_status::rejected: return "rejected";
    case approval_status::expired: return "expired";
  }
  return "pending";
}

std::optional<approval_status> parse_approval_status(std::string_view name) noexcept {
  for (auto s : {approval_status::pending, approval_status::approved, approval_status::rejected, approval_status::expired})
    if (approval_status_name(s) == name)
      return s;
  return std::nullopt;
}

std::string_view progress_kind_name(progress_kind k) noexcept {
  return k == progress_kind::breaker ? "breaker" : "step";
}

std::string_view approval_kind_name(approval_kind k) noexcept {
  return k == approval_kind::review ? "review" : "step";
}

std::optional<approval_kind> parse_approval_kind(std::string_view name) noexcept {
  if (name == "step")
    return approval_kind::step;
  if (name == "review")
    return approval_kind::review;
  return std::nullopt;
}

request_result request_result_from_json(const json::object& o) {
  request_result r;
  r.request_id = text(o, "request_id");
  r.user_id = text(o, "user_id");
  r.status = parse_request_status(text(o, "status")).value_or(request_status::failed);
  if (const auto* k = object_at(o, "kimmy"))
    r.kimmy = kimmy_payload_from_json(*k);
  if (const auto* d = object_at(o, "kimmy_decision")) {
    kimmy_decision dec;
    if (const auto* b = get_member(*d, "requires_prolex"); b && b->is_bool())
      dec.requires_prolex = b->get_bool();
    if (const auto* b = get_member(*d, "handled_directly"); b && b->is_bool())
      dec.handled_directly = b->get_bool();
    if (const auto* reasons = get_member(*d, "reasons"); reasons && reasons->is_array())
      for (const auto& item : reasons->get_array())
        if (item.is_string())
          dec.reasons.emplace_back(item.get_string());
    r.decision = std::move(dec);
  }
  if (const auto* p = object_at(o, "prolex"))
    r.output = prolex_output_from_json(*p);
  r.planned_by = text(o, "planned_by");
  if (const auto* res = object_at(o, "result")) {
    if (const auto* steps = get_member(*res, "steps"); steps && steps->is_array())
      for (const auto& s : steps->get_array())
        if (const auto* so = s.if_object())
          r.steps.push_back(step_from(*so));
    if (const auto* e = object_at(*res, "error")) {
      r.error = error_from_json(*e);
      r.error_timestamp = text(*e, "timestamp");
    }
    r.duration_ms = number(*res, "duration_ms");
  }
  return r;
}

} // namespace opex
