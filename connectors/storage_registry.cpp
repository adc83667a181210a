// The storage backends opex ships, one line each (opex/connectors/storage.hpp). A backend is a
// folder of its own with an open function declared here.
#include "opex/connectors/local_store.hpp"
#include "opex/connectors/storage.hpp"

#include <array>

namespace opex::connectors {

result<std::unique_ptr<storage_backend>> open_sqlite_storage(const opex_config::storage_settings& settings,
                                                             const std::string& database);
result<std::unique_ptr<local_store>> open_sqlite_local_store(const std::string& items_path,
                                                             const std::string& journal_path,
                                                             std::int64_t checkpoint_pages);
result<std::unique_ptr<journal_reports>> open_sqlite_reports(const std::string& database);

std::span<const storage_factory> storage_factories() noexcept {
  static constexpr std::array<storage_factory, 1> all{{
    {"sqlite", open_sqlite_storage, open_sqlite_local_store, open_sqlite_reports},
  }};
  return all;
}

error_info check_storage_backend(std::string_view backend) {
  std::string known;
  for (const auto& f : storage_factories()) {
    if (f.name == backend)
      return {};
    known += (known.empty() ? "" : ", ") + std::string(f.name);
  }
  return make_error(error_code::config_error, "unknown storage backend '" + std::string(backend) + "' (known: " + known + ")",
                    boost::json::object{{"key", "storage.backend"}, {"backend", backend}, {"known", known}});
}

result<std::unique_ptr<storage_backend>> open_storage(const opex_config::storage_settings& settings,
                                                      const std::string& database) {
  for (const auto& f : storage_factories())
    if (f.name == settings.backend)
      return f.open(settings, database);
  return check_storage_backend(settings.backend);
}

result<std::unique_ptr<journal_reports>> open_reports(const opex_config::storage_settings& settings,
                                                      const std::string& database) {
  for (const auto& f : storage_factories())
    if (f.name == settings.backend)
      return f.open_reports(database);
  return check_storage_backend(settings.backend);
}

result<std::unique_ptr<local_store>> open_local_store(const opex_config::storage_settings& settings,
                                                      const std::string& items_path, const std::string& journal_path,
                                                      std::int64_t checkpoint_pages) {
  for (const auto& f : storage_factories())
    if (f.name == settings.backend)
      return f.open_local_store(items_path, journal_path, checkpoint_pages);
  return check_storage_backend(settings.backend);
}

} // namespace opex::connectors
