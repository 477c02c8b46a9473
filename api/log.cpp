#include "api/log.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "base/json_out.h"

namespace ledger::api {

namespace {

bool is_email_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '%' || c == '+' || c == '-';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_' || c == '.' || c == '=' ||
         c == '+' || c == '/';
}
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

}  // namespace

std::string redact(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    // Bearer tokens.
    if (s.substr(i, 7) == "Bearer " || s.substr(i, 7) == "bearer ") {
      std::size_t j = i + 7;
      while (j < s.size() && is_token_char(s[j])) ++j;
      out += "Bearer [redacted]";
      i = j;
      continue;
    }
    // JWTs: base64url "eyJ..." with two dots.
    if (s.substr(i, 3) == "eyJ") {
      std::size_t j = i;
      int dots = 0;
      while (j < s.size() && (is_token_char(s[j]))) dots += s[j++] == '.';
      if (dots >= 2) {
        out += "[token]";
        i = j;
        continue;
      }
    }
    // E-mail addresses: expand around '@'.
    if (s[i] == '@' && i > 0 && is_email_char(s[i - 1]) && i + 1 < s.size() && is_email_char(s[i + 1])) {
      while (!out.empty() && is_email_char(out.back())) out.pop_back();
      std::size_t j = i + 1;
      while (j < s.size() && is_email_char(s[j])) ++j;
      out += "[email]";
      i = j;
      continue;
    }
    // IBAN-like: two capitals, two digits, then 10+ alphanumerics.
    if (i + 4 <= s.size() && is_upper(s[i]) && is_upper(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
        (i == 0 || !is_email_char(s[i - 1]))) {
      std::size_t j = i + 4;
      while (j < s.size() && (is_upper(s[j]) || is_digit(s[j]) || s[j] == ' ')) ++j;
      while (j > i && s[j - 1] == ' ') --j;  // a space after the number is not part of it
      if (j - i >= 14) {
        out += "[bank-account]";
        i = j;
        continue;
      }
    }
    // Phone numbers and other long digit runs (card numbers too): 7+ digits,
    // allowing a leading '+' and separators.
    if (is_digit(s[i]) || (s[i] == '+' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      std::size_t j = i + (s[i] == '+' ? 1 : 0);
      int digits = 0;
      while (j < s.size() && (is_digit(s[j]) || s[j] == ' ' || s[j] == '-' || s[j] == '(' || s[j] == ')')) {
        digits += is_digit(s[j]);
        ++j;
      }
      if (digits >= 7 && (s[i] == '+' || digits >= 9)) {
        while (j > i && !is_digit(s[j - 1])) --j;
        out += "[phone]";
        i = j;
        continue;
      }
      out.append(s.substr(i, j - i));
      i = j;
      continue;
    }
    out += s[i++];
  }
  return out;
}

void logger::write(std::string_view level, std::string_view msg,
                   const std::vector<std::pair<std::string, std::string>>& fields) {
  if (!enabled_) return;
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  json_out j;
  j.begin_object().field("ts", ts).field("level", level).field("msg", redact(msg));
  static const char* exact[] = {"request_id", "method", "route", "status", "duration_ms", "remote"};
  for (const auto& [k, v] : fields) {
    bool keep = std::any_of(std::begin(exact), std::end(exact), [&name = k](const char* e) { return name == e; });
    j.field(k, keep ? v : redact(v));
  }
  j.end_object();
  std::string line = j.take();
  line += '\n';
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace ledger::api
