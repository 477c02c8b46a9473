#include "schemas/time.h"

#include <cstdio>

namespace ledger {

namespace {


// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<int>(z - era * 146097);
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(era * 400) + yoe + (m <= 2);
}

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

// Exactly `n` ASCII digits at s[pos].
bool digits_at(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

// "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)" to microseconds since the
// epoch, strictly: PostgreSQL would accept far more ("yesterday", "1/2/3"),
// and an API that takes whatever the database takes cannot change databases.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!digits_at(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits_at(s, 5, 2, mo) || s[7] != '-' ||
      !digits_at(s, 8, 2, d) || s[10] != 'T' || !digits_at(s, 11, 2, h) || s[13] != ':' ||
      !digits_at(s, 14, 2, mi) || s[16] != ':' || !digits_at(s, 17, 2, sec))
    return std::nullopt;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
    return std::nullopt;
  std::size_t i = 19;
  std::int64_t frac_us = 0;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    std::int64_t scale = 100'000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      frac_us += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start || i - start > 9) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits_at(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits_at(s, i + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t secs = days_from_civil(y, mo, d) * 86'400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1'000'000 + frac_us;
}

// The JSON form of a time; also the form handed to PostgreSQL.
void append_rfc3339_us(std::string& out, std::int64_t us) {
  std::int64_t secs = us / 1'000'000, frac = us % 1'000'000;
  if (frac < 0) frac += 1'000'000, --secs;
  std::int64_t days = secs / 86'400, rem = secs % 86'400;
  if (rem < 0) rem += 86'400, --days;
  int y, m, d;
  civil_from_days(days, y, m, d);
  const int fields[] = {m, d, static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60)};
  if (y < 0 || y > 9999) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, fields[0], fields[1], fields[2], fields[3],
                  fields[4], static_cast<int>(frac));
    out += buf;
    return;
  }
  // "YYYY-MM-DDTHH:MM:SS.ffffffZ": 27 characters, written in place.
  const std::size_t at = out.size();
  out.resize(at + 27);
  char* p = out.data() + at;
  auto digits = [](char* to, long long v, int n) {
    for (int i = n - 1; i >= 0; --i, v /= 10) to[i] = static_cast<char>('0' + v % 10);
  };
  digits(p, y, 4);
  const char seps[] = {'-', '-', 'T', ':', ':'};
  for (int i = 0; i < 5; ++i) {
    p[4 + 3 * i] = seps[i];
    digits(p + 5 + 3 * i, fields[i], 2);
  }
  p[19] = '.';
  digits(p + 20, frac, 6);
  p[26] = 'Z';
}

std::string format_rfc3339_us(std::int64_t us) {
  std::string s;
  append_rfc3339_us(s, us);
  return s;
}


}  // namespace ledger
