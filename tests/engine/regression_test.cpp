// Regression tests for the defects an independent review found (engine v2
// issue). Each test is named after what broke; each fails on the code before
// its fix.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"

namespace {

using namespace ledger;
using ledger::testing::engine_harness;

constexpr std::int64_t hour_us = 3600LL * 1'000'000;

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

std::string avail(engine_harness& h, std::uint64_t account, const std::string& asset = "USD") {
  auto b = h.balance(account, asset);
  return b ? to_decimal(b->available()) : "none";
}

std::int64_t now_us(engine_harness& h) { return h.clock().now_us(); }

command cmd(std::string key, command_body body) { return command{"tester", std::move(key), "", std::move(body)}; }

}  // namespace

TEST_CASE("regression: a reversal no longer debits a frozen wallet") {
  engine_harness h;
  h.setup_basics();
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 1000);
  auto t = h.must(h.run(transfer_cmd{a, b, "USD", 300, 0, "", ""}));
  h.must(h.run(freeze_account_cmd{b}));
  auto r = h.run(reverse_cmd{t.transaction_id, "chargeback"});
  CHECK(why(r) == "wallet_frozen");
  CHECK(avail(h, b) == "300");
  // A frozen wallet that the reversal credits is fine: frozen stops debits only.
  h.must(h.run(unfreeze_account_cmd{b}));
  h.must(h.run(freeze_account_cmd{a}));
  CHECK(why(h.run(reverse_cmd{t.transaction_id, "chargeback"})) == "accepted");
  CHECK(avail(h, b) == "0");
  CHECK(avail(h, a) == "1000");
}

TEST_CASE("regression: a hold past its expiry but not yet swept no longer reserves funds") {
  engine_harness h;
  h.setup_basics();
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  auto m = h.open_wallet("merchant");
  h.fund(a, 100);
  h.fund(b, 2000);
  std::int64_t expiry = now_us(h) + hour_us;
  // More of bob's holds expire first than one command sweeps (1024), so
  // alice's hold is still open, though expired, when she withdraws.
  std::vector<command> holds;
  for (int i = 0; i < 1100; ++i)
    holds.push_back(cmd("bh" + std::to_string(i), hold_cmd{b, m, "USD", 1, expiry, "", ""}));
  for (const auto& o : h.run_all(std::move(holds))) REQUIRE(why(o) == "accepted");
  h.must(h.run(hold_cmd{a, m, "USD", 100, expiry, "", ""}));
  CHECK(avail(h, a) == "0");
  h.clock().set_us(expiry + 1);
  auto w = h.run(withdraw_cmd{a, "USD", 100, "", ""});
  CHECK(why(w) == "accepted");
  // A transfer sees the same rule.
  h.fund(a, 5);
  CHECK(why(h.run(transfer_cmd{a, m, "USD", 5, 0, "", ""})) == "accepted");
  // Every hold is swept in the end and the books balance.
  for (int i = 0; i < 3; ++i) h.fund(m, 1);
  CHECK(avail(h, a) == "0");
  auto bal = h.balance(a, "USD");
  REQUIRE(bal);
  CHECK(to_decimal(bal->debits_pending) == "100");  // the withdrawal's, the hold released
}
