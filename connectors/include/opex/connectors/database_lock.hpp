// One writer per database (docs/durability.md, "One writer per database"): an engine that
// executes holds an exclusive lock on `<database>.lock` for as long as it runs; a second one
// is refused. The kernel drops the lock when the process dies, even by kill -9.
#pragma once

#include "opex/error.hpp"

#include <memory>
#include <string>

namespace opex::connectors {

/// An exclusive advisory lock (flock) on `<database>.lock`, which holds the owner's pid.
/// Released by the destructor. Not copyable.
class database_lock {
public:
  /// Takes the lock of `database` without waiting. ":memory:" needs none (nullptr is returned).
  /// Errors: DATABASE_LOCKED {database, lock_file, pid} when another engine holds it;
  /// INTERNAL_ERROR when the lock file cannot be created.
  static result<std::unique_ptr<database_lock>> acquire(const std::string& database);

  ~database_lock();
  database_lock(const database_lock&) = delete;
  database_lock& operator=(const database_lock&) = delete;

  const std::string& path() const noexcept { return path_; }

private:
  database_lock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

} // namespace opex::connectors
