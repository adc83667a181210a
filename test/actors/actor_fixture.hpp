// A Catch2 fixture around CAF 0.17's deterministic scheduler (test_coordinator): the agents
// run on one thread under test control, time moves only with advance_time(), and tool calls
// go to a scripted connector (fault injection: outcomes per attempt, or no answer at all).
#pragma once

#include "agents.hpp"

#include "opex/config.hpp"
#include "opex/ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include <boost/json/parse.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>

namespace opex::test {

/// Completes calls synchronously with what the script says for (tool, attempt); nullopt
/// means the call never completes (an attempt timeout then fires). Counts calls.
class scripted_connector final : public connectors::connector {
public:
  using script = std::function<std::optional<connectors::call_outcome>(const tool_definition&,
                                                                       const boost::json::object&, int attempt)>;
  explicit scripted_connector(script s) : script_(std::move(s)) {}

  connectors::cancel_handle call(const tool_definition& tool, const boost::json::object& payload,
                                 const connectors::call_context& ctx, connectors::call_completion done) override {
    ++calls[tool.id];
    payloads[tool.id] = payload;
    order.push_back(ctx.step);
    if (auto out = script_(tool, payload, ctx.attempt)) {
      done(std::move(*out));
      return {};
    }
    abandoned.push_back(done);  // never answered, unless cancelled
    auto cancelled_calls = &cancelled;
    return [done, cancelled_calls] {
      ++*cancelled_calls;
      connectors::call_outcome o;
      o.error = make_error(error_code::cancelled, "cancelled");
      done(std::move(o));
    };
  }

  /// Targets are per tool ("target:TOOL") so tests see the circuit breakers.
  std::string breaker_key(const tool_definition& tool) const override {
    return breakers ? "target:" + tool.id : std::string{};
  }

  bool breakers = false;
  int cancelled = 0;

  std::map<std::string, int> calls;
  std::map<std::string, boost::json::object> payloads;
  std::vector<int> order;
  std::vector<connectors::call_completion> abandoned;

private:
  script script_;
};

/// Answers LLM calls from a script, synchronously: call number (0-based) -> the response text
/// or an error. Records every request.
class scripted_llm final : public connectors::llm_service {
public:
  using script = std::function<result<connectors::llm_response>(int call, const connectors::llm_request&)>;
  scripted_llm(llm_settings settings, script s) : settings_(std::move(settings)), script_(std::move(s)) {}

  connectors::cancel_handle complete(const std::string&, const connectors::llm_request& request,
                                     connectors::llm_completion done, std::chrono::milliseconds) const override {
    requests.push_back(request);
    done(script_(static_cast<int>(requests.size()) - 1, request));
    return {};
  }
  const llm_settings& settings() const noexcept override { return settings_; }

  mutable std::vector<connectors::llm_request> requests;

private:
  llm_settings settings_;
  script script_;
};

/// A model answer with usage (100 tokens in, 50 out).
inline connectors::llm_response llm_text(std::string text) {
  connectors::llm_response r;
  r.text = std::move(text);
  r.model = "scripted-model";
  r.usage.input_tokens = 100;
  r.usage.output_tokens = 50;
  r.usage.cost_usd = 0.001;
  return r;
}

inline connectors::call_outcome ok_outcome(boost::json::value data = boost::json::object{}) {
  connectors::call_outcome o;
  o.ok = true;
  o.data = std::move(data);
  return o;
}

inline connectors::call_outcome failed_outcome(error_code code, boost::json::object details = {}) {
  connectors::call_outcome o;
  o.error = make_error(code, "scripted failure", std::move(details));
  return o;
}

/// Where a test receives a request's result (set when the scheduler has run far enough).
using result_slot = std::shared_ptr<std::optional<request_result>>;

inline result_slot slot() {
  return std::make_shared<std::optional<request_result>>();
}

/// A runtime with the default configuration (per-level plan sizes lifted: plan size has its
/// own tests), the embedded schemas, a fixed clock and the agents' plain logic; no actors.
inline std::shared_ptr<actors::runtime> test_runtime(const std::function<void(opex_config&)>& adjust = {}) {
  auto rt = std::make_shared<actors::runtime>();
  rt->config = load_config("").value();
  for (auto& [level, def] : rt->config.autonomy.levels)
    def.max_tools_per_plan.reset();
  if (adjust)
    adjust(rt->config);
  rt->schemas = schema_registry::with_embedded();
  rt->time = make_fixed_clock(*parse_iso8601("2026-11-18T09:00:00+01:00"), false);
  rt->kimmy = std::make_unique<actors::kimmy_classifier>(rt->config);
  rt->planner = std::make_unique<actors::rule_planner>(rt->config);
  rt->proxy = std::make_unique<actors::proxy_checker>(rt->config, *rt->schemas);
  return rt;
}

struct actor_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<actors::runtime> rt;
  std::shared_ptr<scripted_connector> connector;
  actors::agent_actor kimmy;

  explicit actor_fixture(scripted_connector::script s, std::function<void(opex_config&)> adjust = {},
                         std::shared_ptr<const connectors::llm_service> llm = nullptr) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.console", caf::atom("none"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    rt = test_runtime(adjust);
    connector = std::make_shared<scripted_connector>(std::move(s));
    rt->connectors.emplace("builtin", connector);
    rt->connectors.emplace("webhook", connector);
    if (llm) {
      rt->llm = std::move(llm);
      rt->llm_plans = std::make_unique<actors::llm_planner>(rt->config, *rt->schemas, *rt->proxy);
      rt->llm_kimmy = std::make_unique<actors::llm_classifier>(rt->config, *rt->kimmy);
    }
    kimmy = actors::spawn_agents(*sys, rt, ":memory:", false).value();
    sched->run();
  }

  ~actor_fixture() {
    caf::anon_send_exit(kimmy, caf::exit_reason::user_shutdown);
    rt->requests.stop_all();  // plans parked for an approval
    actors::stop_agents(*sys, *rt);
    sched->run();
    rt->connectors.clear();
  }

  /// Sends a ProlexOutput (JSON text) to the Proxy Master; `out` is set when the result
  /// arrives (after sched->run()).
  void submit_output(const std::string& text, std::shared_ptr<std::optional<request_result>> out) {
    actors::request_context ctx;
    ctx.request_id = make_uuid_v4();
    ctx.entry = actors::entry_point::proxy;
    ctx.received = rt->elapsed_now();
    ctx.raw = std::make_shared<const boost::json::value>(boost::json::parse(text));
    auto target = rt->proxy_master;
    sys->spawn([ctx, target, out](caf::event_based_actor* self) {
      self->request(target, std::chrono::minutes(10), actors::run_atom::value, ctx)
        .then([out](actors::request_outcome& o) { *out = std::move(*o.result); },
              [out](caf::error&) { *out = request_result{}; });
    });
  }

  /// Sends text to Kimmy (the full pipeline); `out` is set when the result arrives.
  void submit_text(const std::string& text, std::shared_ptr<std::optional<request_result>> out,
                   std::string request_id = make_uuid_v4()) {
    actors::request_context ctx;
    ctx.request_id = std::move(request_id);
    ctx.entry = actors::entry_point::kimmy;
    ctx.received = rt->elapsed_now();
    ctx.text = std::make_shared<const std::string>(text);
    auto target = kimmy;
    sys->spawn([ctx, target, out](caf::event_based_actor* self) {
      self->request(target, std::chrono::minutes(10), actors::run_atom::value, ctx)
        .then([out](actors::request_outcome& o) { *out = std::move(*o.result); },
              [out](caf::error&) { *out = request_result{}; });
    });
  }

  /// Journal rows of the in-memory journal.
  boost::json::array journal(const std::string& request_id) {
    auto rows = std::make_shared<boost::json::array>();
    journal_query q;
    q.request_id = request_id;
    auto j = rt->store;
    sys->spawn([j, q, rows](caf::event_based_actor* self) {
      self->request(j, std::chrono::seconds(10), actors::query_atom::value, q)
        .then([rows](std::shared_ptr<const boost::json::array>& r) { *rows = *r; });
    });
    sched->run();
    return *rows;
  }
};

} // namespace opex::test
