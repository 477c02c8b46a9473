// Bytes as lower-case hexadecimal, two digits per byte: blob ids, token
// hashes, SigV4's canonical forms. One definition for every caller.
#pragma once

#include <cstddef>
#include <string>

namespace ledger {

// Appends the 2n digits of p[0..n) to `out`.
inline void append_hex_lower(std::string& out, const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::size_t at = out.size();
  out.resize(at + n * 2);
  char* d = out.data() + at;
  for (std::size_t i = 0; i < n; ++i) {
    d[2 * i] = digits[p[i] >> 4];
    d[2 * i + 1] = digits[p[i] & 15];
  }
}

inline std::string hex_lower(const unsigned char* p, std::size_t n) {
  std::string s;
  append_hex_lower(s, p, n);
  return s;
}

}  // namespace ledger
