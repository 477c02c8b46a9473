// Requests waiting for the read models to reach a journal sequence number
// (read-your-writes, `min_seq`), parked here instead of on a query worker.
//
// Operation: wait() registers a callback for a seq and a deadline. One thread
// of this class watches the progress source: it asks `progress(want,
// wait_ms)` for the applied seq, where `want` is the lowest seq waited for
// and the source may block up to `wait_ms` for it (a projector's condition
// variable, or one short checkpoint read). Every waiter whose seq is reached
// is called with true, every waiter past its deadline with false. So a
// thousand waiters cost one thread and no query worker; the query runs on
// the pool only once its seq is there.
//
// Concurrency: wait(), applied() and stop() from any thread. Callbacks run
// on this class's thread (or on the caller of stop()), never under its lock;
// they must not block (submitting a query to the pool is fine).
//
// Limits: at most `waiters_max` waiters; wait() beyond returns false at once
// and calls nothing (the HTTP layer answers 503). `progress` is called at
// most every `poll_ms` while waiters exist, and never while none do.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace ledger::projections {

class seq_waiters {
 public:
  using callback = std::function<void(bool reached)>;
  // The applied seq now, after waiting up to `wait_ms` for it to reach
  // `want` (or less, or not at all). Called only from this class's thread.
  using progress_fn = std::function<std::uint64_t(std::uint64_t want, int wait_ms)>;

  seq_waiters(progress_fn progress, std::size_t waiters_max, int poll_ms = 50);
  // stop().
  ~seq_waiters();
  seq_waiters(const seq_waiters&) = delete;
  seq_waiters& operator=(const seq_waiters&) = delete;

  // Calls `done(true)` once the applied seq is >= `seq`, or `done(false)`
  // after `timeout_ms`. When `seq` is already known to be applied, calls
  // done(true) at once on the calling thread. False (nothing called) when
  // waiters_max wait already or after stop().
  bool wait(std::uint64_t seq, int timeout_ms, callback done);
  // The highest applied seq seen so far.
  std::uint64_t applied() const;
  std::size_t waiting() const;
  // Calls every waiter with false, refuses new ones and joins the thread.
  // Idempotent.
  void stop();

 private:
  using time_point = std::chrono::steady_clock::time_point;
  struct waiter {
    time_point deadline;
    callback done;
  };
  void run();
  // Removes the waiters that are reached or expired; caller holds mu_.
  void take_finished(std::uint64_t applied, time_point now, std::multimap<std::uint64_t, waiter>& reached,
                     std::multimap<std::uint64_t, waiter>& expired);

  // Constant after construction.
  const progress_fn progress_;
  const std::size_t waiters_max_;
  const int poll_ms_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  // Protected by mu_.
  std::multimap<std::uint64_t, waiter> waiters_;  // by seq
  std::uint64_t applied_ = 0;
  bool stopping_ = false;

  std::thread thread_;
  std::mutex stop_mu_;  // serializes stop()
};

}  // namespace ledger::projections
