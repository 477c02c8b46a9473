// The small base every module may use: an always-on assertion for programmer
// errors, and a status value for operating errors.
//
// Programmer errors (a broken invariant) crash with a message, in release too.
// Operating errors (disk, corruption, bad input at a boundary) are returned as
// `status` values. Business rejections are neither: they are outcomes (see
// reasons.h).
#pragma once

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>

namespace ledger {

// Assertions print what they checked and the values involved (Redpanda's
// vassert style), in release builds too:
//
//   LEDGER_ASSERT(p != nullptr, "pending %llu is not open", (unsigned long long)id);
//   LEDGER_ASSERT_EQ(sum, 0, "posted legs of %s do not balance", asset.c_str());
//
// The message is a printf format (checked by the compiler). The _EQ, _NE,
// _LT, _LE, _GT and _GE forms also print both operands; they take integers
// (128-bit included), enums, bools and pointers, each evaluated once.
[[noreturn]] __attribute__((format(printf, 4, 5))) inline void assert_fail(const char* expr, const char* file, int line,
                                                                            const char* fmt, ...) {
  char msg[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, args);
  va_end(args);
  std::fprintf(stderr, "ledger: assertion failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::fflush(stderr);
  std::abort();
}

namespace assert_detail {

// A value as decimal text, for assertion messages.
template <typename T>
std::string text(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_enum_v<T>) {
    return text(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_pointer_v<T> || std::is_null_pointer_v<T>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%p", static_cast<const void*>(v));
    return buf;
  } else if constexpr (std::is_same_v<T, __int128> || std::is_same_v<T, unsigned __int128>) {
    bool negative = false;
    unsigned __int128 u = static_cast<unsigned __int128>(v);
    if constexpr (std::is_same_v<T, __int128>) {
      negative = v < 0;
      if (negative) u = ~u + 1;  // two's complement magnitude; defined for the minimum too
    }
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
      u /= 10;
    } while (u != 0);
    return negative ? "-" + digits : digits;
  } else {
    return std::to_string(v);
  }
}

template <typename A, typename B>
[[noreturn]] void compare_fail(const char* expr, const char* file, int line, const A& a, const B& b, const char* what) {
  assert_fail(expr, file, line, "%s; left %s, right %s", what, text(a).c_str(), text(b).c_str());
}

}  // namespace assert_detail

#define LEDGER_ASSERT(expr, ...)                                                   \
  do {                                                                             \
    if (!(expr)) ::ledger::assert_fail(#expr, __FILE__, __LINE__, __VA_ARGS__);     \
  } while (0)

#define LEDGER_ASSERT_CMP_(a, op, b, what)                                                                  \
  do {                                                                                                      \
    const auto& ledger_assert_a_ = (a);                                                                     \
    const auto& ledger_assert_b_ = (b);                                                                     \
    if (!(ledger_assert_a_ op ledger_assert_b_))                                                            \
      ::ledger::assert_detail::compare_fail(#a " " #op " " #b, __FILE__, __LINE__, ledger_assert_a_,        \
                                            ledger_assert_b_, (what));                                      \
  } while (0)

#define LEDGER_ASSERT_EQ(a, b, what) LEDGER_ASSERT_CMP_(a, ==, b, what)
#define LEDGER_ASSERT_NE(a, b, what) LEDGER_ASSERT_CMP_(a, !=, b, what)
#define LEDGER_ASSERT_LT(a, b, what) LEDGER_ASSERT_CMP_(a, <, b, what)
#define LEDGER_ASSERT_LE(a, b, what) LEDGER_ASSERT_CMP_(a, <=, b, what)
#define LEDGER_ASSERT_GT(a, b, what) LEDGER_ASSERT_CMP_(a, >, b, what)
#define LEDGER_ASSERT_GE(a, b, what) LEDGER_ASSERT_CMP_(a, >=, b, what)

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
