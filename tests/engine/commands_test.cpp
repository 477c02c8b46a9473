// Every money command and every rejection the engine can give, through the
// real engine on RocksDB (engine_harness), with exact balances after: both as
// the outcome reports them and as the store committed them.
#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/engine/harness.h"

namespace {

using namespace ledger;
using ledger::testing::engine_harness;

constexpr std::int64_t second_us = 1'000'000;
constexpr std::int64_t hour_us = 3600 * second_us;
constexpr std::int64_t day_us = 24 * hour_us;

// "accepted", or the rejection reason, or the operating error.
std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

std::string triple(amount_t posted, amount_t debits_pending, amount_t credits_pending) {
  return to_decimal(posted) + "/" + to_decimal(debits_pending) + "/" + to_decimal(credits_pending);
}

// "posted/debits_pending/credits_pending" of (account, asset) as the outcome
// reports it after the command, or "untouched" if the command did not move it.
std::string leg(const outcome& o, std::uint64_t account, const std::string& asset = "USD") {
  for (const auto& b : o.balances)
    if (b.account == account && b.asset == asset)
      return triple(b.posted_after, b.debits_pending_after, b.credits_pending_after);
  return "untouched";
}

std::optional<account_record> account_of(engine_harness& h, std::uint64_t id) {
  std::string v;
  if (!h.eng().storage().read_state(keys::account(id), v)) return std::nullopt;
  account_record r;
  if (!decode(v, r)) return std::nullopt;
  return r;
}

// The same triple as committed in the store.
std::string bal(engine_harness& h, std::uint64_t account, const std::string& asset = "USD") {
  auto b = h.balance(account, asset);
  if (!b) return "none";
  return triple(b->posted(), b->debits_pending, b->credits_pending);
}

std::string avail(engine_harness& h, std::uint64_t account, const std::string& asset = "USD") {
  auto b = h.balance(account, asset);
  return b ? to_decimal(b->available()) : "none";
}

std::string status_of(engine_harness& h, std::uint64_t id) {
  auto a = account_of(h, id);
  return a ? std::string(to_string(a->status)) : "none";
}

// Sums over every account of posted and of pending (credits - debits) for an
// asset, as "posted/pending". Double entry keeps both at zero.
std::string trial(engine_harness& h, const std::string& asset = "USD") {
  amount_t posted = 0, pending = 0;
  for (std::uint64_t id = 1;; ++id) {
    auto a = account_of(h, id);
    if (!a) break;
    if (const auto* b = a->balance(asset)) {
      posted += b->posted();
      pending += b->credits_pending - b->debits_pending;
    }
  }
  return to_decimal(posted) + "/" + to_decimal(pending);
}

std::optional<event> event_at(engine_harness& h, std::uint64_t seq) {
  journal_entry je;
  if (!h.eng().storage().read_event(seq, je)) return std::nullopt;
  event e;
  if (!decode_event(je.event_bytes, e)) return std::nullopt;
  return e;
}

std::uint64_t head_seq(engine_harness& h) { return h.eng().head().seq; }

std::int64_t now_us(engine_harness& h) { return h.clock().now_us(); }

// A harness with USD (scale 2) and the usual system accounts.
struct ledger_fixture {
  engine_harness h;
  std::uint64_t clearing = 0, payouts = 0, fees = 0;
  ledger_fixture() {
    h.setup_basics();
    clearing = h.system_ids.at("clearing:stripe");
    payouts = h.system_ids.at("payouts");
    fees = h.system_ids.at("fee_revenue");
  }
};

}  // namespace

// --- assets and accounts ------------------------------------------------------

TEST_CASE("register_asset: accepted once, then asset_exists") {
  engine_harness h;
  auto o = h.run(register_asset_cmd{"EUR", 2, 1, amount_limit});
  CHECK(why(o) == "accepted");
  CHECK(o.balances.empty());
  CHECK(o.seq == 1);
  std::string v;
  CHECK(h.eng().storage().read_state(keys::asset("EUR"), v).is_ok());

  auto again = h.run(register_asset_cmd{"EUR", 2, 1, amount_limit});
  CHECK(why(again) == "asset_exists");
  auto different = h.run(register_asset_cmd{"EUR", 6, 5, 100});
  CHECK(why(different) == "asset_exists");
  CHECK(why(h.run(register_asset_cmd{"BTC", 8, 1, amount_limit})) == "accepted");
}

TEST_CASE("open_account: wallets and system accounts") {
  engine_harness h;
  h.must(h.run(register_asset_cmd{"USD", 2, 1, amount_limit}));
  h.must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));

  SUBCASE("a wallet gets the next id and a zero balance per asset") {
    auto o = h.run(open_account_cmd{account_kind::user, "alice", {{"USD", 0, 0}, {"EUR", 100, 500}}});
    REQUIRE(why(o) == "accepted");
    CHECK(o.account_id == 1);
    CHECK(o.balances.empty());
    CHECK(bal(h, 1, "USD") == "0/0/0");
    CHECK(bal(h, 1, "EUR") == "0/0/0");
    CHECK(avail(h, 1, "EUR") == "100");  // overdraft counts as available
    CHECK(bal(h, 1, "BTC") == "none");
    CHECK(status_of(h, 1) == "active");
    auto second = h.run(open_account_cmd{account_kind::user, "bob", {{"USD", 0, 0}}});
    CHECK(second.account_id == 2);
  }
  SUBCASE("a wallet in an unregistered asset is unknown_asset") {
    auto o = h.run(open_account_cmd{account_kind::user, "alice", {{"USD", 0, 0}, {"GBP", 0, 0}}});
    CHECK(why(o) == "unknown_asset");
    CHECK(o.account_id == 0);
    CHECK_FALSE(account_of(h, 1).has_value());
    // The id was not consumed.
    CHECK(h.run(open_account_cmd{account_kind::user, "alice", {{"USD", 0, 0}}}).account_id == 1);
  }
  SUBCASE("system accounts: one per name, account_exists after") {
    auto o = h.run(open_account_cmd{account_kind::system, "clearing:adyen", {}});
    REQUIRE(why(o) == "accepted");
    CHECK(o.account_id == 1);
    auto again = h.run(open_account_cmd{account_kind::system, "clearing:adyen", {}});
    CHECK(why(again) == "account_exists");
    CHECK(again.account_id == 0);
    CHECK(why(h.run(open_account_cmd{account_kind::system, "payouts", {}})) == "accepted");
    auto acc = account_of(h, 1);
    REQUIRE(acc.has_value());
    CHECK(acc->kind == account_kind::system);
    CHECK(acc->owner == "clearing:adyen");
    CHECK(acc->balances.empty());
  }
}

// --- deposits -------------------------------------------------------------------

TEST_CASE("deposit: credits the wallet, debits the provider's clearing account") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto o = h.run(deposit_cmd{w, "USD", 1500, "stripe", "ref", ""});
  REQUIRE(why(o) == "accepted");
  CHECK(o.transaction_id == o.seq);
  CHECK(o.balances.size() == 2);
  CHECK(leg(o, w) == "1500/0/0");
  CHECK(leg(o, f.clearing) == "-1500/0/0");
  CHECK(bal(h, w) == "1500/0/0");
  CHECK(bal(h, f.clearing) == "-1500/0/0");
  CHECK(avail(h, w) == "1500");

  auto o2 = h.run(deposit_cmd{w, "USD", 250, "stripe", "", ""});
  CHECK(leg(o2, w) == "1750/0/0");
  CHECK(leg(o2, f.clearing) == "-1750/0/0");
  CHECK(bal(h, w) == "1750/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("deposit: rejections move nothing") {
  ledger_fixture f;
  auto& h = f.h;
  h.must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
  h.must(h.run(register_asset_cmd{"LIM", 2, 100, 10000}));
  auto w = h.open_wallet("alice", {{"USD", 0, 0}, {"LIM", 0, 0}});
  h.fund(w, 1000);
  const auto head_before = head_seq(h);

  SUBCASE("unknown wallet") {
    auto o = h.run(deposit_cmd{999, "USD", 5, "stripe", "", ""});
    CHECK(why(o) == "unknown_wallet");
    CHECK(o.balances.empty());
    // A system account is not a wallet.
    CHECK(why(h.run(deposit_cmd{f.payouts, "USD", 5, "stripe", "", ""})) == "unknown_wallet");
    CHECK(bal(h, f.payouts) == "none");
  }
  SUBCASE("closed wallet") {
    auto closed = h.open_wallet("carol");
    h.must(h.run(close_account_cmd{closed}));
    CHECK(why(h.run(deposit_cmd{closed, "USD", 5, "stripe", "", ""})) == "wallet_closed");
    CHECK(bal(h, closed) == "0/0/0");
  }
  SUBCASE("unknown asset") {
    auto o = h.run(deposit_cmd{w, "GBP", 5, "stripe", "", ""});
    CHECK(why(o) == "unknown_asset");
    CHECK(o.detail.find("GBP") != std::string::npos);
  }
  SUBCASE("asset the wallet does not hold") {
    CHECK(why(h.run(deposit_cmd{w, "EUR", 5, "stripe", "", ""})) == "asset_mismatch");
    CHECK(bal(h, w, "EUR") == "none");
    CHECK(bal(h, f.clearing, "EUR") == "none");
  }
  SUBCASE("amount outside the asset's min/max") {
    CHECK(why(h.run(deposit_cmd{w, "LIM", 99, "stripe", "", ""})) == "amount_out_of_range");
    CHECK(why(h.run(deposit_cmd{w, "LIM", 10001, "stripe", "", ""})) == "amount_out_of_range");
    CHECK(bal(h, w, "LIM") == "0/0/0");
    CHECK(leg(h.run(deposit_cmd{w, "LIM", 100, "stripe", "", ""}), w, "LIM") == "100/0/0");
    CHECK(leg(h.run(deposit_cmd{w, "LIM", 10000, "stripe", "", ""}), w, "LIM") == "10100/0/0");
    CHECK(bal(h, w, "LIM") == "10100/0/0");
    CHECK(bal(h, f.clearing, "LIM") == "-10100/0/0");
    CHECK(trial(h, "LIM") == "0/0");
  }
  SUBCASE("unknown provider") {
    auto o = h.run(deposit_cmd{w, "USD", 5, "adyen", "", ""});
    CHECK(why(o) == "unknown_account");
    CHECK(o.detail.find("clearing:adyen") != std::string::npos);
  }
  // Whatever was rejected recorded an event but moved nothing.
  CHECK(head_seq(h) > head_before);
  CHECK(bal(h, w) == "1000/0/0");
  CHECK(bal(h, f.clearing) == "-1000/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("deposit: a frozen wallet still receives money") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  h.must(h.run(freeze_account_cmd{w}));
  auto o = h.run(deposit_cmd{w, "USD", 700, "stripe", "", ""});
  CHECK(why(o) == "accepted");
  CHECK(leg(o, w) == "700/0/0");
  CHECK(bal(h, w) == "700/0/0");
  CHECK(status_of(h, w) == "frozen");
}

// --- withdrawals ----------------------------------------------------------------

TEST_CASE("withdraw: pending, then settled or failed") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  h.fund(w, 1000);

  auto o = h.run(withdraw_cmd{w, "USD", 300, "payout-1", ""});
  REQUIRE(why(o) == "accepted");
  CHECK(o.pending_id == o.seq);
  CHECK(o.transaction_id == 0);  // nothing posted yet
  CHECK(leg(o, w) == "1000/300/0");
  CHECK(leg(o, f.payouts) == "0/0/300");
  CHECK(bal(h, w) == "1000/300/0");
  CHECK(bal(h, f.payouts) == "0/0/300");
  CHECK(avail(h, w) == "700");  // available drops, posted does not
  CHECK(trial(h) == "0/0");
  const auto wd = o.pending_id;

  SUBCASE("settle posts the money to payouts") {
    auto s = h.run(settle_withdrawal_cmd{wd});
    REQUIRE(why(s) == "accepted");
    CHECK(s.transaction_id == s.seq);
    CHECK(leg(s, w) == "700/0/0");
    CHECK(leg(s, f.payouts) == "300/0/0");
    CHECK(bal(h, w) == "700/0/0");
    CHECK(bal(h, f.payouts) == "300/0/0");
    CHECK(avail(h, w) == "700");
    CHECK(trial(h) == "0/0");

    CHECK(why(h.run(settle_withdrawal_cmd{wd})) == "withdrawal_not_pending");
    CHECK(why(h.run(fail_withdrawal_cmd{wd, "late"})) == "withdrawal_not_pending");
    CHECK(bal(h, w) == "700/0/0");
    CHECK(bal(h, f.payouts) == "300/0/0");
  }
  SUBCASE("fail returns the money") {
    auto x = h.run(fail_withdrawal_cmd{wd, "bank rejected"});
    REQUIRE(why(x) == "accepted");
    CHECK(x.transaction_id == 0);
    CHECK(leg(x, w) == "1000/0/0");
    CHECK(leg(x, f.payouts) == "0/0/0");
    CHECK(bal(h, w) == "1000/0/0");
    CHECK(bal(h, f.payouts) == "0/0/0");
    CHECK(avail(h, w) == "1000");
    CHECK(why(h.run(settle_withdrawal_cmd{wd})) == "withdrawal_not_pending");
    CHECK(why(h.run(fail_withdrawal_cmd{wd, ""})) == "withdrawal_not_pending");
    CHECK(trial(h) == "0/0");
  }
  SUBCASE("ids that are not withdrawals") {
    auto m = h.open_wallet("merchant");
    auto hold = h.run(hold_cmd{w, m, "USD", 50, now_us(h) + hour_us, "", ""});
    REQUIRE(why(hold) == "accepted");
    CHECK(why(h.run(settle_withdrawal_cmd{hold.pending_id})) == "unknown_withdrawal");  // an open hold
    CHECK(why(h.run(fail_withdrawal_cmd{hold.pending_id, ""})) == "unknown_withdrawal");
    h.must(h.run(void_hold_cmd{hold.pending_id}));
    CHECK(why(h.run(settle_withdrawal_cmd{hold.pending_id})) == "unknown_withdrawal");  // a closed hold
    CHECK(why(h.run(settle_withdrawal_cmd{999999})) == "unknown_withdrawal");
    CHECK(why(h.run(settle_withdrawal_cmd{1})) == "unknown_withdrawal");  // an event that opened no pending
    CHECK(bal(h, w) == "1000/300/0");
    CHECK(bal(h, f.payouts) == "0/0/300");
  }
}

TEST_CASE("withdraw: rejections") {
  ledger_fixture f;
  auto& h = f.h;
  h.must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
  h.must(h.run(register_asset_cmd{"LIM", 2, 100, 10000}));
  auto w = h.open_wallet("alice", {{"USD", 0, 0}, {"LIM", 0, 0}});
  h.fund(w, 1000);
  h.fund(w, 10000, "LIM");
  h.fund(w, 10000, "LIM");

  CHECK(why(h.run(withdraw_cmd{w, "USD", 1001, "", ""})) == "insufficient_funds");
  CHECK(why(h.run(withdraw_cmd{999, "USD", 1, "", ""})) == "unknown_wallet");
  CHECK(why(h.run(withdraw_cmd{f.clearing, "USD", 1, "", ""})) == "unknown_wallet");
  CHECK(why(h.run(withdraw_cmd{w, "EUR", 1, "", ""})) == "asset_mismatch");
  CHECK(why(h.run(withdraw_cmd{w, "GBP", 1, "", ""})) == "unknown_asset");
  CHECK(why(h.run(withdraw_cmd{w, "LIM", 99, "", ""})) == "amount_out_of_range");
  CHECK(why(h.run(withdraw_cmd{w, "LIM", 10001, "", ""})) == "amount_out_of_range");
  h.must(h.run(freeze_account_cmd{w}));
  CHECK(why(h.run(withdraw_cmd{w, "USD", 1, "", ""})) == "wallet_frozen");
  h.must(h.run(unfreeze_account_cmd{w}));
  auto o = h.run(withdraw_cmd{w, "USD", 1000, "", ""});  // exactly everything
  CHECK(why(o) == "accepted");
  CHECK(leg(o, w) == "1000/1000/0");
  CHECK(avail(h, w) == "0");
  CHECK(why(h.run(withdraw_cmd{w, "USD", 1, "", ""})) == "insufficient_funds");
  CHECK(bal(h, w) == "1000/1000/0");
  CHECK(bal(h, w, "LIM") == "20000/0/0");
  CHECK(bal(h, f.payouts) == "0/0/1000");
  CHECK(trial(h) == "0/0");
  CHECK(trial(h, "LIM") == "0/0");
}

TEST_CASE("withdraw: without a payouts account is unknown_account") {
  engine_harness h;
  h.must(h.run(register_asset_cmd{"USD", 2, 1, amount_limit}));
  auto clearing = h.must(h.run(open_account_cmd{account_kind::system, "clearing:stripe", {}})).account_id;
  auto w = h.open_wallet("alice");
  h.fund(w, 100);
  auto o = h.run(withdraw_cmd{w, "USD", 10, "", ""});
  CHECK(why(o) == "unknown_account");
  CHECK(o.detail.find("payouts") != std::string::npos);
  CHECK(bal(h, w) == "100/0/0");
  CHECK(bal(h, clearing) == "-100/0/0");
}

// --- transfers ------------------------------------------------------------------

TEST_CASE("transfer: with a fee, all three legs in one event") {
  ledger_fixture f;
  auto& h = f.h;
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 1000);

  auto o = h.run(transfer_cmd{a, b, "USD", 300, 5, "rent", ""});
  REQUIRE(why(o) == "accepted");
  CHECK(o.transaction_id == o.seq);
  CHECK(o.balances.size() == 3);
  CHECK(leg(o, a) == "695/0/0");
  CHECK(leg(o, b) == "300/0/0");
  CHECK(leg(o, f.fees) == "5/0/0");
  CHECK(bal(h, a) == "695/0/0");
  CHECK(bal(h, b) == "300/0/0");
  CHECK(bal(h, f.fees) == "5/0/0");
  CHECK(trial(h) == "0/0");

  // amount + fee must fit in what is available.
  CHECK(why(h.run(transfer_cmd{a, b, "USD", 691, 5, "", ""})) == "insufficient_funds");
  CHECK(bal(h, a) == "695/0/0");
  auto all = h.run(transfer_cmd{a, b, "USD", 690, 5, "", ""});
  REQUIRE(why(all) == "accepted");
  CHECK(leg(all, a) == "0/0/0");
  CHECK(leg(all, b) == "990/0/0");
  CHECK(leg(all, f.fees) == "10/0/0");

  // Without a fee there is no fee leg.
  auto nofee = h.run(transfer_cmd{b, a, "USD", 90, 0, "", ""});
  REQUIRE(why(nofee) == "accepted");
  CHECK(nofee.balances.size() == 2);
  CHECK(leg(nofee, f.fees) == "untouched");
  CHECK(bal(h, a) == "90/0/0");
  CHECK(bal(h, b) == "900/0/0");
  CHECK(bal(h, f.fees) == "10/0/0");
  CHECK(bal(h, f.clearing) == "-1000/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("transfer: rejections move nothing") {
  ledger_fixture f;
  auto& h = f.h;
  h.must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
  h.must(h.run(register_asset_cmd{"LIM", 2, 100, 10000}));
  auto a = h.open_wallet("alice", {{"USD", 0, 0}, {"EUR", 0, 0}, {"LIM", 0, 0}});
  auto b = h.open_wallet("bob", {{"USD", 0, 0}, {"LIM", 0, 0}});
  auto eur_only = h.open_wallet("erin", {{"EUR", 0, 0}});
  h.fund(a, 1000);
  h.fund(a, 500, "EUR");
  h.fund(a, 10000, "LIM");

  SUBCASE("same account") {
    auto o = h.run(transfer_cmd{a, a, "USD", 1, 0, "", ""});
    CHECK(why(o) == "same_account");
  }
  SUBCASE("insufficient funds") {
    CHECK(why(h.run(transfer_cmd{a, b, "USD", 1001, 0, "", ""})) == "insufficient_funds");
    CHECK(why(h.run(transfer_cmd{a, b, "USD", 1000, 1, "", ""})) == "insufficient_funds");
  }
  SUBCASE("frozen sender") {
    h.must(h.run(freeze_account_cmd{a}));
    CHECK(why(h.run(transfer_cmd{a, b, "USD", 1, 0, "", ""})) == "wallet_frozen");
    CHECK(why(h.run(transfer_cmd{a, b, "USD", 1, 1, "", ""})) == "wallet_frozen");
  }
  SUBCASE("closed sender or receiver") {
    auto c = h.open_wallet("carol");
    h.must(h.run(close_account_cmd{c}));
    CHECK(why(h.run(transfer_cmd{a, c, "USD", 1, 0, "", ""})) == "wallet_closed");
    CHECK(why(h.run(transfer_cmd{c, a, "USD", 1, 0, "", ""})) == "wallet_closed");
    CHECK(bal(h, c) == "0/0/0");
  }
  SUBCASE("unknown wallets; system accounts are not wallets") {
    CHECK(why(h.run(transfer_cmd{a, 999, "USD", 1, 0, "", ""})) == "unknown_wallet");
    CHECK(why(h.run(transfer_cmd{999, a, "USD", 1, 0, "", ""})) == "unknown_wallet");
    CHECK(why(h.run(transfer_cmd{a, f.fees, "USD", 1, 0, "", ""})) == "unknown_wallet");
    CHECK(why(h.run(transfer_cmd{f.clearing, a, "USD", 1, 0, "", ""})) == "unknown_wallet");
  }
  SUBCASE("asset mismatch on either side, unknown asset") {
    CHECK(why(h.run(transfer_cmd{a, b, "EUR", 1, 0, "", ""})) == "asset_mismatch");       // bob holds no EUR
    CHECK(why(h.run(transfer_cmd{eur_only, a, "USD", 1, 0, "", ""})) == "asset_mismatch");  // erin holds no USD
    CHECK(why(h.run(transfer_cmd{a, b, "GBP", 1, 0, "", ""})) == "unknown_asset");
    CHECK(bal(h, a, "EUR") == "500/0/0");
  }
  SUBCASE("amount outside the asset's range") {
    CHECK(why(h.run(transfer_cmd{a, b, "LIM", 99, 0, "", ""})) == "amount_out_of_range");
    CHECK(why(h.run(transfer_cmd{a, b, "LIM", 10001, 0, "", ""})) == "amount_out_of_range");
    CHECK(bal(h, a, "LIM") == "10000/0/0");
    CHECK(bal(h, b, "LIM") == "0/0/0");
  }
  CHECK(bal(h, a) == "1000/0/0");
  CHECK(bal(h, b) == "0/0/0");
  CHECK(bal(h, f.fees) == "none");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("transfer: to a frozen wallet is accepted") {
  ledger_fixture f;
  auto& h = f.h;
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 100);
  h.must(h.run(freeze_account_cmd{b}));
  auto o = h.run(transfer_cmd{a, b, "USD", 40, 2, "", ""});
  CHECK(why(o) == "accepted");
  CHECK(leg(o, a) == "58/0/0");
  CHECK(leg(o, b) == "40/0/0");
  CHECK(bal(h, b) == "40/0/0");
  // But the frozen wallet cannot send it on.
  CHECK(why(h.run(transfer_cmd{b, a, "USD", 1, 0, "", ""})) == "wallet_frozen");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("transfer: a fee without a fee_revenue account is unknown_account") {
  engine_harness h;
  h.must(h.run(register_asset_cmd{"USD", 2, 1, amount_limit}));
  auto clearing = h.must(h.run(open_account_cmd{account_kind::system, "clearing:stripe", {}})).account_id;
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 100);
  auto o = h.run(transfer_cmd{a, b, "USD", 10, 1, "", ""});
  CHECK(why(o) == "unknown_account");
  CHECK(o.detail.find("fee_revenue") != std::string::npos);
  CHECK(bal(h, a) == "100/0/0");
  CHECK(bal(h, b) == "0/0/0");
  // Without a fee no fee account is needed.
  auto ok = h.run(transfer_cmd{a, b, "USD", 10, 0, "", ""});
  CHECK(why(ok) == "accepted");
  CHECK(bal(h, a) == "90/0/0");
  CHECK(bal(h, b) == "10/0/0");
  CHECK(bal(h, clearing) == "-100/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("transfer: overdraft lets a wallet go down to -limit and no further") {
  ledger_fixture f;
  auto& h = f.h;
  auto a = h.open_wallet("alice", {{"USD", 500, 0}});
  auto b = h.open_wallet("bob");
  h.fund(a, 100);
  CHECK(avail(h, a) == "600");
  CHECK(why(h.run(transfer_cmd{a, b, "USD", 601, 0, "", ""})) == "insufficient_funds");
  auto o = h.run(transfer_cmd{a, b, "USD", 590, 10, "", ""});
  REQUIRE(why(o) == "accepted");
  CHECK(leg(o, a) == "-500/0/0");
  CHECK(leg(o, b) == "590/0/0");
  CHECK(leg(o, f.fees) == "10/0/0");
  CHECK(bal(h, a) == "-500/0/0");
  CHECK(avail(h, a) == "0");
  CHECK(why(h.run(transfer_cmd{a, b, "USD", 1, 0, "", ""})) == "insufficient_funds");
  CHECK(why(h.run(withdraw_cmd{a, "USD", 1, "", ""})) == "insufficient_funds");
  CHECK(why(h.run(hold_cmd{a, b, "USD", 1, now_us(h) + hour_us, "", ""})) == "insufficient_funds");
  CHECK(bal(h, a) == "-500/0/0");
  // Money in first pays back the overdraft.
  h.fund(a, 200);
  CHECK(bal(h, a) == "-300/0/0");
  CHECK(avail(h, a) == "200");
  CHECK(trial(h) == "0/0");
}

// --- daily limit ----------------------------------------------------------------

TEST_CASE("daily limit: withdrawals, transfers (amount + fee) and holds count; the next UTC day resets") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice", {{"USD", 0, 1000}});
  auto b = h.open_wallet("bob");
  h.fund(w, 5000);
  const std::int32_t today = log_day(now_us(h));

  CHECK(why(h.run(withdraw_cmd{w, "USD", 400, "", ""})) == "accepted");
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 300, 50, "", ""})) == "accepted");
  auto hold = h.run(hold_cmd{w, b, "USD", 250, now_us(h) + 30 * day_us, "", ""});
  CHECK(why(hold) == "accepted");
  auto used = h.balance(w, "USD");
  REQUIRE(used.has_value());
  CHECK(to_decimal(used->daily_used) == "1000");
  CHECK(used->daily_day == today);

  // Deposits are not debits.
  CHECK(why(h.run(deposit_cmd{w, "USD", 100, "stripe", "", ""})) == "accepted");
  // Anything more today is refused, whatever the kind.
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 1, 0, "", ""})) == "daily_limit_exceeded");
  CHECK(why(h.run(withdraw_cmd{w, "USD", 1, "", ""})) == "daily_limit_exceeded");
  CHECK(why(h.run(hold_cmd{w, b, "USD", 1, now_us(h) + 30 * day_us, "", ""})) == "daily_limit_exceeded");
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 1, 1, "", ""})) == "daily_limit_exceeded");
  // posted 5000 + 100 - 350, 400 withdrawing, 250 held.
  CHECK(bal(h, w) == "4750/650/0");
  CHECK(to_decimal(h.balance(w, "USD")->daily_used) == "1000");

  // The next UTC day of log time starts from zero.
  const std::int64_t tomorrow_us = (static_cast<std::int64_t>(today) + 1) * day_us;
  h.clock().set_us(tomorrow_us - 1);
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 1, 0, "", ""})) == "daily_limit_exceeded");
  h.clock().set_us(tomorrow_us);
  auto next = h.run(transfer_cmd{w, b, "USD", 990, 10, "", ""});
  CHECK(why(next) == "accepted");
  CHECK(leg(next, w) == "3750/650/0");
  CHECK(h.balance(w, "USD")->daily_day == today + 1);
  CHECK(to_decimal(h.balance(w, "USD")->daily_used) == "1000");
  CHECK(why(h.run(withdraw_cmd{w, "USD", 1, "", ""})) == "daily_limit_exceeded");
  CHECK(bal(h, b) == "1290/0/250");
  CHECK(bal(h, f.fees) == "60/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("daily limit: a single debit above the limit, and a refused debit does not count") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice", {{"USD", 0, 1000}});
  auto b = h.open_wallet("bob");
  h.fund(w, 300);
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 1001, 0, "", ""})) == "daily_limit_exceeded");
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 995, 6, "", ""})) == "daily_limit_exceeded");
  // Within the limit but more than the wallet has: insufficient funds, and no usage recorded.
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 400, 0, "", ""})) == "insufficient_funds");
  CHECK(to_decimal(h.balance(w, "USD")->daily_used) == "0");
  h.fund(w, 700);
  CHECK(why(h.run(transfer_cmd{w, b, "USD", 1000, 0, "", ""})) == "accepted");
  CHECK(bal(h, w) == "0/0/0");
  CHECK(bal(h, b) == "1000/0/0");
}

// --- holds ----------------------------------------------------------------------

TEST_CASE("hold: reserves funds of the wallet towards the receiver") {
  ledger_fixture f;
  auto& h = f.h;
  h.must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
  auto w = h.open_wallet("alice");
  auto m = h.open_wallet("merchant");
  h.fund(w, 1000);

  auto o = h.run(hold_cmd{w, m, "USD", 300, now_us(h) + hour_us, "order-1", ""});
  REQUIRE(why(o) == "accepted");
  CHECK(o.pending_id == o.seq);
  CHECK(o.transaction_id == 0);
  CHECK(leg(o, w) == "1000/300/0");
  CHECK(leg(o, m) == "0/0/300");
  CHECK(bal(h, w) == "1000/300/0");
  CHECK(bal(h, m) == "0/0/300");
  CHECK(avail(h, w) == "700");
  CHECK(avail(h, m) == "0");  // incoming is not available yet
  CHECK(trial(h) == "0/0");

  // Holds count against what is available.
  CHECK(why(h.run(hold_cmd{w, m, "USD", 701, now_us(h) + hour_us, "", ""})) == "insufficient_funds");
  CHECK(why(h.run(transfer_cmd{w, m, "USD", 701, 0, "", ""})) == "insufficient_funds");
  CHECK(why(h.run(withdraw_cmd{w, "USD", 701, "", ""})) == "insufficient_funds");
  auto rest = h.run(hold_cmd{w, m, "USD", 700, now_us(h) + hour_us, "", ""});
  CHECK(why(rest) == "accepted");
  CHECK(leg(rest, w) == "1000/1000/0");
  CHECK(avail(h, w) == "0");

  // A hold towards a system account is fine.
  h.fund(w, 10);
  auto sys = h.run(hold_cmd{w, f.payouts, "USD", 10, now_us(h) + hour_us, "", ""});
  CHECK(why(sys) == "accepted");
  CHECK(leg(sys, f.payouts) == "0/0/10");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("hold: rejections") {
  ledger_fixture f;
  auto& h = f.h;
  h.must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
  auto w = h.open_wallet("alice");
  auto m = h.open_wallet("merchant");
  auto eur_only = h.open_wallet("erin", {{"EUR", 0, 0}});
  auto closed = h.open_wallet("carol");
  h.must(h.run(close_account_cmd{closed}));
  h.fund(w, 1000);
  const auto later = now_us(h) + hour_us;

  SUBCASE("expiry not after the log time is invalid_argument") {
    auto past = h.run(hold_cmd{w, m, "USD", 10, now_us(h) - 1, "", ""});
    CHECK(why(past) == "invalid_argument");
    CHECK(past.detail.find("expires_at") != std::string::npos);
    CHECK(why(h.run(hold_cmd{w, m, "USD", 10, now_us(h), "", ""})) == "invalid_argument");
  }
  SUBCASE("accounts") {
    CHECK(why(h.run(hold_cmd{w, w, "USD", 10, later, "", ""})) == "same_account");
    CHECK(why(h.run(hold_cmd{999, m, "USD", 10, later, "", ""})) == "unknown_wallet");
    CHECK(why(h.run(hold_cmd{f.clearing, m, "USD", 10, later, "", ""})) == "unknown_wallet");
    CHECK(why(h.run(hold_cmd{w, 999, "USD", 10, later, "", ""})) == "unknown_account");
    CHECK(why(h.run(hold_cmd{w, closed, "USD", 10, later, "", ""})) == "wallet_closed");
    CHECK(why(h.run(hold_cmd{closed, m, "USD", 10, later, "", ""})) == "wallet_closed");
    h.must(h.run(freeze_account_cmd{w}));
    CHECK(why(h.run(hold_cmd{w, m, "USD", 10, later, "", ""})) == "wallet_frozen");
  }
  SUBCASE("assets") {
    CHECK(why(h.run(hold_cmd{w, m, "GBP", 10, later, "", ""})) == "unknown_asset");
    CHECK(why(h.run(hold_cmd{w, m, "EUR", 10, later, "", ""})) == "asset_mismatch");
    CHECK(why(h.run(hold_cmd{w, eur_only, "USD", 10, later, "", ""})) == "asset_mismatch");
  }
  CHECK(bal(h, w) == "1000/0/0");
  CHECK(bal(h, m) == "0/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("capture and void") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto m = h.open_wallet("merchant");
  h.fund(w, 1000);
  auto hold = h.run(hold_cmd{w, m, "USD", 300, now_us(h) + hour_us, "", ""});
  REQUIRE(why(hold) == "accepted");
  const auto id = hold.pending_id;

  SUBCASE("amount 0 captures the whole hold") {
    auto c = h.run(capture_cmd{id, 0});
    REQUIRE(why(c) == "accepted");
    CHECK(c.transaction_id == c.seq);
    CHECK(leg(c, w) == "700/0/0");
    CHECK(leg(c, m) == "300/0/0");
    CHECK(bal(h, w) == "700/0/0");
    CHECK(bal(h, m) == "300/0/0");
    CHECK(avail(h, w) == "700");
    CHECK(avail(h, m) == "300");
    CHECK(why(h.run(capture_cmd{id, 0})) == "hold_already_captured");
    CHECK(why(h.run(capture_cmd{id, 1})) == "hold_already_captured");
    CHECK(why(h.run(void_hold_cmd{id})) == "hold_already_captured");
    CHECK(bal(h, w) == "700/0/0");
    CHECK(bal(h, m) == "300/0/0");
  }
  SUBCASE("a partial capture releases the rest") {
    auto c = h.run(capture_cmd{id, 120});
    REQUIRE(why(c) == "accepted");
    CHECK(leg(c, w) == "880/0/0");
    CHECK(leg(c, m) == "120/0/0");
    CHECK(bal(h, w) == "880/0/0");
    CHECK(bal(h, m) == "120/0/0");
    CHECK(avail(h, w) == "880");
    CHECK(why(h.run(capture_cmd{id, 100})) == "hold_already_captured");
  }
  SUBCASE("the exact amount") {
    auto c = h.run(capture_cmd{id, 300});
    CHECK(why(c) == "accepted");
    CHECK(leg(c, w) == "700/0/0");
  }
  SUBCASE("more than held is amount_out_of_range and leaves the hold open") {
    CHECK(why(h.run(capture_cmd{id, 301})) == "amount_out_of_range");
    CHECK(bal(h, w) == "1000/300/0");
    CHECK(bal(h, m) == "0/0/300");
    CHECK(why(h.run(capture_cmd{id, 0})) == "accepted");
  }
  SUBCASE("void releases everything; then it is voided") {
    auto v = h.run(void_hold_cmd{id});
    REQUIRE(why(v) == "accepted");
    CHECK(v.transaction_id == 0);
    CHECK(leg(v, w) == "1000/0/0");
    CHECK(leg(v, m) == "0/0/0");
    CHECK(bal(h, w) == "1000/0/0");
    CHECK(bal(h, m) == "0/0/0");
    CHECK(avail(h, w) == "1000");
    CHECK(why(h.run(capture_cmd{id, 0})) == "hold_already_voided");
    CHECK(why(h.run(void_hold_cmd{id})) == "hold_already_voided");
  }
  SUBCASE("ids that are not holds") {
    CHECK(why(h.run(capture_cmd{999999, 0})) == "unknown_hold");
    CHECK(why(h.run(void_hold_cmd{999999})) == "unknown_hold");
    auto wd = h.run(withdraw_cmd{w, "USD", 10, "", ""});
    REQUIRE(why(wd) == "accepted");
    CHECK(why(h.run(capture_cmd{wd.pending_id, 0})) == "unknown_hold");  // an open withdrawal
    CHECK(why(h.run(void_hold_cmd{wd.pending_id})) == "unknown_hold");
    h.must(h.run(settle_withdrawal_cmd{wd.pending_id}));
    CHECK(why(h.run(capture_cmd{wd.pending_id, 0})) == "unknown_hold");  // a settled withdrawal
    CHECK(bal(h, w) == "990/300/0");
  }
  SUBCASE("a frozen holder cannot be captured from; unfrozen it can") {
    h.must(h.run(freeze_account_cmd{w}));
    CHECK(why(h.run(capture_cmd{id, 0})) == "wallet_frozen");
    CHECK(bal(h, w) == "1000/300/0");
    h.must(h.run(unfreeze_account_cmd{w}));
    CHECK(why(h.run(capture_cmd{id, 50})) == "accepted");
    CHECK(bal(h, w) == "950/0/0");
    CHECK(bal(h, m) == "50/0/0");
  }
  SUBCASE("a frozen receiver can still be paid") {
    h.must(h.run(freeze_account_cmd{m}));
    CHECK(why(h.run(capture_cmd{id, 0})) == "accepted");
    CHECK(bal(h, m) == "300/0/0");
  }
  CHECK(trial(h) == "0/0");
}

TEST_CASE("hold expiry by log time") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto m = h.open_wallet("merchant");
  auto other = h.open_wallet("other");
  h.fund(w, 1000);
  const auto expires = now_us(h) + 60 * second_us;
  auto hold = h.run(hold_cmd{w, m, "USD", 300, expires, "", ""});
  REQUIRE(why(hold) == "accepted");
  const auto id = hold.pending_id;

  SUBCASE("the next command of any kind sweeps it") {
    h.clock().set_us(expires - 1);
    CHECK(why(h.run(deposit_cmd{other, "USD", 1, "stripe", "", ""})) == "accepted");
    CHECK(bal(h, w) == "1000/300/0");  // not yet

    h.clock().set_us(expires + 1);
    // Nothing happens without a command: log time only moves with commands.
    CHECK(bal(h, w) == "1000/300/0");
    const auto before = head_seq(h);
    auto unrelated = h.run(register_asset_cmd{"EUR", 2, 1, amount_limit});
    REQUIRE(why(unrelated) == "accepted");
    CHECK(unrelated.seq == before + 2);  // the expiry event, then the command's own

    auto sweep = event_at(h, before + 1);
    REQUIRE(sweep.has_value());
    CHECK(event_command_type(*sweep) == command_type::none);
    CHECK(sweep->principal.empty());
    CHECK(sweep->status == event_status::accepted);
    CHECK(sweep->log_ts_us == expires + 1);
    auto swept = outcome_of(*sweep);
    CHECK(leg(swept, w) == "1000/0/0");
    CHECK(leg(swept, m) == "0/0/0");
    bool closed_as_expired = false;
    for (const auto& fx : sweep->effects)
      if (auto* c = std::get_if<pending_closed>(&fx))
        closed_as_expired = c->id == id && c->resolution == pending_resolution::expired;
    CHECK(closed_as_expired);

    CHECK(bal(h, w) == "1000/0/0");
    CHECK(bal(h, m) == "0/0/0");
    CHECK(avail(h, w) == "1000");
    CHECK(why(h.run(capture_cmd{id, 0})) == "hold_expired");
    CHECK(why(h.run(void_hold_cmd{id})) == "hold_expired");
    CHECK(bal(h, w) == "1000/0/0");
  }
  SUBCASE("a capture at exactly the expiry finds it expired") {
    h.clock().set_us(expires);
    auto c = h.run(capture_cmd{id, 0});
    CHECK(why(c) == "hold_expired");
    CHECK(c.balances.empty());
    CHECK(bal(h, w) == "1000/0/0");
    CHECK(bal(h, m) == "0/0/0");
  }
  SUBCASE("captured before the expiry, the hold does not expire later") {
    h.clock().set_us(expires - 1);
    REQUIRE(why(h.run(capture_cmd{id, 100})) == "accepted");
    h.clock().set_us(expires + day_us);
    const auto before = head_seq(h);
    CHECK(why(h.run(deposit_cmd{other, "USD", 1, "stripe", "", ""})) == "accepted");
    CHECK(head_seq(h) == before + 1);
    CHECK(bal(h, w) == "900/0/0");
    CHECK(bal(h, m) == "100/0/0");
  }
  CHECK(trial(h) == "0/0");
}

// --- reversals ------------------------------------------------------------------

TEST_CASE("reverse: posts the exact opposite of a transaction") {
  ledger_fixture f;
  auto& h = f.h;
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  auto dep = h.must(h.run(deposit_cmd{a, "USD", 1000, "stripe", "", ""}));

  SUBCASE("a deposit") {
    auto r = h.run(reverse_cmd{dep.transaction_id, "chargeback"});
    REQUIRE(why(r) == "accepted");
    CHECK(r.transaction_id == r.seq);
    CHECK(leg(r, a) == "0/0/0");
    CHECK(leg(r, f.clearing) == "0/0/0");
    CHECK(bal(h, a) == "0/0/0");
    CHECK(bal(h, f.clearing) == "0/0/0");
    CHECK(why(h.run(reverse_cmd{dep.transaction_id, ""})) == "already_reversed");
    CHECK(why(h.run(reverse_cmd{r.transaction_id, ""})) == "not_reversible");
    CHECK(bal(h, a) == "0/0/0");
  }
  SUBCASE("a transfer with a fee: all three legs") {
    auto t = h.must(h.run(transfer_cmd{a, b, "USD", 300, 5, "", ""}));
    auto r = h.run(reverse_cmd{t.transaction_id, ""});
    REQUIRE(why(r) == "accepted");
    CHECK(r.balances.size() == 3);
    CHECK(leg(r, a) == "1000/0/0");
    CHECK(leg(r, b) == "0/0/0");
    CHECK(leg(r, f.fees) == "0/0/0");
    CHECK(bal(h, a) == "1000/0/0");
    CHECK(bal(h, b) == "0/0/0");
    CHECK(bal(h, f.fees) == "0/0/0");
    CHECK(why(h.run(reverse_cmd{t.transaction_id, ""})) == "already_reversed");
  }
  SUBCASE("a capture") {
    auto hold = h.must(h.run(hold_cmd{a, b, "USD", 300, now_us(h) + hour_us, "", ""}));
    auto c = h.must(h.run(capture_cmd{hold.pending_id, 200}));
    CHECK(bal(h, a) == "800/0/0");
    CHECK(bal(h, b) == "200/0/0");
    auto r = h.run(reverse_cmd{c.transaction_id, ""});
    REQUIRE(why(r) == "accepted");
    CHECK(r.balances.size() == 2);
    CHECK(leg(r, a) == "1000/0/0");
    CHECK(leg(r, b) == "0/0/0");
    CHECK(bal(h, a) == "1000/0/0");
    CHECK(bal(h, b) == "0/0/0");
  }
  SUBCASE("a settled withdrawal") {
    auto wd = h.must(h.run(withdraw_cmd{a, "USD", 400, "", ""}));
    CHECK(wd.transaction_id == 0);
    CHECK(why(h.run(reverse_cmd{wd.seq, ""})) == "unknown_transaction");  // nothing posted yet
    auto s = h.must(h.run(settle_withdrawal_cmd{wd.pending_id}));
    CHECK(bal(h, f.payouts) == "400/0/0");
    auto r = h.run(reverse_cmd{s.transaction_id, "returned by the bank"});
    REQUIRE(why(r) == "accepted");
    CHECK(leg(r, a) == "1000/0/0");
    CHECK(leg(r, f.payouts) == "0/0/0");
    CHECK(bal(h, a) == "1000/0/0");
    CHECK(bal(h, f.payouts) == "0/0/0");
  }
  SUBCASE("unknown transactions") {
    CHECK(why(h.run(reverse_cmd{999999, ""})) == "unknown_transaction");
    CHECK(why(h.run(reverse_cmd{1, ""})) == "unknown_transaction");  // the asset registration
    CHECK(bal(h, a) == "1000/0/0");
  }
  SUBCASE("a reversal may not leave the recipient below what it may spend") {
    auto c = h.open_wallet("carol");
    auto t = h.must(h.run(transfer_cmd{a, b, "USD", 300, 0, "", ""}));
    h.must(h.run(transfer_cmd{b, c, "USD", 201, 0, "", ""}));
    CHECK(why(h.run(reverse_cmd{t.transaction_id, ""})) == "insufficient_funds");
    CHECK(bal(h, a) == "700/0/0");
    CHECK(bal(h, b) == "99/0/0");
    // A hold on the recipient counts too.
    h.must(h.run(transfer_cmd{c, b, "USD", 201, 0, "", ""}));
    auto held = h.must(h.run(hold_cmd{b, c, "USD", 1, now_us(h) + hour_us, "", ""}));
    CHECK(why(h.run(reverse_cmd{t.transaction_id, ""})) == "insufficient_funds");
    h.must(h.run(void_hold_cmd{held.pending_id}));
    auto r = h.run(reverse_cmd{t.transaction_id, ""});
    CHECK(why(r) == "accepted");
    CHECK(bal(h, a) == "1000/0/0");
    CHECK(bal(h, b) == "0/0/0");
  }
  SUBCASE("a reversal may not touch a closed wallet") {
    auto t = h.must(h.run(transfer_cmd{a, b, "USD", 1000, 0, "", ""}));
    h.must(h.run(close_account_cmd{a}));
    CHECK(why(h.run(reverse_cmd{t.transaction_id, ""})) == "wallet_closed");
    CHECK(bal(h, b) == "1000/0/0");
  }
  CHECK(trial(h) == "0/0");
}

// --- wallet status ----------------------------------------------------------------

TEST_CASE("freeze, unfreeze, close") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto other = h.open_wallet("bob");
  h.fund(other, 100);

  SUBCASE("freeze and unfreeze") {
    auto fr = h.run(freeze_account_cmd{w});
    REQUIRE(why(fr) == "accepted");
    CHECK(fr.balances.empty());
    CHECK(status_of(h, w) == "frozen");
    auto again = h.run(freeze_account_cmd{w});
    CHECK(why(again) == "invalid_state");
    CHECK_FALSE(again.detail.empty());
    CHECK(why(h.run(unfreeze_account_cmd{w})) == "accepted");
    CHECK(status_of(h, w) == "active");
    CHECK(why(h.run(unfreeze_account_cmd{w})) == "invalid_state");
    CHECK(why(h.run(unfreeze_account_cmd{other})) == "invalid_state");
  }
  SUBCASE("system accounts and unknown ids are not wallets") {
    CHECK(why(h.run(freeze_account_cmd{f.payouts})) == "unknown_wallet");
    CHECK(why(h.run(unfreeze_account_cmd{f.fees})) == "unknown_wallet");
    CHECK(why(h.run(close_account_cmd{f.clearing})) == "unknown_wallet");
    CHECK(why(h.run(freeze_account_cmd{999})) == "unknown_wallet");
    CHECK(status_of(h, f.payouts) == "active");
  }
  SUBCASE("close needs zero balances and nothing pending") {
    CHECK(why(h.run(close_account_cmd{other})) == "balance_not_zero");
    // Pending amounts count, on either side.
    auto hold = h.must(h.run(hold_cmd{other, w, "USD", 100, now_us(h) + hour_us, "", ""}));
    CHECK(why(h.run(close_account_cmd{w})) == "balance_not_zero");  // credits pending
    auto c = h.must(h.run(capture_cmd{hold.pending_id, 0}));
    CHECK(bal(h, w) == "100/0/0");
    CHECK(bal(h, other) == "0/0/0");
    CHECK(why(h.run(close_account_cmd{w})) == "balance_not_zero");
    auto wd = h.must(h.run(withdraw_cmd{w, "USD", 100, "", ""}));
    CHECK(why(h.run(close_account_cmd{w})) == "balance_not_zero");  // debits pending
    h.must(h.run(settle_withdrawal_cmd{wd.pending_id}));
    CHECK(bal(h, w) == "0/0/0");
    (void)c;
    CHECK(why(h.run(close_account_cmd{w})) == "accepted");
    CHECK(status_of(h, w) == "closed");
  }
  SUBCASE("a closed wallet refuses everything") {
    auto cl = h.run(close_account_cmd{w});
    REQUIRE(why(cl) == "accepted");
    CHECK(status_of(h, w) == "closed");
    const auto later = now_us(h) + hour_us;
    CHECK(why(h.run(deposit_cmd{w, "USD", 1, "stripe", "", ""})) == "wallet_closed");
    CHECK(why(h.run(withdraw_cmd{w, "USD", 1, "", ""})) == "wallet_closed");
    CHECK(why(h.run(transfer_cmd{w, other, "USD", 1, 0, "", ""})) == "wallet_closed");
    CHECK(why(h.run(transfer_cmd{other, w, "USD", 1, 0, "", ""})) == "wallet_closed");
    CHECK(why(h.run(hold_cmd{w, other, "USD", 1, later, "", ""})) == "wallet_closed");
    CHECK(why(h.run(hold_cmd{other, w, "USD", 1, later, "", ""})) == "wallet_closed");
    CHECK(why(h.run(freeze_account_cmd{w})) == "wallet_closed");
    CHECK(why(h.run(unfreeze_account_cmd{w})) == "wallet_closed");
    CHECK(why(h.run(close_account_cmd{w})) == "wallet_closed");
    CHECK(bal(h, w) == "0/0/0");
    CHECK(bal(h, other) == "100/0/0");
    CHECK(status_of(h, w) == "closed");
  }
  CHECK(trial(h) == "0/0");
}

// --- idempotency ----------------------------------------------------------------

TEST_CASE("idempotency: the same key and payload replays the stored outcome") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  const deposit_cmd dep{w, "USD", 500, "stripe", "ref-1", ""};

  auto first = h.run(dep, "dep-1");
  REQUIRE(why(first) == "accepted");
  CHECK_FALSE(first.replay);
  const auto head = head_seq(h);
  const auto events_before = h.eng().stats().events;

  auto again = h.run(dep, "dep-1");
  CHECK(again.replay);
  CHECK(why(again) == "accepted");
  CHECK(again.seq == first.seq);
  CHECK(again.transaction_id == first.transaction_id);
  CHECK(again.log_ts_us == first.log_ts_us);
  CHECK(leg(again, w) == "500/0/0");
  CHECK(leg(again, f.clearing) == "-500/0/0");
  CHECK(head_seq(h) == head);  // no new event
  CHECK(h.eng().stats().events == events_before);
  CHECK(bal(h, w) == "500/0/0");

  // The request id is for correlation only, not part of the payload.
  auto other_request = h.run(command{"tester", "dep-1", "another-request", dep});
  CHECK(other_request.replay);
  CHECK(other_request.seq == first.seq);
  CHECK(head_seq(h) == head);
  CHECK(bal(h, w) == "500/0/0");
}

TEST_CASE("idempotency: the same key with another payload is a conflict") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto first = h.run(deposit_cmd{w, "USD", 500, "stripe", "", ""}, "dep-1");
  REQUIRE(why(first) == "accepted");

  auto conflict = h.run(deposit_cmd{w, "USD", 600, "stripe", "", ""}, "dep-1");
  CHECK(why(conflict) == "idempotency_conflict");
  CHECK_FALSE(conflict.replay);
  CHECK(conflict.seq == first.seq + 1);  // recorded, for auditors
  CHECK(conflict.balances.empty());
  CHECK(bal(h, w) == "500/0/0");
  // Another command type under the same key conflicts too.
  CHECK(why(h.run(freeze_account_cmd{w}, "dep-1")) == "idempotency_conflict");
  CHECK(status_of(h, w) == "active");

  // The key still belongs to the first payload.
  auto replay = h.run(deposit_cmd{w, "USD", 500, "stripe", "", ""}, "dep-1");
  CHECK(replay.replay);
  CHECK(replay.seq == first.seq);
  CHECK(bal(h, w) == "500/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("idempotency: keys are scoped to the principal") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  const deposit_cmd dep{w, "USD", 500, "stripe", "", ""};
  auto a = h.run(dep, "same-key", "service-a");
  auto b = h.run(dep, "same-key", "service-b");
  CHECK(why(a) == "accepted");
  CHECK(why(b) == "accepted");
  CHECK_FALSE(b.replay);
  CHECK(b.seq != a.seq);
  CHECK(bal(h, w) == "1000/0/0");
  auto c = h.run(deposit_cmd{w, "USD", 1, "stripe", "", ""}, "same-key", "service-c");
  CHECK(why(c) == "accepted");
  CHECK(bal(h, w) == "1001/0/0");
  CHECK(h.run(dep, "same-key", "service-a").replay);
  CHECK(h.run(dep, "same-key", "service-b").replay);
  CHECK(bal(h, w) == "1001/0/0");
}

TEST_CASE("idempotency: a rejection is replayed even after its reason went away") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  const transfer_cmd pay{w, b, "USD", 300, 0, "", ""};

  auto first = h.run(pay, "pay-1");
  REQUIRE(why(first) == "insufficient_funds");
  h.fund(w, 1000);
  const auto head = head_seq(h);
  auto retry = h.run(pay, "pay-1");
  CHECK(retry.replay);
  CHECK(why(retry) == "insufficient_funds");
  CHECK(retry.seq == first.seq);
  CHECK(head_seq(h) == head);
  CHECK(bal(h, w) == "1000/0/0");
  CHECK(bal(h, b) == "0/0/0");
  // A new key is a new attempt.
  CHECK(why(h.run(pay, "pay-2")) == "accepted");
  CHECK(bal(h, b) == "300/0/0");
}

TEST_CASE("invalid commands are invalid_argument, name the field, and do not claim the key") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(w, 1000);

  auto bad = h.run(transfer_cmd{w, b, "USD", 0, 0, "", ""}, "t-1");
  CHECK(why(bad) == "invalid_argument");
  CHECK(bad.detail.rfind("amount:", 0) == 0);
  CHECK(bad.balances.empty());
  // Retried as is: decided again (a new event), not replayed.
  auto bad_again = h.run(transfer_cmd{w, b, "USD", 0, 0, "", ""}, "t-1");
  CHECK(why(bad_again) == "invalid_argument");
  CHECK_FALSE(bad_again.replay);
  CHECK(bad_again.seq == bad.seq + 1);
  // The key is free for the corrected command: no conflict.
  auto good = h.run(transfer_cmd{w, b, "USD", 10, 0, "", ""}, "t-1");
  CHECK(why(good) == "accepted");
  CHECK(bal(h, w) == "990/0/0");
  CHECK(bal(h, b) == "10/0/0");

  struct probe {
    command_body body;
    const char* field;
  };
  std::vector<probe> probes = {
      {transfer_cmd{w, b, "USD", 10, -1, "", ""}, "fee:"},
      {deposit_cmd{w, "USD", -5, "stripe", "", ""}, "amount:"},
      {deposit_cmd{w, "USD", 5, "", "", ""}, "provider:"},
      {deposit_cmd{w, "USD", 5, "stripe", "bad\nref", ""}, "reference:"},
      {deposit_cmd{w, "USD", 5, "stripe", "", std::string(metadata_bytes_max + 1, 'm')}, "metadata:"},
      {withdraw_cmd{0, "USD", 5, "", ""}, "wallet:"},
      {hold_cmd{w, b, "USD", 5, 0, "", ""}, "expires_at:"},
      {register_asset_cmd{"usd", 2, 1, 10}, "code:"},
      {register_asset_cmd{"XYZ", 19, 1, 10}, "scale:"},
      {open_account_cmd{account_kind::user, "u", {}}, "assets:"},
      {open_account_cmd{account_kind::system, "s", {{"USD", 0, 0}}}, "assets:"},
      {capture_cmd{0, 0}, "hold_id:"},
      {reverse_cmd{0, ""}, "transaction_id:"},
      {close_account_cmd{0}, "account:"},
  };
  int i = 0;
  for (const auto& p : probes) {
    auto o = h.run(command{"tester", "probe-" + std::to_string(i++), "", p.body});
    INFO("expected field ", p.field, ", detail ", o.detail);
    CHECK(why(o) == "invalid_argument");
    CHECK(o.detail.rfind(p.field, 0) == 0);
  }
  // Envelope fields.
  auto no_key = h.run(command{"tester", "", "", deposit_cmd{w, "USD", 5, "stripe", "", ""}});
  CHECK(why(no_key) == "invalid_argument");
  CHECK(no_key.detail.rfind("idempotency_key:", 0) == 0);
  auto long_key = h.run(command{"tester", std::string(256, 'k'), "", deposit_cmd{w, "USD", 5, "stripe", "", ""}});
  CHECK(why(long_key) == "invalid_argument");
  CHECK(long_key.detail.rfind("idempotency_key:", 0) == 0);
  auto no_principal = h.run(command{"", "key", "", deposit_cmd{w, "USD", 5, "stripe", "", ""}});
  CHECK(why(no_principal) == "invalid_argument");
  CHECK(no_principal.detail.rfind("principal:", 0) == 0);

  CHECK(bal(h, w) == "990/0/0");
  CHECK(bal(h, b) == "10/0/0");
  CHECK(trial(h) == "0/0");
}

// --- overflow -------------------------------------------------------------------

TEST_CASE("overflow: a balance may not pass amount_limit") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  auto o = h.run(deposit_cmd{w, "USD", amount_limit, "stripe", "", ""});
  REQUIRE(why(o) == "accepted");
  CHECK(leg(o, w) == triple(amount_limit, 0, 0));
  CHECK(leg(o, f.clearing) == triple(-amount_limit, 0, 0));

  auto more = h.run(deposit_cmd{w, "USD", 1, "stripe", "", ""});
  CHECK(why(more) == "overflow");
  CHECK(more.balances.empty());
  auto into_b = h.run(deposit_cmd{b, "USD", 1, "stripe", "", ""});  // the clearing side would overflow
  CHECK(why(into_b) == "overflow");
  CHECK(bal(h, w) == triple(amount_limit, 0, 0));
  CHECK(bal(h, b) == "0/0/0");
  CHECK(bal(h, f.clearing) == triple(-amount_limit, 0, 0));

  // amount + fee past the limit.
  auto fee = h.run(transfer_cmd{w, b, "USD", amount_limit, 1, "", ""});
  CHECK(why(fee) == "overflow");
  auto all = h.run(transfer_cmd{w, b, "USD", amount_limit, 0, "", ""});
  CHECK(why(all) == "accepted");
  CHECK(bal(h, w) == "0/0/0");
  CHECK(bal(h, b) == triple(amount_limit, 0, 0));
  CHECK(trial(h) == "0/0");
}

// --- restart --------------------------------------------------------------------

TEST_CASE("restart: balances, holds and idempotency survive reopen") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto m = h.open_wallet("merchant");
  auto dep = h.run(deposit_cmd{w, "USD", 1000, "stripe", "", ""}, "dep-1");
  REQUIRE(why(dep) == "accepted");
  auto rejected = h.run(withdraw_cmd{w, "USD", 5000, "", ""}, "wd-big");
  REQUIRE(why(rejected) == "insufficient_funds");
  auto hold = h.must(h.run(hold_cmd{w, m, "USD", 300, now_us(h) + hour_us, "", ""}));
  auto short_hold = h.must(h.run(hold_cmd{w, m, "USD", 100, now_us(h) + 60 * second_us, "", ""}));
  auto t = h.must(h.run(transfer_cmd{w, m, "USD", 50, 0, "", ""}));
  const auto head = head_seq(h);

  h.reopen();
  CHECK(head_seq(h) == head);
  CHECK(bal(h, w) == "950/400/0");
  CHECK(bal(h, m) == "50/0/400");
  CHECK(avail(h, w) == "550");

  auto replay = h.run(deposit_cmd{w, "USD", 1000, "stripe", "", ""}, "dep-1");
  CHECK(replay.replay);
  CHECK(replay.seq == dep.seq);
  CHECK(leg(replay, w) == "1000/0/0");
  auto replay_rejected = h.run(withdraw_cmd{w, "USD", 5000, "", ""}, "wd-big");
  CHECK(replay_rejected.replay);
  CHECK(why(replay_rejected) == "insufficient_funds");
  CHECK(why(h.run(deposit_cmd{w, "USD", 2, "stripe", "", ""}, "dep-1")) == "idempotency_conflict");
  CHECK(bal(h, w) == "950/400/0");

  // Holds are still open and capture works; expiry still sweeps after a restart.
  auto c = h.run(capture_cmd{hold.pending_id, 200});
  CHECK(why(c) == "accepted");
  CHECK(leg(c, w) == "750/100/0");
  CHECK(leg(c, m) == "250/0/100");
  h.reopen();
  h.clock().advance_us(2 * 60 * second_us);
  auto after = h.run(deposit_cmd{m, "USD", 1, "stripe", "", ""});
  CHECK(why(after) == "accepted");
  CHECK(why(h.run(capture_cmd{short_hold.pending_id, 0})) == "hold_expired");
  CHECK(bal(h, w) == "750/0/0");
  CHECK(bal(h, m) == "251/0/0");
  // The reversal link survived too.
  CHECK(why(h.run(reverse_cmd{t.transaction_id, ""})) == "accepted");
  CHECK(why(h.run(reverse_cmd{t.transaction_id, ""})) == "already_reversed");
  CHECK(bal(h, w) == "800/0/0");
  CHECK(bal(h, m) == "201/0/0");
  CHECK(trial(h) == "0/0");
}

// --- batches --------------------------------------------------------------------

TEST_CASE("run_all: one outcome per command, in order, later commands see earlier ones") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  const auto head = head_seq(h);

  auto outs = h.run_all({
      command{"tester", "b1", "", deposit_cmd{w, "USD", 100, "stripe", "", ""}},
      command{"tester", "b2", "", transfer_cmd{w, b, "USD", 60, 0, "", ""}},
      command{"tester", "b3", "", withdraw_cmd{w, "USD", 50, "", ""}},  // only 40 left
      command{"tester", "b4", "", withdraw_cmd{w, "USD", 40, "", ""}},
      command{"tester", "b1", "", deposit_cmd{w, "USD", 100, "stripe", "", ""}},  // replay within the batch
      command{"tester", "b1", "", deposit_cmd{w, "USD", 101, "stripe", "", ""}},  // conflict within the batch
      command{"tester", "b5", "", settle_withdrawal_cmd{head + 4}},              // settles b4's withdrawal
  });
  REQUIRE(outs.size() == 7);
  CHECK(why(outs[0]) == "accepted");
  CHECK(outs[0].seq == head + 1);
  CHECK(leg(outs[0], w) == "100/0/0");
  CHECK(why(outs[1]) == "accepted");
  CHECK(outs[1].seq == head + 2);
  CHECK(leg(outs[1], w) == "40/0/0");
  CHECK(leg(outs[1], b) == "60/0/0");
  CHECK(why(outs[2]) == "insufficient_funds");
  CHECK(outs[2].seq == head + 3);
  CHECK(why(outs[3]) == "accepted");
  CHECK(outs[3].seq == head + 4);
  CHECK(outs[3].pending_id == head + 4);
  CHECK(leg(outs[3], w) == "40/40/0");
  CHECK(outs[4].replay);
  CHECK(outs[4].seq == head + 1);
  CHECK(leg(outs[4], w) == "100/0/0");
  CHECK(why(outs[5]) == "idempotency_conflict");
  CHECK(outs[5].seq == head + 5);
  CHECK(why(outs[6]) == "accepted");
  CHECK(outs[6].seq == head + 6);
  CHECK(leg(outs[6], w) == "0/0/0");
  CHECK(leg(outs[6], f.payouts) == "40/0/0");
  CHECK(head_seq(h) == head + 6);
  CHECK(bal(h, w) == "0/0/0");
  CHECK(bal(h, b) == "60/0/0");
  CHECK(bal(h, f.payouts) == "40/0/0");
  CHECK(trial(h) == "0/0");
}

TEST_CASE("run_all: records written earlier in the same batch are read back by later commands") {
  ledger_fixture f;
  auto& h = f.h;
  auto w = h.open_wallet("alice", {{"USD", 0, 500}});
  auto b = h.open_wallet("bob");
  h.fund(w, 1000);
  const auto head = head_seq(h);
  const auto later = now_us(h) + hour_us;

  auto outs = h.run_all({
      command{"tester", "c1", "", transfer_cmd{w, b, "USD", 200, 0, "", ""}},  // head + 1
      command{"tester", "c2", "", reverse_cmd{head + 1, ""}},                  // head + 2
      command{"tester", "c3", "", reverse_cmd{head + 1, ""}},                  // already reversed
      command{"tester", "c4", "", reverse_cmd{head + 2, ""}},                  // a reversal
      command{"tester", "c5", "", hold_cmd{w, b, "USD", 100, later, "", ""}},  // head + 5
      command{"tester", "c6", "", capture_cmd{head + 5, 40}},
      command{"tester", "c7", "", capture_cmd{head + 5, 0}},  // closed earlier in this batch
      command{"tester", "c8", "", void_hold_cmd{head + 5}},
      // Daily usage: the reversed 200 and the uncaptured 60 were given back, so 40 + 300 fits...
      command{"tester", "c9", "", withdraw_cmd{w, "USD", 300, "", ""}},
      command{"tester", "c10", "", withdraw_cmd{w, "USD", 200, "", ""}},  // ...and 340 + 200 > 500 does not
  });
  REQUIRE(outs.size() == 10);
  CHECK(why(outs[0]) == "accepted");
  CHECK(why(outs[1]) == "accepted");
  CHECK(leg(outs[1], w) == "1000/0/0");
  CHECK(why(outs[2]) == "already_reversed");
  CHECK(why(outs[3]) == "not_reversible");
  CHECK(why(outs[4]) == "accepted");
  CHECK(outs[4].pending_id == head + 5);
  CHECK(why(outs[5]) == "accepted");
  CHECK(leg(outs[5], w) == "960/0/0");
  CHECK(why(outs[6]) == "hold_already_captured");
  CHECK(why(outs[7]) == "hold_already_captured");
  CHECK(why(outs[8]) == "accepted");
  CHECK(leg(outs[8], w) == "960/300/0");
  CHECK(why(outs[9]) == "daily_limit_exceeded");
  CHECK(bal(h, w) == "960/300/0");
  CHECK(bal(h, b) == "40/0/0");
  CHECK(to_decimal(h.balance(w, "USD")->daily_used) == "340");

  // Daily usage is part of the committed state: it survives a restart.
  h.reopen();
  CHECK(to_decimal(h.balance(w, "USD")->daily_used) == "340");
  CHECK(why(h.run(withdraw_cmd{w, "USD", 161, "", ""})) == "daily_limit_exceeded");
  CHECK(why(h.run(withdraw_cmd{w, "USD", 160, "", ""})) == "accepted");
  CHECK(trial(h) == "0/0");
}
