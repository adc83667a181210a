// The SQLite plan state and approval book (opex/connectors/storage.hpp), in the journal's
// database, its own tables: requests, their steps with statuses and results, pending and
// decided approvals; plus the facts the guard counts from the journal (quotas, spent budget,
// tested and reviewed workflows). Used by the store actor on its own thread.
#pragma once

#include "opex/connectors/storage.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace opex::connectors {

class sqlite_db;

/// The store. Not thread-safe: one owner thread.
class plan_store final : public plan_state_store, public approval_book {
public:
  /// Opens or creates the tables in the database at `path`. Errors: INTERNAL_ERROR.
  static result<std::unique_ptr<plan_store>> open(const std::string& path);

  /// The store on a connection shared with the journal (same database, same owner thread).
  static result<std::unique_ptr<plan_store>> open_on(std::shared_ptr<sqlite_db> db);
  ~plan_store() override;

  /// Upserts of requests and steps, meant to be batched: begin(), saves, commit().
  void begin();
  void commit();
  void save_request(const stored_request& r) override;
  void save_step(const stored_step& s) override;

  /// One request and its steps (step order), or nullopt.
  std::optional<stored_request> find_request(const std::string& id, const std::string& tenant) override;
  std::vector<stored_step> steps_of(const std::string& request_id) override;
  /// Requests whose plan has not ended (running or awaiting_approval): crash/restart recovery.
  std::vector<stored_request> unfinished() override;
  /// The request holding idempotency key `key` for `tenant`, or nullopt.
  std::optional<stored_request> find_by_key(const std::string& tenant, const std::string& key) override;
  /// Forgets the idempotency keys of requests created before `before` (ISO 8601 UTC); returns
  /// how many. The requests stay.
  std::size_t forget_keys_before(const std::string& before) override;

  /// Records a new pending approval (committed at once). Errors: INTERNAL_ERROR.
  result<approval_record> create_approval(approval_record a) override;
  /// The approval, or nullopt; `tenant` "" = any tenant.
  std::optional<approval_record> find_approval(const std::string& id, const std::string& tenant) override;
  /// Approvals of a tenant ("" = all) with a status ("" = all), oldest first.
  std::vector<approval_record> list_approvals(const std::string& tenant, const std::string& status) override;
  /// Sets the decision of a pending approval (committed at once). Errors: NOT_FOUND, CONFLICT
  /// (not pending any more, with its status), INTERNAL_ERROR.
  result<approval_record> decide(const std::string& id, approval_status status, const std::string& by,
                                 const std::string& comment, const std::string& now) override;
  /// Marks pending approvals whose expires_at is before `now` as expired; returns them.
  std::vector<approval_record> expire_due(const std::string& now) override;

  /// A random secret kept in the database under `name` (created on first use): the fallback
  /// HMAC key of confirmation codes when no secret is configured.
  std::string secret(const std::string& name) override;

  /// Facts for the guard: `tools` are counted since `day_start`, costs since `day_start` and
  /// `month_start` (ISO 8601 UTC), for `tenant`; `workflows` are looked up for tests and
  /// reviews.
  usage_facts facts(const std::string& tenant, const std::vector<std::string>& tools,
                    const std::vector<std::string>& workflows, const std::string& day_start,
                    const std::string& month_start) override;

private:
  explicit plan_store(std::shared_ptr<sqlite_db> db);
  std::shared_ptr<sqlite_db> db_;
  bool in_batch_ = false;
};

} // namespace opex::connectors
