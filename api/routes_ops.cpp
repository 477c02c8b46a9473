// The public operations routes: liveness, and readiness as 200/503 with no
// details. Metrics and the detailed readiness are on the operations
// listener (tools/serve.cpp, api/ops.h), kept off the public address.
#include "api/exchange.h"
#include "api/routes.h"

namespace ledger::api {

namespace {

void on_health(const exchange_ptr& x, std::uint64_t) {
  http_response r;
  r.body = "{\"status\":\"ok\"}";
  x->finish(std::move(r));
}

void on_ready(const exchange_ptr& x, std::uint64_t) {
  bool ready = x->svc.ledger.health().is_ok() && !x->svc.draining.load();
  http_response r;
  r.status = ready ? 200 : 503;
  r.body = ready ? R"({"status":"ready"})" : R"({"status":"not_ready"})";
  x->finish(std::move(r));
}

}  // namespace

void add_ops_routes(router& r) {
  r.add("GET", "/healthz", "healthz", &on_health);
  r.add("GET", "/readyz", "readyz", &on_ready);
}

}  // namespace ledger::api
