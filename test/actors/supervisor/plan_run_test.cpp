// plan_run without actors: the ordering rules of docs/durability.md (commit before dispatch,
// before dependents, before the answer), bounded work, resume, secrets, cancellation. Inputs
// go in by hand, with the time given; the commands that come out are inspected.
#include "supervisor/plan_run.hpp"
#include "../actor_fixture.hpp"

#include "opex/ids.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>

using namespace opex;
using namespace opex::actors;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// A runtime with the default configuration and no actors (plan_run gets its plan_parts); a
/// plan checked by the Proxy Master.
struct harness {
  std::shared_ptr<runtime> rt;
  std::unique_ptr<plan_run> run;
  run_time now{};
  std::vector<run_command> last;

  explicit harness(const std::string& plan, std::function<void(opex_config&)> adjust = {}) {
    rt = test::test_runtime(adjust);
    rt->masking = policies::masking_rules();
    rt->secrets = std::make_shared<connectors::secret_store>();
    request_context ctx;
    ctx.request_id = make_uuid_v4();
    ctx.idempotency_key = ctx.request_id;
    auto checked = rt->proxy->check_json(json::parse(plan), guard_for(*rt, ctx));
    if (!checked)
      FAIL(checked.error().message);
    auto p = std::make_shared<const checked_output>(std::move(checked).value());
    ctx.output = std::shared_ptr<const prolex_output>(p, &p->output);
    run = std::make_unique<plan_run>(plan_parts_of(rt), ctx, p, now);
  }

  std::vector<run_command>& take() {
    last = run->take_commands();
    return last;
  }

  template <class T>
  std::vector<T*> all() {
    std::vector<T*> out;
    for (auto& c : last)
      if (auto* x = std::get_if<T>(&c))
        out.push_back(x);
    return out;
  }

  /// The tokens of the persists that wait for a commit.
  std::vector<std::uint64_t> commits() {
    std::vector<std::uint64_t> out;
    for (auto* p : all<run_cmd::persist>())
      if (p->commit != 0)
        out.push_back(p->commit);
    return out;
  }

  std::vector<int> dispatched_steps() {
    std::vector<int> out;
    for (auto* d : all<run_cmd::dispatch>())
      out.push_back(d->call.context.step);
    return out;
  }

  /// Starts and commits the request row; returns the dispatches that follow.
  void start_committed() {
    run->start(now);
    take();
    REQUIRE(commits().size() == 1);
    REQUIRE(dispatched_steps().empty());
    run->committed(commits().front(), now);
    take();
  }

  run_cmd::dispatch dispatch_of(int step) {
    for (auto* d : all<run_cmd::dispatch>())
      if (d->call.context.step == step)
        return *d;
    FAIL("step " << step << " was not dispatched");
    return {};
  }
};

connectors::call_outcome ok(json::object data = {}) {
  connectors::call_outcome o;
  o.ok = true;
  o.data = std::move(data);
  return o;
}

connectors::call_outcome failed(error_code code) {
  connectors::call_outcome o;
  o.error = make_error(code, "scripted failure");
  return o;
}

} // namespace

TEST_CASE("plan_run: no step is dispatched before the request row is committed") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
                                                  {"step":2,"tool":"NOOP","payload":{}}]})");
  h.run->start(h.now);
  h.take();
  auto persists = h.all<run_cmd::persist>();
  REQUIRE(persists.size() == 1);
  REQUIRE(persists[0]->commit != 0);
  REQUIRE(persists[0]->writes.requests.size() == 1);
  const auto& row = persists[0]->writes.requests[0];
  CHECK(row.status == "running");
  CHECK(row.output.is_object());
  CHECK(row.idempotency_key == h.run->request_id());
  CHECK(h.dispatched_steps().empty());
  h.run->committed(persists[0]->commit, h.now);
  h.take();
  CHECK(h.dispatched_steps() == std::vector<int>{1, 2});
}

TEST_CASE("plan_run: a dependent waits for its dependency's commit, an independent step does not") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{}},
      {"step":4,"tool":"NOOP","payload":{},"depends_on":[3]}]})");
  h.start_committed();
  CHECK(h.dispatched_steps() == std::vector<int>{1, 3});
  auto one = h.dispatch_of(1), three = h.dispatch_of(3);
  h.run->outcome(0, one.call.call_id, ok(), h.now);
  h.take();
  auto t1 = h.commits();
  REQUIRE(t1.size() == 1);
  CHECK(h.dispatched_steps().empty());  // step 2 waits for step 1's commit
  h.run->outcome(2, three.call.call_id, ok(), h.now);
  h.take();
  auto t3 = h.commits();
  REQUIRE(t3.size() == 1);
  CHECK(h.dispatched_steps().empty());
  h.run->committed(t3.front(), h.now);  // commits may be acknowledged in any order here
  h.take();
  CHECK(h.dispatched_steps() == std::vector<int>{4});
  h.run->committed(t1.front(), h.now);
  h.take();
  CHECK(h.dispatched_steps() == std::vector<int>{2});
}

TEST_CASE("plan_run: the answer is delivered only after the final state is committed") {
  harness h(R"({"type":"tool_call","tool":"NOOP","payload":{"echo":"x"}})");
  h.start_committed();
  auto d = h.dispatch_of(1);
  h.run->outcome(0, d.call.call_id, ok(json::object{{"echo", "x"}}), h.now);
  h.take();
  CHECK(h.all<run_cmd::deliver>().empty());
  auto persists = h.all<run_cmd::persist>();
  REQUIRE(persists.size() == 1);  // the step's outcome and the final state: one commit
  const auto& w = persists[0]->writes;
  REQUIRE(w.requests.size() == 1);
  CHECK(w.requests[0].status == "succeeded");
  CHECK(w.requests[0].result.is_object());
  REQUIRE(w.steps.size() == 1);
  CHECK(w.steps[0].status == "succeeded");
  bool plan_entry = false;
  for (const auto& e : w.entries)
    plan_entry |= !e.tags.empty() && e.tags.front() == "plan";
  CHECK(plan_entry);
  h.run->committed(persists[0]->commit, h.now);
  h.take();
  auto delivered = h.all<run_cmd::deliver>();
  REQUIRE(delivered.size() == 1);
  CHECK(delivered[0]->to_caller);
  CHECK(delivered[0]->result->status == request_status::succeeded);
  CHECK(h.all<run_cmd::finished>().size() == 1);
  CHECK(h.run->over());
}

TEST_CASE("plan_run: the awaiting_approval answer waits for its commit too") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"RESTORE_BACKUP","payload":{"backup_id":"b1"}}]})",
            [](opex_config& c) { c.autonomy_level = 3; });
  h.start_committed();
  auto approvals = h.all<run_cmd::open_approval>();
  REQUIRE(approvals.size() == 1);
  approval_reply reply;
  reply.approval = approvals[0]->record;
  reply.approval->id = "appr-1";
  auto one = h.dispatch_of(1);
  h.run->approval_recorded(approvals[0]->step, reply, h.now);
  h.take();
  h.run->outcome(0, one.call.call_id, ok(), h.now);
  h.take();
  // Step 1's outcome, then the early answer's row: two commits, and no answer yet.
  auto tokens = h.commits();
  REQUIRE(tokens.size() == 2);
  CHECK(h.all<run_cmd::deliver>().empty());
  CHECK(h.all<run_cmd::persist>().back()->writes.requests.at(0).status == "awaiting_approval");
  h.run->committed(tokens[0], h.now);
  h.take();
  CHECK(h.all<run_cmd::deliver>().empty());
  h.run->committed(tokens[1], h.now);
  h.take();
  auto delivered = h.all<run_cmd::deliver>();
  REQUIRE(delivered.size() == 1);
  CHECK(delivered[0]->result->status == request_status::awaiting_approval);
  CHECK_FALSE(delivered[0]->to_watchers);
  CHECK_FALSE(h.run->over());
}

TEST_CASE("plan_run: retries follow the policy's delays on the given clock") {
  harness h(R"({"type":"tool_call","tool":"NOOP","payload":{}})");
  h.start_committed();
  auto d = h.dispatch_of(1);
  h.run->outcome(0, d.call.call_id, failed(error_code::connection_failed), h.now);
  h.take();
  auto timers = h.all<run_cmd::schedule>();
  REQUIRE(timers.size() == 1);
  CHECK(timers[0]->delay == 1000ms);
  h.now += 1000ms;
  h.run->timer(0, h.now);
  h.take();
  auto second = h.dispatch_of(1);
  CHECK(second.call.context.attempt == 2);
  CHECK(second.call.context.idempotency_key == d.call.context.idempotency_key);
  h.run->outcome(0, second.call.call_id, failed(error_code::connection_failed), h.now);
  h.take();
  CHECK(h.all<run_cmd::schedule>().at(0)->delay == 2000ms);
}

TEST_CASE("plan_run: a zero interval gets the floor and unlimited attempts stop at the cap") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},
                "retry":{"maximum_attempts":0,"initial_interval_ms":0}}]})");
  h.start_committed();
  std::size_t started_entries = 0, failed_entries = 0;
  auto count_entries = [&] {
    for (auto* p : h.all<run_cmd::persist>())
      for (const auto& e : p->writes.entries) {
        if (e.tags == std::vector<std::string>{"attempt", "started"})
          ++started_entries;
        if (e.tags == std::vector<std::string>{"attempt", "retrying"})
          ++failed_entries;
      }
  };
  count_entries();
  int attempts = 0;
  std::optional<run_cmd::persist> final_persist;
  for (;;) {
    auto dispatches = h.all<run_cmd::dispatch>();
    if (dispatches.empty())
      break;
    ++attempts;
    h.run->outcome(0, dispatches[0]->call.call_id, failed(error_code::connection_failed), h.now);
    h.take();
    count_entries();
    auto timers = h.all<run_cmd::schedule>();
    if (timers.empty()) {
      for (auto* p : h.all<run_cmd::persist>())
        if (p->commit)
          final_persist = *p;
      break;
    }
    CHECK(timers[0]->delay == 10ms);  // execution.minimum_retry_interval_ms
    h.now += timers[0]->delay;
    h.run->timer(0, h.now);
    h.take();
    count_entries();
  }
  CHECK(attempts == 100);  // execution.maximum_attempts_per_step
  CHECK(started_entries == 20);  // journal.max_attempt_entries
  CHECK(failed_entries == 20);
  REQUIRE(final_persist);
  const auto& step = final_persist->writes.steps.at(0);
  CHECK(step.status == "failed");
  CHECK(step.attempts == 100);
  CHECK(step.error.at("details").at("attempt_cap") == 100);
  bool summary = false;
  for (const auto& e : final_persist->writes.entries)
    if (e.data.is_object() && e.data.as_object().contains("attempt_summary")) {
      summary = true;
      CHECK(e.data.at("attempt_summary").at("omitted") == 80);
      // attempts 21 to 99 failed and were retried unjournaled; the 100th is the step's own error
      CHECK(e.data.at("attempt_summary").at("omitted_error_codes").at("CONNECTION_FAILED") == 79);
    }
  CHECK(summary);
}

TEST_CASE("plan_run: resume re-runs the step that was running, with a note, and never a committed one") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]},
      {"step":3,"tool":"NOOP","payload":{"echo":"{{ step_1.result.echo }}"},"depends_on":[1]}]})");
  stored_plan stored;
  connectors::stored_step s1;
  s1.step = 1;
  s1.tool = "NOOP";
  s1.status = "succeeded";
  s1.data = json::object{{"echo", "from before"}};
  s1.attempts = 1;
  connectors::stored_step s2;
  s2.step = 2;
  s2.tool = "NOOP";
  s2.status = "running";
  s2.payload = json::object{};
  s2.attempts = 1;
  stored.steps = {s1, s2};
  h.run->resume(stored, h.now);
  h.take();
  CHECK(h.dispatched_steps() == std::vector<int>{2, 3});
  auto two = h.dispatch_of(2), three = h.dispatch_of(3);
  CHECK(two.call.context.attempt == 2);
  CHECK(h.run->results()[1].attempts.back().note.find("re-run after a restart") != std::string::npos);
  CHECK(three.call.payload->at("echo") == "from before");
  h.run->outcome(1, two.call.call_id, ok(), h.now);
  h.run->outcome(2, three.call.call_id, ok(), h.now);
  h.take();
  for (auto t : h.commits())
    h.run->committed(t, h.now);
  h.take();
  auto delivered = h.all<run_cmd::deliver>();
  REQUIRE(delivered.size() == 1);
  CHECK_FALSE(delivered[0]->to_caller);  // nobody waits on a resumed plan
  CHECK(delivered[0]->to_watchers);
  CHECK(delivered[0]->result->status == request_status::succeeded);
}

TEST_CASE("plan_run: a commit that fails stops the run and dispatches nothing more") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})");
  h.start_committed();
  auto one = h.dispatch_of(1);
  h.run->outcome(0, one.call.call_id, ok(), h.now);
  h.take();
  auto token = h.commits().at(0);
  h.run->commit_failed(token, make_error(error_code::internal_error, "disk full"), h.now);
  h.take();
  CHECK(h.dispatched_steps().empty());
  auto final_token = h.commits();
  REQUIRE(final_token.size() == 1);
  h.run->committed(final_token[0], h.now);
  h.take();
  auto delivered = h.all<run_cmd::deliver>();
  REQUIRE(delivered.size() == 1);
  CHECK(delivered[0]->result->status == request_status::failed);
  CHECK(delivered[0]->result->steps[1].status == step_status::cancelled);
}

TEST_CASE("plan_run: a secret is resolved into the call only, and masked where it comes back") {
  ::setenv("OPEX_SECRET_DEFAULT_PLAN_RUN_TOKEN", "s3cr3t-value-42", 1);
  harness h(R"({"type":"tool_call","tool":"NOOP","payload":{"echo":"key={{ secrets.plan_run_token }}"}})");
  h.start_committed();
  auto d = h.dispatch_of(1);
  CHECK(d.call.payload->at("echo") == "key=s3cr3t-value-42");
  std::string stored;
  for (auto* p : h.all<run_cmd::persist>())
    for (const auto& s : p->writes.steps)
      stored += json::serialize(s.payload);
  CHECK(stored.find("{{ secrets.plan_run_token }}") != std::string::npos);
  CHECK(stored.find("s3cr3t") == std::string::npos);
  h.run->outcome(0, d.call.call_id, ok(json::object{{"echo", "key=s3cr3t-value-42"}}), h.now);
  h.take();
  auto p = h.all<run_cmd::persist>().at(0);
  std::string written;
  for (const auto& s : p->writes.steps)
    written += json::serialize(s.data);
  for (const auto& r : p->writes.requests)
    written += json::serialize(r.result);
  CHECK(written.find("s3cr3t") == std::string::npos);
  CHECK(written.find("key=***") != std::string::npos);
  ::unsetenv("OPEX_SECRET_DEFAULT_PLAN_RUN_TOKEN");
}

TEST_CASE("plan_run: a secret the tenant does not have fails the step, not the guard") {
  harness h(R"({"type":"tool_call","tool":"NOOP","payload":{"echo":"{{ secrets.absent_one }}"}})");
  h.start_committed();
  CHECK(h.dispatched_steps().empty());
  auto p = h.all<run_cmd::persist>().at(0);
  CHECK(p->writes.steps.at(0).status == "failed");
  CHECK(p->writes.steps.at(0).error.at("error_code") == "SECRET_NOT_FOUND");
}

TEST_CASE("plan_run: cancellation abandons the call in flight and answers after the commit") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"NOOP","payload":{},"depends_on":[1]}]})");
  h.start_committed();
  auto one = h.dispatch_of(1);
  h.run->cancel(h.now);
  h.take();
  auto abandons = h.all<run_cmd::abandon>();
  REQUIRE(abandons.size() == 1);
  CHECK(abandons[0]->call_id == one.call.call_id);
  CHECK(h.all<run_cmd::deliver>().empty());
  auto t = h.commits();
  REQUIRE(t.size() == 1);
  h.run->committed(t[0], h.now);
  h.take();
  auto delivered = h.all<run_cmd::deliver>();
  REQUIRE(delivered.size() == 1);
  CHECK(delivered[0]->result->status == request_status::cancelled);
  // A late outcome of the abandoned call changes nothing.
  h.run->outcome(0, one.call.call_id, ok(), h.now);
  CHECK(h.take().empty());
}

TEST_CASE("plan_run: the request deadline times the plan out between retries") {
  harness h(R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{},"retry":{"maximum_attempts":10}}]})",
            [](opex_config& c) { c.system.max_execution_time_minutes = 1; });
  h.start_committed();
  auto d = h.dispatch_of(1);
  CHECK(d.timeout <= 60000ms);
  h.now += 61s;
  h.run->outcome(0, d.call.call_id, failed(error_code::connection_failed), h.now);
  h.take();
  auto t = h.commits();
  REQUIRE(t.size() == 1);
  h.run->committed(t[0], h.now);
  h.take();
  CHECK(h.all<run_cmd::deliver>().at(0)->result->status == request_status::timed_out);
}

TEST_CASE("plan_run: observations come out only when the engine has observers, approvals included") {
  const std::string plan = R"({"type":"multi_tool_plan","plan":[{"step":1,"tool":"NOOP","payload":{}},
      {"step":2,"tool":"RESTORE_BACKUP","payload":{"backup_id":"b1"}}]})";
  auto level3 = [](opex_config& c) { c.autonomy_level = 3; };
  auto observations = [](harness& h) {
    std::vector<run_cmd::observation> out;
    for (auto* o : h.all<run_cmd::observe>())
      out.push_back(o->event);
    return out;
  };

  harness quiet(plan, level3);
  quiet.start_committed();
  CHECK(observations(quiet).empty());

  harness h(plan, level3);
  h.rt->observers.add(std::make_shared<observer>());
  h.start_committed();
  auto started = observations(h);
  REQUIRE(started.size() == 1);
  REQUIRE(std::holds_alternative<attempt_started>(started[0]));
  CHECK(std::get<attempt_started>(started[0]).step == 1);
  auto approvals = h.all<run_cmd::open_approval>();
  REQUIRE(approvals.size() == 1);
  approval_reply reply;
  reply.approval = approvals[0]->record;
  reply.approval->id = "appr-1";
  h.run->approval_recorded(approvals[0]->step, reply, h.now);
  h.take();
  auto pending = observations(h);
  REQUIRE(pending.size() == 1);
  const auto& a = std::get<approval_changed>(pending[0]);
  CHECK(a.step == 2);
  CHECK(a.tool == "RESTORE_BACKUP");
  CHECK(a.approval_id == "appr-1");
  CHECK(a.status == approval_status::pending);
  CHECK_FALSE(a.reason.empty());

  connectors::approval_record decided = *reply.approval;
  decided.status = approval_status::rejected;
  h.run->decision(decided, "", h.now);
  h.take();
  auto after = observations(h);
  REQUIRE(after.size() == 2);
  CHECK(std::get<approval_changed>(after[0]).status == approval_status::rejected);
  const auto& end = std::get<step_ended>(after[1]);
  CHECK(end.step == 2);
  CHECK(end.status == step_status::skipped);
  CHECK(end.error_code == "APPROVAL_REJECTED");
}
