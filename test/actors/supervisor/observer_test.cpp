// Observers (opex/observer.hpp) under the deterministic scheduler: the hooks arrive in the order
// things happen (attempts, retries, step ends, breaker changes, approvals), and live progress is
// one observer built over them (opex/progress.hpp).
#include "../actor_fixture.hpp"

#include "opex/progress.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <string>
#include <vector>

using namespace opex;
using namespace opex::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// Writes every hook as one line, e.g. "attempt_end 1 NOOP #1 failed CONNECTION_FAILED retry 1000".
class recording_observer final : public observer {
public:
  void on_request_start(const request_started& e) override { add("request_start " + e.entry); }
  void on_request_end(const request_result& r) override {
    add("request_end " + std::string(request_status_name(r.status)));
  }
  void on_attempt_start(const attempt_started& e) override {
    add("attempt_start " + std::to_string(e.step) + " " + e.tool + " #" + std::to_string(e.attempt));
  }
  void on_attempt_end(const attempt_ended& e) override {
    std::string line = "attempt_end " + std::to_string(e.step) + " " + e.tool + " #" + std::to_string(e.attempt) + " "
                       + std::string(step_status_name(e.outcome));
    if (!e.error_code.empty())
      line += " " + e.error_code;
    if (e.retry_in)
      line += " retry " + std::to_string(e.retry_in->count());
    add(line);
  }
  void on_step_end(const step_ended& e) override {
    add("step_end " + std::to_string(e.step) + " " + e.tool + " " + std::string(step_status_name(e.status)) + " "
        + std::to_string(e.attempts) + (e.error_code.empty() ? "" : " " + e.error_code));
  }
  void on_breaker_change(const breaker_changed& e) override {
    add("breaker " + e.target + " " + e.from + "->" + e.to + " step " + std::to_string(e.step));
  }
  void on_approval(const approval_changed& e) override {
    add("approval " + std::to_string(e.step) + " " + e.tool + " " + std::string(approval_status_name(e.status)));
  }

  std::vector<std::string> lines() {
    std::lock_guard lock(m_);
    return lines_;
  }

private:
  void add(std::string s) {
    std::lock_guard lock(m_);
    lines_.push_back(std::move(s));
  }
  std::mutex m_;
  std::vector<std::string> lines_;
};

} // namespace

TEST_CASE("observers: attempts, a retry, step ends and skips arrive in order") {
  actor_fixture f([](const tool_definition&, const json::object& payload, int attempt) {
    if (payload.contains("fail"))
      return std::optional(failed_outcome(error_code::validation_error));
    if (attempt < 2)
      return std::optional(failed_outcome(error_code::connection_failed));
    return std::optional(ok_outcome());
  });
  auto rec = std::make_shared<recording_observer>();
  f.rt->observers.add(rec);
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[
      {"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{"fail":true},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{},"depends_on":[2]}]})",
                  out);
  f.sched->run();
  f.sched->advance_time(1000ms);
  f.sched->run();
  REQUIRE(out->has_value());
  CHECK(rec->lines() == std::vector<std::string>{
                          "attempt_start 1 NOOP #1",
                          "attempt_end 1 NOOP #1 failed CONNECTION_FAILED retry 1000",
                          "attempt_start 1 NOOP #2",
                          "attempt_end 1 NOOP #2 succeeded",
                          "step_end 1 NOOP succeeded 2",
                          "attempt_start 2 NOOP #1",
                          "attempt_end 2 NOOP #1 failed VALIDATION_ERROR",
                          "step_end 2 NOOP failed 1 VALIDATION_ERROR",
                          "step_end 3 NOOP skipped 0 DEPENDENCY_FAILED",
                        });
}

TEST_CASE("observers: a breaker that opens is observed with its target and the step that opened it") {
  actor_fixture f([](const tool_definition&, const json::object&, int) {
    return std::optional(failed_outcome(error_code::connection_failed));
  },
                  [](opex_config& cfg) {
                    cfg.circuit_breaker.minimum_number_of_calls = 2;
                    cfg.circuit_breaker.sliding_window_size = 2;
                    cfg.circuit_breaker.failure_rate_threshold = 50;
                    cfg.execution.retry.maximum_attempts = 1;
                    cfg.execution.max_parallelism = 1;
                  });
  f.connector->breakers = true;
  auto rec = std::make_shared<recording_observer>();
  f.rt->observers.add(rec);
  auto out = slot();
  f.submit_output(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{}},{"step":3,"tool":"NOOP","payload":{}}]})",
                  out);
  f.sched->run();
  REQUIRE(out->has_value());
  auto lines = rec->lines();
  CHECK(std::count(lines.begin(), lines.end(), "breaker target:NOOP closed->open step 2") == 1);
  CHECK(std::count(lines.begin(), lines.end(), "step_end 3 NOOP failed 1 CIRCUIT_OPEN") == 1);
}

TEST_CASE("observers: live progress is an observer over the same hooks") {
  std::vector<progress_event> seen;
  auto progress = make_progress_observer([&](const progress_event& ev) { seen.push_back(ev); });
  REQUIRE(progress);
  CHECK_FALSE(make_progress_observer({}));

  progress->on_attempt_start(attempt_started{"r1", 1, "NOOP", 1, ""});
  attempt_ended failed;
  failed.request_id = "r1";
  failed.step = 1;
  failed.tool = "NOOP";
  failed.outcome = step_status::failed;
  failed.error_code = "CONNECTION_FAILED";
  failed.message = "refused";
  failed.retry_in = 20ms;
  failed.retry_reason = "retryable";
  progress->on_attempt_end(failed);
  failed.retry_in.reset();
  progress->on_attempt_end(failed);  // no retry: the step's end says it
  step_ended end;
  end.request_id = "r1";
  end.step = 1;
  end.tool = "NOOP";
  end.status = step_status::succeeded;
  end.attempts = 2;
  progress->on_step_end(end);
  progress->on_approval(approval_changed{"r1", 2, "RESTORE_BACKUP", "appr-1", approval_status::pending, "high risk"});
  progress->on_approval(approval_changed{"r1", 2, "RESTORE_BACKUP", "appr-1", approval_status::approved, ""});
  progress->on_breaker_change(breaker_changed{"r1", 1, "NOOP", "webhook:127.0.0.1", "closed", "open"});

  REQUIRE(seen.size() == 5);
  CHECK(seen[0].status == step_status::running);
  CHECK(seen[0].attempt == 1);
  CHECK(seen[1].status == step_status::running);
  CHECK(seen[1].error_code == "CONNECTION_FAILED");
  CHECK(seen[1].message == "attempt 1 failed (refused), retry in 20 ms (retryable)");
  CHECK(seen[2].status == step_status::succeeded);
  CHECK(seen[2].attempt == 2);
  CHECK(seen[3].status == step_status::awaiting_approval);
  CHECK(seen[3].error_code == "APPROVAL_REQUIRED");
  CHECK(seen[3].message == "approval appr-1: high risk");
  CHECK(seen[4].kind == progress_kind::breaker);
  CHECK(seen[4].target == "webhook:127.0.0.1");
  CHECK(seen[4].breaker_state == "open");
  CHECK(seen[4].message == "circuit closed -> open");
}
