// The SystemJournal's SQLite sink (a journal_sink, opex/connectors/storage.hpp): one table, appended in batched transactions, queried by
// request id. Used by the journal_writer actor on its own thread.
#pragma once

#include "opex/connectors/storage.hpp"
#include "opex/contracts.hpp"
#include "opex/error.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <vector>

namespace opex::connectors {

class sqlite_db;

/// Table `journal(id, timestamp, request_id, agent, action_type, tool_used, status, entry)`
/// where `entry` is the full entry JSON (schemas/journal_entry.schema.json). Not thread-safe:
/// one owner thread.
class sqlite_journal final : public journal_sink {
public:
  /// Opens or creates the journal in the database at `path` (":memory:" for tests).
  /// Errors: INTERNAL_ERROR {path, reason}.
  static result<std::unique_ptr<sqlite_journal>> open(const std::string& path);

  /// The journal on a connection shared with other stores of the same database (one owner
  /// thread for all of them).
  static result<std::unique_ptr<sqlite_journal>> open_on(std::shared_ptr<sqlite_db> db);

  /// Creates the journal table, its indexes, usage counters and marks where missing, and
  /// brings an older database's table up to date (the one definition of the journal's schema;
  /// the plan store calls it too). Throws std::runtime_error when SQLite fails.
  static void ensure_schema(sqlite_db& db);

  ~sqlite_journal() override;

  /// Appends entries (already masked) in one transaction. Errors: INTERNAL_ERROR.
  result<std::size_t> append(const std::vector<boost::json::object>& entries);

  /// Inserts entries (already masked) inside the caller's transaction; throws
  /// std::runtime_error when SQLite fails.
  void insert(const std::vector<boost::json::object>& entries) override;

  /// Entries matching `q`, oldest first, each with its row `id`.
  result<std::vector<boost::json::object>> query(const journal_query& q) override;

  /// Entries with this tool_used and status "success" since `since_timestamp` (ISO 8601):
  /// used by quotas.
  result<std::size_t> count_tool_since(const std::string& tool, const std::string& since_timestamp);

private:
  explicit sqlite_journal(std::shared_ptr<sqlite_db> db);
  std::shared_ptr<sqlite_db> db_;
};

} // namespace opex::connectors
