// Bytes as lower-case hexadecimal, two digits per byte: blob ids, token
// hashes, SigV4's canonical forms. One definition for every caller.
#pragma once

#include <cstddef>
#include <string>

namespace ledger {

inline std::string hex_lower(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

}  // namespace ledger
