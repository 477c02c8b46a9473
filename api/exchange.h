// One request and its response as the route modules see it, and the state
// every request of a service shares.
//
// An exchange lives from service::handle() until finish() hands the
// response to the transport; it is held by shared_ptr so that handlers that
// wait (engine outcomes, read-model queries) keep it alive. finish() (or
// fail()) is called exactly once.
//
// Concurrency: one exchange is driven by one thread at a time (an I/O
// thread, then the thread a completion is dispatched to).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "api/problem.h"
#include "api/rate_limit.h"
#include "api/router.h"
#include "api/service.h"
#include "api/state_reads.h"

namespace ledger::api {

// What every request of one service shares; owned by the service.
struct service_state {
  service_state(backend& b, const jwt_verifier& j, service_config c, metrics& m, logger& l, clock& k, const router& r)
      : ledger(b), jwt(j), config(std::move(c)), stats(m), log(l), clk(k), routes(r), state(b, config.payment_keys) {}

  // Runs `work` on an I/O thread (config.dispatch), or inline without one.
  void dispatch(std::function<void()> work) const {
    if (config.dispatch)
      config.dispatch(std::move(work));
    else
      work();
  }

  // Constant after construction.
  backend& ledger;
  const jwt_verifier& jwt;
  const service_config config;
  metrics& stats;
  logger& log;
  clock& clk;
  const router& routes;

  state_reads state;  // thread-safe
  std::unique_ptr<event_hub> events;  // live event streams; thread-safe
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> in_flight{0};
  // Idempotency keys of commands not yet answered (principal NUL key).
  std::mutex keys_mu;
  std::unordered_set<std::string> keys_in_flight;  // protected by keys_mu
};

class exchange {
 public:
  exchange(service_state& s, http_request&& r, responder done);

  // Routes the request and runs its handler.
  static void run(const exchange_ptr& x);

  // Sends the response: adds X-Request-ID and CORS headers, releases the
  // idempotency keys held, records metrics and the request log.
  void finish(http_response&& r);
  void fail(const problem& p);
  // An operating error: logged with the request id (the text stays in the
  // log), answered through problem_of.
  void fail_status(const status& s, fault blame);
  void log_error(const status& s);
  // A bearer token of one of `roles`; false after answering 401/403.
  bool authenticate(unsigned roles);
  // Content-Type application/json (or no body when none is required);
  // false after answering 415.
  bool require_json(bool body_required);
  problem_origin origin() const { return {req.target, request_id}; }

  service_state& svc;
  http_request req;
  std::string request_id;
  std::string route_name = "unmatched";
  const route* matched = nullptr;
  std::vector<std::string_view> segments;  // views into req.target
  header_list query;
  std::optional<principal> who;
  header_list cors_headers;
  std::vector<std::string> keys_held;
  header_list limit_headers;  // RateLimit-Policy and RateLimit, on every response
  // The bearer token's verification, when the limiter needed the principal
  // first; authenticate() uses it rather than verifying twice.
  std::optional<std::variant<principal, jwt_error>> verified;

 private:
  void route_request(const exchange_ptr& self);
  void options(const std::string& allow);
  // Takes the request's tokens for class `c`, then runs `next` (on an I/O
  // thread), or answers 429 / 503.
  void limit_then(const exchange_ptr& self, route_class c, std::function<void()> next);
  void on_limit(limit_decision&& d, const std::function<void()>& next);

  responder done_;
  std::int64_t start_ns_ = 0;
};

}  // namespace ledger::api
