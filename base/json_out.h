// A small JSON writer: objects, arrays, escaped strings, written into one
// string with no intermediate tree. Used for HTTP responses (api/) and for
// query results (projections/). Part of base/: depends on nothing but the
// standard library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace ledger {

class json_out {
 public:
  json_out& begin_object() { sep(); out_ += '{'; first_ = true; return *this; }
  json_out& end_object() { out_ += '}'; first_ = false; return *this; }
  json_out& begin_array() { sep(); out_ += '['; first_ = true; return *this; }
  json_out& end_array() { out_ += ']'; first_ = false; return *this; }
  json_out& key(std::string_view k) {
    sep();
    quoted(k);
    out_ += ':';
    first_ = true;  // the value follows without a comma
    return *this;
  }
  json_out& str(std::string_view v) { sep(); quoted(v); return *this; }
  json_out& num(std::uint64_t v) { sep(); out_ += std::to_string(v); return *this; }
  json_out& num(std::int64_t v) { sep(); out_ += std::to_string(v); return *this; }
  json_out& num(int v) { return num(static_cast<std::int64_t>(v)); }
  json_out& boolean(bool v) { sep(); out_ += v ? "true" : "false"; return *this; }
  json_out& null() { sep(); out_ += "null"; return *this; }
  // Inserts already-valid JSON (e.g. stored metadata).
  json_out& raw(std::string_view json) { sep(); out_ += json; return *this; }

  template <typename V>
  json_out& field(std::string_view k, V v) {
    key(k);
    if constexpr (std::is_same_v<V, bool>) return boolean(v);
    else if constexpr (std::is_convertible_v<V, std::string_view>) return str(v);
    else if constexpr (std::is_signed_v<V>) return num(static_cast<std::int64_t>(v));
    else return num(static_cast<std::uint64_t>(v));
  }

  std::string take() { return std::move(out_); }
  const std::string& view() const { return out_; }

  // Bytes that are not valid UTF-8 (a stray continuation byte, an overlong
  // or truncated sequence, a surrogate, beyond U+10FFFF) are written as
  // U+FFFD, one per byte, so the output is always valid JSON whatever a
  // client sent (a raw byte in a request path, a percent-decoded query key).
  static void escape_into(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    for (std::size_t i = 0; i < s.size(); ++i) {
      // A run of printable ASCII other than '"' and '\\' goes as it is, in one append.
      std::size_t run = i;
      while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) ++run;
      if (run != i) {
        out.append(s.data() + i, run - i);
        if (run == s.size()) return;
        i = run;
      }
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        const std::size_t n = utf8_length(s, i);
        if (n == 0) out += "\\ufffd";
        else out.append(s, i, n), i += n - 1;
        continue;
      }
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
  }

  static bool plain(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

  // The length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80),
  // or 0 when it is not one (RFC 3629: no overlongs, no surrogates).
  static std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
      if ((b(k) & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
    if (c == 0xed && b(1) > 0x9f) return 0;  // surrogate
    if (c == 0xf0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xf4 && b(1) > 0x8f) return 0;  // beyond U+10FFFF
    return n;
  }

 private:
  void sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void quoted(std::string_view s) {
    out_ += '"';
    escape_into(out_, s);
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace ledger
