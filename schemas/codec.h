// Canonical binary encoding used for commands, events and state records.
//
// Little-endian fixed-width integers, amounts as zigzag LEB128 varints (most
// amounts are small, and events and balances are mostly amounts), strings
// with a 32-bit length prefix. The encoding is canonical: one value has exactly one
// byte form, which is what the hash chain and state digests hash.
//
// `reader` never reads past its buffer: every getter checks the remaining
// length and latches a failure, so a truncated or corrupted record decodes to
// an error, never to undefined behaviour.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "schemas/money.h"

namespace ledger {

// Longest string any record may carry (owner ids, keys, references...).
inline constexpr std::size_t record_string_bytes_max = 64 * 1024;

class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { fixed(v); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void amount(amount_t v) {
    auto u = static_cast<unsigned __int128>(v);
    unsigned __int128 z = (u << 1) ^ static_cast<unsigned __int128>(v >> 127);
    while (z >= 0x80) {
      out_.push_back(static_cast<char>(static_cast<std::uint8_t>(z) | 0x80));
      z >>= 7;
    }
    out_.push_back(static_cast<char>(static_cast<std::uint8_t>(z)));
  }
  void bytes(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  void raw(std::string_view s) { out_.append(s.data(), s.size()); }

 private:
  template <typename T>
  void fixed(T v) {
    char b[sizeof(T)];
    for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out_.append(b, sizeof(T));
  }
  std::string& out_;
};

class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  std::size_t remaining() const { return in_.size(); }
  // Marks the record invalid (for a value out of its domain).
  void fail() { ok_ = false; }

  std::uint8_t u8() { return fixed<std::uint8_t>(); }
  std::uint16_t u16() { return fixed<std::uint16_t>(); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  // Rejects overlong forms (a final zero byte after the first), so every
  // amount has one encoding and the bytes stay canonical.
  amount_t amount() {
    unsigned __int128 z = 0;
    for (int i = 0; i < 19; ++i) {
      if (!ok_ || in_.empty()) { ok_ = false; return 0; }
      auto b = static_cast<std::uint8_t>(in_[0]);
      in_.remove_prefix(1);
      if (i > 0 && b == 0) { ok_ = false; return 0; }
      // The 19th byte lands at bit 126: only its two low bits fit in 128
      // bits. Higher bits would be dropped silently, giving a second byte
      // form of the same value, so they are refused.
      if (i == 18 && (b & 0x7f) > 0x03) { ok_ = false; return 0; }
      z |= static_cast<unsigned __int128>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        auto v = static_cast<amount_t>(z >> 1);
        return (z & 1) ? -v - 1 : v;
      }
    }
    ok_ = false;
    return 0;
  }
  std::string bytes() { return std::string(bytes_view()); }
  // The same string as bytes(), without a copy: a view into the buffer.
  std::string_view bytes_view() {
    std::uint32_t n = u32();
    if (!ok_ || n > in_.size() || n > record_string_bytes_max) { ok_ = false; return {}; }
    auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  std::string_view raw(std::size_t n) {
    if (!ok_ || n > in_.size()) { ok_ = false; return {}; }
    auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }

 private:
  template <typename T>
  T fixed() {
    if (!ok_ || in_.size() < sizeof(T)) { ok_ = false; return T{}; }
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v = static_cast<T>(v | (static_cast<T>(static_cast<unsigned char>(in_[i])) << (8 * i)));
    in_.remove_prefix(sizeof(T));
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

// Big-endian fixed-width key parts, so RocksDB's bytewise order is numeric order.
inline void put_key_u64(std::string& k, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline std::uint64_t get_key_u64(std::string_view k) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < k.size(); ++i) v = (v << 8) | static_cast<unsigned char>(k[i]);
  return v;
}

}  // namespace ledger
