// Exchange between assets and limit tiers (type codes 50-69; docs/exchange.md).
//
// Rates are exact decimals: `rate_e18` is the price of one major unit of
// `from_asset` in major units of `to_asset`, times 10^18 (so "1.0845" is
// 1'084'500'000'000'000'000). A quote fixes a rate, a fee and both amounts
// in the engine (a command, so it is replayed like any other); an exchange
// spends one quote exactly once, before its expiry in log time.
#pragma once

#include <cstdint>
#include <string>

#include "schemas/command_type.h"
#include "schemas/money.h"

namespace ledger {

enum class fx_side : std::uint8_t {
  sell = 1,  // `amount` is what the wallet gives (from_asset, the fee included)
  buy = 2,   // `amount` is what the wallet receives (to_asset)
};
std::string_view to_string(fx_side s);

// Owner tiers (seed 003's KYC levels); each carries default limits per asset.
enum class owner_tier : std::uint8_t { none = 0, basic = 1, enhanced = 2, full = 3 };
std::string_view to_string(owner_tier t);

inline constexpr int rate_scale = 18;                 // decimal places of rate_e18
inline constexpr std::uint32_t quote_ttl_s_max = 3'600;
// Quotes leave the key space this long after they expire (a late exchange
// meanwhile is told quote_expired, later unknown_quote), in system events of
// at most quotes_forgotten_per_event_max, written once that many are due or
// the oldest due one expired quote_forget_after_us more before.
inline constexpr std::int64_t quote_forget_after_us = 86'400'000'000;
inline constexpr std::size_t quotes_forgotten_per_event_max = 256;
inline constexpr std::uint32_t fx_fee_bps_max = 5'000;  // 50 %: a fee above that is a typo

// Sets (or replaces) the rate of one direction (from_asset -> to_asset),
// usable for quotes at log times in [valid_from_us, valid_until_us).
struct set_rate_cmd {
  static constexpr command_type type = command_type::set_rate;
  std::string from_asset;
  std::string to_asset;
  amount_t rate_e18 = 0;
  std::uint32_t fee_bps = 0;       // the house's fee, in basis points of the from_asset side
  std::uint32_t quote_ttl_s = 30;  // how long a quote at this rate stays usable (1..3600)
  std::int64_t valid_from_us = 0;
  std::int64_t valid_until_us = 0;
  bool operator==(const set_rate_cmd&) const = default;
};

// Asks for a quote; `owner` is the principal that may spend it (the API sets it).
struct quote_cmd {
  static constexpr command_type type = command_type::quote;
  std::string owner;
  std::string from_asset;
  std::string to_asset;
  amount_t amount = 0;  // minor units of from_asset (sell) or to_asset (buy)
  fx_side side = fx_side::sell;
  bool operator==(const quote_cmd&) const = default;
};

// Spends quote `quote_id`: debits from_asset of `wallet`, credits to_asset
// of `to_wallet` (0: the same wallet), both of `owner`.
struct exchange_cmd {
  static constexpr command_type type = command_type::exchange;
  std::string owner;
  std::uint64_t quote_id = 0;
  std::uint64_t wallet = 0;
  std::uint64_t to_wallet = 0;
  bool operator==(const exchange_cmd&) const = default;
};

// How far below zero the house FX account may go in `asset` (0: never).
struct set_fx_limit_cmd {
  static constexpr command_type type = command_type::set_fx_limit;
  std::string asset;
  amount_t overdraft = 0;
  bool operator==(const set_fx_limit_cmd&) const = default;
};

// An owner's tier, set by an admin.
struct set_owner_tier_cmd {
  static constexpr command_type type = command_type::set_owner_tier;
  std::string owner;
  owner_tier tier = owner_tier::none;
  bool operator==(const set_owner_tier_cmd&) const = default;
};

// The default limits of a tier for outgoing money in one asset (0: no limit).
// A wallet's own daily limit applies when it is stricter, never when looser.
struct set_tier_limits_cmd {
  static constexpr command_type type = command_type::set_tier_limits;
  owner_tier tier = owner_tier::none;
  std::string asset;
  amount_t per_transaction = 0;
  amount_t daily = 0;
  amount_t monthly = 0;
  bool operator==(const set_tier_limits_cmd&) const = default;
};

}  // namespace ledger
