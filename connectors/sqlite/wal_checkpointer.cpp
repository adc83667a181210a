// Background WAL checkpoints: the writer's commit hook wakes the thread, which copies with
// PASSIVE checkpoints on a connection of its own.
#include "opex/connectors/wal_checkpointer.hpp"

#include "opex/connectors/sqlite_db.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace opex::connectors {

wal_checkpointer::wal_checkpointer(sqlite3* writer, const std::string& path, std::int64_t wal_pages,
                                   std::int64_t wal_limit_pages)
  : writer_(writer), wal_pages_(wal_pages), wal_limit_pages_(wal_limit_pages) {
  if (sqlite3_open_v2(path.c_str(), &own_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string reason = own_ ? sqlite3_errmsg(own_) : "out of memory";
    sqlite3_close(own_);
    throw std::runtime_error("cannot open the checkpoint connection to " + path + ": " + reason);
  }
  // A connection is in WAL mode once it has read the database: until then a checkpoint on it
  // does nothing (and says -1 frames).
  if (sqlite3_exec(own_, "PRAGMA journal_mode", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string reason = sqlite3_errmsg(own_);
    sqlite3_close(own_);
    throw std::runtime_error("cannot read " + path + " for checkpoints: " + reason);
  }
  sqlite3_wal_hook(writer_, &wal_checkpointer::on_commit, this);  // replaces the autocheckpoint
  thread_ = std::thread([this] { run(); });
}

wal_checkpointer::~wal_checkpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  sqlite3_wal_autocheckpoint(writer_, 1000);  // SQLite's default
  sqlite3_close_v2(own_);
}

wal_checkpoint_stats wal_checkpointer::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool wal_checkpointer::wait_caught_up(std::chrono::milliseconds limit) const {
  std::unique_lock lock(mutex_);
  return copied_cv_.wait_for(lock, limit, [this] { return frames_ - copied_ < wal_pages_; });
}

// On the writer's thread, after each commit, with the WAL's size in frames.
int wal_checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<wal_checkpointer*>(self);
  bool wake = false;
  {
    std::lock_guard lock(c->mutex_);
    if (frames < c->copied_)
      c->copied_ = 0;  // the WAL restarted from its beginning
    c->frames_ = frames;
    c->stats_.wal_frames = frames;
    wake = frames - c->copied_ >= c->wal_pages_;
  }
  if (wake)
    c->wake_.notify_one();
  if (frames >= c->wal_limit_pages_) {
    {
      // The thread starts no copy past the limit; one already running would hold the lock the
      // writer's checkpoint needs (and that checkpoint would give up at once): wait for its end.
      std::unique_lock lock(c->mutex_);
      c->copied_cv_.wait(lock, [c] { return !c->copying_; });
    }
    int log = 0;
    int copied = 0;
    // RESTART copies what is left and makes the next transaction start the WAL from its
    // beginning. Without a busy timeout: a long reader (opexctl journal) must not hold every
    // commit for seconds; the copy goes as far as it can and the next commit tries again.
    sqlite3_busy_timeout(db, 0);
    int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, &log, &copied);
    sqlite3_busy_timeout(db, sqlite_db::busy_timeout_ms);
    if (rc == SQLITE_OK) {
      std::lock_guard lock(c->mutex_);
      ++c->stats_.writer_runs;
      c->copied_ = copied;
      c->copied_cv_.notify_all();
    }
  }
  return SQLITE_OK;
}

void wal_checkpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // At the limit the writer restarts the WAL itself; a copy started now would only make its
    // checkpoint find the lock taken.
    wake_.wait(lock, [this] {
      return stopping_ || (frames_ - copied_ >= wal_pages_ && frames_ != stalled_at_ && frames_ < wal_limit_pages_);
    });
    if (stopping_)
      return;
    std::int64_t before = copied_;
    std::int64_t at = frames_;
    copying_ = true;
    lock.unlock();
    int log = 0;
    int copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(own_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    lock.lock();
    copying_ = false;
    if (rc == SQLITE_OK && copied >= 0 && frames_ >= log) {
      if (copied > before)
        ++stats_.background_runs;
      copied_ = copied;
    }
    // A reader's snapshot (or the writer's own checkpoint) held the copy back: wait for a commit.
    stalled_at_ = copied_ > before ? -1 : at;
    copied_cv_.notify_all();
  }
}

} // namespace opex::connectors
