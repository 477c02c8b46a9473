// pg_text / pg_json: what PostgreSQL can hold passes unchanged; everything
// else becomes a display form, flagged as not exact.
#include <doctest/doctest.h>

#include "projections/pg_text.h"

using namespace ledger::projections;
using namespace std::string_literals;

TEST_CASE("pg_text keeps valid UTF-8 and replaces NUL and invalid bytes with U+FFFD") {
  bool exact = false;
  CHECK(pg_text("plain €𝄞", exact) == "plain €𝄞");
  CHECK(exact);
  CHECK(pg_text("", exact).empty());
  CHECK(exact);
  CHECK(pg_text("a\0b"s, exact) == "a\xEF\xBF\xBD" "b");
  CHECK_FALSE(exact);
  CHECK(pg_text("x\xff\xC0\x80y", exact) == "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDy");  // bad byte, overlong NUL
  CHECK_FALSE(exact);
  CHECK(pg_text("\xED\xA0\x80", exact) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // an encoded surrogate
  CHECK_FALSE(exact);
  CHECK(pg_text("\xF4\x90\x80\x80", exact).find('\xF4') == std::string::npos);  // above U+10FFFF
  CHECK(pg_text("\xF0\x9F\x98", exact) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

TEST_CASE("pg_json passes JSON jsonb takes, replaces the escapes it refuses, wraps the rest") {
  bool exact = false;
  CHECK(pg_json(R"({"a":"\u00e9","b":[1]})", exact) == R"({"a":"\u00e9","b":[1]})");
  CHECK(exact);
  CHECK(pg_json(R"({"k\u0000":"v\u0000x"})", exact) == R"({"k\ufffd":"v\ufffdx"})");
  CHECK_FALSE(exact);
  // An escaped backslash followed by u0000 is text, not an escape.
  CHECK(pg_json(R"({"a":"\\u0000"})", exact) == R"({"a":"\\u0000"})");
  CHECK(exact);
  // Surrogate pairs stay; lone surrogates go.
  CHECK(pg_json(R"(["\ud83d\ude00"])", exact) == R"(["\ud83d\ude00"])");
  CHECK(exact);
  // A lone surrogate: either the JSON parser refuses it (then the text is
  // wrapped) or the escape is replaced; never passed to jsonb as it is.
  for (const char* lone : {R"(["\ud800x"])", R"(["\udc00x"])"}) {
    auto out = pg_json(lone, exact);
    CHECK((out == R"(["\ufffdx"])" || out.rfind(R"({"unparsed":)", 0) == 0));
    CHECK_FALSE(exact);
  }
  CHECK(pg_json("not json\x01\0"s, exact) == R"({"unparsed":"not json\u0001�"})");
  CHECK_FALSE(exact);
  CHECK(pg_json("", exact).empty());
  CHECK(exact);
}
