// Recursive masking of secret-looking keys.
#include "opex/policies/masking.hpp"

#include <algorithm>
#include <cctype>

namespace opex::policies {

namespace json = boost::json;

namespace {

std::string normalise(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '-' || c == '_' || c == ' ' || c == '.')
      continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

bool looks_like_credential(std::string_view s) {
  return s.starts_with("Bearer ") || s.starts_with("bearer ") || s.starts_with("Basic ");
}

std::size_t mask(json::value& v, const masking_rules& rules) {
  std::size_t count = 0;
  if (auto* obj = v.if_object()) {
    for (auto& kv : *obj) {
      auto& child = kv.value();
      if (rules.is_secret_key(kv.key()) && (child.is_string() || child.is_object() || child.is_array())) {
        if (!(child.is_string() && child.get_string() == masked_value)) {
          child = masked_value;
          ++count;
        }
      } else {
        count += mask(child, rules);
      }
    }
  } else if (auto* arr = v.if_array()) {
    for (auto& item : *arr)
      count += mask(item, rules);
  } else if (auto* s = v.if_string()) {
    if (looks_like_credential(*s)) {
      *s = masked_value;
      ++count;
    }
  }
  return count;
}

} // namespace

masking_rules::masking_rules(const std::vector<std::string>& extra) {
  patterns_ = {"password", "passwd",      "token",        "secret",       "apikey",
               "authorization", "privatekey", "clientsecret", "accesstoken", "refreshtoken",
               "cookie",   "credential"};
  for (const auto& e : extra) {
    auto n = normalise(e);
    if (!n.empty() && std::find(patterns_.begin(), patterns_.end(), n) == patterns_.end())
      patterns_.push_back(std::move(n));
  }
}

bool masking_rules::is_secret_key(std::string_view key) const {
  auto n = normalise(key);
  for (const auto& p : patterns_)
    if (n.find(p) != std::string::npos)
      return true;
  return false;
}

std::size_t mask_secrets(json::value& value, const masking_rules& rules) {
  return mask(value, rules);
}

} // namespace opex::policies
