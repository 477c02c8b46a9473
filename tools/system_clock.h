// The real clock, for programs (ledgerd, tools, benchmarks). The engine only
// sees the ledger::clock interface.
#pragma once

#include <chrono>

#include "engine/clock.h"

namespace ledger {

class system_clock_source final : public clock {
 public:
  std::int64_t now_us() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t monotonic_ns() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace ledger
