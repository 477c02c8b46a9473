// Time enters the engine only through this interface, and only outside
// apply: the embedded log stamps each command with now_us() when it is
// appended (that stamp is the command's log time), and the writer measures
// commit latency with monotonic_ns() for its statistics. The real clock lives
// with the programs (tools/system_clock.h); tests use a manual one.
#pragma once

#include <cstdint>

namespace ledger {

class clock {
 public:
  virtual ~clock() = default;
  // Wall time, microseconds since the Unix epoch.
  virtual std::int64_t now_us() = 0;
  // A monotonic reading in nanoseconds, for durations only.
  virtual std::int64_t monotonic_ns() = 0;
};

}  // namespace ledger
