// Exact money: parse_amount, format_amount, to_decimal, checked_add/sub.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "schemas/money.h"

namespace {

using ledger::amount_limit;
using ledger::amount_parse_error;
using ledger::amount_t;
using ledger::format_amount;
using ledger::parse_amount;
using ledger::to_decimal;

amount_t pow10(int n) {
  amount_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// The parsed value as a decimal string, or "error:<error name>" so failures read well.
std::string parsed(std::string_view text, int scale, bool allow_negative = false) {
  auto r = parse_amount(text, scale, allow_negative);
  if (r.value) return to_decimal(*r.value);
  return std::string("error:") + ledger::to_string(r.error);
}

std::string err(amount_parse_error e) { return std::string("error:") + ledger::to_string(e); }

}  // namespace

TEST_CASE("money: to_decimal of integers") {
  CHECK(to_decimal(0) == "0");
  CHECK(to_decimal(7) == "7");
  CHECK(to_decimal(-7) == "-7");
  CHECK(to_decimal(1234567890) == "1234567890");
  CHECK(to_decimal(amount_limit) == std::string(36, '9'));
  CHECK(to_decimal(-amount_limit) == "-" + std::string(36, '9'));
  // The extreme of the representation is safe too.
  amount_t most_negative = static_cast<amount_t>(static_cast<unsigned __int128>(1) << 127);
  CHECK(to_decimal(most_negative) == "-170141183460469231731687303715884105728");
}

TEST_CASE("money: to_decimal across its 19-digit chunks, and append_decimal appends") {
  const amount_t e19 = static_cast<amount_t>(10'000'000'000'000'000'000ULL);
  CHECK(to_decimal(e19 - 1) == std::string(19, '9'));
  CHECK(to_decimal(e19) == "1" + std::string(19, '0'));
  CHECK(to_decimal(e19 + 1) == "1" + std::string(18, '0') + "1");
  CHECK(to_decimal(-e19) == "-1" + std::string(19, '0'));
  CHECK(to_decimal(5 * e19 + 7) == "5" + std::string(18, '0') + "7");  // zeros inside the low chunk
  CHECK(to_decimal(e19 * e19) == "1" + std::string(38, '0'));          // a third chunk
  CHECK(to_decimal(e19 * e19 + e19) == "1" + std::string(18, '0') + "1" + std::string(19, '0'));
  amount_t most_positive = static_cast<amount_t>((static_cast<unsigned __int128>(1) << 127) - 1);
  CHECK(to_decimal(most_positive) == "170141183460469231731687303715884105727");
  CHECK(to_decimal(static_cast<amount_t>(18'446'744'073'709'551'615ULL)) == "18446744073709551615");
  std::string out = "x=";
  ledger::append_decimal(out, -42);
  CHECK(out == "x=-42");
}

TEST_CASE("money: parse valid forms at scale 0") {
  CHECK(parsed("0", 0) == "0");
  CHECK(parsed("7", 0) == "7");
  CHECK(parsed("123", 0) == "123");
  CHECK(parsed("007", 0) == "7");
  CHECK(parsed("7.0", 0) == "7");     // trailing zeros carry no precision
  CHECK(parsed("7.000", 0) == "7");
  CHECK(parsed("7.1", 0) == err(amount_parse_error::excess_precision));
}

TEST_CASE("money: parse valid forms at scale 2") {
  CHECK(parsed("0", 2) == "0");
  CHECK(parsed("1", 2) == "100");
  CHECK(parsed("1.5", 2) == "150");
  CHECK(parsed("1.50", 2) == "150");
  CHECK(parsed("12.34", 2) == "1234");
  CHECK(parsed("0.01", 2) == "1");
  CHECK(parsed("0.10", 2) == "10");
  CHECK(parsed("00.05", 2) == "5");
  CHECK(parsed("1.2300", 2) == "123");
  CHECK(parsed("1000000", 2) == "100000000");
}

TEST_CASE("money: parse valid forms at scale 18") {
  CHECK(parsed("1", 18) == "1" + std::string(18, '0'));
  CHECK(parsed("0.000000000000000001", 18) == "1");
  CHECK(parsed("0.1", 18) == "1" + std::string(17, '0'));
  CHECK(parsed("123.456", 18) == "123456" + std::string(15, '0'));
  CHECK(parsed("0.0000000000000000010", 18) == "1");  // 19 digits, last is a zero
  CHECK(parsed("0.0000000000000000001", 18) == err(amount_parse_error::excess_precision));
}

TEST_CASE("money: trailing zeros beyond the scale are accepted, other digits are not") {
  CHECK(parsed("1.50", 1) == "15");
  CHECK(parsed("1.500000", 1) == "15");
  CHECK(parsed("1.234", 2) == err(amount_parse_error::excess_precision));
  CHECK(parsed("1.001", 2) == err(amount_parse_error::excess_precision));
  CHECK(parsed("1.2340", 2) == err(amount_parse_error::excess_precision));
  CHECK(parsed("0.5", 0) == err(amount_parse_error::excess_precision));
}

TEST_CASE("money: signs") {
  SUBCASE("minus is refused unless allowed") {
    CHECK(parsed("-1", 2) == err(amount_parse_error::sign_not_allowed));
    CHECK(parsed("-0", 2) == err(amount_parse_error::sign_not_allowed));
    CHECK(parsed("-1.25", 2, true) == "-125");
    CHECK(parsed("-0.01", 2, true) == "-1");
    CHECK(parsed("-0", 2, true) == "0");
    CHECK(parsed("-7", 0, true) == "-7");
  }
  SUBCASE("plus is always refused") {
    CHECK(parsed("+1", 2) == err(amount_parse_error::sign_not_allowed));
    CHECK(parsed("+1", 2, true) == err(amount_parse_error::sign_not_allowed));
    CHECK(parsed("+0", 0, true) == err(amount_parse_error::sign_not_allowed));
  }
  SUBCASE("a sign alone or doubled is not a number") {
    CHECK_FALSE(parse_amount("-", 2, true).value.has_value());
    CHECK(parsed("--1", 2, true) == err(amount_parse_error::bad_character));
    CHECK(parsed("-+1", 2, true) == err(amount_parse_error::bad_character));
    CHECK(parsed("1-", 2, true) == err(amount_parse_error::bad_character));
    CHECK(parsed("-.5", 2, true) == err(amount_parse_error::malformed));
  }
}

TEST_CASE("money: malformed input is rejected") {
  CHECK(parsed("", 2) == err(amount_parse_error::empty));
  CHECK(parsed("", 2, true) == err(amount_parse_error::empty));
  CHECK(parsed(".5", 2) == err(amount_parse_error::malformed));
  CHECK(parsed("5.", 2) == err(amount_parse_error::malformed));
  CHECK(parsed(".", 2) == err(amount_parse_error::malformed));
  CHECK(parsed("1e3", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("1E3", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed(" 1", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("1 ", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("1,000", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("1,5", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("0x10", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("1.2.3", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("1..2", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("NaN", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("inf", 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("\xd9\xa3", 2) == err(amount_parse_error::bad_character));      // Arabic-Indic digit three
  CHECK(parsed("\xef\xbc\x91", 2) == err(amount_parse_error::bad_character));  // fullwidth digit one
  CHECK(parsed("1\xc2\xa0" "000", 2) == err(amount_parse_error::bad_character));  // no-break space
  CHECK(parsed(std::string_view("1\0" "2", 3), 2) == err(amount_parse_error::bad_character));
  CHECK(parsed("\t1", 2) == err(amount_parse_error::bad_character));
}

TEST_CASE("money: a scale outside 0..18 is refused") {
  CHECK(parsed("1", -1) == err(amount_parse_error::malformed));
  CHECK(parsed("1", 19) == err(amount_parse_error::malformed));
}

TEST_CASE("money: overflow at the limit") {
  const std::string nines(36, '9');
  SUBCASE("scale 0") {
    CHECK(parsed(nines, 0) == to_decimal(amount_limit));
    CHECK(parsed("1" + std::string(36, '0'), 0) == err(amount_parse_error::overflow));
    CHECK(parsed("-" + nines, 0, true) == to_decimal(-amount_limit));
    CHECK(parsed("-1" + std::string(36, '0'), 0, true) == err(amount_parse_error::overflow));
    CHECK(parsed("0000" + nines, 0) == to_decimal(amount_limit));  // leading zeros are harmless
    CHECK(parsed(nines + "9", 0) == err(amount_parse_error::overflow));
  }
  SUBCASE("scale 2") {
    std::string limit = std::string(34, '9') + ".99";
    CHECK(parsed(limit, 2) == to_decimal(amount_limit));
    CHECK(parsed("1" + std::string(34, '0'), 2) == err(amount_parse_error::overflow));
    CHECK(parsed(std::string(34, '9') + ".990", 2) == to_decimal(amount_limit));
  }
  SUBCASE("scale 18") {
    std::string limit = std::string(18, '9') + "." + std::string(18, '9');
    CHECK(parsed(limit, 18) == to_decimal(amount_limit));
    CHECK(parsed("1" + std::string(18, '0'), 18) == err(amount_parse_error::overflow));
    // One more minor unit than the limit.
    CHECK(parsed("1" + std::string(18, '0') + "." + std::string(18, '0'), 18) == err(amount_parse_error::overflow));
  }
}

TEST_CASE("money: very long input is rejected quickly") {
  std::string digits(10 * 1024, '7');
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    auto r = parse_amount(digits, 2);
    REQUIRE_FALSE(r.value.has_value());
  }
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(parsed(digits, 2) == err(amount_parse_error::overflow));
  CHECK(parsed("-" + digits, 2, true) == err(amount_parse_error::overflow));
  CHECK(parsed("0." + digits, 18) == err(amount_parse_error::overflow));
  CHECK_FALSE(parse_amount(std::string(10 * 1024, '0'), 2).value.has_value());
  // 1000 parses of 10 KB must not walk every byte each time; a generous bound.
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 500);
}

TEST_CASE("money: format_amount") {
  CHECK(format_amount(0, 0) == "0");
  CHECK(format_amount(0, 2) == "0.00");
  CHECK(format_amount(1230, 2) == "12.30");
  CHECK(format_amount(5, 2) == "0.05");
  CHECK(format_amount(-5, 2) == "-0.05");
  CHECK(format_amount(-1234, 2) == "-12.34");
  CHECK(format_amount(7, 0) == "7");
  CHECK(format_amount(-7, 0) == "-7");
  CHECK(format_amount(1, 18) == "0.000000000000000001");
  CHECK(format_amount(pow10(18), 18) == "1.000000000000000000");
  CHECK(format_amount(amount_limit, 0) == std::string(36, '9'));
  CHECK(format_amount(amount_limit, 2) == std::string(34, '9') + ".99");
  CHECK(format_amount(-amount_limit, 18) == "-" + std::string(18, '9') + "." + std::string(18, '9'));
}

TEST_CASE("money: parse(format(x)) == x") {
  std::vector<amount_t> values = {0, 1, -1, 9, 10, 11, 99, 100, 101, 1234, -1234, 999999, -1000000};
  for (int e = 0; e <= 36; ++e) {
    values.push_back(pow10(e) - 1);
    values.push_back(-(pow10(e) - 1));
    if (e < 36) {
      values.push_back(pow10(e));
      values.push_back(-pow10(e));
      values.push_back(pow10(e) + 1);
    }
  }
  // A spread of irregular values from a fixed linear congruential sequence.
  unsigned __int128 x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 500; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    auto v = static_cast<amount_t>(x % static_cast<unsigned __int128>(amount_limit));
    values.push_back(i % 2 ? -v : v);
  }
  for (int scale : {0, 1, 2, 6, 8, 18}) {
    for (amount_t v : values) {
      std::string text = format_amount(v, scale);
      auto r = parse_amount(text, scale, true);
      INFO("scale ", scale, " text ", text);
      REQUIRE(r.value.has_value());
      CHECK(to_decimal(*r.value) == to_decimal(v));
      if (v >= 0) {
        auto unsigned_r = parse_amount(text, scale, false);
        REQUIRE(unsigned_r.value.has_value());
        CHECK(to_decimal(*unsigned_r.value) == to_decimal(v));
      }
    }
  }
}

TEST_CASE("money: checked_add and checked_sub stay within +-amount_limit") {
  amount_t out = 42;
  SUBCASE("ordinary sums") {
    REQUIRE(ledger::checked_add(2, 3, out));
    CHECK(to_decimal(out) == "5");
    REQUIRE(ledger::checked_add(-2, 3, out));
    CHECK(to_decimal(out) == "1");
    REQUIRE(ledger::checked_sub(2, 3, out));
    CHECK(to_decimal(out) == "-1");
    REQUIRE(ledger::checked_sub(-2, -3, out));
    CHECK(to_decimal(out) == "1");
  }
  SUBCASE("exactly the limit is fine") {
    REQUIRE(ledger::checked_add(amount_limit - 1, 1, out));
    CHECK(to_decimal(out) == to_decimal(amount_limit));
    REQUIRE(ledger::checked_add(amount_limit, 0, out));
    CHECK(to_decimal(out) == to_decimal(amount_limit));
    REQUIRE(ledger::checked_sub(-amount_limit + 1, 1, out));
    CHECK(to_decimal(out) == to_decimal(-amount_limit));
    REQUIRE(ledger::checked_add(amount_limit, -amount_limit, out));
    CHECK(to_decimal(out) == "0");
    REQUIRE(ledger::checked_sub(0, amount_limit, out));
    CHECK(to_decimal(out) == to_decimal(-amount_limit));
  }
  SUBCASE("one past the limit fails and leaves out untouched") {
    CHECK_FALSE(ledger::checked_add(amount_limit, 1, out));
    CHECK_FALSE(ledger::checked_add(1, amount_limit, out));
    CHECK_FALSE(ledger::checked_add(-amount_limit, -1, out));
    CHECK_FALSE(ledger::checked_add(amount_limit, amount_limit, out));
    CHECK_FALSE(ledger::checked_add(-amount_limit, -amount_limit, out));
    CHECK_FALSE(ledger::checked_sub(amount_limit, -1, out));
    CHECK_FALSE(ledger::checked_sub(-amount_limit, 1, out));
    CHECK_FALSE(ledger::checked_sub(0, -amount_limit - 1, out));
    CHECK_FALSE(ledger::checked_sub(amount_limit, -amount_limit, out));
    CHECK(to_decimal(out) == "42");
  }
  SUBCASE("operands outside the range are refused even when the sum is inside") {
    CHECK_FALSE(ledger::checked_add(amount_limit + 1, -1, out));
    CHECK_FALSE(ledger::checked_add(-1, amount_limit + 1, out));
    CHECK_FALSE(ledger::checked_sub(amount_limit + 1, 1, out));
    CHECK_FALSE(ledger::checked_sub(0, amount_limit + 1, out));
    CHECK(to_decimal(out) == "42");
  }
}
