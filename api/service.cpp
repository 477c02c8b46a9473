#include "api/service.h"

#include "api/exchange.h"
#include "api/routes.h"

namespace ledger::api {

namespace {

// The resource modules the API serves. A new family of routes is one more
// module here (see api/routes.h).
constexpr route_module modules[] = {
    add_ops_routes, add_wallet_routes, add_money_routes, add_hold_routes, add_batch_routes, add_history_routes,
    add_webhook_routes, add_reconciliation_routes,
    add_events_routes, add_audit_routes, add_audit_verify_routes,
    add_auth_routes, add_console_routes,
    add_payout_routes,
    add_document_routes,
    add_fx_routes,
    add_payment_request_routes,
    add_document_export_routes,
    add_owner_routes,
};

const router& api_routes() {
  static const router r = [] {
    router out;
    for (auto add : modules) add(out);
    return out;
  }();
  return r;
}

}  // namespace

std::vector<route_info> route_table() { return api_routes().list(); }

service::service(backend& b, const jwt_verifier& jwt, service_config config, metrics& m, logger& log, clock& clk)
    : state_(std::make_unique<service_state>(b, jwt, std::move(config), m, log, clk, api_routes())) {
  state_->events = std::make_unique<event_hub>(b, state_->config.events);
  m.add_source([hub = state_->events.get()] { return hub->metrics(); });
}

service::~service() = default;

void service::begin_drain() { state_->draining = true; }
bool service::draining() const { return state_->draining.load(); }
std::size_t service::in_flight() const { return state_->in_flight.load(); }

void service::handle(http_request&& req, responder done) {
  exchange::run(std::make_shared<exchange>(*state_, std::move(req), std::move(done)));
}

void service::reject(http_request&& partial, const transport_error& e, responder done) {
  auto x = std::make_shared<exchange>(*state_, std::move(partial), std::move(done));
  x->route_name = "transport";
  x->fail({e.status, e.slug, e.detail, "", {}});
}

}  // namespace ledger::api
