// Loopback HTTP(S) server for tests (Beast), with a self-signed certificate made by OpenSSL.
#include "loopback_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace opex::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

/// Generates a self-signed certificate for localhost/127.0.0.1; returns {cert PEM, key PEM}.
std::pair<std::string, std::string> self_signed() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const char* ext : {"subjectAltName", "basicConstraints"}) {
    const char* value = std::string_view(ext) == "subjectAltName" ? "DNS:localhost,IP:127.0.0.1" : "critical,CA:TRUE";
    X509_EXTENSION* e = X509V3_EXT_conf(nullptr, &ctx, ext, value);
    X509_add_ext(cert, e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(cert, key, EVP_sha256());
  auto to_pem = [](auto writer) {
    BIO* bio = BIO_new(BIO_s_mem());
    writer(bio);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
  };
  std::string cert_pem = to_pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
  std::string key_pem = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return {cert_pem, key_pem};
}

} // namespace

struct loopback_server::impl : std::enable_shared_from_this<impl> {
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  tcp::acceptor acceptor{ioc};
  ssl::context tls_ctx{ssl::context::tls_server};
  bool tls = false;
  std::string ca_path;
  mutable std::mutex m;
  mutable std::condition_variable closed_cv;
  handler h;
  std::vector<recorded_request> log;
  std::size_t accepted = 0;
  std::size_t closed = 0;

  std::size_t on_accept() {
    std::lock_guard lock(m);
    return ++accepted;
  }

  void on_closed() {
    std::lock_guard lock(m);
    ++closed;
    closed_cv.notify_all();
  }
  std::thread thread;

  recorded_request record(const http::request<http::string_body>& req, std::size_t connection, bool resumed) {
    recorded_request r;
    r.connection = connection;
    r.tls_resumed = resumed;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = req.body();
    r.received = std::chrono::steady_clock::now();
    for (const auto& f : req) {
      std::string n(f.name_string());
      for (auto& c : n)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(n), std::string(f.value()));
    }
    std::lock_guard lock(m);
    log.push_back(r);
    return r;
  }

  scripted_response respond(const recorded_request& r) {
    handler copy;
    {
      std::lock_guard lock(m);
      copy = h;
    }
    return copy ? copy(r) : scripted_response{};
  }
};

namespace {

template <class Stream>
class server_session : public std::enable_shared_from_this<server_session<Stream>> {
public:
  server_session(Stream stream, std::shared_ptr<loopback_server::impl> server)
    : stream_(std::move(stream)), timer_(stream_.get_executor()), server_(std::move(server)),
      connection_(server_->on_accept()) {}

  ~server_session() { server_->on_closed(); }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (!ec)
          self->read();
      });
    } else {
      read();
    }
  }

private:
  void read() {
    req_ = {};
    http::async_read(stream_, buffer_, req_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      bool resumed = false;
      if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>)
        resumed = SSL_session_reused(self->stream_.native_handle()) == 1;
      auto rec = self->server_->record(self->req_, self->connection_, resumed);
      auto reply = self->server_->respond(rec);
      if (reply.delay.count() > 0) {
        self->timer_.expires_after(reply.delay);
        self->timer_.async_wait([self, reply](beast::error_code) { self->answer(reply); });
      } else {
        self->answer(reply);
      }
    });
  }

  void answer(const scripted_response& reply) {
    if (reply.drop) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).socket().close(ignored);
      return;
    }
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status), 11);
    res->set(http::field::content_type, "application/json");
    res->keep_alive(req_.keep_alive());
    for (const auto& [k, v] : reply.headers)  // a scripted Connection: close wins
      res->set(k, v);
    res->body() = reply.body;
    res->prepare_payload();
    bool close_after = reply.close_after;
    http::async_write(stream_, *res, [self = this->shared_from_this(), res, close_after](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive())
        return;
      if (close_after) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().close(ignored);
        return;
      }
      self->read();
    });
  }

  Stream stream_;
  asio::steady_timer timer_;
  std::shared_ptr<loopback_server::impl> server_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::size_t connection_;
};

void do_accept(std::shared_ptr<loopback_server::impl> s) {
  s->acceptor.async_accept(asio::make_strand(s->ioc), [s](beast::error_code ec, tcp::socket socket) {
    if (ec)
      return;
    if (s->tls)
      std::make_shared<server_session<beast::ssl_stream<beast::tcp_stream>>>(
        beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), s->tls_ctx), s)
        ->start();
    else
      std::make_shared<server_session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), s)->start();
    do_accept(s);
  });
}

} // namespace

loopback_server::loopback_server(handler h, bool tls) : impl_(std::make_shared<impl>()) {
  impl_->h = std::move(h);
  impl_->tls = tls;
  if (tls) {
    auto [cert, key] = self_signed();
    impl_->tls_ctx.use_certificate_chain(asio::buffer(cert));
    impl_->tls_ctx.use_private_key(asio::buffer(key), ssl::context::pem);
    auto dir = std::filesystem::temp_directory_path();
    impl_->ca_path = (dir / ("opex-test-ca-" + std::to_string(reinterpret_cast<std::uintptr_t>(impl_.get())) + ".pem")).string();
    std::ofstream(impl_->ca_path) << cert;
  }
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  do_accept(impl_);
  impl_->thread = std::thread([i = impl_] { i->ioc.run(); });
}

loopback_server::~loopback_server() {
  impl_->guard.reset();
  impl_->ioc.stop();
  impl_->thread.join();
  // No thread runs the io_context any more: close the listening socket so the port refuses.
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  if (!impl_->ca_path.empty())
    std::remove(impl_->ca_path.c_str());
}

std::uint16_t loopback_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string loopback_server::base_url() const {
  return (impl_->tls ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port());
}

std::string loopback_server::ca_pem_path() const {
  return impl_->ca_path;
}

std::vector<recorded_request> loopback_server::requests() const {
  std::lock_guard lock(impl_->m);
  return impl_->log;
}

void loopback_server::set_handler(handler h) {
  std::lock_guard lock(impl_->m);
  impl_->h = std::move(h);
}

} // namespace opex::test

namespace opex::test {

std::size_t loopback_server::connections_accepted() const {
  std::lock_guard lock(impl_->m);
  return impl_->accepted;
}

bool loopback_server::wait_closed(std::size_t n, std::chrono::milliseconds limit) const {
  std::unique_lock lock(impl_->m);
  return impl_->closed_cv.wait_for(lock, limit, [&] { return impl_->closed >= n; });
}

} // namespace opex::test
