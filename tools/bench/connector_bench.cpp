// opex_connector_bench: the cost of one tool call through each real connector, against real
// peers on this machine.
//
//   opex_connector_bench MCP_BIN_DIR [--calls N] [--in-flight K] [--json] [--no-reuse]
//
// MCP_BIN_DIR holds mcp-server-everything (tools/scripts/install-mcp-peers.sh prints it). Over
// stdio and Streamable HTTP to the reference `everything` server, then over Streamable HTTP to
// an echo server made with the official MCP SDK (tools/bench/mcp_echo_server.mjs, which answers
// faster than `everything`, so the client's own rate shows): N sequential `echo` calls (p50/p99
// latency, µs), then N calls with K in flight (calls/s, and this process's CPU per call, µs, which
// bounds the client's own rate when the server is the slower side) and the HTTP connections
// they opened;
// then the same echo as a one-step plan through the whole engine (Proxy Master, supervisor,
// executor, journal). One line per measure, or with --json one JSON object per line:
//   {"bench":"connector","measure":"...","p50_us":..,"p99_us":..,"in_flight":K,
//    "calls_per_s":..,"cpu_us_per_call":..,"connections_opened":..}
// --no-reuse opens a connection per HTTP call, as the client did before its connection pool,
// for a before/after in one run. Nothing is asserted.
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/mcp_connector.hpp"
#include "opex/engine.hpp"
#include "opex/json_util.hpp"

#include "bench_cli.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>
#include <boost/process/search_path.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace json = boost::json;
namespace bp = boost::process;
using namespace opex;
using clock_type = std::chrono::steady_clock;

namespace {

double us_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

bool one_call(connectors::mcp_connector& c, const std::string& server) {
  std::promise<bool> p;
  auto f = p.get_future();
  c.call_tool(server, "echo", json::object{{"message", "bench"}}, std::chrono::seconds(30),
              [&p](connectors::call_outcome out) { p.set_value(out.ok); });
  return f.get();
}

/// One measure's figures.
struct figures {
  std::string measure;
  double p50_us = 0, p99_us = 0, calls_per_s = 0;
  int in_flight = 0;
  long long connections_opened = -1;  ///< HTTP only
  double cpu_us_per_call = 0;         ///< this process's CPU (user + system) per call in flight
};

/// CPU time (user + system) this process has used, in µs.
double process_cpu_us() {
  ::rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto us = [](const ::timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_usec); };
  return us(u.ru_utime) + us(u.ru_stime);
}

bool json_output = false;
bool no_reuse = false;  ///< --no-reuse: a connection per HTTP call (how the client worked before its pool)

void report(const figures& f) {
  if (json_output) {
    json::object o{{"bench", "connector"}, {"measure", f.measure}, {"p50_us", f.p50_us}, {"p99_us", f.p99_us}};
    if (f.in_flight > 0) {
      o["in_flight"] = f.in_flight;
      o["calls_per_s"] = f.calls_per_s;
      o["cpu_us_per_call"] = f.cpu_us_per_call;
    }
    if (f.connections_opened >= 0)
      o["connections_opened"] = f.connections_opened;
    std::cout << json::serialize(o) << std::endl;
    return;
  }
  std::printf("%-32s p50 %8.1f us  p99 %8.1f us", f.measure.c_str(), f.p50_us, f.p99_us);
  if (f.in_flight > 0)
    std::printf(" | %d in flight: %6.0f calls/s, %5.1f us CPU/call", f.in_flight, f.calls_per_s, f.cpu_us_per_call);
  if (f.connections_opened >= 0)
    std::printf(" | %lld connections", f.connections_opened);
  std::printf("\n");
  std::fflush(stdout);
}

figures measure(const std::string& label, connectors::mcp_connector& c, const std::string& server, int calls, int in_flight) {
  figures f;
  f.measure = label;
  if (!one_call(c, server))  // starts the server, and is not counted
    throw std::runtime_error(label + ": the server did not answer");
  std::vector<double> lat;
  lat.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    auto t = clock_type::now();
    one_call(c, server);
    lat.push_back(us_since(t));
  }
  std::mutex m;
  std::condition_variable cv;
  int started = 0, finished = 0, running = 0;
  auto t0 = clock_type::now();
  auto cpu0 = process_cpu_us();
  std::function<void()> launch = [&] {
    ++started;
    ++running;
    c.call_tool(server, "echo", json::object{{"message", "bench"}}, std::chrono::seconds(30), [&](connectors::call_outcome) {
      std::lock_guard lock(m);
      ++finished;
      --running;
      cv.notify_one();
    });
  };
  {
    std::unique_lock lock(m);
    while (finished < calls) {
      while (started < calls && running < in_flight)
        launch();
      cv.wait(lock);
    }
  }
  f.p50_us = percentile(lat, 0.5);
  f.p99_us = percentile(lat, 0.99);
  f.in_flight = in_flight;
  f.calls_per_s = calls / (us_since(t0) / 1e6);
  f.cpu_us_per_call = (process_cpu_us() - cpu0) / calls;
  return f;
}

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}


void usage(std::FILE* to) {
  std::fputs("usage: opex_connector_bench MCP_BIN_DIR [--calls N] [--in-flight K] [--json] [--no-reuse]\n"
             "MCP calls over stdio and Streamable HTTP, alone and as a plan step.\n"
             "  MCP_BIN_DIR    tools/scripts/install-mcp-peers.sh prints it\n"
             "  --calls N      calls per measure (default 2000)\n"
             "  --in-flight K  calls in flight for the rate (default 16)\n"
             "  --json         one JSON object per measure instead of the table\n"
             "  --no-reuse     open a connection per HTTP call (the client before its pool)\n"
             "Exit codes: 0 done, 1 a measure failed, 2 bad arguments. tools/bench/README.md has the figures.\n",
             to);
}

int positive(const opex::bench::arg_reader& r, const std::string& option, const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || v <= 0 || v > 10'000'000)
    r.fail(option + " needs a positive number, not '" + text + "'");
  return static_cast<int>(v);
}

int run(const std::string& bin, int calls, int in_flight);

} // namespace

/// Exit codes: 0 done, 1 a measure failed (an exception, named on stderr), 2 bad arguments.
int main(int argc, char** argv) {
  std::string bin;
  int calls = 2000, in_flight = 16;
  opex::bench::arg_reader r(argc, argv, "opex_connector_bench", usage);
  while (r.next()) {
    const auto& a = r.arg();
    if (a == "-h" || a == "--help")
      r.help();
    else if (a == "--calls" || a == "--in-flight")
      (a == "--calls" ? calls : in_flight) = positive(r, a, r.value());
    else if (a == "--json")
      json_output = true;
    else if (a == "--no-reuse")
      no_reuse = true;
    else if (!a.empty() && a[0] == '-')
      r.fail("unknown option " + a);
    else if (bin.empty())
      bin = a;
    else
      r.fail("one MCP_BIN_DIR, not also " + a);
  }
  if (bin.empty() || !std::filesystem::exists(std::filesystem::path(bin) / "mcp-server-everything"))
    r.fail("MCP_BIN_DIR must hold mcp-server-everything" + (bin.empty() ? std::string() : " (" + bin + " does not)"));
  try {
    return run(std::filesystem::absolute(bin).string(), calls, in_flight);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opex_connector_bench: %s\n", e.what());
    return 1;
  }
}

namespace {

void wait_listening(std::uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket sock(io);
    boost::system::error_code ec;
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // waiting for a peer to listen
  }
  throw std::runtime_error("no MCP server listening on port " + std::to_string(port));
}

/// Calls over Streamable HTTP to a server already listening on `port`, with a client of its own
/// so the connections it opened can be counted.
figures measure_http(const std::string& label, std::uint16_t port, int calls, int in_flight) {
  connectors::http_client_options ho;
  if (no_reuse)
    ho.idle_timeout = std::chrono::milliseconds(0);
  auto http = std::make_shared<connectors::http_client>(ho);
  connectors::mcp_connector_options o;
  mcp_server_settings s;
  s.name = "http-peer";
  s.transport = "streamable_http";
  s.url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  o.settings.servers["http-peer"] = s;
  o.http = http;
  figures f;
  {
    connectors::mcp_connector c(std::move(o));
    f = measure(label, c, "http-peer", calls, in_flight);
  }
  f.connections_opened = static_cast<long long>(http->connection_stats().opened);
  return f;
}

int run(const std::string& bin, int calls, int in_flight) {
  {  // stdio
    connectors::mcp_connector_options o;
    mcp_server_settings s;
    s.name = "everything";
    s.command = bin + "/mcp-server-everything";
    s.args = {"stdio"};
    o.settings.servers["everything"] = s;
    o.http = std::make_shared<connectors::http_client>();
    connectors::mcp_connector c(std::move(o));
    report(measure("mcp stdio everything", c, "everything", calls, in_flight));
  }
  {  // Streamable HTTP, the reference server
    auto port = free_port();
    auto env = boost::this_process::environment();
    env["PORT"] = std::to_string(port);
    bp::child server(bp::exe = bin + "/mcp-server-everything", bp::args = {"streamableHttp"}, env,
                     bp::std_out > bp::null, bp::std_err > bp::null, bp::std_in < bp::null);
    wait_listening(port);
    report(measure_http("mcp streamable_http everything", port, calls, in_flight));
    server.terminate();
  }
  {  // Streamable HTTP, the SDK's own server with one echo tool
    auto port = free_port();
    auto modules = std::filesystem::path(bin).parent_path().string();
    bp::child server(bp::search_path("node"), bp::args = {OPEX_BENCH_DIR "/mcp_echo_server.mjs", modules, std::to_string(port)},
                     bp::std_out > bp::null, bp::std_err > bp::null, bp::std_in < bp::null);
    wait_listening(port);
    report(measure_http("mcp streamable_http sdk-echo", port, calls, in_flight));
    server.terminate();
  }
  {  // the same echo as a plan step through the engine
    auto dir = std::filesystem::temp_directory_path() / ("opex-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "tools.yml") << "- id: MCP_ECHO\n  category: mcp\n  auto_allowed_levels: [1, 2, 3]\n"
                                        "  target: {type: mcp_tool, server: everything, tool_name: echo}\n";
    std::ofstream(dir / "opex.yml") << "extra_catalogues: [tools.yml]\nmcp:\n  servers:\n    everything:\n      command: "
                                    << bin << "/mcp-server-everything\n      args: [stdio]\n";
    engine_options eo;
    eo.config_path = (dir / "opex.yml").string();
    eo.database = (dir / "opex.db").string();
    engine eng(eo);
    auto plan = parse_json(R"({"type":"tool_call","tool":"MCP_ECHO","payload":{"message":"bench"}})").value();
    eng.submit_output(plan).get();  // starts the server
    int requests = std::max(1, calls / 4);
    std::vector<double> lat;
    for (int i = 0; i < requests; ++i) {
      auto t = clock_type::now();
      auto r = eng.submit_output(plan).get();
      lat.push_back(us_since(t));
      if (r.status != request_status::succeeded) {
        throw std::runtime_error("engine: request failed: " + json::serialize(to_json(r)));
      }
    }
    figures f;
    f.measure = "engine + mcp stdio everything";
    f.p50_us = percentile(lat, 0.5);
    f.p99_us = percentile(lat, 0.99);
    report(f);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}

} // namespace
