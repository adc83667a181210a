// opexd's routes: authentication, the edge checks (query parameters with Boost.URL, media
// type, idempotency key), then the engine calls. Every refusal is the standard error JSON.
#include "api_routes.hpp"

#include "opex/ids.hpp"
#include "opex/json_util.hpp"
#include "opex/observers/prometheus_metrics.hpp"
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

error_info bad_parameter(const std::string& name, std::string reason, std::string value) {
  json::object d{{"parameter", name}, {"reason", reason}};
  if (!value.empty())
    d["value"] = value;
  return make_error(error_code::validation_error, "query parameter " + name + ": " + reason, std::move(d));
}

result<std::size_t> limit_of(const query_map& q, std::size_t fallback, std::size_t most) {
  auto it = q.find("limit");
  if (it == q.end())
    return fallback;
  std::size_t n = 0;
  const auto& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < 1 || n > most)
    return bad_parameter("limit", "an integer from 1 to " + std::to_string(most), v);
  return n;
}

result<std::string> tenant_scope(const caller& who, const query_map& q, std::string_view what) {
  auto own = who.tenant_filter();
  auto it = q.find("tenant");
  if (it == q.end() || it->second.empty())
    return own;
  if (!own.empty() && it->second != own)
    return make_error(error_code::permission_denied, "this key reads only tenant " + own + "'s " + std::string(what),
                      json::object{{"parameter", "tenant"}, {"value", it->second}, {"tenant", own}});
  return it->second;
}

std::function<void(result<json::object>)> json_answer(const route_call& c) {
  return [reply = c.reply, request_id = c.request_id](result<json::object> r) {
    if (!r)
      return reply(error_reply(r.error(), request_id));
    reply({200, json::serialize(*r), request_id, {}, false});
  };
}

http_reply error_reply(const error_info& err, const std::string& request_id) {
  http_reply r;
  r.status = http_status(err.code);
  r.request_id = request_id;
  r.body = json::serialize(to_error_json(err, request_id, format_timestamp(std::chrono::system_clock::now())));
  if (err.code == error_code::unavailable || err.code == error_code::overloaded)
    r.headers.emplace_back("Retry-After", "1");
  if (err.code == error_code::rate_limited) {
    const auto* ms = err.details.if_contains("retry_after_ms");
    auto wait_ms = ms && ms->is_int64() ? ms->get_int64() : 1000;
    r.headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, (wait_ms + 999) / 1000)));
  }
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

/// Constant-time comparison of equal-length keys (different lengths: not equal).
bool key_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}


result<query_map> query_of(const urls::url_view& url, const std::vector<std::string_view>& allowed) {
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
  if (auto bearer = req.header("Authorization"); given.empty() && bearer.starts_with("Bearer "))
    given = bearer.substr(7);  // MCP clients and most HTTP tools send the key as a bearer token
  if (given.empty())
    return make_error(error_code::unauthorized, "missing X-API-Key header", json::object{{"header", "X-API-Key"}});
  auto r = current_rules();
  for (const auto& k : r->keys)
    if (key_equals(k.key, given)) {
      if (write && k.scope == "read")
        return make_error(error_code::permission_denied, "this API key may only read",
                          json::object{{"rule", "api_key_scope"}, {"required", "all"}, {"current", "read"}});
      return caller{k.tenant, k.scope, "api-key:" + policies::sha256_hex(k.key).substr(0, 12)};
    }
  return make_error(error_code::unauthorized, "unknown API key", json::object{{"header", "X-API-Key"}});
}

namespace {

void route_healthz(const route_call& c) {
  c.reply({200, R"({"status":"ok"})", c.request_id, {}, false});
}

void route_livez(const route_call& c) {
  c.reply({200, R"({"status":"alive"})", c.request_id, {}, false});
}

/// Ready: the engine's checks (journal, MCP servers); while draining the session answers 503
/// before any route.
void route_readyz(const route_call& c) {
  c.eng.readiness([reply = c.reply, request_id = c.request_id](json::object r) {
    if (r.at("ready").as_bool())
      return reply({200, json::serialize(json::object{{"status", "ready"}, {"checks", r.at("checks")}}), request_id, {}, false});
    reply(error_reply(make_error(error_code::unavailable, "opexd is not ready",
                                 json::object{{"reason", "not_ready"}, {"checks", r.at("checks")}}),
                      request_id));
  });
}

/// Prometheus' text exposition of the engine's and opexd's series; breaker states and pending
/// approvals are read fresh for each scrape.
void route_metrics(const route_call& c) {
  auto& m = c.eng.metrics();
  std::vector<observers::breaker_sample> breakers;
  for (const auto& b : c.eng.breakers())
    breakers.push_back({b.target, b.state});
  m.set_breakers(breakers);
  c.eng.approvals("", "pending", [&m, reply = c.reply, request_id = c.request_id](result<json::array> pending) {
    if (pending) {
      std::map<std::string, double> by_tenant;
      for (const auto& a : *pending)
        if (const auto* o = a.if_object())
          by_tenant[std::string(get_string(*o, "tenant").value_or("default"))] += 1;
      m.set_pending_approvals(by_tenant);
    }
    http_reply r{200, m.exposition(), request_id, {}, false};
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    reply(std::move(r));
  });
}

void route_request(const route_call& c) {
  if (auto slash = c.id.find('/'); slash != std::string::npos) {
    auto id = c.id.substr(0, slash);
    auto rest = c.id.substr(slash + 1);
    if ((rest != "graph.svg" && rest != "graph.dot") || !is_uuid(id))
      return c.reply(error_reply(make_error(error_code::not_found, "no route " + std::string(c.req.target),
                                            json::object{{"path", std::string(c.req.target)}}),
                                 c.request_id));
    if (c.req.method != "GET")
      return c.reply(error_reply(make_error(error_code::method_not_allowed, "a graph is read with GET",
                                            json::object{{"allow", "GET"}}),
                                 c.request_id));
    return route_request_graph(c, id, rest == "graph.svg");
  }
  const auto& id = c.id;
  if (!is_uuid(id))
    return c.reply(error_reply(
      make_error(error_code::validation_error, "the request id must be a UUID", json::object{{"request_id", id}}),
      c.request_id));
  bool get = c.req.method == "GET";
  // Both routes check the request belongs to the caller's tenant first.
  auto& eng = c.eng;
  auto reply = c.reply;
  eng.request_state(id, c.who.tenant_filter(), [&eng, reply, id, get, tenant = c.who.tenant_filter()](result<json::object> state) {
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

void route_breakers(const route_call& c) {
  json::array list;
  for (const auto& b : c.eng.breakers())
    list.push_back(json::object{{"target", b.target},
                                {"state", b.state},
                                {"failure_rate", b.failure_rate},
                                {"opened", b.opened},
                                {"half_opened", b.half_opened},
                                {"closed", b.closed},
                                {"rejected", b.rejected}});
  c.reply({200, json::serialize(json::object{{"breakers", std::move(list)}}), c.request_id, {}, false});
}

void route_approvals(const route_call& c) {
  std::string status = c.query.contains("status") ? c.query.at("status") : "";
  static const std::set<std::string, std::less<>> statuses{"", "pending", "approved", "rejected", "expired"};
  if (!statuses.contains(status))
    return c.reply(error_reply(bad_parameter("status", "one of pending, approved, rejected, expired", status), c.request_id));
  c.eng.approvals(c.who.tenant_filter(), status, [reply = c.reply, request_id = c.request_id](result<json::array> list) {
    if (!list)
      return reply(error_reply(list.error(), request_id));
    reply({200, json::serialize(json::object{{"approvals", std::move(*list)}}), request_id, {}, false});
  });
}

void route_approval(const route_call& c) {
  const auto& request_id = c.request_id;
  const auto& reply = c.reply;
  if (c.req.method == "GET") {
    c.eng.approvals(c.who.tenant_filter(), "", [reply, request_id, id = c.id](result<json::array> list) {
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
  if (auto err = media_type_error(c.req.header("Content-Type")))
    return reply(error_reply(err, request_id));
  auto body = parse_json(c.req.body);
  if (!body)
    return reply(error_reply(body.error(), request_id));
  const auto* obj = body->if_object();
  auto decision = obj ? get_string(*obj, "decision") : std::nullopt;
  if (!decision || (*decision != "approve" && *decision != "reject"))
    return reply(error_reply(make_error(error_code::validation_error, R"(the body needs "decision": "approve" or "reject")",
                                        json::object{{"field", "decision"}}),
                             request_id));
  approval_decision_request d;
  d.approval_id = c.id;
  d.approve = *decision == "approve";
  d.tenant = c.who.tenant_filter();
  d.confirmation_code = std::string(get_string(*obj, "confirmation_code").value_or(""));
  d.comment = std::string(get_string(*obj, "comment").value_or(""));
  auto by = std::string(get_string(*obj, "decided_by").value_or(""));
  d.decided_by = by.empty() ? c.who.fingerprint : by + " (" + c.who.fingerprint + ")";
  c.eng.decide(std::move(d), json_answer(c));
}

void route_journal(const route_call& c) {
  const auto& q = c.query;
  journal_query jq;
  if (auto it = q.find("request_id"); it != q.end()) {
    if (!is_uuid(it->second))
      return c.reply(error_reply(bad_parameter("request_id", "a UUID", it->second), c.request_id));
    jq.request_id = it->second;
  }
  if (auto it = q.find("agent"); it != q.end()) {
    static const std::set<std::string, std::less<>> agents{"kimmy", "prolex", "opex", "proxy", "system"};
    if (!agents.contains(it->second))
      return c.reply(error_reply(bad_parameter("agent", "one of kimmy, prolex, opex, proxy, system", it->second), c.request_id));
    jq.agent = it->second;
  }
  auto limit = limit_of(q);
  if (!limit)
    return c.reply(error_reply(limit.error(), c.request_id));
  jq.limit = *limit;
  jq.tenant = c.who.tenant_filter();
  c.eng.journal(jq, [reply = c.reply, request_id = c.request_id](result<json::array> rows) {
    if (!rows)
      return reply(error_reply(rows.error(), request_id));
    reply({200, json::serialize(json::object{{"entries", std::move(rows).value()}}), request_id, {}, false});
  });
}

/// The intake routes' common checks (media type, idempotency key, a JSON object body); the
/// body, or nullopt when the caller was answered.
std::optional<json::value> intake_body(const route_call& c, submit_options& so) {
  if (auto err = media_type_error(c.req.header("Content-Type"))) {
    c.reply(error_reply(err, c.request_id));
    return std::nullopt;
  }
  auto key = c.req.header("Idempotency-Key");
  if (!key.empty() && !valid_idempotency_key(key)) {
    c.reply(error_reply(make_error(error_code::validation_error, "Idempotency-Key must be 1 to 255 printable ASCII characters",
                                   json::object{{"header", "Idempotency-Key"}}),
                        c.request_id));
    return std::nullopt;
  }
  auto body = parse_json(c.req.body);
  if (!body) {
    c.reply(error_reply(body.error(), c.request_id));
    return std::nullopt;
  }
  if (!body->is_object()) {
    c.reply(error_reply(make_error(error_code::validation_error, "the body must be a JSON object",
                                   json::object{{"type", body->kind() == json::kind::array ? "array" : "scalar"}}),
                        c.request_id));
    return std::nullopt;
  }
  so.request_id = c.request_id;
  so.trace = c.trace;
  so.idempotency_key = key;
  so.tenant = c.who.tenant;
  return std::move(body).value();
}

std::function<void(request_result)> answer_with_result(const route_call& c) {
  return [reply = c.reply](request_result r) { reply(result_reply(r)); };
}

void route_kimmy_intake(const route_call& c) {
  submit_options so;
  auto body = intake_body(c, so);
  if (!body)
    return;
  if (auto err = c.schemas.check(schema_ids::intake_request, *body, "intake request"))
    return c.reply(error_reply(err, c.request_id));
  const auto& o = body->get_object();
  auto text = get_string(o, "text");
  if (!text)
    text = get_string(o, "message");
  so.source = std::string(get_string(o, "source").value_or("api"));
  so.user_id = std::string(get_string(o, "user_id").value_or(""));
  c.eng.submit_text(std::string(*text), so, answer_with_result(c));
}

void route_prolex_intake(const route_call& c) {
  submit_options so;
  if (auto body = intake_body(c, so))
    c.eng.submit_payload(std::move(*body), so, answer_with_result(c));
}

void route_proxy_exec(const route_call& c) {
  submit_options so;
  if (auto body = intake_body(c, so))
    c.eng.submit_output(std::move(*body), so, answer_with_result(c));
}

/// One opexd route. `path` is matched exactly, or, when `with_id`, as a prefix whose rest of
/// the path is the route's `{id}`. `allow`: its methods (the Allow header of a 405). `query`:
/// the parameters it takes (anything else is 400). `open`: no API key (health checks).
struct route_entry {
  std::string_view path;
  bool with_id = false;
  std::string_view allow;
  std::vector<std::string_view> query;
  bool open = false;
  void (*handler)(const route_call&) = nullptr;
  bool any_scope = false;  ///< a read-only key may use every method (the handler checks the scope)
};

/// Every opexd route, one line each (the documented list: api_server.hpp).
const std::vector<route_entry>& route_table() {
  static const std::vector<route_entry> routes{
    {"/healthz", false, "GET", {}, true, route_healthz},
    {"/livez", false, "GET", {}, true, route_livez},
    {"/readyz", false, "GET", {}, true, route_readyz},
    {"/metrics", false, "GET", {}, true, route_metrics},
    {"/webhook/kimmy-intake", false, "POST", {}, false, route_kimmy_intake},
    {"/webhook/prolex-intake", false, "POST", {}, false, route_prolex_intake},
    {"/webhook/proxy-exec", false, "POST", {}, false, route_proxy_exec},
    {"/v1/journal", false, "GET", {"request_id", "agent", "limit"}, false, route_journal},
    {"/", false, "GET", {}, true, route_root},
    {"/ui/", true, "GET", {}, true, route_console},
    {"/v1/whoami", false, "GET", {}, false, route_whoami},
    {"/v1/requests", false, "GET", {"status", "tool", "tenant", "since", "until", "limit"}, false, route_request_list},
    {"/v1/breakers", false, "GET", {}, false, route_breakers},
    {"/v1/alerts", false, "GET", {}, false, route_alerts},
    {"/v1/alerts/evaluate", false, "POST", {}, false, route_alerts_evaluate},
    {"/v1/metrics/workflows", false, "GET", {"since", "until", "tenant", "tool", "group_by"}, false, route_workflow_metrics},
    {"/v1/approvals", false, "GET", {"status"}, false, route_approvals},
    {"/v1/approvals/", true, "GET, POST", {}, false, route_approval},
    {"/v1/requests/", true, "GET, DELETE", {}, false, route_request},
    {"/mcp", false, "GET, POST, DELETE", {}, false, route_mcp, true},
  };
  return routes;
}

bool allows(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    auto comma = allow.find(',');
    if (allow.substr(0, comma) == method)
      return true;
    allow = comma == std::string_view::npos ? std::string_view{} : allow.substr(comma + 2);
  }
  return false;
}

const route_entry* find_route(const std::string& path) {
  for (const auto& r : route_table())
    if (r.with_id ? path.starts_with(r.path) : path == r.path)
      return &r;
  return nullptr;
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
  // The request's span: a child of the caller's traceparent, or a new trace; every answer
  // returns it (docs/operations.md, "Traces").
  auto incoming = trace_context::parse(req.header("traceparent"), req.header("tracestate"));
  auto span = incoming ? incoming->child() : trace_context::start();
  reply = [reply = std::move(reply), span](http_reply answer) {
    answer.headers.emplace_back("traceparent", span.traceparent());
    if (!span.tracestate.empty())
      answer.headers.emplace_back("tracestate", span.tracestate);
    answer.trace_id = span.trace_id;
    reply(std::move(answer));
  };
  auto url = urls::parse_origin_form(req.target);
  if (!url)
    return reply(error_reply(make_error(error_code::validation_error, "malformed request target",
                                        json::object{{"target", req.target}, {"reason", url.error().message()}}),
                             request_id));
  std::string path = std::string(url->encoded_path());
  const auto* r = find_route(path);
  if (!r)
    return reply(error_reply(make_error(error_code::not_found, "no route " + path, json::object{{"path", path}}), request_id));
  // Every answer from here names its route, and its tenant once known (metrics, access log),
  // and carries the CORS headers of an allowed cross-origin caller.
  const std::string label = std::string(r->path) + (r->with_id ? "{id}" : "");
  auto tenant = std::make_shared<std::string>();
  reply = [reply = std::move(reply), label, tenant, origin = allowed_cross_origin(req)](http_reply answer) {
    answer.route = label;
    answer.tenant = *tenant;
    if (!origin.empty() && answer.status != 204)
      add_cors_headers(origin, answer);
    reply(std::move(answer));
  };
  if (auto err = origin_check(req))
    return reply(error_reply(err, request_id));
  if (req.method == "OPTIONS")
    return reply(preflight(req, r->allow));
  auto method_not_allowed = [&] {
    return reply(error_reply(make_error(error_code::method_not_allowed, "use " + std::string(r->allow),
                                        json::object{{"allow", std::string(r->allow)}}),
                             request_id));
  };
  caller who;
  query_map query;
  if (r->open) {
    if (!allows(r->allow, req.method))
      return method_not_allowed();
  } else {
    // A key first (401/403 before anything else), then the query, then the method.
    auto authenticated = authenticate(req, req.method != "GET" && !r->any_scope);
    if (!authenticated)
      return reply(error_reply(authenticated.error(), request_id));
    who = std::move(authenticated).value();
    *tenant = who.tenant;
    auto checked = query_of(*url, r->query);
    if (!checked)
      return reply(error_reply(checked.error(), request_id));
    query = std::move(checked).value();
    if (!allows(r->allow, req.method))
      return method_not_allowed();
    if (auto err = edge_check(req, who, label))
      return reply(error_reply(err, request_id));
  }
  r->handler(route_call{eng, *schemas, who, req, r->with_id ? path.substr(r->path.size()) : std::string{}, query,
                        request_id, reply, span, graphs, mcp});
}

} // namespace opex::tools
