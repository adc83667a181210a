// Masking by key name and by value shape (Boost.Regex: one combined expression, compiled once).
#include "opex/policies/masking.hpp"

#include <boost/regex.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace opex::policies {

namespace json = boost::json;

namespace {

/// ASCII lower case without the locale lookup of std::tolower (keys and shapes are ASCII).
constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Separators a key name may use anywhere ("api-key", "api_key", "api.key"): not compared.
constexpr bool is_key_separator(char c) noexcept {
  return c == '-' || c == '_' || c == ' ' || c == '.';
}

std::string normalise(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (is_key_separator(c))
      continue;
    out.push_back(ascii_lower(c));
  }
  return out;
}

bool looks_like_credential(std::string_view s) {
  return s.starts_with("Bearer ") || s.starts_with("bearer ") || s.starts_with("Basic ");
}

/// One value shape: what is kept before the secret (may be empty), and the secret. Neither may
/// hold capturing groups: the combined expression numbers them (2k+1, 2k+2).
struct shape {
  const char* keep;
  const char* secret;
};

constexpr std::array<shape, 14> builtin_shapes{{
  {"", R"(-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"},
  {R"(\b[A-Za-z][A-Za-z0-9+.\-]*://)", R"([^\s/:@]+:[^\s/@]+(?=@))"},
  {R"(\b(?i:bearer|basic)\s+)", R"([A-Za-z0-9\-._~+/]{8,}=*)"},
  {R"(\b(?i:password|passwd|pwd|secret|client_secret|api_key|apikey|api-key|access_token|refresh_token|auth_token|token)["']?\s*[=:]\s*["']?)",
   R"([^\s"'&,;}]+)"},
  {"", R"(\bsk-(?:ant-|proj-|live-)?[A-Za-z0-9_\-]{16,})"},
  {"", R"(\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,})"},
  {"", R"(\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b)"},
  {"", R"(\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{20,})"},
  {"", R"(\bglpat-[A-Za-z0-9_\-]{20,})"},
  {"", R"(\bxox[abposr]-[A-Za-z0-9\-]{10,})"},
  {"", R"(\bAIza[0-9A-Za-z_\-]{35})"},
  {"", R"(\bnpm_[A-Za-z0-9]{36})"},
  {"", R"(\bhf_[A-Za-z0-9]{30,})"},
  {"", R"(\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,})"},
}};

bool contains_ignoring_case(std::string_view s, std::string_view word) {
  if (word.size() > s.size())
    return false;
  for (std::size_t i = 0; i + word.size() <= s.size(); ++i) {
    std::size_t k = 0;
    while (k < word.size() && ascii_lower(s[i + k]) == word[k])
      ++k;
    if (k == word.size())
      return true;
  }
  return false;
}

/// A cheap first look: true when `s` holds something a built-in shape starts with, so the
/// regular expression runs only on strings that may hold a secret (most do not: ids,
/// timestamps, tool names, prose).
bool may_hold_secret(std::string_view s) {
  static constexpr std::string_view exact[] = {
    "sk-",  "sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_", "AKIA",   "ASIA",
    "AGPA", "AIDA",     "AROA",     "ghp_",     "gho_",     "ghu_",     "ghs_",     "ghr_",   "github_pat_",
    "glpat-", "xox",    "AIza",     "npm_",     "hf_",      "eyJ",      "-----BEGIN"};
  for (auto t : exact)
    if (s.find(t) != std::string_view::npos)
      return true;
  // user:password@ in a URL: only after "://" and before an '@'.
  if (auto scheme = s.find("://"); scheme != std::string_view::npos && s.find('@', scheme) != std::string_view::npos)
    return true;
  for (auto w : {"bearer", "basic", "pass", "pwd", "secret", "api_key", "apikey", "api-key", "token"})
    if (contains_ignoring_case(s, w))
      return true;
  return false;
}

} // namespace

struct masking_rules::shapes {
  std::optional<boost::regex> builtin;  ///< (keep_0)(secret_0)|(keep_1)(secret_1)|...
  std::vector<boost::regex> extra;      ///< configured patterns: the whole match is masked
};

masking_rules::masking_rules(const std::vector<std::string>& extra, const std::vector<std::string>& patterns,
                             bool value_shapes) {
  patterns_ = {"password", "passwd",      "token",        "secret",       "apikey",
               "authorization", "privatekey", "clientsecret", "accesstoken", "refreshtoken",
               "cookie",   "credential"};
  for (const auto& e : extra) {
    auto n = normalise(e);
    if (!n.empty() && std::find(patterns_.begin(), patterns_.end(), n) == patterns_.end())
      patterns_.push_back(std::move(n));
  }
  auto s = std::make_shared<shapes>();
  if (value_shapes) {
    std::string all;
    for (const auto& sh : builtin_shapes)
      all += std::string(all.empty() ? "" : "|") + "(" + sh.keep + ")(" + sh.secret + ")";
    s->builtin.emplace(all, boost::regex::perl);
  }
  for (const auto& p : patterns) {
    try {
      s->extra.emplace_back(p, boost::regex::ECMAScript);
    } catch (const boost::regex_error& e) {
      throw std::invalid_argument("masking.patterns: '" + p + "' is not a valid regular expression: " + e.what());
    }
  }
  shapes_ = std::move(s);
}

bool masking_rules::is_secret_key(std::string_view key) const {
  // Journal keys are short: normalised on the stack, without an allocation per key.
  char buffer[64];
  std::size_t n = 0;
  for (char c : key) {
    if (is_key_separator(c))
      continue;
    if (n == sizeof(buffer))
      return is_secret_normalised(normalise(key));
    buffer[n++] = ascii_lower(c);
  }
  return is_secret_normalised(std::string_view(buffer, n));
}

bool masking_rules::is_secret_normalised(std::string_view n) const {
  for (const auto& p : patterns_)
    if (n.find(p) != std::string_view::npos)
      return true;
  return false;
}

std::size_t masking_rules::mask_text(std::string& text) const {
  if (text.size() < 8)
    return 0;
  std::size_t count = 0;
  if (shapes_->builtin && may_hold_secret(text)) {
    std::string out;
    auto format = [&](const boost::smatch& m) -> std::string {
      for (std::size_t k = 1; k + 1 < m.size(); k += 2)
        if (m[k + 1].matched) {
          if (m[k + 1].str() == masked_value)
            return m.str();
          ++count;
          return m[k].str() + std::string(masked_value);
        }
      return m.str();
    };
    out = boost::regex_replace(text, *shapes_->builtin, format);
    if (count > 0)
      text = std::move(out);
  }
  for (const auto& re : shapes_->extra) {
    std::size_t found = 0;
    auto out = boost::regex_replace(text, re, [&](const boost::smatch&) {
      ++found;
      return std::string(masked_value);
    });
    if (found > 0) {
      text = std::move(out);
      count += found;
    }
  }
  return count;
}

namespace {

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
      return 1;
    }
    if (s->size() >= 8) {
      std::string text(s->data(), s->size());
      if (auto n = rules.mask_text(text); n > 0) {
        *s = text;
        count += n;
      }
    }
  }
  return count;
}

std::size_t mask_values(json::value& v, const std::vector<std::string>& values) {
  std::size_t count = 0;
  if (auto* obj = v.if_object()) {
    for (auto& kv : *obj)
      count += mask_values(kv.value(), values);
  } else if (auto* arr = v.if_array()) {
    for (auto& item : *arr)
      count += mask_values(item, values);
  } else if (auto* s = v.if_string()) {
    std::string text(s->data(), s->size());
    bool changed = false;
    for (const auto& secret : values) {
      if (secret.size() < 4)
        continue;
      for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + masked_value.size())) {
        text.replace(at, secret.size(), masked_value);
        changed = true;
      }
    }
    if (changed) {
      *s = text;
      ++count;
    }
  }
  return count;
}

} // namespace

std::size_t mask_secrets(json::value& value, const masking_rules& rules) {
  return mask(value, rules);
}

std::string masked(std::string_view text, const masking_rules& rules) {
  std::string out(text);
  rules.mask_text(out);
  return out;
}

std::size_t mask_literals(json::value& value, const std::vector<std::string>& values) {
  if (values.empty())
    return 0;
  return mask_values(value, values);
}

} // namespace opex::policies
