// Fee schedules and transactions with a status (engine/payments.cpp),
// through the real engine on RocksDB: exact fees at every asset scale,
// every status transition with the money it moves (or does not), the
// refusals that change nothing, double entry after each step (the journal
// rebuilt and its trial balance taken), and pending items across a reopen.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "schemas/codec.h"
#include "tests/engine/books.h"
#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"

namespace {

using namespace ledger;
using ledger::testing::check_books;
using ledger::testing::engine_harness;

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

// "posted/debits_pending/credits_pending" as committed in the store.
std::string bal(engine_harness& h, std::uint64_t account, const std::string& asset = "USD") {
  auto b = h.balance(account, asset);
  if (!b) return "none";
  return to_decimal(b->posted()) + "/" + to_decimal(b->debits_pending) + "/" + to_decimal(b->credits_pending);
}

std::optional<money_tx_record> tx(engine_harness& h, std::uint64_t id) {
  std::string v;
  if (!h.eng().storage().read_state(keys::money_tx(id), v)) return std::nullopt;
  money_tx_record r;
  if (!decode(v, r)) return std::nullopt;
  return r;
}

std::string status_of(engine_harness& h, std::uint64_t id) {
  auto r = tx(h, id);
  return r ? std::string(to_string(r->status)) : "none";
}

struct fixture {
  engine_harness h;
  std::uint64_t clearing = 0, payouts = 0, fees = 0, alice = 0, shop = 0;
  fixture() {
    h.setup_basics();
    clearing = h.system_ids.at("clearing:stripe");
    payouts = h.system_ids.at("payouts");
    fees = h.system_ids.at("fee_revenue");
    alice = h.open_wallet("alice");
    shop = h.open_wallet("shop");
  }
  change_money_status_cmd move(std::uint64_t id, money_kind k, money_status to, std::string reason = {}) {
    return change_money_status_cmd{id, k, to, std::move(reason)};
  }
};

// --- an independent fee computation, on decimal strings ----------------------

std::string digits_of(amount_t v) { return to_decimal(v); }

// a * b for non-negative decimal strings (schoolbook).
std::string mul(const std::string& a, const std::string& b) {
  std::vector<int> r(a.size() + b.size(), 0);
  for (std::size_t i = a.size(); i-- > 0;)
    for (std::size_t j = b.size(); j-- > 0;) {
      int sum = (a[i] - '0') * (b[j] - '0') + r[i + j + 1];
      r[i + j + 1] = sum % 10;
      r[i + j] += sum / 10;
    }
  std::string s;
  for (int d : r)
    if (!(s.empty() && d == 0)) s.push_back(static_cast<char>('0' + d));
  return s.empty() ? "0" : s;
}

std::string add(const std::string& a, const std::string& b) {
  std::string r;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    r.insert(r.begin(), static_cast<char>('0' + d % 10));
    carry = d / 10;
  }
  std::size_t nz = r.find_first_not_of('0');
  return nz == std::string::npos ? "0" : r.substr(nz);
}

int cmp(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

// fixed + round_half_up(amount * bps / 10000), clamped to [minimum, maximum]:
// the product's last four digits are the fraction; 5000 or more rounds up.
std::string expected_fee(amount_t amount, const fee_schedule_record& s) {
  std::string p = mul(digits_of(amount), std::to_string(s.basis_points));
  std::string padded = std::string(p.size() < 5 ? 5 - p.size() : 0, '0') + p;
  std::string whole = padded.substr(0, padded.size() - 4);
  int fraction = std::stoi(padded.substr(padded.size() - 4));
  if (fraction >= 5000) whole = add(whole, "1");
  std::string fee = add(add(whole, "0"), digits_of(s.fixed));
  if (cmp(fee, digits_of(s.minimum)) < 0) fee = digits_of(s.minimum);
  if (cmp(fee, digits_of(s.maximum)) > 0) fee = digits_of(s.maximum);
  return fee;
}

amount_t pow10(int n) {
  amount_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

}  // namespace

TEST_CASE("fee_for: exact against a decimal-string computation, boundaries and a seeded sample") {
  std::vector<fee_schedule_record> schedules = {
      {"X", money_kind::transfer, 0, 1, 0, amount_limit},        // 0.01 %: every amount below 5000 rounds to 0 or 1
      {"X", money_kind::transfer, 30, 290, 50, 1000},            // Stripe-like, clamped
      {"X", money_kind::transfer, 0, 10'000, 0, amount_limit},   // 100 %
      {"X", money_kind::transfer, 0, 9'999, 0, amount_limit},
      {"X", money_kind::transfer, amount_limit, 10'000, 0, amount_limit},  // clamped at the top
      {"X", money_kind::transfer, 7, 0, 0, amount_limit},        // fixed only
  };
  std::vector<amount_t> amounts = {0, 1, 2, 4'999, 5'000, 5'001, 9'999, 10'000, 10'001, 14'999, 15'000,
                                   amount_limit, amount_limit - 1, amount_limit / 2, amount_limit - 4'999};
  for (int s = 0; s <= 18; ++s) {
    amounts.push_back(pow10(s));
    amounts.push_back(pow10(s) - 1);
    amounts.push_back(pow10(s) * 5 / 2);
  }
  std::mt19937_64 rng(20261130);
  for (int i = 0; i < 2000; ++i) {
    amount_t v = (static_cast<amount_t>(rng()) << 64 | rng()) % (amount_limit + 1);
    amounts.push_back(v < 0 ? -v : v);
  }
  for (const auto& s : schedules)
    for (auto a : amounts) {
      INFO("amount " << to_decimal(a) << " bps " << s.basis_points << " fixed " << to_decimal(s.fixed));
      CHECK(to_decimal(fee_for(s, a)) == expected_fee(a, s));
    }
}

TEST_CASE("transfer fees at every scale from 0 to 18 are exact to the minor unit and booked in the same event") {
  engine_harness h;
  h.setup_basics();
  auto fees = h.system_ids.at("fee_revenue");
  for (int scale = 0; scale <= 18; ++scale) {
    std::string code = "S" + std::to_string(scale);
    h.must(h.run(register_asset_cmd{code, static_cast<std::uint8_t>(scale), 1, amount_limit}));
    // 0.30 + 2.90 %, at least 0.50, at most 10.00 where the scale has cents;
    // the same minor-unit numbers at scales 0 and 1.
    amount_t cents = scale >= 2 ? pow10(scale - 2) : 1;
    fee_schedule_record s{code, money_kind::transfer, 30 * cents, 290, 50 * cents, 1000 * cents};
    h.must(h.run(set_fee_schedule_cmd{code, money_kind::transfer, s.fixed, s.basis_points, s.minimum, s.maximum}));
    auto from = h.open_wallet("from" + code, {{code, 0, 0}});
    auto to = h.open_wallet("to" + code, {{code, 0, 0}});
    h.must(h.run(deposit_cmd{from, code, amount_limit / 2, "stripe", "", ""}));
    amount_t collected = 0;
    for (amount_t amount : {amount_t{1}, amount_t{17}, amount_t{1'724} * cents, amount_t{5'000}, pow10(scale) + 1,
                            amount_t{34'483} * cents, amount_t{1'000'000} * cents, pow10(scale) * 7 / 2 + 5'000}) {
      INFO("scale " << scale << " amount " << to_decimal(amount));
      auto o = h.must(h.run(transfer_cmd{from, to, code, amount, 0, "", ""}));
      amount_t fee = fee_for(s, amount);
      CHECK(to_decimal(fee) == expected_fee(amount, s));
      collected += fee;
      // The fee leg is in the transfer's own event.
      bool booked = false;
      for (const auto& b : o.balances)
        if (b.account == fees && b.asset == code) booked = b.d_credits_posted == fee && b.posted_after == collected;
      CHECK(booked);
    }
    CHECK(to_decimal(h.balance(fees, code)->posted()) == to_decimal(collected));
  }
  check_books(h);
}

TEST_CASE("fee schedules: set, replace, remove; refusals name the field") {
  fixture f;
  auto& h = f.h;
  h.fund(f.alice, 100'000);
  CHECK(why(h.run(set_fee_schedule_cmd{"EUR", money_kind::transfer, 0, 0, 0, 0})) == "unknown_asset");
  auto bad = h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 0, 10'001, 0, 0});
  CHECK(why(bad) == "invalid_argument");
  CHECK(bad.detail.rfind("basis_points", 0) == 0);
  CHECK(h.run(set_fee_schedule_cmd{"USD", money_kind::deposit, 0, 0, 0, 0}).detail.rfind("kind", 0) == 0);
  CHECK(h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 0, 0, 5, 4}).detail.rfind("maximum", 0) == 0);
  CHECK(why(h.run(remove_fee_schedule_cmd{"USD", money_kind::transfer})) == "invalid_state");

  h.must(h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 10, 0, 0, 100}));
  h.must(h.run(transfer_cmd{f.alice, f.shop, "USD", 1'000, 0, "", ""}));
  CHECK(bal(h, f.fees) == "10/0/0");
  h.must(h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 20, 0, 0, 100}));  // replaces
  // A caller's fee comes on top of the scheduled one.
  h.must(h.run(transfer_cmd{f.alice, f.shop, "USD", 1'000, 5, "", ""}));
  CHECK(bal(h, f.fees) == "35/0/0");
  CHECK(bal(h, f.alice) == std::to_string(100'000 - 2'000 - 35) + "/0/0");
  h.must(h.run(remove_fee_schedule_cmd{"USD", money_kind::transfer}));
  h.must(h.run(transfer_cmd{f.alice, f.shop, "USD", 1'000, 0, "", ""}));
  CHECK(bal(h, f.fees) == "35/0/0");
  check_books(h);
}

TEST_CASE("deposits: pending credits nothing; complete credits; fail and cancel end it without money") {
  fixture f;
  auto& h = f.h;
  auto o = h.must(h.run(open_deposit_cmd{f.alice, "USD", 2'500, "stripe", "pi_1", "top-up", R"({"k":"v"})"}));
  auto id = o.seq;
  CHECK(o.balances.empty());
  CHECK(bal(h, f.alice) == "0/0/0");
  CHECK(status_of(h, id) == "pending");
  CHECK(tx(h, id)->description == "top-up");
  check_books(h);
  h.must(h.run(f.move(id, money_kind::deposit, money_status::processing)));
  CHECK(status_of(h, id) == "processing");
  CHECK(bal(h, f.alice) == "0/0/0");
  // A processing deposit is with the provider: it can no longer be cancelled.
  auto refused = h.run(f.move(id, money_kind::deposit, money_status::cancelled));
  CHECK(why(refused) == "invalid_transition");
  CHECK(refused.detail.find("processing") != std::string::npos);
  auto done = h.must(h.run(f.move(id, money_kind::deposit, money_status::completed)));
  CHECK(done.transaction_id == done.seq);
  CHECK(bal(h, f.alice) == "2500/0/0");
  CHECK(bal(h, f.clearing) == "-2500/0/0");
  // Terminal: nothing moves it again, and nothing changes.
  auto again = h.run(f.move(id, money_kind::deposit, money_status::failed));
  CHECK(why(again) == "invalid_transition");
  CHECK(again.detail == "deposit " + std::to_string(id) + " is completed; a completed deposit cannot become failed");
  CHECK(why(h.run(f.move(id, money_kind::payment, money_status::completed))) == "unknown_transaction");
  CHECK(bal(h, f.alice) == "2500/0/0");

  auto second = h.must(h.run(open_deposit_cmd{f.alice, "USD", 100, "stripe", "pi_2", "", ""})).seq;
  h.must(h.run(f.move(second, money_kind::deposit, money_status::failed, "card declined")));
  CHECK(tx(h, second)->reason == "card declined");
  auto third = h.must(h.run(open_deposit_cmd{f.alice, "USD", 100, "stripe", "pi_3", "", ""})).seq;
  h.must(h.run(f.move(third, money_kind::deposit, money_status::cancelled)));
  CHECK(why(h.run(f.move(third, money_kind::deposit, money_status::completed))) == "invalid_transition");
  CHECK(bal(h, f.alice) == "2500/0/0");
  // The owner's reference is taken by the first deposit.
  auto dup = h.run(open_deposit_cmd{f.alice, "USD", 100, "stripe", "pi_1", "", ""});
  CHECK(why(dup) == "reference_exists");
  check_books(h);
}

TEST_CASE("payments: pending holds amount and fee; complete posts; fail and cancel release exactly") {
  fixture f;
  auto& h = f.h;
  h.fund(f.alice, 10'000);
  h.must(h.run(set_fee_schedule_cmd{"USD", money_kind::payment, 30, 290, 50, 1'000}));
  auto p = h.must(h.run(pay_cmd{f.alice, f.shop, "USD", 1'000, "order-1", "shoes", "{}"})).seq;  // fee 30 + 29 = 59
  CHECK(bal(h, f.alice) == "10000/1059/0");
  CHECK(bal(h, f.shop) == "0/0/1000");
  CHECK(bal(h, f.fees) == "0/0/59");
  check_books(h);
  // Refunding a pending payment is refused and changes nothing.
  auto early = h.run(refund_cmd{p, 100, "r-0", "", ""});
  CHECK(why(early) == "invalid_transition");
  CHECK(early.detail == "payment " + std::to_string(p) + " is pending; only a completed payment can be refunded");
  h.must(h.run(f.move(p, money_kind::payment, money_status::processing)));
  h.must(h.run(f.move(p, money_kind::payment, money_status::completed)));
  CHECK(bal(h, f.alice) == "8941/0/0");
  CHECK(bal(h, f.shop) == "1000/0/0");
  CHECK(bal(h, f.fees) == "59/0/0");
  check_books(h);

  auto q = h.must(h.run(pay_cmd{f.alice, f.shop, "USD", 2'000, "order-2", "", ""})).seq;  // fee 30 + 58 = 88
  CHECK(bal(h, f.alice) == "8941/2088/0");
  h.must(h.run(f.move(q, money_kind::payment, money_status::failed, "merchant declined")));
  CHECK(bal(h, f.alice) == "8941/0/0");
  CHECK(bal(h, f.shop) == "1000/0/0");
  CHECK(bal(h, f.fees) == "59/0/0");
  auto c = h.run(f.move(q, money_kind::payment, money_status::completed));
  CHECK(why(c) == "invalid_transition");
  CHECK(c.detail == "payment " + std::to_string(q) + " is failed; a failed payment cannot become completed");
  auto r = h.must(h.run(pay_cmd{f.alice, f.shop, "USD", 500, "order-3", "", ""})).seq;  // fee 50 (minimum)
  CHECK(bal(h, f.alice) == "8941/550/0");
  h.must(h.run(f.move(r, money_kind::payment, money_status::cancelled)));
  CHECK(bal(h, f.alice) == "8941/0/0");
  CHECK(why(h.run(pay_cmd{f.alice, f.shop, "USD", 9'000, "order-4", "", ""})) == "insufficient_funds");
  CHECK(why(h.run(pay_cmd{f.alice, f.shop, "USD", 10, "order-1", "", ""})) == "reference_exists");
  CHECK(why(h.run(pay_cmd{f.alice, f.alice, "USD", 10, "", "", ""})) == "same_account");
  check_books(h);
}

TEST_CASE("refunds: never more than paid minus refunded, pending refunds counted; fail gives the room back") {
  fixture f;
  auto& h = f.h;
  h.fund(f.alice, 10'000);
  h.fund(f.shop, 500);
  auto p = h.must(h.run(pay_cmd{f.alice, f.shop, "USD", 1'000, "order-1", "", ""})).seq;
  h.must(h.run(f.move(p, money_kind::payment, money_status::completed)));
  CHECK(bal(h, f.shop) == "1500/0/0");

  auto r1 = h.must(h.run(refund_cmd{p, 600, "refund-1", "half", ""})).seq;  // pending: holds the shop's 600
  CHECK(bal(h, f.shop) == "1500/600/0");
  CHECK(bal(h, f.alice) == "9000/0/600");
  auto over = h.run(refund_cmd{p, 401, "refund-2", "", ""});
  CHECK(why(over) == "refund_exceeds_paid");
  CHECK(over.detail == "amount: 4.01 is more than the 4.00 left to refund of payment " + std::to_string(p) +
                           " (paid 10.00, refunded or pending 6.00)");
  CHECK(bal(h, f.shop) == "1500/600/0");
  auto r2 = h.must(h.run(refund_cmd{p, 400, "refund-2", "", ""})).seq;
  CHECK(why(h.run(refund_cmd{p, 1, "refund-3", "", ""})) == "refund_exceeds_paid");
  // A failed refund gives its amount back to what may be refunded.
  h.must(h.run(f.move(r1, money_kind::refund, money_status::failed)));
  CHECK(bal(h, f.shop) == "1500/400/0");
  CHECK(tx(h, p)->refunded == 400);
  h.must(h.run(f.move(r2, money_kind::refund, money_status::completed)));
  CHECK(bal(h, f.shop) == "1100/0/0");
  CHECK(bal(h, f.alice) == "9400/0/0");
  auto r3 = h.must(h.run(refund_cmd{p, 600, "refund-3", "", ""})).seq;
  auto posted = h.must(h.run(f.move(r3, money_kind::refund, money_status::completed))).transaction_id;
  CHECK(bal(h, f.alice) == "10000/0/0");
  CHECK(why(h.run(refund_cmd{p, 1, "refund-4", "", ""})) == "refund_exceeds_paid");
  CHECK(why(h.run(f.move(r3, money_kind::refund, money_status::failed))) == "invalid_transition");
  // Payments and refunds are undone by refunds, never reversed.
  CHECK(why(h.run(reverse_cmd{posted, ""})) == "not_reversible");
  check_books(h);
}

TEST_CASE("withdrawals: processing, cancel and fail release amount and fee exactly; settle posts both") {
  fixture f;
  auto& h = f.h;
  h.fund(f.alice, 10'000);
  h.must(h.run(set_fee_schedule_cmd{"USD", money_kind::withdrawal, 25, 0, 0, 100}));
  auto w = h.must(h.run(withdraw_cmd{f.alice, "USD", 3'000, "payout-1", ""})).pending_id;
  CHECK(bal(h, f.alice) == "10000/3025/0");
  CHECK(bal(h, f.payouts) == "0/0/3000");
  CHECK(bal(h, f.fees) == "0/0/25");
  CHECK(status_of(h, w) == "pending");
  h.must(h.run(f.move(w, money_kind::withdrawal, money_status::processing)));
  CHECK(why(h.run(f.move(w, money_kind::withdrawal, money_status::cancelled))) == "invalid_transition");
  h.must(h.run(fail_withdrawal_cmd{w, "bank refused"}));
  CHECK(bal(h, f.alice) == "10000/0/0");
  CHECK(bal(h, f.payouts) == "0/0/0");
  CHECK(bal(h, f.fees) == "0/0/0");
  CHECK(status_of(h, w) == "failed");
  CHECK(why(h.run(settle_withdrawal_cmd{w})) == "withdrawal_not_pending");
  CHECK(why(h.run(f.move(w, money_kind::withdrawal, money_status::completed))) == "invalid_transition");

  auto w2 = h.must(h.run(withdraw_cmd{f.alice, "USD", 1'000, "payout-2", ""})).pending_id;
  h.must(h.run(f.move(w2, money_kind::withdrawal, money_status::cancelled)));
  CHECK(status_of(h, w2) == "cancelled");
  CHECK(bal(h, f.alice) == "10000/0/0");
  auto w3 = h.must(h.run(withdraw_cmd{f.alice, "USD", 1'000, "payout-3", ""})).pending_id;
  h.must(h.run(f.move(w3, money_kind::withdrawal, money_status::completed)));
  CHECK(bal(h, f.alice) == "8975/0/0");
  CHECK(bal(h, f.payouts) == "1000/0/0");
  CHECK(bal(h, f.fees) == "25/0/0");
  CHECK(status_of(h, w3) == "completed");
  check_books(h);
}

TEST_CASE("provider payments and refunds: by provider reference, never over the paid amount") {
  fixture f;
  auto& h = f.h;
  // Completes the pending deposit with that provider reference.
  auto d = h.must(h.run(open_deposit_cmd{f.alice, "USD", 5'000, "stripe", "pi_A", "", ""})).seq;
  CHECK(why(h.run(provider_payment_cmd{"stripe", "pi_A", money_status::completed, f.alice, "USD", 4'000, ""})) ==
        "invalid_argument");
  h.must(h.run(provider_payment_cmd{"stripe", "pi_A", money_status::completed, f.alice, "USD", 5'000, ""}));
  CHECK(status_of(h, d) == "completed");
  CHECK(bal(h, f.alice) == "5000/0/0");
  // None pending: a success records a completed deposit; a failure is refused.
  auto n = h.must(h.run(provider_payment_cmd{"stripe", "pi_B", money_status::completed, f.alice, "USD", 700, ""}));
  CHECK(status_of(h, n.seq) == "completed");
  CHECK(bal(h, f.alice) == "5700/0/0");
  CHECK(why(h.run(provider_payment_cmd{"stripe", "pi_C", money_status::failed, 0, "", 0, "declined"})) ==
        "unknown_transaction");
  // Stripe's amount_refunded is cumulative: only the difference is refunded.
  h.must(h.run(provider_refund_cmd{"stripe", "pi_A", "ch_A:1000", 1'000, true}));
  CHECK(bal(h, f.alice) == "4700/0/0");
  h.must(h.run(provider_refund_cmd{"stripe", "pi_A", "ch_A:3000", 3'000, true}));
  CHECK(bal(h, f.alice) == "2700/0/0");
  auto over = h.run(provider_refund_cmd{"stripe", "pi_A", "ch_A:5001", 5'001, true});
  CHECK(why(over) == "refund_exceeds_paid");
  CHECK(bal(h, f.alice) == "2700/0/0");
  CHECK(bal(h, f.clearing) == "-2700/0/0");
  check_books(h);
}

// Every kind carries a status, a description, metadata and a reference
// unique per owner: a deposit credited at once and a transfer are recorded
// as completed; a reference one kind used is refused for every other kind
// of the same owner (and the refusal changes nothing), another owner may use
// it; a withdrawal reusing a reference is refused, not applied.
TEST_CASE("references are unique per owner across deposits, withdrawals, transfers and payments") {
  fixture f;
  auto& h = f.h;
  h.must(h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 2, 0, 0, 100}));
  auto dep = h.must(h.run(deposit_cmd{f.alice, "USD", 10'000, "stripe", "inv-1", R"({"src":"card"})", "top-up"})).seq;
  auto d = tx(h, dep);
  REQUIRE(d.has_value());
  CHECK(d->kind == money_kind::deposit);
  CHECK(d->status == money_status::completed);
  CHECK(d->description == "top-up");
  CHECK(d->metadata == R"({"src":"card"})");
  CHECK(d->owner == "alice");

  auto t = h.must(h.run(transfer_cmd{f.alice, f.shop, "USD", 1'000, 5, "inv-2", "{}", "dinner"})).seq;
  auto r = tx(h, t);
  REQUIRE(r.has_value());
  CHECK(r->kind == money_kind::transfer);
  CHECK(r->status == money_status::completed);
  CHECK(r->fee == 7);  // the caller's 5 and the scheduled 2
  CHECK(r->debit_account == f.alice);
  CHECK(r->credit_account == f.shop);
  CHECK(r->description == "dinner");
  CHECK(bal(h, f.alice) == "8993/0/0");

  // Each kind is refused the references alice already used, and nothing moves.
  for (const char* used : {"inv-1", "inv-2"}) {
    INFO("reference ", used);
    CHECK(why(h.run(transfer_cmd{f.alice, f.shop, "USD", 1, 0, used, "", ""})) == "reference_exists");
    CHECK(why(h.run(withdraw_cmd{f.alice, "USD", 1, used, "", ""})) == "reference_exists");
    CHECK(why(h.run(pay_cmd{f.alice, f.shop, "USD", 1, used, "", ""})) == "reference_exists");
    CHECK(why(h.run(deposit_cmd{f.alice, "USD", 1, "stripe", used, "", ""})) == "reference_exists");
  }
  CHECK(bal(h, f.alice) == "8993/0/0");
  CHECK(bal(h, f.shop) == "1000/0/0");

  // A withdrawal's reference is taken too: a second one is refused.
  auto w = h.must(h.run(withdraw_cmd{f.alice, "USD", 500, "payout-9", "", "rent"})).pending_id;
  CHECK(tx(h, w)->description == "rent");
  auto again = h.run(withdraw_cmd{f.alice, "USD", 500, "payout-9", "", ""});
  CHECK(why(again) == "reference_exists");
  CHECK(again.detail == "reference: payout-9 is already used by transaction " + std::to_string(w));
  CHECK(bal(h, f.alice) == "8993/500/0");

  // Another owner's references are its own; the provider's reference of a
  // deposit is unique per provider.
  h.must(h.run(transfer_cmd{f.shop, f.alice, "USD", 10, 0, "inv-2", "", ""}));
  CHECK(why(h.run(deposit_cmd{f.shop, "USD", 1, "stripe", "inv-1", "", ""})) == "reference_exists");
  h.must(h.run(open_account_cmd{account_kind::system, "clearing:adyen", {}}));
  h.must(h.run(deposit_cmd{f.shop, "USD", 1, "adyen", "inv-1", "", ""}));

  // Without reference, description or metadata a transfer or deposit is its
  // postings alone: no record (the hot path writes none).
  auto bare = h.must(h.run(transfer_cmd{f.alice, f.shop, "USD", 1, 0, "", "", ""})).seq;
  CHECK_FALSE(tx(h, bare).has_value());
  CHECK_FALSE(tx(h, h.must(h.run(deposit_cmd{f.alice, "USD", 1, "stripe", "", ""})).seq).has_value());
  check_books(h);
}

TEST_CASE("pending deposits, payments, refunds and withdrawals survive a reopen of the store") {
  fixture f;
  auto& h = f.h;
  h.fund(f.alice, 10'000);
  h.must(h.run(set_fee_schedule_cmd{"USD", money_kind::payment, 10, 0, 0, 10}));
  auto d = h.must(h.run(open_deposit_cmd{f.alice, "USD", 300, "stripe", "pi_R", "", ""})).seq;
  auto p = h.must(h.run(pay_cmd{f.alice, f.shop, "USD", 1'000, "o-1", "", ""})).seq;
  auto p2 = h.must(h.run(pay_cmd{f.alice, f.shop, "USD", 2'000, "o-2", "", ""})).seq;
  h.must(h.run(change_money_status_cmd{p2, money_kind::payment, money_status::completed, ""}));
  auto r = h.must(h.run(refund_cmd{p2, 500, "r-1", "", ""})).seq;
  auto w = h.must(h.run(withdraw_cmd{f.alice, "USD", 700, "w-1", ""})).pending_id;
  h.reopen();
  CHECK(status_of(h, d) == "pending");
  CHECK(status_of(h, p) == "pending");
  CHECK(status_of(h, r) == "pending");
  CHECK(status_of(h, w) == "pending");
  CHECK(bal(h, f.alice) == "7990/1710/500");
  // Duplicate references are still refused after the reopen.
  CHECK(why(h.run(pay_cmd{f.alice, f.shop, "USD", 1, "o-1", "", ""})) == "reference_exists");
  h.must(h.run(change_money_status_cmd{d, money_kind::deposit, money_status::completed, ""}));
  h.must(h.run(change_money_status_cmd{p, money_kind::payment, money_status::failed, ""}));
  h.must(h.run(change_money_status_cmd{r, money_kind::refund, money_status::completed, ""}));
  h.must(h.run(settle_withdrawal_cmd{w}));
  CHECK(bal(h, f.alice) == std::to_string(7'990 + 300 + 500 - 700) + "/0/0");
  check_books(h);
}
