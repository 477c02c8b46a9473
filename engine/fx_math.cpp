// 256-bit intermediates for exchange arithmetic: schoolbook multiplication
// of two 128-bit values and long division by a divisor below 2^120, enough
// for amounts and rates up to amount_limit (< 2^120) and powers of ten up to
// 10^36. No floating point.
#include "engine/fx_math.h"

namespace ledger::fx {

namespace {

using u128 = unsigned __int128;
using u64 = std::uint64_t;

struct u256 {
  u128 hi = 0, lo = 0;
};

u128 pow10(int e) {
  u128 v = 1;
  for (int i = 0; i < e; ++i) v *= 10;
  return v;
}

u256 mul(u128 a, u128 b) {
  u64 a0 = static_cast<u64>(a), a1 = static_cast<u64>(a >> 64);
  u64 b0 = static_cast<u64>(b), b1 = static_cast<u64>(b >> 64);
  u128 p00 = static_cast<u128>(a0) * b0, p01 = static_cast<u128>(a0) * b1;
  u128 p10 = static_cast<u128>(a1) * b0, p11 = static_cast<u128>(a1) * b1;
  // Middle column: carries of the two cross products and p00's high half.
  u128 mid = (p00 >> 64) + static_cast<u64>(p01) + static_cast<u64>(p10);
  u256 r;
  r.lo = (mid << 64) | static_cast<u64>(p00);
  r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return r;
}

// n / d and n % d for d in [1, 2^126): the remainder stays below d, so
// shifting it left by one never overflows 128 bits.
void divmod(const u256& n, u128 d, u256& q, u128& rem) {
  q = {};
  rem = 0;
  if (n.hi == 0) {
    q.lo = n.lo / d;
    rem = n.lo % d;
    return;
  }
  for (int i = 255; i >= 0; --i) {
    u128 bit = i >= 128 ? (n.hi >> (i - 128)) & 1 : (n.lo >> i) & 1;
    rem = (rem << 1) | bit;
    if (rem >= d) {
      rem -= d;
      if (i >= 128) q.hi |= static_cast<u128>(1) << (i - 128);
      else q.lo |= static_cast<u128>(1) << i;
    }
  }
}

std::optional<amount_t> fits(const u256& q, bool round_up) {
  u128 v = q.lo + (round_up ? 1 : 0);
  if (q.hi != 0 || v < q.lo || v > static_cast<u128>(amount_limit)) return std::nullopt;
  return static_cast<amount_t>(v);
}

bool in_range(amount_t v) { return v >= 0 && v <= amount_limit; }

}  // namespace

std::optional<amount_t> mul_pow10_floor(amount_t a, amount_t m, int e) {
  if (!in_range(a) || !in_range(m) || e < 0 || e > 36) return std::nullopt;
  u256 q;
  u128 rem = 0;
  divmod(mul(static_cast<u128>(a), static_cast<u128>(m)), pow10(e), q, rem);
  return fits(q, false);
}

std::optional<amount_t> mul_pow10_div_ceil(amount_t a, int e, amount_t m) {
  if (!in_range(a) || m <= 0 || m > amount_limit || e < 0 || e > 36) return std::nullopt;
  u256 q;
  u128 rem = 0;
  divmod(mul(static_cast<u128>(a), pow10(e)), static_cast<u128>(m), q, rem);
  return fits(q, rem != 0);
}

amount_t fee_ceil(amount_t a, std::uint32_t bps) {
  // a = q * 10000 + r: q * bps is exact, only r * bps / 10000 needs rounding.
  constexpr amount_t unit = 10'000;
  amount_t q = a / unit, r = a % unit, b = static_cast<amount_t>(bps);
  return q * b + (r * b + unit - 1) / unit;
}

std::optional<amounts> quote_amounts(fx_side side, amount_t amount, int from_scale, int to_scale, amount_t rate_e18,
                                     std::uint32_t fee_bps) {
  int e = from_scale + rate_scale - to_scale;
  amounts out;
  if (side == fx_side::sell) {
    out.from_amount = amount;
    out.fee = fee_ceil(amount, fee_bps);
    auto to = mul_pow10_floor(out.net(), rate_e18, e);
    if (!to) return std::nullopt;
    out.to_amount = *to;
    return out;
  }
  auto net = mul_pow10_div_ceil(amount, e, rate_e18);
  if (!net) return std::nullopt;
  out.fee = fee_ceil(*net, fee_bps);
  if (!checked_add(*net, out.fee, out.from_amount)) return std::nullopt;
  out.to_amount = amount;
  return out;
}

}  // namespace ledger::fx
