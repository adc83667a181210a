// opexd's edge rules after the API key (docs/operations.md, "Rate limits" and "Signed
// webhooks"): a token bucket per key and route, and HMAC signatures on the /webhook/ routes.
#include "api_server_impl.hpp"

#include <boost/json/object.hpp>

#include <algorithm>

namespace opex::tools {

namespace json = boost::json;

namespace {

/// A signing secret from its reference; SECRET_NOT_FOUND names where it was expected.
result<std::optional<signing_settings>> signing_of(const signature_settings& s, const std::string& where) {
  if (s.secret.empty())
    return std::optional<signing_settings>{};
  auto value = resolve_reference(s.secret);
  if (!value || value->empty())
    return make_error(error_code::secret_not_found,
                      where + ".signatures.secret: " + s.secret + " does not resolve to a secret",
                      json::object{{"key", where + ".signatures.secret"}, {"reference", s.secret}});
  return std::optional<signing_settings>{signing_settings{std::move(value).value(), s.tolerance_s, s.required}};
}

} // namespace

result<std::pair<edge_policy, std::map<std::string, edge_policy, std::less<>>>> edge_policies(const opex_config& cfg) {
  edge_policy server;
  server.rate_limit = cfg.server.rate_limit;
  auto signing = signing_of(cfg.server.signatures, "server");
  if (!signing)
    return signing.error();
  server.signatures = std::move(signing).value();
  std::map<std::string, edge_policy, std::less<>> tenants;
  for (const auto& t : cfg.tenants) {
    edge_policy p = server;
    if (t.rate_limit)
      p.rate_limit = *t.rate_limit;
    if (t.signatures) {
      auto own = signing_of(*t.signatures, "tenants." + t.slug);
      if (!own)
        return own.error();
      p.signatures = std::move(own).value();
    }
    tenants.emplace(t.slug, std::move(p));
  }
  return std::make_pair(std::move(server), std::move(tenants));
}

std::shared_ptr<const edge_policy> api_server::impl::edge_of(const caller& who) const {
  auto r = current_rules();
  auto it = r->tenant_edge.find(who.tenant);
  return std::shared_ptr<const edge_policy>(r, it == r->tenant_edge.end() ? &r->edge : &it->second);
}

error_info api_server::impl::edge_check(const http_request_view& req, const caller& who, const std::string& label) {
  auto held = edge_of(who);  // the rules of this request, whatever a reload does meanwhile
  const auto& edge = *held;
  if (edge.rate_limit.requests_per_minute > 0) {
    auto d = limiter.take(who.fingerprint + " " + label, edge.rate_limit, std::chrono::steady_clock::now());
    if (!d.allowed) {
      metrics->rate_limited(label);
      return make_error(error_code::rate_limited,
                        "rate limit of " + std::to_string(edge.rate_limit.requests_per_minute)
                          + " requests per minute on " + label + " reached for this API key",
                        json::object{{"route", label},
                                     {"limit", d.limit},
                                     {"requests_per_minute", edge.rate_limit.requests_per_minute},
                                     {"retry_after_ms", d.retry_after.count()}});
    }
  }
  if (!edge.signatures || !label.starts_with("/webhook/"))
    return {};
  auto timestamp = req.header("X-Opex-Timestamp");
  auto signature = req.header("X-Opex-Signature");
  if (!edge.signatures->required && timestamp.empty() && signature.empty())
    return {};
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  return signatures.verify(edge.signatures->secret, timestamp, signature, req.body, now, edge.signatures->tolerance_s);
}

} // namespace opex::tools

namespace opex::tools {

namespace {

/// True when the Origin names the host the request was sent to (same-origin), whatever the
/// scheme (opexd may sit behind a TLS-terminating proxy).
bool same_origin(std::string_view origin, std::string_view host) {
  auto sep = origin.find("://");
  return !host.empty() && sep != std::string_view::npos && origin.substr(sep + 3) == host;
}

bool cross_origin_allowed(const api_server_options& o, std::string_view origin) {
  return std::find(o.allowed_origins.begin(), o.allowed_origins.end(), origin) != o.allowed_origins.end();
}

constexpr std::string_view allowed_request_headers =
  "Content-Type, X-API-Key, Authorization, X-Request-ID, Idempotency-Key, X-Opex-Timestamp, X-Opex-Signature, "
  "traceparent, tracestate, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID";

} // namespace

error_info api_server::impl::origin_check(const http_request_view& req) const {
  auto origin = req.header("Origin");
  if (origin.empty() || same_origin(origin, req.header("Host")) || cross_origin_allowed(options, origin))
    return {};
  return make_error(error_code::permission_denied, "origin " + origin + " is not allowed (server.cors.allowed_origins)",
                    json::object{{"rule", "origin"}, {"origin", origin}});
}

std::string api_server::impl::allowed_cross_origin(const http_request_view& req) const {
  auto origin = req.header("Origin");
  return cross_origin_allowed(options, origin) ? origin : std::string{};
}

void add_cors_headers(const std::string& origin, http_reply& r) {
  r.headers.emplace_back("Access-Control-Allow-Origin", origin);
  r.headers.emplace_back("Vary", "Origin");
  r.headers.emplace_back("Access-Control-Expose-Headers", "X-Request-ID, Retry-After, Idempotent-Replayed, Mcp-Session-Id");
}

http_reply api_server::impl::preflight(const http_request_view& req, std::string_view allow) const {
  http_reply r{204, "", req.request_id, {}, false};
  const std::string methods = std::string(allow) + ", OPTIONS";
  r.headers.emplace_back("Allow", methods);
  if (auto origin = allowed_cross_origin(req); !origin.empty()) {
    add_cors_headers(origin, r);
    r.headers.emplace_back("Access-Control-Allow-Methods", methods);
    r.headers.emplace_back("Access-Control-Allow-Headers", std::string(allowed_request_headers));
    r.headers.emplace_back("Access-Control-Max-Age", std::to_string(options.cors_max_age_s));
  }
  return r;
}

} // namespace opex::tools
