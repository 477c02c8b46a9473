// History from the PostgreSQL read models: a wallet's transactions, its
// statement over a period, its balance at a time, one transaction, and
// transactions by reference. Queries run on the read-model workers, never on
// an I/O thread.
#include "api/exchange.h"
#include "api/request_parse.h"
#include "api/routes.h"

namespace ledger::api {

namespace {

struct query_spec {
  read_query::kind what;
  std::initializer_list<const char*> allowed;
  std::initializer_list<const char*> required;
  bool wallet_scoped;
};

// min_seq: a seq this instance has acknowledged or observed (a client
// learns seqs from responses); beyond that it could wait for a seq that may
// never come, so it is refused. False after answering.
bool read_min_seq(exchange& x, std::string_view v, read_query& q) {
  auto n = parse_id(v);
  if (!n) return x.fail({400, "invalid-field", "must be a positive sequence number", "min_seq", {}}), false;
  const std::uint64_t head = x.svc.ledger.known_seq();
  if (*n > head)
    return x.fail({400, "invalid-field", "must not be beyond the journal head, seq " + std::to_string(head), "min_seq", {}}),
           false;
  q.min_seq = *n;
  return true;
}

// Reads the query parameters into `q`; false after answering.
bool read_params(exchange& x, const query_spec& spec, read_query& q) {
  for (const auto& [k, v] : x.query) {
    if (k == "min_seq") {
      if (!read_min_seq(x, v, q)) return false;
      continue;
    }
    bool known = false;
    for (const char* a : spec.allowed) known = known || k == a;
    if (!known) return x.fail({400, "unknown-field", "unknown query parameter", k, {}}), false;
    if (v.size() > 256) return x.fail({400, "invalid-field", "longer than 256 bytes", k, {}}), false;
    if (!q.params.emplace(k, v).second) return x.fail({400, "invalid-field", "given twice", k, {}}), false;
  }
  for (const char* r : spec.required)
    if (!q.params.count(r)) return x.fail({400, "invalid-field", "is required", r, {}}), false;
  return true;
}

void answer_read(exchange& x, const status& st, std::string&& json, std::uint64_t projected) {
  header_list h = {{"Ledger-Projection-Seq", std::to_string(projected)}};
  if (!st.is_ok()) {
    problem p = problem_of(st, fault::caller);
    if (p.status >= 500) x.log_error(st);
    // The queries' messages begin with the parameter they refuse ("limit
    // must be 1 to 200", "from must be before to"): name it in `field`.
    if (p.status == 400 && p.field.empty()) {
      auto msg = st.message();
      auto word = std::string_view(msg).substr(0, msg.find(' '));
      for (const auto& [k, v] : x.query)
        if (k == word) p.field = k;
    }
    p.headers.insert(p.headers.begin(), h.begin(), h.end());
    return x.fail(p);
  }
  http_response r;
  r.body = std::move(json);
  r.headers = std::move(h);
  x.finish(std::move(r));
}

void read(const exchange_ptr& x, std::uint64_t id, const query_spec& spec) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  read_query q;
  q.what = spec.what;
  q.id = id;
  if (!read_params(*x, spec, q)) return;
  if (x->who->role_ == role::user) {
    q.visible_to_owner = x->who->subject;
    if (spec.wallet_scoped)
      if (auto p = x->svc.state.owned(*x->who, id, "")) return x->fail(*p);
  }
  auto* reads = x->svc.config.reads;
  if (!reads)
    return x->fail({503, "unavailable", "no read models are configured (PostgreSQL)", "", {{"Retry-After", "5"}}});
  bool accepted = reads->run(std::move(q), [x](const status& st, std::string json, std::uint64_t projected) {
    x->svc.dispatch([x, st, json = std::move(json), projected]() mutable {
      answer_read(*x, st, std::move(json), projected);
    });
  });
  if (!accepted) x->fail({503, "overloaded", "too many reads in progress; retry shortly", "", {{"Retry-After", "1"}}});
}

void on_history(const exchange_ptr& x, std::uint64_t id) {
  read(x, id, {read_query::kind::history, {"type", "status", "asset", "from", "to", "reference", "cursor", "limit"}, {}, true});
}
void on_statement(const exchange_ptr& x, std::uint64_t id) {
  read(x, id, {read_query::kind::statement, {"asset", "from", "to"}, {"asset", "from", "to"}, true});
}
void on_balance_at(const exchange_ptr& x, std::uint64_t id) {
  read(x, id, {read_query::kind::balance_at, {"asset", "at"}, {"asset", "at"}, true});
}
void on_transaction(const exchange_ptr& x, std::uint64_t id) {
  read(x, id, {read_query::kind::transaction, {}, {}, false});
}
void on_find_transactions(const exchange_ptr& x, std::uint64_t) {
  read(x, 0, {read_query::kind::by_reference, {"reference"}, {"reference"}, false});
}

}  // namespace

void add_history_routes(router& r) {
  r.add("GET", "/v1/wallets/{id}/transactions", "wallet_history", &on_history);
  r.add("GET", "/v1/wallets/{id}/statement", "wallet_statement", &on_statement);
  r.add("GET", "/v1/wallets/{id}/balance-at", "wallet_balance_at", &on_balance_at);
  r.add("GET", "/v1/transactions/{id}", "get_transaction", &on_transaction);
  r.add("GET", "/v1/transactions", "find_transactions", &on_find_transactions);
}

}  // namespace ledger::api
