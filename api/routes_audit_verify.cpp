// GET /v1/audit/verify: the running ledger checks its own journal, every
// chain link and checkpoint digest from seq 1 up to a seq, with the code of
// `ledgerctl audit verify` (through audit_reads, so api/ does not depend on
// the tools). The work runs on the audit adapter's own thread, never on an
// I/O thread; one verification at a time (503 with Retry-After otherwise).
#include "api/exchange.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

// Reads seq= (default: the head), bounded by the head; false after answering.
bool read_verify_query(exchange& x, std::uint64_t& seq) {
  auto head = x.svc.ledger.head().seq;
  seq = head;
  for (const auto& [k, v] : x.query) {
    if (k != "seq") return x.fail({400, "unknown-field", "unknown query parameter", k, {}}), false;
    auto n = parse_id(v);
    if (!n) return x.fail({400, "invalid-field", "must be a sequence number (1 or more, no sign)", "seq", {}}), false;
    seq = *n;
  }
  if (seq > head)
    return x.fail({400, "invalid-field", "is past the journal's head (" + std::to_string(head) + ")", "seq", {}}), false;
  if (seq == 0) return x.fail({400, "invalid-field", "the journal is empty: nothing to verify", "seq", {}}), false;
  return true;
}

std::string verify_json(const audit_verify_result& r) {
  json_out j;
  j.begin_object().field("verified", r.verified);
  if (r.verified) {
    j.field("events", r.events)
        .field("last_seq", r.last_seq)
        .field("head_hash", r.head_hash)
        .field("checkpoints_checked", r.checkpoints_checked);
  } else {
    if (r.bad_seq) j.field("bad_seq", r.bad_seq);
    j.field("problem", r.problem);
  }
  j.end_object();
  return j.take();
}

void on_verify(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_auditor)) return;
  std::uint64_t seq = 0;
  if (!read_verify_query(*x, seq)) return;
  auto* audit = x->svc.config.audit;
  if (!audit) return x->fail({503, "unavailable", "verification is not configured here", "", {{"Retry-After", "5"}}});
  bool accepted = audit->verify(seq, [x](const status& st, audit_verify_result r) {
    x->svc.dispatch([x, st, r = std::move(r)] {
      if (!st) return x->fail_status(st, fault::ledger);
      http_response out;
      out.body = verify_json(r);
      x->finish(std::move(out));
    });
  });
  if (!accepted)
    x->fail({503, "overloaded", "a verification is already running; retry when it ends", "", {{"Retry-After", "5"}}});
}

}  // namespace

void add_audit_verify_routes(router& r) { r.add("GET", "/v1/audit/verify", "audit_verify", &on_verify); }

}  // namespace ledger::api
