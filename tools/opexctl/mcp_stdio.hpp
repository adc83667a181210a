// What `opexctl mcp serve` shares between its two modes (cmd_mcp_serve.cpp: the engine in this
// process; cmd_mcp_bridge.cpp: opexd's /mcp): stdout one message per line, the signals, and
// the stdin loop.
#pragma once

#include "opexctl.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace opexctl {

/// stdout, one message per line, shared by every thread that answers; counts the messages
/// handled and not ended yet (for the drain).
class line_writer {
public:
  void write(const boost::json::object& message) {
    std::lock_guard lock(m_);
    std::cout << boost::json::serialize(message) << '\n' << std::flush;
  }
  void opened() {
    std::lock_guard lock(m_);
    ++open_;
  }
  void ended() {
    std::lock_guard lock(m_);
    --open_;
    cv_.notify_all();
  }
  bool drain(std::chrono::milliseconds most) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, most, [this] { return open_ == 0; });
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  int open_ = 0;
};

/// The signals the loop reacts to, turned into bytes on a pipe it polls with stdin.
class signal_pipe {
public:
  signal_pipe() {
    sigemptyset(&set_);
    for (int s : {SIGTERM, SIGINT, SIGHUP})
      sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before the engine starts its threads
    if (pipe(fds_) != 0)
      throw std::runtime_error("cannot create a pipe");
  }
  void start() {
    thread_ = std::thread([this] {
      timespec tick{0, 100'000'000};
      while (!stopped_) {
        int s = sigtimedwait(&set_, nullptr, &tick);
        if (s > 0) {
          char c = s == SIGHUP ? 'h' : 't';
          (void)!::write(fds_[1], &c, 1);
        }
      }
    });
  }
  int fd() const noexcept { return fds_[0]; }
  ~signal_pipe() {
    stopped_ = true;
    if (thread_.joinable())
      thread_.join();
    close(fds_[0]);
    close(fds_[1]);
  }

private:
  sigset_t set_;
  int fds_[2] = {-1, -1};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

/// One line from stdin as a JSON-RPC message; nullopt for a blank line, or after writing the
/// JSON-RPC parse error (-32700) of a line that is not JSON.
inline std::optional<boost::json::value> parse_line(const std::string& line, line_writer& out) {
  if (line.find_first_not_of(" \t\r") == std::string::npos)
    return std::nullopt;
  boost::system::error_code ec;
  auto message = boost::json::parse(line, ec);
  if (!ec)
    return message;
  out.write(boost::json::object{{"jsonrpc", "2.0"}, {"id", nullptr},
                                {"error", boost::json::object{{"code", -32700}, {"message", "parse error: " + ec.message()}}}});
  return std::nullopt;
}

/// Reads stdin line by line until it ends or SIGTERM/SIGINT; SIGHUP calls `on_hup`.
void stdio_loop(signal_pipe& signals, const std::function<void(const std::string&)>& on_line,
                const std::function<void()>& on_hup);

/// `opexctl mcp serve --server URL`: each line from stdin is POSTed to opexd's /mcp, each
/// answer (JSON, or the events of a stream) written to stdout; returns the exit code.
int serve_remote(int drain_ms, const common_options& o);

} // namespace opexctl
