// Tenant-scoped secrets from the environment or files.
#include "opex/connectors/secret_store.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>

namespace opex::connectors {

namespace {

bool safe(std::string_view s) {
  if (s.empty() || s.size() > 128)
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return false;
  return true;
}

std::string env_name(std::string_view tenant, std::string_view name) {
  std::string out = "OPEX_SECRET_";
  for (auto part : {tenant, std::string_view("_"), name})
    for (char c : part)
      out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_');
  return out;
}

} // namespace

secret_store::secret_store(std::string dir) : dir_(std::move(dir)) {}

std::optional<std::string> secret_store::get(std::string_view tenant, std::string_view name) const {
  if (!safe(tenant) || !safe(name))
    return std::nullopt;
  if (const char* v = std::getenv(env_name(tenant, name).c_str()); v && *v)
    return std::string(v);
  if (dir_.empty())
    return std::nullopt;
  std::string key = std::string(tenant) + "/" + std::string(name);
  std::lock_guard lock(m_);
  if (auto it = cache_.find(key); it != cache_.end())
    return it->second;
  std::optional<std::string> value;
  std::ifstream in(dir_ + "/tenant/" + key);
  std::string line;
  if (in && std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    value = line;
  }
  cache_.emplace(key, value);
  return value;
}

} // namespace opex::connectors
