// Read-model projection into PostgreSQL, baseline and candidate in one run.
//   baseline:  the schema before migration 0011 (audit_log_principal kept),
//              one writing connection, batches of 10,000 events;
//   candidate: every migration, --streams writing connections, --batch events.
//   1. throughput: a journal of --events transfers is projected from scratch
//      into a database of each (COPY + set-based merges); prints events/s.
//   2. lag: the engine takes a steady --rate commands/s for --duration-s while
//      the projector follows on its own thread; prints the lag sampled every
//      50 ms (events and seconds of log time), p50/p99/max. Once per
//      configuration, each projector caught up before its load starts.
// PostgreSQL is a private server started here, fsync and synchronous_commit
// on, sharing the machine's cores with the engine and the load. --trace logs
// every statement's duration and prints the server time per statement kind
// (which table bounds a configuration).
//
// usage: projection_bench [--events N] [--rate R] [--duration-s S] [--wallets W]
//                         [--streams 1|2] [--batch N] [--trace 0|1] [--baseline 0|1]
#include <algorithm>
#include <fstream>
#include <map>
#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <thread>

#include <pqxx/pqxx>

#include "engine/engine.h"
#include "projections/migrations.h"
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

struct config {
  std::string label;
  std::string conninfo;
  std::size_t streams = 1, batch = 10'000;
  bool migrate = true;  // false: the baseline keeps the schema it was given
};

projections::projector_options options_of(const config& c) {
  projections::projector_options po;
  po.conninfo = c.conninfo;
  po.write_connections = c.streams;
  po.batch_events_max = c.batch;
  po.migrate_on_connect = c.migrate;
  return po;
}

// From-scratch projection of the whole journal; false on failure.
bool project_from_scratch(engine& e, const config& c) {
  system_clock_source clk;
  projections::projector p(projections::engine_journal(e), options_of(c));
  auto t0 = clk.monotonic_ns();
  if (auto s = p.catch_up(); !s) {
    std::fprintf(stderr, "projection failed: %s\n", s.to_string().c_str());
    return false;
  }
  double secs = double(clk.monotonic_ns() - t0) / 1e9;
  auto st = p.stats();
  std::printf("throughput %-9s streams=%zu batch=%zu events=%llu seconds=%.2f events_per_s=%.0f batches=%llu "
              "build_s=%.2f write_s=%.2f commit_s=%.2f\n",
              c.label.c_str(), c.streams, c.batch, static_cast<unsigned long long>(st.projected_seq), secs,
              double(st.projected_seq) / secs, static_cast<unsigned long long>(st.batches), double(st.build_ns) / 1e9,
              double(st.write_ns) / 1e9, double(st.commit_ns) / 1e9);
  std::fflush(stdout);
  return true;
}

// Server time per statement kind ("COPY postings", "UPDATE balances") in the
// server log from byte `from` on: log_min_duration_statement = 0 lines.
void print_statement_times(const std::string& log_path, std::streamoff from, const std::string& label) {
  std::ifstream in(log_path);
  in.seekg(from);
  std::map<std::string, std::pair<double, int>> by_kind;
  std::string l;
  while (std::getline(in, l)) {
    auto d = l.find("duration: ");
    auto st = l.find("statement: ");
    if (d == std::string::npos || st == std::string::npos) continue;
    double ms = std::atof(l.c_str() + d + 10);
    std::string text = l.substr(st + 11);
    // Kind: the first two words, or three when the second is INTO/FROM.
    std::size_t end = 0;
    for (int words = 0; words < 3 && end != std::string::npos; ++words) {
      end = text.find(' ', end + 1);
      if (words == 1 && text.compare(0, 6, "INSERT") != 0 && text.compare(0, 6, "DELETE") != 0) break;
    }
    auto& k = by_kind[text.substr(0, std::min(end, text.size()))];
    k.first += ms;
    k.second++;
  }
  std::vector<std::pair<double, std::string>> sorted;
  for (const auto& [kind, v] : by_kind) sorted.push_back({v.first, kind + " x" + std::to_string(v.second)});
  std::sort(sorted.rbegin(), sorted.rend());
  for (std::size_t i = 0; i < sorted.size() && i < 12; ++i)
    std::printf("server_time %-9s %8.2f s  %s\n", label.c_str(), sorted[i].first / 1000, sorted[i].second.c_str());
  std::fflush(stdout);
}

// The projector of `c`, caught up, follows a steady `rate` commands/s for
// `duration_s`; prints the lag sampled every 50 ms.
void measure_lag(engine& e, const config& c, double rate, double duration_s, std::uint64_t& key, std::uint64_t first,
                 std::uint64_t wallets, std::mt19937_64& rng) {
  system_clock_source clk;
  projections::projector p(projections::engine_journal(e), options_of(c));
  if (auto s = p.catch_up(); !s) {
    std::fprintf(stderr, "catching up failed: %s\n", s.to_string().c_str());
    return;
  }
  p.start();
  std::vector<double> lag_events, lag_seconds;
  std::atomic<bool> sampling{true};
  // The oldest unprojected event is no older than the load's start (the
  // engine's log time is this clock): the journal before it was projected,
  // possibly long ago, by catch_up.
  const std::int64_t load_start_ts_us = clk.now_us();
  std::thread sampler([&] {
    while (sampling) {
      auto h = e.head();
      auto st = p.stats();
      std::uint64_t lag = h.seq > st.projected_seq ? h.seq - st.projected_seq : 0;
      lag_events.push_back(double(lag));
      std::int64_t oldest_us = std::max(st.projected_log_ts_us, load_start_ts_us);
      lag_seconds.push_back(lag == 0 ? 0.0 : double(h.log_ts_us - oldest_us) / 1e6);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  // Submit in 10 ms ticks of rate/100 commands.
  std::size_t per_tick = std::max<std::size_t>(1, static_cast<std::size_t>(rate / 100));
  auto start = clk.monotonic_ns();
  std::uint64_t submitted = 0;
  for (int tick = 0; tick < int(duration_s * 100); ++tick) {
    auto cmds = transfers(key, per_tick, first, wallets, rng);
    submitted += cmds.size();
    for (;;) {
      auto r = e.submit(cmds, [](std::vector<outcome>&&) {});
      if (r == append_result::ok) break;
      if (r != append_result::full) {
        std::fprintf(stderr, "the engine refused commands (closed or too large): is the disk full?\n");
        p.stop();
        sampling = false;
        sampler.join();
        return;
      }
      std::this_thread::yield();
    }
    auto next = start + std::int64_t(tick + 1) * 10'000'000;
    while (clk.monotonic_ns() < next) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  double load_secs = double(clk.monotonic_ns() - start) / 1e9;
  e.wait_for_seq(e.head().seq, 10'000);
  bool caught_up = p.wait_for(e.head().seq, 60'000);
  sampling = false;
  sampler.join();
  p.stop();
  std::printf("lag %-9s streams=%zu batch=%zu commands=%llu offered_per_s=%.0f achieved_per_s=%.0f lag_events_p50=%.0f "
              "p99=%.0f max=%.0f lag_seconds_p50=%.3f p99=%.3f max=%.3f caught_up=%s\n",
              c.label.c_str(), c.streams, c.batch, static_cast<unsigned long long>(submitted), rate,
              double(submitted) / load_secs, pct(lag_events, 0.5), pct(lag_events, 0.99), pct(lag_events, 1.0),
              pct(lag_seconds, 0.5), pct(lag_seconds, 0.99), pct(lag_seconds, 1.0), caught_up ? "yes" : "no");
  std::fflush(stdout);
}

std::streamoff file_size(const std::string& path) {
  std::ifstream in(path, std::ios::ate);
  return in ? static_cast<std::streamoff>(in.tellg()) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 300'000, wallets = 10'000;
  double rate = 20'000, duration_s = 10;
  std::size_t streams = 2, batch = 10'000;
  bool trace = false, with_baseline = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--events") events = std::stoull(v);
    else if (f == "--rate") rate = std::stod(v);
    else if (f == "--duration-s") duration_s = std::stod(v);
    else if (f == "--wallets") wallets = std::stoull(v);
    else if (f == "--streams") streams = std::stoull(v);
    else if (f == "--batch") batch = std::stoull(v);
    else if (f == "--trace") trace = v == "1";
    else if (f == "--baseline") with_baseline = v == "1";
    else {
      std::fprintf(stderr, "usage: projection_bench [--events N] [--rate R] [--duration-s S] [--wallets W] "
                           "[--streams 1|2] [--batch N] [--trace 0|1] [--baseline 0|1]\n");
      return 2;
    }
  }
  if (streams < 1 || streams > 2 || batch == 0) {
    std::fprintf(stderr, "projection_bench: --streams must be 1 or 2 and --batch positive\n");
    return 2;
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
  testing::pg_instance_options pgo;
  if (trace) pgo.extra_conf_lines = {"log_min_duration_statement = 0"};
  testing::pg_instance pg(pgo);

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
  std::printf("projection_bench: %llu events (transfers, deposits, opens) over %llu wallets\n",
              static_cast<unsigned long long>(e->head().seq), static_cast<unsigned long long>(wallets));

  std::vector<config> configs;
  if (with_baseline) {
    config b{"baseline", pg.create_database("baseline"), 1, 10'000, false};
    // The schema before this change: up to 0010, so audit_log_principal is kept.
    pqxx::connection c(b.conninfo);
    projections::migrate_result mr;
    if (auto s = projections::migrate(c, "ledger", mr, 10); !s) {
      std::fprintf(stderr, "baseline migration failed: %s\n", s.to_string().c_str());
      return 1;
    }
    configs.push_back(b);
  }
  configs.push_back(config{"candidate", pg.create_database("candidate"), streams, batch});
  // Every configuration projects the same journal from scratch; then each
  // follows the load in turn, its database dropped after (the machine's
  // disk is shared).
  for (const auto& c : configs) {
    auto from = file_size(pg.log_path().string());
    if (!project_from_scratch(*e, c)) return 1;
    if (trace) print_statement_times(pg.log_path().string(), from, c.label);
  }
  for (const auto& c : configs) {
    measure_lag(*e, c, rate, duration_s, key, first, wallets, rng);
    pqxx::connection admin(pg.connection_string());
    pqxx::nontransaction drop(admin);
    drop.exec("DROP DATABASE " + c.label);
  }
  e->stop();
  return 0;
}
