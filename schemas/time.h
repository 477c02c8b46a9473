// RFC 3339 times at the edges (HTTP, JSON, PostgreSQL), as microseconds
// since the Unix epoch inside.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

// "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)", strictly (exact digit
// counts, real calendar dates, years 1970-9999; upper-case 'T' and 'Z'
// only: RFC 3339 allows lower case, but one spelling per instant keeps
// references, logs and comparisons unambiguous).
std::optional<std::int64_t> parse_rfc3339_us(std::string_view s);

// "2026-11-22T05:03:42.598123Z".
std::string format_rfc3339_us(std::int64_t us);
// As format_rfc3339_us, appended to `out`.
void append_rfc3339_us(std::string& out, std::int64_t us);

}  // namespace ledger
