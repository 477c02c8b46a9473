// Sign-in messages: the EIP-4361 (Sign-In with Ethereum) text grammar, which
// Sign-In With Solana and the Stacks sign-in messages share (CAIP-122): only
// the account label of the first line differs.
//
//   ${domain} wants you to sign in with your ${Label} account:
//   ${address}
//
//   ${statement}
//
//   URI: ${uri}
//   Version: 1
//   Chain ID: ${chain id}
//   Nonce: ${nonce}
//   Issued At: ${RFC 3339}
//   Expiration Time: ${RFC 3339}      (optional)
//   Not Before: ${RFC 3339}           (optional)
//   Request ID: ${request id}         (optional)
//   Resources:                        (optional)
//   - ${uri}
//
// The parser is strict: lines in this order, LF only, no trailing newline,
// no unknown or repeated field, an optional "scheme://" before the domain,
// and the domain in ASCII only (host name characters and an optional port),
// so look-alike letters from other scripts never pass as a known domain.
// The statement may be absent: EIP-4361 then keeps both empty lines; Sign-In
// With Solana keeps one (both are accepted for Solana and Stacks).
//
// Limits: the whole message 4,096 bytes, 16 resources.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ledger::auth {

inline constexpr std::size_t message_bytes_max = 4096;
inline constexpr std::size_t resources_max = 16;

struct sign_in_message {
  std::string scheme;  // empty unless the message gave one
  std::string domain;
  std::string label;  // "Ethereum", "Solana", "Stacks"
  std::string address;
  std::string statement;  // empty: none
  std::string uri;
  std::string version;
  std::string chain_id;
  std::string nonce;
  std::int64_t issued_at_us = 0;
  std::int64_t expiration_us = 0;  // 0: none
  std::int64_t not_before_us = 0;  // 0: none
  std::string request_id;
  std::vector<std::string> resources;
};

// Why a sign-in was refused: a stable code, the field to blame, and a
// sentence for people.
struct refusal {
  std::string code;
  std::string field;
  std::string detail;
};

std::variant<sign_in_message, refusal> parse_sign_in_message(std::string_view text);

// The message text (times with milliseconds, "2026-11-30T17:05:29.123Z").
// parse_sign_in_message(format_sign_in_message(m)) gives m back.
std::string format_sign_in_message(const sign_in_message& m);

// "2026-11-30T17:05:29.123Z": the time truncated to milliseconds, as
// JavaScript's Date.toISOString() writes it.
std::string format_time_ms(std::int64_t us);

// Whether `d` is an ASCII host name (letters, digits, '-' and '.'), with an
// optional ":port".
bool ascii_domain(std::string_view d);

}  // namespace ledger::auth
