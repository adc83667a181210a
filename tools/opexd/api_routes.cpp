// opexd's routes: authentication, the edge checks (query parameters with Boost.URL, media
// type, idempotency key), then the engine calls. Every refusal is the standard error JSON.
#include "api_server_impl.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/policies/confirmation_code.hpp"

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace opex::tools {

namespace json = boost::json;
namespace urls = boost::urls;

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

http_reply error_reply(const error_info& err, const std::string& request_id) {
  http_reply r;
  r.status = http_status(err.code);
  r.request_id = request_id;
  r.body = json::serialize(to_error_json(err, request_id, format_timestamp(std::chrono::system_clock::now())));
  if (err.code == error_code::unavailable || err.code == error_code::overloaded)
    r.headers.emplace_back("Retry-After", "1");
  return r;
}

namespace {

http_reply result_reply(const request_result& res) {
  if (res.error && res.steps.empty())
    return error_reply(res.error, res.request_id);
  http_reply r;
  r.request_id = res.request_id;
  if (res.status == request_status::awaiting_approval)
    r.status = 202;
  r.body = json::serialize(to_json(res));
  if (res.replayed)
    r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

/// The path segment after `prefix` ("/v1/approvals/" + id).
std::string tail_of(const std::string& path, std::string_view prefix) {
  return path.size() > prefix.size() ? path.substr(prefix.size()) : std::string{};
}

/// Constant-time comparison of equal-length keys (different lengths: not equal).
bool key_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

error_info bad_parameter(const std::string& name, std::string reason, std::string value = {}) {
  json::object d{{"parameter", name}, {"reason", reason}};
  if (!value.empty())
    d["value"] = value;
  return make_error(error_code::validation_error, "query parameter " + name + ": " + reason, std::move(d));
}

/// One route's query parameters, decoded and checked: names it knows, each at most once.
using query_map = std::map<std::string, std::string, std::less<>>;
result<query_map> query_of(const urls::url_view& url, std::initializer_list<std::string_view> allowed) {
  query_map out;
  for (auto p : url.params()) {
    std::string key(p.key);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return bad_parameter(key, allowed.size() == 0 ? "this route takes no query parameters" : "unknown parameter");
    if (!out.emplace(key, std::string(p.value)).second)
      return bad_parameter(key, "given more than once");
  }
  return out;
}

result<std::size_t> limit_of(const query_map& q) {
  auto it = q.find("limit");
  if (it == q.end())
    return std::size_t{1000};
  std::size_t n = 0;
  const auto& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 1 || n > 10000)
    return bad_parameter("limit", "an integer from 1 to 10000", v);
  return n;
}

/// JSON bodies only: application/json or application/*+json (parameters such as charset
/// allowed); a body without Content-Type is read as JSON.
error_info media_type_error(const std::string& content_type) {
  if (content_type.empty())
    return {};
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  if (type == "application/json" || (type.starts_with("application/") && type.ends_with("+json")))
    return {};
  return make_error(error_code::unsupported_media_type, "the body must be JSON (Content-Type: application/json)",
                    json::object{{"content_type", content_type}, {"accepted", "application/json"}});
}

bool valid_idempotency_key(std::string_view k) {
  return !k.empty() && k.size() <= 255
         && std::all_of(k.begin(), k.end(), [](unsigned char c) { return c >= 0x21 && c <= 0x7e; });
}

} // namespace

result<caller> api_server::impl::authenticate(const http_request_view& req, bool write) const {
  if (!options.require_auth)
    return caller{"default", "admin", "no-auth"};
  auto given = req.header("X-API-Key");
  if (given.empty())
    return make_error(error_code::unauthorized, "missing X-API-Key header", json::object{{"header", "X-API-Key"}});
  for (const auto& k : options.keys)
    if (key_equals(k.key, given)) {
      if (write && k.scope == "read")
        return make_error(error_code::permission_denied, "this API key may only read",
                          json::object{{"rule", "api_key_scope"}, {"required", "all"}, {"current", "read"}});
      return caller{k.tenant, k.scope, "api-key:" + policies::sha256_hex(k.key).substr(0, 12)};
    }
  return make_error(error_code::unauthorized, "unknown API key", json::object{{"header", "X-API-Key"}});
}

namespace {

using reply_fn = std::function<void(http_reply)>;

void route_request(engine& eng, const caller& who, const std::string& method, const std::string& id,
                   const std::string& request_id, const reply_fn& reply) {
  if (method != "GET" && method != "DELETE")
    return reply(error_reply(make_error(error_code::method_not_allowed, "use GET, DELETE", {{"allow", "GET, DELETE"}}),
                             request_id));
  if (!is_uuid(id))
    return reply(error_reply(
      make_error(error_code::validation_error, "the request id must be a UUID", json::object{{"request_id", id}}),
      request_id));
  bool get = method == "GET";
  // Both routes check the request belongs to the caller's tenant first.
  eng.request_state(id, who.tenant_filter(), [&eng, reply, id, get, tenant = who.tenant_filter()](result<json::object> state) {
    if (get) {
      if (!state)
        return reply(error_reply(state.error(), id));
      return reply({200, json::serialize(*state), id, {}, false});
    }
    if (!state && !tenant.empty())  // another tenant's, or unknown
      return reply(error_reply(state.error(), id));
    if (!eng.cancel(id))
      return reply(error_reply(
        make_error(error_code::not_found, "no running plan with this request id", json::object{{"request_id", id}}), id));
    reply({202, json::serialize(json::object{{"request_id", id}, {"status", "cancelling"}}), id, {}, false});
  });
}

void route_breakers(engine& eng, const std::string& request_id, const reply_fn& reply) {
  json::array list;
  for (const auto& b : eng.breakers())
    list.push_back(json::object{{"target", b.target},
                                {"state", b.state},
                                {"failure_rate", b.failure_rate},
                                {"opened", b.opened},
                                {"half_opened", b.half_opened},
                                {"closed", b.closed},
                                {"rejected", b.rejected}});
  reply({200, json::serialize(json::object{{"breakers", std::move(list)}}), request_id, {}, false});
}

void route_approval(engine& eng, const caller& who, const http_request_view& req, const std::string& id,
                    const std::string& request_id, const reply_fn& reply) {
  if (req.method == "GET") {
    eng.approvals(who.tenant_filter(), "", [reply, request_id, id](result<json::array> list) {
      if (!list)
        return reply(error_reply(list.error(), request_id));
      for (const auto& a : *list)
        if (a.as_object().at("id").as_string() == id)
          return reply({200, json::serialize(a), request_id, {}, false});
      reply(error_reply(make_error(error_code::not_found, "no approval " + id, json::object{{"approval_id", id}}),
                        request_id));
    });
    return;
  }
  if (req.method != "POST")
    return reply(error_reply(make_error(error_code::method_not_allowed, "use GET, POST", {{"allow", "GET, POST"}}),
                             request_id));
  if (auto err = media_type_error(req.header("Content-Type")))
    return reply(error_reply(err, request_id));
  auto body = parse_json(req.body);
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
  d.tenant = who.tenant_filter();
  d.confirmation_code = std::string(get_string(*obj, "confirmation_code").value_or(""));
  d.comment = std::string(get_string(*obj, "comment").value_or(""));
  auto by = std::string(get_string(*obj, "decided_by").value_or(""));
  d.decided_by = by.empty() ? who.fingerprint : by + " (" + who.fingerprint + ")";
  eng.decide(std::move(d), [reply, request_id](result<json::object> r) {
    if (!r)
      return reply(error_reply(r.error(), request_id));
    reply({200, json::serialize(*r), request_id, {}, false});
  });
}

void route_journal(engine& eng, const caller& who, const query_map& q, const std::string& request_id,
                   const reply_fn& reply) {
  journal_query jq;
  if (auto it = q.find("request_id"); it != q.end()) {
    if (!is_uuid(it->second))
      return reply(error_reply(bad_parameter("request_id", "a UUID", it->second), request_id));
    jq.request_id = it->second;
  }
  if (auto it = q.find("agent"); it != q.end()) {
    static const std::set<std::string, std::less<>> agents{"kimmy", "prolex", "opex", "proxy", "system"};
    if (!agents.contains(it->second))
      return reply(error_reply(bad_parameter("agent", "one of kimmy, prolex, opex, proxy, system", it->second), request_id));
    jq.agent = it->second;
  }
  auto limit = limit_of(q);
  if (!limit)
    return reply(error_reply(limit.error(), request_id));
  jq.limit = *limit;
  jq.tenant = who.tenant_filter();
  eng.journal(jq, [reply, request_id](result<json::array> rows) {
    if (!rows)
      return reply(error_reply(rows.error(), request_id));
    reply({200, json::serialize(json::object{{"entries", std::move(rows).value()}}), request_id, {}, false});
  });
}

void route_intake(engine& eng, const schema_registry& schemas, const caller& who, const http_request_view& req,
                  const std::string& path, const std::string& request_id, const reply_fn& reply) {
  if (auto err = media_type_error(req.header("Content-Type")))
    return reply(error_reply(err, request_id));
  auto key = req.header("Idempotency-Key");
  if (!key.empty() && !valid_idempotency_key(key))
    return reply(error_reply(make_error(error_code::validation_error,
                                        "Idempotency-Key must be 1 to 255 printable ASCII characters",
                                        json::object{{"header", "Idempotency-Key"}}),
                             request_id));
  auto body = parse_json(req.body);
  if (!body)
    return reply(error_reply(body.error(), request_id));
  if (!body->is_object())
    return reply(error_reply(make_error(error_code::validation_error, "the body must be a JSON object",
                                        json::object{{"type", body->kind() == json::kind::array ? "array" : "scalar"}}),
                             request_id));
  submit_options so;
  so.request_id = request_id;
  so.idempotency_key = key;
  so.tenant = who.tenant;
  auto done = [reply](request_result r) { reply(result_reply(r)); };
  if (path == "/webhook/kimmy-intake") {
    if (auto err = schemas.check(schema_ids::intake_request, *body, "intake request"))
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

} // namespace

void api_server::impl::answered() {
  if (--in_flight == 0 && draining) {
    std::lock_guard lock(m);
    cv.notify_all();
  }
}

void api_server::impl::route(const http_request_view& req, std::function<void(http_reply)> reply) {
  const auto& request_id = req.request_id;
  auto url = urls::parse_origin_form(req.target);
  if (!url)
    return reply(error_reply(make_error(error_code::validation_error, "malformed request target",
                                        json::object{{"target", req.target}, {"reason", url.error().message()}}),
                             request_id));
  std::string path = std::string(url->encoded_path());
  if (path == "/healthz") {
    if (req.method != "GET")
      return reply(error_reply(make_error(error_code::method_not_allowed, "use GET", json::object{{"allow", "GET"}}), request_id));
    return reply({200, R"({"status":"ok"})", request_id, {}, false});
  }
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
  auto who = authenticate(req, req.method != "GET");
  if (!who)
    return reply(error_reply(who.error(), request_id));
  auto query = path == "/v1/journal"     ? query_of(*url, {"request_id", "agent", "limit"})
               : path == "/v1/approvals" ? query_of(*url, {"status"})
                                         : query_of(*url, {});
  if (!query)
    return reply(error_reply(query.error(), request_id));
  if (path.starts_with("/v1/requests/"))
    return route_request(eng, *who, req.method, tail_of(path, "/v1/requests/"), request_id, reply);
  if (path.starts_with("/v1/approvals/"))
    return route_approval(eng, *who, req, tail_of(path, "/v1/approvals/"), request_id, reply);
  if (path == "/v1/breakers")
    return req.method == "GET" ? route_breakers(eng, request_id, reply) : method_not_allowed("GET");
  if (path == "/v1/approvals") {
    if (req.method != "GET")
      return method_not_allowed("GET");
    std::string status = query->contains("status") ? query->at("status") : "";
    static const std::set<std::string, std::less<>> statuses{"", "pending", "approved", "rejected", "expired"};
    if (!statuses.contains(status))
      return reply(error_reply(bad_parameter("status", "one of pending, approved, rejected, expired", status), request_id));
    eng.approvals(who->tenant_filter(), status, [reply, request_id](result<json::array> list) {
      if (!list)
        return reply(error_reply(list.error(), request_id));
      reply({200, json::serialize(json::object{{"approvals", std::move(*list)}}), request_id, {}, false});
    });
    return;
  }
  if (path == "/v1/journal")
    return req.method == "GET" ? route_journal(eng, *who, *query, request_id, reply) : method_not_allowed("GET");
  if (req.method != "POST")
    return method_not_allowed("POST");
  route_intake(eng, *schemas, *who, req, path, request_id, reply);
}

} // namespace opex::tools
