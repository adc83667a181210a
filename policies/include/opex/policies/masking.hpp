// Masking of secrets in anything written to the journal, errors and logs (DIGEST.md §3
// "Masking"; DESIGN.md §6).
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace opex::policies {

/// The text that replaces a masked value.
inline constexpr std::string_view masked_value = "***";

/// Which keys are secret. A key matches when its lower-cased form, with '-', '_' and spaces
/// removed, contains one of the normalised patterns (so "X-API-Key", "api_key" and "apiKey"
/// all match "apikey"). Defaults: password, passwd, token, secret, apikey, authorization,
/// privatekey, clientsecret, accesstoken, refreshtoken, cookie, credential.
class masking_rules {
public:
  /// The default patterns plus `extra` (configured in opex.yml `masking.keys`).
  explicit masking_rules(const std::vector<std::string>& extra = {});

  /// True when `key` names a secret.
  bool is_secret_key(std::string_view key) const;

private:
  std::vector<std::string> patterns_;
};

/// Masks `value` in place, recursively: string, object and array values under a secret key
/// become "***" (numbers and booleans, e.g. tokens_used, are kept); strings that start with
/// "Bearer " or "Basic " are masked wherever they are. Returns the number of values masked.
std::size_t mask_secrets(boost::json::value& value, const masking_rules& rules);

} // namespace opex::policies
