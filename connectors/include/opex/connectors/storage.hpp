// Where opex keeps what it must not lose, as interfaces a storage backend implements: the
// SystemJournal's sink, the plan state (requests, steps, idempotency keys, the facts the guard
// counts) and the approval book, written together in one batch (the group commit of
// docs/durability.md). The SQLite backend is connectors/sqlite/; another backend (PostgreSQL,
// for several opexd on one database) is one folder and one line in connectors/storage_registry.cpp,
// chosen by opex.yml's storage.backend (docs/architecture.md, "Storage").
#pragma once

#include "opex/config.hpp"
#include "opex/contracts.hpp"
#include "opex/error.hpp"
#include "opex/usage.hpp"
#include "opex/workflow_metrics.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace opex::connectors {

class local_store;

/// A request as stored: `output` is its ProlexOutput, `result` its request_result JSON (null
/// until it ends). Status: running | awaiting_approval | succeeded | partial | failed |
/// rejected | cancelled | timed_out.
struct stored_request {
  std::string id;
  std::string tenant = "default";
  std::string user_id;
  /// `running_status` while the plan runs, then a request_status name (request_status_name).
  std::string status;
  boost::json::value output;
  boost::json::value result;
  std::string created_at;
  std::string updated_at;
  std::string idempotency_key;  ///< "" = none; unique per tenant while kept (docs/durability.md)
  std::string body_digest;      ///< SHA-256 of the entry point and the body that created it

  /// The status of a request whose plan has not ended.
  static constexpr std::string_view running_status = "running";
  bool running() const noexcept { return status == running_status; }
};

/// A step as stored, written before it is dispatched and after it completes.
struct stored_step {
  std::string request_id;
  int step = 0;
  std::string tool;
  std::string status;
  boost::json::value payload;  ///< resolved payload (null before resolution)
  boost::json::value data;
  boost::json::value error;
  int attempts = 0;
  std::string updated_at;
};

/// An approval. kind "step": a plan step waiting for a person; kind "review": the review of a
/// workflow created with review_required (`subject` is the workflow name). Status: pending |
/// approved | rejected | expired.
/// JSON: {"id", "tenant", "request_id", "step", "tool", "kind", "subject", "payload_digest",
///        "reason", "status", "requires_code", "created_at", "expires_at", "decided_by",
///        "decided_at", "comment"}
struct approval_record {
  std::string id;
  std::string tenant = "default";
  std::string request_id;
  int step = 0;
  std::string tool;
  approval_kind kind = approval_kind::step;
  std::string subject;
  std::string payload_digest;  ///< SHA-256 (hex) of the step's canonical payload
  std::string reason;
  approval_status status = approval_status::pending;
  bool requires_code = false;
  std::string created_at;
  std::string expires_at;
  std::string decided_by;
  std::string decided_at;
  std::string comment;

  boost::json::object to_json() const;
};

/// What the guard counts before it lets a plan run (tenant-scoped, local day and month).
using usage_facts = opex::usage_counts;

/// The SystemJournal's entries (schemas/journal_entry.schema.json), already masked.
class journal_sink {
public:
  virtual ~journal_sink() = default;
  /// Inserts entries inside the backend's batch (storage_backend::in_batch). Throws
  /// std::runtime_error when the backend fails.
  virtual void insert(const std::vector<boost::json::object>& entries) = 0;
  /// Entries matching `q`, oldest first, each with its row `id`. Errors: INTERNAL_ERROR.
  virtual result<std::vector<boost::json::object>> query(const journal_query& q) = 0;
};

/// Requests and their steps, idempotency keys, and the facts the guard counts. Writes happen
/// inside the backend's batch; reads see every committed batch.
class plan_state_store {
public:
  virtual ~plan_state_store() = default;
  virtual void save_request(const stored_request& r) = 0;
  virtual void save_step(const stored_step& s) = 0;
  /// One request of `tenant` ("" = any), or nullopt.
  virtual std::optional<stored_request> find_request(const std::string& id, const std::string& tenant) = 0;
  /// Its steps, in step order.
  virtual std::vector<stored_step> steps_of(const std::string& request_id) = 0;
  /// Requests whose plan has not ended (running or awaiting_approval): crash/restart recovery.
  virtual std::vector<stored_request> unfinished() = 0;
  /// The request holding idempotency key `key` for `tenant`, or nullopt.
  virtual std::optional<stored_request> find_by_key(const std::string& tenant, const std::string& key) = 0;
  /// Forgets the idempotency keys of requests created before `before` (ISO 8601 UTC); how many.
  virtual std::size_t forget_keys_before(const std::string& before) = 0;
  /// A random secret kept under `name` (created on first use): the fallback HMAC key of
  /// confirmation codes when none is configured.
  virtual std::string secret(const std::string& name) = 0;
  /// What the guard counts: `tools` since `day_start`, costs since `day_start` and `month_start`
  /// (ISO 8601 UTC) for `tenant`; `workflows` looked up for tests and reviews.
  virtual usage_facts facts(const std::string& tenant, const std::vector<std::string>& tools,
                            const std::vector<std::string>& workflows, const std::string& day_start,
                            const std::string& month_start) = 0;
};

/// Pending and decided approvals; each change is committed at once.
class approval_book {
public:
  virtual ~approval_book() = default;
  /// Records a new pending approval. Errors: INTERNAL_ERROR.
  virtual result<approval_record> create_approval(approval_record a) = 0;
  /// The approval, or nullopt; `tenant` "" = any tenant.
  virtual std::optional<approval_record> find_approval(const std::string& id, const std::string& tenant) = 0;
  /// Approvals of a tenant ("" = all) with a status ("" = all), oldest first.
  virtual std::vector<approval_record> list_approvals(const std::string& tenant, const std::string& status) = 0;
  /// Decides a pending approval. Errors: NOT_FOUND, CONFLICT (not pending any more), INTERNAL_ERROR.
  virtual result<approval_record> decide(const std::string& id, approval_status status, const std::string& by,
                                         const std::string& comment, const std::string& now) = 0;
  /// Marks pending approvals whose expires_at is before `now` as expired; returns them.
  virtual std::vector<approval_record> expire_due(const std::string& now) = 0;
};

/// One storage backend: the three stores over one database. Not thread-safe: one owner thread
/// (the store actor's).
class storage_backend {
public:
  virtual ~storage_backend() = default;
  virtual journal_sink& journal() = 0;
  virtual plan_state_store& plans() = 0;
  virtual approval_book& approvals() = 0;
  /// Runs `writes` (journal inserts, request and step saves) as one atomic batch: all of them
  /// are durable when it returns, none when it throws (std::runtime_error).
  virtual void in_batch(const std::function<void()>& writes) = 0;
};

/// Reports over the committed journal, on a connection of their own: a report over a long
/// window never holds the writer's thread (SQLite's WAL readers do not block its writer). Not
/// thread-safe: one owner thread (the report reader's).
class journal_reports {
public:
  virtual ~journal_reports() = default;
  /// The workflow metrics of `q` (JSON: opex/connectors/workflow_runs.hpp). Errors: INTERNAL_ERROR
  /// {reason}.
  virtual result<boost::json::object> workflow_metrics(const workflow_metrics_query& q) = 0;
  /// Requests matching `f`, newest first: {"requests": [{"id", "tenant", "user_id", "status",
  /// "type" (the ProlexOutput's, null when none), "tools": [..] (its steps'), "created_at",
  /// "updated_at"}]}. Errors: INTERNAL_ERROR {reason}.
  virtual result<boost::json::object> list_requests(const request_filter& f) = 0;
  /// The evidence improvement proposals are made from (workflow_runs::evidence), over q's
  /// window and tenant. Errors: INTERNAL_ERROR {reason}.
  virtual result<boost::json::object> improvement_evidence(const workflow_metrics_query& q) = 0;
  /// The alerts' states and the deliveries not done yet (JSON: opex/connectors/alert_states.hpp,
  /// list). Errors: INTERNAL_ERROR {reason}.
  virtual result<boost::json::object> alerts() = 0;
  /// The tenant's most recent `limit` tasks, notes and events from the builtin local store, for
  /// references in requests ("la tâche Réserver la salle", docs/kimmy.md, "References"):
  /// {"tasks": [{"id", "title", "status", "due_date", "created_at"}], "notes": [{"id", "title",
  /// "created_at"}], "events": [{"id", "title", "start", "created_at"}]}, newest first; empty
  /// lists before the store exists. Errors: INTERNAL_ERROR {reason}.
  virtual result<boost::json::object> tenant_items(const std::string& tenant, int limit) = 0;
  /// The context Kimmy reads before it classifies (docs/kimmy.md, "Context from the journal"):
  /// the user's recent requests, those of one intent and the tools' recent failures (JSON:
  /// opex/connectors/request_history.hpp, lookup). Errors: INTERNAL_ERROR {reason}.
  virtual result<boost::json::object> history(const history_query& q) = 0;
};

/// A kind of backend, as storage.backend names it.
struct storage_factory {
  std::string_view name;  ///< "sqlite"
  /// Opens (creating when needed) the backend's database `database`. Errors: INTERNAL_ERROR
  /// {path, reason}.
  result<std::unique_ptr<storage_backend>> (*open)(const opex_config::storage_settings& settings,
                                                   const std::string& database);
  /// Opens its builtin local store (opex/connectors/local_store.hpp) in `items_path`, reading
  /// the journal's database `journal_path`.
  result<std::unique_ptr<local_store>> (*open_local_store)(const std::string& items_path, const std::string& journal_path,
                                                           std::int64_t checkpoint_pages);
  /// Opens a reading connection on `database`, whose schema open() made. Errors: INTERNAL_ERROR
  /// {path, reason}.
  result<std::unique_ptr<journal_reports>> (*open_reports)(const std::string& database);
};

/// Every backend opex ships (connectors/storage_registry.cpp).
std::span<const storage_factory> storage_factories() noexcept;

/// None when `backend` is a known backend, else CONFIG_ERROR "unknown storage backend 'x'
/// (known: sqlite)" with details {key: storage.backend, backend, known}.
error_info check_storage_backend(std::string_view backend);

/// The reports of the backend `settings.backend` names, on `database`. Errors: as open_storage.
result<std::unique_ptr<journal_reports>> open_reports(const opex_config::storage_settings& settings,
                                                      const std::string& database);

/// Opens the backend `settings.backend` names on `database`. Errors: CONFIG_ERROR {backend,
/// known} for an unknown backend, and the backend's own.
result<std::unique_ptr<storage_backend>> open_storage(const opex_config::storage_settings& settings,
                                                      const std::string& database);

} // namespace opex::connectors
