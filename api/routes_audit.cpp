// Auditors over HTTP: every account's balances and open holds at a point
// (the same rebuild as `ledgerctl audit state`, through audit_reads), the
// engine's checkpoints, and the public half of the ledger's audit signing
// key. State and checkpoints are for auditor and admin only.
#include "api/exchange.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "base/json_out.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

// Reads seq= or at= (exactly one) and wallet=; false after answering.
bool read_state_query(exchange& x, audit_state_query& q) {
  for (const auto& [k, v] : x.query) {
    if (k == "seq") {
      auto n = v == "0" ? std::optional<std::uint64_t>(0) : parse_id(v);
      if (!n) return x.fail({400, "invalid-field", "must be a sequence number (0 or more, no sign)", "seq", {}}), false;
      q.seq = *n;
    } else if (k == "at") {
      auto ts = parse_rfc3339_us(v);
      if (!ts) return x.fail({400, "invalid-field", "must be an RFC 3339 time such as 2026-01-31T12:00:00Z", "at", {}}), false;
      q.at_us = *ts;
    } else if (k == "wallet") {
      auto n = parse_id(v);
      if (!n) return x.fail({400, "invalid-field", "must be a wallet id (a positive integer)", "wallet", {}}), false;
      q.wallet = *n;
    } else {
      return x.fail({400, "unknown-field", "unknown query parameter", k, {}}), false;
    }
  }
  if (q.seq && q.at_us) return x.fail({400, "invalid-field", "give seq or at, not both", "at", {}}), false;
  if (!q.seq && !q.at_us) return x.fail({400, "invalid-field", "seq or at is required", "seq", {}}), false;
  if (q.seq && *q.seq > x.svc.ledger.head().seq)
    return x.fail({400, "invalid-field", "is past the journal's head (" + std::to_string(x.svc.ledger.head().seq) + ")",
                   "seq", {}}),
           false;
  return true;
}

void on_state(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_auditor)) return;
  audit_state_query q;
  if (!read_state_query(*x, q)) return;
  auto* audit = x->svc.config.audit;
  if (!audit) return x->fail({503, "unavailable", "point-in-time state is not configured here", "", {{"Retry-After", "5"}}});
  bool accepted = audit->state(q, [x](const status& st, std::string ndjson) {
    x->svc.dispatch([x, st, ndjson = std::move(ndjson)]() mutable {
      if (!st) return x->fail_status(st, fault::ledger);
      http_response r;
      r.content_type = "application/x-ndjson";
      r.body = std::move(ndjson);
      x->finish(std::move(r));
    });
  });
  if (!accepted)
    x->fail({503, "overloaded", "too many state rebuilds in progress; retry shortly", "", {{"Retry-After", "2"}}});
}

void on_checkpoints(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_auditor)) return;
  if (!x->query.empty()) return x->fail({400, "unknown-field", "unknown query parameter", x->query.front().first, {}});
  std::vector<checkpoint> cps;
  if (auto s = x->svc.ledger.storage().load_checkpoints(cps); !s) return x->fail_status(s, fault::ledger);
  auto head = x->svc.ledger.head().seq;
  json_out j;
  j.begin_object().key("checkpoints").begin_array();
  for (const auto& c : cps) {
    if (c.seq > head) continue;  // not released yet (a gated store): not part of the ledger's history
    j.begin_object().field("seq", c.seq).field("chain", to_hex(c.chain)).field("state_digest", to_hex(c.state_digest));
    j.end_object();
  }
  j.end_array().field("head_seq", head).end_object();
  http_response r;
  r.body = j.take();
  x->finish(std::move(r));
}

void on_public_key(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(any_role)) return;
  const auto& pem = x->svc.config.audit_public_key_pem;
  if (pem.empty())
    return x->fail({404, "no-audit-key", "this ledger has no audit signing key configured (--audit-signing-key)", "", {}});
  json_out j;
  j.begin_object().field("algorithm", "Ed25519").field("public_key_pem", pem).end_object();
  http_response r;
  r.body = j.take();
  x->finish(std::move(r));
}

}  // namespace

void add_audit_routes(router& r) {
  r.add("GET", "/v1/audit/state", "audit_state", &on_state);
  r.add("GET", "/v1/audit/checkpoints", "audit_checkpoints", &on_checkpoints);
  r.add("GET", "/v1/audit/public-key", "audit_public_key", &on_public_key);
}

}  // namespace ledger::api
