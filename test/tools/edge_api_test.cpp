// opexd's edge from opex.yml as a client meets it (docs/operations.md, "Rate limits" and
// "Signed webhooks"): a signed request runs; a forged, stale or replayed one is refused with its
// code; the 101st request in a minute on one key and route gets 429 with Retry-After; a tenant's
// own limit and secret apply to its keys.
#include "support/loopback_server.hpp"
#include "support/opexd_fixture.hpp"

#include "opex/policies/webhook_signature.hpp"

#include <cstdlib>

using namespace opex;
using namespace opex::test;

namespace {

const std::string task_plan = R"({"type":"tool_call","tool":"TASK_CREATE","payload":{"title":"edge"}})";

std::string now_unix() {
  return std::to_string(
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

/// Starts opexd with the edge rules read from `yaml`, as opexd's main does.
void start_with_edge(opexd_fixture& fx, const std::string& yaml) {
  fx.write_config(yaml);
  fx.adjust_server = [&fx](tools::api_server_options& so) {
    auto edge = tools::edge_policies(fx.eng->configuration());
    REQUIRE(edge);
    std::tie(so.edge, so.tenant_edge) = std::move(edge).value();
  };
  fx.start();
}

} // namespace

TEST_CASE("edge api: signed webhooks: a signed request runs, forged, stale and replayed ones are refused") {
  ::setenv("OPEX_TEST_SIGNING_SECRET", "whsec-server", 1);
  opexd_fixture fx;
  fx.add_keys("edge-key");
  start_with_edge(fx, "server:\n  signatures: {secret: env:OPEX_TEST_SIGNING_SECRET, tolerance_s: 300}\n");
  auto post = [&](const std::string& ts, const std::string& sig) {
    std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json"}};
    if (!ts.empty())
      h.emplace_back("X-Opex-Timestamp", ts);
    if (!sig.empty())
      h.emplace_back("X-Opex-Signature", sig);
    return fx.call("POST", "/webhook/proxy-exec", task_plan, "edge-key", h);
  };
  auto ts = now_unix();
  auto sig = policies::webhook_signature("whsec-server", ts, task_plan);

  auto ok = post(ts, sig);
  REQUIRE(ok.status == 200);
  CHECK(ok.body.at("status").as_string() == "succeeded");

  auto replay = post(ts, sig);
  CHECK(replay.status == 409);
  CHECK(fx.error_code_of(replay) == "REPLAYED");

  auto unsigned_request = post("", "");
  CHECK(unsigned_request.status == 401);
  CHECK(fx.error_code_of(unsigned_request) == "SIGNATURE_INVALID");

  auto forged = post("0", "sha256=" + std::string(64, 'a'));
  CHECK(forged.status == 401);
  CHECK(fx.error_code_of(forged) == "SIGNATURE_INVALID");

  auto stale = post("0", policies::webhook_signature("whsec-server", "0", task_plan));
  CHECK(stale.status == 401);
  CHECK(fx.error_code_of(stale) == "SIGNATURE_EXPIRED");

  // Reads are not webhooks: the journal answers with the key alone.
  CHECK(fx.call("GET", "/v1/journal?limit=1", "", "edge-key").status == 200);
}

TEST_CASE("edge api: the 101st request in a minute on one key and route gets 429 RATE_LIMITED with Retry-After") {
  opexd_fixture fx;
  fx.add_keys("limited-key");
  fx.add_keys("acme-key", "acme");
  start_with_edge(fx, "server:\n  rate_limit: {requests_per_minute: 100}\n"
                      "tenants:\n  - slug: acme\n    rate_limit: {requests_per_minute: 60, burst: 2}\n");
  for (int i = 0; i < 100; ++i)
    REQUIRE(fx.call("GET", "/v1/breakers", "", "limited-key").status == 200);
  auto limited = fx.call("GET", "/v1/breakers", "", "limited-key");
  CHECK(limited.status == 429);
  CHECK(fx.error_code_of(limited) == "RATE_LIMITED");
  CHECK(limited.raw.header("retry-after") == std::optional<std::string>("1"));
  CHECK(limited.body.at("details").at("route").as_string() == "/v1/breakers");
  // Another route of the same key has its own bucket.
  CHECK(fx.call("GET", "/v1/journal?limit=1", "", "limited-key").status == 200);
  // The tenant's own limit: a burst of 2.
  CHECK(fx.call("GET", "/v1/breakers", "", "acme-key").status == 200);
  CHECK(fx.call("GET", "/v1/breakers", "", "acme-key").status == 200);
  CHECK(fx.call("GET", "/v1/breakers", "", "acme-key").status == 429);
  // Health checks and metrics carry no key and are not limited.
  for (int i = 0; i < 120; ++i)
    REQUIRE(fx.call("GET", "/healthz", "", "").status == 200);
}

TEST_CASE("edge api: a tenant's signing secret applies to its keys, and a missing secret stops the start") {
  ::setenv("OPEX_TEST_ACME_SECRET", "whsec-acme", 1);
  opexd_fixture fx;
  fx.add_keys("default-key");
  fx.add_keys("acme-key", "acme");
  start_with_edge(fx, "tenants:\n  - slug: acme\n    signatures: {secret: env:OPEX_TEST_ACME_SECRET}\n");
  // The default tenant signs nothing; acme must.
  CHECK(fx.call("POST", "/webhook/proxy-exec", task_plan, "default-key", {{"Content-Type", "application/json"}}).status
        == 200);
  CHECK(fx.call("POST", "/webhook/proxy-exec", task_plan, "acme-key", {{"Content-Type", "application/json"}}).status
        == 401);
  auto ts = now_unix();
  auto signed_acme = fx.call("POST", "/webhook/proxy-exec", task_plan, "acme-key",
                             {{"Content-Type", "application/json"},
                              {"X-Opex-Timestamp", ts},
                              {"X-Opex-Signature", policies::webhook_signature("whsec-acme", ts, task_plan)}});
  CHECK(signed_acme.status == 200);

  auto cfg = load_config_text("server:\n  signatures: {secret: env:OPEX_TEST_NOT_SET_ANYWHERE}\n", ".", "edge.yml");
  REQUIRE(cfg);
  auto edge = tools::edge_policies(*cfg);
  REQUIRE_FALSE(edge);
  CHECK(edge.error().code == error_code::secret_not_found);
  CHECK_THAT(edge.error().message, Catch::Contains("server.signatures.secret"));
  // A secret written in the file itself is refused by the schema: only env: or file: references.
  auto literal = load_config_text("server:\n  signatures: {secret: whsec-in-clear}\n", ".", "edge.yml");
  REQUIRE_FALSE(literal);
  CHECK(literal.error().code == error_code::config_error);
  CHECK_THAT(boost::json::serialize(literal.error().details), Catch::Contains("[server][signatures][secret]"));
}

TEST_CASE("edge api: origins: preflight without a key, allowed origins get CORS headers, others 403") {
  opexd_fixture fx;
  fx.add_keys("cors-key");
  fx.adjust_server = [](tools::api_server_options& so) { so.allowed_origins = {"https://console.example.com"}; };
  fx.start();
  const std::string allowed = "https://console.example.com";
  auto pre = fx.call("OPTIONS", "/webhook/proxy-exec", "", "",
                     {{"Origin", allowed}, {"Access-Control-Request-Method", "POST"}});
  CHECK(pre.status == 204);
  CHECK(pre.raw.header("access-control-allow-origin") == std::optional<std::string>(allowed));
  CHECK(pre.raw.header("access-control-allow-methods") == std::optional<std::string>("POST, OPTIONS"));
  CHECK_THAT(pre.raw.header("access-control-allow-headers").value_or(""), Catch::Contains("X-API-Key"));
  CHECK(pre.raw.header("access-control-max-age") == std::optional<std::string>("600"));
  auto plain = fx.call("OPTIONS", "/v1/approvals/abc", "", "");
  CHECK(plain.status == 204);
  CHECK(plain.raw.header("allow") == std::optional<std::string>("GET, POST, OPTIONS"));

  auto ok = fx.call("POST", "/webhook/proxy-exec", task_plan, "cors-key",
                    {{"Content-Type", "application/json"}, {"Origin", allowed}});
  CHECK(ok.status == 200);
  CHECK(ok.raw.header("access-control-allow-origin") == std::optional<std::string>(allowed));
  CHECK(ok.raw.header("vary") == std::optional<std::string>("Origin"));

  auto evil = fx.call("POST", "/webhook/proxy-exec", task_plan, "cors-key",
                      {{"Content-Type", "application/json"}, {"Origin", "https://evil.example"}});
  CHECK(evil.status == 403);
  CHECK(fx.error_code_of(evil) == "PERMISSION_DENIED");
  CHECK(evil.body.at("details").at("rule").as_string() == "origin");
  CHECK_FALSE(evil.raw.header("access-control-allow-origin"));
  CHECK(fx.call("OPTIONS", "/webhook/proxy-exec", "", "", {{"Origin", "https://evil.example"}}).status == 403);
  // Same-origin (the Origin names the Host the request was sent to) needs no allow-list entry.
  auto host = "127.0.0.1:" + std::to_string(fx.server->port());
  CHECK(fx.call("GET", "/v1/breakers", "", "cors-key", {{"Origin", "http://" + host}, {"Host", host}}).status == 200);
}

namespace {
std::string header_of(const test::recorded_request& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return "";
}
} // namespace

TEST_CASE("edge api: traces: the caller's traceparent is continued, returned and sent to the webhook") {
  test::loopback_server hook([](const test::recorded_request&) { return test::scripted_response{200, R"({"ok":true})"}; });
  opexd_fixture fx;
  fx.add_keys("trace-key");
  fx.write_config("targets:\n  overrides:\n    TASK_CREATE: {type: webhook, url: \"" + hook.base_url() + "/task\"}\n");
  fx.start();
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller = "00-" + trace + "-00f067aa0ba902b7-01";
  auto r = fx.call("POST", "/webhook/proxy-exec", task_plan, "trace-key",
                   {{"Content-Type", "application/json"}, {"traceparent", caller}, {"tracestate", "vendor=x"}});
  REQUIRE(r.status == 200);
  auto answered = trace_context::parse(r.raw.header("traceparent").value_or(""));
  REQUIRE(answered);
  CHECK(answered->trace_id == trace);
  CHECK(answered->span_id != "00f067aa0ba902b7");  // opexd's own span under the caller's
  CHECK(r.raw.header("tracestate") == std::optional<std::string>("vendor=x"));
  REQUIRE(hook.requests().size() == 1);
  auto sent = trace_context::parse(header_of(hook.requests()[0], "traceparent"));
  REQUIRE(sent);
  CHECK(sent->trace_id == trace);
  CHECK(sent->span_id != answered->span_id);  // the attempt's span, a child of the request's
  CHECK(header_of(hook.requests()[0], "tracestate") == "vendor=x");

  // No traceparent, or an invalid one (upper-case hex): a new trace, returned all the same.
  auto fresh = fx.call("GET", "/v1/breakers", "", "trace-key");
  auto started = trace_context::parse(fresh.raw.header("traceparent").value_or(""));
  REQUIRE(started);
  CHECK(started->trace_id != trace);
  auto bad = fx.call("GET", "/v1/breakers", "", "trace-key", {{"traceparent", "00-" + std::string(32, 'A') + "-00f067aa0ba902b7-01"}});
  auto restarted = trace_context::parse(bad.raw.header("traceparent").value_or(""));
  REQUIRE(restarted);
  CHECK(restarted->trace_id != std::string(32, 'a'));
}

TEST_CASE("edge api: traces: n8n's REST calls carry the attempt's traceparent") {
  // A loopback stand-in for n8n's public API: it answers the workflow list and records headers.
  test::loopback_server n8n([](const test::recorded_request&) {
    return test::scripted_response{200, R"({"data":[],"nextCursor":null})"};
  });
  ::setenv("OPEX_EDGE_TEST_N8N_KEY", "n8n-key", 1);
  opexd_fixture fx;
  fx.add_keys("trace-key");
  fx.write_config("n8n:\n  instances:\n    sandbox:\n      base_url: " + n8n.base_url()
                  + "\n      api_key: env:OPEX_EDGE_TEST_N8N_KEY\n      environment: sandbox\n");
  fx.start();
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = fx.call("POST", "/webhook/proxy-exec", R"({"type":"tool_call","tool":"N8N_LIST_WORKFLOWS","payload":{}})",
                   "trace-key", {{"Content-Type", "application/json"}, {"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  REQUIRE(r.status == 200);
  REQUIRE(!n8n.requests().empty());
  for (const auto& req : n8n.requests()) {
    auto sent = trace_context::parse(header_of(req, "traceparent"));
    REQUIRE(sent);
    CHECK(sent->trace_id == trace);
  }
}
