// opexd's console and reports: the status page served from the binary (/ui/), who the key is,
// request listings, workflow metrics and plan graphs (docs/operations.md, "Console").
#include "api_routes.hpp"

#include "opex/clock.hpp"
#include "opex/ids.hpp"
#include "opex/plan_graph.hpp"

#include <boost/json/serialize.hpp>

#include <set>
#include <span>
#include <utility>

namespace opex::tools {

namespace ui {
/// The console's files (tools/opexd/ui/), embedded by cmake/EmbedFiles.cmake.
std::span<const std::pair<std::string_view, std::string_view>> files();
} // namespace ui

namespace json = boost::json;

namespace {

std::string_view content_type_of(std::string_view name) {
  if (name.ends_with(".js"))
    return "text/javascript; charset=utf-8";
  if (name.ends_with(".css"))
    return "text/css; charset=utf-8";
  return "text/html; charset=utf-8";
}

/// An ISO 8601 time parameter as the database compares it; nullopt when it does not parse.
std::optional<std::string> time_parameter(const query_map& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty())
    return std::string();
  auto t = parse_iso8601(it->second);
  if (!t)
    return std::nullopt;
  return format_timestamp(t->utc);
}

} // namespace

void route_console(const route_call& c) {
  std::string name = c.id.empty() ? "index.html" : c.id;
  for (const auto& [path, content] : ui::files())
    if (path == "tools/opexd/ui/" + name) {
      http_reply r{200, std::string(content), c.request_id, {}, false};
      r.content_type = std::string(content_type_of(name));
      r.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
                             "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      r.headers.emplace_back("Cache-Control", "no-cache");
      return c.reply(std::move(r));
    }
  c.reply(error_reply(make_error(error_code::not_found, "no console file " + name, json::object{{"path", "/ui/" + name}}),
                      c.request_id));
}

void route_root(const route_call& c) {
  http_reply r{302, R"({"location":"/ui/"})", c.request_id, {}, false};
  r.headers.emplace_back("Location", "/ui/");
  c.reply(std::move(r));
}

void route_whoami(const route_call& c) {
  c.reply({200,
           json::serialize(json::object{{"tenant", c.who.tenant},
                                        {"scope", c.who.scope},
                                        {"can_decide", c.who.scope != "read"},
                                        {"all_tenants", c.who.scope == "admin"}}),
           c.request_id, {}, false});
}

void route_request_list(const route_call& c) {
  request_filter f;
  static const std::set<std::string, std::less<>> statuses{"running", "awaiting_approval", "succeeded", "partial",
                                                          "failed", "rejected", "cancelled", "timed_out"};
  if (auto it = c.query.find("status"); it != c.query.end() && !it->second.empty()) {
    if (!statuses.contains(it->second))
      return c.reply(error_reply(bad_parameter("status", "one of running, awaiting_approval, succeeded, partial, failed, "
                                                         "rejected, cancelled, timed_out", it->second),
                                 c.request_id));
    f.status = it->second;
  }
  if (auto it = c.query.find("tool"); it != c.query.end())
    f.tool = it->second;
  auto since = time_parameter(c.query, "since");
  auto until = time_parameter(c.query, "until");
  if (!since || !until)
    return c.reply(error_reply(bad_parameter(!since ? "since" : "until", "an ISO 8601 date-time or a YYYY-MM-DD date",
                                             c.query.at(!since ? "since" : "until")),
                               c.request_id));
  f.since = *since;
  f.until = *until;
  auto limit = limit_of(c.query, 50, 500);
  if (!limit)
    return c.reply(error_reply(limit.error(), c.request_id));
  f.limit = *limit;
  auto tenant = tenant_scope(c.who, c.query, "requests");
  if (!tenant)
    return c.reply(error_reply(tenant.error(), c.request_id));
  f.tenant = *tenant;
  c.eng.list_requests(f, json_answer(c));
}

/// `GET /v1/requests/{id}/graph.svg` (Graphviz, on the renderer's thread) or `graph.dot`.
void route_request_graph(const route_call& c, const std::string& id, bool svg) {
  auto reply = c.reply;
  auto& graphs = c.graphs;
  c.eng.request_state(id, c.who.tenant_filter(), [reply, id, svg, &graphs](result<json::object> state) {
    if (!state)
      return reply(error_reply(state.error(), id));
    auto g = graph_of_request(*state);
    if (!g)
      return reply(error_reply(g.error(), id));
    auto dot = to_dot(*g);
    if (!svg) {
      http_reply r{200, std::move(dot), id, {}, false};
      r.content_type = "text/vnd.graphviz; charset=utf-8";
      return reply(std::move(r));
    }
    bool queued = graphs.render(std::move(dot), [reply, id](result<std::string> rendered) {
      if (!rendered)
        return reply(error_reply(rendered.error(), id));
      http_reply r{200, std::move(rendered).value(), id, {}, false};
      r.content_type = "image/svg+xml";
      reply(std::move(r));
    });
    if (!queued)
      reply(error_reply(make_error(error_code::queue_full, "too many graphs are being drawn; retry shortly",
                                   json::object{{"queue", "graph.svg"}}),
                        id));
  });
}

/// The workflow metrics (opex/connectors/workflow_runs.hpp); a tenant's key reads only its own.
void route_workflow_metrics(const route_call& c) {
  auto tenant = tenant_scope(c.who, c.query, "metrics");
  if (!tenant)
    return c.reply(error_reply(tenant.error(), c.request_id));
  auto params = c.query;
  params["tenant"] = *tenant;
  auto q = make_workflow_metrics_query(params, c.eng.time().now().utc);
  if (!q)
    return c.reply(error_reply(q.error(), c.request_id));
  c.eng.workflow_metrics(*q, json_answer(c));
}

void route_alerts(const route_call& c) {
  c.eng.alerts(json_answer(c));
}

void route_alerts_evaluate(const route_call& c) {
  c.eng.evaluate_alerts(json_answer(c));
}

} // namespace opex::tools
