// Reconciliation of payment providers' reports with the ledger's deposits
// (projections/reconcile.h), for admins: import a report, read a result.
// Runs on the read-model workers like every PostgreSQL query.
#include "api/exchange.h"
#include "api/request_parse.h"
#include "api/routes.h"

namespace ledger::api {

namespace {

void run(const exchange_ptr& x, read_query q, unsigned created_status) {
  auto* reads = x->svc.config.reads;
  if (!reads)
    return x->fail({503, "unavailable", "no read models are configured (PostgreSQL)", "", {{"Retry-After", "5"}}});
  bool accepted = reads->run(std::move(q), [x, created_status](const status& st, std::string json, std::uint64_t) {
    x->svc.dispatch([x, st, created_status, json = std::move(json)]() mutable {
      if (!st.is_ok()) {
        problem p = problem_of(st, fault::caller);
        if (p.status >= 500) x->log_error(st);
        return x->fail(p);
      }
      http_response r;
      // An import of a report seen before is that reconciliation, not a new one.
      r.status = json.find("\"existing\":true") != std::string::npos ? 200 : created_status;
      r.body = std::move(json);
      x->finish(std::move(r));
    });
  });
  if (!accepted)
    x->fail({503, "overloaded", "the read side is saturated; retry shortly", "", {{"Retry-After", "1"}}});
}

// Known query parameters only, each once; false after answering.
bool read_params(exchange& x, std::initializer_list<const char*> allowed, read_query& q) {
  for (const auto& [k, v] : x.query) {
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) return x.fail({400, "unknown-field", "unknown query parameter", k, {}}), false;
    if (v.size() > 64) return x.fail({400, "invalid-field", "longer than 64 bytes", k, {}}), false;
    if (!q.params.emplace(k, v).second) return x.fail({400, "invalid-field", "given twice", k, {}}), false;
  }
  return true;
}

void on_import(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin)) return;
  read_query q;
  q.what = read_query::kind::reconcile;
  if (!read_params(*x, {"account", "format"}, q)) return;
  if (!q.params.count("account")) return x->fail({400, "invalid-field", "is required", "account", {}});
  auto type = x->req.header("content-type");
  if (type.substr(0, 8) != "text/csv")
    return x->fail({415, "unsupported-media-type", "the report must be sent as text/csv", "", {}});
  q.params.emplace("report", x->req.body);
  run(x, std::move(q), 201);
}

void on_get(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_admin | role_auditor)) return;
  read_query q;
  q.what = read_query::kind::reconciliation;
  q.id = id;
  if (!read_params(*x, {"outcome"}, q)) return;
  run(x, std::move(q), 200);
}

}  // namespace

void add_reconciliation_routes(router& r) {
  r.add("POST", "/v1/reconciliations", "import_reconciliation", &on_import);
  r.add("GET", "/v1/reconciliations/{id}", "get_reconciliation", &on_get);
}

}  // namespace ledger::api
