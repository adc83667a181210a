// opexd's HTTP server over Boost.Beast: the acceptor (re-armed with backoff after EMFILE and
// other errors, a connection limit answered with 503), one session per connection (headers
// read first: an unsupported Transfer-Encoding is refused before any body is read), drain on
// SIGTERM, SIGHUP handed to the caller's reload. Sessions hand requests to the engine asynchronously and
// write the response when the callback is posted back to their strand (a blocking bridge into CAF costs
// 60-90 µs a request: docs/performance.md).
#include "api_server_impl.hpp"

#include "opex/observers/prometheus_metrics.hpp"

#include "opex/ids.hpp"
#include "opex/log.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json/serialize.hpp>

#include <csignal>
#include <future>

namespace opex::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/// One connection: (the TLS handshake,) read the headers, check them, read the body, route,
/// write; keep-alive loop. `Stream` is beast::tcp_stream, or tls_stream with server.tls.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;
  using std::enable_shared_from_this<session<Stream>>::shared_from_this;

public:
  template <class... Args>
  session(std::shared_ptr<api_server::impl> server, tcp::socket socket, Args&... tls_context)
    : stream_(std::move(socket), tls_context...), server_(std::move(server)) {
    ++server_->connections;
    server_->metrics->connection_opened();
  }
  ~session() {
    --server_->connections;
    server_->metrics->connection_closed();
  }

  void start() {
    if constexpr (tls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
        if (ec)  // not TLS, an old protocol version, a bad client hello: the connection closes
          return;
        self->read();
      });
    } else {
      asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::read, shared_from_this()));
    }
  }

private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    request_id_.clear();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_read(ec, 0);
    started_ = std::chrono::steady_clock::now();
    const auto& h = parser_->get();
    method_ = std::string(h.method_string());
    path_ = std::string(h.target().substr(0, h.target().find('?')));
    if (auto it = h.find("X-Request-ID"); it != h.end() && is_uuid(std::string(it->value())))
      request_id_ = std::string(it->value());
    if (auto it = h.find(http::field::transfer_encoding); it != h.end()) {
      std::string te(it->value());
      for (auto& c : te)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (te != "chunked") {  // the body's length would be unknown: refuse, and close
        keep_alive_ = false;
        return write(error_reply(make_error(error_code::not_implemented, "unsupported Transfer-Encoding",
                                            json::object{{"transfer_encoding", std::string(it->value())},
                                                         {"supported", "chunked"}}),
                                 request_id_));
      }
    }
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted
        || ec == asio::error::connection_reset || ec == asio::error::eof)
      return close();
    keep_alive_ = false;
    if (ec == http::error::body_limit)
      return write(error_reply(make_error(error_code::body_too_large, "the body exceeds the limit",
                                          json::object{{"max_body_bytes", server_->options.max_body_bytes}}),
                               request_id_));
    if (ec)
      return write(error_reply(make_error(error_code::validation_error, "malformed HTTP request",
                                          json::object{{"reason", ec.message()}}),
                               request_id_));
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    beast::get_lowest_layer(stream_).expires_never();
    if (server_->draining) {
      keep_alive_ = false;
      return write(error_reply(make_error(error_code::unavailable, "opexd is stopping", {{"reason", "draining"}}),
                               request_id_));
    }
    http_request_view view;
    view.method = std::string(request_.method_string());
    view.target = std::string(request_.target());
    view.body = std::move(request_.body());
    view.request_id = request_id_;
    view.header = [req = &request_](std::string_view name) {
      auto it = req->find(beast::string_view(name.data(), name.size()));
      return it == req->end() ? std::string{} : std::string(it->value());
    };
    ++server_->in_flight;
    auto self = shared_from_this();
    auto executor = stream_.get_executor();
    server_->route(view, [self, executor](http_reply reply) {
      asio::post(executor, [self, reply = std::move(reply)]() mutable {
        self->server_->answered();
        self->write(std::move(reply));
      });
    });
  }

  void write(http_reply reply) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status), 11);
    res->set(http::field::server, "opexd/0.1");
    res->set(http::field::content_type, reply.content_type);
    auto id = reply.request_id.empty() ? request_id_ : reply.request_id;
    if (!id.empty())
      res->set("X-Request-ID", id);
    for (const auto& [name, value] : reply.headers)
      res->set(name, value);
    if (reply.close || server_->draining)
      keep_alive_ = false;
    res->keep_alive(keep_alive_);
    if (reply.stream)
      return write_stream(std::move(res), std::move(reply));
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    server_->metrics->answered(reply.route, method_, reply.status, took, reply.body.size());
    server_->access->write({method_, path_, reply.route, reply.status, took * 1000.0, id, reply.tenant,
                            reply.trace_id, reply.body.size()});
    res->body() = std::move(reply.body);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_)
        return self->close();
      self->read();
    });
  }

  /// A streamed answer: the headers (chunked), then each chunk the stream gives as it comes,
  /// then the last chunk; the connection is kept alive after it like any answer.
  void write_stream(std::shared_ptr<http::response<http::string_body>> base, http_reply reply) {
    auto res = std::make_shared<http::response<http::empty_body>>(base->result(), 11);
    for (const auto& field : *base)
      if (field.name() != http::field::content_length)
        res->set(field.name_string(), field.value());
    res->set(http::field::cache_control, "no-cache");
    res->keep_alive(keep_alive_);
    res->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    server_->metrics->answered(reply.route, method_, reply.status, took, 0);
    server_->access->write({method_, path_, reply.route, reply.status, took * 1000.0, reply.request_id, reply.tenant,
                            reply.trace_id, 0});
    beast::get_lowest_layer(stream_).expires_never();
    http::async_write_header(stream_, *sr, [self = shared_from_this(), res, sr, out = reply.stream](beast::error_code ec, std::size_t) {
      if (ec) {
        out->abandon();
        return self->close();
      }
      auto executor = self->stream_.get_executor();
      out->attach([self, executor, out] { asio::post(executor, [self, out] { self->pump(out); }); });
      self->pump(out);
    });
  }

  /// Writes what the stream holds (one write at a time), or its end.
  void pump(const std::shared_ptr<reply_stream>& out) {
    if (pumping_)
      return;
    auto data = std::make_shared<std::string>();
    const bool finished = out->take(*data);
    if (finished) {
      pumping_ = true;
      out->attach(nullptr);
      return asio::async_write(stream_, http::make_chunk_last(), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->pumping_ = false;
        if (ec || !self->keep_alive_)
          return self->close();
        self->read();
      });
    }
    if (data->empty())
      return;  // woken again by the next push or close
    pumping_ = true;
    asio::async_write(stream_, http::make_chunk(asio::buffer(*data)),
                      [self = shared_from_this(), data, out](beast::error_code ec, std::size_t) {
                        self->pumping_ = false;
                        if (ec) {
                          out->abandon();
                          return self->close();
                        }
                        self->pump(out);
                      });
  }

  void close() {
    if constexpr (tls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
      });
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  Stream stream_;
  std::shared_ptr<api_server::impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  std::string request_id_;
  std::string method_;
  std::string path_;  ///< the target without its query (access log)
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  bool keep_alive_ = true;
  bool pumping_ = false;  ///< a streamed answer's write is in progress (session strand only)
};

/// Beyond the connection limit: a 503 written at once, then the socket closes.
void refuse_connection(tcp::socket socket, const std::shared_ptr<api_server::impl>& server) {
  ++server->rejected_connections;
  server->metrics->connection_rejected("connection_limit");
  auto body = json::serialize(to_error_json(
    make_error(error_code::unavailable, "too many open connections",
               json::object{{"max_connections", server->options.max_connections}}),
    "", format_timestamp(std::chrono::system_clock::now())));
  auto text = std::make_shared<std::string>("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                            "Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                                            + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto s = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*s, asio::buffer(*text), [s, text](beast::error_code, std::size_t) {
    beast::error_code ignored;
    s->shutdown(tcp::socket::shutdown_both, ignored);
    s->close(ignored);
  });
}

void accept(std::shared_ptr<api_server::impl> server) {
  server->acceptor.async_accept(asio::make_strand(server->ioc), [server](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !server->acceptor.is_open() || server->stopped || server->draining)
      return;  // closed
    if (ec) {
      // EMFILE, ENFILE, ENOBUFS...: the listening socket stays; try again after a pause that
      // doubles up to 1 s, so a burst of descriptors running out does not end the service.
      using std::chrono::milliseconds;
      server->accept_backoff = std::min(milliseconds(1000), std::max(milliseconds(10), server->accept_backoff * 2));
      log_event(log_level::error, "http.accept_failed", "accepting a connection failed: " + ec.message(),
                boost::json::object{{"retry_in_ms", server->accept_backoff.count()}});
      server->accept_retry.expires_after(server->accept_backoff);
      server->accept_retry.async_wait([server](beast::error_code wait_ec) {
        if (!wait_ec)
          accept(server);
      });
      return;
    }
    server->accept_backoff = std::chrono::milliseconds(0);
    if (server->connections.load() >= server->options.max_connections)
      refuse_connection(std::move(socket), server);
    else
      if (server->tls)
        std::make_shared<session<tls_stream>>(server, std::move(socket), *server->tls)->start();
      else
        std::make_shared<session<beast::tcp_stream>>(server, std::move(socket))->start();
    accept(server);
  });
}

} // namespace

api_server::impl::impl(engine& e, api_server_options o)
  : eng(e), options(std::move(o)),
    rules(std::make_shared<const key_rules>(key_rules{options.keys, options.edge, options.tenant_edge})),
    metrics(std::make_unique<http_metrics>(*eng.metrics().registry())),
    access(std::make_unique<access_log>(options.access_log)) {
  mcp.progress = options.mcp_progress;
}

void api_server::configuration_reloaded() { impl_->mcp.notify_list_changed(); }

void api_server::reload_keys(std::vector<api_key> keys, edge_policy edge,
                             std::map<std::string, edge_policy, std::less<>> tenant_edge) {
  auto next = std::make_shared<const key_rules>(key_rules{std::move(keys), std::move(edge), std::move(tenant_edge)});
  std::lock_guard lock(impl_->rules_m);
  impl_->rules = std::move(next);
}

api_server::api_server(engine& eng, api_server_options options)
  : impl_(std::make_shared<impl>(eng, std::move(options))) {}

api_server::~api_server() {
  stop();
}

namespace {

/// A TLS 1.2+ server context over PEM files; std::runtime_error names the file it cannot load.
std::unique_ptr<asio::ssl::context> tls_context(const std::string& certificate, const std::string& key) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2
                   | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1
                   | asio::ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(certificate, ec);
  if (ec)
    throw std::runtime_error("cannot load the TLS certificate " + certificate + ": " + ec.message());
  ctx->use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error("cannot load the TLS private key " + key + ": " + ec.message());
  return ctx;
}

} // namespace

void api_server::start() {
  auto& im = *impl_;
  if (!im.options.tls_certificate.empty() || !im.options.tls_private_key.empty())
    im.tls = tls_context(im.options.tls_certificate, im.options.tls_private_key);
  beast::error_code ec;
  tcp::endpoint ep{asio::ip::make_address(im.options.bind, ec), im.options.port};
  if (ec)
    throw std::runtime_error("invalid bind address " + im.options.bind);
  im.acceptor.open(ep.protocol());
  im.acceptor.set_option(asio::socket_base::reuse_address(true));
  im.acceptor.bind(ep, ec);
  if (ec)
    throw std::runtime_error("cannot bind " + im.options.bind + ":" + std::to_string(im.options.port) + ": " + ec.message());
  im.acceptor.listen();
  accept(std::shared_ptr<impl>(impl_));
  for (int i = 0; i < std::max(1, im.options.threads); ++i)
    im.threads.emplace_back([&im] { im.ioc.run(); });
}

bool api_server::responsive(std::chrono::milliseconds within) const {
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  asio::post(impl_->ioc, [done] { done->set_value(); });
  return f.wait_for(within) == std::future_status::ready;
}

std::uint16_t api_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

int api_server::drain(std::chrono::milliseconds deadline) {
  auto& im = *impl_;
  im.draining = true;
  im.mcp.close_all();  // MCP GET streams end; calls already accepted run on in the engine
  asio::post(im.ioc, [&im] {
    beast::error_code ignored;
    im.acceptor.close(ignored);
    im.accept_retry.cancel();
  });
  std::unique_lock lock(im.m);
  im.cv.wait_for(lock, deadline, [&] { return im.in_flight.load() <= 0; });
  return im.in_flight.load();
}

bool api_server::wait_idle(std::chrono::milliseconds deadline) {
  auto& im = *impl_;
  std::unique_lock lock(im.m);
  return im.cv.wait_for(lock, deadline, [&] { return im.in_flight.load() <= 0; });
}

void api_server::stop() {
  auto& im = *impl_;
  if (im.stopped.exchange(true))
    return;
  asio::post(im.ioc, [&im] {
    beast::error_code ignored;
    im.acceptor.close(ignored);
    im.accept_retry.cancel();
  });
  im.guard.reset();
  im.ioc.stop();
  for (auto& t : im.threads)
    if (t.joinable())
      t.join();
  std::lock_guard lock(im.m);
  im.cv.notify_all();
}

int api_server::wait_for_signal(const std::function<void()>& on_hangup) {
  asio::io_context signals_ctx;
  asio::signal_set signals(signals_ctx, SIGINT, SIGTERM, SIGHUP);
  int received = 0;
  std::function<void(beast::error_code, int)> on_signal = [&](beast::error_code ec, int sig) {
    if (ec)
      return;
    if (sig == SIGHUP) {  // reload: never a reason to die
      if (on_hangup)
        on_hangup();
      else
        log_event(log_level::warn, "config.reload_unsupported", "SIGHUP received; this server has no configuration to reload");
      signals.async_wait(on_signal);
      return;
    }
    std::lock_guard lock(impl_->m);
    received = sig;
    impl_->signalled = true;
    impl_->cv.notify_all();
  };
  signals.async_wait(on_signal);
  std::thread waiter([&] { signals_ctx.run(); });
  {
    std::unique_lock lock(impl_->m);
    impl_->cv.wait(lock, [&] { return impl_->stopped.load() || impl_->signalled; });
  }
  signals_ctx.stop();
  waiter.join();
  std::signal(SIGHUP, SIG_IGN);  // still not a reason to die while draining
  return received;
}

std::uint64_t api_server::rejected_connections() const {
  return impl_->rejected_connections.load();
}

} // namespace opex::tools
