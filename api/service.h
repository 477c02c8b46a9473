// The HTTP API's application layer: routing, authentication, authorization,
// request parsing, the round trip through the engine, and responses as JSON
// or RFC 9457 problem details. Transport-neutral (see http.h); server.cpp
// feeds it from Beast.
//
// Concurrency: handle() is called from any I/O thread. Command responses
// are delivered from the engine's writer thread through the responder, which
// must only hand the response over (the server posts it to its connection).
//
// Limits: commands per batch request, wallets per list page, idempotency
// keys in flight (one per principal and key), and the engine's bounded
// command log (a full log answers 503 with Retry-After).
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "api/backend.h"
#include "api/http.h"
#include "api/jwt.h"
#include "api/log.h"
#include "api/metrics.h"
#include "api/read_models.h"

namespace ledger::api {

struct service_config {
  std::vector<std::string> cors_origins;  // exact origins allowed; none by default
  std::size_t batch_commands_max = 1000;
  std::size_t page_size_max = 200;
  // Runs work on an I/O thread. Engine completions arrive on the writer
  // thread; they only hand outcomes over through this, so response building
  // never slows the single writer. Empty: run inline (tests).
  std::function<void(std::function<void()>)> dispatch;
  // The PostgreSQL read side for history queries; null: those routes answer 503.
  read_models* reads = nullptr;
};

// One route the service answers, for documentation checks.
struct route_info {
  std::string method;
  std::string path;  // "/v1/wallets/{id}"
  std::string name;
};
std::vector<route_info> route_table();

class service final : public http_handler {
 public:
  service(backend& b, const jwt_verifier& jwt, service_config config, metrics& m, logger& log, clock& clk);
  ~service();

  void handle(http_request&& req, responder done) override;

  // After this, command requests are refused with 503 (shutdown).
  void begin_drain() { draining_ = true; }
  std::size_t in_flight() const { return in_flight_.load(); }

  struct context;  // per-request state (defined in service.cpp)
  struct operation;

 private:
  friend struct service_access;
  backend& engine_;
  const jwt_verifier& jwt_;
  service_config config_;
  metrics& metrics_;
  logger& log_;
  clock& clock_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> in_flight_{0};

  // Registered assets never change, so their scales are cached forever.
  mutable std::shared_mutex assets_mu_;
  std::unordered_map<std::string, int> asset_scales_;

  // Idempotency keys of commands not yet answered (principal NUL key).
  std::mutex keys_mu_;
  std::unordered_set<std::string> keys_in_flight_;
};

}  // namespace ledger::api
