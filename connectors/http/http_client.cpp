// Beast HTTP/HTTPS client over a connection pool (connection_pool.hpp): each exchange takes
// a kept-alive connection to its origin or opens one (resolve -> connect -> [TLS]), writes,
// reads, and gives the connection back. Its handlers run on its own strand, and one deadline
// timer bounds the whole exchange, the wait for a connection included.
#include "opex/connectors/http_client.hpp"

#include "connection_pool.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <cctype>
#include <optional>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace opex::connectors {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
namespace json = boost::json;

std::optional<parsed_url> parse_url(std::string_view url) {
  parsed_url out;
  if (url.starts_with("http://")) {
    out.scheme = "http";
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    out.scheme = "https";
    url.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  auto slash = url.find('/');
  auto authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return std::nullopt;
  if (authority.front() == '[') {  // IPv6 literal
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      out.port = std::string(rest.substr(1));
    }
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      out.port = std::string(authority.substr(colon + 1));
  }
  if (out.port.empty())
    out.port = out.scheme == "https" ? "443" : "80";
  for (char c : out.port)
    if (c < '0' || c > '9')
      return std::nullopt;
  if (out.host.empty())
    return std::nullopt;
  return out;
}

std::optional<std::string> http_response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name)
      return v;
  return std::nullopt;
}

namespace {

/// I/O threads left to end by themselves (detached: their client was released from one of its
/// own completions) and still running (wait_for_threads).
struct thread_census {
  std::mutex m;
  std::condition_variable cv;
  int detached = 0;
};

thread_census& census() {
  static thread_census c;
  return c;
}

} // namespace

struct http_client::impl {
  http_client_options options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  ssl::context tls{ssl::context::tls_client};
  std::unique_ptr<http_pool::connection_pool<false>> plain;
  std::unique_ptr<http_pool::connection_pool<true>> secure;
  std::vector<std::thread> threads;
  std::thread::id detached_thread;  ///< the I/O thread stop() was called from, which ends by itself

  explicit impl(http_client_options opts) : options(std::move(opts)) {
    tls.set_default_verify_paths();
    if (!options.ca_file.empty())
      tls.load_verify_file(options.ca_file);
    tls.set_verify_mode(options.verify_tls ? ssl::verify_peer : ssl::verify_none);
    http_pool::pool_limits limits{std::max<std::size_t>(1, options.max_connections_per_origin), options.idle_timeout};
    plain = std::make_unique<http_pool::connection_pool<false>>(ioc, tls, limits);
    secure = std::make_unique<http_pool::connection_pool<true>>(ioc, tls, limits);
  }

  /// Each thread keeps the state alive until its run() returned, so the last owner may let go
  /// from inside a completion (a handler that held the last reference to the client).
  static void start_threads(const std::shared_ptr<impl>& self) {
    int n = std::max(1, self->options.threads);
    for (int i = 0; i < n; ++i)
      self->threads.emplace_back([owner = std::shared_ptr<impl>(self)]() mutable {
        owner->ioc.run();
        const bool detached = owner->detached_thread == std::this_thread::get_id();
        owner.reset();  // the last owner may be this thread: the state goes here, then the count
        if (detached) {
          std::lock_guard lock(census().m);
          --census().detached;
          census().cv.notify_all();
        }
      });
  }

  /// Stops the threads and joins them, except the calling one when it is one of them: that one
  /// returns from run() after the current handler and releases the state itself.
  void stop() {
    guard.reset();
    ioc.stop();
    for (auto& t : threads) {
      if (t.get_id() == std::this_thread::get_id()) {
        detached_thread = t.get_id();
        {
          std::lock_guard lock(census().m);
          ++census().detached;
        }
        t.detach();
      }
      else if (t.joinable())
        t.join();
    }
  }
};

namespace {

/// A request may be sent again on a new connection when a kept-alive one turned out closed
/// before any byte of the answer came: when its method is idempotent (RFC 9110 9.2.2) or it
/// carries an idempotency key.
bool may_resend(const http_request& req) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
    if (req.method == m)
      return true;
  for (const auto& [k, v] : req.headers) {
    std::string lower(k);
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "idempotency-key" || lower == "x-idempotency-key")
      return true;
  }
  return false;
}

/// One exchange. `Tls` selects beast::ssl_stream over the TCP stream.
template <bool Tls>
class session : public std::enable_shared_from_this<session<Tls>> {
public:
  using pool_type = http_pool::connection_pool<Tls>;
  using conn_ptr = typename pool_type::conn_ptr;

  session(asio::io_context& ioc, pool_type& pool, parsed_url url, http_request req, std::size_t max_body,
          http_completion done)
    : strand_(asio::make_strand(ioc)),
      resolver_(strand_),
      timer_(strand_),
      pool_(pool),
      url_(std::move(url)),
      origin_(url_.host + ":" + url_.port),
      timeout_(req.timeout),
      max_body_(max_body),
      may_resend_(may_resend(req)),
      done_(std::move(done)) {
    request_.version(11);
    request_.method(http::string_to_verb(req.method));
    request_.target(url_.target);
    bool default_port = (Tls && url_.port == "443") || (!Tls && url_.port == "80");
    request_.set(http::field::host, default_port ? url_.host : url_.host + ":" + url_.port);
    request_.set(http::field::user_agent, "opex/0.1 (" BOOST_BEAST_VERSION_STRING ")");
    request_.set(http::field::accept, "application/json");
    for (auto& [k, v] : req.headers)
      request_.set(k, v);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      if (request_.find(http::field::content_type) == request_.end())
        request_.set(http::field::content_type, "application/json");
      request_.body() = std::move(req.body);
      request_.prepare_payload();
    }
  }

  /// Abandons the exchange from any thread.
  void cancel() {
    auto self = this->shared_from_this();
    asio::post(strand_, [self] {
      if (!self->done_)
        return;
      self->cancelled_ = true;
      self->abort();
    });
  }

  void start() {
    auto self = this->shared_from_this();
    asio::dispatch(strand_, [self] {
      self->timer_.expires_after(self->timeout_);
      self->timer_.async_wait([self](beast::error_code ec) {
        if (ec || !self->done_)
          return;  // cancelled: the exchange ended first
        self->timed_out_ = true;
        self->abort();
      });
      self->acquire();
    });
  }

private:
  template <class F>
  auto on_strand(F f) {
    return asio::bind_executor(strand_, beast::bind_front_handler(f, this->shared_from_this()));
  }

  /// Deadline or cancellation: stops whatever the exchange waits for; its handler then fails.
  void abort() {
    if (waiting_) {
      if (pool_.withdraw(origin_, ticket_)) {
        waiting_ = false;
        fail("pool", asio::error::operation_aborted);
      }
      return;  // else a connection is on its way to on_granted, which sees the flag
    }
    resolver_.cancel();
    beast::error_code ignored;
    if (conn_)
      conn_->socket().close(ignored);
  }

  void acquire() {
    stage_ = "pool";
    waiting_ = true;
    auto self = this->shared_from_this();
    auto ticket = pool_.acquire(origin_, [self](conn_ptr c) {
      asio::dispatch(self->strand_, [self, c = std::move(c)]() mutable { self->on_granted(std::move(c)); });
    });
    if (waiting_)
      ticket_ = ticket;
  }

  void on_granted(conn_ptr c) {
    waiting_ = false;
    if (timed_out_ || cancelled_) {
      pool_.release(origin_, std::move(c), true);  // untouched: kept if it was kept-alive
      return fail("pool", asio::error::operation_aborted);
    }
    conn_ = std::move(c);
    reused_ = conn_->connected;
    if (reused_)
      return write();
    if constexpr (Tls) {
      if (!SSL_set_tlsext_host_name(conn_->stream.native_handle(), url_.host.c_str()))
        return fail("tls", beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
      conn_->stream.set_verify_callback(ssl::host_name_verification(url_.host));
    }
    stage_ = "resolve";
    resolver_.async_resolve(url_.host, url_.port, beast::bind_front_handler(&session::on_resolve, this->shared_from_this()));
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail("resolve", ec);
    stage_ = "connect";
    beast::get_lowest_layer(conn_->stream).async_connect(results, on_strand(&session::on_connect));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec)
      return fail("connect", ec);
    beast::error_code ignored;
    conn_->socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (Tls) {
      stage_ = "tls";
      conn_->stream.async_handshake(ssl::stream_base::client, on_strand(&session::on_handshake));
    } else {
      conn_->connected = true;
      write();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail("tls", ec);
    conn_->connected = true;
    write();
  }

  void write() {
    stage_ = "write";
    http::async_write(conn_->stream, request_, on_strand(&session::on_write));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return fail("write", ec);
    stage_ = "read";
    parser_.emplace();
    parser_->body_limit(max_body_);
    buffer_.clear();
    http::async_read(conn_->stream, buffer_, *parser_, on_strand(&session::on_read));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail("read", ec);
    timer_.cancel();
    bool reusable = parser_->keep_alive() && buffer_.size() == 0 && !timed_out_ && !cancelled_;
    auto& res = parser_->get();
    http_response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (++conn_->exchanges == 1)
      pool_.remember_tls_session(origin_, *conn_);
    pool_.release(origin_, std::move(conn_), reusable);
    finish({}, std::move(out));
  }

  void fail(const char* stage, beast::error_code ec) {
    // A kept-alive connection the server closed meanwhile: once more on another connection,
    // when sending again cannot do the work twice.
    bool quiet_close = std::string_view(stage) == "write"
                       || (std::string_view(stage) == "read" && parser_ && !parser_->got_some());
    bool resend = reused_ && quiet_close && may_resend_ && !resent_ && !timed_out_ && !cancelled_;
    if (conn_)
      pool_.release(origin_, std::move(conn_), false);
    if (resend) {
      resent_ = true;
      reused_ = false;
      return acquire();
    }
    timer_.cancel();
    if (cancelled_) {
      finish(make_error(error_code::cancelled, "the call was cancelled",
                        json::object{{"stage", stage_}, {"host", url_.host}}),
             {});
      return;
    }
    if (timed_out_) {
      finish(make_error(error_code::timeout,
                        "no response from " + url_.host + ":" + url_.port + " within "
                          + std::to_string(timeout_.count()) + " ms",
                        json::object{{"stage", stage_}, {"timeout_ms", timeout_.count()}}),
             {});
      return;
    }
    finish(make_error(error_code::connection_failed,
                      std::string(stage) + " " + url_.host + ":" + url_.port + ": " + ec.message(),
                      json::object{{"stage", stage}, {"reason", ec.message()}, {"host", url_.host}}),
           {});
  }

  void finish(error_info err, http_response res) {
    if (!done_)
      return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(err), std::move(res));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  pool_type& pool_;
  parsed_url url_;
  std::string origin_;
  std::chrono::milliseconds timeout_;
  std::size_t max_body_;
  bool may_resend_;
  http_completion done_;
  conn_ptr conn_;
  std::uint64_t ticket_ = 0;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buffer_;
  const char* stage_ = "start";
  bool waiting_ = false;
  bool reused_ = false;
  bool resent_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
};

template <bool Tls>
std::function<void()> start_session(asio::io_context& ioc, http_pool::connection_pool<Tls>& pool, parsed_url url,
                                    http_request request, std::size_t max_body, http_completion done) {
  auto s = std::make_shared<session<Tls>>(ioc, pool, std::move(url), std::move(request), max_body, std::move(done));
  s->start();
  return [w = std::weak_ptr(s)] {
    if (auto p = w.lock())
      p->cancel();
  };
}

} // namespace

http_client::http_client(http_client_options options)
  : impl_(std::make_shared<impl>(std::move(options))) {
  impl::start_threads(impl_);
}

http_client::~http_client() {
  impl_->stop();
}

bool http_client::wait_for_threads(std::chrono::milliseconds within) {
  std::unique_lock lock(census().m);
  return census().cv.wait_for(lock, within, [] { return census().detached == 0; });
}

std::function<void()> http_client::send(http_request request, http_completion done) {
  auto url = parse_url(request.url);
  if (!url) {
    auto err = make_error(error_code::validation_error, "invalid URL: " + request.url,
                          json::object{{"url", request.url}});
    asio::post(impl_->ioc, [done = std::move(done), err = std::move(err)] { done(err, {}); });
    return {};
  }
  auto max_body = impl_->options.max_response_bytes;
  if (url->scheme == "https")
    return start_session<true>(impl_->ioc, *impl_->secure, std::move(*url), std::move(request), max_body, std::move(done));
  return start_session<false>(impl_->ioc, *impl_->plain, std::move(*url), std::move(request), max_body, std::move(done));
}

http_connection_stats http_client::connection_stats() const {
  http_connection_stats out;
  for (auto c : {impl_->plain->counters(), impl_->secure->counters()}) {
    out.opened += c.opened;
    out.reused += c.reused;
    out.open += c.open;
    out.idle += c.idle;
  }
  return out;
}

} // namespace opex::connectors
