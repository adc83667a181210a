// HMAC-SHA256 confirmation codes and constant-time comparison.
#include "opex/policies/confirmation_code.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace opex::policies {

std::string confirmation_code(std::string_view secret, std::string_view approval_id, std::string_view request_id,
                              std::string_view tool, std::string_view payload_digest, std::string_view expires_at) {
  std::string message;
  for (auto part : {approval_id, request_id, tool, payload_digest, expires_at}) {
    message.append(part);
    message.push_back('|');
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";  // no 0/O, 1/I
  std::string code = "OPX-";
  unsigned bits = 0, value = 0;
  for (unsigned i = 0; i < len && code.size() < 16; ++i) {
    value = (value << 8) | mac[i];
    bits += 8;
    while (bits >= 5 && code.size() < 16) {
      code.push_back(alphabet[(value >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return code;
}

bool codes_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto b : digest) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

} // namespace opex::policies
