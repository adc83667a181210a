// The builtin tools' local store: tasks, notes and calendar events in SQLite, in a file of
// their own next to the journal's (so their writes never wait behind the journal's batches);
// journal summaries read the journal's database. Plain logic; the builtin connector calls it
// from its worker thread.
#pragma once

#include "opex/connectors/connector.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace opex::connectors {

class sqlite_db;

/// Operations of the local store; each returns the step outcome. Rows belong to the calling
/// tenant: lookups by id or title see only its rows. Not thread-safe.
class local_store {
public:
  /// Opens the store at `items_path` (creating tables) and the journal at `journal_path` for
  /// reading; `checkpoint_pages` > 0 moves the items database's WAL checkpoints to a thread
  /// (sqlite_db::checkpoint_in_background). Errors: INTERNAL_ERROR.
  static result<std::unique_ptr<local_store>> open(const std::string& items_path, const std::string& journal_path,
                                                   std::int64_t checkpoint_pages = 0);
  ~local_store();

  call_outcome task_create(const boost::json::object& p, const call_context& ctx, const std::string& now);
  call_outcome task_update(const boost::json::object& p, const call_context& ctx, const std::string& now);
  call_outcome event_create(const boost::json::object& p, const call_context& ctx, const std::string& now);
  call_outcome note_create(const boost::json::object& p, const call_context& ctx, const std::string& now);
  call_outcome doc_update(const boost::json::object& p, const call_context& ctx, const std::string& now);

  /// Runs `effect` at most once per (tenant, ctx.idempotency_key) (docs/durability.md,
  /// "Exactly once"): in one transaction, the stored result of an earlier success is returned,
  /// or the effect runs and its result is recorded with it. No key: the effect runs in its own
  /// transaction (a savepoint inside a batch), kept only when it succeeds.
  call_outcome once(const std::string& tool, const call_context& ctx, const std::string& now,
                    const std::function<call_outcome()>& effect);
  /// Runs `body` (operations above) in one transaction and commits it: a group commit of
  /// effects queued together, each in its own savepoint. Returns the commit's failure
  /// (TOOL_EXECUTION_FAILED, details {reason}); then nothing of `body` was kept.
  error_info in_one_transaction(const std::function<void()>& body);
  call_outcome healthcheck();
  call_outcome journal_summary(const std::string& since);
  /// The journal's database, for builtins that read it (reports).
  sqlite_db& journal_db() noexcept { return *journal_; }

private:
  local_store(std::unique_ptr<sqlite_db> db, std::unique_ptr<sqlite_db> journal);
  std::unique_ptr<sqlite_db> db_;
  std::unique_ptr<sqlite_db> journal_;
};

} // namespace opex::connectors
