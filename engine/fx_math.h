// Exact conversion between assets of different scales at a decimal rate
// (docs/exchange.md, "Rounding"). Pure functions, no state.
//
// With `rate_e18` the price of one major unit of A in major units of B times
// 10^18, an amount `a` of A in minor units (scale sa) is worth exactly
//   a * rate_e18 / 10^(sa + 18 - sb)
// minor units of B (scale sb). The exponent e = sa + 18 - sb lies in 0..36.
// Intermediate products reach 10^72, so they are held in 256 bits; results
// must fit amount_limit or the conversion fails (nullopt), never wraps.
#pragma once

#include <optional>

#include "schemas/fx_commands.h"

namespace ledger::fx {

// floor(a * m / 10^e), for a, m in [0, amount_limit] and e in [0, 36].
std::optional<amount_t> mul_pow10_floor(amount_t a, amount_t m, int e);
// ceil(a * 10^e / m), for a in [0, amount_limit], m in [1, amount_limit], e in [0, 36].
std::optional<amount_t> mul_pow10_div_ceil(amount_t a, int e, amount_t m);
// ceil(a * bps / 10000), the house's fee (never overflows for a <= amount_limit).
amount_t fee_ceil(amount_t a, std::uint32_t bps);

// The amounts of a quote. Sell: the wallet gives `amount` of A; the fee is
// taken from it (rounded up) and the rest converted, rounded down. Buy: the
// wallet receives `amount` of B; the A needed is rounded up and the fee,
// rounded up, comes on top. Either way to_amount * 10^e <= net * rate_e18:
// the house never gives more than the exact value of what it takes.
struct amounts {
  amount_t from_amount = 0;  // debited from the wallet, fee included
  amount_t fee = 0;          // of from_amount, to fee revenue
  amount_t to_amount = 0;    // credited to the wallet
  amount_t net() const { return from_amount - fee; }
};
// nullopt: an amount would leave [0, amount_limit].
std::optional<amounts> quote_amounts(fx_side side, amount_t amount, int from_scale, int to_scale, amount_t rate_e18,
                                     std::uint32_t fee_bps);

}  // namespace ledger::fx
