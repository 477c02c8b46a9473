#include "api/service_binding.h"

#include <algorithm>

namespace ledger::api {

namespace {

bool bound(const principal& p, std::uint64_t account) {
  return std::find(p.accounts.begin(), p.accounts.end(), account) != p.accounts.end();
}

std::string not_bound(std::uint64_t account) {
  return "account " + std::to_string(account) + " is not bound to this service token (claim \"accounts\")";
}

}  // namespace

std::optional<binding_refusal> check_deposit_binding(const principal& p, std::string_view provider) {
  if (p.role_ != role::service) return std::nullopt;
  if (std::find(p.providers.begin(), p.providers.end(), provider) != p.providers.end()) return std::nullopt;
  return binding_refusal{"provider", "provider " + std::string(provider) +
                                         " is not bound to this service token (claim \"providers\")"};
}

std::optional<binding_refusal> check_hold_binding(const principal& p, std::uint64_t wallet, std::uint64_t to) {
  if (p.role_ != role::service) return std::nullopt;
  if (!bound(p, wallet)) return binding_refusal{"wallet_id", not_bound(wallet)};
  if (!bound(p, to)) return binding_refusal{"to_account_id", not_bound(to)};
  return std::nullopt;
}

std::optional<binding_refusal> check_hold_use_binding(const principal& p, std::uint64_t debit_account,
                                                      std::uint64_t credit_account, std::string_view field) {
  if (p.role_ != role::service) return std::nullopt;
  if (!bound(p, debit_account)) return binding_refusal{std::string(field), "the hold's " + not_bound(debit_account)};
  if (!bound(p, credit_account)) return binding_refusal{std::string(field), "the hold's " + not_bound(credit_account)};
  return std::nullopt;
}

std::optional<binding_refusal> check_withdrawal_binding(const principal& p, std::uint64_t debit_account,
                                                        std::uint64_t credit_account, std::string_view field) {
  if (p.role_ != role::service) return std::nullopt;
  if (bound(p, debit_account) || bound(p, credit_account)) return std::nullopt;
  return binding_refusal{std::string(field), "the withdrawal's " + not_bound(debit_account)};
}

}  // namespace ledger::api
