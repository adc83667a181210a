// opexd's edge rules after the API key (docs/operations.md, "Rate limits" and "Signed
// webhooks"): a token bucket per key and route, and HMAC signatures on the /webhook/ routes.
#include "api_server_impl.hpp"

#include <boost/json/object.hpp>

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

const edge_policy& api_server::impl::edge_of(const caller& who) const {
  auto it = options.tenant_edge.find(who.tenant);
  return it == options.tenant_edge.end() ? options.edge : it->second;
}

error_info api_server::impl::edge_check(const http_request_view& req, const caller& who, const std::string& label) {
  const auto& edge = edge_of(who);
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
