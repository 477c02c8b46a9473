// Times as the ledger writes them (schemas/time.h): format_rfc3339_us and
// append_rfc3339_us against dates computed by hand, the negative side of the
// epoch, years outside four digits, and a round trip through the parser.
#include <doctest/doctest.h>

#include "schemas/time.h"

using ledger::append_rfc3339_us;
using ledger::format_rfc3339_us;
using ledger::parse_rfc3339_us;

TEST_CASE("time: format_rfc3339_us writes microseconds in UTC") {
  CHECK(format_rfc3339_us(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339_us(1) == "1970-01-01T00:00:00.000001Z");
  CHECK(format_rfc3339_us(-1) == "1969-12-31T23:59:59.999999Z");
  // 2026-11-22T05:03:42.598123Z: 20,779 days after the epoch, 18,222 s into the day.
  CHECK(format_rfc3339_us((20'779LL * 86'400 + 18'222) * 1'000'000 + 598'123) == "2026-11-22T05:03:42.598123Z");
  // A leap day, and the last microsecond of year 9999.
  CHECK(format_rfc3339_us(951'782'400'000'000) == "2000-02-29T00:00:00.000000Z");
  CHECK(format_rfc3339_us(253'402'300'799'999'999) == "9999-12-31T23:59:59.999999Z");
  // Outside four-digit years the old formatting stays (a wider year).
  CHECK(format_rfc3339_us(253'402'300'800'000'000) == "10000-01-01T00:00:00.000000Z");
}

TEST_CASE("time: append_rfc3339_us appends, and what it writes parses back") {
  std::string out = "at ";
  append_rfc3339_us(out, 1'796'123'087'056'001);
  CHECK(out == "at " + format_rfc3339_us(1'796'123'087'056'001));
  for (std::int64_t us : {0LL, 1LL, 86'399'999'999LL, 1'796'123'087'056'001LL, 253'402'300'799'999'999LL}) {
    CAPTURE(us);
    CHECK(parse_rfc3339_us(format_rfc3339_us(us)) == us);
  }
}
