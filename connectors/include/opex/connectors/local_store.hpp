// The builtin tools' local store, as an interface a storage backend implements: tasks, notes and
// calendar events of each tenant, effects run once per idempotency key, and the reads the
// builtin reports need (journal summary, usage by day). The SQLite implementation is
// connectors/sqlite/sqlite_local_store.* (docs/architecture.md, "Storage"). The builtin
// connector calls it from its worker thread; not thread-safe.
#pragma once

#include "opex/config.hpp"
#include "opex/connectors/connector.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace opex::connectors {

/// Usage of one day (UTC) from the usage counters: cost in USD, requests counted.
struct daily_usage {
  std::string day;  ///< YYYY-MM-DD
  double cost_usd = 0.0;
  std::int64_t requests = 0;
};

/// Operations of the local store; each returns the step outcome. Rows belong to the calling
/// tenant: lookups by id or title see only its rows.
class local_store {
public:
  virtual ~local_store() = default;
  virtual call_outcome task_create(const boost::json::object& p, const call_context& ctx, const std::string& now) = 0;
  virtual call_outcome task_update(const boost::json::object& p, const call_context& ctx, const std::string& now) = 0;
  virtual call_outcome event_create(const boost::json::object& p, const call_context& ctx, const std::string& now) = 0;
  virtual call_outcome note_create(const boost::json::object& p, const call_context& ctx, const std::string& now) = 0;
  virtual call_outcome doc_update(const boost::json::object& p, const call_context& ctx, const std::string& now) = 0;
  /// Runs `effect` at most once per (tenant, ctx.idempotency_key) (docs/durability.md,
  /// "Exactly once"): atomically, the stored result of an earlier success is returned, or the
  /// effect runs and its result is recorded with it. No key: the effect runs on its own, kept
  /// only when it succeeds.
  virtual call_outcome once(const std::string& tool, const call_context& ctx, const std::string& now,
                            const std::function<call_outcome()>& effect) = 0;
  /// Runs `body` (operations above) as one atomic batch: a group commit of effects queued
  /// together, each isolated from the others' failures. Returns the commit's failure
  /// (TOOL_EXECUTION_FAILED, details {reason}); then nothing of `body` was kept.
  virtual error_info in_one_transaction(const std::function<void()>& body) = 0;
  virtual call_outcome healthcheck() = 0;
  /// Counts of the SystemJournal since `since` (ISO 8601 UTC), by agent, status and tool.
  virtual call_outcome journal_summary(const std::string& since) = 0;
  /// Cost and requests of `tenant` per UTC day over the usage-counter buckets [first_bucket,
  /// end_bucket) ("YYYY-MM-DDTHH:MM"). Throws std::runtime_error when the store fails.
  virtual std::vector<daily_usage> usage_by_day(const std::string& tenant, const std::string& first_bucket,
                                                const std::string& end_bucket) = 0;
};

/// The local store's own file next to the journal's: opex.db -> opex-items.db (":memory:" stays).
std::string items_database(const std::string& database);

/// Opens the local store of backend `settings.backend` in `items_path` (creating it), reading
/// the journal's database `journal_path`; `checkpoint_pages` > 0 moves its checkpoints to a
/// thread of their own. Errors: CONFIG_ERROR for an unknown backend, INTERNAL_ERROR.
result<std::unique_ptr<local_store>> open_local_store(const opex_config::storage_settings& settings,
                                                      const std::string& items_path, const std::string& journal_path,
                                                      std::int64_t checkpoint_pages = 0);

} // namespace opex::connectors
