// Structured logs: one JSON object per line, personal data and secrets
// redacted before they are written.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ledger::api {

// Replaces e-mail addresses, phone numbers, bearer tokens and JWTs, and
// bank account numbers (IBAN-like) with placeholders.
std::string redact(std::string_view text);

class logger {
 public:
  explicit logger(std::FILE* out = stdout) : out_(out) {}
  // Writes {"ts":...,"level":...,"msg":..., fields...}; every value is
  // redacted except those of the fields the server itself produced and
  // validated (request_id, method, route, status, duration_ms, remote), which
  // hold no personal data and must stay exact for correlation. Thread-safe.
  void write(std::string_view level, std::string_view msg,
             const std::vector<std::pair<std::string, std::string>>& fields);
  void set_enabled(bool on) { enabled_ = on; }

 private:
  std::FILE* out_;
  std::mutex mu_;
  bool enabled_ = true;
};

}  // namespace ledger::api
