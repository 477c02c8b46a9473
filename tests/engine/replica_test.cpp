// The read replica: a real engine writes a journal with every kind of event
// (assets, accounts, deposits, transfers with fees, holds captured, voided
// and expired, withdrawals, reversals, status changes, rejections, replays),
// and a replica on its own RocksDB follows it. Checked: same head, same state
// digest, same records; duplicates skipped; a refused call changes nothing
// (gap, tampered bytes or chain, forged events that pass the chain check)
// and the right entries still apply afterwards; reopen; wait_for_seq.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/chain.h"
#include "engine/replica.h"
#include "tests/engine/harness.h"

using namespace ledger;
using namespace ledger::testing;

namespace {

constexpr std::int64_t second_us = 1'000'000;
constexpr std::int64_t hour_us = 3600 * second_us;

struct wallets {
  std::uint64_t alice = 0, bob = 0, carol = 0;
};

// Drives the engine through a mix of commands; the balances it leaves are
// asserted below.
wallets busy_ledger(engine_harness& h) {
  h.setup_basics();
  engine_harness::must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}));
  wallets w;
  w.alice = h.open_wallet("alice");
  w.bob = h.open_wallet("bob");
  w.carol = h.open_wallet("carol", {{"USD", 0, 0}, {"EUR", 0, 0}});
  h.fund(w.alice, 10'000);
  h.fund(w.bob, 5'000);
  h.fund(w.carol, 700, "EUR");
  auto transfer = engine_harness::must(h.run(transfer_cmd{w.alice, w.bob, "USD", 2'500, 25, "t1", ""}));

  auto hold = engine_harness::must(h.run(hold_cmd{w.alice, w.bob, "USD", 1'000, h.clock().now_us() + hour_us, "", ""}));
  engine_harness::must(h.run(capture_cmd{hold.pending_id, 400}));
  auto voided = engine_harness::must(h.run(hold_cmd{w.bob, w.carol, "USD", 700, h.clock().now_us() + hour_us, "", ""}));
  engine_harness::must(h.run(void_hold_cmd{voided.pending_id}));
  engine_harness::must(h.run(hold_cmd{w.alice, w.carol, "USD", 300, h.clock().now_us() + 60 * second_us, "", ""}));
  h.clock().advance_us(61 * second_us);  // the next command sweeps that hold

  auto poor = h.run(transfer_cmd{w.carol, w.alice, "USD", 1'000'000, 0, "", ""});
  REQUIRE(poor.reason == reason::insufficient_funds);
  auto wd = engine_harness::must(h.run(withdraw_cmd{w.bob, "USD", 1'000, "", ""}));
  engine_harness::must(h.run(settle_withdrawal_cmd{wd.pending_id}));
  engine_harness::must(h.run(reverse_cmd{transfer.transaction_id, "mistake"}));

  engine_harness::must(h.run(deposit_cmd{w.carol, "USD", 50, "stripe", "dup", ""}, "dup-key"));
  auto replay = h.run(deposit_cmd{w.carol, "USD", 50, "stripe", "dup", ""}, "dup-key");
  REQUIRE(replay.replay);
  auto conflict = h.run(deposit_cmd{w.carol, "USD", 60, "stripe", "dup", ""}, "dup-key");
  REQUIRE(conflict.reason == reason::idempotency_conflict);

  engine_harness::must(h.run(freeze_account_cmd{w.carol}));
  engine_harness::must(h.run(unfreeze_account_cmd{w.carol}));

  // Groups in flight together: several events per engine batch (journal record).
  std::vector<std::vector<command>> groups;
  for (int g = 0; g < 3; ++g) {
    std::vector<command> cmds;
    for (int i = 0; i < 2; ++i) {
      std::string key = "grp-" + std::to_string(g) + "-" + std::to_string(i);
      cmds.push_back(command{"tester", key, key, transfer_cmd{w.alice, w.carol, "USD", 10, 0, "", ""}});
    }
    groups.push_back(std::move(cmds));
  }
  for (const auto& o : h.run_groups(std::move(groups))) engine_harness::must(o);
  h.fund(w.alice, 1);  // last, so the engine's input position is the last event's
  return w;
}

// alice: 10'000 - 2'525 - 400 + 2'525 - 60 + 1; bob: 5'000 + 2'500 + 400 - 1'000 - 2'500;
// carol: 50 + 60 USD and 700 EUR.
constexpr amount_t alice_usd = 9'541, bob_usd = 4'400, carol_usd = 110, carol_eur = 700;

std::vector<journal_entry> journal_of(const store& s) {
  std::vector<journal_entry> all;
  auto st = s.read_journal(1, 1'000'000, all);
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  return all;
}

// Entries with seq in [first, last] (1-based, inclusive).
std::vector<journal_entry> range(const std::vector<journal_entry>& all, std::uint64_t first, std::uint64_t last) {
  REQUIRE(first >= 1);
  REQUIRE(last <= all.size());
  return {all.begin() + static_cast<std::ptrdiff_t>(first - 1), all.begin() + static_cast<std::ptrdiff_t>(last)};
}

event event_of(const journal_entry& je) {
  event e;
  REQUIRE(decode_event(je.event_bytes, e).is_ok());
  return e;
}

// Recomputes the chain of `v` from the hash before its first entry, so a
// forged event passes the chain check (the chain is a plain hash: anyone can).
void rechain(std::vector<journal_entry>& v, const std::vector<journal_entry>& all) {
  hash256 prev{};
  if (v.front().seq > 1) prev = all[v.front().seq - 2].chain;
  for (auto& je : v) {
    je.chain = chain_next(prev, je.event_bytes);
    prev = je.chain;
  }
}

std::unique_ptr<replica> open_replica(const temp_dir& dir) {
  store_options o;
  o.path = (dir.path() / "replica").string();
  o.write_buffer_bytes = 8u << 20;
  o.block_cache_bytes = 8u << 20;
  std::unique_ptr<replica> r;
  auto s = replica::open(o, r);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  return r;
}

checkpoint digest_of_store(const store& s) {
  checkpoint c;
  auto st = s.state_digest(c);
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  return c;
}

void check_same_digest(const store& a, const store& b) {
  auto x = digest_of_store(a), y = digest_of_store(b);
  CHECK(x.seq == y.seq);
  CHECK(to_hex(x.chain) == to_hex(y.chain));
  CHECK(to_hex(x.state_digest) == to_hex(y.state_digest));
}

std::optional<account_record> account_in(const store& s, std::uint64_t id) {
  std::string v;
  if (!s.read_state(keys::account(id), v)) return std::nullopt;
  account_record r;
  REQUIRE(decode(v, r).is_ok());
  return r;
}

amount_t posted(const store& s, std::uint64_t id, const std::string& asset = "USD") {
  auto r = account_in(s, id);
  REQUIRE(r.has_value());
  const auto* b = r->balance(asset);
  REQUIRE(b != nullptr);
  return b->posted();
}

void require_ok(const status& s) { REQUIRE_MESSAGE(s.is_ok(), s.to_string()); }

// Refused calls must leave head and digest exactly as they were.
struct unchanged_guard {
  const replica* r;
  ledger_head head = r->head();
  checkpoint digest = digest_of_store(r->storage());
  void check() const {
    CHECK(r->head().seq == head.seq);
    CHECK(to_hex(r->head().chain) == to_hex(head.chain));
    auto now = digest_of_store(r->storage());
    CHECK(now.seq == digest.seq);
    CHECK(to_hex(now.state_digest) == to_hex(digest.state_digest));
  }
};

// The first seq at or after `from` whose event satisfies `pred`.
template <typename Pred>
std::uint64_t find_seq(const std::vector<journal_entry>& all, std::uint64_t from, Pred pred) {
  for (std::uint64_t s = from; s <= all.size(); ++s)
    if (pred(event_of(all[s - 1]))) return s;
  FAIL("no such event");
  return 0;
}

bool opens_wallet(const event& e) {
  for (const auto& fx : e.effects)
    if (auto* o = std::get_if<account_opened>(&fx); o && o->kind == account_kind::user) return true;
  return false;
}

bool posts(const event& e) {
  for (const auto& fx : e.effects)
    if (auto* b = std::get_if<balance_changed>(&fx); b && b->d_credits_posted != 0) return true;
  return false;
}

}  // namespace

// A busy ledger's engine, its whole journal, and an empty replica.
struct followed_ledger {
  engine_harness h;
  wallets w = busy_ledger(h);
  std::vector<journal_entry> all = journal_of(h.eng().storage());
  std::size_t n = all.size();
  temp_dir dir{"ledger-replica"};
  std::unique_ptr<replica> rep = open_replica(dir);
};

TEST_CASE("replica: follows an engine's journal in uneven chunks with duplicates") {
  engine_harness h;
  auto w = busy_ledger(h);
  auto all = journal_of(h.eng().storage());
  const auto n = all.size();
  REQUIRE(n == h.eng().head().seq);
  // The mix really is in the journal: two rejections and one expiry event.
  std::size_t rejected = 0, system = 0;
  for (const auto& je : all) {
    auto e = event_of(je);
    rejected += e.status == event_status::rejected;
    system += e.principal.empty();
  }
  CHECK(rejected == 2);
  CHECK(system == 1);

  temp_dir dir("ledger-replica");
  auto rep = open_replica(dir);
  CHECK(rep->head().seq == 0);
  require_ok(rep->apply({}));
  CHECK(rep->head().seq == 0);

  // Chunks of uneven sizes, each starting a few entries before the head.
  const std::size_t sizes[] = {1, 4, 2, 7, 3, 11, 5};
  const std::size_t overlaps[] = {0, 1, 3, 2, 5};
  std::uint64_t done = 0;
  for (std::size_t i = 0; done < n; ++i) {
    std::uint64_t first = done + 1 > overlaps[i % 5] ? done + 1 - overlaps[i % 5] : 1;
    std::uint64_t last = std::min<std::uint64_t>(n, done + sizes[i % 7]);
    require_ok(rep->apply(range(all, first, last)));
    done = last;
    CHECK(rep->head().seq == done);
    CHECK(to_hex(rep->head().chain) == to_hex(all[done - 1].chain));
  }
  // Nothing but duplicates: accepted, nothing written.
  require_ok(rep->apply(range(all, 2, n)));
  CHECK(rep->head().seq == n);

  auto eh = h.eng().head();
  auto rh = rep->head();
  CHECK(rh.seq == eh.seq);
  CHECK(to_hex(rh.chain) == to_hex(eh.chain));
  CHECK(rh.log_ts_us == eh.log_ts_us);
  CHECK(rh.input_pos == eh.input_pos);
  check_same_digest(rep->storage(), h.eng().storage());

  // The records the API reads.
  const store& rs = rep->storage();
  CHECK(posted(rs, w.alice) == alice_usd);
  CHECK(posted(rs, w.bob) == bob_usd);
  CHECK(posted(rs, w.carol) == carol_usd);
  CHECK(posted(rs, w.carol, "EUR") == carol_eur);
  CHECK(posted(h.eng().storage(), w.alice) == alice_usd);
  for (std::uint64_t id = 1; id <= 6; ++id) {
    std::string a, b;
    require_ok(rs.read_state(keys::account(id), a));
    require_ok(h.eng().storage().read_state(keys::account(id), b));
    CHECK(a == b);
  }
  std::vector<std::pair<std::string, std::string>> ra, ea;
  require_ok(rs.scan_state("w", "", 100, ra));
  require_ok(h.eng().storage().scan_state("w", "", 100, ea));
  CHECK(ra.size() == 6);
  CHECK(ra == ea);
  require_ok(rs.scan_state(keys::owner_prefix("carol"), "", 100, ra));
  REQUIRE(ra.size() == 1);
  CHECK(ra[0].first == keys::owner_index("carol", w.carol));
  std::string asset;
  CHECK(rs.read_state(keys::asset("EUR"), asset).is_ok());
  CHECK(rs.read_state(keys::asset("GBP"), asset).error_code() == status::code::not_found);

  // The replica's journal is the engine's, event for event.
  auto copy = journal_of(rs);
  REQUIRE(copy.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    CHECK(copy[i].seq == all[i].seq);
    CHECK(copy[i].event_bytes == all[i].event_bytes);
    CHECK(to_hex(copy[i].chain) == to_hex(all[i].chain));
  }
}

TEST_CASE_FIXTURE(followed_ledger, "replica: duplicates inside one call are skipped") {
  // 1..5, then 3..8 again (a consumer rewound mid-call), then 8..10.
  auto v = range(all, 1, 5);
  for (auto& je : range(all, 3, 8)) v.push_back(je);
  for (auto& je : range(all, 8, 10)) v.push_back(je);
  require_ok(rep->apply(v));
  CHECK(rep->head().seq == 10);
  CHECK(to_hex(rep->head().chain) == to_hex(all[9].chain));
  require_ok(rep->apply(range(all, 1, all.size())));
  check_same_digest(rep->storage(), h.eng().storage());
}

TEST_CASE("replica: reopening resumes at its head and continues") {
  engine_harness h;
  busy_ledger(h);
  auto all = journal_of(h.eng().storage());
  const auto n = all.size();
  const std::uint64_t half = n / 2;
  temp_dir dir("ledger-replica");
  checkpoint before;
  {
    auto rep = open_replica(dir);
    require_ok(rep->apply(range(all, 1, half)));
    before = digest_of_store(rep->storage());
    CHECK(before.seq == half);
  }
  auto rep = open_replica(dir);
  CHECK(rep->head().seq == half);
  CHECK(to_hex(rep->head().chain) == to_hex(all[half - 1].chain));
  CHECK(rep->head().log_ts_us == event_of(all[half - 1]).log_ts_us);
  auto after = digest_of_store(rep->storage());
  CHECK(to_hex(after.state_digest) == to_hex(before.state_digest));
  // The reloaded state goes on from there, overlap included.
  require_ok(rep->apply(range(all, half - 3, n)));
  CHECK(rep->head().seq == n);
  check_same_digest(rep->storage(), h.eng().storage());
}

TEST_CASE_FIXTURE(followed_ledger, "replica: a gap is refused and changes nothing") {
  const std::uint64_t k = 9;
  require_ok(rep->apply(range(all, 1, k)));
  unchanged_guard g{rep.get()};

  auto s = rep->apply(range(all, k + 2, k + 5));
  CHECK(s.error_code() == status::code::corruption);
  CHECK(s.message() == "journal gap: expected seq 10, found 11");
  g.check();

  // A gap after good entries of the same call: none of them is applied.
  auto v = range(all, k + 1, k + 2);
  v.push_back(all[k + 3]);  // seq k + 4
  s = rep->apply(v);
  CHECK(s.error_code() == status::code::corruption);
  CHECK(s.message() == "journal gap: expected seq 12, found 13");
  g.check();
  CHECK_FALSE(rep->wait_for_seq(k + 1, 0));

  require_ok(rep->apply(range(all, k + 1, n)));
  CHECK(rep->head().seq == n);
  check_same_digest(rep->storage(), h.eng().storage());
}

TEST_CASE_FIXTURE(followed_ledger, "replica: a tampered event byte or chain hash is refused and changes nothing") {
  const std::uint64_t k = 12;
  require_ok(rep->apply(range(all, 1, k)));
  unchanged_guard g{rep.get()};

  auto bad_byte = range(all, k + 1, k + 4);
  bad_byte[2].event_bytes[bad_byte[2].event_bytes.size() / 2] ^= 0x01;
  auto s = rep->apply(bad_byte);
  CHECK(s.error_code() == status::code::corruption);
  CHECK(s.message() == "chain hash mismatch at seq 15: the event or its predecessor was altered");
  g.check();

  auto bad_chain = range(all, k + 1, k + 4);
  bad_chain[1].chain[0] ^= 0x80;
  s = rep->apply(bad_chain);
  CHECK(s.error_code() == status::code::corruption);
  CHECK(s.message() == "chain hash mismatch at seq 14: the event or its predecessor was altered");
  g.check();

  // The first new entry tampered: the chain from the replica's own head breaks.
  auto bad_first = range(all, k + 1, k + 1);
  bad_first[0].event_bytes.push_back('x');
  s = rep->apply(bad_first);
  CHECK(s.message() == "chain hash mismatch at seq 13: the event or its predecessor was altered");
  g.check();

  require_ok(rep->apply(range(all, k + 1, n)));
  check_same_digest(rep->storage(), h.eng().storage());
}

TEST_CASE("replica: forged events with a valid chain are refused and the call rolled back") {
  engine_harness h;
  auto w = busy_ledger(h);
  auto all = journal_of(h.eng().storage());
  const auto n = all.size();
  // A call that opens wallets and posts to them before the forged event, so
  // undoing it matters: opened accounts, balances, idempotency records and
  // the store's pending batch all have to go.
  const std::uint64_t open_seq = find_seq(all, 1, opens_wallet);
  const std::uint64_t post_seq = find_seq(all, open_seq + 3, posts);
  // USD, three system accounts, EUR; then alice, bob, carol, and alice's deposit.
  REQUIRE(open_seq == 6);
  REQUIRE(post_seq == 9);
  temp_dir dir("ledger-replica");
  auto rep = open_replica(dir);
  require_ok(rep->apply(range(all, 1, open_seq - 1)));
  unchanged_guard g{rep.get()};
  bool wallets_committed = false;

  auto forge = [&](std::uint64_t seq, auto&& change) {
    auto v = range(all, open_seq, std::min<std::uint64_t>(n, post_seq + 2));
    auto& je = v[seq - open_seq];
    auto e = event_of(je);
    change(e, je);
    rechain(v, all);
    return v;
  };

  SUBCASE("legs that do not balance") {
    auto v = forge(post_seq, [](event& e, journal_entry& je) {
      for (auto& fx : e.effects)
        if (auto* b = std::get_if<balance_changed>(&fx); b && b->d_credits_posted != 0) {
          b->d_credits_posted += 1;
          b->posted_after += 1;
          break;
        }
      je.event_bytes = encode_event(e);
    });
    auto s = rep->apply(v);
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message() == "event " + std::to_string(post_seq) + ": posted legs in USD do not sum to zero");
  }
  SUBCASE("an account opened out of order") {
    auto v = forge(open_seq + 1, [](event& e, journal_entry& je) {
      for (auto& fx : e.effects)
        if (auto* o = std::get_if<account_opened>(&fx)) o->id += 1;
      je.event_bytes = encode_event(e);
    });
    auto s = rep->apply(v);
    CHECK(s.message() == "event " + std::to_string(open_seq + 1) + ": opens account " + std::to_string(w.bob + 1) +
                             " out of order");
  }
  SUBCASE("a leg on an account that does not exist") {
    auto v = forge(post_seq, [](event& e, journal_entry& je) {
      for (auto& fx : e.effects)
        if (auto* b = std::get_if<balance_changed>(&fx)) b->account = 999;
      je.event_bytes = encode_event(e);
    });
    auto s = rep->apply(v);
    CHECK(s.message() == "event " + std::to_string(post_seq) + ": posts to unknown account 999");
  }
  SUBCASE("an event carrying another seq") {
    auto v = forge(post_seq, [](event& e, journal_entry& je) {
      e.seq += 1;
      je.event_bytes = encode_event(e);
    });
    auto s = rep->apply(v);
    CHECK(s.message() == "event " + std::to_string(post_seq) + " carries seq " + std::to_string(post_seq + 1));
  }
  SUBCASE("bytes that are no event") {
    auto v = forge(post_seq, [](event&, journal_entry& je) { je.event_bytes = "not an event"; });
    auto s = rep->apply(v);
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().rfind("event " + std::to_string(post_seq) + ": ", 0) == 0);
  }
  SUBCASE("the first new event unbalanced: nothing was applied to undo") {
    require_ok(rep->apply(range(all, open_seq, post_seq - 1)));
    g = unchanged_guard{rep.get()};
    wallets_committed = true;
    auto v = range(all, post_seq, post_seq);
    auto e = event_of(v[0]);
    for (auto& fx : e.effects)
      if (auto* b = std::get_if<balance_changed>(&fx)) {
        b->d_debits_posted += 5;
        break;
      }
    v[0].event_bytes = encode_event(e);
    rechain(v, all);
    auto s = rep->apply(v);
    CHECK(s.message() == "event " + std::to_string(post_seq) + ": posted legs in USD do not sum to zero");
  }
  g.check();
  // The wallets a refused call opened did not reach the store.
  CHECK(account_in(rep->storage(), w.alice).has_value() == wallets_committed);
  CHECK(account_in(rep->storage(), w.carol).has_value() == wallets_committed);

  // The rolled-back state takes the real entries: if the in-memory state or
  // the store's pending batch had kept the refused call, this would fail.
  require_ok(rep->apply(range(all, open_seq, n)));
  CHECK(rep->head().seq == n);
  check_same_digest(rep->storage(), h.eng().storage());
  CHECK(posted(rep->storage(), w.alice) == alice_usd);
}

TEST_CASE_FIXTURE(followed_ledger, "replica: wait_for_seq sees another thread's apply, and times out") {

  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(rep->wait_for_seq(1, 30));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(30));
  CHECK(rep->wait_for_seq(0, 0));

  auto first = range(all, 1, n / 2), second = range(all, n / 2 + 1, n);
  status result;
  std::thread follower([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    result = rep->apply(first);
    if (result.is_ok()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      result = rep->apply(second);
    }
  });
  t0 = std::chrono::steady_clock::now();
  CHECK(rep->wait_for_seq(n / 2, 10'000));
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(40));
  CHECK(rep->head().seq >= n / 2);
  CHECK(rep->wait_for_seq(n, 10'000));
  follower.join();
  require_ok(result);
  CHECK(rep->head().seq == n);
  CHECK_FALSE(rep->wait_for_seq(n + 1, 20));
}

TEST_CASE_FIXTURE(followed_ledger, "replica: readers on other threads see whole calls only") {

  // One call per three entries; a reader's digest must always be at a call boundary.
  std::atomic<bool> stop{false};
  std::atomic<int> off_boundary{0}, reads{0};
  std::thread reader([&] {
    while (!stop.load()) {
      checkpoint c;
      if (!rep->storage().state_digest(c).is_ok() || c.seq % 3 != 0) off_boundary++;
      reads++;
    }
  });
  std::uint64_t done = 0;
  while (done + 3 <= n) {
    auto s = rep->apply(range(all, done + 1, done + 3));
    if (!s) {
      stop = true;
      reader.join();
      FAIL(s.to_string());
    }
    done += 3;
  }
  stop = true;
  reader.join();
  CHECK(off_boundary.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(rep->head().seq == done);
}

TEST_CASE("replica: a call above the entry limit is refused") {
  temp_dir dir("ledger-replica");
  auto rep = open_replica(dir);
  std::vector<journal_entry> v(replica_apply_entries_max + 1);
  auto s = rep->apply(v);
  CHECK(s.error_code() == status::code::invalid_argument);
  CHECK(rep->head().seq == 0);
  CHECK(digest_of_store(rep->storage()).seq == 0);
}

TEST_CASE("regression: a forged event with a valid chain that breaks the counters or the pendings no longer crashes a replica") {
  engine_harness h;
  auto w = busy_ledger(h);
  auto all = journal_of(h.eng().storage());
  const std::uint64_t post_seq = find_seq(all, 1, posts);
  temp_dir dir("ledger-replica");
  auto rep = open_replica(dir);
  require_ok(rep->apply(range(all, 1, post_seq - 1)));
  auto forge = [&](auto&& change) {
    auto v = range(all, post_seq, post_seq);
    auto e = event_of(v[0]);
    change(e);
    v[0].event_bytes = encode_event(e);
    rechain(v, all);
    return rep->apply(v);
  };
  SUBCASE("balanced legs whose recorded values after are wrong (apply asserted)") {
    auto s = forge([](event& e) {
      for (auto& fx : e.effects)
        if (auto* b = std::get_if<balance_changed>(&fx)) b->posted_after += 7;
    });
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("after the event differs") != std::string::npos);
  }
  SUBCASE("balanced legs that take a counter past the amount range") {
    auto s = forge([](event& e) {
      for (auto& fx : e.effects)
        if (auto* b = std::get_if<balance_changed>(&fx)) {
          if (b->d_credits_posted != 0) b->d_credits_posted = amount_limit;
          if (b->d_debits_posted != 0) b->d_debits_posted = amount_limit;
        }
    });
    CHECK(s.error_code() == status::code::corruption);
  }
  SUBCASE("closing a pending that is not open (apply asserted)") {
    auto s = forge([](event& e) { e.effects.push_back(pending_closed{424242, pending_resolution::voided, 0}); });
    CHECK(s.message() == "event " + std::to_string(post_seq) + ": closes pending 424242, which is not open");
  }
  SUBCASE("registering an asset twice (apply asserted)") {
    auto s = forge([](event& e) { e.effects.push_back(asset_registered{"USD", 2, 1, 10}); });
    CHECK(s.error_code() == status::code::corruption);
  }
  SUBCASE("a status change from a status the wallet is not in (apply asserted)") {
    auto s = forge([&](event& e) {
      e.effects.push_back(account_status_changed{w.alice, account_status::frozen, account_status::active});
    });
    CHECK(s.error_code() == status::code::corruption);
  }
  // Nothing was applied; the real entry still is.
  CHECK(rep->head().seq == post_seq - 1);
  require_ok(rep->apply(range(all, post_seq, all.size())));
  check_same_digest(rep->storage(), h.eng().storage());
}

TEST_CASE_FIXTURE(followed_ledger, "regression: a duplicate entry below the head with another chain hash is a divergent history, not skipped") {
  require_ok(rep->apply(range(all, 1, n)));
  SUBCASE("at the head") {
    auto v = range(all, n, n);
    v[0].chain[0] ^= 1;
    CHECK(rep->apply(v).error_code() == status::code::corruption);
  }
  SUBCASE("below the head, read back from the replica's journal") {
    auto v = range(all, 2, 4);
    v[1].chain[5] ^= 1;
    auto s = rep->apply(v);
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("divergent history") != std::string::npos);
  }
  SUBCASE("inside one call") {
    auto v = range(all, 1, n);
    v.push_back(all[1]);
    v.back().chain[0] ^= 1;
    require_ok(rep->apply(range(all, 1, n)));  // true duplicates are still fine
    CHECK(rep->apply(v).error_code() == status::code::corruption);
  }
  CHECK(rep->head().seq == n);
}
