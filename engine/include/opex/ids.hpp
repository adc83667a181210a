// Identifiers: UUID v4 request ids (KimmyPayload.request_id, journal request_id).
#pragma once

#include <string>
#include <string_view>

namespace opex {

/// A random UUID v4 in lower-case canonical form (8-4-4-4-12), from OpenSSL's CSPRNG.
/// Thread-safe.
std::string make_uuid_v4();

/// True when `text` is a canonical UUID (any version, either case), as required by the
/// `request_id` fields of the contracts.
bool is_uuid(std::string_view text) noexcept;

} // namespace opex
