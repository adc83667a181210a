// opex_connector_bench: the cost of one tool call through each real connector, against real
// peers on this machine.
//
//   opex_connector_bench MCP_BIN_DIR [--calls N] [--in-flight K]
//
// MCP_BIN_DIR holds mcp-server-everything (tools/scripts/install-mcp-peers.sh prints it). For
// the stdio and Streamable HTTP transports: N sequential `echo` calls (p50/p99 latency, µs), then
// N calls with K in flight (calls/s); then the same echo as a one-step plan through the whole
// engine (Proxy Master, supervisor, executor, journal) for the engine's share. Prints one line
// per measure; nothing is asserted.
#include "opex/connectors/http_client.hpp"
#include "opex/connectors/mcp_connector.hpp"
#include "opex/engine.hpp"
#include "opex/json_util.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>

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

void measure(const std::string& label, connectors::mcp_connector& c, const std::string& server, int calls, int in_flight) {
  if (!one_call(c, server)) {  // starts the server, and is not counted
    std::cout << label << ": the server did not answer\n";
    return;
  }
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
  double secs = us_since(t0) / 1e6;
  std::printf("%-28s sequential p50 %8.1f us  p99 %8.1f us | %d in flight: %8.0f calls/s\n", label.c_str(),
              percentile(lat, 0.5), percentile(lat, 0.99), in_flight, calls / secs);
}

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}


void usage(std::FILE* to) {
  std::fputs("usage: opex_connector_bench MCP_BIN_DIR [--calls N] [--in-flight K]\n"
             "MCP calls over stdio and Streamable HTTP, alone and as a plan step.\n"
             "MCP_BIN_DIR: tools/scripts/install-mcp-peers.sh prints it. tools/bench/README.md has the figures.\n",
             to);
}

int positive(const std::string& option, const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0 || v > 10'000'000) {
    std::fprintf(stderr, "opex_connector_bench: %s needs a positive number, not '%s'\n", option.c_str(), text);
    std::exit(2);
  }
  return static_cast<int>(v);
}

int run(const std::string& bin, int calls, int in_flight);

} // namespace

/// Exit codes: 0 done, 1 a measure failed (an exception, named on stderr), 2 bad arguments.
int main(int argc, char** argv) {
  std::string bin;
  int calls = 2000, in_flight = 16;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    }
    if (a == "--calls" || a == "--in-flight") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "opex_connector_bench: %s needs a value\n", a.c_str());
        return 2;
      }
      (a == "--calls" ? calls : in_flight) = positive(a, argv[++i]);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "opex_connector_bench: unknown option %s\n", a.c_str());
      usage(stderr);
      return 2;
    } else if (bin.empty()) {
      bin = a;
    } else {
      std::fprintf(stderr, "opex_connector_bench: one MCP_BIN_DIR, not also %s\n", a.c_str());
      return 2;
    }
  }
  if (bin.empty() || !std::filesystem::exists(std::filesystem::path(bin) / "mcp-server-everything")) {
    std::fprintf(stderr, "opex_connector_bench: MCP_BIN_DIR must hold mcp-server-everything%s\n",
                 bin.empty() ? "" : (" (" + bin + " does not)").c_str());
    usage(stderr);
    return 2;
  }
  try {
    return run(bin, calls, in_flight);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opex_connector_bench: %s\n", e.what());
    return 1;
  }
}

namespace {

int run(const std::string& bin, int calls, int in_flight) {
  auto http = std::make_shared<connectors::http_client>();

  {  // stdio
    connectors::mcp_connector_options o;
    mcp_server_settings s;
    s.name = "everything";
    s.command = bin + "/mcp-server-everything";
    s.args = {"stdio"};
    o.settings.servers["everything"] = s;
    o.http = http;
    connectors::mcp_connector c(std::move(o));
    measure("mcp stdio echo", c, "everything", calls, in_flight);
  }
  {  // Streamable HTTP
    auto port = free_port();
    auto env = boost::this_process::environment();
    env["PORT"] = std::to_string(port);
    bp::child server(bp::exe = bin + "/mcp-server-everything", bp::args = {"streamableHttp"}, env,
                     bp::std_out > bp::null, bp::std_err > bp::null, bp::std_in < bp::null);
    for (int i = 0; i < 200; ++i) {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket sock(io);
      boost::system::error_code ec;
      sock.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
      if (!ec)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // waiting for a peer to listen
    }
    connectors::mcp_connector_options o;
    mcp_server_settings s;
    s.name = "everything-http";
    s.transport = "streamable_http";
    s.url = "http://127.0.0.1:" + std::to_string(port) + "/mcp";
    o.settings.servers["everything-http"] = s;
    o.http = http;
    {
      connectors::mcp_connector c(std::move(o));
      measure("mcp streamable_http echo", c, "everything-http", calls, in_flight);
    }
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
        std::cout << "engine: request failed\n";
        break;
      }
    }
    std::printf("%-28s one-step plan p50 %8.1f us  p99 %8.1f us (%d requests)\n", "engine + mcp stdio echo",
                percentile(lat, 0.5), percentile(lat, 0.99), requests);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}

} // namespace
