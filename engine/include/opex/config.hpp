// Configuration: the reference-format system.yml and autonomy.yml (loaded unchanged), and
// opex's own YAML config (schemas/config/opex_config.schema.json) that points at them.
#pragma once

#include "opex/alerts.hpp"
#include "opex/catalogue.hpp"
#include "opex/packaged_workflows.hpp"
#include "opex/improvement.hpp"
#include "opex/log.hpp"
#include "opex/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opex {

/// The parts of a reference system.yml the engine uses (docs/kimmy.md, docs/guarded-execution.md). Other sections are
/// accepted and ignored.
struct system_config {
  std::string current_environment = "development";
  std::string kimmy_mode = "quick_actions";  ///< safe | quick_actions
  double min_confidence_for_direct_action = 0.85;
  std::vector<std::string> allowed_quick_actions;
  std::vector<std::string> sensitive_intents;
  std::vector<std::string> high_risk_tools;
  double max_cost_per_request_usd = 0.50;
  double max_cost_per_day_usd = 20.0;
  double max_cost_per_month_usd = 500.0;
  int max_execution_time_minutes = 10;
  int max_plan_steps = 10;
  int max_requests_per_minute = 30;
  int max_requests_per_hour = 500;
  /// group -> keywords (infrastructure, security, finance, architecture, critical_operations).
  std::map<std::string, std::vector<std::string>> sensitive_keywords;
  std::string auto_generated_tag = "AUTO_PROLEX";
  std::vector<std::string> workflow_environments;
  std::vector<std::string> workflow_categories;
  bool log_sensitive_data = false;

  /// Loads a reference-format system.yml. Errors: CONFIG_ERROR {path, reason}.
  static result<system_config> load_file(const std::string& path);
  static result<system_config> load_text(std::string_view yaml, std::string_view origin);
};

/// One autonomy level of autonomy.yml.
struct autonomy_level_def {
  int level = 0;
  std::string name;
  /// Tool ids allowed at this level, with `all_level_N` inheritance expanded.
  std::vector<std::string> allowed_tools;
  std::vector<std::string> allowed_actions;  ///< as written, lower-case actions included
  std::vector<std::string> forbidden_actions;
  std::optional<double> max_cost_per_request_usd;
  std::optional<int> max_tools_per_plan;
  bool sandbox_only_for_n8n = false;
};

/// The reference autonomy.yml (levels 0-3, a level 4 may be defined; docs/decisions.md, decision 3).
struct autonomy_config {
  int current_level = 2;
  std::map<int, autonomy_level_def> levels;
  std::vector<std::string> always_require_confirmation;
  std::map<std::string, int> daily_limits;
  /// kind (n8n_workflows, git_operations) -> "level_2"/"level_3"/"manual_only" -> envs.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> environment_restrictions;
  std::map<std::string, int> environment_default_levels;

  /// Loads a reference-format autonomy.yml. Errors: CONFIG_ERROR {path, reason}.
  static result<autonomy_config> load_file(const std::string& path);
  static result<autonomy_config> load_text(std::string_view yaml, std::string_view origin);

  /// The level definition, or nullptr when the level is not defined.
  const autonomy_level_def* find(int level) const noexcept;
};

/// Retry policy settings (docs/resilience.md; defaults from docs/resilience.md: 3 attempts, 1 s, x2,
/// cap 10 s). Units: milliseconds.
struct retry_settings {
  double initial_interval_ms = 1000.0;
  double backoff_coefficient = 2.0;
  double maximum_interval_ms = 10000.0;
  int maximum_attempts = 3;  ///< 1 = no retry, 0 = unlimited within the step's timeout
  std::vector<std::string> non_retryable_error_codes;
  /// none (the reference's behaviour) | full (uniform in [0, delay]) | proportional (uniform in
  /// delay * [1 - jitter_ratio, 1 + jitter_ratio]); never above maximum_interval_ms.
  std::string jitter = "none";
  double jitter_ratio = 0.2;
};

/// Reads a retry policy object ({initial_interval_ms, backoff_coefficient,
/// maximum_interval_ms, maximum_attempts, non_retryable_error_codes, jitter, jitter_ratio})
/// over `base`.
retry_settings retry_settings_from_json(const boost::json::object& obj, retry_settings base);

/// Circuit breaker settings (docs/resilience.md; names as in resilience4j). One breaker per
/// target (webhook host+path, MCP server, n8n instance, LLM endpoint), shared by every plan.
struct circuit_breaker_settings {
  bool enabled = true;
  double failure_rate_threshold = 50.0;        ///< percent of failed calls that opens it
  int minimum_number_of_calls = 10;            ///< before a rate is computed
  int sliding_window_size = 20;                ///< last N calls (count-based window)
  double slow_call_duration_threshold_ms = 0;  ///< 0 = slow calls are not tracked
  double slow_call_rate_threshold = 100.0;     ///< percent of slow calls that opens it
  double wait_duration_in_open_state_ms = 30000;
  int permitted_number_of_calls_in_half_open_state = 3;
};

/// Token buckets per API key and route at opexd's edge (docs/operations.md, "Rate limits").
struct rate_limit_settings {
  int requests_per_minute = 100;  ///< refill rate; 0 = no limit
  int burst = 0;                  ///< bucket size (requests at once); 0 = requests_per_minute
};

/// Signed webhooks (docs/operations.md, "Signed webhooks"): X-Opex-Timestamp and
/// X-Opex-Signature (sha256=HMAC of "<timestamp>.<body>") on the /webhook/ routes.
struct signature_settings {
  /// Where the signing secret is: `env:NAME` or `file:PATH` (relative to opex.yml), never the
  /// secret itself. "" = webhooks are not signed.
  std::string secret;
  int tolerance_s = 300;  ///< s a timestamp may be away from now, and how long replays are remembered
  bool required = true;   ///< false: a signature is checked only when a request carries one
};

/// One tenant (`tenants:` in opex.yml). Requests carry a tenant (opexd: from the API key);
/// without tenants everything runs as the tenant "default".
struct tenant_settings {
  std::string slug;
  std::optional<int> autonomy_level;            ///< overrides the engine's level
  std::vector<std::string> allowed_tools;       ///< empty = every tool
  std::string api_keys_env;                     ///< env var holding this tenant's API keys
  std::optional<int> max_requests_per_day;
  std::optional<double> max_cost_per_day_usd;
  std::map<std::string, int> max_executions_per_day;  ///< per tool, on top of the catalogue's
  std::optional<rate_limit_settings> rate_limit;  ///< this tenant's keys; unset = server.rate_limit
  std::optional<signature_settings> signatures;   ///< this tenant's keys; unset = server.signatures
};

/// Human approvals (docs/guarded-execution.md).
struct approval_settings {
  int expiry_minutes = 24 * 60;                     ///< pending approvals expire (24 h)
  std::string secret_env = "OPEX_APPROVAL_SECRET";  ///< HMAC key of confirmation codes
  std::string secret_file;                          ///< alternative to the env var
};

/// Protected ("cash") workflows: names, prefixes and keywords exactly as configured
/// (docs/decisions.md, decision 8), read from a file in the reference cash_workflows_forbidden.yml format and/or
/// listed inline.
struct protected_workflow_settings {
  std::vector<std::string> names;
  std::vector<std::string> prefixes;
  std::vector<std::string> keywords;
};

/// How Prolex's rule planner turns an intent into an output (`prolex.planning` in opex.yml).
/// YAML: `{tool: TOOL_ID, payload: {...templates over the KimmyPayload...}, required: [param]}`,
/// `{plan: [plan steps]}`, `{answer: text}` or `{clarification: [questions]}`.
struct planning_entry {
  std::string tool;
  boost::json::object payload;
  std::vector<std::string> required;
  boost::json::array plan;
  std::string answer;
  std::vector<std::string> clarification;
  /// Payload members set when this action follows another in one request ("puis", "then"):
  /// templates where `{{ previous.result... }}` names the earlier step's result.
  boost::json::object chain;
  /// Other tools for the intent, each a planning entry with a `tool`: Kimmy suggests the one
  /// whose catalogue keywords the request matches best, this entry when none matches.
  std::vector<planning_entry> alternatives;

  /// This entry when `tool` is its tool or empty, else the alternative planning `tool`, else
  /// this entry.
  const planning_entry& for_tool(std::string_view tool) const noexcept;
};

/// How a dead MCP server process is restarted: delays grow from initial_interval_ms by
/// backoff_coefficient up to maximum_interval_ms (ms); maximum_restarts 0 = no limit.
struct restart_settings {
  double initial_interval_ms = 500;
  double backoff_coefficient = 2;
  double maximum_interval_ms = 30000;
  int maximum_restarts = 0;
};

/// One MCP server (`mcp.servers.<name>` in opex.yml; docs/connectors.md). Values of `env` and
/// `headers` are literals or references: `env:NAME` (an environment variable of opex's
/// process) or `file:PATH` (first line of a file); secret-looking headers must be references.
struct mcp_server_settings {
  std::string name;
  std::string transport = "stdio";  ///< stdio | streamable_http
  // stdio
  std::string command;  ///< program; a path with '/' is relative to the config's folder
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  ///< added to opex's environment
  std::string cwd;
  // streamable_http
  std::string url;  ///< the MCP endpoint, e.g. http://127.0.0.1:3001/mcp
  std::map<std::string, std::string> headers;
  /// initialize and tools/list (ms); tools/call uses the step's attempt timeout.
  int startup_timeout_ms = 20000;
  restart_settings restart;
  /// `expose:` re-exposes the server's tools to opex's own MCP clients (docs/mcp-gateway.md,
  /// "Aggregation"), guarded as the catalogue tool MCP_<NAME> (upper case) with this risk and
  /// these levels; each tool's definition is pinned by its SHA-256 digest at first sight.
  bool expose = false;
  std::string expose_risk_level = "medium";
  std::vector<int> expose_levels{2, 3};
};

/// The catalogue id under which an exposed MCP server's tools are guarded: "MCP_" and the
/// server's name in upper case, other characters than letters and digits as '_'.
std::string exposed_mcp_tool_id(std::string_view server);

/// The MCP client (`mcp:` in opex.yml).
struct mcp_settings {
  /// The protocol version opex asks for; the server may answer another supported one
  /// (2024-11-05, 2025-03-26, 2025-06-18).
  std::string protocol_version = "2025-06-18";
  /// Where each server's stderr and log notifications go (<log_dir>/mcp-<server>.log);
  /// "" = a `logs` folder beside the database.
  std::string log_dir;
  std::map<std::string, mcp_server_settings> servers;
};

/// One LLM endpoint (`llm.endpoints.<name>` in opex.yml; docs/connectors.md). Source of the
/// wire formats: Anthropic Messages API (POST <base_url>/v1/messages) and OpenAI chat
/// completions (POST <base_url>/chat/completions), both with streaming off.
struct llm_endpoint_settings {
  std::string name;
  std::string provider = "anthropic";  ///< anthropic | openai (any OpenAI-compatible server)
  std::string base_url;                ///< default https://api.anthropic.com or https://api.openai.com/v1
  std::string model;
  std::string api_key;                 ///< env:NAME or file:PATH; "" = no key (local servers)
  int max_tokens = 1024;
  double temperature = 0.0;
  int timeout_ms = 60000;                ///< per attempt (ms)
  double input_cost_per_mtok_usd = 0.0;  ///< USD per million input tokens
  double output_cost_per_mtok_usd = 0.0; ///< USD per million output tokens
  std::string anthropic_version = "2023-06-01";
  retry_settings retry;                  ///< of the planners' calls (tool steps use the step's)
};

/// LLM endpoints (`llm:` in opex.yml): used by `llm` tool targets and by Kimmy and Prolex in
/// their llm modes.
struct llm_settings {
  std::string default_endpoint;  ///< `llm.default`; "" = the only endpoint when there is one
  std::map<std::string, llm_endpoint_settings> endpoints;

  /// The endpoint `name` names ("" = the default), or nullptr.
  const llm_endpoint_settings* find(std::string_view name) const noexcept;
};

/// One n8n instance (`n8n.instances.<name>`; docs/connectors.md). The public API (/api/v1)
/// takes `api_key`; running a workflow with test data and listing credentials use n8n's
/// internal REST API, logged in as `owner_email` / `owner_password`.
struct n8n_instance_settings {
  std::string name;
  std::string base_url;                   ///< e.g. http://127.0.0.1:5678
  std::string api_key;                    ///< env:NAME or file:PATH
  std::string environment = "sandbox";    ///< sandbox | staging | production: what it serves
  std::string owner_email;                ///< literal or reference; "" = no internal REST
  std::string owner_password;             ///< env:NAME or file:PATH
  bool allow_activation = false;          ///< promotions may activate workflows here
  std::string production_tag = "production";  ///< set by a promotion within one instance
  int timeout_ms = 30000;                 ///< per HTTP exchange (ms)
};

/// The n8n connector (`n8n:` in opex.yml).
struct n8n_settings {
  std::map<std::string, n8n_instance_settings> instances;
  std::string default_instance;  ///< "" = the instance serving sandbox, else the only one
  /// N8N_LIST_WORKFLOWS, _UPSERT, _TEST, _PROMOTE and _DESIGN run on the n8n_api target when
  /// instances exist (targets.overrides still wins).
  bool route_tools = true;
  int design_max_nodes = 10;     ///< N8N_WORKFLOW_DESIGN's node limit unless the payload sets one
  std::string design_llm;        ///< endpoint for designs; "" = llm.default; none = templates
  int poll_interval_ms = 250;    ///< how often a test run's execution is read (ms)
  /// Where owner sessions (n8n's auth cookie, valid for days) are kept between processes, one
  /// file per instance, readable by the owner only: n8n rate-limits logins. "" = a
  /// `n8n-sessions` folder beside the database.
  std::string session_dir;

  /// The instance serving `environment` ("" = the default instance), or nullptr.
  const n8n_instance_settings* for_environment(std::string_view environment) const noexcept;
};

/// Span export over OTLP/HTTP with JSON bodies (`tracing:` in opex.yml; docs/operations.md,
/// "Traces"): spans are queued without blocking and sent in batches from a thread of their own.
struct tracing_settings {
  /// The collector's traces URL, e.g. http://127.0.0.1:4318/v1/traces; "" = no export.
  std::string endpoint;
  /// Extra request headers (an `authorization` for a hosted collector); values are literals or
  /// `env:NAME` / `file:PATH` references, resolved when the engine starts.
  std::map<std::string, std::string> headers;
  std::string service_name = "opex";  ///< the resource's service.name
  int max_batch = 512;                ///< spans per export request
  int flush_interval_ms = 1000;       ///< longest wait before queued spans are sent (ms)
  int max_queue = 8192;               ///< spans waiting; more are dropped and counted
  int timeout_ms = 5000;              ///< per export request (ms)
  /// Put each tool call's masked arguments and result on its span (gen_ai.tool.call.arguments,
  /// gen_ai.tool.call.result); off by default.
  bool capture_content = false;
};

/// Resolves a configured value: `env:NAME` -> the environment variable, `file:PATH` -> the
/// file's first line, anything else -> itself. Errors: SECRET_NOT_FOUND {reference}.
result<std::string> resolve_reference(std::string_view value);

/// opex's own configuration (examples/opex.yml documents every key).
struct opex_config {
  std::string source_path;  ///< the file it was loaded from, "" for the built-in default

  tool_catalogue catalogue;
  system_config system;
  autonomy_config autonomy;
  /// opex.yml `workflows:` (reference opex_workflows.yml); empty when not configured.
  std::vector<packaged_workflow> workflows;

  int autonomy_level = 2;              ///< effective level (opex.yml overrides autonomy.yml)
  std::string environment = "development";
  std::string default_user_id = "system";

  /// Where WAL checkpoints run (storage.checkpoint; docs/durability.md, "Checkpoints off the
  /// commit path").
  enum class checkpoint_mode {
    background,  ///< a thread of their own; a commit never waits for a checkpoint's fsyncs
    on_commit,   ///< SQLite's automatic checkpoint, after the commit that fills the WAL
  };

  struct storage_settings {
    /// The backend (connectors/include/opex/connectors/storage.hpp): "sqlite". An unknown one
    /// stops the engine with CONFIG_ERROR when it starts.
    std::string backend = "sqlite";
    std::string database;  ///< SQLite file; "" = ${OPEX_DATA_DIR:-~/.local/share/opex}/opex.db
    checkpoint_mode checkpoint = checkpoint_mode::background;
    int checkpoint_pages = 1000;  ///< WAL frames (pages) that start a checkpoint; the WAL is held under 4x
    /// The pages a store passes to sqlite_db::checkpoint_in_background, 0 when on_commit.
    std::int64_t background_checkpoint_pages() const noexcept {
      return checkpoint == checkpoint_mode::background ? checkpoint_pages : 0;
    }
  } storage;

  struct journal_settings {
    int flush_interval_ms = 5;  ///< longest wait before a batch is committed
    int max_batch = 512;        ///< entries per transaction
    /// Group commit: a commit someone waits for is held this long (µs) for others' writes to
    /// join it, when at least group_commit_siblings other plans are running (0 = at once).
    /// docs/durability.md.
    int group_commit_delay_us = 1000;
    /// Other running plans (besides the committing one) that make the delay worth it.
    int group_commit_siblings = 2;
    bool validate_entries = false;
    /// Attempts of one step journaled one by one (start and retried failure); beyond, the
    /// step's entry carries a summary (docs/durability.md, "Bounded work").
    int max_attempt_entries = 20;
  } journal;

  /// Idempotency keys (docs/durability.md, "Idempotency keys").
  struct idempotency_settings {
    int retention_hours = 24;  ///< how long a key answers repeats with its stored result
  } idempotency;

  struct target_settings {
    std::string mode = "builtin";  ///< builtin | catalogue | webhook
    std::string webhook_base_url;  ///< replaces scheme://host:port of webhook URLs (webhook mode)
    /// n8n webhook paths: production (/webhook/...) or test (/webhook-test/..., live only while
    /// the workflow is open for testing in n8n's editor).
    std::string n8n_webhooks = "production";
    int timeout_ms = 30000;        ///< per HTTP attempt
    std::string ca_file;           ///< extra CA bundle for HTTPS targets
    bool verify_tls = true;
    /// The HTTP connection pool (docs/performance.md, "Connection pool"): connections open at
    /// once per scheme://host:port (more requests wait for one within their timeout), and how
    /// long an idle kept-alive connection is kept (ms; 0 = a connection per request).
    int max_connections_per_origin = 64;
    int idle_connection_timeout_ms = 4000;
    std::map<std::string, tool_target> overrides;  ///< tool id -> target
  } targets;

  struct kimmy_settings {
    std::string mode = "rules";  ///< rules | llm | llm_with_rules_fallback
    std::string llm;             ///< endpoint name; "" = llm.default
    std::vector<std::string> extra_sensitive_keywords;
  } kimmy;

  struct prolex_settings {
    std::string mode = "rules";  ///< rules | llm | llm_with_rules_fallback
    std::string llm;             ///< endpoint name; "" = llm.default
    /// Largest estimated cost of one planning call (USD); 0 = system max_cost_per_request_usd.
    double max_cost_per_call_usd = 0.0;
    std::map<std::string, planning_entry> planning;  ///< intent -> entry
    std::string answer_source;  ///< "" = no answer source configured
    /// prolex.knowledge.documents: reference documents (Markdown or text files; a folder's
    /// *.md and *.txt), absolute paths, indexed for answers (docs/kimmy.md, "Answers").
    std::vector<std::string> knowledge_documents;
  } prolex;

  struct execution_settings {
    int max_parallelism = 16;            ///< concurrent steps per plan
    int executor_max_concurrency = 64;   ///< concurrent calls per executor category (bulkhead)
    int target_max_concurrency = 16;     ///< concurrent calls per target, across executors
    int queue_capacity = 1000;           ///< calls waiting per executor; more -> QUEUE_FULL
    retry_settings retry;
    int attempt_timeout_ms = 30000;      ///< start_to_close: one attempt (ms)
    int step_timeout_ms = 0;             ///< schedule_to_close: all attempts of a step (ms), 0 = none
    std::uint64_t jitter_seed = 0;       ///< 0 = random; fixed for reproducible jitter
    int minimum_retry_interval_ms = 10;  ///< floor under every retry delay (ms)
    int maximum_attempts_per_step = 100; ///< cap on attempts per step, whatever the retry policy says
    /// Requests admitted and not yet answered; one more is refused with OVERLOADED (HTTP 503,
    /// Retry-After) instead of queueing, which bounds the memory the store's backlog can take.
    /// 0 = unbounded. docs/performance.md.
    int max_in_flight_requests = 1024;
    /// Polls 50 µs apart an idle CAF worker makes before it waits on its condition variable
    /// (CAF's `work-stealing.moderate-poll-attempts`; CAF's own default is 500). A message sent
    /// from another thread to a worker in those polls waits for the sleep to end; a waiting
    /// worker is woken at once. 0 = no sleeping polls. docs/performance.md, "Scheduler polling".
    int scheduler_moderate_poll_attempts = 0;
  } execution;

  circuit_breaker_settings circuit_breaker;

  struct server_settings {
    std::string bind = "127.0.0.1";
    int port = 8080;
    std::string api_keys_env = "OPEX_API_KEYS";
    std::size_t max_body_bytes = 1 << 20;
    int threads = 2;
    int max_connections = 1024;  ///< open connections; beyond, new ones get 503 UNAVAILABLE
    int drain_timeout_s = 30;    ///< SIGTERM: how long in-flight requests may finish (s)
    std::string access_log = "stderr";  ///< one JSON line per answer: stderr, stdout, off or a file path
    /// HTTPS (docs/operations.md, "TLS"): PEM certificate chain and private key files; both ""
    /// = plain HTTP. TLS 1.2 and 1.3 only.
    std::string tls_certificate;
    std::string tls_private_key;
    /// Browsers' origins allowed to call opexd (CORS; docs/operations.md, "Origins"): exact
    /// `scheme://host[:port]` values. A request with another Origin (and not same-origin) is
    /// refused with 403; an empty list allows same-origin browser requests only.
    std::vector<std::string> allowed_origins;
    int cors_max_age_s = 600;  ///< how long a browser may cache a preflight answer (s)
    rate_limit_settings rate_limit;  ///< per API key and route (the spec's 100 per minute)
    signature_settings signatures;   ///< signed webhooks; off while `secret` is ""
  } server;

  /// Secret-looking keys masked in everything stored or answered (policies/masking).
  std::vector<std::string> masked_keys;
  /// Extra regular expressions whose matches are masked (`masking.patterns`).
  std::vector<std::string> masked_patterns;
  /// Mask built-in value shapes (API keys, JWTs, Bearer, password=, URL credentials).
  bool mask_value_shapes = true;

  std::vector<tenant_settings> tenants;
  approval_settings approvals;
  improvement_schedule improvement;  ///< `improvement:` the daily improvement run (docs/operations.md)
  alert_settings alerts;  ///< `alerts:` opex's own alert rules and targets (docs/operations.md, "Alerts")
  /// `guard:` in opex.yml. `step_policies`: the Proxy Master's per-step policies in the order
  /// they run (docs/guarded-execution.md, "Order of the checks"); empty = all, in the default
  /// order. An unknown name stops the engine at start-up.
  struct guard_settings {
    std::vector<std::string> step_policies;
  } guard;
  protected_workflow_settings protected_workflows;
  std::map<std::string, double> tool_costs;  ///< USD per call, overrides the catalogue's cost_usd
  std::string secrets_dir;                   ///< files tenant/<slug>/<name>; env OPEX_SECRET_*
  mcp_settings mcp;                          ///< MCP servers reachable by mcp_tool targets
  llm_settings llm;                          ///< LLM endpoints
  n8n_settings n8n;                          ///< n8n instances for n8n_api targets
  tracing_settings tracing;                  ///< OTLP span export
  log_settings logging;                      ///< the engine log (`logging: {level, target}`)

  /// The tenant with this slug, or nullptr ("default" always resolves when no tenants exist).
  const tenant_settings* find_tenant(std::string_view slug) const noexcept;

  /// The autonomy level that applies to a tenant.
  int level_for(std::string_view tenant) const noexcept;
};

/// Reads a protected-workflows file in the reference format (forbidden_workflows[].file/name,
/// forbidden_patterns.numeric_prefixes/keywords). Errors: CONFIG_ERROR.
result<protected_workflow_settings> load_protected_workflows(const std::string& path);

/// Loads opex.yml: validates it against the embedded opex_config schema (unknown keys refused
/// with their path), then loads the referenced catalogue, system.yml and autonomy.yml
/// (relative paths from the config's folder; absent keys mean opex's embedded defaults).
/// An empty `path` yields the built-in default configuration.
/// Errors: CONFIG_ERROR with details {path, key, reason}.
result<opex_config> load_config(const std::string& path);

/// Same from YAML text; relative paths resolve from `base_dir`.
result<opex_config> load_config_text(std::string_view yaml, const std::string& base_dir,
                                     std::string_view origin);

/// The database path the config designates (storage.database, else the data-dir default).
std::string database_path(const opex_config& cfg);

} // namespace opex
