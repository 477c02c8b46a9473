// seq_waiters: reads parked until a seq is applied, bounded in number and
// time, answered once each, and all answered at stop.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "projections/seq_waiters.h"

using ledger::projections::seq_waiters;

namespace {

// A progress source the test moves; it never blocks.
struct source {
  std::atomic<std::uint64_t> applied{0};
  std::atomic<int> calls{0};
  seq_waiters::progress_fn fn() {
    return [this](std::uint64_t, int) {
      ++calls;
      return applied.load();
    };
  }
};

// The result of one waiter, once it is called.
struct outcome {
  std::promise<bool> p;
  std::future<bool> f = p.get_future();
  seq_waiters::callback cb() {
    return [this](bool reached) { p.set_value(reached); };  // a second call would throw
  }
  bool ready(int ms) { return f.wait_for(std::chrono::milliseconds(ms)) == std::future_status::ready; }
};

}  // namespace

TEST_CASE("seq_waiters: a waiter is answered once its seq is applied, without polling while none wait") {
  source src;
  seq_waiters w(src.fn(), 4, 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(src.calls.load() == 0);  // nobody waits: the source is left alone

  outcome a, b;
  REQUIRE(w.wait(10, 60'000, a.cb()));
  REQUIRE(w.wait(20, 60'000, b.cb()));
  CHECK(w.waiting() == 2);
  CHECK_FALSE(a.ready(30));
  src.applied = 15;
  REQUIRE(a.ready(5'000));
  CHECK(a.f.get());
  CHECK_FALSE(b.ready(30));
  src.applied = 20;
  REQUIRE(b.ready(5'000));
  CHECK(b.f.get());
  CHECK(w.waiting() == 0);
  CHECK(w.applied() == 20);

  // Already applied: answered at once, on the caller's thread.
  outcome c;
  REQUIRE(w.wait(20, 0, c.cb()));
  REQUIRE(c.ready(0));
  CHECK(c.f.get());
}

TEST_CASE("seq_waiters: bounded in number, answered false at the deadline and at stop") {
  source src;
  seq_waiters w(src.fn(), 2, 5);
  outcome late, held, refused;
  REQUIRE(w.wait(5, 50, late.cb()));
  REQUIRE(w.wait(5, 60'000, held.cb()));
  CHECK_FALSE(w.wait(5, 60'000, refused.cb()));  // two wait already
  CHECK_FALSE(refused.ready(0));
  REQUIRE(late.ready(5'000));
  CHECK_FALSE(late.f.get());
  CHECK_FALSE(held.ready(0));
  w.stop();
  REQUIRE(held.ready(0));
  CHECK_FALSE(held.f.get());
  outcome after;
  CHECK_FALSE(w.wait(1, 10, after.cb()));
  w.stop();  // idempotent
}
