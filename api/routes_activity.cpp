// Reads from the read models for payment requests and the activity log:
// GET /v1/payment-requests?role=requester|payer[&status][&cursor][&limit][&owner]
// GET /v1/activity[?from][&to][&cursor][&limit][&owner]
// Users read their own (`owner` is theirs, and may be left out); admins and
// auditors name the owner (activity: or leave it out for every owner).
#include "api/exchange.h"
#include "api/private_text.h"
#include "api/request_parse.h"
#include "api/routes.h"

namespace ledger::api {

namespace {

// Reads the query parameters into `q`; false after answering.
bool read_params(exchange& x, std::initializer_list<const char*> allowed, read_query& q) {
  for (const auto& [k, v] : x.query) {
    if (k == "min_seq") {
      // Read-your-writes: wait until the read models reach a seq this instance knows.
      auto n = parse_id(v);
      if (!n || *n > x.svc.ledger.known_seq())
        return x.fail({400, "invalid-field", "must be a sequence number up to the journal head", "min_seq", {}}), false;
      q.min_seq = *n;
      continue;
    }
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) return x.fail({400, "unknown-field", "unknown query parameter", k, {}}), false;
    if (v.size() > 256) return x.fail({400, "invalid-field", "longer than 256 bytes", k, {}}), false;
    if (!q.params.emplace(k, v).second) return x.fail({400, "invalid-field", "given twice", k, {}}), false;
  }
  return true;
}

// Whose rows: a user its own (naming another is refused), others the
// `owner` parameter. False after answering.
bool resolve_owner(exchange& x, read_query& q, bool owner_required) {
  auto it = q.params.find("owner");
  if (x.who->role_ == role::user) {
    if (it != q.params.end() && it->second != x.who->subject)
      return x.fail({403, "forbidden", "a user reads only its own", "owner", {}}), false;
    q.params["owner"] = x.who->subject;
    return true;
  }
  if (owner_required && it == q.params.end()) return x.fail({400, "invalid-field", "is required", "owner", {}}), false;
  return true;
}

void run(const exchange_ptr& x, read_query q) {
  auto* reads = x->svc.config.reads;
  if (!reads)
    return x->fail({503, "unavailable", "no read models are configured (PostgreSQL)", "", {{"Retry-After", "5"}}});
  bool accepted = reads->run(std::move(q), [x](const status& st, std::string json, std::uint64_t projected) {
    x->svc.dispatch([x, st, json = std::move(json), projected]() mutable {
      header_list h = {{"Ledger-Projection-Seq", std::to_string(projected)}};
      if (!st.is_ok()) {
        problem p = problem_of(st, fault::caller);
        if (p.status >= 500) x->log_error(st);
        // The queries' messages begin with the parameter they refuse.
        if (p.status == 400 && p.field.empty()) p.field = st.message().substr(0, st.message().find(' '));
        p.headers.insert(p.headers.begin(), h.begin(), h.end());
        return x->fail(p);
      }
      http_response r;
      r.body = std::move(json);
      r.headers = std::move(h);
      x->finish(std::move(r));
    });
  });
  if (!accepted) x->fail({503, "overloaded", "too many reads in progress; retry shortly", "", {{"Retry-After", "1"}}});
}

void on_list_requests(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  read_query q;
  q.what = read_query::kind::payment_requests;
  if (!read_params(*x, {"role", "status", "cursor", "limit", "owner"}, q) || !resolve_owner(*x, q, true)) return;
  if (!q.params.count("role")) return x->fail({400, "invalid-field", "is required (requester or payer)", "role", {}});
  q.reveal = [keys = x->svc.config.payment_keys](json_out& j, std::string_view field, std::string_view author,
                                                 std::string_view stored) {
    write_private_text(j, keys, author, field, stored);
  };
  run(x, std::move(q));
}

void on_activity(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  read_query q;
  q.what = read_query::kind::activity;
  if (!read_params(*x, {"from", "to", "cursor", "limit", "owner"}, q) || !resolve_owner(*x, q, false)) return;
  run(x, std::move(q));
}

}  // namespace

void add_activity_routes(router& r) {
  r.add("GET", "/v1/payment-requests", "list_payment_requests", &on_list_requests);
  r.add("GET", "/v1/activity", "list_activity", &on_activity);
}

}  // namespace ledger::api
