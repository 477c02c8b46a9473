// A private PostgreSQL for end-to-end tests (one server per test binary,
// started on first use, a database per test) and ledgerd options that
// project into it.
#pragma once

#include <string>
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

}  // namespace ledger::e2e
