// The connection pool: idle connections are watched (a readable socket means the server closed
// it or broke the protocol, and the idle timeout closes it first), checked once more when taken,
// and handed to waiting callers in arrival order.
#include "connection_pool.hpp"

#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>

namespace opex::connectors::http_pool {

namespace {

/// An idle HTTP/1.1 connection has nothing to read: readable means EOF, a reset or bytes
/// nobody asked for, and it must not carry a request.
bool unsound(tcp::socket& s) {
  if (!s.is_open())
    return true;
  ::pollfd p{s.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

/// Ends the idle watch of a connection that was just taken (its handlers then see a newer
/// generation, or operation_aborted, and leave it alone).
template <class Conn>
void stop_watching(Conn& c) {
  boost::system::error_code ignored;
  c.idle_timer.cancel();
  c.socket().cancel(ignored);
}

/// Closes without a TLS close_notify exchange. OpenSSL marks the session of a connection freed
/// without shutdown not resumable; closing on purpose, the pool says it was shut down so the
/// origin's next connection can still resume it.
template <class Conn>
void close_now(Conn& c) {
  if constexpr (std::is_same_v<typename Conn::stream_type, beast::ssl_stream<beast::tcp_stream>>)
    SSL_set_shutdown(c.stream.native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  boost::system::error_code ignored;
  c.idle_timer.cancel();
  c.socket().close(ignored);
}

} // namespace

template <bool Tls>
connection_pool<Tls>::~connection_pool() {
  for (auto& [origin, o] : origins_)
    if (o.tls_session)
      SSL_SESSION_free(static_cast<SSL_SESSION*>(o.tls_session));
}

template <bool Tls>
typename connection_pool<Tls>::conn_ptr connection_pool<Tls>::make_connection(origin_state& o) {
  ++o.open;
  ++opened_;
  auto c = std::make_shared<connection<Tls>>(ioc_, tls_);
  if constexpr (Tls)
    if (o.tls_session)
      SSL_set_session(c->stream.native_handle(), static_cast<SSL_SESSION*>(o.tls_session));
  return c;
}

template <bool Tls>
std::uint64_t connection_pool<Tls>::acquire(const std::string& origin, grant_fn grant) {
  conn_ptr granted;
  std::vector<conn_ptr> dropped;
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(m_);
    auto& o = origins_[origin];
    while (!o.idle.empty() && !granted) {
      auto c = std::move(o.idle.back());
      o.idle.pop_back();
      ++c->generation;
      if (unsound(c->socket())) {
        --o.open;
        dropped.push_back(std::move(c));
      } else {
        ++reused_;
        granted = std::move(c);
      }
    }
    if (!granted && o.open < limits_.max_per_origin)
      granted = make_connection(o);
    if (!granted) {
      ticket = next_ticket_++;
      o.waiting.push_back({ticket, std::move(grant)});
    }
  }
  for (auto& c : dropped)
    close_now(*c);
  if (granted) {
    if (granted->connected)
      stop_watching(*granted);
    grant(std::move(granted));
  }
  return ticket;
}

template <bool Tls>
bool connection_pool<Tls>::withdraw(const std::string& origin, std::uint64_t ticket) {
  std::lock_guard lock(m_);
  auto& waiting = origins_[origin].waiting;
  auto it = std::find_if(waiting.begin(), waiting.end(), [&](const waiter& w) { return w.ticket == ticket; });
  if (it == waiting.end())
    return false;
  waiting.erase(it);
  return true;
}

template <bool Tls>
void connection_pool<Tls>::release(const std::string& origin, conn_ptr c, bool reusable) {
  reusable = reusable && c->connected && limits_.idle_timeout.count() > 0;
  grant_fn next;
  conn_ptr handed;
  {
    std::lock_guard lock(m_);
    auto& o = origins_[origin];
    if (reusable) {
      if (o.waiting.empty()) {
        watch_idle(origin, c);  // armed before anyone else can take it
        o.idle.push_back(std::move(c));
        return;
      }
      ++reused_;
      handed = c;
    } else {
      --o.open;
      if (!o.waiting.empty() && o.open < limits_.max_per_origin)
        handed = make_connection(o);
    }
    if (handed) {
      next = std::move(o.waiting.front().grant);
      o.waiting.pop_front();
    }
  }
  if (!reusable)
    close_now(*c);
  if (next)
    next(std::move(handed));
}

template <bool Tls>
void connection_pool<Tls>::watch_idle(const std::string& origin, const conn_ptr& c) {
  std::weak_ptr<connection<Tls>> weak = c;
  auto generation = c->generation;
  c->idle_timer.expires_after(limits_.idle_timeout);
  c->idle_timer.async_wait([this, origin, weak, generation](boost::system::error_code ec) {
    if (!ec)
      on_idle_event(origin, weak, generation);
  });
  c->socket().async_wait(tcp::socket::wait_read, [this, origin, weak, generation](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted)
      on_idle_event(origin, weak, generation);
  });
}

template <bool Tls>
void connection_pool<Tls>::on_idle_event(const std::string& origin, const std::weak_ptr<connection<Tls>>& weak,
                                         std::uint64_t generation) {
  auto c = weak.lock();
  if (!c)
    return;
  {
    std::lock_guard lock(m_);
    if (c->generation != generation)
      return;  // taken since: its new owner's business
    auto& o = origins_[origin];
    auto it = std::find(o.idle.begin(), o.idle.end(), c);
    if (it == o.idle.end())
      return;
    o.idle.erase(it);
    ++c->generation;
    --o.open;
  }
  close_now(*c);
}

template <bool Tls>
void connection_pool<Tls>::remember_tls_session(const std::string& origin, connection<Tls>& c) {
  if constexpr (Tls) {
    SSL_SESSION* s = SSL_get1_session(c.stream.native_handle());
    if (!s)
      return;
    if (!SSL_SESSION_is_resumable(s)) {
      SSL_SESSION_free(s);
      return;
    }
    std::lock_guard lock(m_);
    auto& o = origins_[origin];
    if (o.tls_session)
      SSL_SESSION_free(static_cast<SSL_SESSION*>(o.tls_session));
    o.tls_session = s;
  } else {
    (void)origin;
    (void)c;
  }
}

template <bool Tls>
pool_counters connection_pool<Tls>::counters() const {
  pool_counters out;
  out.opened = opened_.load();
  out.reused = reused_.load();
  std::lock_guard lock(m_);
  for (const auto& [origin, o] : origins_) {
    out.open += o.open;
    out.idle += o.idle.size();
  }
  return out;
}

template class connection_pool<false>;
template class connection_pool<true>;

} // namespace opex::connectors::http_pool
