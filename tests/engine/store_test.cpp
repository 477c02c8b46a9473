// Restart, corruption detection, hash chain, point-in-time rebuild and
// checkpoints, on a real RocksDB.
#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>

#include "base/arena_map.h"
#include "engine/chain.h"
#include "schemas/codec.h"
#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"

using namespace ledger;
using namespace ledger::testing;

namespace {

// Opens the store's RocksDB directly, to damage it the way a bad disk or a
// tamperer would.
struct raw_db {
  explicit raw_db(const std::string& path) {
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"state", {}}, {"journal", {}}};
    auto s = rocksdb::DB::Open(o, path, cfs, &handles, &db);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  ~raw_db() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  rocksdb::ColumnFamilyHandle* meta() { return handles[0]; }
  rocksdb::ColumnFamilyHandle* journal() { return handles[2]; }
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
};

std::string seq_key(std::uint64_t seq) {
  std::string k;
  put_key_u64(k, seq);
  return k;
}

std::string path_of(const engine_harness& h) { return (h.dir().path() / "ledger").string(); }

status reopen_status(engine_harness& h) {
  try {
    h.reopen();
    return status::ok();
  } catch (const std::exception& ex) {
    return status::corruption(ex.what());
  }
}

void some_activity(engine_harness& h) {
  h.setup_basics();
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 10'000);
  engine_harness::must(h.run(transfer_cmd{a, b, "USD", 2'500, 0, "t1", ""}));
  engine_harness::must(h.run(hold_cmd{a, b, "USD", 1'000, h.clock().now_us() + 1'000'000, "", ""}));
}

}  // namespace

TEST_CASE("restart brings back state, sequence and chain head exactly") {
  engine_harness h;
  some_activity(h);
  auto head = h.eng().head();
  checkpoint before;
  REQUIRE(h.eng().storage().state_digest(before).is_ok());
  h.reopen();
  auto again = h.eng().head();
  CHECK(again.seq == head.seq);
  CHECK(again.chain == head.chain);
  CHECK(again.input_pos == head.input_pos);
  checkpoint after;
  REQUIRE(h.eng().storage().state_digest(after).is_ok());
  CHECK(to_hex(after.state_digest) == to_hex(before.state_digest));
  // And it keeps going from there: the next event follows on the chain.
  auto o = h.run(deposit_cmd{4, "USD", 5, "stripe", "", ""});
  CHECK(o.accepted());
  CHECK(o.seq == head.seq + 1);
  rebuilt_state r;
  REQUIRE(rebuild(h.eng().storage(), {}, r).is_ok());
  CHECK(r.head.seq == o.seq);
}

TEST_CASE("the ledger id is bound into the chain's genesis (defect 7)") {
  auto first_event = [](const std::string& id) {
    engine_harness h;
    h.use_ledger_id(id);
    h.reopen();
    CHECK(h.eng().storage().ledger_id() == id);
    CHECK(h.eng().head().chain == genesis_chain(id));
    some_activity(h);
    journal_entry je;
    REQUIRE(h.eng().storage().read_event(1, je).is_ok());
    rebuilt_state r;
    CHECK(rebuild(h.eng().storage(), {}, r).is_ok());
    // Read with another ledger's genesis, the same journal fails at seq 1.
    auto read = [&](std::uint64_t from, std::size_t max, std::vector<journal_entry>& v) {
      return h.eng().storage().read_journal(from, max, v);
    };
    auto other = rebuild(read, genesis_chain(id + "-other"), {}, r);
    CHECK(other.error_code() == status::code::corruption);
    CHECK(other.message().find("seq 1") != std::string::npos);
    return je;
  };
  auto a = first_event("ledger-a");
  auto b = first_event("ledger-b");
  CHECK(a.event_bytes == b.event_bytes);  // the same first command, deterministically
  CHECK(a.chain != b.chain);              // on two different chains
  CHECK(a.chain == chain_next(genesis_chain("ledger-a"), a.event_bytes));
  CHECK(genesis_chain("") == hash256{});
  CHECK(ledger_id_problem("bad id").size() > 0);
  CHECK(ledger_id_problem(std::string(ledger_id_bytes_max + 1, 'x')).size() > 0);
}

TEST_CASE("a store refuses another ledger's id, and a chain started without one cannot take one") {
  engine_harness h;
  h.use_ledger_id("ledger-a");
  h.reopen();
  some_activity(h);
  h.use_ledger_id("ledger-b");
  auto s = reopen_status(h);
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("belongs to ledger \"ledger-a\"") != std::string::npos);
  h.use_ledger_id("");
  h.reopen();  // empty: whatever the store carries
  CHECK(h.eng().storage().ledger_id() == "ledger-a");

  engine_harness legacy;  // created without an id: chains from zero bytes
  some_activity(legacy);
  CHECK(legacy.eng().storage().ledger_id().empty());
  legacy.use_ledger_id("ledger-c");
  auto t = reopen_status(legacy);
  CHECK_FALSE(t.is_ok());
  CHECK(t.message().find("created without a ledger id") != std::string::npos);
}

TEST_CASE("a store missing its last event is reported as corrupt") {
  engine_harness h;
  some_activity(h);
  auto seq = h.eng().head().seq;
  h.close();
  {
    raw_db raw(path_of(h));
    REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), raw.journal(), seq_key(seq)).ok());
  }
  auto s = reopen_status(h);
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("journal ends at seq") != std::string::npos);
}

TEST_CASE("a head whose chain hash differs from the journal's is reported as corrupt") {
  engine_harness h;
  some_activity(h);
  auto head = h.eng().head();
  h.close();
  {
    raw_db raw(path_of(h));
    head.chain[0] ^= 1;
    REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw.meta(), "head", encode_head(head)).ok());
  }
  auto s = reopen_status(h);
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("chain hash") != std::string::npos);
}

TEST_CASE("an altered event in the middle of the journal breaks the chain") {
  engine_harness h;
  some_activity(h);
  h.close();
  {
    raw_db raw(path_of(h));
    std::string v;
    REQUIRE(raw.db->Get(rocksdb::ReadOptions(), raw.journal(), seq_key(3), &v).ok());
    v[20] ^= 0x40;  // a bit flip inside the event bytes, chain hash kept
    REQUIRE(raw.db->Put(rocksdb::WriteOptions(), raw.journal(), seq_key(3), v).ok());
  }
  h.reopen();  // the tail is intact, so the store opens...
  rebuilt_state r;
  auto s = rebuild(h.eng().storage(), {}, r);  // ...but the audit finds it
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("chain hash mismatch at seq 3") != std::string::npos);
}

TEST_CASE("a removed event leaves a gap that reading and rebuilding report") {
  engine_harness h;
  some_activity(h);
  h.close();
  {
    raw_db raw(path_of(h));
    REQUIRE(raw.db->Delete(rocksdb::WriteOptions(), raw.journal(), seq_key(4)).ok());
  }
  h.reopen();
  std::vector<journal_entry> entries;
  auto s = h.eng().storage().read_journal(1, 100, entries);
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("journal gap") != std::string::npos);
}

TEST_CASE("bytes damaged on disk are detected, not accepted") {
  engine_harness h;
  some_activity(h);
  REQUIRE(h.eng().storage().flush().is_ok());
  h.close();
  // Flip bytes in the middle of every table file.
  int damaged = 0;
  for (auto& f : std::filesystem::directory_iterator(path_of(h))) {
    if (f.path().extension() != ".sst") continue;
    std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    auto size = std::filesystem::file_size(f.path());
    for (std::uint64_t off = 0; off < size / 2; off += 97) {
      io.seekp(static_cast<std::streamoff>(off));
      io.put('\x5a');
    }
    ++damaged;
  }
  REQUIRE(damaged > 0);
  auto s = reopen_status(h);
  bool detected = !s.is_ok();
  if (!detected) {
    rebuilt_state r;
    detected = !rebuild(h.eng().storage(), {}, r).is_ok();
  }
  CHECK(detected);
}

TEST_CASE("a directory that holds something else is refused") {
  temp_dir d;
  std::ofstream(d.path() / "notes.txt") << "not a ledger";
  manual_clock clk;
  engine_options o;
  o.store.path = d.str();
  o.clk = &clk;
  std::unique_ptr<engine> e;
  auto s = engine::open(o, e);
  CHECK(s.error_code() == status::code::invalid_argument);
}

TEST_CASE("point-in-time rebuild by sequence and by log time matches checkpoints") {
  engine_harness h;
  h.setup_basics();
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 50'000);
  checkpoint cp1;
  REQUIRE(h.eng().checkpoint(cp1).is_ok());
  auto t1 = h.clock().now_us();

  h.clock().advance_us(60'000'000);
  for (int i = 0; i < 20; ++i) engine_harness::must(h.run(transfer_cmd{a, b, "USD", 100 + i, 5, "", ""}));
  checkpoint cp2;
  REQUIRE(h.eng().checkpoint(cp2).is_ok());
  CHECK(cp2.seq > cp1.seq);

  std::vector<checkpoint> saved;
  REQUIRE(h.eng().storage().load_checkpoints(saved).is_ok());
  REQUIRE(saved.size() == 2);
  CHECK(saved[0].seq == cp1.seq);
  CHECK(saved[0].state_digest == cp1.state_digest);

  rebuilt_state at_seq;
  REQUIRE(rebuild(h.eng().storage(), rebuild_bound{cp1.seq}, at_seq).is_ok());
  CHECK(at_seq.head.seq == cp1.seq);
  CHECK(at_seq.head.chain == cp1.chain);
  CHECK(to_hex(at_seq.digest) == to_hex(cp1.state_digest));
  const auto* alice = at_seq.state->account(a);
  REQUIRE(alice != nullptr);
  CHECK(to_decimal(alice->balance("USD")->posted()) == "50000");

  rebuilt_state at_time;
  rebuild_bound by_time;
  by_time.log_ts_max_us = t1;
  REQUIRE(rebuild(h.eng().storage(), by_time, at_time).is_ok());
  CHECK(at_time.head.seq == cp1.seq);
  CHECK(at_time.digest == cp1.state_digest);

  rebuilt_state now;
  REQUIRE(rebuild(h.eng().storage(), {}, now).is_ok());
  CHECK(now.digest == cp2.state_digest);
  CHECK(now.digest != cp1.state_digest);
  CHECK(to_decimal(now.state->account(a)->balance("USD")->posted()) == std::to_string(50'000 - (100 * 20 + 190 + 100)));
  CHECK(trial_balance_of(*now.state).zero());
}

TEST_CASE("a full command log answers at once instead of growing") {
  manual_clock clk;
  embedded_log log(clk, 4);
  auto cmd = [] { return command{"p", "k", "", deposit_cmd{1, "USD", 1, "x", "", ""}}; };
  CHECK(log.append({cmd(), cmd(), cmd()}, {}) == append_result::ok);
  CHECK(log.append({cmd(), cmd()}, {}) == append_result::full);
  CHECK(log.append({cmd(), cmd(), cmd(), cmd(), cmd()}, {}) == append_result::too_large);
  CHECK(log.append({cmd()}, {}) == append_result::ok);
  std::vector<log_entry> out;
  log.take(out, 100, 0);
  REQUIRE(out.size() == 2);
  CHECK(out[0].first_position == 1);
  CHECK(out[1].first_position == 4);
  log.close();
  CHECK(log.append({cmd()}, {}) == append_result::closed);
}

TEST_CASE("log time never runs backwards even if the wall clock does") {
  engine_harness h;
  h.setup_basics();
  auto t0 = h.eng().head().log_ts_us;
  h.clock().advance_us(-3'600'000'000);
  auto o = h.run(register_asset_cmd{"EUR", 2, 1, 1000});
  CHECK(o.accepted());
  CHECK(o.log_ts_us == t0);
}

TEST_CASE("one event of a batch record is read alone, and every entry's framing is still checked") {
  std::vector<journal_entry> batch;
  for (std::uint64_t seq = 100; seq < 108; ++seq) {
    journal_entry e;
    e.seq = seq;
    e.event_bytes = "event " + std::to_string(seq) + std::string(seq - 90, 'x');
    e.chain.fill(static_cast<std::uint8_t>(seq));
    batch.push_back(std::move(e));
  }
  std::string bytes = encode_journal_batch(100, batch);
  std::vector<journal_entry> out;
  std::uint64_t first = 0;
  std::uint32_t count = 0;
  REQUIRE(decode_journal_range(bytes, 104, 2, out, first, count).is_ok());
  CHECK(first == 100);
  CHECK(count == 8);
  REQUIRE(out.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(out[i].seq == 104 + i);
    CHECK(out[i].event_bytes == batch[4 + i].event_bytes);
    CHECK(out[i].chain == batch[4 + i].chain);
  }
  // A damaged length before the entries asked for is still found.
  std::string damaged = bytes;
  damaged[13 + 3] = static_cast<char>(0x7f);  // first entry's length, high byte
  out.clear();
  CHECK(decode_journal_range(damaged, 107, 1, out, first, count).error_code() == status::code::corruption);
  // And the whole record decodes as before.
  out.clear();
  REQUIRE(decode_journal_batch(bytes, out).is_ok());
  CHECK(out.size() == 8);
  CHECK(out.back().event_bytes == batch.back().event_bytes);
}

TEST_CASE("read_journal into a vector that held other events holds exactly the events read") {
  // Readers pass the same vector again to keep its buffers; what it held
  // before must never show through.
  engine_harness h;
  some_activity(h);
  const store& st = h.eng().storage();
  std::vector<journal_entry> all;
  REQUIRE(st.read_journal(1, 1000, all).is_ok());
  REQUIRE(all.size() > 4);
  auto same = [](const std::vector<journal_entry>& got, const std::vector<journal_entry>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].seq == want[i].seq);
      CHECK(got[i].event_bytes == want[i].event_bytes);
      CHECK(got[i].chain == want[i].chain);
    }
  };
  std::vector<journal_entry> reused;
  REQUIRE(st.read_journal(1, 1000, reused).is_ok());
  same(reused, all);
  REQUIRE(st.read_journal(3, 2, reused).is_ok());
  same(reused, {all[2], all[3]});
  REQUIRE(st.read_journal(2, 1000, reused).is_ok());
  same(reused, std::vector<journal_entry>(all.begin() + 1, all.end()));
  REQUIRE(st.read_journal(all.back().seq + 1, 10, reused).is_ok());
  CHECK(reused.empty());
}

TEST_CASE("scan_state paging with one vector holds exactly each page's rows") {
  engine_harness h;
  some_activity(h);
  const store& st = h.eng().storage();
  std::vector<std::pair<std::string, std::string>> all;
  REQUIRE(st.scan_state("", "", 100'000, all).is_ok());
  REQUIRE(all.size() > 6);
  // Pages of three, into a vector that first held every row.
  std::vector<std::pair<std::string, std::string>> page = all, paged;
  std::string after;
  for (;;) {
    REQUIRE(st.scan_state("", after, 3, page).is_ok());
    CHECK(page.size() <= 3);
    if (page.empty()) break;
    paged.insert(paged.end(), page.begin(), page.end());
    after = page.back().first;
  }
  CHECK(paged == all);
  // A prefix with fewer rows than the vector holds cuts it to them.
  page = all;
  REQUIRE(st.scan_state("w", "", 100, page).is_ok());
  REQUIRE(!page.empty());
  for (const auto& [k, v] : page) CHECK(k[0] == 'w');
}

TEST_CASE("read_event returns each event of a multi-event batch exactly") {
  engine_harness h;
  some_activity(h);
  std::vector<journal_entry> all;
  REQUIRE(h.eng().storage().read_journal(1, 1000, all).is_ok());
  REQUIRE(all.size() > 3);
  for (const auto& e : all) {
    journal_entry one;
    REQUIRE(h.eng().storage().read_event(e.seq, one).is_ok());
    CHECK(one.seq == e.seq);
    CHECK(one.event_bytes == e.event_bytes);
    CHECK(one.chain == e.chain);
  }
  journal_entry none;
  CHECK(h.eng().storage().read_event(all.back().seq + 1, none).error_code() == status::code::not_found);
}

TEST_CASE("arena_map tells deleted from never written, and forgets everything on clear") {
  arena_map m;
  bool created = false;
  // Inserts `key` and says whether it was new, as the checks below read it.
  auto insert = [&](const std::string& key) {
    auto [r, fresh] = m.insert(key);
    created = fresh;
    return r;
  };
  for (int i = 0; i < 1000; ++i) m.set(*insert("k" + std::to_string(i)), std::string(i % 40, 'v'));
  CHECK(created);
  CHECK(m.records() == 1000);
  CHECK(m.live() == 1000);
  // A rewrite, longer and shorter, keeps one record.
  m.set(*insert("k7"), std::string(100, 'x'));
  CHECK(!created);
  CHECK(m.find("k7")->value_view() == std::string(100, 'x'));
  m.set(*insert("k7"), "y");
  CHECK(m.find("k7")->value_view() == "y");
  // A delete of a present key and of an absent one both leave a dead record.
  m.kill(*insert("k8"));
  m.kill(*insert("never"));
  CHECK(created);
  REQUIRE(m.find("k8") != nullptr);
  CHECK(!m.find("k8")->live);
  CHECK(!m.find("never")->live);
  CHECK(m.find("other") == nullptr);
  CHECK(m.live() == 999);
  CHECK(m.records() == 1001);
  m.clear();
  CHECK(m.empty());
  CHECK(m.live() == 0);
  for (int i = 0; i < 1000; ++i) CHECK(m.find("k" + std::to_string(i)) == nullptr);
  // Reused after clear.
  m.set(*insert("k1"), "again");
  CHECK(created);
  CHECK(m.find("k1")->value_view() == "again");
  CHECK(m.find("k2") == nullptr);
}

// A store whose writer kv the test drives by hand: the engine is stopped
// after its basics are set up, and batches of state writes alone keep the head.
struct hand_driven_store {
  engine_harness h;
  store* st = nullptr;
  state_kv* kv = nullptr;
  ledger_head head;
  hand_driven_store() {
    h.setup_basics();
    st = &h.eng().storage();
    h.eng().stop();
    kv = &st->writer_kv();
    head = st->head();
  }
};

TEST_CASE("the writer's kv reads its own puts and deletes through seal, commit and the next batches") {
  hand_driven_store d;
  store& st = *d.st;
  state_kv& kv = *d.kv;
  auto next = [&] { return d.head; };
  kv.put("zz-a", "1");
  kv.put("zz-b", "2");
  st.seal(next());
  // The sealed batch is read through while it is not yet committed.
  CHECK(kv.get("zz-a") == "1");
  kv.del("zz-a");
  kv.put("zz-c", "3");
  CHECK(kv.get("zz-a") == std::nullopt);  // deleted in this batch, though sealed and stored as "1"
  REQUIRE(st.commit_sealed().is_ok());
  st.drop_sealed();
  CHECK(kv.get("zz-a") == std::nullopt);
  CHECK(kv.get("zz-b") == "2");
  st.seal(next());  // the recycled batch: nothing of the first batch's overlay may linger
  REQUIRE(st.commit_sealed().is_ok());
  st.drop_sealed();
  st.publish();  // the engine gates reads on release; these batches are released by hand
  std::string v;
  CHECK(st.read_state("zz-a", v).error_code() == status::code::not_found);
  REQUIRE(st.read_state("zz-b", v).is_ok());
  CHECK(v == "2");
  REQUIRE(st.read_state("zz-c", v).is_ok());
  CHECK(v == "3");
  kv.put("zz-b", "22");
  st.discard();
  CHECK(kv.get("zz-b") == "2");  // a discarded batch's writes are gone
}

TEST_CASE("the writer's prefetched reads never outlive the batch they were read for") {
  hand_driven_store d;
  store& st = *d.st;
  state_kv& kv = *d.kv;
  const auto head = d.head;
  auto commit = [&] {
    st.seal(head);
    REQUIRE(st.commit_sealed().is_ok());
    st.drop_sealed();
  };
  kv.put("zz-p", "1");
  commit();

  std::vector<std::string> keys{"zz-p", "zz-none", "zz-p"};
  st.prefetch_state(keys);
  CHECK(keys == std::vector<std::string>{"zz-none", "zz-p"});  // sorted, once each
  CHECK(kv.get("zz-p") == "1");
  CHECK(kv.get("zz-none") == std::nullopt);
  kv.del("zz-p");
  CHECK(kv.get("zz-p") == std::nullopt);  // this batch's delete answers before the read-ahead
  kv.put("zz-p", "5");
  commit();  // the read-ahead "1" must go with its batch
  CHECK(kv.get("zz-p") == "5");

  // A key the sealed, not yet committed batch writes is not read ahead:
  // the store may not hold it yet, and the sealed overlay goes with the commit.
  kv.put("zz-q", "2");
  st.seal(head);
  keys = {"zz-q"};
  st.prefetch_state(keys);
  CHECK(keys.empty());
  REQUIRE(st.commit_sealed().is_ok());
  st.drop_sealed();
  CHECK(kv.get("zz-q") == "2");
  st.discard();
}
