// Regression tests for the defects an independent review found (engine v2
// issue). Each test is named after what broke; each fails on the code before
// its fix.
#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <string>
#include <vector>

#include "tests/engine/harness.h"
#include "tests/engine/read_only_store.h"
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

TEST_CASE("regression: registering more assets than a system account's record can decode is refused, and restart works") {
  engine_harness h;
  std::vector<command> reg;
  for (std::size_t i = 0; i < ledger_assets_max; ++i)
    reg.push_back(cmd("reg" + std::to_string(i), register_asset_cmd{"X" + std::to_string(i), 0, 1, amount_limit}));
  for (const auto& o : h.run_all(std::move(reg))) REQUIRE(why(o) == "accepted");
  auto over = h.run(register_asset_cmd{"ONE-TOO-MANY", 0, 1, amount_limit});
  CHECK(why(over) == "invalid_state");
  CHECK(over.detail.find("1024") != std::string::npos);
  auto clearing = h.must(h.run(open_account_cmd{account_kind::system, "clearing:bank", {}})).account_id;
  // One deposit per asset through one provider: the clearing account gains
  // a balance row per asset, the largest account record the writer makes.
  std::vector<command> deposits;
  for (std::size_t w = 0; w < ledger_assets_max / wallet_assets_max; ++w) {
    std::vector<wallet_asset> assets;
    for (std::size_t j = 0; j < wallet_assets_max; ++j)
      assets.push_back({"X" + std::to_string(w * wallet_assets_max + j), amount_limit, amount_limit});
    auto id = h.open_wallet("owner" + std::to_string(w), assets);
    for (const auto& a : assets) deposits.push_back(cmd("dep-" + a.asset, deposit_cmd{id, a.asset, 7, "bank", "", ""}));
  }
  for (const auto& o : h.run_all(std::move(deposits))) REQUIRE(why(o) == "accepted");
  auto before = h.eng().head();
  h.reopen();
  CHECK(h.eng().head().seq == before.seq);
  CHECK(to_hex(h.eng().head().chain) == to_hex(before.chain));
  std::string v;
  REQUIRE(h.eng().storage().read_state(keys::account(clearing), v).is_ok());
  account_record r;
  REQUIRE(decode(v, r).is_ok());
  CHECK(r.balances.size() == ledger_assets_max);
}

TEST_CASE("the largest records the writer can produce all decode") {
  // Account record: a system account with a row for every asset, every
  // counter at its extreme (19-byte varints).
  account_record acc;
  acc.id = ~0ull;
  acc.kind = account_kind::system;
  acc.owner = std::string(owner_bytes_max, 'o');
  for (std::size_t i = 0; i < ledger_assets_max; ++i) {
    balance_record b;
    b.asset = std::string(asset_code_bytes_max - 6, 'A') + std::to_string(100000 + i);
    b.overdraft_limit = b.daily_debit_limit = b.debits_posted = b.credits_posted = amount_limit;
    b.debits_pending = b.credits_pending = b.daily_used = -amount_limit;
    b.daily_day = -1;
    acc.balances.push_back(b);
  }
  account_record acc_back;
  CHECK(decode(encode(acc), acc_back).is_ok());
  CHECK(acc_back.balances.size() == ledger_assets_max);

  // The largest wallet opening and the largest accepted movement event.
  event e;
  e.seq = ~0ull;
  e.principal = std::string(owner_bytes_max, 'p');
  e.idempotency_key = std::string(key_bytes_max, 'k');
  e.request_id = std::string(key_bytes_max, 'r');
  std::vector<wallet_asset> assets;
  for (std::size_t i = 0; i < wallet_assets_max; ++i)
    assets.push_back({std::string(asset_code_bytes_max - 2, 'W') + std::to_string(10 + i), amount_limit, amount_limit});
  e.body = encode_body(open_account_cmd{account_kind::user, std::string(owner_bytes_max, 'u'), assets});
  e.effects.push_back(account_opened{~0ull, account_kind::user, std::string(owner_bytes_max, 'u'), assets});
  event back;
  CHECK(decode_event(encode_event(e), back).is_ok());
  e.effects.clear();
  e.body = encode_body(deposit_cmd{~0ull, std::string(asset_code_bytes_max, 'D'), amount_limit,
                                   std::string(owner_bytes_max, 'v'), std::string(reference_bytes_max, 'f'),
                                   std::string(metadata_bytes_max, 'm')});
  for (int i = 0; i < 3; ++i)
    e.effects.push_back(balance_changed{~0ull, std::string(asset_code_bytes_max, 'D'), -amount_limit, amount_limit,
                                        -amount_limit, amount_limit, -amount_limit, amount_limit, -amount_limit});
  e.effects.push_back(daily_usage{~0ull, std::string(asset_code_bytes_max, 'D'), -1, amount_limit});
  e.effects.push_back(pending_opened{~0ull, pending_kind::hold, ~0ull, ~0ull, std::string(asset_code_bytes_max, 'D'),
                                     amount_limit, INT64_MIN});
  e.effects.push_back(pending_closed{~0ull, pending_resolution::failed, amount_limit});
  e.effects.push_back(transaction_recorded{~0ull, tx_kind::reversal, ~0ull});
  CHECK(decode_event(encode_event(e), back).is_ok());

  // The largest invalid command the writer records: clipped envelope, a body
  // just under the size it still keeps, a long detail.
  e.effects.clear();
  e.status = event_status::rejected;
  e.reason = reason::invalid_argument;
  e.body = std::string(invalid_body_bytes_max, '\x7f');
  e.detail = std::string(256, 'd');
  CHECK(decode_event(encode_event(e), back).is_ok());

  // Pending records at their extremes.
  pending_record p{~0ull, pending_kind::withdrawal, ~0ull, ~0ull, std::string(asset_code_bytes_max, 'P'), amount_limit,
                   INT64_MAX, pending_resolution::failed, -amount_limit};
  pending_record p_back;
  CHECK(decode(encode(p), p_back).is_ok());
}

namespace {
// Event count of every journal record (one per engine batch), read from
// RocksDB directly after the engine is closed.
std::vector<std::size_t> journal_record_sizes(const std::string& path) {
  read_only_store store(path);
  std::vector<std::size_t> sizes;
  std::unique_ptr<rocksdb::Iterator> it(store.db->NewIterator(rocksdb::ReadOptions(), store.journal()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::vector<journal_entry> rec;
    REQUIRE(decode_journal_batch(std::string_view(it->value().data(), it->value().size()), rec).is_ok());
    sizes.push_back(rec.size());
  }
  return sizes;
}
}  // namespace

TEST_CASE("regression: a batch is bounded by events, not only by commands (hold expiries no longer pile into one batch)") {
  constexpr std::size_t events_max = 2048;
  engine_harness h(8190, 512, events_max);
  h.setup_basics();
  auto a = h.open_wallet("alice");
  auto m = h.open_wallet("merchant");
  h.fund(a, 5000);
  std::int64_t expiry = now_us(h) + hour_us;
  // 3000 holds in one submission: split across batches, answered once, in order.
  std::vector<command> holds;
  for (int i = 0; i < 3000; ++i) holds.push_back(cmd("h" + std::to_string(i), hold_cmd{a, m, "USD", 1, expiry, "", ""}));
  auto outs = h.run_all(std::move(holds));
  REQUIRE(outs.size() == 3000);
  for (std::size_t i = 1; i < outs.size(); ++i) {
    REQUIRE(why(outs[i]) == "accepted");
    REQUIRE(outs[i].seq == outs[i - 1].seq + 1);
  }
  // Every hold expires: each of these commands sweeps up to 1024 first.
  h.clock().set_us(expiry + 1);
  std::vector<command> deposits;
  for (int i = 0; i < 5; ++i) deposits.push_back(cmd("d" + std::to_string(i), deposit_cmd{m, "USD", 1, "stripe", "", ""}));
  auto douts = h.run_all(std::move(deposits));
  for (const auto& o : douts) CHECK(why(o) == "accepted");
  CHECK(avail(h, a) == "5000");
  auto head = h.eng().head();
  h.close();
  auto sizes = journal_record_sizes((h.dir().path() / "ledger").string());
  std::size_t total = 0, largest = 0;
  for (auto n : sizes) {
    total += n;
    largest = std::max(largest, n);
  }
  CHECK(total == head.seq);
  CHECK(largest <= events_max);
  h.reopen();
  CHECK(h.eng().head().seq == head.seq);
}

TEST_CASE("the largest journal record a batch can make decodes") {
  // batch_events_max events of the largest kind the writer makes.
  engine_options defaults;
  event e;
  e.principal = std::string(owner_bytes_max, 'p');
  e.idempotency_key = std::string(key_bytes_max, 'k');
  e.status = event_status::rejected;
  e.reason = reason::invalid_argument;
  e.body = std::string(invalid_body_bytes_max, 'b');
  std::vector<journal_entry> entries;
  std::size_t bytes = 0;
  for (std::uint64_t i = 0; i < defaults.batch_events_max && bytes < defaults.batch_bytes_max; ++i) {
    e.seq = 1 + i;
    entries.push_back(journal_entry{e.seq, encode_event(e), hash256{}});
    bytes += entries.back().event_bytes.size() + 36;
  }
  // One more command's worth past the byte bound, as the writer allows.
  e.seq = entries.size() + 1;
  entries.push_back(journal_entry{e.seq, encode_event(e), hash256{}});
  std::vector<journal_entry> back;
  REQUIRE(decode_journal_batch(encode_journal_batch(1, entries), back).is_ok());
  CHECK(back.size() == entries.size());
}

namespace {
// A wallet with a daily debit limit of 100, funded with 1000.
struct limited_fixture {
  engine_harness h;
  std::uint64_t w = 0, other = 0;
  limited_fixture() {
    h.setup_basics();
    w = h.open_wallet("alice", {{"USD", 0, 100}});
    other = h.open_wallet("bob");
    h.fund(w, 1000);
  }
  std::string used() {
    auto b = h.balance(w, "USD");
    return b ? to_decimal(b->daily_used) : "none";
  }
};
}  // namespace

TEST_CASE("regression: daily usage is given back when the debit it counted does not happen") {
  limited_fixture f;
  auto& h = f.h;
  SUBCASE("a voided hold") {
    auto hold = h.must(h.run(hold_cmd{f.w, f.other, "USD", 100, now_us(h) + hour_us, "", ""}));
    CHECK(why(h.run(withdraw_cmd{f.w, "USD", 1, "", ""})) == "daily_limit_exceeded");
    h.must(h.run(void_hold_cmd{hold.pending_id}));
    CHECK(f.used() == "0");
    CHECK(why(h.run(withdraw_cmd{f.w, "USD", 100, "", ""})) == "accepted");
  }
  SUBCASE("an expired hold") {
    h.must(h.run(hold_cmd{f.w, f.other, "USD", 100, now_us(h) + 60'000'000, "", ""}));
    h.clock().advance_us(61'000'000);
    CHECK(why(h.run(withdraw_cmd{f.w, "USD", 100, "", ""})) == "accepted");  // swept first, usage back
  }
  SUBCASE("a partial capture gives back the rest") {
    auto hold = h.must(h.run(hold_cmd{f.w, f.other, "USD", 100, now_us(h) + hour_us, "", ""}));
    h.must(h.run(capture_cmd{hold.pending_id, 30}));
    CHECK(f.used() == "30");
    CHECK(why(h.run(withdraw_cmd{f.w, "USD", 71, "", ""})) == "daily_limit_exceeded");
    CHECK(why(h.run(withdraw_cmd{f.w, "USD", 70, "", ""})) == "accepted");
  }
  SUBCASE("a failed withdrawal") {
    auto wd = h.must(h.run(withdraw_cmd{f.w, "USD", 100, "", ""}));
    h.must(h.run(fail_withdrawal_cmd{wd.pending_id, "bank said no"}));
    CHECK(f.used() == "0");
  }
  SUBCASE("a reversed settled withdrawal") {
    auto wd = h.must(h.run(withdraw_cmd{f.w, "USD", 60, "", ""}));
    auto st = h.must(h.run(settle_withdrawal_cmd{wd.pending_id}));
    h.must(h.run(reverse_cmd{st.transaction_id, "returned"}));
    CHECK(f.used() == "0");
  }
  SUBCASE("a reversed transfer, fee included") {
    auto t = h.must(h.run(transfer_cmd{f.w, f.other, "USD", 90, 10, "", ""}));
    CHECK(f.used() == "100");
    h.must(h.run(reverse_cmd{t.transaction_id, "dispute"}));
    CHECK(f.used() == "0");
  }
  SUBCASE("a debit counted on an earlier day gives nothing back today") {
    auto hold = h.must(h.run(hold_cmd{f.w, f.other, "USD", 100, now_us(h) + 72 * hour_us, "", ""}));
    h.clock().advance_us(24 * hour_us);
    h.must(h.run(withdraw_cmd{f.w, "USD", 100, "", ""}));
    h.must(h.run(void_hold_cmd{hold.pending_id}));
    CHECK(f.used() == "100");
    CHECK(why(h.run(withdraw_cmd{f.w, "USD", 1, "", ""})) == "daily_limit_exceeded");
  }
  // Replay from the journal gives the same state.
  rebuilt_state r;
  REQUIRE(rebuild(h.eng().storage(), {}, r).is_ok());
  checkpoint live;
  REQUIRE(h.eng().storage().state_digest(live).is_ok());
  CHECK(to_hex(live.state_digest) == to_hex(r.digest));
  h.reopen();
  CHECK(h.eng().head().seq == r.head.seq);
}
