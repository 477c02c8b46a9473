// Payment requests (engine/payment_requests.cpp) through the real engine on
// RocksDB: every transition (paid, declined, cancelled, expired by log
// time) with the money it moves or does not, every refusal with its reason
// and nothing half-applied (balances, request and journal checks), the
// per-requester bound, and open requests across a reopen of the store.
#include <doctest/doctest.h>

#include <string>

#include "tests/engine/books.h"
#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"

namespace {

using namespace ledger;
using ledger::testing::check_books;
using ledger::testing::engine_harness;

constexpr std::int64_t minute_us = 60'000'000;

std::string why(const outcome& o) {
  if (!o.error.is_ok()) return "error: " + o.error.to_string();
  return o.accepted() ? "accepted" : std::string(to_string(o.reason));
}

std::string posted(engine_harness& h, std::uint64_t account, const std::string& asset = "USD") {
  auto b = h.balance(account, asset);
  return b ? to_decimal(b->posted()) : "none";
}

std::optional<payment_request_record> request(engine_harness& h, std::uint64_t id) {
  std::string v;
  for (const auto& k : {keys::open_payment_request(id), keys::closed_payment_request(id)}) {
    if (!h.eng().storage().read_state(k, v)) continue;
    payment_request_record r;
    REQUIRE(decode(v, r).is_ok());
    return r;
  }
  return std::nullopt;
}

std::string status_of(engine_harness& h, std::uint64_t id) {
  auto r = request(h, id);
  return r ? std::string(to_string(r->status)) : "none";
}

struct fixture {
  engine_harness h;
  std::uint64_t fees = 0, bob = 0, alice = 0, alice_eur = 0, carol = 0;
  fixture() {
    h.setup_basics();
    must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
    fees = h.system_ids.at("fee_revenue");
    bob = h.open_wallet("bob");      // the requester
    alice = h.open_wallet("alice");  // the payer
    alice_eur = h.open_wallet("alice", {{"EUR", 0, 0}});
    carol = h.open_wallet("carol");
    h.fund(alice, 10'000);
  }
  static const outcome& must(const outcome& o) { return engine_harness::must(o); }
  std::int64_t now() { return h.clock().now_us(); }
  outcome create(amount_t amount = 1'250, std::int64_t ttl_us = 10 * minute_us, std::string payer = "alice") {
    return h.run(create_payment_request_cmd{"bob", bob, std::move(payer), "USD", amount, "dinner", now() + ttl_us});
  }
  outcome pay(std::uint64_t id, std::string payer = "alice", std::string asset = "USD", std::uint64_t wallet = 0) {
    return h.run(pay_payment_request_cmd{id, std::move(payer), wallet ? wallet : alice, std::move(asset), 0});
  }
};

TEST_CASE("a paid request moves the money in the same event and records its transaction") {
  fixture f;
  auto c = f.create();
  REQUIRE(why(c) == "accepted");
  REQUIRE(c.payment_request_id == c.seq);
  CHECK(c.payment_request_status_after == payment_request_status::pending);
  CHECK(c.balances.empty());
  CHECK(status_of(f.h, c.payment_request_id) == "pending");
  auto r = request(f.h, c.payment_request_id);
  CHECK(r->note == "dinner");
  CHECK(r->payer == "alice");
  CHECK(r->amount == 1'250);

  auto p = f.pay(c.payment_request_id);
  REQUIRE(why(p) == "accepted");
  CHECK(p.transaction_id == p.seq);
  CHECK(p.payment_request_id == c.payment_request_id);
  CHECK(p.payment_request_status_after == payment_request_status::paid);
  CHECK(posted(f.h, f.alice) == "8750");
  CHECK(posted(f.h, f.bob) == "1250");
  r = request(f.h, c.payment_request_id);
  CHECK(to_string(r->status) == std::string("paid"));
  CHECK(r->transaction_id == p.transaction_id);
  CHECK(r->payer_wallet == f.alice);
  CHECK(r->closed_at_us == f.now());

  // Paying twice is refused and moves nothing.
  auto again = f.pay(c.payment_request_id);
  CHECK(why(again) == "payment_request_paid");
  CHECK(again.detail.find(std::to_string(p.transaction_id)) != std::string::npos);
  CHECK(posted(f.h, f.alice) == "8750");
  CHECK(why(f.h.run(decline_payment_request_cmd{c.payment_request_id, "alice", ""})) == "payment_request_paid");
  CHECK(why(f.h.run(cancel_payment_request_cmd{c.payment_request_id, "bob", ""})) == "payment_request_paid");
  check_books(f.h);
}

TEST_CASE("a scheduled transfer fee is paid by the payer on top of the requested amount") {
  fixture f;
  fixture::must(f.h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 10, 0, 0, amount_limit}));
  auto c = f.create(1'000);
  REQUIRE(why(f.pay(c.payment_request_id)) == "accepted");
  CHECK(posted(f.h, f.alice) == "8990");
  CHECK(posted(f.h, f.bob) == "1000");
  CHECK(posted(f.h, f.fees) == "10");
  check_books(f.h);
}

TEST_CASE("only the payer pays or declines, only the requester cancels") {
  fixture f;
  auto id = f.create().payment_request_id;
  CHECK(why(f.pay(id, "carol", "USD", f.carol)) == "not_request_party");
  CHECK(why(f.pay(id, "bob", "USD", f.bob)) == "not_request_party");
  CHECK(why(f.h.run(decline_payment_request_cmd{id, "bob", ""})) == "not_request_party");
  CHECK(why(f.h.run(cancel_payment_request_cmd{id, "alice", ""})) == "not_request_party");
  // The payer's command with someone else's wallet: refused, nothing moved.
  auto other = f.pay(id, "alice", "USD", f.carol);
  CHECK(why(other) == "unknown_wallet");
  CHECK(other.detail == "wallet: " + std::to_string(f.carol) + " is not the payer's");
  CHECK(status_of(f.h, id) == "pending");
  CHECK(posted(f.h, f.alice) == "10000");
  CHECK(posted(f.h, f.bob) == "0");
}

TEST_CASE("declined and cancelled requests can no longer be paid") {
  fixture f;
  auto declined = f.create().payment_request_id;
  auto d = f.h.run(decline_payment_request_cmd{declined, "alice", "not mine"});
  REQUIRE(why(d) == "accepted");
  CHECK(d.payment_request_status_after == payment_request_status::declined);
  CHECK(request(f.h, declined)->reason == "not mine");
  CHECK(why(f.pay(declined)) == "payment_request_declined");

  auto cancelled = f.create().payment_request_id;
  REQUIRE(why(f.h.run(cancel_payment_request_cmd{cancelled, "bob", "typo"})) == "accepted");
  CHECK(status_of(f.h, cancelled) == "cancelled");
  CHECK(why(f.pay(cancelled)) == "payment_request_cancelled");
  CHECK(why(f.h.run(cancel_payment_request_cmd{cancelled, "bob", ""})) == "payment_request_cancelled");
  CHECK(why(f.h.run(decline_payment_request_cmd{cancelled, "alice", ""})) == "payment_request_cancelled");
  CHECK(posted(f.h, f.alice) == "10000");
  CHECK(why(f.pay(999'999)) == "unknown_payment_request");
  check_books(f.h);
}

TEST_CASE("paying with another asset or amount, or without the funds, is refused and changes nothing") {
  fixture f;
  auto id = f.create().payment_request_id;
  auto eur = f.pay(id, "alice", "EUR", f.alice_eur);
  CHECK(why(eur) == "asset_mismatch");
  CHECK(eur.detail == "asset: payment request " + std::to_string(id) + " is for USD, not EUR");
  CHECK(why(f.h.run(pay_payment_request_cmd{id, "alice", f.alice, "USD", 1})) == "invalid_argument");
  CHECK(why(f.h.run(pay_payment_request_cmd{id, "alice", f.alice, "USD", 1'250})) == "accepted");

  auto big = f.create(20'000).payment_request_id;
  CHECK(why(f.pay(big)) == "insufficient_funds");
  CHECK(status_of(f.h, big) == "pending");
  CHECK(posted(f.h, f.alice) == "8750");
  // A frozen payer wallet pays nothing.
  auto small = f.create(100).payment_request_id;
  fixture::must(f.h.run(freeze_account_cmd{f.alice}));
  CHECK(why(f.pay(small)) == "wallet_frozen");
  CHECK(status_of(f.h, small) == "pending");
  check_books(f.h);
}

TEST_CASE("a request expires by log time: refused at once, then closed by the sweep") {
  fixture f;
  auto id = f.create(500, 5 * minute_us).payment_request_id;
  f.h.clock().advance_us(5 * minute_us);
  // The sweep runs before this command, so the request is closed as expired
  // by a system event, then the payment is refused.
  auto p = f.pay(id);
  CHECK(why(p) == "payment_request_expired");
  CHECK(status_of(f.h, id) == "expired");
  CHECK(request(f.h, id)->closed_at_us == f.now());
  CHECK(posted(f.h, f.alice) == "10000");
  CHECK(why(f.h.run(cancel_payment_request_cmd{id, "bob", ""})) == "payment_request_expired");
  // A request not yet at its expiry still pays.
  auto later = f.create(500, 5 * minute_us).payment_request_id;
  f.h.clock().advance_us(5 * minute_us - 1);
  CHECK(why(f.pay(later)) == "accepted");
  check_books(f.h);
}

TEST_CASE("create refuses bad input with the field named, and bounds open requests per requester") {
  fixture f;
  auto now = f.now();
  CHECK(f.h.run(create_payment_request_cmd{"bob", f.bob, "bob", "USD", 1, "", now + minute_us}).detail ==
        "payer: must not be the requester");
  CHECK(f.h.run(create_payment_request_cmd{"bob", f.bob, "alice", "USD", 0, "", now + minute_us}).detail ==
        "amount: must be positive");
  // The command carries the note sealed (api/private_text.h): its bound is the sealed size of 280 bytes.
  CHECK(f.h.run(create_payment_request_cmd{"bob", f.bob, "alice", "USD", 1, std::string(418, 'x'), now + minute_us})
            .detail == "note: longer than 417 bytes");
  CHECK(why(f.h.run(create_payment_request_cmd{"carol", f.carol, "alice", "USD", 1, std::string(417, 'x'), now + minute_us})) ==
        "accepted");
  CHECK(f.h.run(create_payment_request_cmd{"bob", f.bob, "alice", "USD", 1, "", now - 1}).detail ==
        "expires_at: must be after the log time");
  CHECK(f.h.run(create_payment_request_cmd{"bob", f.bob, "alice", "USD", 1, "", now + 91LL * 86'400'000'000}).detail ==
        "expires_at: at most 90 days after the log time");
  CHECK(why(f.h.run(create_payment_request_cmd{"bob", f.alice, "carol", "USD", 1, "", now + minute_us})) ==
        "unknown_wallet");
  CHECK(why(f.h.run(create_payment_request_cmd{"bob", f.bob, "alice", "EUR", 1, "", now + minute_us})) ==
        "asset_mismatch");
  CHECK(why(f.h.run(create_payment_request_cmd{"bob", f.bob, "alice", "GBP", 1, "", now + minute_us})) ==
        "unknown_asset");
  for (std::size_t i = 0; i < open_payment_requests_per_requester_max; ++i) REQUIRE(why(f.create(1)) == "accepted");
  auto over = f.create(1);
  CHECK(why(over) == "too_many_payment_requests");
  // Closing one makes room for one.
  fixture::must(f.h.run(cancel_payment_request_cmd{over.seq - 1, "bob", ""}));
  CHECK(why(f.create(1)) == "accepted");
  CHECK(why(f.create(1)) == "too_many_payment_requests");
}

TEST_CASE("open requests and their expiry survive a reopen of the store") {
  fixture f;
  auto id = f.create(700, 10 * minute_us).payment_request_id;
  auto paid_later = f.create(300, 60 * minute_us).payment_request_id;
  f.h.reopen();
  CHECK(status_of(f.h, id) == "pending");
  f.h.clock().advance_us(10 * minute_us);
  REQUIRE(why(f.pay(paid_later)) == "accepted");  // the sweep before it expires the first
  CHECK(status_of(f.h, id) == "expired");
  CHECK(posted(f.h, f.bob) == "300");
  check_books(f.h);
}

}  // namespace
