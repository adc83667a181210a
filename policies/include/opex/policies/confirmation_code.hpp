// Confirmation codes issued by opex (docs/decisions.md, decision 7): HMAC-SHA256 over the approval's
// identity with a server secret; single-use because an approval is decided once; compared in
// constant time.
#pragma once

#include <string>
#include <string_view>

namespace opex::policies {

/// The code of an approval: "OPX-" + 12 base32 characters of
/// HMAC-SHA256(secret, approval_id | request_id | tool | payload_digest | expires_at).
std::string confirmation_code(std::string_view secret, std::string_view approval_id, std::string_view request_id,
                              std::string_view tool, std::string_view payload_digest, std::string_view expires_at);

/// Constant-time equality (CRYPTO_memcmp over equal lengths; different lengths are unequal
/// without an early return on content).
bool codes_equal(std::string_view a, std::string_view b) noexcept;

/// SHA-256 (lower-case hex) of a text, e.g. a canonical payload.
std::string sha256_hex(std::string_view text);

} // namespace opex::policies
