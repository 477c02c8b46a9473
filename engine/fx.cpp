// Exchange between assets at a quoted rate, and limit tiers. The rules are
// in docs/exchange.md; keep them in step.
//
// A quote is a command: the engine fixes its rate, fee, amounts and expiry
// from the state and the log time, so replaying the log gives the same
// quote. An exchange spends one quote, once, in one event whose legs
// balance per asset: the wallet pays A to the house FX account (and the fee
// to fee revenue), the FX account pays B to the wallet.
#include "engine/fx_decide.h"
#include "engine/fx_math.h"

namespace ledger::money_detail {

namespace {

constexpr const char* fx_account_name = "fx";

std::string pair_name(const std::string& from, const std::string& to) { return from + "->" + to; }

const asset_record* known_asset(decision& d, const char* field, const std::string& code) {
  const auto* a = d.s.asset(code);
  if (!a) d.reject(reason::unknown_asset, std::string(field) + ": asset " + code + " is not registered");
  return a;
}

// The rate of (from, to) valid at the log time, or the precise reason there is none.
std::optional<rate_record> valid_rate(decision& d, const std::string& from, const std::string& to) {
  auto r = d.s.rate(from, to);
  if (!r) {
    d.reject(reason::rate_unavailable, "no rate is set for " + pair_name(from, to));
    return std::nullopt;
  }
  if (d.ctx.now_us < r->valid_from_us || d.ctx.now_us >= r->valid_until_us) {
    d.reject(reason::rate_unavailable, "the rate of " + pair_name(from, to) + " is valid from " +
                                           std::to_string(r->valid_from_us) + " until " +
                                           std::to_string(r->valid_until_us) + " (log time, microseconds)");
    return std::nullopt;
  }
  return r;
}

// Both sides of a quote lie within their assets' movement bounds.
bool amounts_in_range(decision& d, const asset_record& from, const asset_record& to, const fx::amounts& a) {
  if (a.from_amount < from.min_amount || a.from_amount > from.max_amount) {
    d.reject(reason::amount_out_of_range, "amount: the " + from.code + " side (" + format_amount(a.from_amount, from.scale) +
                                              ") must be between " + format_amount(from.min_amount, from.scale) +
                                              " and " + format_amount(from.max_amount, from.scale));
    return false;
  }
  if (a.to_amount < to.min_amount || a.to_amount > to.max_amount) {
    d.reject(reason::amount_out_of_range, "amount: the " + to.code + " side (" + format_amount(a.to_amount, to.scale) +
                                              ") must be between " + format_amount(to.min_amount, to.scale) + " and " +
                                              format_amount(to.max_amount, to.scale));
    return false;
  }
  return true;
}

// The quote `c` may spend, or the precise reason it may not.
std::optional<quote_record> spendable_quote(decision& d, const exchange_cmd& c) {
  auto q = d.s.quote(c.quote_id);
  std::string id = "quote " + std::to_string(c.quote_id);
  if (!q) d.reject(reason::unknown_quote, "quote_id: no " + id + " (quotes are forgotten a day after they expire)");
  else if (q->q.owner != c.owner) d.reject(reason::quote_foreign, "quote_id: " + id + " belongs to another principal");
  else if (q->used_by != 0) d.reject(reason::quote_used, "quote_id: " + id + " was spent by exchange " + std::to_string(q->used_by));
  else if (d.ctx.now_us >= q->q.expires_at_us)
    d.reject(reason::quote_expired, "quote_id: " + id + " expired at " + std::to_string(q->q.expires_at_us) +
                                        " (log time, microseconds)");
  else return q;
  return std::nullopt;
}

// The wallet credited with to_asset: `to_wallet`, or the paying wallet.
const account_record* receiving_wallet(decision& d, const exchange_cmd& c, const account_record& payer,
                                       const std::string& asset) {
  const auto* w = c.to_wallet == 0 ? &payer : d.s.account(c.to_wallet);
  if (!usable_wallet(d, w, false)) return nullptr;
  if (w->owner != payer.owner) {
    d.reject(reason::invalid_argument, "to_wallet_id: wallet " + std::to_string(w->id) + " belongs to another owner");
    return nullptr;
  }
  if (!wallet_balance(d, *w, asset)) return nullptr;
  return w;
}

// The house FX account may pay `amount` of `asset` without going below
// minus its limit (held amounts count as spent).
bool fx_can_pay(decision& d, std::uint64_t fx_id, const std::string& asset, amount_t amount) {
  const auto* b = d.s.account(fx_id)->balance(asset);
  amount_t have = b ? b->posted() - b->debits_pending : 0;
  amount_t limit = d.s.fx_limit(asset);
  amount_t after = 0;
  if (checked_sub(have, amount, after) && after >= -limit) return true;
  const auto* a = d.s.asset(asset);
  d.reject(reason::fx_limit_exceeded, "the house FX account holds " + format_amount(have, a->scale) + " " + asset +
                                          " and may go " + format_amount(limit, a->scale) +
                                          " below zero; the exchange needs " + format_amount(amount, a->scale));
  return false;
}

std::int32_t log_month(std::int64_t ts_us) {
  // Civil month of the UTC day (Howard Hinnant's days_from_civil, inverted).
  std::int64_t z = log_day(ts_us) + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t doe = z - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return static_cast<std::int32_t>((y - 1970) * 12 + (m - 1));
}

}  // namespace

void decide_body(decision& d, const set_rate_cmd& c) {
  if (!known_asset(d, "from_asset", c.from_asset) || !known_asset(d, "to_asset", c.to_asset)) return;
  d.out.effects.emplace_back(rate_set{c.from_asset, c.to_asset, c.rate_e18, c.fee_bps, c.quote_ttl_s, c.valid_from_us,
                                      c.valid_until_us});
  d.accept(legs{});
}

void decide_body(decision& d, const quote_cmd& c) {
  const auto* from = known_asset(d, "from_asset", c.from_asset);
  const auto* to = from ? known_asset(d, "to_asset", c.to_asset) : nullptr;
  if (!to) return;
  auto r = valid_rate(d, c.from_asset, c.to_asset);
  if (!r) return;
  auto a = fx::quote_amounts(c.side, c.amount, from->scale, to->scale, r->rate_e18, r->fee_bps);
  if (!a) return d.reject(reason::overflow, "amount: the other side of the exchange is too large");
  if (!amounts_in_range(d, *from, *to, *a)) return;
  std::int64_t ttl_us = static_cast<std::int64_t>(r->quote_ttl_s) * 1'000'000;
  std::int64_t expires = std::min(d.ctx.now_us + ttl_us, r->valid_until_us);
  d.out.effects.emplace_back(quote_issued{d.ctx.seq, c.owner, c.from_asset, c.to_asset, c.side, r->rate_e18, r->fee_bps,
                                          a->from_amount, a->fee, a->to_amount, expires});
  d.accept(legs{});
}

void decide_body(decision& d, const exchange_cmd& c) {
  auto q = spendable_quote(d, c);
  if (!q) return;
  const auto& qi = q->q;
  const auto* w = d.s.account(c.wallet);
  if (!usable_wallet(d, w, true)) return;
  const balance_record* b = wallet_balance(d, *w, qi.from_asset);
  if (!b) return;
  const auto* tw = receiving_wallet(d, c, *w, qi.to_asset);
  if (!tw) return;
  auto fx_id = system_account(d, fx_account_name);
  if (!fx_id) return;
  std::uint64_t fees = 0;
  if (qi.fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  if (!fx_can_pay(d, fx_id, qi.to_asset, qi.to_amount) || !can_debit(d, *w, *b, qi.from_amount))
    return;
  legs l;
  l.at(w->id, qi.from_asset).debits_posted = qi.from_amount;
  l.at(fx_id, qi.from_asset).credits_posted = qi.from_amount - qi.fee;
  if (qi.fee > 0) l.at(fees, qi.from_asset).credits_posted = qi.fee;
  l.at(fx_id, qi.to_asset).debits_posted = qi.to_amount;
  l.at(tw->id, qi.to_asset).credits_posted = qi.to_amount;
  d.out.effects.emplace_back(quote_used{qi.id, d.ctx.seq, w->id, tw->id, qi.from_asset, qi.to_asset, qi.rate_e18,
                                        qi.from_amount, qi.fee, qi.to_amount});
  d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::exchange, 0});
  d.accept(l);
}

void decide_body(decision& d, const set_fx_limit_cmd& c) {
  if (!known_asset(d, "asset", c.asset)) return;
  d.out.effects.emplace_back(fx_limit_set{c.asset, c.overdraft});
  d.accept(legs{});
}

void decide_body(decision& d, const set_owner_tier_cmd& c) {
  d.out.effects.emplace_back(owner_tier_set{c.owner, c.tier});
  d.accept(legs{});
}

void decide_body(decision& d, const set_tier_limits_cmd& c) {
  if (!known_asset(d, "asset", c.asset)) return;
  d.out.effects.emplace_back(tier_limits_set{c.tier, c.asset, c.per_transaction, c.daily, c.monthly});
  d.accept(legs{});
}

amount_t tier_daily_limit(const decision& d, const account_record& w, const std::string& asset) {
  if (!d.s.has_tier_limits()) return 0;
  auto t = d.s.tier_limits(d.s.tier_of(w.owner), asset);
  return t ? t->daily : 0;
}

bool within_tier(decision& d, const account_record& w, const std::string& asset, amount_t total) {
  if (!d.s.has_tier_limits()) return true;
  owner_tier tier = d.s.tier_of(w.owner);
  auto t = d.s.tier_limits(tier, asset);
  if (!t) return true;
  const auto* a = d.s.asset(asset);
  if (t->per_transaction > 0 && total > t->per_transaction) {
    d.reject(reason::transaction_limit_exceeded, "amount: " + format_amount(total, a->scale) + " " + asset +
                                                     " is more than the " + std::string(to_string(tier)) +
                                                     " tier's per-transaction limit of " +
                                                     format_amount(t->per_transaction, a->scale));
    return false;
  }
  if (t->monthly == 0) return true;
  std::int32_t month = log_month(d.ctx.now_us);
  auto m = d.s.monthly(w.id, asset);
  amount_t used = m.month == month ? m.used : 0;
  amount_t after = 0;
  if (!checked_add(used, total, after) || after > t->monthly) {
    d.reject(reason::monthly_limit_exceeded, "amount: the " + std::string(to_string(tier)) + " tier allows " +
                                                 format_amount(t->monthly, a->scale) + " " + asset + " a month; " +
                                                 format_amount(used, a->scale) + " is used");
    return false;
  }
  d.out.effects.emplace_back(monthly_usage{w.id, asset, month, after});
  return true;
}

}  // namespace ledger::money_detail

namespace ledger {

void decide_quote_forgetting(const ledger_state& s, const std::vector<std::uint64_t>& ids, event& out) {
  out.effects.clear();
  for (auto id : ids) LEDGER_ASSERT(s.quote(id).has_value(), "forgetting quote %llu, which is unknown", static_cast<unsigned long long>(id));
  out.effects.emplace_back(quotes_forgotten{ids});
  out.status = event_status::accepted;
}

}  // namespace ledger
