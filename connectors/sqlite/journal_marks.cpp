// The journal's 15-minute marks (opex/connectors/journal_marks.hpp).
#include "opex/connectors/journal_marks.hpp"

#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/usage_counters.hpp"

#include <string>

namespace opex::connectors::journal_marks {

void ensure_schema(sqlite_db& db) {
  if (db.has_table("journal_marks"))
    return;
  sqlite_transaction tx(db);
  db.exec("CREATE TABLE journal_marks (bucket TEXT PRIMARY KEY, first_id INTEGER NOT NULL) WITHOUT ROWID");
  if (db.has_table("journal"))
    db.exec("INSERT INTO journal_marks(bucket, first_id) SELECT " + std::string(usage_counters::timestamp_bucket_sql)
            + ", MIN(id) FROM journal GROUP BY 1");
  tx.commit();
}

void mark(sqlite_db& db, std::string_view bucket) {
  auto st = db.prepared("INSERT OR IGNORE INTO journal_marks(bucket, first_id) VALUES (?1, last_insert_rowid())");
  st->bind(1, bucket);
  st->step();
}

std::int64_t first_id_since(sqlite_db& db, std::string_view since) {
  auto st = db.prepared(
    "SELECT COALESCE((SELECT MIN(first_id) FROM journal_marks WHERE bucket >= ?1),"
    " (SELECT COALESCE(MAX(id), 0) + 1 FROM journal))");
  st->bind(1, std::string_view(usage_counters::bucket_of(since)));
  st->step();
  return st->column_int(0);
}

} // namespace opex::connectors::journal_marks
