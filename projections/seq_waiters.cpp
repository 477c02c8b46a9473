#include "projections/seq_waiters.h"

#include <algorithm>

#include "schemas/base.h"

namespace ledger::projections {

seq_waiters::seq_waiters(progress_fn progress, std::size_t waiters_max, int poll_ms)
    : progress_(std::move(progress)), waiters_max_(waiters_max), poll_ms_(poll_ms) {
  LEDGER_ASSERT(progress_ != nullptr, "seq_waiters needs a progress source");
  LEDGER_ASSERT_GT(poll_ms_, 0, "poll_ms");
  thread_ = std::thread([this] { run(); });
}

seq_waiters::~seq_waiters() { stop(); }

bool seq_waiters::wait(std::uint64_t seq, int timeout_ms, callback done) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    if (seq > applied_) {
      if (waiters_.size() >= waiters_max_) return false;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
      waiters_.emplace(seq, waiter{deadline, std::move(done)});
      changed_.notify_one();
      return true;
    }
  }
  done(true);
  return true;
}

std::uint64_t seq_waiters::applied() const {
  std::lock_guard lock(mu_);
  return applied_;
}

std::size_t seq_waiters::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void seq_waiters::take_finished(std::uint64_t applied, time_point now, std::multimap<std::uint64_t, waiter>& reached,
                                std::multimap<std::uint64_t, waiter>& expired) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    auto& into = it->first <= applied ? reached : (it->second.deadline <= now ? expired : waiters_);
    if (&into == &waiters_) {
      ++it;
      continue;
    }
    into.insert(waiters_.extract(it++));
  }
}

void seq_waiters::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (waiters_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t want = waiters_.begin()->first;
    auto earliest = waiters_.begin()->second.deadline;
    for (const auto& [seq, w] : waiters_) earliest = std::min(earliest, w.deadline);
    const auto until_deadline = std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now).count();
    const int wait_ms = static_cast<int>(std::clamp<std::int64_t>(until_deadline, 0, poll_ms_));
    lock.unlock();
    const std::uint64_t seen = progress_(want, wait_ms);
    lock.lock();
    applied_ = std::max(applied_, seen);
    std::multimap<std::uint64_t, waiter> reached, expired;
    take_finished(applied_, std::chrono::steady_clock::now(), reached, expired);
    if (reached.empty() && expired.empty()) {
      // A source that answered at once (a checkpoint read): wait out the
      // rest of the interval, unless a new waiter or stop() comes first.
      changed_.wait_until(lock, now + std::chrono::milliseconds(wait_ms));
      continue;
    }
    lock.unlock();
    for (auto& [seq, w] : reached) w.done(true);
    for (auto& [seq, w] : expired) w.done(false);
    lock.lock();
  }
}

void seq_waiters::stop() {
  std::lock_guard stop_lock(stop_mu_);
  std::multimap<std::uint64_t, waiter> left;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    left.swap(waiters_);
  }
  for (auto& [seq, w] : left) w.done(false);
}

}  // namespace ledger::projections
