// Invariant checks shared by the simulation and crash tests.
#pragma once

#include <map>
#include <string>

#include "engine/rebuild.h"

namespace ledger::testing {

// Sums of posted and pending balances per asset over every account; both
// must be zero in a double-entry ledger.
struct trial_balance {
  std::map<std::string, amount_t> posted;
  std::map<std::string, amount_t> pending;
  bool zero() const {
    for (const auto& [a, v] : posted)
      if (v != 0) return false;
    for (const auto& [a, v] : pending)
      if (v != 0) return false;
    return true;
  }
};

inline trial_balance trial_balance_of(const ledger_state& s) {
  trial_balance t;
  for (const auto& acc : s.accounts())
    for (const auto& b : acc.balances) {
      t.posted[b.asset] += b.posted();
      t.pending[b.asset] += b.credits_pending - b.debits_pending;
    }
  return t;
}

// A user wallet may never have less than zero available (overdraft included).
inline std::string first_overdrawn_wallet(const ledger_state& s) {
  for (const auto& acc : s.accounts()) {
    if (acc.kind != account_kind::user) continue;
    for (const auto& b : acc.balances)
      if (b.available() < 0) return std::to_string(acc.id) + "/" + b.asset;
  }
  return {};
}

}  // namespace ledger::testing
