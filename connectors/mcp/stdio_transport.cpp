// The stdio transport: the server is a child process (Boost.Process v1) reading
// newline-delimited JSON-RPC on stdin and writing it on stdout; stderr is its log.
#include "mcp_transport.hpp"

#include "opex/json_util.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/process/args.hpp>
#include <boost/process/async_pipe.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/handles.hpp>
#include <boost/process/io.hpp>
#include <boost/process/search_path.hpp>
#include <boost/process/start_dir.hpp>

#include <deque>
#include <thread>

#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace opex::connectors::mcp {

namespace asio = boost::asio;
namespace bp = boost::process;
namespace json = boost::json;

namespace {

/// Longest line accepted from the server (16 MiB); a longer one is a protocol violation.
constexpr std::size_t max_line_bytes = 16u << 20;
/// stderr lines kept for error details.
constexpr std::size_t stderr_tail_lines = 20;
/// How long the exit report waits for the server's last stderr lines.
constexpr auto stderr_grace = std::chrono::milliseconds(300);

std::string take_line(asio::streambuf& buf, std::size_t n) {
  std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
  buf.consume(n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.pop_back();
  return line;
}

/// Lives in a shared_ptr: every pending handler holds it, so close() may run while reads are
/// in flight.
class stdio_transport final : public transport {
public:
  stdio_transport(asio::io_context& io, const mcp_server_settings& settings)
    : settings_(settings), stdin_(io), stdout_(io), stderr_(io), exit_timer_(io), out_buf_(max_line_bytes),
      err_buf_(64 * 1024) {}

  ~stdio_transport() override { close(); }

  error_info start(transport_handlers handlers) override {
    handlers_ = std::move(handlers);
    auto fail = [&](std::string reason) {
      return make_error(error_code::connector_unavailable,
                        "cannot start MCP server " + settings_.name + ": " + reason,
                        json::object{{"server", settings_.name}, {"stage", "spawn"}, {"reason", reason},
                                     {"command", settings_.command}});
    };
    boost::filesystem::path exe = settings_.command;
    if (settings_.command.find('/') == std::string::npos) {
      exe = bp::search_path(settings_.command);
      if (exe.empty())
        return fail("command " + settings_.command + " not found in PATH");
    }
    bp::environment env = boost::this_process::environment();
    for (const auto& [name, value] : settings_.env) {
      auto resolved = resolve_reference(value);
      if (!resolved)
        return fail("environment variable " + name + ": " + resolved.error().message);
      env[name] = *resolved;
    }
    // In the child, before exec: SIGPIPE unblocked (the connector's I/O thread blocks it so
    // that a write to a dead server fails instead of killing opex), and every descriptor above
    // stdio marked close-on-exec, so the server inherits only its pipes, not opex's sockets
    // (bp::limit_handles would also close the pipes of async_pipe in Boost 1.81).
    auto unblock = bp::extend::on_exec_setup = [](auto&) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
      ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    };
    std::error_code ec;
    try {
      if (settings_.cwd.empty())
        child_ = bp::child(bp::exe = exe, bp::args = settings_.args, bp::std_in < stdin_, bp::std_out > stdout_,
                           bp::std_err > stderr_, env, unblock, ec);
      else
        child_ = bp::child(bp::exe = exe, bp::args = settings_.args, bp::std_in < stdin_, bp::std_out > stdout_,
                           bp::std_err > stderr_, env, bp::start_dir = settings_.cwd,
                           unblock, ec);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
    if (ec)
      return fail(ec.message());
    running_ = true;
    read_stdout();
    read_stderr();
    return {};
  }

  void send(const json::object& message, std::optional<std::int64_t>, std::chrono::milliseconds) override {
    if (!running_)
      return;
    writes_.push_back(json::serialize(message) + "\n");
    if (writes_.size() == 1)
      write_next();
  }

  void close() override {
    if (closed_)
      return;
    closed_ = true;
    running_ = false;
    boost::system::error_code ignored;
    stdin_.close(ignored);
    exit_timer_.cancel();
    // The specification's shutdown: close stdin, wait, SIGTERM, wait, SIGKILL.
    if (child_.valid()) {
      bool exited = wait_exit(std::chrono::milliseconds(500));
      if (!exited) {
        ::kill(child_.id(), SIGTERM);
        exited = wait_exit(std::chrono::milliseconds(1000));
      }
      std::error_code ec;
      if (!exited)
        child_.terminate(ec);
      else
        child_.wait(ec);
    }
    stdout_.close(ignored);
    stderr_.close(ignored);
  }

  int pid() const override { return child_.valid() ? child_.id() : 0; }

private:
  const mcp_server_settings settings_;
  transport_handlers handlers_;
  bp::async_pipe stdin_;
  bp::async_pipe stdout_;
  bp::async_pipe stderr_;
  asio::steady_timer exit_timer_;
  bp::child child_;
  asio::streambuf out_buf_;
  asio::streambuf err_buf_;
  std::deque<std::string> writes_;
  std::deque<std::string> stderr_tail_;
  std::string exit_reason_;
  bool running_ = false;
  bool closed_ = false;
  bool stdout_done_ = false;
  bool stderr_done_ = false;
  bool reported_ = false;

  std::shared_ptr<stdio_transport> self() {
    return std::static_pointer_cast<stdio_transport>(shared_from_this());
  }

  bool wait_exit(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    std::error_code ec;
    while (child_.running(ec) && !ec) {
      if (std::chrono::steady_clock::now() >= until)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  void write_next() {
    asio::async_write(stdin_, asio::buffer(writes_.front()),
                      [self = self()](boost::system::error_code ec, std::size_t) {
                        if (self->closed_)
                          return;
                        if (ec) {
                          self->stdout_ended("stdin: " + ec.message());
                          return;
                        }
                        self->writes_.pop_front();
                        if (!self->writes_.empty() && self->running_)
                          self->write_next();
                      });
  }

  void read_stdout() {
    asio::async_read_until(stdout_, out_buf_, '\n', [self = self()](boost::system::error_code ec, std::size_t n) {
      if (self->closed_)
        return;
      if (ec) {
        self->stdout_ended(ec == asio::error::eof         ? "stdout closed"
                           : ec == asio::error::not_found ? "a line longer than 16 MiB on stdout"
                                                          : "stdout: " + ec.message());
        return;
      }
      auto line = take_line(self->out_buf_, n);
      if (!line.empty()) {
        if (auto parsed = parse_json(line)) {
          if (self->handlers_.on_message)
            self->handlers_.on_message(std::move(parsed).value());
        } else if (self->handlers_.on_log) {
          self->handlers_.on_log("stdout line that is not JSON-RPC (ignored): " + line.substr(0, 500));
        }
      }
      if (self->running_ && !self->closed_)
        self->read_stdout();
    });
  }

  void read_stderr() {
    asio::async_read_until(stderr_, err_buf_, '\n', [self = self()](boost::system::error_code ec, std::size_t n) {
      if (self->closed_)
        return;
      if (ec == asio::error::not_found) {  // a very long line: keep what fits
        self->log_stderr(take_line(self->err_buf_, self->err_buf_.size()));
        self->read_stderr();
        return;
      }
      if (ec) {
        if (self->err_buf_.size() > 0)
          self->log_stderr(take_line(self->err_buf_, self->err_buf_.size()));
        self->stderr_done_ = true;
        if (self->stdout_done_)
          self->report_exit();
        return;
      }
      self->log_stderr(take_line(self->err_buf_, n));
      self->read_stderr();
    });
  }

  void log_stderr(std::string line) {
    if (line.empty())
      return;
    stderr_tail_.push_back(line.substr(0, 1000));
    if (stderr_tail_.size() > stderr_tail_lines)
      stderr_tail_.pop_front();
    if (handlers_.on_log)
      handlers_.on_log("stderr: " + line);
  }

  /// stdout is gone: the server is dead or unusable. The report waits briefly for stderr's end
  /// so that the server's last words are in it.
  void stdout_ended(std::string reason) {
    if (stdout_done_)
      return;
    stdout_done_ = true;
    running_ = false;
    exit_reason_ = std::move(reason);
    boost::system::error_code ignored;
    stdin_.close(ignored);
    if (stderr_done_) {
      report_exit();
      return;
    }
    exit_timer_.expires_after(stderr_grace);
    exit_timer_.async_wait([self = self()](boost::system::error_code ec) {
      if (!ec && !self->closed_)
        self->report_exit();
    });
  }

  void report_exit() {
    if (reported_ || closed_)
      return;
    reported_ = true;
    exit_timer_.cancel();
    json::object details{{"server", settings_.name}, {"stage", "process"}, {"reason", exit_reason_}};
    if (child_.valid()) {
      details["pid"] = child_.id();
      std::error_code ec;
      if (!wait_exit(std::chrono::milliseconds(200))) {
        child_.terminate(ec);
        details["killed"] = true;
      } else {
        child_.wait(ec);
        details["exit_code"] = child_.exit_code();
      }
    }
    json::array tail;
    for (const auto& l : stderr_tail_)
      tail.emplace_back(l);
    details["stderr_tail"] = std::move(tail);
    boost::system::error_code ignored;
    stdout_.close(ignored);
    stderr_.close(ignored);
    if (handlers_.on_closed)
      handlers_.on_closed(make_error(error_code::connection_failed,
                                     "MCP server " + settings_.name + " stopped: " + exit_reason_, std::move(details)));
  }
};

} // namespace

std::shared_ptr<transport> make_stdio_transport(asio::io_context& io, const mcp_server_settings& settings) {
  return std::make_shared<stdio_transport>(io, settings);
}

} // namespace opex::connectors::mcp
