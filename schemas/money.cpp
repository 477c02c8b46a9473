#include "schemas/money.h"

#include <algorithm>

namespace ledger {

const char* to_string(amount_parse_error e) {
  switch (e) {
    case amount_parse_error::empty: return "empty amount";
    case amount_parse_error::bad_character: return "amount may contain only digits and one '.'";
    case amount_parse_error::sign_not_allowed: return "amount must not carry a sign";
    case amount_parse_error::excess_precision: return "amount has more decimal places than the asset's scale";
    case amount_parse_error::overflow: return "amount is too large";
    case amount_parse_error::malformed: return "amount is not a decimal number";
  }
  return "amount is invalid";
}

amount_parse_result parse_amount(std::string_view text, int scale, bool allow_negative) {
  amount_parse_result r;
  if (scale < 0 || scale > scale_max) { r.error = amount_parse_error::malformed; return r; }
  if (text.empty()) { r.error = amount_parse_error::empty; return r; }
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    if (text.front() == '+' || !allow_negative) { r.error = amount_parse_error::sign_not_allowed; return r; }
    negative = true;
    text.remove_prefix(1);
  }
  // Bound the work on hostile input: 36 integer digits + '.' + 18 fraction
  // digits is the longest value that can be valid, give or take leading zeros.
  if (text.size() > 128) { r.error = amount_parse_error::overflow; return r; }
  std::size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty())) {
    r.error = amount_parse_error::malformed;
    return r;
  }
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(whole) || !digits(frac)) { r.error = amount_parse_error::bad_character; return r; }
  // Trailing zeros beyond the scale carry no precision ("1.50" at scale 1).
  while (frac.size() > static_cast<std::size_t>(scale) && frac.back() == '0') frac.remove_suffix(1);
  if (frac.size() > static_cast<std::size_t>(scale)) { r.error = amount_parse_error::excess_precision; return r; }

  amount_t v = 0;
  auto push = [&](char c) {
    v = v * 10 + (c - '0');
    return v <= amount_limit;
  };
  for (char c : whole) if (!push(c)) { r.error = amount_parse_error::overflow; return r; }
  for (char c : frac) if (!push(c)) { r.error = amount_parse_error::overflow; return r; }
  for (std::size_t i = frac.size(); i < static_cast<std::size_t>(scale); ++i)
    if (!push('0')) { r.error = amount_parse_error::overflow; return r; }
  r.value = negative ? -v : v;
  return r;
}

void append_decimal(std::string& out, amount_t value) {
  const bool negative = value < 0;
  // Work on the unsigned magnitude so the most negative value is safe too.
  unsigned __int128 u = negative ? static_cast<unsigned __int128>(0) - static_cast<unsigned __int128>(value)
                                 : static_cast<unsigned __int128>(value);
  char buf[48];
  char* end = buf + sizeof buf;
  char* p = end;
  // Nineteen digits at a time in 64-bit arithmetic: one 128-bit division per
  // chunk, not per digit (almost every amount fits the first chunk).
  constexpr std::uint64_t chunk = 10'000'000'000'000'000'000ULL;
  while (u >= chunk) {
    auto low = static_cast<std::uint64_t>(u % chunk);
    u /= chunk;
    for (int d = 0; d < 19; ++d, low /= 10) *--p = static_cast<char>('0' + low % 10);
  }
  auto top = static_cast<std::uint64_t>(u);
  do {
    *--p = static_cast<char>('0' + top % 10);
    top /= 10;
  } while (top != 0);
  if (negative) *--p = '-';
  out.append(p, static_cast<std::size_t>(end - p));
}

std::string to_decimal(amount_t value) {
  std::string s;
  append_decimal(s, value);
  return s;
}

std::string format_amount(amount_t value, int scale) {
  bool negative = value < 0;
  // to_decimal handles the sign on the unsigned magnitude (safe for the most
  // negative value); strip it here and put it back in front.
  std::string digits = to_decimal(value);
  if (negative) digits.erase(0, 1);
  if (scale <= 0) return negative ? "-" + digits : digits;
  auto s = static_cast<std::size_t>(scale);
  if (digits.size() <= s) digits.insert(0, s + 1 - digits.size(), '0');
  digits.insert(digits.size() - s, 1, '.');
  return negative ? "-" + digits : digits;
}

bool checked_add(amount_t a, amount_t b, amount_t& out) {
  // Operands first: only values within +-10^36 are summed, and their sum
  // cannot overflow __int128 (limit ~1.7e38).
  if (a > amount_limit || a < -amount_limit || b > amount_limit || b < -amount_limit) return false;
  amount_t r = a + b;
  if (r > amount_limit || r < -amount_limit) return false;
  out = r;
  return true;
}

bool checked_sub(amount_t a, amount_t b, amount_t& out) {
  if (b < -amount_limit || b > amount_limit) return false;
  return checked_add(a, -b, out);
}

}  // namespace ledger
