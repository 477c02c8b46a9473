// Prometheus text-format metrics: requests by route and status, request
// latency histograms by route, and the backend's own figures.
//
// Thread-safe; recording takes one short mutex.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "api/backend.h"

namespace ledger::api {

class metrics {
 public:
  void record(const std::string& route, unsigned status, double seconds);
  // Renders everything, with the backend's own lines.
  std::string render(const backend& b, std::size_t requests_in_flight) const;
  // Adds a source of further metric lines (e.g. the projector's). Call before serving.
  void add_source(std::function<std::string()> source) { sources_.push_back(std::move(source)); }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::string, histogram> latency_;
  std::vector<std::function<std::string()>> sources_;  // constant while serving
};

}  // namespace ledger::api
