// The Beast client against loopback servers: HTTP, HTTPS with a test CA, certificate
// verification, refused connections and deadlines.
#include "opex/connectors/http_client.hpp"

#include "support/loopback_server.hpp"

#include <catch2/catch.hpp>

#include <future>

using namespace opex;
using namespace opex::connectors;
using namespace std::chrono_literals;

namespace {
struct outcome {
  error_info error;
  http_response response;
};

outcome send(http_client& c, http_request req) {
  std::promise<outcome> p;
  auto f = p.get_future();
  c.send(std::move(req), [&p](error_info e, http_response r) { p.set_value({std::move(e), std::move(r)}); });
  REQUIRE(f.wait_for(30s) == std::future_status::ready);  // a bound, not a sleep
  return f.get();
}
} // namespace

TEST_CASE("http_client: POST JSON over HTTP") {
  test::loopback_server server([](const test::recorded_request& r) {
    return test::scripted_response{201, R"({"got":)" + r.body + "}", {{"X-Test", "1"}}};
  });
  http_client client;
  http_request req;
  req.url = server.base_url() + "/webhook/x?y=1";
  req.body = R"({"a":1})";
  req.headers = {{"X-Request-ID", "abc"}};
  auto o = send(client, req);
  REQUIRE_FALSE(o.error);
  CHECK(o.response.status == 201);
  CHECK(o.response.body == R"({"got":{"a":1}})");
  CHECK(o.response.header("x-test") == "1");
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/webhook/x?y=1");
  bool has_id = false;
  for (const auto& [k, v] : reqs[0].headers)
    has_id |= k == "x-request-id" && v == "abc";
  CHECK(has_id);
}

TEST_CASE("http_client: HTTPS with the server's CA, and refusal without it") {
  test::loopback_server server([](const test::recorded_request&) { return test::scripted_response{200, R"({"tls":true})"}; },
                               true);
  http_client_options trusted;
  trusted.ca_file = server.ca_pem_path();
  http_client client(trusted);
  http_request req;
  req.url = server.base_url() + "/secure";
  auto o = send(client, req);
  REQUIRE_FALSE(o.error);
  CHECK(o.response.body == R"({"tls":true})");
  http_client untrusting;
  auto refused = send(untrusting, req);
  REQUIRE(refused.error);
  CHECK(refused.error.code == error_code::connection_failed);
  CHECK(refused.error.details.at("stage") == "tls");
}

TEST_CASE("http_client: refused connection, deadline, invalid URL") {
  http_client client;
  std::uint16_t closed_port;
  {
    test::loopback_server s([](const test::recorded_request&) { return test::scripted_response{}; });
    closed_port = s.port();
  }
  http_request req;
  req.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/";
  auto refused = send(client, req);
  REQUIRE(refused.error);
  CHECK(refused.error.code == error_code::connection_failed);
  CHECK(refused.error.details.at("stage") == "connect");

  test::loopback_server slow([](const test::recorded_request&) {
    test::scripted_response r;
    r.delay = 2000ms;
    return r;
  });
  req.url = slow.base_url() + "/slow";
  req.timeout = 100ms;
  auto late = send(client, req);
  REQUIRE(late.error);
  CHECK(late.error.code == error_code::timeout);

  req.url = "ftp://x";
  auto bad = send(client, req);
  CHECK(bad.error.code == error_code::validation_error);
  CHECK(parse_url("https://example.org/a?b")->port == "443");
  CHECK(parse_url("http://[::1]:8080/x")->host == "::1");
  CHECK_FALSE(parse_url("http://user@host/"));
}

TEST_CASE("http_client: a completion that holds the last reference releases the client") {
  // An MCP transport's answer handler once held the client's last reference; releasing it on
  // the client's own I/O thread joined that thread with itself (std::terminate).
  test::loopback_server server([](const test::recorded_request&) { return test::scripted_response{200, "{}"}; });
  std::promise<int> released;
  auto done = released.get_future();
  {
    auto client = std::make_shared<http_client>();
    auto* raw = client.get();
    http_request req;
    req.url = server.base_url() + "/";
    raw->send(std::move(req), [client = std::move(client), &released](error_info, http_response res) mutable {
      client.reset();  // ~http_client on the client's own thread
      released.set_value(res.status);
    });
  }
  REQUIRE(done.wait_for(30s) == std::future_status::ready);
  CHECK(done.get() == 200);
  // The client's thread ends by itself once the completion returned; the process must not exit
  // under its cleanup.
  CHECK(http_client::wait_for_threads(10s));
}

namespace {
std::vector<std::size_t> connections_of(const test::loopback_server& s) {
  std::vector<std::size_t> out;
  for (const auto& r : s.requests())
    out.push_back(r.connection);
  return out;
}
} // namespace

TEST_CASE("http_client pool: requests in sequence share one kept-alive connection") {
  test::loopback_server server([](const test::recorded_request&) { return test::scripted_response{200, "{}"}; });
  http_client client;
  http_request req;
  req.url = server.base_url() + "/again";
  for (int i = 0; i < 20; ++i)
    REQUIRE(send(client, req).response.status == 200);
  CHECK(server.connections_accepted() == 1);
  CHECK(connections_of(server) == std::vector<std::size_t>(20, 1));
  auto stats = client.connection_stats();
  CHECK(stats.opened == 1);
  CHECK(stats.reused == 19);
  CHECK(stats.idle == 1);
}

TEST_CASE("http_client pool: Connection: close and idle_timeout 0 open a connection per request") {
  test::loopback_server closing([](const test::recorded_request&) {
    return test::scripted_response{200, "{}", {{"Connection", "close"}}};
  });
  http_client client;
  http_request req;
  req.url = closing.base_url() + "/";
  for (int i = 0; i < 3; ++i)
    REQUIRE(send(client, req).response.status == 200);
  CHECK(connections_of(closing) == std::vector<std::size_t>{1, 2, 3});
  CHECK(client.connection_stats().open == 0);

  test::loopback_server server([](const test::recorded_request&) { return test::scripted_response{200, "{}"}; });
  http_client_options no_reuse;
  no_reuse.idle_timeout = 0ms;
  http_client once(no_reuse);
  req.url = server.base_url() + "/";
  for (int i = 0; i < 3; ++i)
    REQUIRE(send(once, req).response.status == 200);
  CHECK(connections_of(server) == std::vector<std::size_t>{1, 2, 3});
}

TEST_CASE("http_client pool: a connection the server closed while idle is not used again") {
  test::loopback_server server([](const test::recorded_request& r) {
    test::scripted_response res{200, "{}"};
    res.close_after = r.target == "/then-close";
    return res;
  });
  http_client client;
  http_request req;
  req.url = server.base_url() + "/then-close";
  REQUIRE(send(client, req).response.status == 200);
  REQUIRE(server.wait_closed(1, 10s));  // the server closed it after answering
  req.url = server.base_url() + "/next";  // a POST: it must not be sent on the dead connection
  auto o = send(client, req);
  REQUIRE_FALSE(o.error);
  CHECK(o.response.status == 200);
  CHECK(connections_of(server) == std::vector<std::size_t>{1, 2});
}

TEST_CASE("http_client pool: an idle connection is closed after idle_timeout") {
  test::loopback_server server([](const test::recorded_request&) { return test::scripted_response{200, "{}"}; });
  http_client_options opts;
  opts.idle_timeout = 50ms;
  http_client client(opts);
  http_request req;
  req.url = server.base_url() + "/";
  REQUIRE(send(client, req).response.status == 200);
  CHECK(server.wait_closed(1, 10s));  // closed by the client, the server only answered
  CHECK(client.connection_stats().open == 0);
  REQUIRE(send(client, req).response.status == 200);
  CHECK(connections_of(server) == std::vector<std::size_t>{1, 2});
}

TEST_CASE("http_client pool: at most max_connections_per_origin open, the others wait their turn") {
  test::loopback_server server([](const test::recorded_request&) {
    test::scripted_response r{200, "{}"};
    r.delay = 20ms;
    return r;
  });
  http_client_options opts;
  opts.max_connections_per_origin = 2;
  http_client client(opts);
  constexpr int n = 12;
  std::vector<std::promise<outcome>> promises(n);
  for (int i = 0; i < n; ++i) {
    http_request req;
    req.url = server.base_url() + "/" + std::to_string(i);
    client.send(std::move(req), [&promises, i](error_info e, http_response r) {
      promises[static_cast<std::size_t>(i)].set_value({std::move(e), std::move(r)});
    });
  }
  for (auto& p : promises) {
    auto f = p.get_future();
    REQUIRE(f.wait_for(30s) == std::future_status::ready);
    auto o = f.get();
    CHECK_FALSE(o.error);
    CHECK(o.response.status == 200);
  }
  CHECK(server.connections_accepted() == 2);
  CHECK(client.connection_stats().opened == 2);

  // One connection, busy for a second: the next request times out waiting for it.
  test::loopback_server slow([](const test::recorded_request&) {
    test::scripted_response r{200, "{}"};
    r.delay = 1000ms;
    return r;
  });
  opts.max_connections_per_origin = 1;
  http_client single(opts);
  http_request busy;
  busy.url = slow.base_url() + "/busy";
  std::promise<outcome> first;
  single.send(busy, [&first](error_info e, http_response r) { first.set_value({std::move(e), std::move(r)}); });
  busy.timeout = 100ms;
  auto waited = send(single, busy);
  REQUIRE(waited.error);
  CHECK(waited.error.code == error_code::timeout);
  CHECK(waited.error.details.at("stage") == "pool");
  auto f = first.get_future();
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  CHECK(f.get().response.status == 200);
  CHECK(slow.requests().size() == 1);  // the one that timed out in the queue never left
}

TEST_CASE("http_client pool: HTTPS keeps its connection, and a new one resumes the TLS session") {
  test::loopback_server server([](const test::recorded_request& r) {
    test::scripted_response res{200, "{}"};
    if (r.target == "/close")
      res.headers = {{"Connection", "close"}};
    return res;
  }, true);
  http_client_options trusted;
  trusted.ca_file = server.ca_pem_path();
  http_client client(trusted);
  http_request req;
  req.url = server.base_url() + "/keep";
  REQUIRE(send(client, req).response.status == 200);
  REQUIRE(send(client, req).response.status == 200);
  req.url = server.base_url() + "/close";
  REQUIRE(send(client, req).response.status == 200);
  req.url = server.base_url() + "/after";
  REQUIRE(send(client, req).response.status == 200);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(connections_of(server) == std::vector<std::size_t>{1, 1, 1, 2});
  CHECK_FALSE(reqs[0].tls_resumed);
  CHECK(reqs[3].tls_resumed);  // no full handshake for the second connection
}
