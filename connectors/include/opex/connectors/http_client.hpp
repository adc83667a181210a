// An asynchronous HTTP/1.1 client over Boost.Beast (HTTP and HTTPS) running on its own
// io_context threads, with a pool of kept-alive connections per origin: the executors' way to
// reach webhooks, n8n, MCP servers and model endpoints without blocking actor threads.
#pragma once

#include "opex/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opex::connectors {

/// A URL split for a connection: scheme http|https, host, port (default 80/443), target
/// (path and query, "/" when empty).
struct parsed_url {
  std::string scheme;
  std::string host;
  std::string port;
  std::string target;
};

/// Parses `http[s]://host[:port][/target]`; nullopt for anything else.
std::optional<parsed_url> parse_url(std::string_view url);

/// One request. `timeout` bounds the whole exchange (resolve, connect, TLS, write, read).
struct http_request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
};

/// The response: status, headers (names lower-cased), body.
struct http_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  /// The first header with this (lower-case) name, or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

/// Client settings: I/O threads, extra CA bundle, TLS verification (on by default), maximum
/// response body (bytes), and the connection pool (docs/performance.md, "Connection pool"):
/// at most `max_connections_per_origin` connections open at once to one scheme://host:port
/// (further requests wait for one, in arrival order, within their own timeout), and an idle
/// connection kept for `idle_timeout` (0: a connection per request). The default, 4 s, is
/// below Node.js's 5 s keep-alive timeout (n8n, MCP SDK servers), so opex closes first.
struct http_client_options {
  int threads = 1;
  std::string ca_file;
  bool verify_tls = true;
  std::size_t max_response_bytes = 8 * 1024 * 1024;
  std::size_t max_connections_per_origin = 64;
  std::chrono::milliseconds idle_timeout{4000};
};

/// Connection counters: `opened` and `reused` (requests sent on a kept-alive connection)
/// since the client started; `open` (idle, busy or connecting) and `idle` now.
struct http_connection_stats {
  std::uint64_t opened = 0;
  std::uint64_t reused = 0;
  std::uint64_t open = 0;
  std::uint64_t idle = 0;
};

/// Completion: an error (CONNECTION_FAILED with details {stage, reason}, stage one of resolve,
/// connect, tls, write, read; TIMEOUT with details {stage, timeout_ms}, stage `pool` when no
/// connection became free in time; CANCELLED) or the response (any status). Called once, on an
/// I/O thread. A request sent on a kept-alive connection that the server had closed is sent
/// once more on a new connection when that cannot do the work twice: an idempotent method, or
/// an `Idempotency-Key` header; otherwise that failure is reported (CONNECTION_FAILED).
using http_completion = std::function<void(error_info, http_response)>;

/// The client. Thread-safe; its destructor stops the I/O threads and abandons calls in flight
/// (their completions are then never called: destroy it only after its callers).
class http_client {
public:
  explicit http_client(http_client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Starts a request; never blocks. The returned function abandons it: the connection is
  /// closed and `done` reports CANCELLED (if it has not completed yet).
  std::function<void()> send(http_request request, http_completion done);

  /// The pool's counters (both schemes together).
  http_connection_stats connection_stats() const;

  /// A client released from one of its own completions cannot join that thread: it ends by
  /// itself after the completion returns, releasing the client's state. Waits until every such
  /// thread in the process has ended, at most `within`; true when none is left. Whoever is
  /// about to end the process waits here, so that cleanup does not race exit().
  static bool wait_for_threads(std::chrono::milliseconds within);

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace opex::connectors
