// The small base every module may use: an always-on assertion for programmer
// errors, and a status value for operating errors.
//
// Programmer errors (a broken invariant) crash with a message, in release too.
// Operating errors (disk, corruption, bad input at a boundary) are returned as
// `status` values. Business rejections are neither: they are outcomes (see
// reasons.h).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace ledger {

[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "ledger: assertion failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::fflush(stderr);
  std::abort();
}

#define LEDGER_ASSERT(expr, msg)                                           \
  do {                                                                     \
    if (!(expr)) ::ledger::assert_fail(#expr, __FILE__, __LINE__, (msg));   \
  } while (0)

// Operating-error status, in the manner of leveldb::Status.
class status {
 public:
  enum class code { ok, not_found, corruption, io_error, invalid_argument, unavailable };

  status() = default;
  static status ok() { return {}; }
  static status not_found(std::string m) { return {code::not_found, std::move(m)}; }
  static status corruption(std::string m) { return {code::corruption, std::move(m)}; }
  static status io_error(std::string m) { return {code::io_error, std::move(m)}; }
  static status invalid_argument(std::string m) { return {code::invalid_argument, std::move(m)}; }
  static status unavailable(std::string m) { return {code::unavailable, std::move(m)}; }

  bool is_ok() const { return code_ == code::ok; }
  explicit operator bool() const { return is_ok(); }
  code error_code() const { return code_; }
  const std::string& message() const { return message_; }
  // Retryable errors are transient: the same call may succeed later.
  bool retryable() const { return code_ == code::unavailable || code_ == code::io_error; }
  std::string to_string() const;

 private:
  status(code c, std::string m) : code_(c), message_(std::move(m)) {}
  code code_ = code::ok;
  std::string message_;
};

inline std::string status::to_string() const {
  const char* names[] = {"ok", "not_found", "corruption", "io_error", "invalid_argument", "unavailable"};
  std::string s = names[static_cast<int>(code_)];
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace ledger
