// A cumulative histogram with fixed upper bounds (Prometheus style), for the
// latency and size figures each module exports.
//
// Not thread-safe: the owner guards it (the engine's stats mutex, the API's
// metrics mutex).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace ledger {

struct histogram {
  std::vector<double> bounds;          // upper bounds, ascending; +Inf implied
  std::vector<std::uint64_t> counts;   // per bucket, bounds.size() + 1
  double sum = 0;
  std::uint64_t count = 0;
  explicit histogram(std::vector<double> b = {}) : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}
  void observe(double v) {
    std::size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) ++i;
    counts[i]++;
    sum += v;
    count++;
  }
};

}  // namespace ledger
