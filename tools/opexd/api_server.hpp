// opexd's HTTP API over Boost.Beast: the intake webhooks of the reference (kimmy-intake,
// prolex-intake, proxy-exec), health, journal, approvals and requests, with API-key auth, the
// edge checks of docs/durability.md ("Edge validation"), a connection limit and a drain.
#pragma once

#include "opex/engine.hpp"
#include "opex/gateway/mcp_server.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace opex::tools {

/// One API key, its tenant and what it may do: `all` (everything within its tenant), `read`
/// (GET routes only) or `admin` (every tenant's journal, approvals and requests: operators).
struct api_key {
  std::string key;
  std::string scope = "all";
  std::string tenant = "default";
};

/// Parses `OPEX_API_KEYS`-style text: comma-separated `key` or `key:scope` entries, all for
/// `tenant`.
std::vector<api_key> parse_api_keys(std::string_view text, std::string_view tenant = "default");

/// A signing secret resolved from its env:/file: reference at start (docs/operations.md, "Signed
/// webhooks").
struct signing_settings {
  std::string secret;
  int tolerance_s = 300;
  bool required = true;
};

/// The edge rules of one set of keys (the server's, or a tenant's): token buckets per key and
/// route (requests_per_minute 0 = off) and, when set, signed webhooks.
struct edge_policy {
  rate_limit_settings rate_limit{0, 0};
  std::optional<signing_settings> signatures;
};

/// The server's and each tenant's edge_policy from opex.yml (server.rate_limit,
/// server.signatures, tenants[].rate_limit / signatures). Errors: SECRET_NOT_FOUND when a
/// signing secret's reference does not resolve (named in the message).
result<std::pair<edge_policy, std::map<std::string, edge_policy, std::less<>>>> edge_policies(const opex_config& cfg);

/// Server settings. `require_auth` false only with opexd --insecure-no-auth.
struct api_server_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 = any free port (see api_server::port())
  int threads = 2;
  std::size_t max_body_bytes = 1 << 20;
  std::vector<api_key> keys;
  bool require_auth = true;
  int max_connections = 1024;  ///< open connections; beyond, new ones get 503 UNAVAILABLE
  std::string access_log = "off";  ///< stderr, stdout, off or a file (access_log.hpp)
  std::string tls_certificate;  ///< PEM chain; with tls_private_key, HTTPS (TLS 1.2+) instead of HTTP
  std::string tls_private_key;
  std::vector<std::string> allowed_origins;  ///< CORS (server.cors.allowed_origins)
  int cors_max_age_s = 600;
  edge_policy edge;            ///< keys of no tenant of their own (default: no limit, unsigned)
  std::map<std::string, edge_policy, std::less<>> tenant_edge;  ///< by tenant slug
  /// Where /mcp's tools/call progress comes from: the hub whose sink() is the engine's
  /// on_progress (null: no progress notifications). docs/mcp-gateway.md.
  gateway::progress_hub* mcp_progress = nullptr;
};

/// Routes (every error in the standard error JSON, docs/decisions.md):
/// - `POST /webhook/kimmy-intake` body {"text"|"message", "source"?, "user_id"?} -> 200
///   request_result JSON
/// - `POST /webhook/prolex-intake` body KimmyPayload -> 200 request_result
/// - `POST /webhook/proxy-exec` body ProlexOutput -> 200 request_result
/// - `GET /healthz`, `GET /livez` -> {"status": "ok" | "alive"} (no auth): the process answers
/// - `GET /readyz` -> {"status": "ready", "checks": {"journal", "mcp_servers"}}, or 503
///   UNAVAILABLE with details {reason: not_ready | draining, checks} (no auth; engine::readiness)
/// - `GET /metrics` -> Prometheus text exposition 0.0.4 (no auth; docs/operations.md, "Metrics")
/// - `GET /ui/` (and its console.js, console.css) -> the status console (no auth: the page asks
///   for a key and sends it as X-API-Key; docs/operations.md, "Console"); `GET /` -> 302 /ui/
/// - `GET /v1/whoami` -> {"tenant", "scope", "can_decide", "all_tenants"}
/// - `GET /v1/requests?status&tool&tenant&since&until&limit` -> {"requests": [{"id", "tenant",
///   "user_id", "status", "type", "tools", "created_at", "updated_at"}]}, newest first (at most
///   limit, 1-500, default 50); a tenant's key lists only its tenant
/// - `GET /v1/journal?request_id=ID&limit=N` -> {"entries": [...]}
/// - `GET /v1/metrics/workflows?since&until&tenant&tool&group_by=tool,tenant,intent` -> the
///   workflow metrics (opex/connectors/workflow_runs.hpp); a tenant's key reads only its own
///   tenant (another: 403 PERMISSION_DENIED); a bad time or dimension: 400 VALIDATION_ERROR
/// - `GET /v1/breakers` -> {"breakers": [{"target", "state", "failure_rate", "opened",
///   "half_opened", "closed", "rejected"}]}
/// - `GET /v1/alerts` -> {"enabled", "evaluation_interval_ms", "rules", "targets", "alerts":
///   [alert_status JSON, firing first], "deliveries": [not delivered]} (engine::alerts)
/// - `POST /v1/alerts/evaluate` -> {"evaluated_at", "transitions", "deliveries", "alerts"}: the
///   rules evaluated now (engine::evaluate_alerts); a read-only key gets 403, disabled alerts 503
/// - `GET /v1/approvals?status=pending` -> {"approvals": [approval]} (the key's tenant; admin: all)
/// - `GET /v1/approvals/{id}` -> approval
/// - `POST /v1/approvals/{id}` body {"decision": "approve"|"reject", "confirmation_code"?,
///   "decided_by"?, "comment"?} -> 200 approval; 404, 409 CONFLICT / APPROVAL_EXPIRED,
///   403 CONFIRMATION_INVALID
/// - `GET /v1/requests/{id}` -> the stored request and its steps (the key's tenant only)
/// - `GET /v1/requests/{id}/graph.svg` -> its plan's DAG with each step's state, as SVG drawn by
///   Graphviz (image/svg+xml); `graph.dot` -> the DOT it is drawn from (opex/plan_graph.hpp);
///   400 VALIDATION_ERROR for a request without a plan, 503 QUEUE_FULL when 16 drawings wait
/// - `DELETE /v1/requests/{id}` -> 202 {"request_id", "status": "cancelling"} (the request's own
///   response then reports `cancelled`), 404 NOT_FOUND when no plan with that id is running
/// Refusals map error codes to statuses: INVALID_JSON/VALIDATION_ERROR 400, UNAUTHORIZED 401,
/// PERMISSION_DENIED 403, TOOL_NOT_FOUND/NOT_FOUND 404, METHOD_NOT_ALLOWED 405,
/// APPROVAL_REQUIRED 409, BODY_TOO_LARGE 413, PLAN_*/TEMPLATE_*/CONSTRAINT_VIOLATION 422,
/// TIMEOUT 504. A request that ran (even with failed steps) answers 200 with its result; one
/// whose plan waits for approvals answers 202 with its partial result (status
/// awaiting_approval; GET /v1/requests/{id} gives the final one).
/// `X-Request-ID` (a UUID) sets the request id; every response carries it. `X-Request-ID` or
/// `Idempotency-Key` (1-255 printable ASCII) is the request's idempotency key, scoped by the
/// key's tenant: a repeat answers the stored result with `Idempotent-Replayed: true`; another
/// body with the same key is 409 IDEMPOTENCY_CONFLICT (docs/durability.md).
/// Origins (CORS): a request whose Origin is neither same-origin (its Host) nor in
/// allowed_origins is refused with 403 PERMISSION_DENIED (details {rule: origin, origin});
/// allowed cross-origin answers carry Access-Control-Allow-Origin and Vary: Origin. `OPTIONS`
/// on a route is answered without a key: 204 with Allow, and for an allowed Origin the
/// Access-Control-Allow-* headers of a preflight.
/// Rate limits (edge_policy): past a key's bucket on a route, 429 RATE_LIMITED with
/// Retry-After (s) and details {route, limit, retry_after_ms}. Signed webhooks: on the
/// /webhook/ routes, X-Opex-Timestamp and X-Opex-Signature (policies/webhook_signature.hpp);
/// 401 SIGNATURE_INVALID / SIGNATURE_EXPIRED, 409 REPLAYED. Both come after the key, before
/// the body is read as JSON.
/// Edge checks: bodies must be JSON (`Content-Type: application/json` or none; else 415
/// UNSUPPORTED_MEDIA_TYPE) and strict JSON (400 INVALID_JSON: duplicate keys, 1e999, invalid
/// UTF-8); a Transfer-Encoding other than chunked is 501 NOT_IMPLEMENTED and the connection is
/// closed; unknown, repeated or malformed query parameters are 400 VALIDATION_ERROR; while
/// draining, or beyond max_connections, 503 UNAVAILABLE with Retry-After.
class api_server {
public:
  api_server(engine& eng, api_server_options options);
  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  /// Binds and starts accepting on the I/O threads. Throws std::runtime_error when the
  /// address cannot be bound, or the TLS certificate or key cannot be loaded (naming the file).
  void start();

  /// True when the I/O threads run a posted task within `within` (the systemd watchdog's check).
  bool responsive(std::chrono::milliseconds within) const;

  /// The bound port (after start()).
  std::uint16_t port() const;

  /// Stops accepting, closes sessions and joins the I/O threads. Idempotent.
  void stop();

  /// Stops accepting (new requests on open connections get 503 UNAVAILABLE) and waits until
  /// the requests in flight are answered or `deadline` passes; returns how many are left.
  int drain(std::chrono::milliseconds deadline);

  /// Waits until every request routed so far is answered, at most `deadline`.
  bool wait_idle(std::chrono::milliseconds deadline);

  /// Blocks until stop() is called or SIGINT/SIGTERM arrives (returns the signal, 0 after
  /// stop()). Each SIGHUP calls `on_hangup` (on the signal thread; opexd reloads its
  /// configuration), or is logged and ignored without one.
  int wait_for_signal(const std::function<void()>& on_hangup = {});

  /// Replaces the API keys and their edge rules at once (a reload); a request already
  /// authenticated keeps its caller (tenant, scope), its edge check reads the rules then current.
  void reload_keys(std::vector<api_key> keys, edge_policy edge, std::map<std::string, edge_policy, std::less<>> tenant_edge);

  /// After engine::reload: MCP sessions with a GET stream get notifications/tools/list_changed
  /// when their tools may differ (docs/mcp-gateway.md).
  void configuration_reloaded();

  /// Connections refused at the connection limit so far.
  std::uint64_t rejected_connections() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace opex::tools
