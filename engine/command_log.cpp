#include "engine/command_log.h"

#include <chrono>

namespace ledger {

append_result embedded_log::append(std::vector<command>&& commands, completion done) {
  if (commands.empty()) return append_result::too_large;
  if (commands.size() > capacity_) return append_result::too_large;
  std::int64_t now = clock_.now_us();
  {
    std::lock_guard lock(mu_);
    if (closed_) return append_result::closed;
    if (queued_commands_ + commands.size() > capacity_) return append_result::full;
    // Stamps never go backwards, even if the wall clock does.
    if (now < last_stamp_us_) now = last_stamp_us_;
    last_stamp_us_ = now;
    log_entry e;
    e.first_position = next_position_;
    e.timestamp_us = now;
    next_position_ += commands.size();
    queued_commands_ += commands.size();
    e.commands = std::move(commands);
    e.done = std::move(done);
    queue_.push_back(std::move(e));
  }
  cv_.notify_one();
  return append_result::ok;
}

void embedded_log::take(std::vector<log_entry>& out, std::size_t max_commands, int wait_ms) {
  std::unique_lock lock(mu_);
  if (queue_.empty() && !closed_)
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return !queue_.empty() || closed_; });
  std::size_t taken = 0;
  while (!queue_.empty() && (taken == 0 || taken + queue_.front().commands.size() <= max_commands)) {
    taken += queue_.front().commands.size();
    queued_commands_ -= queue_.front().commands.size();
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void embedded_log::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void embedded_log::resume_after(std::uint64_t position) {
  std::lock_guard lock(mu_);
  if (position + 1 > next_position_) next_position_ = position + 1;
}

std::size_t embedded_log::depth() const {
  std::lock_guard lock(mu_);
  return queued_commands_;
}

}  // namespace ledger
