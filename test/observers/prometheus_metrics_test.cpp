// The Prometheus observer fed by hand: each hook lands in its series with the documented
// labels and units (docs/operations.md, "Metrics").
#include "opex/observers/prometheus_metrics.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace opex;
using opex::observers::prometheus_metrics;

namespace {

/// The value of one series line (`name{labels} value`), or -1 when absent.
double value_of(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

} // namespace

TEST_CASE("prometheus_metrics: requests, attempts, retries, steps and durations land in their series") {
  prometheus_metrics m;
  m.on_request_start({"r1", "acme", "u", "api", "kimmy", {}});
  attempt_ended a;
  a.request_id = "r1";
  a.tenant = "acme";
  a.tool = "TASK_CREATE";
  a.outcome = step_status::failed;
  a.retry_in = std::chrono::milliseconds(200);
  m.on_attempt_end(a);
  a.outcome = step_status::succeeded;
  a.retry_in.reset();
  a.cost_usd = 0.25;
  m.on_attempt_end(a);
  step_ended s;
  s.tool = "TASK_CREATE";
  s.attempts = 2;
  s.duration_ms = 1500;
  m.on_step_end(s);
  request_result r;
  r.request_id = "r1";
  r.status = request_status::succeeded;
  r.output = prolex_output{};
  r.output->type = output_type::tool_call;
  r.duration_ms = 2000;
  m.on_request_end(r);
  request_result refused;  // never started here (a request the facade refused): proxy, default
  refused.request_id = "r2";
  refused.status = request_status::rejected;
  m.on_request_end(refused);

  auto t = m.exposition();
  CHECK(value_of(t, R"(opex_requests_total{entry="kimmy",status="succeeded",tenant="acme",type="tool_call"})") == 1);
  CHECK(value_of(t, R"(opex_requests_total{entry="proxy",status="rejected",tenant="default",type="none"})") == 1);
  CHECK(value_of(t, R"(opex_step_attempts_total{outcome="failed",tool="TASK_CREATE"})") == 1);
  CHECK(value_of(t, R"(opex_step_attempts_total{outcome="succeeded",tool="TASK_CREATE"})") == 1);
  CHECK(value_of(t, R"(opex_step_retries_total{tool="TASK_CREATE"})") == 1);
  CHECK(value_of(t, R"(opex_steps_total{status="succeeded",tool="TASK_CREATE"})") == 1);
  CHECK(value_of(t, R"(opex_step_duration_seconds_sum{tool="TASK_CREATE"})") == Approx(1.5));
  CHECK(value_of(t, R"(opex_step_duration_seconds_bucket{tool="TASK_CREATE",le="1"})") == 0);
  CHECK(value_of(t, R"(opex_step_duration_seconds_bucket{tool="TASK_CREATE",le="2.5"})") == 1);
  CHECK(value_of(t, R"(opex_request_duration_seconds_sum{entry="kimmy"})") == Approx(2.0));
  CHECK(value_of(t, R"(opex_cost_usd_total{tenant="acme",tool="TASK_CREATE"})") == Approx(0.25));
}

TEST_CASE("prometheus_metrics: breakers, approvals, model tokens and commits") {
  prometheus_metrics m;
  m.on_breaker_change({"r1", 0, "TASK_CREATE", "http://x", "closed", "open"});
  m.on_approval({"r1", 1, "EMAIL_SEND", "a1", approval_status::pending, "high risk"});
  m.on_approval({"r1", 1, "EMAIL_SEND", "a1", approval_status::approved, ""});
  m.set_pending_approvals({{"acme", 2}});
  model_call_ended call;
  call.tenant = "acme";
  call.agent = "prolex";
  call.endpoint = "main";
  call.input_tokens = 120;
  call.output_tokens = 30;
  call.cost_usd = 0.002;
  m.on_model_call(call);
  call.error_code = "TIMEOUT";
  call.input_tokens = call.output_tokens = 0;
  call.cost_usd = 0;
  m.on_model_call(call);
  m.on_commit({3, 2, 4.0, true});
  m.on_commit({5, 0, 1.0, false});

  auto t = m.exposition();
  CHECK(value_of(t, R"(opex_circuit_breaker_state{state="open",target="http://x"})") == 1);
  CHECK(value_of(t, R"(opex_circuit_breaker_state{state="closed",target="http://x"})") == 0);
  CHECK(value_of(t, R"(opex_circuit_breaker_transitions_total{from="closed",target="http://x",to="open"})") == 1);
  CHECK(value_of(t, R"(opex_approvals_total{status="pending"})") == 1);
  CHECK(value_of(t, R"(opex_approvals_total{status="approved"})") == 1);
  CHECK(value_of(t, R"(opex_approvals_pending{tenant="acme"})") == 2);
  CHECK(value_of(t, R"(opex_approvals_pending{tenant="default"})") == 0);
  CHECK(value_of(t, R"(opex_llm_tokens_total{direction="input",tenant="acme",tool="prolex"})") == 120);
  CHECK(value_of(t, R"(opex_llm_tokens_total{direction="output",tenant="acme",tool="prolex"})") == 30);
  CHECK(value_of(t, R"(opex_cost_usd_total{tenant="acme",tool="prolex"})") == Approx(0.002));
  CHECK(value_of(t, R"(opex_model_calls_total{agent="prolex",endpoint="main",outcome="ok"})") == 1);
  CHECK(value_of(t, R"(opex_model_calls_total{agent="prolex",endpoint="main",outcome="TIMEOUT"})") == 1);
  CHECK(value_of(t, "opex_journal_batch_entries_sum") == 3);
  CHECK(value_of(t, "opex_journal_batch_rows_sum") == 2);
  CHECK(value_of(t, "opex_journal_commit_seconds_sum") == Approx(0.004));
  CHECK(value_of(t, "opex_journal_commit_failures_total") == 1);

  // A breaker snapshot moves the state gauges; the pending gauge of a tenant seen before drops to 0.
  m.set_breakers({{"http://x", "half_open"}});
  m.set_pending_approvals({});
  t = m.exposition();
  CHECK(value_of(t, R"(opex_circuit_breaker_state{state="half_open",target="http://x"})") == 1);
  CHECK(value_of(t, R"(opex_circuit_breaker_state{state="open",target="http://x"})") == 0);
  CHECK(value_of(t, R"(opex_approvals_pending{tenant="acme"})") == 0);
}
