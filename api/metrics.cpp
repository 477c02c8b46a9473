#include "api/metrics.h"

#include "base/prometheus.h"

namespace ledger::api {

namespace {
const std::vector<double> latency_bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}  // namespace

void metrics::record(const std::string& route, unsigned status, double seconds) {
  std::lock_guard lock(mu_);
  requests_[{route, status}]++;
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(route, histogram(latency_bounds)).first;
  it->second.observe(seconds);
}

void metrics::record_sign_in(std::string_view chain, std::string_view result) {
  std::lock_guard lock(mu_);
  // Results are the closed set of sign-in codes, so the label set stays bounded.
  sign_ins_[{std::string(chain), std::string(result)}]++;
}

void metrics::record_session_granted(double seconds) {
  std::lock_guard lock(mu_);
  session_granted_.observe(seconds);
}

std::string metrics::render(const backend& b, std::size_t requests_in_flight) const {
  std::string out;
  {
    std::lock_guard lock(mu_);
    out += "# HELP ledger_http_requests_total HTTP requests by route and status.\n";
    out += "# TYPE ledger_http_requests_total counter\n";
    for (const auto& [k, n] : requests_)
      out += "ledger_http_requests_total{route=\"" + k.first + "\",status=\"" + std::to_string(k.second) + "\"} " +
             std::to_string(n) + "\n";
    out += "# HELP ledger_http_request_duration_seconds HTTP request latency by route.\n";
    out += "# TYPE ledger_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_)
      prometheus::histogram_samples(out, "ledger_http_request_duration_seconds", "route=\"" + route + "\"", h);
    out += prometheus::header("ledger_wallet_authentications_total", "Wallet sign-ins by chain and result.", "counter");
    for (const auto& [k, n] : sign_ins_)
      out += "ledger_wallet_authentications_total{chain=\"" + k.first + "\",result=\"" + k.second + "\"} " +
             std::to_string(n) + "\n";
    out += prometheus::header("ledger_wallet_session_duration_seconds", "Lifetime granted to wallet sessions opened.",
                              "histogram");
    prometheus::histogram_samples(out, "ledger_wallet_session_duration_seconds", "", session_granted_);
  }
  out += "# HELP ledger_http_requests_in_flight Requests being processed.\n# TYPE ledger_http_requests_in_flight gauge\n";
  out += "ledger_http_requests_in_flight " + std::to_string(requests_in_flight) + "\n";
  out += b.metrics();
  for (const auto& source : sources_) out += source();
  return out;
}

}  // namespace ledger::api
