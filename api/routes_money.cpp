// Money movements: deposits from providers, withdrawals (start, settle,
// fail), transfers between wallets, and reversals.
#include "api/commands.h"
#include "api/routes.h"
#include "api/service_binding.h"

namespace ledger::api {

namespace {

std::optional<int> scale_of(state_reads& s, std::string_view code) { return s.asset_scale(code); }

// A bound service's refusal as a problem (403, the field to blame).
std::optional<problem> forbid(std::optional<binding_refusal> r) {
  if (!r) return std::nullopt;
  return problem{403, "forbidden", std::move(r->detail), std::move(r->field), {}};
}

std::optional<problem> bound_deposit(state_reads&, const principal& p, const command_body& b) {
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

void parse_deposit(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  deposit_cmd c;
  c.wallet = r.id("wallet_id");
  int scale = r.asset("asset", [&](std::string_view code) { return scale_of(s, code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.provider = r.text("provider", true, owner_bytes_max - 9);  // "clearing:" + provider is a name too
  c.reference = r.text("reference", false, reference_bytes_max);
  c.metadata = r.object_text("metadata", metadata_bytes_max);
  out = std::move(c);
}

void parse_withdraw(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  withdraw_cmd c;
  c.wallet = r.id("wallet_id");
  int scale = r.asset("asset", [&](std::string_view code) { return scale_of(s, code); }, c.asset);
  c.amount = r.amount("amount", true, scale);
  c.reference = r.text("reference", false, reference_bytes_max);
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

}  // namespace

void add_money_routes(router& r) {
  add_command(r, "/v1/deposits", {"deposit", 201, role_service | role_admin, parse_deposit, bound_deposit});
  add_command(r, "/v1/withdrawals", {"withdraw", 201, role_user | role_admin, parse_withdraw, own_withdrawal});
  add_command(r, "/v1/withdrawals/{id}/settle",
              {"settle_withdrawal", 200, role_service | role_admin, parse_settle, bound_settle});
  add_command(r, "/v1/withdrawals/{id}/fail", {"fail_withdrawal", 200, role_service | role_admin, parse_fail, bound_fail});
  add_command(r, "/v1/transfers", {"transfer", 201, role_user | role_admin, parse_transfer, own_transfer});
  add_command(r, "/v1/transactions/{id}/reverse", {"reverse", 201, role_admin, parse_reverse, no_check});
}

}  // namespace ledger::api
