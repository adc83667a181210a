// The HTTP client's connection pool (private to connectors/http): kept-alive connections per
// origin (scheme, host, port), a limit on how many are open at once per origin with a FIFO of
// callers waiting for one, an idle timeout, and TLS session resumption. docs/performance.md,
// "Connection pool", says why each rule is there.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace opex::connectors::http_pool {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

/// Pool limits: connections open at once per origin (more callers wait in arrival order), and
/// how long an idle connection is kept (0 = never kept: one connection per exchange).
struct pool_limits {
  std::size_t max_per_origin = 64;
  std::chrono::milliseconds idle_timeout{4000};
};

/// Counters since the client started; `open` and `idle` are current.
struct pool_counters {
  std::uint64_t opened = 0;  ///< connections created
  std::uint64_t reused = 0;  ///< exchanges that ran on a kept-alive connection
  std::uint64_t open = 0;    ///< open now (idle, in use or connecting)
  std::uint64_t idle = 0;    ///< kept alive and unused now
};

/// One connection. Owned by one exchange at a time (or by the pool while idle); the exchange
/// binds its handlers to its own strand.
template <bool Tls>
struct connection {
  using stream_type = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  connection(asio::io_context& ioc, ssl::context& tls) : stream(make(ioc, tls)), idle_timer(ioc) {}

  tcp::socket& socket() { return beast::get_lowest_layer(stream).socket(); }

  stream_type stream;
  asio::steady_timer idle_timer;
  bool connected = false;      ///< the TCP (and TLS) handshake is done
  std::uint64_t exchanges = 0; ///< exchanges completed on it
  std::uint64_t generation = 0;  ///< bumped (under the pool's lock) whenever it leaves the idle list

private:
  static stream_type make(asio::io_context& ioc, ssl::context& tls) {
    if constexpr (Tls)
      return stream_type(ioc.get_executor(), tls);
    else
      return stream_type(ioc.get_executor());
  }
};

/// Connections to every origin of one scheme. Thread-safe. It must outlive every handler it
/// arms: the client destroys it only after its I/O threads stopped.
template <bool Tls>
class connection_pool {
public:
  using conn_ptr = std::shared_ptr<connection<Tls>>;
  /// Receives the connection granted to a caller: a kept-alive one (connected) or a new one
  /// (not connected yet). Called on the thread that granted it, outside the pool's lock.
  using grant_fn = std::function<void(conn_ptr)>;

  connection_pool(asio::io_context& ioc, ssl::context& tls, pool_limits limits)
    : ioc_(ioc), tls_(tls), limits_(limits) {}
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// Grants a connection at once (the most recently used idle one that is still sound, else a
  /// new one while the origin is under its limit) and returns 0, or queues `grant` and returns
  /// its ticket for withdraw().
  std::uint64_t acquire(const std::string& origin, grant_fn grant);

  /// Takes a queued caller out of the queue; false when it was already granted a connection.
  bool withdraw(const std::string& origin, std::uint64_t ticket);

  /// Gives a connection back after an exchange: kept (handed to the first waiting caller, or
  /// idle) when `reusable`, otherwise closed, which lets a waiting caller open a new one.
  /// Called by the connection's current owner.
  void release(const std::string& origin, conn_ptr c, bool reusable);

  /// Keeps the TLS session of a connection's handshake for the origin's next connections
  /// (resumption: no full handshake). No-op for plain TCP.
  void remember_tls_session(const std::string& origin, connection<Tls>& c);

  pool_counters counters() const;

private:
  struct waiter {
    std::uint64_t ticket;
    grant_fn grant;
  };
  struct origin_state {
    std::vector<conn_ptr> idle;  ///< most recently used last
    std::size_t open = 0;
    std::deque<waiter> waiting;
    void* tls_session = nullptr;  ///< SSL_SESSION*, owned
  };

  conn_ptr make_connection(origin_state& o);
  void watch_idle(const std::string& origin, const conn_ptr& c);
  void on_idle_event(const std::string& origin, const std::weak_ptr<connection<Tls>>& weak, std::uint64_t generation);

  asio::io_context& ioc_;
  ssl::context& tls_;
  const pool_limits limits_;
  mutable std::mutex m_;
  std::unordered_map<std::string, origin_state> origins_;
  std::uint64_t next_ticket_ = 1;
  std::atomic<std::uint64_t> opened_{0};
  std::atomic<std::uint64_t> reused_{0};
};

extern template class connection_pool<false>;
extern template class connection_pool<true>;

} // namespace opex::connectors::http_pool
