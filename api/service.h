// The HTTP API's application layer: routing, authentication, authorization,
// request parsing, the round trip through the engine, and responses as JSON
// or RFC 9457 problem details. Transport-neutral (see http.h); server.cpp
// feeds it from Beast.
//
// Layout: router.h (the route table), routes_*.cpp (one module per resource
// family, listed in service.cpp), commands.h (the command pipeline),
// exchange.h (one request), request_parse.h and request_json.h (reading
// requests), problem.h (every error response), state_reads.h (committed
// state). docs/api-internals.md says how to add a resource module.
//
// Concurrency: handle() is called from any I/O thread. Command responses
// are delivered from the engine's writer thread through the responder, which
// must only hand the response over (the server posts it to its connection).
//
// Limits: commands per batch request, wallets per list page, idempotency
// keys in flight (one per principal and key), and the engine's bounded
// command log (a full log answers 503 with Retry-After).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/audit_reads.h"
#include "api/backend.h"
#include "api/event_hub.h"
#include "api/http.h"
#include "api/jwt.h"
#include "api/log.h"
#include "api/metrics.h"
#include "api/payout_keys.h"
#include "api/document_settings.h"
#include "api/rate_limit.h"
#include "api/read_models.h"
#include "api/router.h"
#include "api/webhooks.h"
#include "api/wallet_auth_settings.h"

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
  // Rate limits (api/rate_limit.h); null: no limits (tests of other things).
  limiter* limits = nullptr;
  rate_limit_settings rate_limits;
  // Payment providers' webhook accounts (api/webhooks.h); null: none.
  webhook_registry* webhooks = nullptr;
  // Event pages and streams (api/routes_events.cpp, api/event_hub.h).
  std::size_t events_page_max = 1000;         // events per /v1/events page
  std::size_t events_scan_max = 100'000;      // events read for one page, matching or not
  event_hub_settings events;
  // Auditor routes: point-in-time state (null: 503), and the audit signing
  // public key (PEM; empty: none configured, 404).
  audit_reads* audit = nullptr;
  std::string audit_public_key_pem;
  // Wallet sign-in (api/routes_auth.cpp).
  wallet_auth_settings wallet_auth;
  // Envelope keys for payment details (api/payout_keys.h); null or without
  // a master key: the payout-destination routes answer 503.
  const payout_keys* payment_keys = nullptr;
  // Wallet documents (api/routes_documents.cpp); their data keys are the
  // owners' keys in payment_keys.
  document_settings documents;
};

// Every route the service answers, for documentation checks.
std::vector<route_info> route_table();

struct service_state;

class service final : public http_handler {
 public:
  service(backend& b, const jwt_verifier& jwt, service_config config, metrics& m, logger& log, clock& clk);
  ~service();

  void handle(http_request&& req, responder done) override;
  // Transport errors get the same problem details as any other error: a
  // title, instance, request id, X-Request-ID, CORS headers, and metrics.
  void reject(http_request&& partial, const transport_error& e, responder done) override;

  // After this, command requests are refused with 503 (shutdown).
  void begin_drain();
  bool draining() const;
  std::size_t in_flight() const;

 private:
  std::unique_ptr<service_state> state_;
};

}  // namespace ledger::api
