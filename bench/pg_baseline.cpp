#include "bench/pg_baseline.h"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <latch>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

namespace ledger::bench {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t hot_wallets = 10;
// Large enough that random transfers never drain a wallet within a run, small
// enough that the sum over many millions of wallets stays far from overflow.
constexpr std::int64_t initial_balance = 1'000'000'000;
constexpr std::int64_t amount_max = 1'000;
// Locks are taken in id order so deadlocks should not happen; the bound keeps
// a misbehaving server from turning one transfer into an endless loop.
constexpr int attempts_max = 5;
constexpr int clients_max = 512;
constexpr double duration_s_max = 24 * 3600.0;
constexpr int connect_timeout_s = 10;

// Latency histogram with fixed memory: values below 16 us are exact, above
// that each power of two is split into 16 buckets (about 6% wide), up to 2^40 us.
class latency_histogram {
 public:
  void record(std::chrono::nanoseconds latency) {
    const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
    ++counts_[index_of(std::min(micros, value_max))];
    ++total_;
  }

  void merge(const latency_histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  // The midpoint of the bucket holding the q-quantile, in milliseconds.
  double quantile_ms(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= std::max<std::uint64_t>(rank, 1)) return midpoint_us(i) / 1000.0;
    }
    return midpoint_us(counts_.size() - 1) / 1000.0;
  }

 private:
  static constexpr int sub_bits = 4;
  static constexpr std::uint64_t sub_count = 1u << sub_bits;
  static constexpr int exponent_max = 40;
  static constexpr std::uint64_t value_max = (std::uint64_t{1} << exponent_max) - 1;
  static constexpr std::size_t bucket_count = (exponent_max - sub_bits + 1) * sub_count;

  static std::size_t index_of(std::uint64_t micros) {
    if (micros < sub_count) return micros;
    const int exponent = static_cast<int>(std::bit_width(micros)) - 1;  // >= sub_bits
    const std::uint64_t sub = (micros >> (exponent - sub_bits)) & (sub_count - 1);
    return static_cast<std::size_t>(exponent - sub_bits + 1) * sub_count + sub;
  }

  static double midpoint_us(std::size_t index) {
    if (index < sub_count) return static_cast<double>(index);
    const int exponent = static_cast<int>(index / sub_count) + sub_bits - 1;
    const std::uint64_t sub = index % sub_count;
    const std::uint64_t width = std::uint64_t{1} << (exponent - sub_bits);
    const std::uint64_t lower = (sub_count + sub) * width;
    return static_cast<double>(lower) + static_cast<double>(width) / 2.0;
  }

  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
};

struct client_stats {
  std::uint64_t transfers = 0;
  std::uint64_t rejected = 0;
  std::uint64_t retries = 0;
  std::uint64_t failed = 0;
  latency_histogram latency;
  std::optional<std::string> error;  // set when the client stopped early
};

enum class transfer_outcome { committed, rejected };

void validate(const pg_baseline_options& options) {
  if (options.wallets < 2) throw std::invalid_argument("pg_baseline: wallets must be at least 2");
  if (options.clients < 1 || options.clients > clients_max) {
    throw std::invalid_argument("pg_baseline: clients must be in [1, " +
                                std::to_string(clients_max) + "]");
  }
  if (!(options.duration_s > 0 && options.duration_s <= duration_s_max)) {
    throw std::invalid_argument("pg_baseline: duration_s must be in (0, 86400]");
  }
}

std::string with_timeout(const std::string& conninfo) {
  return conninfo + " connect_timeout=" + std::to_string(connect_timeout_s);
}

void create_tables(const std::string& conninfo, std::uint64_t wallets) {
  pqxx::connection connection(with_timeout(conninfo));
  pqxx::nontransaction tx(connection);
  tx.exec0("DROP TABLE IF EXISTS transactions");
  tx.exec0("DROP TABLE IF EXISTS wallets");
  tx.exec0(
      "CREATE TABLE wallets (id bigint NOT NULL, balance bigint NOT NULL CHECK (balance >= 0))");
  // One set-based insert, then the index: a million rows load in seconds.
  tx.exec0("INSERT INTO wallets (id, balance) SELECT g, " + std::to_string(initial_balance) +
           " FROM generate_series(1, " + std::to_string(wallets) + ") AS g");
  tx.exec0("ALTER TABLE wallets ADD PRIMARY KEY (id)");
  tx.exec0(
      "CREATE TABLE transactions (id bigserial PRIMARY KEY, from_id bigint, to_id bigint, "
      "amount bigint, created_at timestamptz DEFAULT now())");
  tx.exec0("VACUUM ANALYZE wallets");
}

void prepare_statements(pqxx::connection& connection) {
  // ORDER BY puts the sort below the row locks, so rows are locked in id order.
  connection.prepare("lock_pair",
                     "SELECT id FROM wallets WHERE id IN ($1, $2) ORDER BY id FOR UPDATE");
  connection.prepare("debit",
                     "UPDATE wallets SET balance = balance - $2 WHERE id = $1 AND balance >= $2");
  connection.prepare("credit", "UPDATE wallets SET balance = balance + $2 WHERE id = $1");
  connection.prepare("record",
                     "INSERT INTO transactions (from_id, to_id, amount) VALUES ($1, $2, $3)");
}

transfer_outcome transfer_once(pqxx::connection& connection, std::int64_t from, std::int64_t to,
                               std::int64_t amount) {
  pqxx::work tx(connection);
  tx.exec_prepared("lock_pair", from, to);
  if (tx.exec_prepared("debit", from, amount).affected_rows() == 0) {
    tx.abort();
    return transfer_outcome::rejected;
  }
  tx.exec_prepared("credit", to, amount);
  tx.exec_prepared("record", from, to, amount);
  tx.commit();
  return transfer_outcome::committed;
}

// One transfer with bounded retries; nullopt when every attempt was rolled back.
std::optional<transfer_outcome> transfer(pqxx::connection& connection, std::int64_t from,
                                         std::int64_t to, std::int64_t amount,
                                         client_stats& stats) {
  for (int attempt = 0; attempt < attempts_max; ++attempt) {
    try {
      return transfer_once(connection, from, to, amount);
    } catch (const pqxx::deadlock_detected&) {
      ++stats.retries;
    } catch (const pqxx::serialization_failure&) {
      ++stats.retries;
    }
  }
  return std::nullopt;
}

struct run_clock {
  std::latch connected;
  std::latch go{1};
  clock_type::time_point deadline;  // written before `go` opens
  explicit run_clock(int clients) : connected(clients) {}
};

void run_client(const std::string& conninfo, const pg_baseline_options& options, int index,
                run_clock& clock, client_stats& stats) {
  std::optional<pqxx::connection> connection;
  try {
    connection.emplace(with_timeout(conninfo));
    prepare_statements(*connection);
  } catch (const std::exception& e) {
    stats.error = std::string("connect: ") + e.what();
  }
  clock.connected.count_down();
  clock.go.wait();
  if (stats.error) return;

  const std::uint64_t range =
      options.hot ? std::min(hot_wallets, options.wallets) : options.wallets;
  // Spread the seeds so clients do not draw the same sequence of wallets.
  constexpr std::uint64_t seed_mix = 0x9E3779B97F4A7C15;
  std::mt19937_64 rng(options.seed * seed_mix + static_cast<std::uint64_t>(index));
  std::uniform_int_distribution<std::uint64_t> pick_from(1, range);
  std::uniform_int_distribution<std::uint64_t> pick_to(1, range - 1);
  std::uniform_int_distribution<std::int64_t> pick_amount(1, amount_max);
  try {
    while (clock_type::now() < clock.deadline) {
      const auto from = static_cast<std::int64_t>(pick_from(rng));
      auto to = static_cast<std::int64_t>(pick_to(rng));
      if (to >= from) ++to;  // distinct and still uniform
      const std::int64_t amount = pick_amount(rng);
      const auto started = clock_type::now();
      const auto outcome = transfer(*connection, from, to, amount, stats);
      if (!outcome) {
        ++stats.failed;
      } else if (*outcome == transfer_outcome::rejected) {
        ++stats.rejected;
      } else {
        ++stats.transfers;
        stats.latency.record(clock_type::now() - started);
      }
    }
  } catch (const std::exception& e) {
    stats.error = e.what();
  }
}

// Money is neither created nor destroyed, and every commit left one record.
void check_totals(const std::string& conninfo, std::uint64_t transfers) {
  pqxx::connection connection(with_timeout(conninfo));
  pqxx::nontransaction tx(connection);
  const auto conserved = tx.exec1("SELECT sum(balance) = count(*) * " +
                                  std::to_string(initial_balance) + "::numeric FROM wallets");
  if (!conserved[0].as<bool>()) throw std::runtime_error("pg_baseline: balances do not add up");
  const auto recorded = tx.exec1("SELECT count(*) FROM transactions")[0].as<std::uint64_t>();
  if (recorded != transfers) {
    throw std::runtime_error("pg_baseline: " + std::to_string(recorded) +
                             " transaction rows for " + std::to_string(transfers) + " transfers");
  }
}

pg_baseline_result run_clients(const std::string& conninfo, const pg_baseline_options& options) {
  std::vector<client_stats> stats(static_cast<std::size_t>(options.clients));
  run_clock clock(options.clients);
  std::vector<std::thread> threads;
  threads.reserve(stats.size());
  for (int i = 0; i < options.clients; ++i) {
    threads.emplace_back(run_client, std::cref(conninfo), std::cref(options), i, std::ref(clock),
                         std::ref(stats[static_cast<std::size_t>(i)]));
  }
  clock.connected.wait();
  const auto started = clock_type::now();
  clock.deadline = started + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(options.duration_s));
  clock.go.count_down();
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();

  pg_baseline_result result;
  latency_histogram latency;
  for (const auto& s : stats) {
    if (s.error) throw std::runtime_error("pg_baseline: a client failed: " + *s.error);
    result.transfers += s.transfers;
    result.rejected += s.rejected;
    result.retries += s.retries;
    result.failed += s.failed;
    latency.merge(s.latency);
  }
  result.seconds = seconds;
  result.transfers_per_s = static_cast<double>(result.transfers) / seconds;
  result.p50_ms = latency.quantile_ms(0.50);
  result.p99_ms = latency.quantile_ms(0.99);
  return result;
}

}  // namespace

pg_baseline_result run_pg_row_lock_baseline(const std::string& conninfo,
                                            const pg_baseline_options& options) {
  validate(options);
  try {
    create_tables(conninfo, options.wallets);
    const pg_baseline_result result = run_clients(conninfo, options);
    check_totals(conninfo, result.transfers);
    return result;
  } catch (const pqxx::pqxx_exception& e) {
    throw std::runtime_error(std::string("pg_baseline: ") + e.base().what());
  }
}

}  // namespace ledger::bench
