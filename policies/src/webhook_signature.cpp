// Webhook signatures (opex/policies/webhook_signature.hpp; docs/operations.md, "Signed webhooks").
#include "opex/policies/webhook_signature.hpp"

#include "opex/policies/confirmation_code.hpp"

#include <boost/json/object.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace opex::policies {

namespace json = boost::json;

std::string webhook_signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[mac[i] >> 4]);
    out.push_back(hex[mac[i] & 0xf]);
  }
  return out;
}

namespace {

error_info invalid(std::string header, std::string reason) {
  auto message = header + ": " + reason;
  return make_error(error_code::signature_invalid, std::move(message),
                    json::object{{"header", std::move(header)}, {"reason", std::move(reason)}});
}

} // namespace

error_info signature_verifier::verify(std::string_view secret, std::string_view timestamp, std::string_view signature,
                                      std::string_view body, std::int64_t now_unix, int tolerance_s) {
  if (timestamp.empty())
    return invalid("X-Opex-Timestamp", "missing");
  if (signature.empty())
    return invalid("X-Opex-Signature", "missing");
  std::int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc{} || end != timestamp.data() + timestamp.size())
    return invalid("X-Opex-Timestamp", "not Unix seconds");
  if (!signature.starts_with("sha256=") || signature.size() != 7 + 64)
    return invalid("X-Opex-Signature", "expected sha256=<64 hex digits>");
  // The HMAC first: an unsigned timestamp says nothing, so a forged request learns only "invalid".
  if (!codes_equal(webhook_signature(secret, timestamp, body), signature))
    return invalid("X-Opex-Signature", "does not match the body and timestamp");
  if (ts < now_unix - tolerance_s || ts > now_unix + tolerance_s)
    return make_error(error_code::signature_expired, "X-Opex-Timestamp is outside the tolerance",
                      json::object{{"timestamp", ts}, {"now", now_unix}, {"tolerance_s", tolerance_s}});
  std::lock_guard lock(m_);
  forget_before(now_unix - tolerance_s);
  std::string key(signature);
  if (!seen_.insert(key).second)
    return make_error(error_code::replayed, "this signed request was already received",
                      json::object{{"timestamp", ts}});
  order_.emplace_back(ts, std::move(key));
  while (order_.size() > max_) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  return {};
}

void signature_verifier::forget_before(std::int64_t oldest) {
  // Timestamps arrive nearly in order; the deque is trimmed from the front while old.
  while (!order_.empty() && order_.front().first < oldest) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
}

} // namespace opex::policies
