// The SQLite storage backend: the journal (sqlite_journal), the plan state and approval book
// (plan_store) on one connection, batches as one transaction, WAL checkpoints in the background
// when storage.checkpoint asks for it (docs/durability.md, docs/performance.md).
#include "sqlite_local_store.hpp"

#include "opex/connectors/plan_store.hpp"
#include "opex/connectors/sqlite_db.hpp"
#include "opex/connectors/sqlite_journal.hpp"
#include "opex/connectors/storage.hpp"
#include "opex/connectors/alert_states.hpp"
#include "opex/connectors/workflow_runs.hpp"
#include "opex/connectors/request_history.hpp"
#include "request_listing.hpp"

#include <filesystem>

namespace opex::connectors {

namespace {

class sqlite_storage final : public storage_backend {
public:
  sqlite_storage(std::shared_ptr<sqlite_db> db, std::unique_ptr<sqlite_journal> journal,
                 std::unique_ptr<plan_store> plans)
      : db_(std::move(db)), journal_(std::move(journal)), plans_(std::move(plans)) {}

  journal_sink& journal() override { return *journal_; }
  plan_state_store& plans() override { return *plans_; }
  approval_book& approvals() override { return *plans_; }

  void in_batch(const std::function<void()>& writes) override {
    sqlite_transaction tx(*db_);
    writes();
    tx.commit();
  }

private:
  std::shared_ptr<sqlite_db> db_;
  std::unique_ptr<sqlite_journal> journal_;
  std::unique_ptr<plan_store> plans_;
};

/// The reports' own connection (opex/connectors/storage.hpp, journal_reports).
class sqlite_reports final : public journal_reports {
public:
  explicit sqlite_reports(std::unique_ptr<sqlite_db> db) : db_(std::move(db)) {}

  result<boost::json::object> workflow_metrics(const workflow_metrics_query& q) override {
    return guarded("workflow metrics", [&] { return workflow_runs::metrics(*db_, q); });
  }

  result<boost::json::object> list_requests(const request_filter& f) override {
    return guarded("request listing", [&] { return request_listing(*db_, f); });
  }

  result<boost::json::object> improvement_evidence(const workflow_metrics_query& q) override {
    return guarded("improvement evidence", [&] { return workflow_runs::evidence(*db_, q); });
  }

  result<boost::json::object> alerts() override {
    return guarded("alert listing", [&] { return alert_states::list(*db_); });
  }

  result<boost::json::object> tenant_items(const std::string& tenant, int limit) override {
    return guarded("item listing", [&] { return list_items(tenant, limit); });
  }

  result<boost::json::object> history(const history_query& q) override {
    return guarded("history lookup", [&] { return request_history::lookup(*db_, q); });
  }

private:
  /// `report()`'s answer, or INTERNAL_ERROR "<what> failed" {path, reason} when SQLite throws.
  template <class Report>
  result<boost::json::object> guarded(const char* what, Report report) {
    try {
      return report();
    } catch (const std::exception& e) {
      return make_error(error_code::internal_error, std::string(what) + " failed",
                        boost::json::object{{"path", db_->path()}, {"reason", e.what()}});
    }
  }

  /// One table's newest rows of `tenant` as {id, title, ...columns}.
  static boost::json::array rows(sqlite_db& items, const std::string& sql, const std::string& tenant, int limit,
                                 const std::vector<const char*>& names) {
    boost::json::array out;
    sqlite_statement st(items.handle(), sql);
    st.bind(1, tenant);
    st.bind(2, static_cast<std::int64_t>(limit));
    while (st.step()) {
      boost::json::object row;
      for (std::size_t i = 0; i < names.size(); ++i)
        row[names[i]] = st.column_is_null(static_cast<int>(i)) ? boost::json::value(nullptr)
                                                                : boost::json::value(st.column_text(static_cast<int>(i)));
      out.push_back(std::move(row));
    }
    return out;
  }

  boost::json::object list_items(const std::string& tenant, int limit) {
    boost::json::object out{{"tasks", boost::json::array{}}, {"notes", boost::json::array{}}, {"events", boost::json::array{}}};
    const auto path = items_database(db_->path());
    if (path == ":memory:" || !std::filesystem::exists(path))
      return out;
    if (!items_) {
      auto opened = sqlite_db::open(path);
      if (!opened)
        throw std::runtime_error(opened.error().message);
      items_ = std::move(opened).value();
    }
    auto& db = *items_;
    try {
      out["tasks"] = rows(db, "SELECT id, title, status, due_date, created_at FROM tasks WHERE tenant = ?1"
                              " ORDER BY created_at DESC, rowid DESC LIMIT ?2", tenant, limit,
                          {"id", "title", "status", "due_date", "created_at"});
      out["notes"] = rows(db, "SELECT id, title, created_at FROM notes WHERE tenant = ?1"
                              " ORDER BY created_at DESC, rowid DESC LIMIT ?2", tenant, limit, {"id", "title", "created_at"});
      out["events"] = rows(db, "SELECT id, summary, start, created_at FROM events WHERE tenant = ?1"
                               " ORDER BY created_at DESC, rowid DESC LIMIT ?2", tenant, limit,
                           {"id", "title", "start", "created_at"});
    } catch (const std::exception& e) {
      if (std::string(e.what()).find("no such") == std::string::npos)
        throw;  // a store not made yet has no tables: nothing to refer to
    }
    return out;
  }

  std::unique_ptr<sqlite_db> db_;
  std::unique_ptr<sqlite_db> items_;  ///< the local store's file, opened on first use
};

} // namespace

result<std::unique_ptr<journal_reports>> open_sqlite_reports(const std::string& database) {
  auto db = sqlite_db::open(database);
  if (!db)
    return db.error();
  return std::unique_ptr<journal_reports>(std::make_unique<sqlite_reports>(std::move(db).value()));
}

result<std::unique_ptr<storage_backend>> open_sqlite_storage(const opex_config::storage_settings& settings,
                                                             const std::string& database) {
  auto db = sqlite_db::open(database);
  if (!db)
    return db.error();
  std::shared_ptr<sqlite_db> connection(std::move(db).value());
  if (auto pages = settings.background_checkpoint_pages(); pages > 0) {
    try {
      connection->checkpoint_in_background(pages);
    } catch (const std::exception& e) {
      return make_error(error_code::internal_error, "cannot start the checkpoint thread",
                        boost::json::object{{"path", database}, {"reason", e.what()}});
    }
  }
  auto journal = sqlite_journal::open_on(connection);
  if (!journal)
    return journal.error();
  auto plans = plan_store::open_on(connection);
  if (!plans)
    return plans.error();
  return std::unique_ptr<storage_backend>(
    std::make_unique<sqlite_storage>(connection, std::move(journal).value(), std::move(plans).value()));
}

result<std::unique_ptr<local_store>> open_sqlite_local_store(const std::string& items_path,
                                                             const std::string& journal_path,
                                                             std::int64_t checkpoint_pages) {
  return sqlite_local_store::open(items_path, journal_path, checkpoint_pages);
}

} // namespace opex::connectors
