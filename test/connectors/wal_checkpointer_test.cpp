// Background WAL checkpoints: the writing connection stops checkpointing on its commits, the
// WAL stays bounded by the limit, and every committed row is in the database after a reopen.
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/wal_checkpointer.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace opex::connectors;

namespace {

constexpr std::int64_t frame_bytes = 4096 + 24;  // page size + WAL frame header

void insert_rows(sqlite_db& db, int rows) {
  for (int i = 0; i < rows; ++i) {
    sqlite_transaction tx(db);
    auto st = db.prepared("INSERT INTO t (v) VALUES (?1)");
    st->bind(1, std::string(3000, static_cast<char>('a' + i % 26)));
    st->step();
    tx.commit();
  }
}

std::int64_t count_rows(const std::string& path) {
  auto db = sqlite_db::open(path);
  REQUIRE(db.ok());
  auto st = (*db)->prepared("SELECT COUNT(*) FROM t");
  REQUIRE(st->step());
  return st->column_int(0);
}

} // namespace

TEST_CASE("wal_checkpointer: commits leave checkpoints to the thread, the WAL stays bounded, nothing is lost") {
  opex::test::temp_dir dir;
  auto path = dir.file("wal.db");
  {
    auto db = sqlite_db::open(path);
    REQUIRE(db.ok());
    (*db)->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    (*db)->checkpoint_in_background(16);  // the writer restarts the WAL at 64 frames
    REQUIRE((*db)->checkpointer() != nullptr);
    insert_rows(**db, 3000);
    const auto* ckpt = (*db)->checkpointer();
    CHECK(ckpt->wait_caught_up(std::chrono::seconds(30)));
    auto stats = ckpt->stats();
    CHECK(stats.background_runs > 0);  // copies by the thread, not only the writer's at the limit
    CHECK(stats.wal_frames > 0);
    // 3000 commits of a row of 3000 bytes: without the limit the WAL would hold over 2000
    // frames (about 9 MB); with it the file never grows past 64 frames plus one transaction's.
    auto wal_bytes = static_cast<std::int64_t>(std::filesystem::file_size(path + "-wal"));
    INFO("WAL bytes " << wal_bytes << ", writer checkpoints " << stats.writer_runs);
    CHECK(stats.writer_runs > 0);
    CHECK(wal_bytes <= 32 + (64 + 8) * frame_bytes);
  }
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));  // the last connection checkpointed at close
  CHECK(count_rows(path) == 3000);
}

TEST_CASE("wal_checkpointer: a :memory: database has no WAL and gets no thread") {
  auto memory = sqlite_db::open(":memory:");
  REQUIRE(memory.ok());
  (*memory)->checkpoint_in_background();
  CHECK((*memory)->checkpointer() == nullptr);
}
