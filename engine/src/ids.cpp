// UUID v4 and v7 generation from OpenSSL's CSPRNG, time-ordered item ids, UUID syntax checks.
#include "opex/ids.hpp"

#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace opex {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

template <std::size_t N>
std::array<unsigned char, N> random_bytes() {
  std::array<unsigned char, N> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return bytes;
}

std::uint64_t unix_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

void put_hex(std::string& out, unsigned char b) {
  out.push_back(hex_digits[b >> 4]);
  out.push_back(hex_digits[b & 0x0F]);
}

std::string canonical(const std::array<unsigned char, 16>& bytes) {
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    put_hex(out, bytes[i]);
  }
  return out;
}

} // namespace

std::string make_uuid_v4() {
  auto bytes = random_bytes<16>();
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return canonical(bytes);
}

std::string make_uuid_v7() {
  auto bytes = random_bytes<16>();
  const std::uint64_t ms = unix_ms();
  for (int i = 0; i < 6; ++i)  // unix_ts_ms, big-endian
    bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x70);  // version 7
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return canonical(bytes);
}

std::string make_time_ordered_id(std::string_view prefix) {
  const std::uint64_t ms = unix_ms();
  std::string out(prefix);
  out.reserve(prefix.size() + 21);
  out.push_back('_');
  for (int i = 5; i >= 0; --i)
    put_hex(out, static_cast<unsigned char>(ms >> (8 * i)));
  for (auto b : random_bytes<4>())
    put_hex(out, b);
  return out;
}

bool is_uuid(std::string_view text) noexcept {
  if (text.size() != 36)
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

} // namespace opex
