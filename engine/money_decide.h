// The money family's decide helpers, shared by engine/money.cpp (assets,
// wallets, transfers, holds, reversals) and engine/payments.cpp (fees and
// transactions with a status). Internal to the engine.
#pragma once

#include <map>

#include "engine/decide.h"

namespace ledger::money_detail {


// Collects the legs of one event and turns them into balance_changed effects
// with the values after. Legs are kept per (account, asset) in first-touch
// order so the event bytes are deterministic.
class legs {
 public:
  struct delta {
    std::uint64_t account;
    std::string asset;
    amount_t debits_posted = 0, credits_posted = 0, debits_pending = 0, credits_pending = 0;
  };
  delta& at(std::uint64_t account, const std::string& asset) {
    for (auto& d : deltas_)
      if (d.account == account && d.asset == asset) return d;
    deltas_.push_back(delta{account, asset});
    return deltas_.back();
  }
  // Returns false on overflow of any counter.
  bool emit(const ledger_state& s, std::vector<effect>& out) const {
    std::map<std::string, amount_t> posted_sum, pending_sum;
    for (const auto& d : deltas_) {
      const auto* acc = s.account(d.account);
      LEDGER_ASSERT(acc != nullptr, "leg on an unknown account");
      balance_record b;
      if (const auto* cur = acc->balance(d.asset)) b = *cur;
      balance_changed fx{d.account, d.asset, d.debits_posted, d.credits_posted, d.debits_pending, d.credits_pending};
      if (!checked_add(b.debits_posted, d.debits_posted, b.debits_posted) ||
          !checked_add(b.credits_posted, d.credits_posted, b.credits_posted) ||
          !checked_add(b.debits_pending, d.debits_pending, b.debits_pending) ||
          !checked_add(b.credits_pending, d.credits_pending, b.credits_pending) ||
          !checked_sub(b.credits_posted, b.debits_posted, fx.posted_after))
        return false;
      fx.debits_pending_after = b.debits_pending;
      fx.credits_pending_after = b.credits_pending;
      posted_sum[d.asset] += d.credits_posted - d.debits_posted;
      pending_sum[d.asset] += d.credits_pending - d.debits_pending;
      out.emplace_back(std::move(fx));
    }
    for (const auto& [asset, sum] : posted_sum) LEDGER_ASSERT(sum == 0, "posted legs of %s do not balance: they sum to %s", asset.c_str(), assert_detail::text(sum).c_str());
    for (const auto& [asset, sum] : pending_sum) LEDGER_ASSERT(sum == 0, "pending legs of %s do not balance: they sum to %s", asset.c_str(), assert_detail::text(sum).c_str());
    return true;
  }

 private:
  std::vector<delta> deltas_;
};

struct decision {
  const ledger_state& s;
  const decide_context& ctx;
  event& out;

  void reject(reason r, std::string detail = {}) {
    out.status = event_status::rejected;
    out.reason = r;
    out.detail = std::move(detail);
    out.effects.clear();
  }
  void accept(const legs& l) {
    std::vector<effect> fx;
    if (!l.emit(s, fx)) return reject(reason::overflow, "a balance would leave the representable range");
    // Balance effects first, then the rest that was added before accept.
    fx.insert(fx.end(), std::make_move_iterator(out.effects.begin()), std::make_move_iterator(out.effects.end()));
    out.effects = std::move(fx);
    out.status = event_status::accepted;
  }
};

// Checks shared by every movement on a user wallet. Returns false after rejecting.
// Checks shared by every movement on a user wallet. Each returns false (or
// nullptr, or 0) after rejecting.
bool usable_wallet(decision& d, const account_record* w, bool debit);
const asset_record* movement_asset(decision& d, const std::string& code, amount_t amount);
const balance_record* wallet_balance(decision& d, const account_record& w, const std::string& asset);
// What the wallet may spend now (expired holds reserve nothing).
amount_t available_now(const decision& d, const account_record& w, const balance_record& b);
// Daily limit and available balance for a debit of `total`; adds daily_usage.
bool can_debit(decision& d, const account_record& w, const balance_record& b, amount_t total);
std::uint64_t system_account(decision& d, const std::string& name);
// Gives back daily usage counted on `counted_day` for a debit that will not happen.
void give_back_usage(decision& d, std::uint64_t wallet, const std::string& asset, std::int32_t counted_day,
                     amount_t amount);

// engine/payments.cpp: the fee of `amount` under the (asset, kind) schedule,
// 0 without one.
amount_t scheduled_fee(const decision& d, const std::string& asset, money_kind kind, amount_t amount);
// Resolves an open withdrawal (and the fee its record holds): settles it or
// releases it exactly, with the status change of its record.
void resolve_withdrawal(decision& d, const pending_record& p, money_status to, const std::string& reason);
void decide_body(decision& d, const set_fee_schedule_cmd& c);
void decide_body(decision& d, const remove_fee_schedule_cmd& c);
// Whether a deposit or transfer carries a reference, description or
// metadata: only then is it recorded as a transaction with a status (a bare
// one is its postings alone, so the hot path writes no record).
template <class C>
bool has_story(const C& c) {
  return !c.reference.empty() || !c.description.empty() || !c.metadata.empty();
}
// The effect that opens transaction record `m`.
money_tx_opened opened(const money_tx_record& m);
// A reference is unique per owner across every kind (empty: none given);
// rejects with reference_exists if taken.
bool reference_free(decision& d, const std::string& owner, const std::string& reference);
void decide_body(decision& d, const deposit_cmd& c);
void decide_body(decision& d, const open_deposit_cmd& c);
void decide_body(decision& d, const change_money_status_cmd& c);
void decide_body(decision& d, const pay_cmd& c);
void decide_body(decision& d, const refund_cmd& c);
void decide_body(decision& d, const provider_payment_cmd& c);
void decide_body(decision& d, const provider_refund_cmd& c);
// engine/payment_requests.cpp.
void decide_body(decision& d, const create_payment_request_cmd& c);
void decide_body(decision& d, const pay_payment_request_cmd& c);
void decide_body(decision& d, const decline_payment_request_cmd& c);
void decide_body(decision& d, const cancel_payment_request_cmd& c);

}  // namespace ledger::money_detail
