// opexctl alerts: opex's alert states as a table (or --json), from the database or, with
// --server, from opexd's GET /v1/alerts; `--evaluate` evaluates the rules now (opexd's
// POST /v1/alerts/evaluate, or a local engine holding the database). docs/operations.md, "Alerts".
#include "opexctl.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

struct alerts_args {
  bool evaluate = false;
};

std::string text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string("-");
}

std::string value_text(const json::object& a, std::string_view key) {
  const auto* v = a.if_contains(key);
  if (!v || !v->is_number())
    return "-";
  const double x = v->to_number<double>();
  const auto kind = text(a, "kind");
  char buf[32];
  if (kind == "error_rate")
    std::snprintf(buf, sizeof buf, "%.1f%%", x * 100.0);
  else if (kind == "daily_cost")
    std::snprintf(buf, sizeof buf, "%.2f USD", x);
  else if (kind == "idle_workflow")
    std::snprintf(buf, sizeof buf, "%.1f d", x / 86400000.0);
  else
    std::snprintf(buf, sizeof buf, "%.0f ms", x);
  return buf;
}

/// The table: one line per rule and subject, then the deliveries not done.
void print_alerts(const json::object& m) {
  const auto* list = m.if_contains("alerts");
  if (!list || !list->is_array() || list->get_array().empty()) {
    std::cout << "no alert has left the inactive state\n";
  } else {
    std::cout << std::left << std::setw(22) << "RULE" << std::setw(26) << "SUBJECT" << std::setw(10) << "STATE"
              << std::right << std::setw(12) << "VALUE" << std::setw(12) << "THRESHOLD" << std::setw(7) << "RUNS"
              << "  " << std::left << "SINCE\n";
    for (const auto& v : list->get_array()) {
      const auto& a = v.as_object();
      const auto state = text(a, "state");
      const auto since = state == "firing" ? text(a, "fired_at") : state == "pending" ? text(a, "pending_since")
                                                                                       : text(a, "updated_at");
      std::cout << std::left << std::setw(22) << text(a, "rule") << std::setw(26) << text(a, "subject") << std::setw(10)
                << state << std::right << std::setw(12) << value_text(a, "value") << std::setw(12)
                << value_text(a, "threshold") << std::setw(7) << (a.contains("count") ? a.at("count").to_number<std::int64_t>() : 0)
                << "  " << since << "\n";
    }
  }
  if (const auto* d = m.if_contains("deliveries"); d && d->is_array() && !d->get_array().empty()) {
    std::cout << "\nnotifications not delivered:\n";
    for (const auto& v : d->get_array()) {
      const auto& o = v.as_object();
      std::cout << "  " << text(o, "target") << "  " << text(o, "state") << "  transition " << text(o, "transition_id")
                << "  attempts " << (o.contains("attempts") ? o.at("attempts").to_number<std::int64_t>() : 0) << "  "
                << text(o, "last_error") << "\n";
    }
  }
  if (const auto* t = m.if_contains("transitions"); t && t->is_array())
    std::cout << "\n" << t->get_array().size() << " transition(s) at " << text(m, "evaluated_at") << "\n";
}

int show_alerts(const alerts_args& a, const common_options& o) {
  if (!o.server.empty())
    return a.evaluate ? remote_show(o, "POST", "/v1/alerts/evaluate", "{}", print_alerts)
                      : remote_show(o, "GET", "/v1/alerts", "", print_alerts);
  auto e = make_engine(o, false, !a.evaluate);
  auto m = a.evaluate ? e.evaluate_alerts() : e.alerts();
  if (!m)
    return print_error(m.error(), o, exit_failed);
  if (o.json_output)
    std::cout << json::serialize(*m) << std::endl;
  else
    print_alerts(*m);
  return 0;
}

} // namespace

void add_alerts_command(CLI::App& app, command_list& out) {
  auto a = std::make_shared<alerts_args>();
  auto* alerts = app.add_subcommand("alerts", "opex's alerts: each rule's state per workflow (firing, pending, "
                                              "resolved) and the notifications not delivered yet");
  alerts->add_flag("--evaluate", a->evaluate,
                   "Evaluate the rules now and deliver what changed (locally this needs the database: not beside opexd)");
  out.push_back({alerts, [a](const common_options& o) { return show_alerts(*a, o); }});
}

} // namespace opexctl
