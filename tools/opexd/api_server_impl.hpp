// opexd's private state shared by the sessions and the acceptor (api_server.cpp) and the
// routes (api_routes.cpp). Beast stays in the .cpp files; this header only needs Asio's types.
#pragma once

#include "access_log.hpp"
#include "api_server.hpp"
#include "http_metrics.hpp"
#include "mcp_http_sessions.hpp"
#include "reply_stream.hpp"
#include "svg_renderer.hpp"

#include "opex/policies/rate_limiter.hpp"
#include "opex/policies/webhook_signature.hpp"
#include "opex/schema_registry.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace opex::tools {

/// One answer: status, JSON body, the request id it concerns, extra headers.
struct http_reply {
  int status = 200;
  std::string body;
  std::string request_id;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  ///< close the connection after this answer
  std::string content_type = "application/json";
  std::string route;  ///< the route that answered (metrics, access log); "" = none matched
  std::string tenant;  ///< the caller's tenant once authenticated (access log)
  std::string trace_id;  ///< the request's W3C trace id (access log)
  /// Set: a streamed answer (text/event-stream, chunked) whose chunks come later; `body` is
  /// ignored. The access log and metrics count it when its headers are written.
  std::shared_ptr<reply_stream> stream;
};

/// Adds the CORS headers of an answer to an allowed cross-origin caller.
void add_cors_headers(const std::string& origin, http_reply& r);

/// The standard error JSON with its HTTP status.
http_reply error_reply(const error_info& err, const std::string& request_id);

/// What routing needs of an HTTP request (filled by the session from Beast's message).
struct http_request_view {
  std::string method;  ///< GET, POST, DELETE, ...
  std::string target;  ///< path and query, as sent
  std::string body;
  std::string request_id;  ///< a valid X-Request-ID, else ""
  std::function<std::string(std::string_view)> header;  ///< a header's value, "" when absent
};

/// Who is calling: the key's tenant and scope, and a fingerprint for "decided_by".
struct caller {
  std::string tenant = "default";
  std::string scope = "all";
  std::string fingerprint = "anonymous";

  /// The tenant filter for reads: admins see every tenant.
  std::string tenant_filter() const { return scope == "admin" ? std::string{} : tenant; }
};

/// The keys and their edge rules, replaced at once by a reload (api_server::reload_keys).
struct key_rules {
  std::vector<api_key> keys;
  edge_policy edge;
  std::map<std::string, edge_policy, std::less<>> tenant_edge;
};

struct api_server::impl {
  engine& eng;
  api_server_options options;
  mutable std::mutex rules_m;
  std::shared_ptr<const key_rules> rules;  ///< read once per request

  std::shared_ptr<const key_rules> current_rules() const {
    std::lock_guard lock(rules_m);
    return rules;
  }
  boost::asio::io_context ioc;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{ioc.get_executor()};
  boost::asio::ip::tcp::acceptor acceptor{ioc};
  boost::asio::steady_timer accept_retry{ioc};
  std::chrono::milliseconds accept_backoff{0};
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
  std::atomic<bool> draining{false};
  std::atomic<int> connections{0};     ///< open sessions
  std::atomic<int> in_flight{0};       ///< requests routed and not answered yet
  std::atomic<std::uint64_t> rejected_connections{0};
  bool signalled = false;
  std::mutex m;
  std::condition_variable cv;
  std::shared_ptr<schema_registry> schemas = schema_registry::with_embedded();
  std::unique_ptr<http_metrics> metrics;  ///< in the engine's registry
  std::unique_ptr<access_log> access;
  std::unique_ptr<boost::asio::ssl::context> tls;  ///< set by start() with a certificate
  policies::rate_limiter limiter;
  policies::signature_verifier signatures;
  svg_renderer graphs{16};  ///< GET /v1/requests/{id}/graph.svg
  mcp_http_sessions mcp;    ///< /mcp's sessions (api_mcp.cpp)

  impl(engine& e, api_server_options o);

  /// Authenticates: the caller, or the error (UNAUTHORIZED, PERMISSION_DENIED for a read-only
  /// key on a write route).
  result<caller> authenticate(const http_request_view& req, bool write) const;

  /// The edge rules of a caller's keys: its tenant's, else the server's.
  std::shared_ptr<const edge_policy> edge_of(const caller& who) const;

  /// Rate limit and signature checks of an authenticated request on route `label`; an empty
  /// error_info lets it through.
  error_info edge_check(const http_request_view& req, const caller& who, const std::string& label);

  /// The Origin check (before the key): an empty error_info for a request without Origin, a
  /// same-origin one, or an allowed one.
  error_info origin_check(const http_request_view& req) const;

  /// The answer to OPTIONS on a route whose methods are `allow`.
  http_reply preflight(const http_request_view& req, std::string_view allow) const;

  /// The request's Origin when it is one of allowed_origins, else "".
  std::string allowed_cross_origin(const http_request_view& req) const;

  /// Routes one request; calls `reply` exactly once, possibly from another thread.
  void route(const http_request_view& req, std::function<void(http_reply)> reply);

  /// A request was answered (drain bookkeeping).
  void answered();
};

} // namespace opex::tools
