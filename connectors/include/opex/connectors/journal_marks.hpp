// Where each 15-minute interval starts in the journal: time windows ("since T") become id
// ranges, so the journal needs no index on its timestamp (docs/performance.md, "Journal
// indexes").
#pragma once

#include <cstdint>
#include <string_view>

namespace opex::connectors {

class sqlite_db;

/// The `journal_marks` table: bucket ("YYYY-MM-DDTHH:MM", usage_counters::bucket_of) -> the id of
/// the first journal entry inserted with a timestamp in it. Entries are inserted in about the
/// order of their timestamps, but not exactly; for every entry E, mark(bucket(E)) <= id(E), so
/// the smallest mark of the buckets from bucket(T) on bounds every entry at or after T.
namespace journal_marks {

/// Creates the table; when it is new and the journal has rows, fills it from them. Throws
/// std::runtime_error.
void ensure_schema(sqlite_db& db);

/// Records the entry just inserted (last_insert_rowid) when it is the first of its bucket
/// (usage_counters::bucket_of of its timestamp).
void mark(sqlite_db& db, std::string_view bucket);

/// The lowest id an entry with a timestamp at or after `since` may have (1 + the last id when
/// there is none). Use as `WHERE id >= ?first AND timestamp >= ?since`. Throws std::runtime_error.
std::int64_t first_id_since(sqlite_db& db, std::string_view since);

} // namespace journal_marks
} // namespace opex::connectors
