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
  // Wallet sign-ins by chain and result ("accepted", or the refusal or
  // rejection code), and the lifetime granted to each session opened.
  void record_sign_in(std::string_view chain, std::string_view result);
  void record_session_granted(double seconds);
  // Renders everything, with the backend's own lines.
  std::string render(const backend& b, std::size_t requests_in_flight) const;
  // Adds a source of further metric lines (e.g. the projector's). Call before serving.
  void add_source(std::function<std::string()> source) { sources_.push_back(std::move(source)); }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  std::map<std::string, histogram> latency_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> sign_ins_;  // (chain, result)
  histogram session_granted_{{3600, 21600, 86400, 604800, 2592000, 31536000}};
  std::vector<std::function<std::string()>> sources_;  // constant while serving
};

}  // namespace ledger::api
