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
}
