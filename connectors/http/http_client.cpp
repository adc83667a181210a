// Beast HTTP/HTTPS client: one session per request (resolve -> connect -> [TLS] -> write ->
// read), a strand per session, and one deadline timer bounding the whole exchange.
#include "opex/connectors/http_client.hpp"

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

struct http_client::impl {
  http_client_options options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::thread> threads;

  explicit impl(http_client_options opts) : options(std::move(opts)) {
    tls.set_default_verify_paths();
    if (!options.ca_file.empty())
      tls.load_verify_file(options.ca_file);
    tls.set_verify_mode(options.verify_tls ? ssl::verify_peer : ssl::verify_none);
  }

  /// Each thread keeps the state alive until its run() returned, so the last owner may let go
  /// from inside a completion (a handler that held the last reference to the client).
  static void start_threads(const std::shared_ptr<impl>& self) {
    int n = std::max(1, self->options.threads);
    for (int i = 0; i < n; ++i)
      self->threads.emplace_back([self] { self->ioc.run(); });
  }

  /// Stops the threads and joins them, except the calling one when it is one of them: that one
  /// returns from run() after the current handler and releases the state itself.
  void stop() {
    guard.reset();
    ioc.stop();
    for (auto& t : threads) {
      if (t.get_id() == std::this_thread::get_id())
        t.detach();
      else if (t.joinable())
        t.join();
    }
  }
};

namespace {

/// One exchange. `Tls` selects beast::ssl_stream over the TCP stream.
template <bool Tls>
class session : public std::enable_shared_from_this<session<Tls>> {
public:
  using stream_type =
    std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  session(asio::io_context& ioc, ssl::context& tls, parsed_url url, http_request req,
          std::size_t max_body, http_completion done)
    : strand_(asio::make_strand(ioc)),
      resolver_(strand_),
      timer_(strand_),
      stream_(make_stream(tls)),
      url_(std::move(url)),
      timeout_(req.timeout),
      max_body_(max_body),
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

  /// Abandons the exchange from any thread: closes the socket on the session's strand.
  void cancel() {
    auto self = this->shared_from_this();
    asio::post(strand_, [self] {
      if (!self->done_)
        return;
      self->cancelled_ = true;
      self->resolver_.cancel();
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
  }

  void start() {
    auto self = this->shared_from_this();
    asio::dispatch(strand_, [self] {
      self->timer_.expires_after(self->timeout_);
      self->timer_.async_wait([self](beast::error_code ec) {
        if (ec)
          return;  // cancelled: the exchange ended first
        self->timed_out_ = true;
        self->resolver_.cancel();
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().close(ignored);
      });
      if constexpr (Tls) {
        if (!SSL_set_tlsext_host_name(self->stream_.native_handle(), self->url_.host.c_str()))
          return self->fail("tls", beast::error_code(static_cast<int>(::ERR_get_error()),
                                                     asio::error::get_ssl_category()));
        self->stream_.set_verify_callback(ssl::host_name_verification(self->url_.host));
      }
      self->stage_ = "resolve";
      self->resolver_.async_resolve(self->url_.host, self->url_.port,
                                    beast::bind_front_handler(&session::on_resolve, self));
    });
  }

private:
  stream_type make_stream(ssl::context& tls) {
    if constexpr (Tls)
      return stream_type(strand_, tls);
    else
      return stream_type(strand_);
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec)
      return fail("resolve", ec);
    stage_ = "connect";
    beast::get_lowest_layer(stream_).async_connect(
      results, beast::bind_front_handler(&session::on_connect, this->shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::resolver::results_type::endpoint_type) {
    if (ec)
      return fail("connect", ec);
    if constexpr (Tls) {
      stage_ = "tls";
      stream_.async_handshake(ssl::stream_base::client,
                              beast::bind_front_handler(&session::on_handshake, this->shared_from_this()));
    } else {
      write();
    }
  }

  void on_handshake(beast::error_code ec) {
    if (ec)
      return fail("tls", ec);
    write();
  }

  void write() {
    stage_ = "write";
    http::async_write(stream_, request_,
                      beast::bind_front_handler(&session::on_write, this->shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec)
      return fail("write", ec);
    stage_ = "read";
    parser_.body_limit(max_body_);
    http::async_read(stream_, buffer_, parser_,
                     beast::bind_front_handler(&session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return fail("read", ec);
    timer_.cancel();
    auto& res = parser_.get();
    http_response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    out.body = std::move(res.body());
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    finish({}, std::move(out));
  }

  void fail(const char* stage, beast::error_code ec) {
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
  stream_type stream_;
  parsed_url url_;
  std::chrono::milliseconds timeout_;
  std::size_t max_body_;
  http_completion done_;
  http::request<http::string_body> request_;
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer buffer_;
  const char* stage_ = "start";
  bool timed_out_ = false;
  bool cancelled_ = false;
};

} // namespace

http_client::http_client(http_client_options options)
  : impl_(std::make_shared<impl>(std::move(options))) {
  impl::start_threads(impl_);
}

http_client::~http_client() {
  impl_->stop();
}

std::function<void()> http_client::send(http_request request, http_completion done) {
  auto url = parse_url(request.url);
  if (!url) {
    auto err = make_error(error_code::validation_error, "invalid URL: " + request.url,
                          json::object{{"url", request.url}});
    asio::post(impl_->ioc, [done = std::move(done), err = std::move(err)] { done(err, {}); });
    return {};
  }
  if (url->scheme == "https") {
    auto s = std::make_shared<session<true>>(impl_->ioc, impl_->tls, std::move(*url), std::move(request),
                                             impl_->options.max_response_bytes, std::move(done));
    s->start();
    return [w = std::weak_ptr(s)] {
      if (auto p = w.lock())
        p->cancel();
    };
  }
  auto s = std::make_shared<session<false>>(impl_->ioc, impl_->tls, std::move(*url), std::move(request),
                                            impl_->options.max_response_bytes, std::move(done));
  s->start();
  return [w = std::weak_ptr(s)] {
    if (auto p = w.lock())
      p->cancel();
  };
}

} // namespace opex::connectors
