// Masking of secrets in anything opex stores or answers: the journal, request and step rows,
// API answers, errors and logs (docs/guarded-execution.md; docs/guarded-execution.md, "Masking"). Secrets are
// found by key name and by value shape.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace opex::policies {

/// The text that replaces a masked value.
inline constexpr std::string_view masked_value = "***";

/// Which keys are secret and which value shapes are. Immutable once built; thread-safe.
///
/// Keys: a key matches when its lower-cased form, with '-', '_', '.' and spaces removed,
/// contains one of the normalised patterns (so "X-API-Key", "api_key" and "apiKey" all match
/// "apikey"). Defaults: password, passwd, token, secret, apikey, authorization, privatekey,
/// clientsecret, accesstoken, refreshtoken, cookie, credential; opex.yml `masking.keys` adds.
///
/// Value shapes (`masking.value_shapes`, default true), masked wherever they appear in a string:
/// API keys `sk-…` / `sk-ant-…` / `sk_live_…`, AWS access key ids `AKIA…`, GitHub
/// (`ghp_…`, `github_pat_…`), GitLab `glpat-…`, Slack `xox?-…`, Google `AIza…`, npm `npm_…`,
/// Hugging Face `hf_…` tokens, JWTs (`eyJ….….…`), `Bearer …` / `Basic …` credentials,
/// `password=…` / `token: …` / `api_key=…` in text, credentials in URLs
/// (`https://user:pass@host` -> `https://***@host`) and PEM private key blocks. opex.yml
/// `masking.patterns` adds regular expressions (ECMAScript syntax) whose whole match is masked.
class masking_rules {
public:
  /// The defaults plus `extra_keys`, `patterns`; `value_shapes` false keeps only key names.
  /// Throws std::invalid_argument naming a pattern that is not a valid regular expression.
  explicit masking_rules(const std::vector<std::string>& extra_keys = {}, const std::vector<std::string>& patterns = {},
                         bool value_shapes = true);

  /// True when `key` names a secret.
  bool is_secret_key(std::string_view key) const;

  /// Masks the secret-shaped parts of `text` in place; returns how many were masked.
  std::size_t mask_text(std::string& text) const;

  struct shapes;

private:
  bool is_secret_normalised(std::string_view normalised_key) const;
  std::vector<std::string> patterns_;
  std::shared_ptr<const shapes> shapes_;
};

/// Masks `value` in place, recursively: string, object and array values under a secret key
/// become "***" (numbers and booleans, e.g. tokens_used, are kept); strings that start with
/// "Bearer " or "Basic " become "***"; secret-shaped parts of other strings become "***".
/// Returns the number of values masked.
std::size_t mask_secrets(boost::json::value& value, const masking_rules& rules);

/// The masked copy of a text (logs, error messages).
std::string masked(std::string_view text, const masking_rules& rules);

/// Replaces every occurrence of each of `values` (secrets a request resolved, e.g. from
/// `{{ secrets.NAME }}`) in the strings of `value` by "***"; values shorter than 4 characters
/// are ignored. Returns the number of strings changed.
std::size_t mask_literals(boost::json::value& value, const std::vector<std::string>& values);

} // namespace opex::policies
