// Operations routes on the API listener: liveness, readiness and metrics.
#include "api/exchange.h"
#include "api/routes.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

void on_health(const exchange_ptr& x, std::uint64_t) {
  http_response r;
  r.body = "{\"status\":\"ok\"}";
  x->finish(std::move(r));
}

void on_ready(const exchange_ptr& x, std::uint64_t) {
  status health = x->svc.ledger.health();
  bool draining = x->svc.draining.load();
  bool ready = health.is_ok() && !draining;
  json_out j;
  j.begin_object().field("status", ready ? "ready" : "not_ready").field("engine", health.is_ok() ? "ok" : "failed");
  if (!health.is_ok()) j.field("reason", health.message());
  j.field("draining", draining).field("seq", x->svc.ledger.head().seq).end_object();
  http_response r;
  r.status = ready ? 200 : 503;
  r.body = j.take();
  x->finish(std::move(r));
}

void on_metrics(const exchange_ptr& x, std::uint64_t) {
  http_response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = x->svc.stats.render(x->svc.ledger, x->svc.in_flight.load());
  x->finish(std::move(r));
}

}  // namespace

void add_ops_routes(router& r) {
  r.add("GET", "/healthz", "healthz", &on_health);
  r.add("GET", "/readyz", "readyz", &on_ready);
  r.add("GET", "/metrics", "metrics", &on_metrics);
}

}  // namespace ledger::api
