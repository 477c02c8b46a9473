// Payment requests (docs/payment-requests.md): create, pay, decline and
// cancel as commands; one request from the ledger's state; lists by
// requester or payer from the read models; the request's QR code (a URI
// naming it) as a PNG; and the activity log (GET /v1/activity).
//
// Who may do what: users act for themselves (the requester and payer of a
// command are the caller's token subject); a request is visible only to its
// requester and payer (anyone else gets 404, so ids cannot be probed),
// admins and auditors see all.
#include "api/commands.h"
#include "api/private_text.h"
#include "api/qr_png.h"
#include "api/routes.h"
#include "base/json_out.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

constexpr int qr_module_px = 8;

void parse_create(state_reads& s, field_reader& r, const principal& p, std::uint64_t, command_body& out) {
  create_payment_request_cmd c;
  c.requester = p.subject;
  c.wallet = r.id("wallet_id");
  c.payer = r.text("payer", true, owner_bytes_max);
  int scale = r.asset("asset", [&](std::string_view code) { return s.asset_scale(code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.note = r.text("note", false, payment_request_note_bytes_max);
  seal_private_text(r, s.keys(), c.requester, "note", c.note);
  std::string at = r.text("expires_at", true, 64);
  if (r.ok()) {
    if (auto us = parse_rfc3339_us(at)) c.expires_at_us = *us;
    else r.fail("expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z");
  }
  if (r.ok() && c.payer == c.requester) r.fail("payer", "must not be the requester");
  out = std::move(c);
}

std::optional<problem> own_create(state_reads& s, const principal& p, const command_body& b) {
  return s.owned(p, std::get<create_payment_request_cmd>(b).wallet, "wallet_id");
}

void parse_pay(state_reads& s, field_reader& r, const principal& p, std::uint64_t path_id, command_body& out) {
  pay_payment_request_cmd c;
  c.id = id_or_path(r, "id", path_id);
  c.payer = p.subject;
  c.wallet = r.id("wallet_id");
  int scale = r.asset("asset", [&](std::string_view code) { return s.asset_scale(code); }, c.asset);
  c.amount = r.amount("amount", false, scale);
  out = std::move(c);
}

std::optional<problem> own_pay(state_reads& s, const principal& p, const command_body& b) {
  return s.owned(p, std::get<pay_payment_request_cmd>(b).wallet, "wallet_id");
}

void parse_decline(state_reads& s, field_reader& r, const principal& p, std::uint64_t path_id, command_body& out) {
  decline_payment_request_cmd c;
  c.id = id_or_path(r, "id", path_id);
  c.payer = p.subject;
  c.reason = r.text("reason", false, payment_request_reason_bytes_max);
  seal_private_text(r, s.keys(), c.payer, "reason", c.reason);
  out = std::move(c);
}

void parse_cancel(state_reads& s, field_reader& r, const principal& p, std::uint64_t path_id, command_body& out) {
  cancel_payment_request_cmd c;
  c.id = id_or_path(r, "id", path_id);
  c.requester = p.subject;
  c.reason = r.text("reason", false, payment_request_reason_bytes_max);
  seal_private_text(r, s.keys(), c.requester, "reason", c.reason);
  out = std::move(c);
}

// --- reads ------------------------------------------------------------------

// The request as the ledger holds it, if the caller may see it; false after answering.
bool visible_request(exchange& x, std::uint64_t id, payment_request_record& out) {
  std::string v;
  auto& st = x.svc.ledger.storage();
  bool found = (st.read_state(keys::open_payment_request(id), v) || st.read_state(keys::closed_payment_request(id), v)) &&
               decode(v, out).is_ok();
  if (found && x.who->role_ == role::user && out.requester != x.who->subject && out.payer != x.who->subject) found = false;
  if (!found) x.fail({404, "not-found", "no payment request " + std::to_string(id), "id", {}});
  return found;
}

// The URI a QR code carries: it names the request, its asset and amount (no
// owner names: a printed code must not carry personal data).
std::string request_uri(exchange& x, const payment_request_record& r) {
  return "ledger://payment-requests/" + std::to_string(r.id) + "?asset=" + r.asset +
         "&amount=" + x.svc.state.format(r.amount, r.asset);
}

// A pending request past its expiry is expired already: any command would
// find it so (and the sweep before that command closes it).
std::string_view status_now(exchange& x, const payment_request_record& r) {
  if (r.status == payment_request_status::pending && r.expires_at_us <= x.svc.ledger.head().log_ts_us)
    return "expired";
  return to_string(r.status);
}

void on_get(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  payment_request_record r;
  if (!visible_request(*x, id, r)) return;
  json_out j;
  j.begin_object()
      .field("id", r.id)
      .field("requester", r.requester)
      .field("wallet_id", r.wallet)
      .field("payer", r.payer)
      .field("asset", r.asset)
      .field("amount", x->svc.state.format(r.amount, r.asset));
  const payout_keys* keys = x->svc.config.payment_keys;
  write_private_text(j, keys, r.requester, "note", r.note);
  j.field("status", status_now(*x, r))
      .field("expires_at", format_rfc3339_us(r.expires_at_us))
      .field("created_at", format_rfc3339_us(r.opened_at_us));
  if (r.closed_at_us) j.field("closed_at", format_rfc3339_us(r.closed_at_us));
  else j.key("closed_at").null();
  if (r.transaction_id) j.field("transaction_id", r.transaction_id).field("payer_wallet_id", r.payer_wallet);
  else j.key("transaction_id").null().key("payer_wallet_id").null();
  if (r.reason.empty()) j.key("reason").null();
  else write_private_text(j, keys, r.status == payment_request_status::declined ? r.payer : r.requester, "reason", r.reason);
  j.field("qr_uri", request_uri(*x, r)).end_object();
  http_response resp;
  resp.body = j.take();
  resp.headers.emplace_back("Ledger-Seq", std::to_string(x->svc.ledger.head().seq));
  x->finish(std::move(resp));
}

void on_qr(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  payment_request_record r;
  if (!visible_request(*x, id, r)) return;
  http_response resp;
  std::string error;
  if (!qr_png(request_uri(*x, r), qr_module_px, resp.body, error))
    return x->fail({500, "internal", "the QR code could not be made: " + error, "", {}});
  resp.content_type = "image/png";
  resp.headers.emplace_back("Cache-Control", "private, max-age=60");
  x->finish(std::move(resp));
}

}  // namespace

// Defined in routes_activity.cpp.
void add_activity_routes(router& r);

void add_payment_request_routes(router& r) {
  add_command(r, "/v1/payment-requests", {"create_payment_request", 201, role_user, parse_create, own_create});
  add_command(r, "/v1/payment-requests/{id}/pay", {"pay_payment_request", 200, role_user, parse_pay, own_pay});
  add_command(r, "/v1/payment-requests/{id}/decline", {"decline_payment_request", 200, role_user, parse_decline, no_check});
  add_command(r, "/v1/payment-requests/{id}/cancel", {"cancel_payment_request", 200, role_user, parse_cancel, no_check});
  r.add("GET", "/v1/payment-requests/{id}", "get_payment_request", &on_get);
  r.add("GET", "/v1/payment-requests/{id}/qr.png", "get_payment_request_qr", &on_qr);
  add_activity_routes(r);
}

}  // namespace ledger::api
