// Identifiers: UUID v7 request ids (KimmyPayload.request_id, journal request_id), UUID v4.
#pragma once

#include <string>
#include <string_view>

namespace opex {

/// A random UUID v4 in lower-case canonical form (8-4-4-4-12), from OpenSSL's CSPRNG.
/// Thread-safe.
std::string make_uuid_v4();

/// A UUID v7 (RFC 9562 section 5.7): the Unix time in ms in the first 48 bits, then 74 random
/// bits from OpenSSL's CSPRNG; lower-case canonical form. Ids made later sort later, so the
/// indexes keyed by request id grow at their end instead of at random pages
/// (docs/performance.md, "Time-ordered ids"). Thread-safe.
std::string make_uuid_v7();

/// `prefix` + "_" + 12 hex digits of the Unix time in ms + 8 random hex digits (task_, doc_,
/// event_ ids of the local store): unique, and sorted by creation time. Thread-safe.
std::string make_time_ordered_id(std::string_view prefix);

/// True when `text` is a canonical UUID (any version, either case), as required by the
/// `request_id` fields of the contracts.
bool is_uuid(std::string_view text) noexcept;

} // namespace opex
