// Measures the PostgreSQL row-lock baseline on a private server: a uniform
// workload over many wallets and a hot one where every transfer contends.
//
//   pg_row_lock_bench [--duration-s S] [--wallets N] [--clients C] [--seed X]

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "bench/pg_baseline.h"
#include "tests/support/pg_instance.h"

namespace {

struct bench_flags {
  double duration_s = 10.0;
  std::uint64_t wallets = 1'000'000;
  int clients = 16;
  std::uint64_t seed = 1;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "pg_row_lock_bench: %s\n"
               "usage: pg_row_lock_bench [--duration-s S] [--wallets N] [--clients C] "
               "[--seed X]\n",
               problem.c_str());
  std::exit(2);
}

template <typename T>
T parse_number(std::string_view flag, const char* text) {
  try {
    std::size_t used = 0;
    T value;
    if constexpr (std::is_floating_point_v<T>) {
      value = static_cast<T>(std::stod(text, &used));
    } else {
      value = static_cast<T>(std::stoull(text, &used));
    }
    if (text[used] != '\0') throw std::invalid_argument("trailing characters");
    return value;
  } catch (const std::exception&) {
    usage("bad value for " + std::string(flag) + ": " + text);
  }
}

bench_flags parse_flags(int argc, char** argv) {
  bench_flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage("help");
    if (i + 1 >= argc) usage("missing value for " + std::string(flag));
    const char* value = argv[++i];
    if (flag == "--duration-s") {
      flags.duration_s = parse_number<double>(flag, value);
    } else if (flag == "--wallets") {
      flags.wallets = parse_number<std::uint64_t>(flag, value);
    } else if (flag == "--clients") {
      flags.clients = parse_number<int>(flag, value);
    } else if (flag == "--seed") {
      flags.seed = parse_number<std::uint64_t>(flag, value);
    } else {
      usage("unknown flag " + std::string(flag));
    }
  }
  return flags;
}

void print(const char* workload, const ledger::bench::pg_baseline_options& options,
           const ledger::bench::pg_baseline_result& r) {
  std::printf(
      "pg_row_lock %-7s wallets=%llu clients=%d: %10.0f transfers/s  p50=%7.3f ms  p99=%7.3f ms"
      "  (transfers=%llu rejected=%llu retries=%llu failed=%llu in %.2f s)\n",
      workload, static_cast<unsigned long long>(options.wallets), options.clients,
      r.transfers_per_s, r.p50_ms, r.p99_ms, static_cast<unsigned long long>(r.transfers),
      static_cast<unsigned long long>(r.rejected), static_cast<unsigned long long>(r.retries),
      static_cast<unsigned long long>(r.failed), r.seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const bench_flags flags = parse_flags(argc, argv);
  try {
    ledger::testing::pg_instance pg;
    const std::string conninfo = pg.create_database("pg_baseline");
    std::printf("postgres on port %d (fsync=on synchronous_commit=on shared_buffers=256MB), "
                "%.1f s per workload\n",
                pg.port(), flags.duration_s);

    ledger::bench::pg_baseline_options options;
    options.wallets = flags.wallets;
    options.clients = flags.clients;
    options.duration_s = flags.duration_s;
    options.seed = flags.seed;

    options.hot = false;
    print("uniform", options, ledger::bench::run_pg_row_lock_baseline(conninfo, options));
    // Same table size; every transfer is among the first 10 wallets.
    options.hot = true;
    print("hot-10", options, ledger::bench::run_pg_row_lock_baseline(conninfo, options));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_row_lock_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
