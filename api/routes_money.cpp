// Money movements: deposits from providers (at once, or pending and then
// completed, failed or cancelled), withdrawals (start, processing, settle,
// fail, cancel), payments and refunds with their statuses, transfers between
// wallets, reversals, and the fee schedules (docs/api.md, "Money").
#include "api/commands.h"
#include "api/routes.h"
#include "api/service_binding.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

std::optional<int> scale_of(state_reads& s, std::string_view code) { return s.asset_scale(code); }

// A bound service's refusal as a problem (403, the field to blame).
std::optional<problem> forbid(std::optional<binding_refusal> r) {
  if (!r) return std::nullopt;
  return problem{403, "forbidden", std::move(r->detail), std::move(r->field), {}};
}

std::optional<problem> bound_deposit(state_reads&, const principal& p, const command_body& b) {
  if (const auto* pending = std::get_if<open_deposit_cmd>(&b)) return forbid(check_deposit_binding(p, pending->provider));
  return forbid(check_deposit_binding(p, std::get<deposit_cmd>(b).provider));
}

// A withdrawal's wallet (or the payouts account) must be bound; an id that is
// no withdrawal is left for the engine to reject and record.
std::optional<problem> bound_withdrawal(state_reads& s, const principal& p, std::uint64_t id) {
  if (p.role_ != role::service) return std::nullopt;
  auto w = s.pending(id);
  if (!w || w->kind != pending_kind::withdrawal) return std::nullopt;
  return forbid(check_withdrawal_binding(p, w->debit_account, w->credit_account, "withdrawal_id"));
}

std::optional<problem> bound_settle(state_reads& s, const principal& p, const command_body& b) {
  return bound_withdrawal(s, p, std::get<settle_withdrawal_cmd>(b).withdrawal_id);
}

std::optional<problem> bound_fail(state_reads& s, const principal& p, const command_body& b) {
  return bound_withdrawal(s, p, std::get<fail_withdrawal_cmd>(b).withdrawal_id);
}

// "status": "pending" opens a pending deposit (credits nothing until it
// completes); without it (or "completed") the deposit is credited at once.
void parse_deposit(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  open_deposit_cmd c;
  c.wallet = r.id("wallet_id");
  int scale = r.asset("asset", [&](std::string_view code) { return scale_of(s, code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.provider = r.text("provider", true, owner_bytes_max - 9);  // "clearing:" + provider is a name too
  c.reference = r.text("reference", false, reference_bytes_max);
  c.description = r.text("description", false, description_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  std::string status = r.text("status", false, 16);
  if (status == "pending") {
    out = std::move(c);
    return;
  }
  if (!status.empty() && status != "completed") r.fail("status", "must be pending or completed");
  out = deposit_cmd{c.wallet, c.asset, c.amount, c.provider, c.reference, c.metadata, c.description};
}

void parse_withdraw(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  withdraw_cmd c;
  c.wallet = r.id("wallet_id");
  int scale = r.asset("asset", [&](std::string_view code) { return scale_of(s, code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.reference = r.text("reference", false, reference_bytes_max);
  c.description = r.text("description", false, description_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  out = std::move(c);
}

std::optional<problem> own_withdrawal(state_reads& s, const principal& p, const command_body& b) {
  return s.owned(p, std::get<withdraw_cmd>(b).wallet, "wallet_id");
}

void parse_settle(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  out = settle_withdrawal_cmd{id_or_path(r, "withdrawal_id", path_id)};
}

void parse_fail(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  fail_withdrawal_cmd c;
  c.withdrawal_id = id_or_path(r, "withdrawal_id", path_id);
  c.reason = r.text("reason", false, reference_bytes_max);
  out = std::move(c);
}

void parse_transfer(state_reads& s, field_reader& r, const principal& p, std::uint64_t, command_body& out) {
  transfer_cmd c;
  c.from = r.id("from_wallet_id");
  c.to = r.id("to_wallet_id");
  int scale = r.asset("asset", [&](std::string_view code) { return scale_of(s, code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.fee = r.amount("fee", false, scale, true);
  // A fee is the house's income: a user choosing its own would choose zero.
  // Only a service or an admin (acting for the fee rules) may set one.
  if (c.fee > 0 && p.role_ == role::user) r.fail("fee", "only a service or an admin may set a transfer fee", "forbidden", 403);
  c.reference = r.text("reference", false, reference_bytes_max);
  c.description = r.text("description", false, description_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  out = std::move(c);
}

std::optional<problem> own_transfer(state_reads& s, const principal& p, const command_body& b) {
  return s.owned(p, std::get<transfer_cmd>(b).from, "from_wallet_id");
}

void parse_reverse(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  reverse_cmd c;
  c.transaction_id = id_or_path(r, "transaction_id", path_id);
  c.reason = r.text("reason", false, reference_bytes_max);
  out = std::move(c);
}

// --- statuses: pending deposits, payments, refunds, withdrawals ------------

template <money_kind kind, money_status to>
void parse_move(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  change_money_status_cmd c;
  c.id = id_or_path(r, "id", path_id);
  c.kind = kind;
  c.to = to;
  c.reason = r.text("reason", false, reference_bytes_max);
  out = std::move(c);
}

// A bound service may move a transaction only when it is bound to what the
// transaction touches: a deposit's provider, or both accounts of a payment,
// refund or withdrawal. An unknown id is left for the engine to reject.
std::optional<problem> bound_move(state_reads& s, const principal& p, const command_body& b) {
  if (p.role_ != role::service) return std::nullopt;
  const auto& c = std::get<change_money_status_cmd>(b);
  auto m = s.money_tx(c.id);
  if (!m) {
    if (c.kind != money_kind::withdrawal) return std::nullopt;
    return bound_withdrawal(s, p, c.id);
  }
  if (m->kind == money_kind::deposit) return forbid(check_deposit_binding(p, m->provider));
  if (m->kind == money_kind::withdrawal) return forbid(check_withdrawal_binding(p, m->debit_account, m->credit_account, "id"));
  return forbid(check_hold_use_binding(p, m->debit_account, m->credit_account, "id"));
}

// A user may cancel its own pending withdrawal.
std::optional<problem> own_or_bound_move(state_reads& s, const principal& p, const command_body& b) {
  if (p.role_ != role::user) return bound_move(s, p, b);
  const auto& c = std::get<change_money_status_cmd>(b);
  auto w = s.pending(c.id);
  if (!w || w->kind != pending_kind::withdrawal)
    return problem{404, "not-found", "withdrawal " + std::to_string(c.id) + " not found", "id", {}};
  return s.owned(p, w->debit_account, "id");
}

void parse_pay(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  pay_cmd c;
  c.wallet = r.id("wallet_id");
  c.merchant = r.id("merchant_account_id");
  int scale = r.asset("asset", [&](std::string_view code) { return scale_of(s, code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.reference = r.text("reference", false, reference_bytes_max);
  c.description = r.text("description", false, description_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  out = std::move(c);
}

std::optional<problem> own_payment(state_reads& s, const principal& p, const command_body& b) {
  return s.owned(p, std::get<pay_cmd>(b).wallet, "wallet_id");
}

void parse_refund(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  refund_cmd c;
  c.payment_id = r.id("payment_id");
  // The amount is at the payment's asset's scale; an unknown payment is the
  // engine's to reject (scale 0 reads whole units until then).
  auto paid = r.ok() ? s.money_tx(c.payment_id) : std::nullopt;
  c.amount = r.amount("amount", true, paid ? scale_of(s, paid->asset).value_or(0) : 0);
  c.reference = r.text("reference", false, reference_bytes_max);
  c.description = r.text("description", false, description_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  out = std::move(c);
}

std::optional<problem> bound_refund(state_reads& s, const principal& p, const command_body& b) {
  if (p.role_ != role::service) return std::nullopt;
  auto m = s.money_tx(std::get<refund_cmd>(b).payment_id);
  if (!m) return std::nullopt;
  return forbid(check_hold_use_binding(p, m->debit_account, m->credit_account, "payment_id"));
}

// --- fee schedules (admin) --------------------------------------------------

std::optional<money_kind> fee_kind_of(std::string_view k) {
  if (k == "transfer") return money_kind::transfer;
  if (k == "withdrawal") return money_kind::withdrawal;
  if (k == "payment") return money_kind::payment;
  return std::nullopt;
}

// Asset and kind from the path (or, in a batch, from the body).
bool read_fee_target(state_reads& s, field_reader& r, std::string asset, std::string kind, std::string& asset_out,
                     money_kind& kind_out, int& scale) {
  if (asset.empty()) asset = r.text("asset", true, asset_code_bytes_max);
  if (kind.empty()) kind = r.text("kind", true, 16);
  if (!r.ok()) return false;
  auto sc = scale_of(s, asset);
  auto k = fee_kind_of(kind);
  if (!sc) r.fail("asset", "asset " + asset + " is not registered", "not-found", 404);
  else if (!k) r.fail("kind", "must be transfer, withdrawal or payment");
  if (!r.ok()) return false;
  asset_out = asset;
  kind_out = *k;
  scale = *sc;
  return true;
}

void parse_fee_schedule(state_reads& s, field_reader& r, std::string asset, std::string kind, command_body& out) {
  set_fee_schedule_cmd c;
  int scale = 0;
  if (!read_fee_target(s, r, std::move(asset), std::move(kind), c.asset, c.kind, scale)) return;
  c.fixed = r.amount("fixed", true, scale, true);
  c.basis_points = static_cast<std::uint32_t>(r.integer("basis_points", true, 0, basis_points_max));
  c.minimum = r.amount("minimum", true, scale, true);
  c.maximum = r.amount("maximum", true, scale, true);
  if (r.ok() && c.maximum < c.minimum) r.fail("maximum", "must not be below minimum");
  out = std::move(c);
}

void parse_fee_removal(state_reads& s, field_reader& r, std::string asset, std::string kind, command_body& out) {
  remove_fee_schedule_cmd c;
  int scale = 0;
  if (!read_fee_target(s, r, std::move(asset), std::move(kind), c.asset, c.kind, scale)) return;
  out = std::move(c);
}

void parse_fee_schedule_item(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  parse_fee_schedule(s, r, {}, {}, out);
}

void parse_fee_removal_item(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  parse_fee_removal(s, r, {}, {}, out);
}

// PUT and DELETE /v1/fee-schedules/{asset}/{kind}: segments 2 and 3.
void on_put_fee(const exchange_ptr& x, std::uint64_t) {
  std::string asset(x->segments.at(2)), kind(x->segments.at(3));
  answer_command(x, true, [&](state_reads& s, field_reader& r, const principal&, command_body& out) {
    parse_fee_schedule(s, r, asset, kind, out);
  });
}

void on_delete_fee(const exchange_ptr& x, std::uint64_t) {
  std::string asset(x->segments.at(2)), kind(x->segments.at(3));
  answer_command(x, false, [&](state_reads& s, field_reader& r, const principal&, command_body& out) {
    parse_fee_removal(s, r, asset, kind, out);
  });
}

// GET /v1/fee-schedules: every schedule, by asset then kind, amounts at
// the asset's scale.
void on_list_fees(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  constexpr std::size_t schedules_max = ledger_assets_max * 3;  // three kinds carry fees
  if (auto st = x->svc.ledger.storage().scan_state(keys::fee_schedule_prefix(), {}, schedules_max, rows); !st)
    return x->fail_status(st, fault::ledger);
  json_out j;
  j.begin_object().key("fee_schedules").begin_array();
  for (const auto& [k, v] : rows) {
    fee_schedule_record f;
    if (!decode(v, f)) continue;
    auto& st = x->svc.state;
    j.begin_object()
        .field("asset", f.asset)
        .field("kind", to_string(f.kind))
        .field("fixed", st.format(f.fixed, f.asset))
        .field("basis_points", f.basis_points)
        .field("minimum", st.format(f.minimum, f.asset))
        .field("maximum", st.format(f.maximum, f.asset))
        .end_object();
  }
  j.end_array().end_object();
  http_response r;
  r.body = j.take();
  x->finish(std::move(r));
}

void add_status_routes(router& r) {
  constexpr unsigned provider_side = role_service | role_admin;
  using K = money_kind;
  using S = money_status;
  add_command(r, "/v1/deposits/{id}/processing", {"deposit_processing", 200, provider_side, parse_move<K::deposit, S::processing>, bound_move});
  add_command(r, "/v1/deposits/{id}/complete", {"complete_deposit", 200, provider_side, parse_move<K::deposit, S::completed>, bound_move});
  add_command(r, "/v1/deposits/{id}/fail", {"fail_deposit", 200, provider_side, parse_move<K::deposit, S::failed>, bound_move});
  add_command(r, "/v1/deposits/{id}/cancel", {"cancel_deposit", 200, provider_side, parse_move<K::deposit, S::cancelled>, bound_move});
  add_command(r, "/v1/payments", {"pay", 201, role_user | role_admin, parse_pay, own_payment});
  add_command(r, "/v1/payments/{id}/processing", {"payment_processing", 200, provider_side, parse_move<K::payment, S::processing>, bound_move});
  add_command(r, "/v1/payments/{id}/complete", {"complete_payment", 200, provider_side, parse_move<K::payment, S::completed>, bound_move});
  add_command(r, "/v1/payments/{id}/fail", {"fail_payment", 200, provider_side, parse_move<K::payment, S::failed>, bound_move});
  add_command(r, "/v1/payments/{id}/cancel", {"cancel_payment", 200, provider_side, parse_move<K::payment, S::cancelled>, bound_move});
  add_command(r, "/v1/refunds", {"refund", 201, provider_side, parse_refund, bound_refund});
  add_command(r, "/v1/refunds/{id}/processing", {"refund_processing", 200, provider_side, parse_move<K::refund, S::processing>, bound_move});
  add_command(r, "/v1/refunds/{id}/complete", {"complete_refund", 200, provider_side, parse_move<K::refund, S::completed>, bound_move});
  add_command(r, "/v1/refunds/{id}/fail", {"fail_refund", 200, provider_side, parse_move<K::refund, S::failed>, bound_move});
  add_command(r, "/v1/refunds/{id}/cancel", {"cancel_refund", 200, provider_side, parse_move<K::refund, S::cancelled>, bound_move});
  add_command(r, "/v1/withdrawals/{id}/processing", {"withdrawal_processing", 200, provider_side, parse_move<K::withdrawal, S::processing>, bound_move});
  add_command(r, "/v1/withdrawals/{id}/cancel", {"cancel_withdrawal", 200, role_user | provider_side, parse_move<K::withdrawal, S::cancelled>, own_or_bound_move});
}

}  // namespace

void add_money_routes(router& r) {
  add_command(r, "/v1/deposits", {"deposit", 201, role_service | role_admin, parse_deposit, bound_deposit});
  add_command(r, "/v1/withdrawals", {"withdraw", 201, role_user | role_admin, parse_withdraw, own_withdrawal});
  add_command(r, "/v1/withdrawals/{id}/settle",
              {"settle_withdrawal", 200, role_service | role_admin, parse_settle, bound_settle});
  add_command(r, "/v1/withdrawals/{id}/fail", {"fail_withdrawal", 200, role_service | role_admin, parse_fail, bound_fail});
  add_command(r, "/v1/transfers", {"transfer", 201, role_user | role_admin, parse_transfer, own_transfer});
  add_command(r, "/v1/transactions/{id}/reverse", {"reverse", 201, role_admin, parse_reverse, no_check});
  add_status_routes(r);
  r.add("GET", "/v1/fee-schedules", "list_fee_schedules", &on_list_fees);
  r.add("PUT", "/v1/fee-schedules/{asset}/{kind}", "set_fee_schedule", &on_put_fee,
        operation{"set_fee_schedule", 200, role_admin, parse_fee_schedule_item, no_check});
  r.add("DELETE", "/v1/fee-schedules/{asset}/{kind}", "remove_fee_schedule", &on_delete_fee,
        operation{"remove_fee_schedule", 200, role_admin, parse_fee_removal_item, no_check});
}

}  // namespace ledger::api
