// Read-model projection into PostgreSQL.
//   1. throughput: a journal of --events transfers is projected from scratch
//      (COPY + upserts, one PostgreSQL transaction per batch); prints events/s.
//   2. lag: the engine takes a steady --rate commands/s for --duration-s while
//      the projector follows on its own thread; prints the lag sampled every
//      50 ms (events and seconds of log time), p50/p99/max.
// PostgreSQL is a private server started here, fsync and synchronous_commit
// on, sharing the machine's cores with the engine and the load.
//
// usage: projection_bench [--events N] [--rate R] [--duration-s S] [--wallets W]
#include <algorithm>
#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "projections/projector.h"
#include "tests/support/pg_instance.h"
#include "tests/support/temp_dir.h"
#include "tools/system_clock.h"

using namespace ledger;

namespace {

std::vector<outcome> run_sync(engine& e, std::vector<command> cmds) {
  std::promise<std::vector<outcome>> p;
  auto f = p.get_future();
  while (e.submit(cmds, [&p](std::vector<outcome>&& o) { p.set_value(std::move(o)); }) != append_result::ok)
    std::this_thread::yield();
  return f.get();
}


std::vector<command> transfers(std::uint64_t& key, std::size_t n, std::uint64_t first_wallet, std::uint64_t wallets,
                               std::mt19937_64& rng) {
  std::vector<command> out;
  std::uniform_int_distribution<std::uint64_t> pick(0, wallets - 1);
  for (std::size_t i = 0; i < n; ++i) {
    auto a = pick(rng), b = pick(rng);
    if (a == b) b = (b + 1) % wallets;
    out.push_back(command{"bench", "t" + std::to_string(key++), "",
                          transfer_cmd{first_wallet + a, first_wallet + b, "USD", 1 + amount_t(i % 500), 0, "", ""}});
  }
  return out;
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 300'000, wallets = 10'000;
  double rate = 20'000, duration_s = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--events") events = std::stoull(v);
    else if (f == "--rate") rate = std::stod(v);
    else if (f == "--duration-s") duration_s = std::stod(v);
    else if (f == "--wallets") wallets = std::stoull(v);
    else {
      std::fprintf(stderr, "usage: projection_bench [--events N] [--rate R] [--duration-s S] [--wallets W]\n");
      return 2;
    }
  }
  system_clock_source clk;
  testing::temp_dir dir("ledger-proj-bench");
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.clk = &clk;
  std::unique_ptr<engine> e;
  if (auto s = engine::open(o, e); !s) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return 1;
  }
  testing::pg_instance pg;
  std::string conninfo = pg.connection_string();

  // Setup: asset, clearing account, funded wallets.
  run_sync(*e, {command{"bench", "asset", "", register_asset_cmd{"USD", 2, 1, amount_limit}},
                command{"bench", "clearing", "", open_account_cmd{account_kind::system, "clearing:bank", {}}}});
  std::uint64_t first = 3;
  for (std::uint64_t i = 0; i < wallets; i += 4000) {
    std::vector<command> c;
    for (std::uint64_t j = i; j < std::min(wallets, i + 4000); ++j)
      c.push_back(command{"bench", "o" + std::to_string(j), "", open_account_cmd{account_kind::user, "u" + std::to_string(j), {{"USD", 0, 0}}}});
    run_sync(*e, std::move(c));
    c.clear();
    for (std::uint64_t j = i; j < std::min(wallets, i + 4000); ++j)
      c.push_back(command{"bench", "d" + std::to_string(j), "", deposit_cmd{first + j, "USD", 1'000'000'000, "bank", "", ""}});
    run_sync(*e, std::move(c));
  }
  std::mt19937_64 rng(11);
  std::uint64_t key = 0;
  for (std::uint64_t done = 0; done < events; done += 4000)
    run_sync(*e, transfers(key, std::min<std::uint64_t>(4000, events - done), first, wallets, rng));
  auto head = e->head();

  projections::projector_options po;
  po.conninfo = conninfo;
  projections::projector p(projections::engine_journal(*e), po);
  auto t0 = clk.monotonic_ns();
  if (auto s = p.catch_up(); !s) {
    std::fprintf(stderr, "projection failed: %s\n", s.to_string().c_str());
    return 1;
  }
  double secs = double(clk.monotonic_ns() - t0) / 1e9;
  std::printf("projection_bench: %llu events (transfers, deposits, opens) over %llu wallets\n",
              static_cast<unsigned long long>(head.seq), static_cast<unsigned long long>(wallets));
  std::printf("throughput events=%llu seconds=%.2f events_per_s=%.0f batches=%llu\n", static_cast<unsigned long long>(head.seq),
              secs, double(head.seq) / secs, static_cast<unsigned long long>(p.stats().batches));
  auto phases = p.stats();
  std::printf("phases build_s=%.2f write_s=%.2f commit_s=%.2f\n", double(phases.build_ns) / 1e9,
              double(phases.write_ns) / 1e9, double(phases.commit_ns) / 1e9);
  std::fflush(stdout);

  // Lag under steady load.
  p.start();
  std::vector<double> lag_events, lag_seconds;
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      auto h = e->head();
      auto st = p.stats();
      std::uint64_t lag = h.seq > st.projected_seq ? h.seq - st.projected_seq : 0;
      lag_events.push_back(double(lag));
      lag_seconds.push_back(lag == 0 ? 0.0 : double(h.log_ts_us - st.projected_log_ts_us) / 1e6);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // Submit in 10 ms ticks of rate/100 commands.
  std::size_t per_tick = std::max<std::size_t>(1, static_cast<std::size_t>(rate / 100));
  auto start = clk.monotonic_ns();
  std::uint64_t submitted = 0;
  std::vector<std::future<void>> pending;
  for (int tick = 0; tick < int(duration_s * 100); ++tick) {
    auto cmds = transfers(key, per_tick, first, wallets, rng);
    submitted += cmds.size();
    while (e->submit(std::move(cmds), [](std::vector<outcome>&&) {}) != append_result::ok) std::this_thread::yield();
    auto next = start + std::int64_t(tick + 1) * 10'000'000;
    while (clk.monotonic_ns() < next) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  double load_secs = double(clk.monotonic_ns() - start) / 1e9;
  e->wait_for_seq(e->head().seq, 10'000);
  bool caught_up = p.wait_for(e->head().seq, 30'000);
  sampling = false;
  sampler.join();
  p.stop();
  std::printf("lag commands=%llu offered_per_s=%.0f achieved_per_s=%.0f lag_events_p50=%.0f p99=%.0f max=%.0f "
              "lag_seconds_p50=%.3f p99=%.3f max=%.3f caught_up=%s\n",
              static_cast<unsigned long long>(submitted), rate, double(submitted) / load_secs, pct(lag_events, 0.5),
              pct(lag_events, 0.99), pct(lag_events, 1.0), pct(lag_seconds, 0.5), pct(lag_seconds, 0.99),
              pct(lag_seconds, 1.0), caught_up ? "yes" : "no");
  e->stop();
  return 0;
}
