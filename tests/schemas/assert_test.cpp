// LEDGER_ASSERT and its comparison forms print what failed and the values
// involved, then abort. Each case runs in a forked child whose stderr is
// read back through a pipe.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "schemas/base.h"

namespace {

// Runs `f` in a child; returns what it wrote to stderr, and whether it aborted.
std::string stderr_of(const std::function<void()>& f, bool& aborted) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    f();
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  aborted = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
  return out;
}

}  // namespace

TEST_CASE("a failed assertion prints its formatted message") {
  bool aborted = false;
  auto text = stderr_of([] { LEDGER_ASSERT(1 + 1 == 3, "account %d of %s", 7, "alice"); }, aborted);
  CHECK(aborted);
  CHECK(text.find("assertion failed: 1 + 1 == 3 (account 7 of alice)") != std::string::npos);
  CHECK(text.find("assert_test.cpp:") != std::string::npos);
}

TEST_CASE("comparison assertions print both values, 128-bit ones included") {
  bool aborted = false;
  std::uint64_t seq = 41, expected = 42;
  auto text = stderr_of([&] { LEDGER_ASSERT_EQ(seq, expected, "journal batch must be contiguous"); }, aborted);
  CHECK(aborted);
  CHECK(text.find("seq == expected (journal batch must be contiguous; left 41, right 42)") != std::string::npos);

  __int128 sum = -(static_cast<__int128>(1) << 100);
  text = stderr_of([&] { LEDGER_ASSERT_EQ(sum, 0, "legs balance"); }, aborted);
  CHECK(aborted);
  CHECK(text.find("left -1267650600228229401496703205376, right 0") != std::string::npos);

  text = stderr_of([] { LEDGER_ASSERT_LT(5, 3, "order"); }, aborted);
  CHECK(aborted);
  CHECK(text.find("5 < 3 (order; left 5, right 3)") != std::string::npos);
}

TEST_CASE("a holding assertion prints nothing and evaluates its operands once") {
  bool aborted = true;
  auto text = stderr_of(
      [] {
        int calls = 0;
        auto next = [&] { return ++calls; };
        LEDGER_ASSERT_EQ(next(), 1, "called once");
        LEDGER_ASSERT(calls == 1, "calls %d", calls);
      },
      aborted);
  CHECK_FALSE(aborted);
  CHECK(text.empty());
}
