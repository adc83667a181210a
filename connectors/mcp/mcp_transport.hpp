// How an MCP session exchanges messages with its server: a child process over stdio, or
// Streamable HTTP. Internal to connectors/mcp; every member runs on the connector's single
// I/O thread (the io_context given at construction), and so do the handlers.
#pragma once

#include "opex/config.hpp"
#include "opex/error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace opex::connectors {
class http_client;
}

namespace opex::connectors::mcp {

/// What a transport reports to its session.
struct transport_handlers {
  /// A JSON-RPC message from the server (response, request or notification).
  std::function<void(boost::json::value)> on_message;
  /// The transport is gone (the process exited, its stdout closed): details {exit_code,
  /// stderr_tail}. Not called after close().
  std::function<void(error_info)> on_closed;
  /// Sending request `id` failed (HTTP: connection, status); the request will get no answer.
  /// details.session_expired = true when the server no longer knows the session.
  std::function<void(std::int64_t, error_info)> on_send_failed;
  /// A line the server wrote to stderr, or a transport event worth logging.
  std::function<void(std::string)> on_log;
};

class transport : public std::enable_shared_from_this<transport> {
public:
  virtual ~transport() = default;

  /// Connects (spawns the process). Errors: CONNECTOR_UNAVAILABLE {stage: "spawn", reason}.
  virtual error_info start(transport_handlers handlers) = 0;

  /// Sends one message; `id` is set for requests (so failures can be reported per request).
  virtual void send(const boost::json::object& message, std::optional<std::int64_t> id,
                    std::chrono::milliseconds timeout) = 0;

  /// Abandons what is in flight for request `id` (HTTP: closes its connection).
  virtual void abandon(std::int64_t /*id*/) {}

  /// The negotiated version, sent as MCP-Protocol-Version by the HTTP transport.
  virtual void set_protocol_version(std::string /*version*/) {}

  /// Ends the connection (stdio: closes stdin, then SIGTERM, then SIGKILL; HTTP: DELETE of the
  /// session). No handler is called afterwards.
  virtual void close() = 0;

  /// The child's pid (stdio), 0 otherwise.
  virtual int pid() const { return 0; }
};

/// A child process speaking newline-delimited JSON-RPC on stdin/stdout; stderr lines go to
/// on_log and to the tail kept for error details.
std::shared_ptr<transport> make_stdio_transport(boost::asio::io_context& io, const mcp_server_settings& settings);

/// The connector's I/O context as other threads (the HTTP client's) reach it. Once the connector
/// closes the gate, before its context is destroyed, a post is dropped instead of reaching a
/// destroyed context; what is dropped is destroyed on the posting thread.
class io_gate {
public:
  explicit io_gate(boost::asio::io_context& io) : io_(&io) {}

  template <class Handler>
  void post(Handler&& handler) {
    std::lock_guard lock(mutex_);
    if (io_)
      boost::asio::post(*io_, std::forward<Handler>(handler));
  }

  void close() {
    std::lock_guard lock(mutex_);
    io_ = nullptr;
  }

private:
  std::mutex mutex_;
  boost::asio::io_context* io_;
};

/// Streamable HTTP: each message is a POST (Accept: application/json, text/event-stream);
/// answers come as JSON or as an SSE stream; Mcp-Session-Id is kept from initialize on.
/// Answers reach the connector's thread through `gate`; an exchange in flight holds no strong
/// reference to the transport, so the HTTP client is never released from its own thread.
std::shared_ptr<transport> make_http_transport(std::shared_ptr<io_gate> gate, const mcp_server_settings& settings,
                                               std::shared_ptr<http_client> http);

} // namespace opex::connectors::mcp
