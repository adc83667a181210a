// Benchmark baseline: in-process plans of no-op builtin steps (chain, fan-out, diamond; 10 to
// 10,000 steps) through the whole engine (schema check, Proxy Master, supervisor, executor,
// journal on SQLite), next to a bare CAF request/response round trip measured in the same run.
// Prints steps/s, µs per step, p50/p99 plan latency, and the ratio to the CAF round trip.
//
//   opex_plan_bench [--quick] [--shapes chain,fanout,diamond] [--sizes 10,100,1000,10000]
//                   [--runs N] [--json]
//
//   --quick    a tenth of the runs (a smoke check, not a figure)
//   --shapes   plan shapes to run (default all three)
//   --sizes    plan sizes in steps (default 10,100,1000,10000)
//   --runs N   runs per shape and size (default 300/60/10/3 by size)
//   --json     one JSON object per line instead of the table:
//              {"bench":"plan","shape","steps","runs","steps_per_s","us_per_step","p50_ms","p99_ms",
//               "caf_round_trips_per_step"}, then {"bench":"ask","text","runs","p50_ms","p99_ms"}
//   -h, --help this text
// Exit codes: 0 done, 1 a plan failed, 2 bad arguments.
#include "bench_cli.hpp"
#include "opex/engine.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <string>
#include <vector>

namespace json = boost::json;
using steady = std::chrono::steady_clock;

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;

/// Mean µs of one request/response between two actors (sequential, like one step's hop).
double caf_round_trip_us(int rounds) {
  caf::actor_system_config cfg;
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};
  auto pong = sys.spawn([]() -> caf::behavior { return {[](ping_atom, int x) { return x + 1; }}; });
  std::promise<double> result;
  auto done = result.get_future();
  sys.spawn([pong, rounds, &result](caf::event_based_actor* self) {
    auto start = std::make_shared<steady::time_point>(steady::now());
    auto next = std::make_shared<std::function<void(int)>>();
    *next = [=, &result](int i) {
      if (i == rounds) {
        auto us = std::chrono::duration<double, std::micro>(steady::now() - *start).count();
        result.set_value(us / rounds);
        self->quit();
        return;
      }
      self->request(pong, std::chrono::seconds(10), ping_atom::value, i).then([=](int) { (*next)(i + 1); });
    };
    (*next)(0);
  });
  auto us = done.get();
  caf::anon_send_exit(pong, caf::exit_reason::user_shutdown);
  return us;
}

json::value make_plan(const std::string& shape, int n) {
  json::array plan;
  plan.reserve(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i) {
    json::object step{{"step", i}, {"tool", "NOOP"}, {"payload", json::object{}}};
    json::array deps;
    if (shape == "chain" && i > 1)
      deps.emplace_back(i - 1);
    if (shape == "diamond" && i > 1 && i < n)
      deps.emplace_back(1);
    if (shape == "diamond" && i == n && n > 1)
      for (int d = 2; d < n; ++d)
        deps.emplace_back(d);
    if (!deps.empty())
      step["depends_on"] = std::move(deps);
    plan.push_back(std::move(step));
  }
  return json::object{{"type", "multi_tool_plan"}, {"plan", std::move(plan)}};
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(idx, v.size() - 1)];
}

struct bench_args {
  bool quick = false;
  bool json = false;
  int runs = 0;
  std::string config;  ///< opex.yml, "" = the built-in configuration
  std::vector<std::string> shapes{"chain", "fanout", "diamond"};
  std::vector<int> sizes{10, 100, 1000, 10000};
};

void usage(std::FILE* to) {
  std::fputs("usage: opex_plan_bench [--quick] [--shapes chain,fanout,diamond] [--sizes 10,100,1000,10000]\n"
             "                       [--runs N] [--config opex.yml] [--json]\n"
             "Plans of NOOP steps through the whole engine against a CAF round trip measured in the same run.\n"
             "tools/bench/README.md describes the output and the published figures.\n",
             to);
}

/// Parses the command line; exits 0 for --help, 2 with a message naming the bad argument.
bench_args parse_args(int argc, char** argv) {
  bench_args a;
  opex::bench::arg_reader r(argc, argv, "opex_plan_bench", usage);
  while (r.next()) {
    const auto& arg = r.arg();
    if (arg == "-h" || arg == "--help") {
      r.help();
    } else if (arg == "--quick") {
      a.quick = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--runs") {
      a.runs = std::atoi(r.value().c_str());
      if (a.runs <= 0)
        r.fail("--runs must be a positive number");
    } else if (arg == "--config") {
      a.config = r.value();
    } else if (arg == "--shapes") {
      a.shapes = opex::bench::split_list(r.value());
      for (const auto& s : a.shapes)
        if (s != "chain" && s != "fanout" && s != "diamond")
          r.fail("unknown shape " + s + " (chain, fanout, diamond)");
    } else if (arg == "--sizes") {
      a.sizes.clear();
      for (const auto& s : opex::bench::split_list(r.value())) {
        int n = std::atoi(s.c_str());
        if (n < 2)
          r.fail("a size must be a number of at least 2 steps, not " + s);
        a.sizes.push_back(n);
      }
    } else {
      r.fail("unknown argument " + arg);
    }
  }
  return a;
}

/// Runs every shape and size of plan; false when a plan did not succeed.
bool bench_plans(opex::engine& engine, const bench_args& args, double rt_us) {
  if (!args.json)
    std::printf("%-8s %6s %5s %12s %10s %12s %12s %10s\n", "shape", "steps", "runs", "steps/s", "us/step",
                "p50 plan ms", "p99 plan ms", "x CAF RT");
  for (const auto& shape : args.shapes) {
    for (int n : args.sizes) {
      int runs = args.runs > 0 ? args.runs : n <= 10 ? 300 : n <= 100 ? 60 : n <= 1000 ? 10 : 3;
      if (args.quick)
        runs = std::max(1, runs / 10);
      auto plan = make_plan(shape, n);
      (void) engine.submit_output(plan).get();  // warm-up
      std::vector<double> latencies;
      auto total_start = steady::now();
      for (int r = 0; r < runs; ++r) {
        auto t0 = steady::now();
        auto res = engine.submit_output(plan).get();
        latencies.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
        if (res.status != opex::request_status::succeeded) {
          std::cerr << "plan failed: " << opex::error_code_name(res.error.code) << " " << res.error.message << "\n";
          return false;
        }
      }
      double total_s = std::chrono::duration<double>(steady::now() - total_start).count();
      double steps = static_cast<double>(n) * runs;
      double us_per_step = total_s * 1e6 / steps;
      const char* format = args.json
                             ? "{\"bench\":\"plan\",\"shape\":\"%s\",\"steps\":%d,\"runs\":%d,\"steps_per_s\":%.0f,"
                               "\"us_per_step\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"caf_round_trips_per_step\":%.2f}\n"
                             : "%-8s %6d %5d %12.0f %10.2f %12.2f %12.2f %10.1f\n";
      std::printf(format, shape.c_str(), n, runs, steps / total_s, us_per_step, percentile(latencies, 0.5),
                  percentile(latencies, 0.99), us_per_step / rt_us);
      std::fflush(stdout);
    }
  }
  return true;
}

/// The full pipeline from text (Kimmy's rules, Prolex's table, Proxy Master, one builtin step).
bool bench_ask(opex::engine& engine, const bench_args& args) {
  if (!args.json)
    std::printf("\n%-46s %6s %12s %12s\n", "ask (full pipeline, one TASK_CREATE)", "runs", "p50 ms", "p99 ms");
  for (const std::string text : {"Crée une tâche pour acheter du pain demain",
                                 "Créer une tâche pour réviser l'architecture Prolex avant vendredi"}) {
    int runs = args.quick ? 20 : 300;
    std::vector<double> latencies;
    for (int r = 0; r < runs; ++r) {
      auto t0 = steady::now();
      auto res = engine.submit_text(text).get();
      latencies.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
      if (res.status != opex::request_status::succeeded)
        return false;
    }
    if (args.json)
      std::printf("%s\n", json::serialize(json::object{{"bench", "ask"},
                                                        {"text", text},
                                                        {"runs", runs},
                                                        {"p50_ms", percentile(latencies, 0.5)},
                                                        {"p99_ms", percentile(latencies, 0.99)}})
                              .c_str());
    else
      std::printf("%-46.46s %6d %12.3f %12.3f\n", text.c_str(), runs, percentile(latencies, 0.5),
                  percentile(latencies, 0.99));
  }
  return true;
}

} // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  auto loaded = opex::load_config(args.config);
  if (!loaded) {
    std::cerr << "opex_plan_bench: " << loaded.error().message << "\n";
    return 2;
  }
  auto dir = std::filesystem::temp_directory_path() / "opex-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  double rt_us = caf_round_trip_us(args.quick ? 20000 : 200000);
  if (args.json)
    std::printf("{\"bench\":\"caf_round_trip\",\"us\":%.3f}\n", rt_us);
  else
    std::printf("CAF request/response round trip: %.2f us (%.0f/s)\n\n", rt_us, 1e6 / rt_us);

  auto cfg = std::move(loaded).value();
  cfg.system.max_plan_steps = 0;           // benchmarks run plans far above the policy limits
  for (auto& [level, def] : cfg.autonomy.levels)
    def.max_tools_per_plan.reset();
  cfg.execution.max_parallelism = 64;
  opex::engine_options eo;
  eo.config = std::move(cfg);
  eo.database = (dir / "bench.db").string();
  opex::engine engine(std::move(eo));
  if (!bench_plans(engine, args, rt_us) || !bench_ask(engine, args))
    return 1;
  engine.flush_journal();
  std::filesystem::remove_all(dir);
  return 0;
}
