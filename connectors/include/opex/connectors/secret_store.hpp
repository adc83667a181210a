// Secrets by tenant scope (`tenant/<slug>/<name>`): from the environment or from files, never
// from configuration files, never journaled. A tenant resolves only its own scope.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace opex::connectors {

/// Resolves secret NAME for tenant SLUG: the environment variable
/// `OPEX_SECRET_<SLUG>_<NAME>` (upper case, other characters as `_`), else the file
/// `<dir>/tenant/<slug>/<name>` (first line). Names and slugs are [A-Za-z0-9_-]+: no path
/// can leave the tenant's folder. Files are read once and cached. Thread-safe.
class secret_store {
public:
  explicit secret_store(std::string dir = {});

  /// The secret, or nullopt when the tenant has none by that name.
  std::optional<std::string> get(std::string_view tenant, std::string_view name) const;

private:
  std::string dir_;
  mutable std::mutex m_;
  mutable std::map<std::string, std::optional<std::string>, std::less<>> cache_;
};

} // namespace opex::connectors
