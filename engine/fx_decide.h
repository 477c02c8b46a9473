// The exchange and tier family's decide overloads (engine/fx.cpp), command
// types 50-69; money.cpp's decide() reaches them by overload. Internal to
// the engine.
#pragma once

#include "engine/money_decide.h"

namespace ledger::money_detail {

void decide_body(decision& d, const set_rate_cmd& c);
void decide_body(decision& d, const quote_cmd& c);
void decide_body(decision& d, const exchange_cmd& c);
void decide_body(decision& d, const set_fx_limit_cmd& c);
void decide_body(decision& d, const set_owner_tier_cmd& c);
void decide_body(decision& d, const set_tier_limits_cmd& c);

// The tier's per-transaction and monthly limits for a debit of `total` from
// wallet `w` in `asset` (docs/exchange.md, "Limit tiers"); adds the
// monthly_usage effect when a monthly limit applies. False after rejecting.
bool within_tier(decision& d, const account_record& w, const std::string& asset, amount_t total);
// The tier's daily limit of (owner, asset), 0: none.
amount_t tier_daily_limit(const decision& d, const account_record& w, const std::string& asset);

}  // namespace ledger::money_detail
