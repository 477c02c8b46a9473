// Fee schedules and the transactions that carry a status: pending deposits,
// payments, refunds, and the status changes of withdrawals. The rules are in
// docs/engine.md ("Fees", "Statuses"); keep them in step.
//
// Money moves only on the transitions that move it. A pending deposit
// credits nothing; a pending payment or refund holds the payer's funds (and
// the fee) as pending debits, so completing posts exactly what was held and
// failing or cancelling releases exactly that.
#include "engine/money_decide.h"

namespace ledger::money_detail {

// The effect that opens `m` (its fields, as the record will hold them).
money_tx_opened opened(const money_tx_record& m) {
  return money_tx_opened{m.id,       m.kind,  m.status,   m.debit_account, m.credit_account, m.asset,    m.amount,
                         m.fee,      m.provider, m.reference, m.owner,     m.description,    m.metadata, m.refund_of};
}

// A reference is unique per owner (empty: none given).
bool reference_free(decision& d, const std::string& owner, const std::string& reference) {
  if (reference.empty() || d.s.money_tx_by_reference(owner, reference) == 0) return true;
  d.reject(reason::reference_exists, "reference: " + reference + " is already used by transaction " +
                                         std::to_string(d.s.money_tx_by_reference(owner, reference)));
  return false;
}

namespace {

// The legs of an open transaction's hold, times `sign` (+1 to hold, -1 to
// release). `fee_account` receives the fee.
void hold_legs(legs& l, const money_tx_record& m, std::uint64_t fee_account, amount_t sign) {
  l.at(m.debit_account, m.asset).debits_pending += sign * (m.amount + m.fee);
  l.at(m.credit_account, m.asset).credits_pending += sign * m.amount;
  if (m.fee > 0) l.at(fee_account, m.asset).credits_pending += sign * m.fee;
}

void post_legs(legs& l, const money_tx_record& m, std::uint64_t fee_account) {
  l.at(m.debit_account, m.asset).debits_posted += m.amount + m.fee;
  l.at(m.credit_account, m.asset).credits_posted += m.amount;
  if (m.fee > 0) l.at(fee_account, m.asset).credits_posted += m.fee;
}

tx_kind posted_kind(money_kind k) {
  switch (k) {
    case money_kind::deposit: return tx_kind::deposit;
    case money_kind::withdrawal: return tx_kind::withdrawal;
    case money_kind::transfer: return tx_kind::transfer;
    case money_kind::payment: return tx_kind::payment;
    case money_kind::refund: return tx_kind::refund;
  }
  return tx_kind::deposit;
}

std::string describe(const money_tx_record& m) { return std::string(to_string(m.kind)) + " " + std::to_string(m.id); }

// Whether `m` may move to `to`; rejects with the precise reason if not.
bool can_move(decision& d, const money_tx_record& m, money_status to) {
  std::string why;
  if (!m.open())
    why = describe(m) + " is " + std::string(to_string(m.status)) + "; a " + std::string(to_string(m.status)) + " " +
          std::string(to_string(m.kind)) + " cannot become " + std::string(to_string(to));
  else if (to == money_status::processing && m.status == money_status::processing)
    why = describe(m) + " is already processing";
  else if (to == money_status::cancelled && m.status == money_status::processing)
    why = describe(m) + " is processing: only the provider's answer (complete or fail) ends it";
  if (why.empty()) return true;
  d.reject(reason::invalid_transition, why);
  return false;
}

// Ends an open payment or refund: completed posts its hold, anything else
// releases it (and gives back the daily usage its opening counted).
void end_held(decision& d, const money_tx_record& m, money_status to, const std::string& why) {
  d.out.effects.emplace_back(money_tx_changed{m.id, m.kind, m.status, to, why});
  if (to == money_status::processing) return d.accept(legs{});
  std::uint64_t fees = 0;
  if (m.fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  legs l;
  hold_legs(l, m, fees, -1);
  if (to == money_status::completed) {
    const auto* payer = d.s.account(m.debit_account);
    if (payer->kind == account_kind::user && payer->status == account_status::frozen)
      return d.reject(reason::wallet_frozen, "the paying wallet is frozen");
    if (d.s.account(m.credit_account)->status == account_status::closed)
      return d.reject(reason::wallet_closed, "the receiving account is closed");
    post_legs(l, m, fees);
    d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, posted_kind(m.kind), 0});
  } else {
    give_back_usage(d, m.debit_account, m.asset, log_day(m.opened_at_us), m.amount + m.fee);
  }
  d.accept(l);
}

// Completes a deposit (clearing pays the wallet) or ends it without money.
void end_deposit(decision& d, const money_tx_record& m, money_status to, const std::string& why) {
  legs l;
  if (to == money_status::completed) {
    const auto* w = d.s.account(m.credit_account);
    if (!usable_wallet(d, w, false)) return;
    post_legs(l, m, 0);
    d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::deposit, 0});
  }
  d.out.effects.emplace_back(money_tx_changed{m.id, m.kind, m.status, to, why});
  d.accept(l);
}

// The wallet a deposit credits, checked; nullptr after rejecting.
const account_record* deposit_wallet(decision& d, std::uint64_t wallet, const std::string& asset, amount_t amount) {
  const auto* w = d.s.account(wallet);
  if (!usable_wallet(d, w, false) || !movement_asset(d, asset, amount) || !wallet_balance(d, *w, asset)) return nullptr;
  return w;
}

// Records a deposit: pending (no money) or completed (clearing pays the wallet).
void record_deposit(decision& d, const account_record& w, const open_deposit_cmd& c, money_status status) {
  auto clearing = system_account(d, "clearing:" + c.provider);
  if (!clearing || !reference_free(d, w.owner, c.reference)) return;
  if (!c.reference.empty() && d.s.money_tx_by_provider(c.provider, c.reference) != 0)
    return d.reject(reason::reference_exists, "reference: provider " + c.provider + " already sent " + c.reference);
  legs l;
  money_tx_record m{d.ctx.seq, money_kind::deposit, status, clearing, w.id, c.asset, c.amount, 0, c.provider,
                    c.reference, w.owner, c.description, c.metadata};
  d.out.effects.emplace_back(opened(m));
  if (status == money_status::completed) {
    post_legs(l, m, 0);
    d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::deposit, 0});
  }
  d.accept(l);
}

// The transaction `id` of kind `kind`, or the precise reason there is none.
std::optional<money_tx_record> find_tx(decision& d, std::uint64_t id, money_kind kind) {
  auto m = d.s.money_tx(id);
  if (m && m->kind == kind) return m;
  d.reject(reason::unknown_transaction, "no " + std::string(to_string(kind)) + " " + std::to_string(id));
  return std::nullopt;
}

// A withdrawal opened before statuses existed has no record: it can still
// be settled, failed or cancelled, but not marked processing.
void change_withdrawal(decision& d, const change_money_status_cmd& c) {
  const auto* p = d.s.open_pending(c.id);
  auto m = d.s.money_tx(c.id);
  if (m && m->kind == money_kind::withdrawal) {
    if (!can_move(d, *m, c.to)) return;
    if (c.to == money_status::processing) {
      d.out.effects.emplace_back(money_tx_changed{m->id, m->kind, m->status, c.to, c.reason});
      return d.accept(legs{});
    }
    LEDGER_ASSERT(p != nullptr && p->kind == pending_kind::withdrawal, "an open withdrawal record without its pending");
    return resolve_withdrawal(d, *p, c.to, c.reason);
  }
  if (!p || p->kind != pending_kind::withdrawal)
    return d.reject(reason::unknown_withdrawal, "no open withdrawal " + std::to_string(c.id));
  if (c.to == money_status::processing)
    return d.reject(reason::invalid_transition, "withdrawal " + std::to_string(c.id) +
                                                    " was opened before statuses: it can be settled, failed or cancelled");
  resolve_withdrawal(d, *p, c.to, c.reason);
}

}  // namespace

amount_t scheduled_fee(const decision& d, const std::string& asset, money_kind kind, amount_t amount) {
  auto s = d.s.fee_schedule(asset, kind);
  return s ? fee_for(*s, amount) : 0;
}

void resolve_withdrawal(decision& d, const pending_record& p, money_status to, const std::string& reason) {
  auto m = d.s.money_tx(p.id);
  amount_t fee = m ? m->fee : 0;
  std::uint64_t fees = 0;
  if (fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  bool settle = to == money_status::completed;
  amount_t total = p.amount + fee;
  if (!settle && p.usage_counted) give_back_usage(d, p.debit_account, p.asset, p.usage_day, total);
  legs l;
  auto& debit = l.at(p.debit_account, p.asset);
  debit.debits_pending = -total;
  debit.debits_posted = settle ? total : 0;
  auto& credit = l.at(p.credit_account, p.asset);
  credit.credits_pending = -p.amount;
  credit.credits_posted = settle ? p.amount : 0;
  if (fee > 0) {
    l.at(fees, p.asset).credits_pending = -fee;
    l.at(fees, p.asset).credits_posted = settle ? fee : 0;
  }
  d.out.effects.emplace_back(pending_closed{p.id, settle ? pending_resolution::settled : pending_resolution::failed,
                                            settle ? p.amount : 0});
  if (settle) d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::withdrawal, 0});
  if (m) d.out.effects.emplace_back(money_tx_changed{m->id, m->kind, m->status, to, reason});
  d.accept(l);
}

void decide_body(decision& d, const set_fee_schedule_cmd& c) {
  if (!d.s.asset(c.asset)) return d.reject(reason::unknown_asset, "asset " + c.asset + " is not registered");
  d.out.effects.emplace_back(
      fee_schedule_changed{c.asset, c.kind, false, c.fixed, c.basis_points, c.minimum, c.maximum});
  d.accept(legs{});
}

void decide_body(decision& d, const remove_fee_schedule_cmd& c) {
  if (!d.s.fee_schedule(c.asset, c.kind))
    return d.reject(reason::invalid_state, "no fee schedule for " + c.asset + " " + std::string(to_string(c.kind)));
  d.out.effects.emplace_back(fee_schedule_changed{c.asset, c.kind, true, 0, 0, 0, 0});
  d.accept(legs{});
}

// A deposit credited at once. With a reference, description or metadata it
// gets a completed deposit record (the reference unique per owner and per
// provider); without, it is only its postings, as the hot path wants.
void decide_body(decision& d, const deposit_cmd& c) {
  const auto* w = deposit_wallet(d, c.wallet, c.asset, c.amount);
  if (!w) return;
  if (has_story(c)) {
    return record_deposit(d, *w, open_deposit_cmd{c.wallet, c.asset, c.amount, c.provider, c.reference, c.description,
                                                  c.metadata},
                          money_status::completed);
  }
  auto clearing = system_account(d, "clearing:" + c.provider);
  if (!clearing) return;
  legs l;
  l.at(clearing, c.asset).debits_posted = c.amount;
  l.at(w->id, c.asset).credits_posted = c.amount;
  d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::deposit, 0});
  d.accept(l);
}

void decide_body(decision& d, const open_deposit_cmd& c) {
  if (const auto* w = deposit_wallet(d, c.wallet, c.asset, c.amount)) record_deposit(d, *w, c, money_status::pending);
}

void decide_body(decision& d, const change_money_status_cmd& c) {
  if (c.kind == money_kind::withdrawal) return change_withdrawal(d, c);
  auto m = find_tx(d, c.id, c.kind);
  if (!m || !can_move(d, *m, c.to)) return;
  if (m->kind == money_kind::deposit) return end_deposit(d, *m, c.to, c.reason);
  end_held(d, *m, c.to, c.reason);
}

void decide_body(decision& d, const pay_cmd& c) {
  if (c.wallet == c.merchant) return d.reject(reason::same_account, "wallet and merchant are the same account");
  const auto* w = d.s.account(c.wallet);
  if (!usable_wallet(d, w, true)) return;
  const auto* merchant = d.s.account(c.merchant);
  if (!merchant) return d.reject(reason::unknown_account, "merchant: account " + std::to_string(c.merchant) + " does not exist");
  if (merchant->kind == account_kind::user && !usable_wallet(d, merchant, false)) return;
  const balance_record* b = nullptr;
  if (!movement_asset(d, c.asset, c.amount) || !(b = wallet_balance(d, *w, c.asset))) return;
  if (merchant->kind == account_kind::user && !wallet_balance(d, *merchant, c.asset)) return;
  amount_t fee = scheduled_fee(d, c.asset, money_kind::payment, c.amount);
  amount_t total = 0;
  if (!checked_add(c.amount, fee, total)) return d.reject(reason::overflow, "amount + fee is too large");
  std::uint64_t fees = 0;
  if (fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  if (!reference_free(d, w->owner, c.reference) || !can_debit(d, *w, *b, total)) return;
  money_tx_record m{d.ctx.seq, money_kind::payment, money_status::pending, w->id, merchant->id, c.asset, c.amount, fee,
                    {}, c.reference, w->owner, c.description, c.metadata};
  legs l;
  hold_legs(l, m, fees, 1);
  d.out.effects.emplace_back(opened(m));
  d.accept(l);
}

// What may still be refunded of `paid`; rejects when `amount` is more.
bool within_refundable(decision& d, const money_tx_record& paid, amount_t amount) {
  if (paid.status != money_status::completed) {
    d.reject(reason::invalid_transition, describe(paid) + " is " + std::string(to_string(paid.status)) + "; only a completed " +
                                             std::string(to_string(paid.kind)) + " can be refunded");
    return false;
  }
  amount_t left = paid.amount - paid.refunded;
  if (amount <= left) return true;
  const auto* a = d.s.asset(paid.asset);
  int scale = a ? a->scale : 0;
  d.reject(reason::refund_exceeds_paid, "amount: " + format_amount(amount, scale) + " is more than the " +
                                            format_amount(left, scale) + " left to refund of " + describe(paid) +
                                            " (paid " + format_amount(paid.amount, scale) + ", refunded or pending " +
                                            format_amount(paid.refunded, scale) + ")");
  return false;
}

void decide_body(decision& d, const refund_cmd& c) {
  auto paid = find_tx(d, c.payment_id, money_kind::payment);
  if (!paid || !within_refundable(d, *paid, c.amount) || !reference_free(d, paid->owner, c.reference)) return;
  // The merchant gives the money back to the wallet that paid.
  const auto* merchant = d.s.account(paid->credit_account);
  if (merchant->kind == account_kind::user) {
    if (!usable_wallet(d, merchant, true)) return;
    if (available_now(d, *merchant, *merchant->balance(paid->asset)) < c.amount)
      return d.reject(reason::insufficient_funds, "the merchant's wallet cannot cover the refund");
  }
  money_tx_record m{d.ctx.seq, money_kind::refund, money_status::pending, paid->credit_account, paid->debit_account,
                    paid->asset, c.amount, 0, {}, c.reference, paid->owner, c.description, c.metadata, paid->id};
  legs l;
  hold_legs(l, m, 0, 1);
  d.out.effects.emplace_back(opened(m));
  d.accept(l);
}

void decide_body(decision& d, const provider_payment_cmd& c) {
  if (auto id = d.s.money_tx_by_provider(c.provider, c.reference)) {
    auto m = d.s.money_tx(id);
    LEDGER_ASSERT(m.has_value(), "a provider reference names no transaction");
    if (c.outcome == money_status::completed && c.amount != m->amount)
      return d.reject(reason::invalid_argument, "amount: differs from the amount of pending deposit " + std::to_string(id));
    if (!can_move(d, *m, c.outcome)) return;
    return end_deposit(d, *m, c.outcome, c.reason);
  }
  if (c.outcome != money_status::completed)
    return d.reject(reason::unknown_transaction, "no deposit from " + c.provider + " with reference " + c.reference);
  const auto* w = deposit_wallet(d, c.wallet, c.asset, c.amount);
  if (!w) return;
  record_deposit(d, *w, open_deposit_cmd{c.wallet, c.asset, c.amount, c.provider, c.reference, {}, {}},
                 money_status::completed);
}

void decide_body(decision& d, const provider_refund_cmd& c) {
  auto id = d.s.money_tx_by_provider(c.provider, c.payment_reference);
  if (!id) return d.reject(reason::unknown_transaction, "no deposit from " + c.provider + " with reference " + c.payment_reference);
  auto paid = d.s.money_tx(id);
  LEDGER_ASSERT(paid.has_value(), "a provider reference names no transaction");
  amount_t amount = c.amount;
  if (c.cumulative) {
    if (c.amount <= paid->refunded)
      return d.reject(reason::invalid_state, "deposit " + std::to_string(id) + " is already refunded that far");
    amount = c.amount - paid->refunded;
  }
  if (!within_refundable(d, *paid, amount) || !reference_free(d, paid->owner, c.refund_reference)) return;
  // The provider already returned the money: the wallet gives it back to clearing.
  const auto* w = d.s.account(paid->credit_account);
  if (!usable_wallet(d, w, true)) return;
  if (available_now(d, *w, *w->balance(paid->asset)) < amount) return d.reject(reason::insufficient_funds);
  money_tx_record m{d.ctx.seq, money_kind::refund, money_status::completed, w->id, paid->debit_account, paid->asset,
                    amount, 0, c.provider, c.refund_reference, paid->owner, {}, {}, paid->id};
  legs l;
  post_legs(l, m, 0);
  d.out.effects.emplace_back(opened(m));
  d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::refund, 0});
  d.accept(l);
}

}  // namespace ledger::money_detail
