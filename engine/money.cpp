// The money family: assets, wallets, deposits, withdrawals, transfers, holds,
// reversals. Rules are written down in docs/engine.md; keep them in step.

#include "engine/fx_decide.h"
#include "engine/money_decide.h"

namespace ledger {

std::int32_t log_day(std::int64_t ts_us) {
  constexpr std::int64_t day_us = 86'400'000'000;
  std::int64_t d = ts_us / day_us;
  if (ts_us < 0 && ts_us % day_us != 0) --d;
  return static_cast<std::int32_t>(d);
}

namespace money_detail {

bool usable_wallet(decision& d, const account_record* w, bool debit) {
  if (!w || w->kind != account_kind::user) {
    d.reject(reason::unknown_wallet);
    return false;
  }
  if (w->status == account_status::closed) {
    d.reject(reason::wallet_closed);
    return false;
  }
  if (debit && w->status == account_status::frozen) {
    d.reject(reason::wallet_frozen);
    return false;
  }
  return true;
}

const asset_record* movement_asset(decision& d, const std::string& code, amount_t amount) {
  const auto* a = d.s.asset(code);
  if (!a) {
    d.reject(reason::unknown_asset, "asset " + code + " is not registered");
    return nullptr;
  }
  if (amount < a->min_amount || amount > a->max_amount) {
    d.reject(reason::amount_out_of_range, "amount must be between " + format_amount(a->min_amount, a->scale) +
                                              " and " + format_amount(a->max_amount, a->scale));
    return nullptr;
  }
  return a;
}

const balance_record* wallet_balance(decision& d, const account_record& w, const std::string& asset) {
  const auto* b = w.balance(asset);
  if (!b) d.reject(reason::asset_mismatch, "wallet " + std::to_string(w.id) + " does not hold " + asset);
  return b;
}

// What the wallet may spend now. A hold past its expiry reserves nothing,
// whether or not the sweep (bounded per command) has released it yet.
amount_t available_now(const decision& d, const account_record& w, const balance_record& b) {
  return b.available() + d.s.expired_held(w.id, b.asset, d.ctx.now_us);
}

// Daily limit and available balance for a debit of `total` from a user wallet.
// Adds the daily_usage effect when the wallet has a limit.
// The daily limit is the wallet's or its owner's tier's, whichever is
// stricter (docs/exchange.md, "Limit tiers"); 0: none.
amount_t daily_limit(const decision& d, const account_record& w, const balance_record& b) {
  amount_t tier = tier_daily_limit(d, w, b.asset);
  if (tier == 0) return b.daily_debit_limit;
  if (b.daily_debit_limit == 0) return tier;
  return std::min(tier, b.daily_debit_limit);
}

bool can_debit(decision& d, const account_record& w, const balance_record& b, amount_t total) {
  if (!within_tier(d, w, b.asset, total)) return false;
  if (amount_t limit = daily_limit(d, w, b); limit > 0) {
    std::int32_t day = log_day(d.ctx.now_us);
    amount_t used = b.daily_day == day ? b.daily_used : 0;
    amount_t after = 0;
    if (!checked_add(used, total, after) || after > limit) {
      const auto* a = d.s.asset(b.asset);
      bool tier_s = limit != b.daily_debit_limit;
      d.reject(reason::daily_limit_exceeded,
               "amount: " + std::string(tier_s ? "the " + std::string(to_string(d.s.tier_of(w.owner))) + " tier" : "the wallet") +
                   " allows " + format_amount(limit, a->scale) + " " + b.asset + " a day; " +
                   format_amount(used, a->scale) + " is used");
      return false;
    }
    d.out.effects.emplace_back(daily_usage{w.id, b.asset, day, after});
  }
  if (available_now(d, w, b) < total) {
    d.reject(reason::insufficient_funds);
    return false;
  }
  return true;
}

std::uint64_t system_account(decision& d, const std::string& name) {
  auto id = d.s.system_account(name);
  if (id == 0) d.reject(reason::unknown_account, "system account " + name + " is not open");
  return id;
}

// Gives back daily usage for a debit that will not leave the wallet after
// all. Only usage counted today is given back, from today's total: a debit
// counted on an earlier day never was in today's total, and that day is
// over. Adds a daily_usage effect, or nothing.
void give_back_usage(decision& d, std::uint64_t wallet, const std::string& asset, std::int32_t counted_day,
                     amount_t amount) {
  const auto* w = d.s.account(wallet);
  if (!w || w->kind != account_kind::user || amount <= 0) return;
  const auto* b = w->balance(asset);
  std::int32_t today = log_day(d.ctx.now_us);
  if (!b || daily_limit(d, *w, *b) == 0 || counted_day != today || b->daily_day != today) return;
  amount_t used = b->daily_used > amount ? b->daily_used - amount : 0;
  d.out.effects.emplace_back(daily_usage{wallet, asset, today, used});
}


}  // namespace money_detail

namespace {

using namespace money_detail;

void decide_body(decision& d, const register_asset_cmd& c) {
  if (d.s.asset(c.code)) return d.reject(reason::asset_exists);
  if (d.s.asset_count() >= ledger_assets_max)
    return d.reject(reason::invalid_state, "the ledger holds " + std::to_string(ledger_assets_max) +
                                               " assets, the most it may register");
  d.out.effects.emplace_back(asset_registered{c.code, c.scale, c.min_amount, c.max_amount});
  d.accept(legs{});
}

void decide_body(decision& d, const open_account_cmd& c) {
  if (c.kind == account_kind::system && d.s.system_account(c.owner) != 0) return d.reject(reason::account_exists);
  for (const auto& wa : c.assets)
    if (!d.s.asset(wa.asset)) return d.reject(reason::unknown_asset, "asset " + wa.asset + " is not registered");
  d.out.effects.emplace_back(account_opened{d.s.next_account_id(), c.kind, c.owner, c.assets});
  d.accept(legs{});
}

// A withdrawal holds its amount towards payouts and its scheduled fee
// towards fee revenue; its record carries the status (and the fee).
void decide_body(decision& d, const withdraw_cmd& c) {
  const auto* w = d.s.account(c.wallet);
  if (!usable_wallet(d, w, true)) return;
  const balance_record* b = nullptr;
  if (!movement_asset(d, c.asset, c.amount) || !(b = wallet_balance(d, *w, c.asset))) return;
  auto payouts = system_account(d, "payouts");
  if (!payouts) return;
  amount_t fee = scheduled_fee(d, c.asset, money_kind::withdrawal, c.amount);
  amount_t total = 0;
  if (!checked_add(c.amount, fee, total)) return d.reject(reason::overflow, "amount + fee is too large");
  std::uint64_t fees = 0;
  if (fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  if (!reference_free(d, w->owner, c.reference) || !can_debit(d, *w, *b, total)) return;
  legs l;
  l.at(w->id, c.asset).debits_pending = total;
  l.at(payouts, c.asset).credits_pending = c.amount;
  if (fee > 0) l.at(fees, c.asset).credits_pending = fee;
  d.out.effects.emplace_back(pending_opened{d.ctx.seq, pending_kind::withdrawal, w->id, payouts, c.asset, c.amount, 0});
  d.out.effects.emplace_back(opened({d.ctx.seq, money_kind::withdrawal, money_status::pending, w->id, payouts, c.asset,
                                      c.amount, fee, {}, c.reference, w->owner, c.description, c.metadata}));
  d.accept(l);
}

// Resolves an open pending: posts `posted` of it and releases the rest.
void resolve_pending(decision& d, const pending_record& p, amount_t posted, pending_resolution how) {
  if (p.usage_counted) give_back_usage(d, p.debit_account, p.asset, p.usage_day, p.amount - posted);
  legs l;
  auto& debit = l.at(p.debit_account, p.asset);
  debit.debits_pending = -p.amount;
  debit.debits_posted = posted;
  auto& credit = l.at(p.credit_account, p.asset);
  credit.credits_pending = -p.amount;
  credit.credits_posted = posted;
  d.out.effects.emplace_back(pending_closed{p.id, how, posted});
  if (posted > 0)
    d.out.effects.emplace_back(transaction_recorded{
        d.ctx.seq, p.kind == pending_kind::withdrawal ? tx_kind::withdrawal : tx_kind::capture, 0});
  d.accept(l);
}

const pending_record* open_withdrawal(decision& d, std::uint64_t id) {
  const auto* p = d.s.open_pending(id);
  if (p && p->kind == pending_kind::withdrawal) return p;
  if (p) {
    d.reject(reason::unknown_withdrawal);
  } else {
    auto closed = d.s.closed_pending(id);
    d.reject(closed && closed->kind == pending_kind::withdrawal ? reason::withdrawal_not_pending
                                                                : reason::unknown_withdrawal);
  }
  return nullptr;
}

void decide_body(decision& d, const settle_withdrawal_cmd& c) {
  if (const auto* p = open_withdrawal(d, c.withdrawal_id)) resolve_withdrawal(d, *p, money_status::completed, {});
}

void decide_body(decision& d, const fail_withdrawal_cmd& c) {
  if (const auto* p = open_withdrawal(d, c.withdrawal_id)) resolve_withdrawal(d, *p, money_status::failed, c.reason);
}

void decide_body(decision& d, const transfer_cmd& c) {
  if (c.from == c.to) return d.reject(reason::same_account, "from and to are the same wallet");
  const auto* from = d.s.account(c.from);
  const auto* to = d.s.account(c.to);
  if (!usable_wallet(d, from, true) || !usable_wallet(d, to, false)) return;
  const balance_record* b = nullptr;
  if (!movement_asset(d, c.asset, c.amount) || !(b = wallet_balance(d, *from, c.asset)) ||
      !wallet_balance(d, *to, c.asset))
    return;
  // A scheduled fee comes on top of a fee the caller set (docs/engine.md, "Fees").
  amount_t fee = 0;
  amount_t total = 0;
  if (!checked_add(c.fee, scheduled_fee(d, c.asset, money_kind::transfer, c.amount), fee) ||
      !checked_add(c.amount, fee, total))
    return d.reject(reason::overflow, "amount + fee is too large");
  std::uint64_t fees = 0;
  if (fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  if (!reference_free(d, from->owner, c.reference) || !can_debit(d, *from, *b, total)) return;
  legs l;
  l.at(from->id, c.asset).debits_posted = total;
  l.at(to->id, c.asset).credits_posted = c.amount;
  if (fee > 0) l.at(fees, c.asset).credits_posted = fee;
  // A transfer completes at once; one with a story has a record with it.
  if (has_story(c))
    d.out.effects.emplace_back(opened({d.ctx.seq, money_kind::transfer, money_status::completed, from->id, to->id,
                                        c.asset, c.amount, fee, {}, c.reference, from->owner, c.description, c.metadata}));
  d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::transfer, 0});
  d.accept(l);
}

void decide_body(decision& d, const hold_cmd& c) {
  if (c.wallet == c.to) return d.reject(reason::same_account, "wallet and to are the same account");
  const auto* w = d.s.account(c.wallet);
  if (!usable_wallet(d, w, true)) return;
  const auto* to = d.s.account(c.to);
  if (!to) return d.reject(reason::unknown_account, "to: account " + std::to_string(c.to) + " does not exist");
  if (to->kind == account_kind::user && !usable_wallet(d, to, false)) return;
  const balance_record* b = nullptr;
  if (!movement_asset(d, c.asset, c.amount) || !(b = wallet_balance(d, *w, c.asset))) return;
  if (to->kind == account_kind::user && !wallet_balance(d, *to, c.asset)) return;
  if (c.expires_at_us <= d.ctx.now_us) return d.reject(reason::invalid_argument, "expires_at: must be after the log time");
  if (!can_debit(d, *w, *b, c.amount)) return;
  legs l;
  l.at(w->id, c.asset).debits_pending = c.amount;
  l.at(to->id, c.asset).credits_pending = c.amount;
  d.out.effects.emplace_back(pending_opened{d.ctx.seq, pending_kind::hold, w->id, to->id, c.asset, c.amount, c.expires_at_us});
  d.accept(l);
}

// An open hold, or the precise reason there is none.
const pending_record* open_hold(decision& d, std::uint64_t id) {
  const auto* p = d.s.open_pending(id);
  if (p && p->kind == pending_kind::hold) {
    // Expiry is swept before each command, but at most a bounded number per
    // command; a hold past its expiry is expired whether swept or not.
    if (p->expires_at_us <= d.ctx.now_us) {
      d.reject(reason::hold_expired);
      return nullptr;
    }
    return p;
  }
  auto closed = p ? std::nullopt : d.s.closed_pending(id);
  if (!closed || closed->kind != pending_kind::hold) {
    d.reject(reason::unknown_hold);
  } else if (closed->resolution == pending_resolution::captured) {
    d.reject(reason::hold_already_captured);
  } else if (closed->resolution == pending_resolution::voided) {
    d.reject(reason::hold_already_voided);
  } else {
    d.reject(reason::hold_expired);
  }
  return nullptr;
}

void decide_body(decision& d, const capture_cmd& c) {
  const auto* p = open_hold(d, c.hold_id);
  if (!p) return;
  amount_t amount = c.amount == 0 ? p->amount : c.amount;
  if (amount > p->amount) return d.reject(reason::amount_out_of_range, "amount: more than the hold's amount");
  const auto* w = d.s.account(p->debit_account);
  if (w->status == account_status::frozen) return d.reject(reason::wallet_frozen);
  const auto* to = d.s.account(p->credit_account);
  if (to->status == account_status::closed) return d.reject(reason::wallet_closed, "the receiving account is closed");
  resolve_pending(d, *p, amount, pending_resolution::captured);
}

void decide_body(decision& d, const void_hold_cmd& c) {
  if (const auto* p = open_hold(d, c.hold_id)) resolve_pending(d, *p, 0, pending_resolution::voided);
}

// A reversal returns to a wallet what the transaction took from it; if
// that debit counted against today's limit, the usage is given back too.
// A transfer counted on its own day; a capture or a settled withdrawal on
// the day its hold or withdrawal was opened.
void give_back_reversed_usage(decision& d, const tx_record& t) {
  std::int32_t counted_day = 0;
  if (t.kind == tx_kind::transfer) {
    counted_day = log_day(t.log_ts_us);
  } else if (t.kind == tx_kind::capture || t.kind == tx_kind::withdrawal) {
    auto p = d.s.closed_pending(t.pending_id);
    if (!p || !p->usage_counted) return;
    counted_day = p->usage_day;
  } else {
    return;  // deposits debit no wallet
  }
  for (const auto& leg : t.legs)
    if (leg.debit > leg.credit) give_back_usage(d, leg.account, leg.asset, counted_day, leg.debit - leg.credit);
}

void decide_body(decision& d, const reverse_cmd& c) {
  auto t = d.s.transaction(c.transaction_id);
  if (!t) return d.reject(reason::unknown_transaction);
  if (t->kind == tx_kind::reversal) return d.reject(reason::not_reversible, "a reversal cannot be reversed");
  // A payment is undone by its refunds, which count against what was paid;
  // a reversal beside them could give the money back twice.
  if (t->kind == tx_kind::payment || t->kind == tx_kind::refund)
    return d.reject(reason::not_reversible, "a payment or refund is refunded, not reversed");
  // The house FX account may have paid out what a reversal would take back.
  if (t->kind == tx_kind::exchange)
    return d.reject(reason::not_reversible, "an exchange is undone by an exchange the other way");
  if (t->reversed_by != 0)
    return d.reject(reason::already_reversed, "reversed by transaction " + std::to_string(t->reversed_by));
  legs l;
  for (const auto& leg : t->legs) {
    auto& x = l.at(leg.account, leg.asset);
    x.debits_posted = leg.credit;
    x.credits_posted = leg.debit;
  }
  // A reversal may not push a wallet below what it may spend, nor touch a
  // closed one, nor take money out of a frozen one: frozen means no debit of
  // any kind, so a chargeback against a frozen wallet waits for an unfreeze
  // (both recorded), like every other debit.
  for (const auto& leg : t->legs) {
    const auto* acc = d.s.account(leg.account);
    if (acc->kind != account_kind::user) continue;
    if (acc->status == account_status::closed) return d.reject(reason::wallet_closed);
    if (leg.credit <= leg.debit) continue;
    if (acc->status == account_status::frozen)
      return d.reject(reason::wallet_frozen, "the reversal would debit frozen wallet " + std::to_string(acc->id));
    const auto* b = acc->balance(leg.asset);
    if (available_now(d, *acc, *b) < leg.credit - leg.debit) return d.reject(reason::insufficient_funds);
  }
  give_back_reversed_usage(d, *t);
  d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::reversal, t->id});
  d.accept(l);
}

const account_record* status_target(decision& d, std::uint64_t id) {
  const auto* a = d.s.account(id);
  if (!a || a->kind != account_kind::user) {
    d.reject(reason::unknown_wallet);
    return nullptr;
  }
  if (a->status == account_status::closed) {
    d.reject(reason::wallet_closed);
    return nullptr;
  }
  return a;
}

void change_status(decision& d, const account_record& a, account_status to) {
  d.out.effects.emplace_back(account_status_changed{a.id, a.status, to});
  d.accept(legs{});
}

void decide_body(decision& d, const freeze_account_cmd& c) {
  const auto* a = status_target(d, c.account);
  if (!a) return;
  if (a->status == account_status::frozen) return d.reject(reason::invalid_state, "wallet is already frozen");
  change_status(d, *a, account_status::frozen);
}

void decide_body(decision& d, const unfreeze_account_cmd& c) {
  const auto* a = status_target(d, c.account);
  if (!a) return;
  if (a->status != account_status::frozen) return d.reject(reason::invalid_state, "wallet is not frozen");
  change_status(d, *a, account_status::active);
}

void decide_body(decision& d, const close_account_cmd& c) {
  const auto* a = status_target(d, c.account);
  if (!a) return;
  for (const auto& b : a->balances)
    if (b.debits_posted != b.credits_posted || b.debits_pending != 0 || b.credits_pending != 0)
      return d.reject(reason::balance_not_zero, "asset " + b.asset + " has a balance or pending amounts");
  change_status(d, *a, account_status::closed);
}

}  // namespace

void decide(const ledger_state& state, const command_body& body, const decide_context& ctx, event& out) {
  decision d{state, ctx, out};
  out.effects.clear();
  if (refuse_deleted_owner(state, body, out)) return;
  std::visit(
      [&](const auto& b) {
        if constexpr (session_command<std::decay_t<decltype(b)>>)
          decide_session(state, b, ctx, out);
        else if constexpr (payout_command<std::decay_t<decltype(b)>>)
          decide_payout(state, b, ctx, out);
        else if constexpr (document_command<std::decay_t<decltype(b)>>)
          decide_document(state, b, ctx, out);
        else
          decide_body(d, b);
      },
      body);
}

void decide_hold_expiry(const ledger_state& state, std::uint64_t hold_id, const decide_context& ctx, event& out) {
  const auto* p = state.open_pending(hold_id);
  LEDGER_ASSERT(p != nullptr && p->kind == pending_kind::hold, "expiring a hold that is not open");
  decision d{state, ctx, out};
  out.effects.clear();
  resolve_pending(d, *p, 0, pending_resolution::expired);
}

}  // namespace ledger
