// opexd HTTP API: Beast sessions (read -> route -> async engine call -> write), API-key auth.
#include "api_server.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"
#include "opex/schema_registry.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/crypto.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace opex::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

std::vector<api_key> parse_api_keys(std::string_view text, std::string_view tenant) {
  std::vector<api_key> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item.empty())
      continue;
    api_key k;
    auto colon = item.rfind(':');
    k.tenant = std::string(tenant);
    auto scope = colon == std::string_view::npos ? std::string_view{} : item.substr(colon + 1);
    if (scope == "read" || scope == "all" || scope == "admin") {
      k.key = std::string(item.substr(0, colon));
      k.scope = std::string(item.substr(colon + 1));
    } else {
      k.key = std::string(item);
    }
    out.push_back(std::move(k));
  }
  return out;
}

namespace {

struct http_reply {
  http::status status = http::status::ok;
  std::string body;
  std::string request_id;
};

http_reply error_reply(const error_info& err, const std::string& request_id) {
  http_reply r;
  r.status = static_cast<http::status>(http_status(err.code));
  r.request_id = request_id;
  r.body = json::serialize(to_error_json(err, request_id, format_timestamp(std::chrono::system_clock::now())));
  return r;
}

http_reply result_reply(const request_result& res) {
  if (res.error && res.steps.empty()) {
    auto r = error_reply(res.error, res.request_id);
    return r;
  }
  http_reply r;
  r.request_id = res.request_id;
  if (res.status == request_status::awaiting_approval)
    r.status = http::status::accepted;
  r.body = json::serialize(to_json(res));
  return r;
}

/// Who is calling: the key's tenant and scope, and a fingerprint for "decided_by".
struct caller {
  std::string tenant = "default";
  std::string scope = "all";
  std::string fingerprint = "anonymous";

  /// The tenant filter for reads: admins see every tenant.
  std::string tenant_filter() const { return scope == "admin" ? std::string{} : tenant; }
};

/// One query parameter's value ("" when absent); no percent-decoding (ids and words only).
std::string query_param(const std::string& query, std::string_view name) {
  for (std::size_t pos = 0; pos < query.size();) {
    auto amp = query.find('&', pos);
    auto kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = kv.find('=');
    if (eq != std::string::npos && kv.substr(0, eq) == name)
      return kv.substr(eq + 1);
    if (amp == std::string::npos)
      break;
    pos = amp + 1;
  }
  return {};
}

/// The path segment after `prefix` ("/v1/approvals/" + id).
std::string tail_of(const std::string& path, std::string_view prefix) {
  return path.size() > prefix.size() ? path.substr(prefix.size()) : std::string{};
}

/// Constant-time comparison of equal-length keys (different lengths: not equal).
bool key_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

struct api_server::impl {
  engine& eng;
  api_server_options options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  bool signalled = false;
  std::mutex m;
  std::condition_variable cv;
  std::shared_ptr<schema_registry> schemas = schema_registry::with_embedded();

  impl(engine& e, api_server_options o) : eng(e), options(std::move(o)) {}

  /// Authenticates: the caller, or the error (UNAUTHORIZED, PERMISSION_DENIED for a read-only
  /// key on a write route).
  result<caller> authenticate(const http::request<http::string_body>& req, bool write) const {
    if (!options.require_auth)
      return caller{"default", "admin", "no-auth"};
    auto it = req.find("X-API-Key");
    if (it == req.end())
      return make_error(error_code::unauthorized, "missing X-API-Key header", json::object{{"header", "X-API-Key"}});
    std::string_view given(it->value().data(), it->value().size());
    for (const auto& k : options.keys)
      if (key_equals(k.key, given)) {
        if (write && k.scope == "read")
          return make_error(error_code::permission_denied, "this API key may only read",
                            json::object{{"rule", "api_key_scope"}, {"required", "all"}, {"current", "read"}});
        return caller{k.tenant, k.scope, "api-key:" + policies::sha256_hex(k.key).substr(0, 12)};
      }
    return make_error(error_code::unauthorized, "unknown API key", json::object{{"header", "X-API-Key"}});
  }

  /// Routes one request; calls `reply` exactly once, possibly from another thread.
  void route(const http::request<http::string_body>& req, std::function<void(http_reply)> reply) {
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    std::string query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
    std::string request_id;
    if (auto it = req.find("X-Request-ID"); it != req.end()) {
      request_id = std::string(it->value());
      if (!is_uuid(request_id))
        return reply(error_reply(make_error(error_code::validation_error, "X-Request-ID must be a UUID",
                                            json::object{{"header", "X-Request-ID"}}),
                                 ""));
    }
    if (path == "/healthz") {
      if (req.method() != http::verb::get)
        return reply(error_reply(make_error(error_code::method_not_allowed, "use GET", json::object{{"allow", "GET"}}), request_id));
      return reply({http::status::ok, R"({"status":"ok"})", request_id});
    }
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;
    const bool del = req.method() == http::verb::delete_;
    auto method_not_allowed = [&](const char* allow) {
      return reply(error_reply(make_error(error_code::method_not_allowed, std::string("use ") + allow,
                                          json::object{{"allow", allow}}),
                               request_id));
    };
    bool is_webhook = path == "/webhook/kimmy-intake" || path == "/webhook/prolex-intake" || path == "/webhook/proxy-exec";
    bool known = is_webhook || path == "/v1/journal" || path == "/v1/breakers" || path == "/v1/approvals"
                 || path.starts_with("/v1/approvals/") || path.starts_with("/v1/requests/");
    if (!known)
      return reply(error_reply(make_error(error_code::not_found, "no route " + path, json::object{{"path", path}}), request_id));
    bool write = !get;
    auto who = authenticate(req, write);
    if (!who)
      return reply(error_reply(who.error(), request_id));

    if (path.starts_with("/v1/requests/")) {
      auto id = tail_of(path, "/v1/requests/");
      if (!get && !del)
        return method_not_allowed("GET, DELETE");
      if (!is_uuid(id))
        return reply(error_reply(make_error(error_code::validation_error, "the request id must be a UUID",
                                            json::object{{"request_id", id}}),
                                 request_id));
      // Both routes check the request belongs to the caller's tenant first.
      eng.request_state(id, who->tenant_filter(), [this, reply, id, get, tenant = who->tenant_filter()](result<json::object> state) {
        if (get) {
          if (!state)
            return reply(error_reply(state.error(), id));
          return reply({http::status::ok, json::serialize(*state), id});
        }
        if (!state && !tenant.empty())  // another tenant's, or unknown
          return reply(error_reply(state.error(), id));
        if (!eng.cancel(id))
          return reply(error_reply(make_error(error_code::not_found, "no running plan with this request id",
                                              json::object{{"request_id", id}}),
                                   id));
        reply({http::status::accepted, json::serialize(json::object{{"request_id", id}, {"status", "cancelling"}}), id});
      });
      return;
    }
    if (path == "/v1/breakers") {
      if (!get)
        return method_not_allowed("GET");
      json::array list;
      for (const auto& b : eng.breakers())
        list.push_back(json::object{{"target", b.target},
                                    {"state", b.state},
                                    {"failure_rate", b.failure_rate},
                                    {"opened", b.opened},
                                    {"half_opened", b.half_opened},
                                    {"closed", b.closed},
                                    {"rejected", b.rejected}});
      return reply({http::status::ok, json::serialize(json::object{{"breakers", std::move(list)}}), request_id});
    }
    if (path == "/v1/approvals") {
      if (!get)
        return method_not_allowed("GET");
      std::string status = query_param(query, "status");
      eng.approvals(who->tenant_filter(), status, [reply, request_id](result<json::array> list) {
        if (!list)
          return reply(error_reply(list.error(), request_id));
        reply({http::status::ok, json::serialize(json::object{{"approvals", std::move(*list)}}), request_id});
      });
      return;
    }
    if (path.starts_with("/v1/approvals/")) {
      auto id = tail_of(path, "/v1/approvals/");
      if (get) {
        eng.approvals(who->tenant_filter(), "", [reply, request_id, id](result<json::array> list) {
          if (!list)
            return reply(error_reply(list.error(), request_id));
          for (const auto& a : *list)
            if (a.as_object().at("id").as_string() == id)
              return reply({http::status::ok, json::serialize(a), request_id});
          reply(error_reply(make_error(error_code::not_found, "no approval " + id, json::object{{"approval_id", id}}),
                            request_id));
        });
        return;
      }
      if (!post)
        return method_not_allowed("GET, POST");
      auto body = parse_json(req.body());
      if (!body)
        return reply(error_reply(body.error(), request_id));
      const auto* obj = body->if_object();
      auto decision = obj ? get_string(*obj, "decision") : std::nullopt;
      if (!decision || (*decision != "approve" && *decision != "reject"))
        return reply(error_reply(make_error(error_code::validation_error, R"(the body needs "decision": "approve" or "reject")",
                                            json::object{{"field", "decision"}}),
                                 request_id));
      approval_decision_request d;
      d.approval_id = id;
      d.approve = *decision == "approve";
      d.tenant = who->tenant_filter();
      d.confirmation_code = std::string(get_string(*obj, "confirmation_code").value_or(""));
      d.comment = std::string(get_string(*obj, "comment").value_or(""));
      auto by = std::string(get_string(*obj, "decided_by").value_or(""));
      d.decided_by = by.empty() ? who->fingerprint : by + " (" + who->fingerprint + ")";
      eng.decide(std::move(d), [reply, request_id](result<json::object> r) {
        if (!r)
          return reply(error_reply(r.error(), request_id));
        reply({http::status::ok, json::serialize(*r), request_id});
      });
      return;
    }
    if (is_webhook && !post)
      return method_not_allowed("POST");
    if (path == "/v1/journal" && !get)
      return method_not_allowed("GET");

    if (path == "/v1/journal") {
      journal_query q;
      q.request_id = query_param(query, "request_id");
      q.agent = query_param(query, "agent");
      auto limit = query_param(query, "limit");
      if (!limit.empty())
        q.limit = static_cast<std::size_t>(std::strtoul(limit.c_str(), nullptr, 10));
      q.tenant = who->tenant_filter();
      eng.journal(q, [reply, request_id](result<json::array> rows) {
        if (!rows)
          return reply(error_reply(rows.error(), request_id));
        reply({http::status::ok, json::serialize(json::object{{"entries", std::move(rows).value()}}), request_id});
      });
      return;
    }

    auto body = parse_json(req.body());
    if (!body)
      return reply(error_reply(body.error(), request_id));
    if (!body->is_object())
      return reply(error_reply(make_error(error_code::validation_error, "the body must be a JSON object",
                                          json::object{{"type", body->kind() == json::kind::array ? "array" : "scalar"}}),
                               request_id));
    submit_options so;
    so.request_id = request_id;
    so.tenant = who->tenant;
    auto done = [reply](request_result r) { reply(result_reply(r)); };
    if (path == "/webhook/kimmy-intake") {
      if (auto err = schemas->check(schema_ids::intake_request, *body, "intake request"))
        return reply(error_reply(err, request_id));
      const auto& o = body->get_object();
      auto text = get_string(o, "text");
      if (!text)
        text = get_string(o, "message");
      so.source = std::string(get_string(o, "source").value_or("api"));
      so.user_id = std::string(get_string(o, "user_id").value_or(""));
      eng.submit_text(std::string(*text), so, done);
    } else if (path == "/webhook/prolex-intake") {
      eng.submit_payload(std::move(body).value(), so, done);
    } else {
      eng.submit_output(std::move(body).value(), so, done);
    }
  }
};

namespace {

/// One connection: read a request, route it, write the reply; keep-alive loop.
class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, std::shared_ptr<api_server::impl> server)
    : stream_(std::move(socket)), server_(std::move(server)) {}

  void start() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::read, shared_from_this()));
  }

private:
  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted)
      return close();
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      return write(error_reply(make_error(error_code::body_too_large, "the body exceeds the limit",
                                          json::object{{"max_body_bytes", server_->options.max_body_bytes}}),
                               ""));
    }
    if (ec) {
      keep_alive_ = false;
      return write(error_reply(make_error(error_code::validation_error, "malformed HTTP request",
                                          json::object{{"reason", ec.message()}}),
                               ""));
    }
    request_ = parser_->release();
    keep_alive_ = request_.keep_alive();
    stream_.expires_never();
    auto self = shared_from_this();
    auto executor = stream_.get_executor();
    server_->route(request_, [self, executor](http_reply reply) {
      asio::post(executor, [self, reply = std::move(reply)]() mutable { self->write(std::move(reply)); });
    });
  }

  void write(http_reply reply) {
    auto res = std::make_shared<http::response<http::string_body>>(reply.status, 11);
    res->set(http::field::server, "opexd/0.1");
    res->set(http::field::content_type, "application/json");
    if (!reply.request_id.empty())
      res->set("X-Request-ID", reply.request_id);
    res->keep_alive(keep_alive_);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_)
        return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<api_server::impl> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  bool keep_alive_ = true;
};

void accept(std::shared_ptr<api_server::impl> server) {
  server->acceptor.async_accept(asio::make_strand(server->ioc), [server](beast::error_code ec, tcp::socket socket) {
    if (ec)
      return;  // acceptor closed
    std::make_shared<session>(std::move(socket), server)->start();
    accept(server);
  });
}

} // namespace

api_server::api_server(engine& eng, api_server_options options)
  : impl_(std::make_shared<impl>(eng, std::move(options))) {}

api_server::~api_server() {
  stop();
}

void api_server::start() {
  auto& im = *impl_;
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

std::uint16_t api_server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void api_server::stop() {
  auto& im = *impl_;
  if (im.stopped.exchange(true))
    return;
  asio::post(im.ioc, [&im] {
    beast::error_code ignored;
    im.acceptor.close(ignored);
  });
  im.guard.reset();
  im.ioc.stop();
  for (auto& t : im.threads)
    if (t.joinable())
      t.join();
  std::lock_guard lock(im.m);
  im.cv.notify_all();
}

void api_server::wait_for_signal() {
  asio::io_context signals_ctx;
  asio::signal_set signals(signals_ctx, SIGINT, SIGTERM);
  signals.async_wait([this](beast::error_code ec, int) {
    if (ec)
      return;
    std::lock_guard lock(impl_->m);
    impl_->signalled = true;
    impl_->cv.notify_all();
  });
  std::thread waiter([&] { signals_ctx.run(); });
  {
    std::unique_lock lock(impl_->m);
    impl_->cv.wait(lock, [&] { return impl_->stopped.load() || impl_->signalled; });
  }
  signals_ctx.stop();
  waiter.join();
}

} // namespace opex::tools
