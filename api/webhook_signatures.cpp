#include "api/webhook_signatures.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace ledger::api {

namespace {

constexpr std::size_t stripe_header_bytes_max = 4096;
constexpr std::size_t signatures_max = 8;

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct stripe_header {
  std::optional<std::int64_t> t;
  std::vector<std::string_view> v1;
};

std::optional<std::string> parse_stripe_header(std::string_view header, stripe_header& out) {
  if (header.empty()) return "the Stripe-Signature header is missing";
  if (header.size() > stripe_header_bytes_max) return "the Stripe-Signature header is longer than its limit";
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return "Stripe-Signature: an item without '='";
    auto key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "t") {
      std::int64_t t = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc() || p != value.data() + value.size() || t <= 0 || out.t)
        return "Stripe-Signature: t must be one positive integer (Unix seconds)";
      out.t = t;
    } else if (key == "v1") {
      if (out.v1.size() == signatures_max) return "Stripe-Signature: too many v1 signatures";
      out.v1.push_back(value);
    }
  }
  if (!out.t) return "Stripe-Signature: no timestamp (t=)";
  if (out.v1.empty()) return "Stripe-Signature: no v1 signature";
  return std::nullopt;
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::optional<std::string> verify_stripe_signature(std::string_view header, std::string_view body,
                                                   const std::vector<std::string>& secrets, std::int64_t now_s,
                                                   std::int64_t tolerance_s) {
  stripe_header h;
  if (auto e = parse_stripe_header(header, h)) return e;
  std::int64_t age = now_s - *h.t;
  if (age > tolerance_s) return "Stripe-Signature: the timestamp is older than the tolerance";
  if (-age > tolerance_s) return "Stripe-Signature: the timestamp is in the future beyond the tolerance";
  std::string signed_payload = std::to_string(*h.t) + "." + std::string(body);
  bool match = false;
  for (const auto& secret : secrets) {
    auto expected = to_hex(hmac_sha256(secret, signed_payload));
    // Every pair is compared, so the time taken does not say which matched.
    for (auto v : h.v1) match |= equal_constant_time(expected, v);
  }
  if (!match) return "Stripe-Signature: no v1 signature matches this account's secrets";
  return std::nullopt;
}

std::optional<std::string> verify_square_signature(std::string_view header, std::string_view notification_url,
                                                   std::string_view body, const std::vector<std::string>& secrets) {
  header = trim(header);
  if (header.empty()) return "the x-square-hmacsha256-signature header is missing";
  if (header.size() > 128) return "x-square-hmacsha256-signature is longer than a signature";
  std::string payload = std::string(notification_url) + std::string(body);
  bool match = false;
  for (const auto& secret : secrets) match |= equal_constant_time(base64(hmac_sha256(secret, payload)), header);
  if (!match) return "x-square-hmacsha256-signature does not match this account's signature keys";
  return std::nullopt;
}

}  // namespace ledger::api
