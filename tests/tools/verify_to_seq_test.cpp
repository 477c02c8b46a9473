// run_verify bounded by a seq (what GET /v1/audit/verify?seq=N runs over the
// store ledgerd has open): it checks seq 1..N only, ends at N's chain hash,
// compares only the checkpoints up to N, and names the first tampered seq
// when N reaches it; audit_reads_adapter turns that finding into the
// route's bad_seq and problem.
#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include "schemas/codec.h"
#include "tests/support/ledger_traffic.h"
#include "tests/support/temp_dir.h"
#include "tools/audit/commands.h"
#include "tools/audit_reads_adapter.h"

namespace {

using namespace ledger;
using namespace ledger::audit;

struct verify_ledger {
  testing::temp_dir dir{"verify-to-seq-test"};
  testing::manual_clock clk;
  std::unique_ptr<engine> eng;

  verify_ledger() {
    engine_options o;
    o.store.path = (dir.path() / "ledger").string();
    o.store.sync = false;  // durability is not under test here
    o.clk = &clk;
    REQUIRE(engine::open(o, eng).is_ok());
  }
  status verify(std::optional<std::uint64_t> to_seq, verify_report& r) {
    std::unique_ptr<source> src;
    if (auto s = open_data_dir(dir.str(), src); !s) return s;
    verify_options o;
    o.progress_bar = false;
    o.to_seq = to_seq;
    return run_verify(*src, o, r);
  }
};

// Flips one byte of event `at_least`'s or a later event's bytes (keeping its
// stored chain hash), in a journal record that is not the last; its seq.
std::uint64_t tamper(const std::string& path, std::uint64_t at_least) {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"state", {}}, {"journal", {}}};
  REQUIRE(rocksdb::DB::Open(rocksdb::Options(), path, cfs, &handles, &db).ok());
  std::vector<std::pair<std::string, std::string>> records;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[2]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) records.emplace_back(it->key().ToString(), it->value().ToString());
  it.reset();
  std::uint64_t tampered = 0;
  for (std::size_t i = 0; i + 1 < records.size() && !tampered; ++i) {
    std::vector<journal_entry> entries;
    REQUIRE(decode_journal_batch(records[i].second, entries).is_ok());
    for (auto& e : entries) {
      if (e.seq < at_least) continue;
      e.event_bytes[e.event_bytes.size() / 2] ^= 0x01;
      tampered = e.seq;
      REQUIRE(db->Put(rocksdb::WriteOptions(), handles[2], records[i].first,
                      encode_journal_batch(entries.front().seq, entries)).ok());
      break;
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  return tampered;
}

}  // namespace

TEST_CASE("verify up to a seq checks only that far, with the checkpoints up to it") {
  verify_ledger l;
  testing::ledger_traffic traffic(*l.eng, l.clk, 7);
  traffic.setup(5, 1'000'000);
  traffic.mixed(5, 20, 1'000'000);
  checkpoint first;
  REQUIRE(l.eng->checkpoint(first).is_ok());
  traffic.mixed(5, 20, 1'000'000);
  const auto head = l.eng->head();
  REQUIRE(head.seq > first.seq);

  verify_report r;
  auto s = l.verify(first.seq, r);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(r.head.seq == first.seq);
  CHECK(r.head.chain == first.chain);
  CHECK(r.events == first.seq);
  CHECK(r.checkpoints_checked == 1);

  s = l.verify(first.seq - 1, r);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(r.head.seq == first.seq - 1);
  CHECK(r.checkpoints_checked == 0);

  s = l.verify(head.seq + 100, r);  // past the head: up to the head
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(r.head.seq == head.seq);
  CHECK(r.head.chain == head.chain);
}

TEST_CASE("verify up to a seq finds a tampered event only when the bound reaches it, and names its seq") {
  verify_ledger l;
  {
    testing::ledger_traffic traffic(*l.eng, l.clk, 11);
    traffic.setup(5, 1'000'000);
    traffic.mixed(10, 20, 1'000'000);
  }
  const auto head = l.eng->head().seq;
  l.eng.reset();  // closed: the tamperer has the disk to itself
  auto bad = tamper((l.dir.path() / "ledger").string(), head / 2);
  REQUIRE(bad > 1);
  REQUIRE(bad < head);

  verify_report r;
  auto s = l.verify(bad - 1, r);
  CHECK_MESSAGE(s.is_ok(), s.to_string());
  CHECK(r.head.seq == bad - 1);

  s = l.verify(head, r);
  REQUIRE(s.error_code() == status::code::corruption);
  CHECK(s.message().rfind("seq " + std::to_string(bad) + ": ", 0) == 0);

  api::audit_verify_result found;
  REQUIRE(audit_reads_adapter::to_result(s, r, found).is_ok());
  CHECK_FALSE(found.verified);
  CHECK(found.bad_seq == bad);
  CHECK(s.message() == "seq " + std::to_string(bad) + ": " + found.problem);

  // An operating error stays an error; a success is a finding with the head.
  CHECK_FALSE(audit_reads_adapter::to_result(status::io_error("disk"), r, found).is_ok());
  verify_report ok;
  ok.events = 3;
  ok.head.seq = 3;
  REQUIRE(audit_reads_adapter::to_result(status::ok(), ok, found).is_ok());
  CHECK(found.verified);
  CHECK(found.last_seq == 3);
  CHECK(found.head_hash == to_hex(ok.head.chain));
}
