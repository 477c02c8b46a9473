// ledgerd backup and restore: a backup taken while a real engine commits
// (the ledgerd executable reads beside it through a RocksDB follower),
// restored into a new data directory, must hold exactly the state of one
// batch boundary: the manifest's seq and chain, the digest of a rebuild of
// the original journal to that seq, every chain link. Damage to a backup is
// refused by restore, and retention keeps the newest --keep.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <simdjson.h>

#include "engine/rebuild.h"
#include "tests/support/ledger_traffic.h"
#include "tests/support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace ledger;

struct run_result {
  int exit_code = -1;
  std::string out;
};

// Runs ledgerd with `args`, capturing stdout (stderr passes through).
run_result ledgerd(const std::string& args) {
  std::string cmd = std::string(LEDGERD_PATH) + " " + args;
  run_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct manifest_view {
  std::uint64_t seq = 0;
  std::string chain, digest, dir;
};

manifest_view parse_report(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  REQUIRE_MESSAGE(parser.parse(line).get(o) == simdjson::SUCCESS, line);
  manifest_view m;
  std::string_view chain, digest, dir;
  REQUIRE(o["seq"].get(m.seq) == simdjson::SUCCESS);
  REQUIRE(o["chain"].get(chain) == simdjson::SUCCESS);
  REQUIRE(o["state_digest"].get(digest) == simdjson::SUCCESS);
  REQUIRE(o["backup"].get(dir) == simdjson::SUCCESS);
  m.chain.assign(chain);
  m.digest.assign(digest);
  m.dir.assign(dir);
  return m;
}

struct live_ledger {
  testing::temp_dir dir{"ledger-backup"};
  testing::manual_clock clk;
  std::unique_ptr<engine> eng;
  std::unique_ptr<testing::ledger_traffic> traffic;

  live_ledger() {
    fs::create_directories(dir.path() / "data");
    engine_options o;
    o.store.path = (dir.path() / "data" / "ledger").string();
    o.store.write_buffer_bytes = 1u << 20;  // small: memtable flushes happen during the test
    o.clk = &clk;
    auto s = engine::open(o, eng);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    traffic = std::make_unique<testing::ledger_traffic>(*eng, clk, 7);
    traffic->setup(200, 1'000'000);
  }
  std::string data_dir() const { return (dir.path() / "data").string(); }
};

}  // namespace

TEST_CASE("a backup taken under load restores to exactly one batch boundary") {
  live_ledger l;
  std::atomic<bool> stop{false};
  std::thread load([&] {
    while (!stop) l.traffic->mixed(1, 64, 1000);
  });
  std::string backups = (l.dir.path() / "backups").string();
  // Two backups while commands are committed; the second is further on.
  auto first = ledgerd("backup --data-dir " + l.data_dir() + " --to " + backups);
  auto second = ledgerd("backup --data-dir " + l.data_dir() + " --to " + backups);
  stop = true;
  load.join();
  REQUIRE(first.exit_code == 0);
  REQUIRE(second.exit_code == 0);
  auto m1 = parse_report(first.out);
  auto m2 = parse_report(second.out);
  CHECK(m1.seq > 0);
  CHECK(m2.seq >= m1.seq);

  // The backup's state is the original journal's state at its seq.
  rebuilt_state at;
  rebuild_bound bound;
  bound.seq_max = m1.seq;
  REQUIRE(rebuild(l.eng->storage(), bound, at).is_ok());
  CHECK(at.head.seq == m1.seq);
  CHECK(to_hex(at.head.chain) == m1.chain);
  CHECK(to_hex(at.digest) == m1.digest);

  std::string restored = (l.dir.path() / "restored").string();
  auto r = ledgerd("restore --from " + m1.dir + " --data-dir " + restored);
  REQUIRE(r.exit_code == 0);
  std::unique_ptr<store> st;
  REQUIRE(store::open_read_only((fs::path(restored) / "ledger").string(), st).is_ok());
  rebuilt_state back;
  REQUIRE(rebuild(*st, {}, back).is_ok());  // every chain link again
  CHECK(back.head.seq == m1.seq);
  CHECK(to_hex(back.digest) == m1.digest);
  checkpoint cp;
  REQUIRE(st->state_digest(cp).is_ok());
  CHECK(to_hex(cp.state_digest) == m1.digest);

  // Restoring over a ledger is refused.
  CHECK(ledgerd("restore --from " + m1.dir + " --data-dir " + restored).exit_code != 0);
  // --from a directory of backups takes the newest.
  std::string newest = (l.dir.path() / "newest").string();
  REQUIRE(ledgerd("restore --quick --from " + backups + " --data-dir " + newest).exit_code == 0);
  std::unique_ptr<store> st2;
  REQUIRE(store::open_read_only((fs::path(newest) / "ledger").string(), st2).is_ok());
  CHECK(st2->head().seq == m2.seq);
}

TEST_CASE("restore refuses a backup that differs from its manifest, and retention keeps the newest") {
  live_ledger l;
  std::string backups = (l.dir.path() / "backups").string();
  std::vector<manifest_view> taken;
  for (int i = 0; i < 3; ++i) {
    l.traffic->mixed(2, 32, 1000);
    auto b = ledgerd("backup --keep 2 --data-dir " + l.data_dir() + " --to " + backups);
    REQUIRE(b.exit_code == 0);
    taken.push_back(parse_report(b.out));
  }
  int kept = 0;
  for (const auto& e : fs::directory_iterator(backups)) kept += e.path().filename().string().rfind("seq-", 0) == 0;
  CHECK(kept == 2);
  CHECK_FALSE(fs::exists(taken[0].dir));
  CHECK(fs::exists(taken[2].dir));

  // A manifest naming another state: refused, nothing restored.
  auto manifest = fs::path(taken[2].dir) / "manifest.json";
  std::ifstream in(manifest);
  std::string json((std::istreambuf_iterator<char>(in)), {});
  in.close();
  auto pos = json.find(taken[2].digest);
  REQUIRE(pos != std::string::npos);
  json[pos] = json[pos] == '0' ? '1' : '0';
  std::ofstream(manifest) << json;
  std::string target = (l.dir.path() / "bad").string();
  CHECK(ledgerd("restore --quick --from " + taken[2].dir + " --data-dir " + target).exit_code != 0);
  CHECK_FALSE(fs::exists(fs::path(target) / "ledger"));
  // Missing arguments are configuration errors.
  CHECK(ledgerd("backup --data-dir " + l.data_dir()).exit_code == 2);
  CHECK(ledgerd("restore --data-dir " + target).exit_code == 2);
}
