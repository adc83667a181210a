// A minimal RAII layer over the SQLite C API for opex's stores (journal, local builtin store,
// later plan state): open with WAL, prepared statements, transactions.
#pragma once

#include "opex/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace opex::connectors {

/// A prepared statement; binds are 1-based. Not thread-safe (one owner).
class sqlite_statement {
public:
  sqlite_statement(sqlite3* db, std::string_view sql);
  ~sqlite_statement();
  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;

  void bind(int index, std::string_view text);
  void bind(int index, std::int64_t value);
  void bind(int index, double value);
  void bind_null(int index);
  void bind_optional(int index, const std::optional<std::string>& text);

  /// Steps once: true when a row is available, false when done. Throws std::runtime_error on
  /// error (callers convert it at their boundary).
  bool step();
  void reset();

  std::string column_text(int index) const;
  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  bool column_is_null(int index) const;

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// A statement borrowed from a connection's cache (sqlite_db::prepared): reset, with its
/// bindings cleared, when the lease ends, so it never holds a read transaction open.
class sqlite_lease {
public:
  explicit sqlite_lease(sqlite_statement& st) : st_(&st) {}
  ~sqlite_lease() {
    if (st_)
      st_->reset();
  }
  sqlite_lease(sqlite_lease&& o) noexcept : st_(o.st_) { o.st_ = nullptr; }
  sqlite_lease(const sqlite_lease&) = delete;
  sqlite_lease& operator=(const sqlite_lease&) = delete;
  sqlite_statement* operator->() const noexcept { return st_; }
  sqlite_statement& operator*() const noexcept { return *st_; }

private:
  sqlite_statement* st_;
};

class wal_checkpointer;

/// One connection. Not thread-safe: each store owns its connection on its own thread.
class sqlite_db {
public:
  /// Opens (creating the file and its folder) with journal_mode=WAL, synchronous=NORMAL,
  /// busy_timeout=5000 ms. Errors: INTERNAL_ERROR with details {path, reason}.
  static result<std::unique_ptr<sqlite_db>> open(const std::string& path);

  /// How long a statement waits for another connection's lock before SQLITE_BUSY (ms).
  static constexpr int busy_timeout_ms = 5000;

  ~sqlite_db();
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  /// Runs SQL without results; throws std::runtime_error on error.
  void exec(std::string_view sql);

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

  /// The prepared statement of `sql`, from this connection's cache (prepared on first use):
  /// the hot statements of the stores are parsed once, not per row. Throws on SQL errors.
  sqlite_lease prepared(const std::string& sql);

  /// Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const noexcept;
  /// The rowid of the last row this connection inserted.
  std::int64_t last_insert_id() const noexcept;

  /// True inside an explicit transaction (BEGIN ... COMMIT).
  bool in_transaction() const noexcept;

  /// True when the database has a table of that name (sqlite_schema). Throws on SQL errors.
  bool has_table(std::string_view name);

  /// Moves this connection's WAL checkpoints to a thread of its own (wal_checkpointer): commits
  /// stop waiting for a checkpoint's fsyncs. The thread copies the WAL once `wal_pages` frames
  /// are uncopied; at 4 x `wal_pages` frames this connection finishes the copy itself so the WAL
  /// restarts and stays bounded. Nothing for ":memory:". Throws std::runtime_error when the
  /// checkpointer's connection cannot be opened. Source: docs/durability.md, "Checkpoints off
  /// the commit path".
  void checkpoint_in_background(std::int64_t wal_pages = 1000);

  /// The background checkpointer, or nullptr when checkpoints run on this connection.
  const wal_checkpointer* checkpointer() const noexcept { return checkpointer_.get(); }

private:
  sqlite_db(sqlite3* db, std::string path);
  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<sqlite_statement>> cache_;
  std::unique_ptr<wal_checkpointer> checkpointer_;  // before the connection closes
};

/// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless commit() was called.
/// Inside a transaction already open on the connection it is a savepoint instead: commit()
/// releases it into the enclosing transaction, destruction rolls back to it (a batch of
/// effects committed together, each undone alone when it fails).
class sqlite_transaction {
public:
  explicit sqlite_transaction(sqlite_db& db);
  ~sqlite_transaction();
  void commit();

private:
  sqlite_db& db_;
  bool nested_;
  bool done_ = false;
};

} // namespace opex::connectors
