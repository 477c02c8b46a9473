// Exchange throughput beside plain transfers, in the same run on the same
// engine (docs/exchange.md). Three timed workloads over --wallets wallets
// holding USD and BTC, WAL synced once per engine batch:
//   transfer: random USD transfers between wallets (the baseline)
//   quote:    USD->BTC sell quotes (a command each: the engine fixes them)
//   exchange: the exchanges spending those quotes (both assets, fee leg,
//             the house FX account, the quote record)
//   mixed:    seed 003's wallet traffic in one stream: 45% transfers, 10%
//             deposits, 10% withdrawals, 10% holds, 10% exchanges (of
//             quotes issued before timing), 10% payment requests created,
//             5% paid (requests created before timing)
// Prints each rate, exchanges per second over transfers per second, a
// quote+exchange pair's rate (what a client doing both sees) and the mixed
// rate over transfers per second. Commands are generated before timing
// starts.
//
// usage: fx_bench [--wallets N] [--count N]
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <algorithm>
#include <random>
#include <string>

#include "engine/engine.h"
#include "tests/support/temp_dir.h"
#include "tools/system_clock.h"

using namespace ledger;

namespace {

constexpr std::size_t chunk_commands = 512;
constexpr int chunks_in_flight = 64;

// Submits `all` in chunks (at most chunks_in_flight in flight); returns every
// outcome in submission order and the seconds it took.
std::vector<outcome> drive(engine& e, std::vector<command>&& all, system_clock_source& clk, double& seconds) {
  std::vector<std::vector<command>> chunks;
  for (std::size_t i = 0; i < all.size(); i += chunk_commands)
    chunks.emplace_back(std::make_move_iterator(all.begin() + long(i)),
                        std::make_move_iterator(all.begin() + long(std::min(all.size(), i + chunk_commands))));
  std::vector<std::vector<outcome>> outs(chunks.size());
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  auto t0 = clk.monotonic_ns();
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return in_flight < chunks_in_flight; });
      ++in_flight;
    }
    auto done = [&, i](std::vector<outcome>&& o) {
      std::lock_guard lock(mu);
      outs[i] = std::move(o);
      --in_flight;
      cv.notify_one();
    };
    while (e.submit(std::move(chunks[i]), done) != append_result::ok) std::this_thread::yield();
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  seconds = double(clk.monotonic_ns() - t0) / 1e9;
  std::vector<outcome> flat;
  for (auto& v : outs)
    for (auto& o : v) flat.push_back(std::move(o));
  return flat;
}

std::uint64_t accepted(const std::vector<outcome>& outs) {
  std::uint64_t n = 0;
  for (const auto& o : outs) n += o.accepted();
  return n;
}

void report(const char* name, std::size_t n, const std::vector<outcome>& outs, double secs) {
  std::printf("%-9s count=%zu accepted=%llu seconds=%.2f per_s=%.0f\n", name, n, (unsigned long long)accepted(outs), secs,
              double(n) / secs);
  std::map<std::string, std::size_t> refused;  // a workload's refusals by reason, so a broken mix shows
  for (const auto& o : outs)
    if (!o.accepted()) ++refused[o.error ? std::string(to_string(o.reason)) : o.error.to_string()];
  for (const auto& [why, k] : refused) std::printf("          refused %zu: %s\n", k, why.c_str());
  std::fflush(stdout);
}

struct bench_setup {
  std::uint64_t wallets = 0, first_wallet = 0;
};

std::string user(const bench_setup& b, std::uint64_t i) { return "user" + std::to_string(i % b.wallets); }

// Untimed: quotes for the mixed workload's exchanges and payment requests
// for its payments, each from a random wallet.
void prepare_mixed(engine& e, const bench_setup& b, std::uint64_t count, system_clock_source& clk, std::mt19937_64& rng,
                   std::vector<std::uint64_t>& quote_ids, std::vector<command>& pays) {
  std::vector<command> prep;
  for (std::uint64_t i = 0; i < count / 10; ++i)
    prep.push_back(command{"bench", "mq" + std::to_string(i), "", quote_cmd{"bench", "USD", "BTC", 500, fx_side::sell}});
  std::int64_t expires_us = clk.now_us() + 86'400'000'000;
  std::vector<std::uint64_t> payer;
  for (std::uint64_t i = 0; i < count / 20; ++i) {
    std::uint64_t a = rng() % b.wallets, p = (a + 1 + rng() % (b.wallets - 1)) % b.wallets;
    payer.push_back(p);
    prep.push_back(command{"bench", "mr" + std::to_string(i), "",
                           create_payment_request_cmd{user(b, a), b.first_wallet + a, user(b, p), "USD", 250, "", expires_us}});
  }
  double secs = 0;
  auto outs = drive(e, std::move(prep), clk, secs);
  for (std::size_t i = 0; i < outs.size(); ++i) {
    if (i < count / 10 && outs[i].quote) quote_ids.push_back(outs[i].quote->id);
    if (i >= count / 10 && outs[i].accepted()) {
      std::uint64_t p = payer[i - count / 10];
      pays.push_back(command{"bench", "mp" + std::to_string(i), "",
                             pay_payment_request_cmd{outs[i].payment_request_id, user(b, p), b.first_wallet + p, "USD", 250}});
    }
  }
}

// The mixed workload's commands, in a shuffled order fixed by the seed.
std::vector<command> mixed_commands(const bench_setup& b, std::uint64_t count, std::int64_t now_us, std::mt19937_64& rng,
                                    std::vector<std::uint64_t>&& quote_ids, std::vector<command>&& pays) {
  std::vector<command> out;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t a = rng() % b.wallets, c = (a + 1 + rng() % (b.wallets - 1)) % b.wallets;
    std::uint64_t w = b.first_wallet + a, to = b.first_wallet + c;
    std::string key = "m" + std::to_string(i);
    amount_t amt = 100 + amount_t(i % 1000);
    std::uint64_t slot = i % 20;  // 1/20 = 5%
    if (slot < 9) out.push_back(command{"bench", key, "", transfer_cmd{w, to, "USD", amt, 0, "", ""}});
    else if (slot < 11) out.push_back(command{"bench", key, "", deposit_cmd{w, "USD", amt, "bank", "", "", ""}});
    else if (slot < 13) out.push_back(command{"bench", key, "", withdraw_cmd{w, "USD", amt, "", "", ""}});
    else if (slot < 15) out.push_back(command{"bench", key, "", hold_cmd{w, to, "USD", amt, now_us + 3'600'000'000, "", ""}});
    else if (slot < 17 && !quote_ids.empty()) {
      out.push_back(command{"bench", key, "", exchange_cmd{"bench", quote_ids.back(), w, 0}});
      quote_ids.pop_back();
    } else if (slot == 19 && !pays.empty()) {
      out.push_back(std::move(pays.back()));
      pays.pop_back();
    } else {
      out.push_back(command{"bench", key, "", create_payment_request_cmd{user(b, a), w, user(b, c), "USD", amt, "",
                                                                          now_us + 86'400'000'000}});
    }
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t wallets = 10'000, count = 100'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--wallets") wallets = std::max<std::uint64_t>(2, std::stoull(argv[i + 1]));
    else if (f == "--count") count = std::max<std::uint64_t>(1, std::stoull(argv[i + 1]));
    else return std::fprintf(stderr, "usage: fx_bench [--wallets N] [--count N]\n"), 2;
  }
  system_clock_source clk;
  testing::temp_dir dir("ledger-fx-bench");
  engine_options o;
  o.store.path = (dir.path() / "ledger").string();
  o.clk = &clk;
  o.queue_commands_max = 1u << 17;
  std::unique_ptr<engine> e;
  if (auto s = engine::open(o, e); !s) return std::fprintf(stderr, "engine open failed: %s\n", s.to_string().c_str()), 1;
  std::printf("fx_bench: %llu wallets, %llu commands per workload, WAL synced per batch\n", (unsigned long long)wallets,
              (unsigned long long)count);
  double secs = 0;
  std::vector<command> setup;
  auto add = [&](command_body b) { setup.push_back(command{"bench", "s" + std::to_string(setup.size()), "", std::move(b)}); };
  add(register_asset_cmd{"USD", 2, 1, amount_limit});
  add(register_asset_cmd{"BTC", 8, 1, amount_limit});
  for (const char* name : {"clearing:bank", "fx", "fee_revenue", "payouts"}) add(open_account_cmd{account_kind::system, name, {}});
  add(set_rate_cmd{"USD", "BTC", 16'666'500'000'000, 25, quote_ttl_s_max, 0, 4'000'000'000'000'000});
  add(set_fx_limit_cmd{"BTC", amount_limit / 2});
  std::uint64_t first_wallet = 5;  // after the four system accounts
  for (std::uint64_t i = 0; i < wallets; ++i)
    add(open_account_cmd{account_kind::user, "user" + std::to_string(i), {{"USD", 0, 0}, {"BTC", 0, 0}}});
  for (std::uint64_t i = 0; i < wallets; ++i) add(deposit_cmd{first_wallet + i, "USD", 100'000'000, "bank", "", ""});
  auto setup_outs = drive(*e, std::move(setup), clk, secs);
  if (accepted(setup_outs) != setup_outs.size()) return std::fprintf(stderr, "setup refused\n"), 1;

  std::mt19937_64 rng(7);
  std::vector<command> transfers, quotes;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t a = rng() % wallets, b = (a + 1 + rng() % (wallets - 1)) % wallets;
    transfers.push_back(command{"bench", "t" + std::to_string(i), "",
                                transfer_cmd{first_wallet + a, first_wallet + b, "USD", 100 + amount_t(i % 1000), 0, "", ""}});
    quotes.push_back(command{"bench", "q" + std::to_string(i), "", quote_cmd{"bench", "USD", "BTC", 100 + amount_t(i % 1000), fx_side::sell}});
  }
  auto t_out = drive(*e, std::move(transfers), clk, secs);
  report("transfer", count, t_out, secs);
  double transfer_s = secs;
  auto q_out = drive(*e, std::move(quotes), clk, secs);
  report("quote", count, q_out, secs);
  double quote_s = secs;
  std::vector<command> exchanges;
  for (std::size_t i = 0; i < q_out.size(); ++i)
    if (q_out[i].quote)
      exchanges.push_back(command{"bench", "x" + std::to_string(i), "",
                                  exchange_cmd{"bench", q_out[i].quote->id, first_wallet + rng() % wallets, 0}});
  std::size_t nx = exchanges.size();
  auto x_out = drive(*e, std::move(exchanges), clk, secs);
  report("exchange", nx, x_out, secs);
  double xps = double(nx) / secs, tps = double(count) / transfer_s;
  std::printf("ratio    exchanges_per_s/transfers_per_s=%.2f quote_plus_exchange_pairs_per_s=%.0f\n", xps / tps,
              double(nx) / (secs + quote_s));

  bench_setup b{wallets, first_wallet};
  std::vector<std::uint64_t> quote_ids;
  std::vector<command> pays;
  prepare_mixed(*e, b, count, clk, rng, quote_ids, pays);
  auto mixed = mixed_commands(b, count, clk.now_us(), rng, std::move(quote_ids), std::move(pays));
  std::size_t nm = mixed.size();
  auto m_out = drive(*e, std::move(mixed), clk, secs);
  report("mixed", nm, m_out, secs);
  std::printf("ratio    mixed_per_s/transfers_per_s=%.2f\n", double(nm) / secs / tps);
  return 0;
}
