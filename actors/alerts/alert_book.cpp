// The alert evaluator's book (alert_book.hpp).
#include "alerts/alert_book.hpp"

#include "opex/json_util.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <set>

namespace opex::actors {

namespace json = boost::json;

namespace {

int state_rank(alert_state s) {
  switch (s) {
    case alert_state::firing: return 0;
    case alert_state::pending: return 1;
    case alert_state::resolved: return 2;
    case alert_state::inactive: return 3;
  }
  return 3;
}

std::optional<delivery_state> parse_delivery_state(std::string_view s) {
  if (s == "pending")
    return delivery_state::pending;
  if (s == "delivered")
    return delivery_state::delivered;
  if (s == "failed")
    return delivery_state::failed;
  return std::nullopt;
}

json::object delivery_json(const alert_delivery& d) {
  return json::object{{"transition_id", d.transition_id},
                      {"target", d.target},
                      {"state", delivery_state_name(d.state)},
                      {"attempts", d.attempts},
                      {"last_error", d.last_error.empty() ? json::value(nullptr) : json::value(d.last_error)},
                      {"notification", d.notification}};
}

} // namespace

std::string_view delivery_state_name(delivery_state s) noexcept {
  switch (s) {
    case delivery_state::pending: return "pending";
    case delivery_state::delivered: return "delivered";
    case delivery_state::failed: return "failed";
  }
  return "pending";
}

alert_book::alert_book(alert_settings settings) : settings_(std::move(settings)) {}

const alert_target* alert_book::target(std::string_view name) const noexcept {
  for (const auto& t : settings_.targets)
    if (t.name == name)
      return &t;
  return nullptr;
}

void alert_book::load(const json::object& stored) {
  if (const auto* list = stored.if_contains("alerts"); list && list->is_array())
    for (const auto& v : list->get_array())
      if (auto s = v.is_object() ? alert_status::from_json(v.get_object()) : std::nullopt)
        states_[{s->rule, s->subject}] = std::move(*s);
  if (const auto* list = stored.if_contains("deliveries"); list && list->is_array())
    for (const auto& v : list->get_array()) {
      if (!v.is_object())
        continue;
      const auto& o = v.get_object();
      auto state = parse_delivery_state(get_string(o, "state").value_or(""));
      const auto* n = o.if_contains("notification");
      if (!state || !n || !n->is_object())
        continue;
      alert_delivery d;
      d.transition_id = std::string(get_string(o, "transition_id").value_or(""));
      d.target = std::string(get_string(o, "target").value_or(""));
      d.notification = n->get_object();
      d.attempts = static_cast<int>(get_number(o, "attempts").value_or(0));
      d.state = *state;
      d.last_error = std::string(get_string(o, "last_error").value_or(""));
      open_[{d.transition_id, d.target}] = std::move(d);
    }
}

std::vector<std::int64_t> alert_book::windows() const {
  std::set<std::int64_t> w;
  for (const auto& r : settings_.rules)
    w.insert(r.window_ms);
  return {w.begin(), w.end()};
}

std::vector<planned_transition> alert_book::evaluate(const std::map<std::int64_t, json::object>& metrics,
                                                     std::chrono::system_clock::time_point now,
                                                     const std::function<std::string()>& new_id) const {
  std::vector<planned_transition> out;
  for (const auto& rule : settings_.rules) {
    auto m = metrics.find(rule.window_ms);
    if (m == metrics.end())
      continue;
    std::map<std::string, alert_observation> seen;
    for (auto& o : observe_alert_rule(rule, m->second, now))
      seen.emplace(o.subject, std::move(o));
    std::set<std::string> subjects;
    for (const auto& [subject, _] : seen)
      subjects.insert(subject);
    for (const auto& [key, s] : states_)
      if (key.first == rule.name && (s.state == alert_state::pending || s.state == alert_state::firing))
        subjects.insert(key.second);
    for (const auto& subject : subjects) {
      auto st = states_.find({rule.name, subject});
      auto ob = seen.find(subject);
      auto t = next_alert_status(rule, st == states_.end() ? nullptr : &st->second,
                                 ob == seen.end() ? nullptr : &ob->second, now, new_id());
      if (!t)
        continue;
      t->status.subject = subject;
      planned_transition p{std::move(*t), {}, {}};
      if (p.transition.notify) {
        p.notification = alert_notification(p.transition, rule);
        for (const auto& target : settings_.targets)
          if (rule.targets.empty() || std::find(rule.targets.begin(), rule.targets.end(), target.name) != rule.targets.end())
            p.targets.push_back(target.name);
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<journal_entry> alert_book::entries(const std::vector<planned_transition>& planned, const std::string& now) {
  std::vector<journal_entry> out;
  for (const auto& p : planned) {
    const auto& s = p.transition.status;
    journal_entry e;
    e.timestamp = now;
    e.agent = "system";
    e.action_type = "alert";
    e.request_id = s.transition_id;
    e.user_id = "system";
    if (s.subject != "total")
      e.tool_used = s.subject;
    e.status = s.state == alert_state::firing ? "failure" : s.state == alert_state::pending ? "pending" : "success";
    json::array targets;
    for (const auto& t : p.targets)
      targets.emplace_back(t);
    json::object data{{"alert", s.to_json()}, {"from", alert_state_name(p.transition.from)}};
    if (p.transition.notify) {
      data["notification"] = p.notification;
      data["targets"] = std::move(targets);
    }
    e.data = std::move(data);
    e.tags = {"alert", std::string(alert_state_name(s.state))};
    e.notes = "alert " + s.rule + " for " + s.subject + ": " + std::string(alert_state_name(p.transition.from)) + " -> "
              + std::string(alert_state_name(s.state));
    out.push_back(std::move(e));
  }
  return out;
}

void alert_book::apply(const std::vector<planned_transition>& planned) {
  for (const auto& p : planned) {
    const auto& s = p.transition.status;
    states_[{s.rule, s.subject}] = s;
    for (const auto& t : p.targets)
      open_[{s.transition_id, t}] = alert_delivery{s.transition_id, t, p.notification, 0, delivery_state::pending, false, {}};
  }
}

std::vector<alert_delivery> alert_book::start_due() {
  std::vector<alert_delivery> due;
  for (auto& [_, d] : open_) {
    if (d.state != delivery_state::pending || d.in_flight || d.attempts >= settings_.max_delivery_attempts)
      continue;
    d.in_flight = true;
    ++d.attempts;
    due.push_back(d);
  }
  return due;
}

journal_entry alert_book::finish(const std::string& transition_id, const std::string& target, const error_info& error,
                                 const std::string& now) {
  journal_entry e;
  e.timestamp = now;
  e.agent = "system";
  e.action_type = "alert";
  e.request_id = transition_id;
  e.user_id = "system";
  e.tags = {"alert", "delivery"};
  auto it = open_.find({transition_id, target});
  int attempts = 0;
  delivery_state state = error ? delivery_state::pending : delivery_state::delivered;
  if (it != open_.end()) {
    auto& d = it->second;
    d.in_flight = false;
    d.last_error = error ? error.message : std::string();
    attempts = d.attempts;
    if (error && d.attempts >= settings_.max_delivery_attempts)
      state = delivery_state::failed;
    d.state = state;
    if (state == delivery_state::delivered)
      open_.erase(it);
  }
  e.status = error ? "failure" : "success";
  json::object delivery{{"transition_id", transition_id},
                        {"target", target},
                        {"state", delivery_state_name(state)},
                        {"attempts", attempts}};
  if (error) {
    delivery["error"] = error.message;
    e.error = error.message;
    e.error_code = std::string(error_code_name(error.code));
  }
  e.data = json::object{{"delivery", std::move(delivery)}};
  e.notes = "alert delivery to " + target + ": " + std::string(delivery_state_name(state));
  return e;
}

json::array alert_book::alerts_json() const {
  std::vector<const alert_status*> list;
  for (const auto& [_, s] : states_)
    list.push_back(&s);
  std::stable_sort(list.begin(), list.end(), [](const alert_status* a, const alert_status* b) {
    if (state_rank(a->state) != state_rank(b->state))
      return state_rank(a->state) < state_rank(b->state);
    return a->updated_at > b->updated_at;
  });
  json::array out;
  for (const auto* s : list)
    out.push_back(s->to_json());
  return out;
}

json::object alert_book::to_json() const {
  json::array rules;
  for (const auto& r : settings_.rules) {
    json::array targets;
    for (const auto& t : r.targets)
      targets.emplace_back(t);
    rules.push_back(json::object{{"name", r.name},
                                 {"kind", alert_kind_name(r.kind)},
                                 {"threshold", r.threshold},
                                 {"window_ms", r.window_ms},
                                 {"min_count", r.min_count},
                                 {"for_ms", r.for_ms},
                                 {"severity", r.severity},
                                 {"targets", std::move(targets)}});
  }
  json::array targets;
  for (const auto& t : settings_.targets)
    targets.push_back(json::object{{"name", t.name}, {"type", alert_target_kind_name(t.type)}});
  json::array deliveries;
  for (const auto& [_, d] : open_)
    deliveries.push_back(delivery_json(d));
  return json::object{{"enabled", settings_.enabled},
                      {"evaluation_interval_ms", settings_.evaluation_interval_ms},
                      {"rules", std::move(rules)},
                      {"targets", std::move(targets)},
                      {"alerts", alerts_json()},
                      {"deliveries", std::move(deliveries)}};
}

} // namespace opex::actors
