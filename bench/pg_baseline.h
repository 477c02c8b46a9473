// The usual alternative to our engine: balances in a PostgreSQL table, one
// database transaction per transfer, both wallet rows locked in id order.
// Benchmarks run it against the engine on the same machine.
//
// Operation: run_pg_row_lock_baseline() drops and re-creates the tables
// `wallets` and `transactions` in the database named by `conninfo`, seeds
// `wallets` rows, then runs `clients` threads, each with its own connection,
// until `duration_s` has elapsed. Per transfer:
//   BEGIN;
//   SELECT id FROM wallets WHERE id IN (from, to) ORDER BY id FOR UPDATE;
//   UPDATE wallets SET balance = balance - amount WHERE id = from AND balance >= amount;
//       -- 0 rows: rejected, ROLLBACK
//   UPDATE wallets SET balance = balance + amount WHERE id = to;
//   INSERT INTO transactions (from_id, to_id, amount) VALUES (...);
//   COMMIT;
// Deadlocks and serialization failures are retried a bounded number of times.
//
// Errors: libpqxx exceptions are caught here. Setup failures, a client whose
// connection breaks, and a final balance check that does not add up throw
// std::runtime_error.
#pragma once

#include <cstdint>
#include <string>

namespace ledger::bench {

struct pg_baseline_options {
  std::uint64_t wallets = 1'000'000;  // at least 2
  int clients = 16;
  double duration_s = 10.0;
  // All transfers among the first 10 wallets: every transfer contends.
  bool hot = false;
  std::uint64_t seed = 1;
};

struct pg_baseline_result {
  std::uint64_t transfers = 0;  // committed
  std::uint64_t rejected = 0;   // insufficient funds, rolled back
  double seconds = 0;           // wall time of the measured phase
  double transfers_per_s = 0;
  // Latency of committed transfers, BEGIN to COMMIT including retries.
  double p50_ms = 0;
  double p99_ms = 0;
  std::uint64_t retries = 0;  // deadlock or serialization failures retried
  std::uint64_t failed = 0;   // transfers abandoned after the last retry
};

pg_baseline_result run_pg_row_lock_baseline(const std::string& conninfo,
                                            const pg_baseline_options& options);

}  // namespace ledger::bench
