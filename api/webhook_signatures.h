// Payment providers' webhook signatures, verified with OpenSSL's HMAC.
//
// Stripe: the Stripe-Signature header "t=<unix s>,v1=<hex>[,v1=<hex>...]"
// (other schemes, such as v0, are ignored), HMAC-SHA256 keyed by the
// endpoint secret over "<t>.<raw body>". Any v1 matching any of the
// account's secrets is accepted, so a secret rotates with two active. A
// timestamp further than `tolerance_s` from now, either way, is refused.
//
// Square: the x-square-hmacsha256-signature header, base64 of HMAC-SHA256
// keyed by the subscription's signature key over the notification URL as
// configured followed by the raw body. Square signs no timestamp: replay
// protection is the deduplication by event id (the idempotency key).
//
// Comparisons are constant-time (CRYPTO_memcmp). Each function returns
// nullopt when the signature is good, else why not (for the log and the
// 400 answer; it never includes a secret).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::api {

std::optional<std::string> verify_stripe_signature(std::string_view header, std::string_view body,
                                                   const std::vector<std::string>& secrets, std::int64_t now_s,
                                                   std::int64_t tolerance_s);

std::optional<std::string> verify_square_signature(std::string_view header, std::string_view notification_url,
                                                   std::string_view body, const std::vector<std::string>& secrets);

// HMAC-SHA256 of `data` under `key` (32 bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);

}  // namespace ledger::api
