// Durable apply throughput of the engine, beside the usual alternative.
//
// Workloads (transfers between wallets, WAL synced once per engine batch):
//   uniform: random pairs over --wallets wallets (default 1,000,000)
//   hot:     random pairs over 10 wallets (every transfer contends)
// Prints transfers/s, p50/p99 batch commit latency, mean batch size, and the
// resident memory per account; then runs the PostgreSQL row-lock baseline
// (16 clients, one transaction per transfer) on a private server started
// here, and prints the ratio. Commands are generated before timing starts,
// so the figure is the engine's, not the generator's.
//
// usage: engine_bench [--wallets N] [--transfers N] [--pg-duration-s S] [--skip-pg] [--no-sync] [--write-buffer-mib N]
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <string>

#include "bench/pg_baseline.h"
#include "engine/engine.h"
#include "tests/support/pg_instance.h"
#include "tests/support/temp_dir.h"
#include "tools/system_clock.h"

using namespace ledger;

namespace {

struct args {
  std::uint64_t wallets = 1'000'000;
  std::uint64_t transfers = 2'000'000;
  double pg_duration_s = 10;
  bool skip_pg = false;
  bool no_sync = false;  // experiment only: shows what the fsync costs
  std::size_t write_buffer_mib = 0;  // 0: the store's default (store_options::write_buffer_bytes)
};

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

double seconds_since(std::int64_t t0_ns, system_clock_source& clk) { return double(clk.monotonic_ns() - t0_ns) / 1e9; }

// Submits all commands in chunks, keeping up to `depth` chunks in flight, and
// waits for every outcome. Returns accepted count.
std::uint64_t drive(engine& e, std::vector<std::vector<command>>& chunks, int depth) {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::atomic<std::uint64_t> accepted{0};
  for (auto& chunk : chunks) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < depth; });
      ++in_flight;
    }
    auto done = [&](std::vector<outcome>&& outs) {
      std::uint64_t ok = 0;
      for (auto& o : outs) ok += o.accepted();
      accepted += ok;
      std::lock_guard lock(mu);
      --in_flight;
      cv.notify_one();
    };
    while (e.submit(std::move(chunk), done) != append_result::ok) std::this_thread::yield();
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  return accepted.load();
}

std::vector<std::vector<command>> chunked(std::vector<command>&& all, std::size_t chunk) {
  std::vector<std::vector<command>> out;
  for (std::size_t i = 0; i < all.size(); i += chunk) {
    out.emplace_back(std::make_move_iterator(all.begin() + long(i)),
                     std::make_move_iterator(all.begin() + long(std::min(all.size(), i + chunk))));
  }
  return out;
}

struct phase_stats {
  double p50_ms = 0, p99_ms = 0, mean_batch = 0;
};

phase_stats stats_since(const engine_stats& before, const engine_stats& after) {
  // The recent-sample rings only grow until full; take the samples added.
  std::vector<std::uint32_t> lat(after.commit_us_recent.begin() + long(std::min(before.commit_us_recent.size(), after.commit_us_recent.size())),
                                 after.commit_us_recent.end());
  phase_stats s;
  if (lat.empty()) return s;
  std::sort(lat.begin(), lat.end());
  s.p50_ms = lat[lat.size() / 2] / 1000.0;
  s.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)] / 1000.0;
  s.mean_batch = double(after.commands - before.commands) / double(std::max<std::uint64_t>(1, after.batches - before.batches));
  return s;
}

double run_transfers(engine& e, system_clock_source& clk, const std::vector<std::uint64_t>& ids, std::uint64_t pool,
                     std::uint64_t n, const char* name, std::uint64_t& key_base) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> pick(0, pool - 1);
  std::vector<command> all;
  all.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    auto a = pick(rng), b = pick(rng);
    if (a == b) b = (b + 1) % pool;
    all.push_back(command{"bench", "t" + std::to_string(key_base++), "",
                          transfer_cmd{ids[a], ids[b], "USD", 1 + amount_t(i % 1000), 0, "", ""}});
  }
  auto chunks = chunked(std::move(all), 512);
  auto before = e.stats();
  auto t0 = clk.monotonic_ns();
  auto accepted = drive(e, chunks, 64);
  double secs = seconds_since(t0, clk);
  auto s = stats_since(before, e.stats());
  double tps = double(n) / secs;
  std::printf("%-8s transfers=%llu accepted=%llu seconds=%.2f transfers_per_s=%.0f commit_p50_ms=%.2f commit_p99_ms=%.2f mean_batch=%.0f\n",
              name, (unsigned long long)n, (unsigned long long)accepted, secs, tps, s.p50_ms, s.p99_ms, s.mean_batch);
  std::fflush(stdout);
  return tps;
}

}  // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", f.c_str());
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (f == "--wallets") a.wallets = std::stoull(next());
    else if (f == "--transfers") a.transfers = std::stoull(next());
    else if (f == "--pg-duration-s") a.pg_duration_s = std::stod(next());
    else if (f == "--skip-pg") a.skip_pg = true;
    else if (f == "--no-sync") a.no_sync = true;
    else if (f == "--write-buffer-mib") a.write_buffer_mib = std::stoull(next());
    else {
      std::fprintf(stderr, "usage: engine_bench [--wallets N] [--transfers N] [--pg-duration-s S] [--skip-pg] [--no-sync] [--write-buffer-mib N]\n");
      return 2;
    }
  }
  if (a.wallets < 10) a.wallets = 10;

  system_clock_source clk;
  testing::temp_dir dir("ledger-bench");
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.clk = &clk;
  o.queue_commands_max = 1u << 17;
  o.store.sync = !a.no_sync;
  if (a.write_buffer_mib) o.store.write_buffer_bytes = a.write_buffer_mib << 20;
  std::unique_ptr<engine> e;
  if (auto s = engine::open(o, e); !s) {
    std::fprintf(stderr, "engine open failed: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("engine_bench: %llu wallets, %llu transfers per workload, WAL synced per batch, data in %s\n",
              (unsigned long long)a.wallets, (unsigned long long)a.transfers, dir.str().c_str());

  long rss_before = rss_kib();
  std::uint64_t key = 0;
  {
    std::vector<command> setup;
    setup.push_back(command{"bench", "asset", "", register_asset_cmd{"USD", 2, 1, amount_limit}});
    setup.push_back(command{"bench", "clearing", "", open_account_cmd{account_kind::system, "clearing:bank", {}}});
    auto c = chunked(std::move(setup), 2);
    drive(*e, c, 1);
  }
  // Open and fund the wallets (themselves a measured workload).
  std::vector<std::uint64_t> ids;
  ids.reserve(a.wallets);
  for (std::uint64_t i = 0; i < a.wallets; ++i) ids.push_back(i + 2);  // ids are dense after the clearing account
  {
    std::vector<command> opens;
    opens.reserve(a.wallets);
    for (std::uint64_t i = 0; i < a.wallets; ++i)
      opens.push_back(command{"bench", "o" + std::to_string(i), "", open_account_cmd{account_kind::user, "user" + std::to_string(i), {{"USD", 0, 0}}}});
    auto chunks = chunked(std::move(opens), 512);
    auto t0 = clk.monotonic_ns();
    auto ok = drive(*e, chunks, 64);
    std::printf("open     wallets=%llu accepted=%llu per_s=%.0f\n", (unsigned long long)a.wallets, (unsigned long long)ok,
                double(a.wallets) / seconds_since(t0, clk));
    std::vector<command> deposits;
    deposits.reserve(a.wallets);
    for (std::uint64_t i = 0; i < a.wallets; ++i)
      deposits.push_back(command{"bench", "d" + std::to_string(i), "", deposit_cmd{ids[i], "USD", 100'000'000, "bank", "", ""}});
    chunks = chunked(std::move(deposits), 512);
    t0 = clk.monotonic_ns();
    ok = drive(*e, chunks, 64);
    std::printf("deposit  count=%llu accepted=%llu per_s=%.0f\n", (unsigned long long)a.wallets, (unsigned long long)ok,
                double(a.wallets) / seconds_since(t0, clk));
  }
  long rss_after = rss_kib();
  std::printf("memory   rss_mib=%.0f bytes_per_account=%.0f (resident growth while opening and funding / accounts)\n",
              rss_after / 1024.0, double(rss_after - rss_before) * 1024.0 / double(a.wallets));

  double uniform = run_transfers(*e, clk, ids, a.wallets, a.transfers, "uniform", key);
  double hot = run_transfers(*e, clk, ids, 10, a.transfers, "hot", key);
  std::printf("hot/uniform ratio=%.2f\n", hot / uniform);
  e->stop();

  if (a.skip_pg) return 0;
  try {
    testing::pg_instance pg;
    for (bool is_hot : {false, true}) {
      bench::pg_baseline_options po;
      po.wallets = is_hot ? 10 : a.wallets;
      po.hot = is_hot;
      po.duration_s = a.pg_duration_s;
      auto r = bench::run_pg_row_lock_baseline(pg.connection_string(), po);
      double engine_tps = is_hot ? hot : uniform;
      std::printf("pg_rowlock_%s clients=16 transfers=%llu seconds=%.1f transfers_per_s=%.0f p50_ms=%.2f p99_ms=%.2f engine_over_pg=%.1fx\n",
                  is_hot ? "hot" : "uniform", (unsigned long long)r.transfers, r.seconds, r.transfers_per_s, r.p50_ms,
                  r.p99_ms, engine_tps / std::max(1.0, r.transfers_per_s));
      std::fflush(stdout);
    }
  } catch (const std::exception& ex) {
    std::printf("pg baseline failed: %s\n", ex.what());
    return 1;
  }
  return 0;
}
