// The SQLite local store (opex/connectors/local_store.hpp): tasks, notes and calendar events in a
// file of their own next to the journal's (so their writes never wait behind the journal's
// batches); journal summaries and usage read the journal's database.
#pragma once

#include "opex/connectors/local_store.hpp"

#include <memory>
#include <string>

namespace opex::connectors {

class sqlite_db;

class sqlite_local_store final : public local_store {
public:
  /// Opens the store at `items_path` (creating tables) and the journal at `journal_path` for
  /// reading. Errors: INTERNAL_ERROR {path, reason}.
  static result<std::unique_ptr<local_store>> open(const std::string& items_path, const std::string& journal_path,
                                                   std::int64_t checkpoint_pages = 0);
  ~sqlite_local_store() override;
  call_outcome task_create(const boost::json::object& p, const call_context& ctx, const std::string& now) override;
  call_outcome task_update(const boost::json::object& p, const call_context& ctx, const std::string& now) override;
  call_outcome event_create(const boost::json::object& p, const call_context& ctx, const std::string& now) override;
  call_outcome note_create(const boost::json::object& p, const call_context& ctx, const std::string& now) override;
  call_outcome doc_update(const boost::json::object& p, const call_context& ctx, const std::string& now) override;
  call_outcome once(const std::string& tool, const call_context& ctx, const std::string& now,
                    const std::function<call_outcome()>& effect) override;
  error_info in_one_transaction(const std::function<void()>& body) override;
  call_outcome healthcheck() override;
  call_outcome journal_summary(const std::string& since) override;
  std::vector<daily_usage> usage_by_day(const std::string& tenant, const std::string& first_bucket,
                                        const std::string& end_bucket) override;

private:
  sqlite_local_store(std::unique_ptr<sqlite_db> db, std::unique_ptr<sqlite_db> journal);
  std::unique_ptr<sqlite_db> db_;
  std::unique_ptr<sqlite_db> journal_;
};

} // namespace opex::connectors
