// opexctl improve: improvement proposals from the journal (a tool failing with one error code,
// a slow workflow, a costly day, an unused tool), each with its evidence, as TODO_CREATE
// payloads for human review; `--apply` submits them through the guarded pipeline and changes
// nothing else (docs/operations.md, "Improvement proposals").
#include "opexctl.hpp"

#include "opex/clock.hpp"
#include "opex/improvement.hpp"

#include <boost/json/serialize.hpp>

#include <iostream>
#include <memory>

namespace opexctl {

namespace json = boost::json;
using namespace opex;

namespace {

struct improve_args {
  std::string since;
  std::string until;
  std::string tenant;
  improvement_settings settings;
  bool apply = false;
};

result<std::vector<improvement_proposal>> proposals_of(engine& e, const improve_args& a) {
  std::map<std::string, std::string, std::less<>> params{{"since", a.since}, {"until", a.until}, {"tenant", a.tenant}};
  auto now = e.time().now().utc;
  if (a.since.empty())  // a month by default: enough days to compare costs
    params["since"] = format_timestamp((a.until.empty() ? now : parse_iso8601(a.until).value_or(zoned_time{now}).utc)
                                       - std::chrono::hours(24 * 30));
  auto q = make_workflow_metrics_query(params, now);
  if (!q)
    return q.error();
  auto metrics = e.workflow_metrics(*q);
  if (!metrics)
    return metrics.error();
  auto evidence = e.improvement_evidence(*q);
  if (!evidence)
    return evidence.error();
  improvement_input in{std::move(metrics).value(), std::move(evidence).value(), {}, now};
  for (const auto& t : e.configuration().catalogue.tools())
    in.catalogue_tools.push_back(t.id);
  return propose_improvements(in, a.settings);
}

void print_proposal(const improvement_proposal& p) {
  std::cout << improvement_kind_name(p.kind) << "  " << p.title << "\n  " << p.notes << "\n";
}

/// Submits each proposal's TODO_CREATE (idempotent per proposal and day); exit_succeeded when
/// every one was created (or had been today), else the first failure's exit code.
int apply(engine& e, const std::vector<improvement_proposal>& proposals, const common_options& o) {
  int code = exit_succeeded;
  json::array results;
  for (const auto& p : proposals) {
    submit_options so;
    so.idempotency_key = p.idempotency_key;
    so.source = "opexctl improve";
    so.user_id = "opex-improve";
    auto r = e.submit_output(p.to_json().at("todo"), so).get();
    // The same proposal applied earlier today with other numbers: its TODO exists already.
    bool earlier = r.error.code == error_code::idempotency_conflict;
    bool ok = r.status == request_status::succeeded || earlier;
    if (!ok && code == exit_succeeded)
      code = r.status == request_status::rejected ? exit_refused : r.status == request_status::awaiting_approval ? exit_awaiting : exit_failed;
    if (o.json_output)
      results.push_back(json::object{{"proposal", p.to_json()}, {"request_id", r.request_id},
                                     {"status", earlier ? "succeeded" : request_status_name(r.status)},
                                     {"replayed", r.replayed || earlier}});
    else
      std::cout << (ok ? "created" : std::string(request_status_name(r.status))) << (r.replayed || earlier ? " (already today)" : "")
                << "  TODO " << p.title << "  request " << r.request_id << "\n";
  }
  if (o.json_output)
    std::cout << json::serialize(json::object{{"applied", std::move(results)}}) << std::endl;
  return code;
}

int improve(const improve_args& a, const common_options& o) {
  if (!o.server.empty())
    return print_error(make_error(error_code::validation_error, "improve reads the database: run it without --server",
                                  json::object{{"option", "--server"}}),
                       o);
  auto e = make_engine(o, false, !a.apply);
  auto proposals = proposals_of(e, a);
  if (!proposals)
    return print_error(proposals.error(), o, proposals.error().code == error_code::validation_error ? exit_usage : exit_failed);
  if (a.apply)
    return apply(e, *proposals, o);
  if (o.json_output) {
    json::array out;
    for (const auto& p : *proposals)
      out.push_back(p.to_json());
    std::cout << json::serialize(json::object{{"proposals", std::move(out)}}) << std::endl;
  } else if (proposals->empty()) {
    std::cout << "no proposal: nothing in the journal crosses a threshold\n";
  } else {
    for (const auto& p : *proposals)
      print_proposal(p);
  }
  return exit_succeeded;
}

} // namespace

void add_improve_command(CLI::App& app, command_list& out) {
  auto a = std::make_shared<improve_args>();
  auto* cmd = app.add_subcommand("improve", "Propose TODOs for human review from the journal: recurrent errors, slow "
                                            "workflows, cost anomalies, unused tools (never changes the configuration)");
  cmd->add_option("--since", a->since, "Window start (default: until - 30 days)");
  cmd->add_option("--until", a->until, "Window end, excluded (default: now)");
  cmd->add_option("--tenant", a->tenant, "Only this tenant");
  cmd->add_option("--failure-rate", a->settings.failure_rate, "A tool failing more than this fraction with one error code")
    ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--min-executions", a->settings.min_executions, "Steps a tool needs in the window to be judged")
    ->check(CLI::PositiveNumber);
  cmd->add_option("--latency-target-ms", a->settings.latency_target_ms, "A workflow whose p95 exceeds this (ms)")
    ->check(CLI::PositiveNumber);
  cmd->add_option("--cost-factor", a->settings.cost_factor, "A day costing more than this times the daily mean")
    ->check(CLI::PositiveNumber);
  cmd->add_option("--unused-days", a->settings.unused_days, "A catalogue tool with no step for this many days")
    ->check(CLI::PositiveNumber);
  cmd->add_flag("--apply", a->apply, "Create the proposed TODOs (TODO_CREATE) through the guarded pipeline");
  out.push_back({cmd, [a](const common_options& o) { return improve(*a, o); }});
}

} // namespace opexctl
