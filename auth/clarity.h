// SIP-018 structured data for Stacks sign-in: the Clarity value
// serialization (SIP-005) of the few types a sign-in needs, and the hash a
// wallet signs.
//
//   hash = SHA-256("SIP018" || SHA-256(serialize(domain)) || SHA-256(serialize(message)))
//
// The domain is the tuple {name: string-ascii, version: string-ascii,
// chain-id: uint}; the message is the sign-in text as a Clarity string-ascii
// value, or string-utf8 when it holds a byte outside ASCII (string-ascii
// cannot carry it), so the verifier and an auditor derive the type from the
// text alone.
//
// Serialization: a type byte, then uint 16 bytes big-endian; strings a
// 4-byte big-endian length and the bytes; a tuple a 4-byte big-endian count
// and, in name order, a 1-byte name length, the name and the value. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/chains.h"

namespace ledger::auth {

// Type bytes of Clarity values (SIP-005).
inline constexpr unsigned char clarity_uint_type = 0x01;
inline constexpr unsigned char clarity_tuple_type = 0x0c;
inline constexpr unsigned char clarity_string_ascii_type = 0x0d;
inline constexpr unsigned char clarity_string_utf8_type = 0x0e;
// Tuple field names are at most 128 bytes (Clarity's limit).
inline constexpr std::size_t clarity_name_bytes_max = 128;

std::string clarity_uint(std::uint64_t v);
std::string clarity_string_ascii(std::string_view s);
std::string clarity_string_utf8(std::string_view s);
// `fields`: name and serialized value; names unique, each 1 to 128 bytes
// (asserted: callers pass fixed names). Serialized in name order.
std::string clarity_tuple(std::vector<std::pair<std::string, std::string>> fields);

struct sip018_domain {
  std::string name;
  std::string version;
  std::uint64_t chain_id = 0;
  bool operator==(const sip018_domain&) const = default;
};

std::string serialize_domain(const sip018_domain& d);
// string-ascii if every byte is below 0x80, else string-utf8.
std::string serialize_message(std::string_view message);
bytes32 sip018_hash(const sip018_domain& d, std::string_view message);

}  // namespace ledger::auth
