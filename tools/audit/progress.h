// Progress on stderr for long runs: events/s, position, ETA, redrawn at most
// five times a second, and only when stderr is a terminal (so logs and pipes
// stay clean). The final summary line is printed either way.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ledger::audit {

class progress {
 public:
  // `total`: the last seq expected (0 when unknown, as when following).
  progress(std::string label, std::uint64_t first_seq, std::uint64_t total);
  void update(std::uint64_t seq);
  // Clears the bar and prints "ledgerctl <label>: <text> (<n> events in <s> s, <rate> events/s)".
  void finish(const std::string& text, std::uint64_t events);
  double seconds() const;
  // Forces the bar on or off (tests; default: isatty(2)).
  void set_enabled(bool on) { enabled_ = on; }

 private:
  std::string label_;
  std::uint64_t first_ = 0, total_ = 0;
  bool enabled_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace ledger::audit
