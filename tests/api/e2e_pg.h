// A private PostgreSQL for end-to-end tests (one server per test binary,
// started on first use, a database per test) and ledgerd options that
// project into it; a deadline poll for what they wait on.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/api/ledgerd_process.h"
#include "tests/support/pg_instance.h"

namespace ledger::e2e {

inline testing::pg_instance& e2e_pg() {
  static testing::pg_instance pg(testing::disposable_pg_options());
  return pg;
}

// Quiet ledgerd projecting into `conninfo`, with extra flags.
inline ledgerd_options pg_options(const std::string& conninfo, std::vector<std::string> args = {}) {
  ledgerd_options o;
  o.quiet = true;
  o.env.emplace_back("LEDGER_PG_CONNINFO", conninfo);
  o.args = std::move(args);
  return o;
}

// Polls `pred` every 50 ms for up to `timeout_ms`: a deadline, not a sleep.
template <class Pred>
bool eventually(Pred pred, int timeout_ms = 15'000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

}  // namespace ledger::e2e
