#include "api/metrics.h"

#include <cstdio>

namespace ledger::api {

namespace {
const std::vector<double> latency_bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void render_histogram(std::string& out, const std::string& name, const std::string& labels, const histogram& h) {
  std::uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    std::string le = i < h.bounds.size() ? num(h.bounds[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string l = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + l + " " + num(h.sum) + "\n";
  out += name + "_count" + l + " " + std::to_string(h.count) + "\n";
}
}  // namespace

void metrics::record(const std::string& route, unsigned status, double seconds) {
  std::lock_guard lock(mu_);
  requests_[{route, status}]++;
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(route, histogram(latency_bounds)).first;
  it->second.observe(seconds);
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
      render_histogram(out, "ledger_http_request_duration_seconds", "route=\"" + route + "\"", h);
  }
  out += "# HELP ledger_http_requests_in_flight Requests being processed.\n# TYPE ledger_http_requests_in_flight gauge\n";
  out += "ledger_http_requests_in_flight " + std::to_string(requests_in_flight) + "\n";
  out += b.metrics();
  for (const auto& source : sources_) out += source();
  return out;
}

std::string engine_metrics(const engine& e) {
  std::string out;
  auto s = e.stats();
  auto head = e.head();
  out += "# HELP ledger_engine_commit_seconds Durable commit latency of engine batches.\n";
  out += "# TYPE ledger_engine_commit_seconds histogram\n";
  render_histogram(out, "ledger_engine_commit_seconds", "", s.commit_seconds);
  out += "# HELP ledger_engine_batch_commands Commands per engine batch.\n# TYPE ledger_engine_batch_commands histogram\n";
  render_histogram(out, "ledger_engine_batch_commands", "", s.batch_commands);
  out += "# HELP ledger_engine_queue_depth Commands waiting in the command log.\n# TYPE ledger_engine_queue_depth gauge\n";
  out += "ledger_engine_queue_depth " + std::to_string(s.queue_depth) + "\n";
  out += "# HELP ledger_engine_commands_total Commands applied.\n# TYPE ledger_engine_commands_total counter\n";
  out += "ledger_engine_commands_total " + std::to_string(s.commands) + "\n";
  out += "# HELP ledger_engine_replays_total Idempotent replays answered.\n# TYPE ledger_engine_replays_total counter\n";
  out += "ledger_engine_replays_total " + std::to_string(s.replays) + "\n";
  out += "# HELP ledger_journal_seq Sequence of the last committed event.\n# TYPE ledger_journal_seq gauge\n";
  out += "ledger_journal_seq " + std::to_string(head.seq) + "\n";
  out += "# HELP ledger_engine_failed 1 if the engine stopped after a store failure.\n# TYPE ledger_engine_failed gauge\n";
  out += std::string("ledger_engine_failed ") + (e.failed() ? "1" : "0") + "\n";
  return out;
}

}  // namespace ledger::api
