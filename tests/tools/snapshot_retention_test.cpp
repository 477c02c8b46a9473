// Snapshot retention that thins with age (engine_options::
// snapshot_keep_every_events): the rule alone, and a real engine writing a
// long journal whose middle `audit state` then folds from a snapshot at a
// bounded distance.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/support/ledger_traffic.h"
#include "tests/support/temp_dir.h"
#include "tools/audit/commands.h"

namespace {

using namespace ledger;
using namespace ledger::audit;

TEST_CASE("snapshots_to_remove keeps the newest ones and the oldest of each stride") {
  const std::vector<std::uint64_t> seqs{100, 210, 330, 480, 520, 600, 1010, 1100, 1200};
  CHECK(snapshots_to_remove(seqs, 2, 500) == std::vector<std::uint64_t>{210, 330, 480, 600});
  // Without thinning, the old rule: only the newest `retained_max` stay.
  CHECK(snapshots_to_remove(seqs, 2, 0) == std::vector<std::uint64_t>{100, 210, 330, 480, 520, 600, 1010});
  CHECK(snapshots_to_remove(seqs, 0, 500).empty());  // 0: all stay
  CHECK(snapshots_to_remove(seqs, 9, 0).empty());
  CHECK(snapshots_to_remove({}, 2, 500).empty());
}

// Waits (bounded) until the snapshotter has written `n` snapshots.
void wait_snapshots(const engine& e, std::uint64_t n) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (e.stats().snapshots + e.stats().snapshot_failures < n) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "the snapshotter did not write snapshot " << n);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(e.stats().snapshot_failures == 0);
}

TEST_CASE("a point in the middle of a long journal folds from a kept snapshot at a bounded distance") {
  constexpr std::uint64_t every = 100, keep_every = 500, group = 40;
  constexpr std::size_t retain = 3;
  testing::temp_dir dir("snapshot-retention-test");
  testing::manual_clock clk;
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.store.sync = false;
  o.clk = &clk;
  o.snapshot_every_events = every;
  o.snapshots_retained_max = retain;
  o.snapshot_keep_every_events = keep_every;
  o.snapshot_dir = (dir.path() / "snapshots").string();
  std::unique_ptr<engine> eng;
  REQUIRE(engine::open(o, eng).is_ok());
  testing::ledger_traffic traffic(*eng, clk, 11);
  traffic.setup(8, 10'000'000);
  // One group at a time, each waiting for the snapshot it triggered, so every
  // multiple of `every` gets its snapshot (requests do not merge).
  std::vector<std::uint64_t> taken;
  std::uint64_t next_multiple = every;
  while (eng->head().seq < 4000) {
    traffic.mixed(1, group, 1'000);
    if (eng->head().seq < next_multiple) continue;
    next_multiple = (eng->head().seq / every + 1) * every;
    taken.push_back(eng->head().seq);
    wait_snapshots(*eng, taken.size());
  }
  const std::uint64_t head = eng->head().seq;
  eng->stop();
  eng.reset();

  std::unique_ptr<source> src;
  REQUIRE(open_data_dir(dir.str(), src).is_ok());
  std::vector<std::uint64_t> kept;
  for (const auto& [seq, _] : src->snapshots()) kept.push_back(seq);
  INFO("taken " << taken.size() << ", kept " << kept.size() << ", head " << head);
  REQUIRE(taken.size() >= 30);
  // The newest `retain` are all there; the rest thinned to about one per stride.
  for (std::size_t i = taken.size() - retain; i < taken.size(); ++i)
    CHECK(std::find(kept.begin(), kept.end(), taken[i]) != kept.end());
  CHECK(kept.size() <= retain + head / keep_every + 1);
  CHECK(kept.size() < taken.size() / 2);
  // Every point after the first snapshot has a kept one within the bound.
  const std::uint64_t bound = keep_every + every + 2 * group;
  for (std::uint64_t p = kept.front(); p <= head; ++p) {
    auto it = std::upper_bound(kept.begin(), kept.end(), p);
    REQUIRE(p - *std::prev(it) <= bound);
  }

  state_options so;
  so.bound.seq_max = head / 2;
  so.progress_bar = false;
  state_report r, scratch;
  REQUIRE(run_state(*src, so, r).is_ok());
  CHECK(r.head.seq == head / 2);
  CHECK(r.snapshot_seq != 0);
  CHECK(r.events_folded <= bound);
  CHECK(r.snapshot_seq + r.events_folded == head / 2);
  so.use_snapshots = false;
  REQUIRE(run_state(*src, so, scratch).is_ok());
  CHECK(scratch.events_folded == head / 2);
  CHECK(r.summary.digest == scratch.summary.digest);
}

}  // namespace
