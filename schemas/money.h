// Exact money. Amounts are signed 128-bit integers counted in an asset's minor
// unit; on the wire they are decimal strings in major units ("12.34" for 1234
// cents of an asset of scale 2). No floating point anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

using amount_t = __int128;

inline constexpr int scale_max = 18;
// The largest magnitude the ledger accepts for any single amount or balance:
// 10^36 - 1 minor units. Keeping far below 2^127 (~1.7e38) means a sum of two
// valid values never overflows the representation itself; `checked_add`
// still guards every addition.
inline constexpr amount_t amount_limit = [] {
  amount_t v = 1;
  for (int i = 0; i < 36; ++i) v *= 10;
  return v - 1;
}();

enum class amount_parse_error {
  empty,
  bad_character,
  sign_not_allowed,
  excess_precision,
  overflow,
  malformed,
};
const char* to_string(amount_parse_error e);

struct amount_parse_result {
  std::optional<amount_t> value;
  amount_parse_error error = amount_parse_error::malformed;
};

// Parses a decimal string in major units into minor units of an asset with
// `scale` decimal places. Accepts "123", "123.4", "0.001" (digits, one optional
// dot, no exponent, no spaces, no leading "+"). A leading "-" is accepted only
// when `allow_negative`. More fractional digits than `scale` is an error, never
// a rounding. Magnitudes above `amount_limit` are an overflow.
amount_parse_result parse_amount(std::string_view text, int scale, bool allow_negative = false);

// Formats minor units as a decimal string with exactly `scale` fractional
// digits ("12.30" for 1230 at scale 2; "-0.05"; "7" at scale 0).
std::string format_amount(amount_t value, int scale);

// Plain decimal of an integer amount (minor units), for logs and keys.
std::string to_decimal(amount_t value);
// As to_decimal, appended to `out`.
void append_decimal(std::string& out, amount_t value);

// Addition and subtraction that fail instead of leaving [-amount_limit, amount_limit].
bool checked_add(amount_t a, amount_t b, amount_t& out);
bool checked_sub(amount_t a, amount_t b, amount_t& out);

}  // namespace ledger
