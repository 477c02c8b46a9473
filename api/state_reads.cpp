#include "api/state_reads.h"

#include <mutex>

#include "schemas/codec.h"

namespace ledger::api {

std::optional<int> state_reads::asset_scale(std::string_view code) {
  {
    std::shared_lock lock(mu_);
    if (auto it = scales_.find(std::string(code)); it != scales_.end()) return it->second;
  }
  std::string v;
  asset_record a;
  if (!backend_.storage().read_state(keys::asset(code), v) || !decode(v, a)) return std::nullopt;
  std::unique_lock lock(mu_);
  scales_[a.code] = a.scale;
  return a.scale;
}

std::optional<account_record> state_reads::account(std::uint64_t id) {
  std::string v;
  account_record a;
  if (id == 0 || !backend_.storage().read_state(keys::account(id), v) || !decode(v, a)) return std::nullopt;
  return a;
}

status state_reads::read_account(std::uint64_t id, std::optional<account_record>& out) {
  out.reset();
  std::string v;
  status st = id == 0 ? status::not_found("account 0") : backend_.storage().read_state(keys::account(id), v);
  if (st.error_code() == status::code::not_found) return status::ok();
  if (!st) return st;
  account_record a;
  if (auto d = decode(v, a); !d) return d;
  out = std::move(a);
  return status::ok();
}

std::optional<pending_record> state_reads::pending(std::uint64_t id) {
  std::string v;
  pending_record p;
  if (backend_.storage().read_state(keys::open_pending(id), v) && decode(v, p)) return p;
  if (backend_.storage().read_state(keys::closed_pending(id), v) && decode(v, p)) return p;
  return std::nullopt;
}

std::optional<money_tx_record> state_reads::money_tx(std::uint64_t id) {
  std::string v;
  money_tx_record m;
  if (id != 0 && backend_.storage().read_state(keys::money_tx(id), v) && decode(v, m)) return m;
  return std::nullopt;
}

std::optional<problem> state_reads::owned(const principal& p, std::uint64_t wallet, std::string_view field) {
  if (p.role_ != role::user) return std::nullopt;
  auto a = account(wallet);
  if (!a || a->kind != account_kind::user || a->owner != p.subject)
    return problem{404, "not-found", "wallet " + std::to_string(wallet) + " not found", std::string(field), {}};
  return std::nullopt;
}

std::string state_reads::format(amount_t v, std::string_view asset) {
  return format_amount(v, asset_scale(asset).value_or(0));
}

}  // namespace ledger::api
