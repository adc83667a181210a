// A scriptable HTTP server on 127.0.0.1 and port 0 for tests: each request goes to a handler
// the test sets, and every request is recorded in arrival order. Optional TLS with a
// self-signed certificate generated at start. Fault injection (delays, dropped connections,
// status sequences) is the handler's business.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace opex::test {

/// A request as the server received it.
struct recorded_request {
  std::string method;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  std::chrono::steady_clock::time_point received;
  std::size_t connection = 0;  ///< which accepted connection carried it (1 = the first)
  bool tls_resumed = false;    ///< TLS mode: that connection resumed an earlier session
};

/// What to answer. `drop` closes the connection without answering; `delay` waits first
/// (on a timer, not a sleep).
struct scripted_response {
  scripted_response() = default;
  scripted_response(int s, std::string b, std::vector<std::pair<std::string, std::string>> h = {})
    : status(s), body(std::move(b)), headers(std::move(h)) {}

  int status = 200;
  std::string body = "{}";
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};
  bool drop = false;
  bool close_after = false;  ///< answers with keep-alive, then closes the connection anyway
};

/// The server. Thread-safe: the handler runs on the server's I/O thread.
class loopback_server {
public:
  using handler = std::function<scripted_response(const recorded_request&)>;

  /// Starts listening on 127.0.0.1:0; `tls` serves HTTPS with a fresh self-signed
  /// certificate for "localhost" and 127.0.0.1 (its PEM is in ca_pem_path()).
  explicit loopback_server(handler h, bool tls = false);
  ~loopback_server();

  std::uint16_t port() const;
  /// "http://127.0.0.1:PORT" or "https://localhost:PORT".
  std::string base_url() const;
  /// File holding the certificate (TLS mode), for the client's ca_file.
  std::string ca_pem_path() const;

  /// Every request received so far, in arrival order.
  std::vector<recorded_request> requests() const;

  void set_handler(handler h);

  /// Connections accepted so far.
  std::size_t connections_accepted() const;
  /// Waits (bounded by `limit`) until at least `n` connections were closed by either side;
  /// false when the limit passed first.
  bool wait_closed(std::size_t n, std::chrono::milliseconds limit) const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace opex::test
