// SQLite RAII helpers.
#include "opex/connectors/sqlite_db.hpp"

#include "opex/connectors/wal_checkpointer.hpp"

#include <sqlite3.h>

#include <boost/json/object.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace opex::connectors {

namespace {

[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view what) {
  throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "sqlite error"));
}

} // namespace

sqlite_statement::sqlite_statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
    throw_sqlite(db, "prepare");
}

sqlite_statement::~sqlite_statement() {
  sqlite3_finalize(stmt_);
}

void sqlite_statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

void sqlite_statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void sqlite_statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
}

void sqlite_statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
}

void sqlite_statement::bind_optional(int index, const std::optional<std::string>& text) {
  if (text)
    bind(index, std::string_view(*text));
  else
    bind_null(index);
}

bool sqlite_statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  throw_sqlite(db_, "step");
}

void sqlite_statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string sqlite_statement::column_text(int index) const {
  const auto* p = sqlite3_column_text(stmt_, index);
  if (p == nullptr)
    return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

std::int64_t sqlite_statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

double sqlite_statement::column_double(int index) const {
  return sqlite3_column_double(stmt_, index);
}

bool sqlite_statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

result<std::unique_ptr<sqlite_db>> sqlite_db::open(const std::string& path) {
  try {
    if (path != ":memory:") {
      auto dir = std::filesystem::path(path).parent_path();
      if (!dir.empty() && !std::filesystem::exists(dir)) {
        std::filesystem::create_directories(dir);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all);  // 0700: the data folder
      }
      // A new database is created 0600 before SQLite opens it: its -wal and -shm files take the
      // same mode (journals and stored rows are the tenants' data; docs/operations.md, "Files").
      if (int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0)
        ::close(fd);
    }
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot create the database folder",
                      boost::json::object{{"path", path}, {"reason", e.what()}});
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string reason = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return make_error(error_code::internal_error, "cannot open database " + path,
                      boost::json::object{{"path", path}, {"reason", reason}});
  }
  std::unique_ptr<sqlite_db> out(new sqlite_db(db, path));
  try {
    sqlite3_busy_timeout(db, busy_timeout_ms);
    out->exec("PRAGMA journal_mode=WAL");
    out->exec("PRAGMA synchronous=NORMAL");
    out->exec("PRAGMA foreign_keys=ON");
  } catch (const std::exception& e) {
    return make_error(error_code::internal_error, "cannot configure database " + path,
                      boost::json::object{{"path", path}, {"reason", e.what()}});
  }
  return out;
}

sqlite_db::sqlite_db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

sqlite_db::~sqlite_db() {
  checkpointer_.reset();  // its connection closes first: this one, the last, checkpoints at close
  cache_.clear();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

sqlite_lease sqlite_db::prepared(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end())
    it = cache_.emplace(sql, std::make_unique<sqlite_statement>(db_, sql)).first;
  return sqlite_lease(*it->second);
}

std::int64_t sqlite_db::last_insert_id() const noexcept {
  return sqlite3_last_insert_rowid(db_);
}

std::int64_t sqlite_db::changes() const noexcept {
  return sqlite3_changes64(db_);
}

bool sqlite_db::in_transaction() const noexcept {
  return sqlite3_get_autocommit(db_) == 0;
}

void sqlite_db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "sqlite error";
    sqlite3_free(err);
    throw std::runtime_error(msg);
  }
}

bool sqlite_db::has_table(std::string_view name) {
  auto st = prepared("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  st->bind(1, name);
  return st->step();
}

void sqlite_db::checkpoint_in_background(std::int64_t wal_pages) {
  if (checkpointer_ || path_.empty() || path_ == ":memory:")
    return;
  checkpointer_ = std::make_unique<wal_checkpointer>(db_, path_, wal_pages, 4 * wal_pages);
}

sqlite_transaction::sqlite_transaction(sqlite_db& db) : db_(db), nested_(db.in_transaction()) {
  db_.prepared(nested_ ? "SAVEPOINT nested" : "BEGIN IMMEDIATE")->step();
}

sqlite_transaction::~sqlite_transaction() {
  if (done_)
    return;
  try {
    if (nested_) {
      db_.prepared("ROLLBACK TO nested")->step();
      db_.prepared("RELEASE nested")->step();
    } else {
      db_.prepared("ROLLBACK")->step();
    }
  } catch (const std::exception&) {
  }
}

void sqlite_transaction::commit() {
  db_.prepared(nested_ ? "RELEASE nested" : "COMMIT")->step();
  done_ = true;
}

} // namespace opex::connectors
