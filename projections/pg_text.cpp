#include "projections/pg_text.h"

#include <simdjson.h>

#include <cstring>

namespace ledger::projections {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence (as PostgreSQL defines it: no
// overlongs, no surrogates, at most U+10FFFF) starting at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

int hex_value(std::string_view s, std::size_t i) {
  if (i + 4 > s.size()) return -1;
  int v = 0;
  for (std::size_t k = i; k < i + 4; ++k) {
    char c = s[k];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// Valid JSON text with every \u escape jsonb refuses (\u0000, lone
// surrogates) replaced by \ufffd. Walks escapes pairwise, so an escaped
// backslash followed by "u0000" is left alone.
std::string json_escapes_for_jsonb(std::string_view s, bool& changed) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] != 'u') {
      out.append(s.substr(i, 2));
      ++i;
      continue;
    }
    int v = hex_value(s, i + 2);
    bool high = v >= 0xD800 && v <= 0xDBFF;
    bool low_follows = high && i + 7 < s.size() && s[i + 6] == '\\' && s[i + 7] == 'u' &&
                       hex_value(s, i + 8) >= 0xDC00 && hex_value(s, i + 8) <= 0xDFFF;
    if (v == 0 || (v >= 0xD800 && v <= 0xDFFF && !low_follows)) {
      out += "\\ufffd";
      changed = true;
      i += 5;
    } else if (low_follows) {
      out.append(s.substr(i, 12));
      i += 11;
    } else {
      out.append(s.substr(i, 6));
      i += 5;
    }
  }
  return out;
}

void json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace

std::string pg_text(std::string_view s, bool& exact) {
  exact = std::memchr(s.data(), 0, s.size()) == nullptr && simdjson::validate_utf8(s.data(), s.size());
  if (exact) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += replacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string pg_json(std::string_view metadata, bool& exact) {
  exact = true;
  if (metadata.empty()) return {};
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parser.parse(metadata.data(), metadata.size()).get(doc)) {
    // simdjson checked the UTF-8; only escapes can still offend jsonb.
    if (metadata.find("\\u") == std::string_view::npos) return std::string(metadata);
    bool changed = false;
    std::string out = json_escapes_for_jsonb(metadata, changed);
    exact = !changed;
    return out;
  }
  exact = false;
  bool ignored = false;
  std::string out = "{\"unparsed\":";
  json_string(out, pg_text(metadata, ignored));
  return out + "}";
}

}  // namespace ledger::projections
