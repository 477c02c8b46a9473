// Holds: placing one on a wallet's funds (with an expiry), capturing it in
// whole or in part, and voiding it.
#include "api/commands.h"
#include "api/routes.h"
#include "api/service_binding.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

void parse_hold(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  hold_cmd c;
  c.wallet = r.id("wallet_id");
  c.to = r.id("to_account_id");
  int scale = r.asset("asset", [&](std::string_view code) { return s.asset_scale(code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  std::string at = r.text("expires_at", true, 64);
  if (r.ok()) {
    if (auto us = parse_rfc3339_us(at))
      c.expires_at_us = *us;
    else
      r.fail("expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z");
  }
  c.reference = r.text("reference", false, reference_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  out = std::move(c);
}


// A bound service's refusal as a problem (403, the field to blame).
std::optional<problem> forbid(std::optional<binding_refusal> r) {
  if (!r) return std::nullopt;
  return problem{403, "forbidden", std::move(r->detail), std::move(r->field), {}};
}

std::optional<problem> own_hold(state_reads& s, const principal& p, const command_body& b) {
  const auto& h = std::get<hold_cmd>(b);
  if (auto refused = forbid(check_hold_binding(p, h.wallet, h.to))) return refused;
  return s.owned(p, h.wallet, "wallet_id");
}

// A bound service captures or voids only holds between its accounts; an id
// that is no hold is left for the engine to reject and record.
std::optional<problem> bound_hold_use(state_reads& s, const principal& p, std::uint64_t id) {
  if (p.role_ != role::service) return std::nullopt;
  auto h = s.pending(id);
  if (!h || h->kind != pending_kind::hold) return std::nullopt;
  return forbid(check_hold_use_binding(p, h->debit_account, h->credit_account, "hold_id"));
}

std::optional<problem> bound_capture(state_reads& s, const principal& p, const command_body& b) {
  return bound_hold_use(s, p, std::get<capture_cmd>(b).hold_id);
}

std::optional<problem> bound_void(state_reads& s, const principal& p, const command_body& b) {
  return bound_hold_use(s, p, std::get<void_hold_cmd>(b).hold_id);
}

void parse_capture(state_reads& s, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  capture_cmd c;
  c.hold_id = id_or_path(r, "hold_id", path_id);
  // The amount is in the hold's asset, so the hold must exist to read it.
  // An unknown hold is 404 whether or not an amount is given (not
  // journaled), so the answer does not depend on the body.
  auto p = r.ok() ? s.pending(c.hold_id) : std::nullopt;
  if (r.ok() && !p) {
    r.fail(path_id != 0 ? "" : "hold_id", "hold " + std::to_string(c.hold_id) + " not found", "not-found", 404);
  } else if (p) {
    // Absent: the whole hold. "0" is refused (400): a client that computed
    // zero by mistake must not charge the full hold.
    c.amount = r.amount("amount", false, s.asset_scale(p->asset).value_or(-1));
  }
  out = std::move(c);
}

void parse_void(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  out = void_hold_cmd{id_or_path(r, "hold_id", path_id)};
}

}  // namespace

void add_hold_routes(router& r) {
  add_command(r, "/v1/holds", {"hold", 201, role_user | role_service | role_admin, parse_hold, own_hold});
  add_command(r, "/v1/holds/{id}/capture", {"capture", 200, role_service | role_admin, parse_capture, bound_capture});
  add_command(r, "/v1/holds/{id}/void", {"void_hold", 200, role_service | role_admin, parse_void, bound_void});
}

}  // namespace ledger::api
