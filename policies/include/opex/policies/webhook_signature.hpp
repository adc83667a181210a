// Signed webhooks (docs/operations.md, "Signed webhooks"): a request carries
// `X-Opex-Timestamp: <Unix seconds>` and `X-Opex-Signature: sha256=<hex>`, the HMAC-SHA256 of
// "<timestamp>.<raw body>" under the signing secret. Pure logic: the time is given.
#pragma once

#include "opex/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace opex::policies {

/// "sha256=" + the lower-case hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`: what a
/// client sends as X-Opex-Signature.
std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

/// Checks signatures and remembers the valid ones for the tolerance window, so a byte-identical
/// replay is refused. Thread-safe; at most `max_remembered` signatures are kept (the oldest go
/// first, and they are outside the window by then at any realistic rate).
class signature_verifier {
public:
  explicit signature_verifier(std::size_t max_remembered = 200000) : max_(max_remembered) {}

  /// `timestamp` and `signature` are the headers' values ("" when absent); `now_unix` is Unix
  /// seconds. Errors (the standard error JSON's codes):
  /// - SIGNATURE_INVALID: a header missing, malformed, or the HMAC does not match (compared in
  ///   constant time); details {header, reason};
  /// - SIGNATURE_EXPIRED: the timestamp is more than `tolerance_s` from now, either way;
  ///   details {timestamp, now, tolerance_s};
  /// - REPLAYED: the same signature was accepted within the tolerance; details {timestamp}.
  /// A valid signature returns an empty error_info and is remembered.
  error_info verify(std::string_view secret, std::string_view timestamp, std::string_view signature,
                    std::string_view body, std::int64_t now_unix, int tolerance_s);

private:
  void forget_before(std::int64_t oldest);

  std::size_t max_;
  std::mutex m_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<std::int64_t, std::string>> order_;  ///< (timestamp, signature), oldest first
};

} // namespace opex::policies
