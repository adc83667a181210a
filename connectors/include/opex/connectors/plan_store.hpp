// Persisted plan state and approvals in SQLite (the journal's database, its own tables):
// requests, their steps with statuses and results, pending and decided approvals; plus the
// facts the guard counts from the journal (quotas, spent budget, tested and reviewed
// workflows). Used by the store actor on its own thread.
#pragma once

#include "opex/contracts.hpp"
#include "opex/usage.hpp"
#include "opex/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace opex::connectors {

class sqlite_db;

/// A request as stored: `output` is its ProlexOutput, `result` its request_result JSON (null
/// until it ends). Status: running | awaiting_approval | succeeded | partial | failed |
/// rejected | cancelled | timed_out.
struct stored_request {
  std::string id;
  std::string tenant = "default";
  std::string user_id;
  std::string status;
  boost::json::value output;
  boost::json::value result;
  std::string created_at;
  std::string updated_at;
  std::string idempotency_key;  ///< "" = none; unique per tenant while kept (docs/durability.md)
  std::string body_digest;      ///< SHA-256 of the entry point and the body that created it
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

/// The store. Not thread-safe: one owner thread.
class plan_store {
public:
  /// Opens or creates the tables in the database at `path`. Errors: INTERNAL_ERROR.
  static result<std::unique_ptr<plan_store>> open(const std::string& path);

  /// The store on a connection shared with the journal (same database, same owner thread).
  static result<std::unique_ptr<plan_store>> open_on(std::shared_ptr<sqlite_db> db);
  ~plan_store();

  /// Upserts of requests and steps, meant to be batched: begin(), saves, commit().
  void begin();
  void commit();
  void save_request(const stored_request& r);
  void save_step(const stored_step& s);

  /// One request and its steps (step order), or nullopt.
  std::optional<stored_request> find_request(const std::string& id, const std::string& tenant);
  std::vector<stored_step> steps_of(const std::string& request_id);
  /// Requests whose plan has not ended (running or awaiting_approval): crash/restart recovery.
  std::vector<stored_request> unfinished();
  /// The request holding idempotency key `key` for `tenant`, or nullopt.
  std::optional<stored_request> find_by_key(const std::string& tenant, const std::string& key);
  /// Forgets the idempotency keys of requests created before `before` (ISO 8601 UTC); returns
  /// how many. The requests stay.
  std::size_t forget_keys_before(const std::string& before);

  /// Records a new pending approval (committed at once). Errors: INTERNAL_ERROR.
  result<approval_record> create_approval(approval_record a);
  /// The approval, or nullopt; `tenant` "" = any tenant.
  std::optional<approval_record> find_approval(const std::string& id, const std::string& tenant);
  /// Approvals of a tenant ("" = all) with a status ("" = all), oldest first.
  std::vector<approval_record> list_approvals(const std::string& tenant, const std::string& status);
  /// Sets the decision of a pending approval (committed at once). Errors: NOT_FOUND, CONFLICT
  /// (not pending any more, with its status), INTERNAL_ERROR.
  result<approval_record> decide(const std::string& id, approval_status status, const std::string& by,
                                 const std::string& comment, const std::string& now);
  /// Marks pending approvals whose expires_at is before `now` as expired; returns them.
  std::vector<approval_record> expire_due(const std::string& now);

  /// A random secret kept in the database under `name` (created on first use): the fallback
  /// HMAC key of confirmation codes when no secret is configured.
  std::string secret(const std::string& name);

  /// Facts for the guard: `tools` are counted since `day_start`, costs since `day_start` and
  /// `month_start` (ISO 8601 UTC), for `tenant`; `workflows` are looked up for tests and
  /// reviews.
  usage_facts facts(const std::string& tenant, const std::vector<std::string>& tools,
                    const std::vector<std::string>& workflows, const std::string& day_start,
                    const std::string& month_start);

private:
  explicit plan_store(std::shared_ptr<sqlite_db> db);
  std::shared_ptr<sqlite_db> db_;
  bool in_batch_ = false;
};

} // namespace opex::connectors
