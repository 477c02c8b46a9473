// A clock the test moves by hand, so log time is exactly what the test says.
#pragma once

#include <atomic>

#include "engine/clock.h"

namespace ledger::testing {

class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t start_us = 1'700'000'000'000'000) : now_us_(start_us) {}
  std::int64_t now_us() override { return now_us_.load(); }
  std::int64_t monotonic_ns() override { return now_us_.load() * 1000; }
  void set_us(std::int64_t t) { now_us_ = t; }
  void advance_us(std::int64_t d) { now_us_ += d; }

 private:
  std::atomic<std::int64_t> now_us_;
};

}  // namespace ledger::testing
