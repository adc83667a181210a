// Checkpoints a WAL database on a thread of its own, so the connection that writes never waits
// for the checkpoint's fsyncs (docs/durability.md, "Checkpoints off the commit path").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace opex::connectors {

/// The counters of a background checkpointer, for tests and benches.
struct wal_checkpoint_stats {
  std::int64_t background_runs = 0;  ///< PASSIVE checkpoints of the background thread that copied frames
  std::int64_t writer_runs = 0;      ///< RESTART checkpoints the writer ran itself at the WAL limit
  std::int64_t wal_frames = 0;       ///< frames in the WAL after the writer's last commit
};

/// Installed on the writing connection: its automatic checkpoint is turned off and its commit
/// hook (sqlite3_wal_hook) wakes a thread with a connection of its own, which copies the WAL
/// into the database with PASSIVE checkpoints (they never block the writer or readers) until at
/// most `wal_pages` frames remain uncopied. The WAL restarts from its beginning only when a
/// transaction starts after a checkpoint copied every frame; under a steady load the background
/// copy is always a little behind, so once the WAL holds `wal_limit_pages` frames the thread
/// starts no new copy and the writer, after its commit, waits for the thread's copy in flight
/// if there is one and runs a RESTART checkpoint itself: it copies the few frames the thread has
/// not, and the next transaction restarts the WAL, which stays under `wal_limit_pages` plus one
/// transaction.
/// Durability is unchanged: a commit is in the WAL before it is acknowledged either way.
/// Not for ":memory:" databases. Throws std::runtime_error when the thread's connection cannot
/// be opened.
class wal_checkpointer {
public:
  wal_checkpointer(sqlite3* writer, const std::string& path, std::int64_t wal_pages, std::int64_t wal_limit_pages);
  ~wal_checkpointer();  ///< stops and joins the thread, then restores the writer's hooks
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

  wal_checkpoint_stats stats() const;

  /// Waits until the thread has caught up (fewer than `wal_pages` frames left uncopied), at most
  /// `limit`; false when it has not by then (tests and benches).
  bool wait_caught_up(std::chrono::milliseconds limit) const;

private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int frames);
  void run();

  sqlite3* writer_;
  sqlite3* own_ = nullptr;
  std::int64_t wal_pages_;
  std::int64_t wal_limit_pages_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable std::condition_variable copied_cv_;
  std::int64_t frames_ = 0;      // guarded: the WAL's size at the writer's last commit
  std::int64_t copied_ = 0;      // guarded: frames the last checkpoint reported copied
  std::int64_t stalled_at_ = -1; // guarded: the WAL size at which a checkpoint copied nothing more
  bool stopping_ = false;        // guarded
  bool copying_ = false;         // guarded: the thread's checkpoint runs
  wal_checkpoint_stats stats_;   // guarded
  std::thread thread_;
};

} // namespace opex::connectors
