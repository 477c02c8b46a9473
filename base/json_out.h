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

  static void escape_into(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    for (unsigned char c : s) {
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
