// Committed ledger state as the API reads it: asset scales (cached forever:
// a registered asset never changes), accounts and pending records, and the
// rule that a user may only see and act on its own wallets; and the
// envelope keys (api/private_text.h) a parser seals private text with.
//
// Thread-safe: reads go to the backend's store; the cache takes a shared
// mutex.
#pragma once

#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/backend.h"
#include "api/jwt.h"
#include "api/payout_keys.h"
#include "api/problem.h"
#include "engine/state.h"

namespace ledger::api {

class state_reads {
 public:
  // `keys`: the envelope keys private text is sealed with (null: none).
  state_reads(backend& b, const payout_keys* keys) : backend_(b), keys_(keys) {}

  const payout_keys* keys() const { return keys_; }

  std::optional<int> asset_scale(std::string_view code);
  std::optional<account_record> account(std::uint64_t id);
  // As account(), telling a missing account (ok, `out` empty) from a read
  // that failed (the store's status).
  status read_account(std::uint64_t id, std::optional<account_record>& out);
  std::optional<pending_record> pending(std::uint64_t id);
  // A deposit, withdrawal, payment or refund with a status.
  std::optional<money_tx_record> money_tx(std::uint64_t id);
  // A user may only act on wallets it owns; anything else looks like a
  // wallet that does not exist (404, `field` named), so ids cannot be probed.
  // Other roles: nullopt.
  std::optional<problem> owned(const principal& p, std::uint64_t wallet, std::string_view field);
  // `v` at the asset's scale ("12.50"); scale 0 for an unknown asset.
  std::string format(amount_t v, std::string_view asset);

 private:
  backend& backend_;
  const payout_keys* const keys_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, int> scales_;  // protected by mu_
};

}  // namespace ledger::api
