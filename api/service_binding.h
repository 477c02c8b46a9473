// What a `service` principal may do: it is bound to what it integrates
// (security finding 1). A service token names the payment providers it
// speaks for ("providers") and the accounts it works with ("accounts");
// everything outside them is refused with 403.
//
//   deposit             the provider is one of the token's providers
//   hold                the held wallet and the target account are both bound
//   capture, void       the hold's wallet and target account are both bound
//   settle, fail        the withdrawal's wallet is bound, or the payouts
//                       account is (a payout processor settles every
//                       withdrawal only when the payouts account is bound)
//
// Other roles are not affected: users are limited to their own wallets
// elsewhere, admins may do anything. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/jwt.h"

namespace ledger::api {

// Why a bound service may not do something: the request field to blame and
// a detail safe to return.
struct binding_refusal {
  std::string field;
  std::string detail;
};

std::optional<binding_refusal> check_deposit_binding(const principal& p, std::string_view provider);
std::optional<binding_refusal> check_hold_binding(const principal& p, std::uint64_t wallet, std::uint64_t to);
// A hold's (debit_account, credit_account) from its pending record; field
// names the path or body id.
std::optional<binding_refusal> check_hold_use_binding(const principal& p, std::uint64_t debit_account,
                                                      std::uint64_t credit_account, std::string_view field);
std::optional<binding_refusal> check_withdrawal_binding(const principal& p, std::uint64_t debit_account,
                                                        std::uint64_t credit_account, std::string_view field);

}  // namespace ledger::api
