// Every event the engine can accept is projectable: the seeded engine
// simulation (tests/engine/simulation.h, wide mode: every command kind,
// strings with NUL bytes, every Unicode plane and invalid UTF-8, metadata
// JSON and not, amounts near the limit at every scale 0..18, overdrafts,
// reversals, expiries) is projected into a real PostgreSQL in random batch
// sizes, and verify-read-models must find zero drift and no parked event.
// Every string that a column could not hold verbatim is in event_raw_fields.
//
// LEDGER_SEED=<n> runs one seed; LEDGER_SIM_SEEDS=<count> runs seeds
// 1..count (scripts/projection_simulation runs many).
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include <cstdlib>

#include "projections/maintenance.h"
#include "projections/projector.h"
#include "tests/engine/simulation.h"
#include "tests/support/pg_instance.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::projections;

namespace {

pg_instance& sim_pg() {
  static pg_instance pg(disposable_pg_options());
  return pg;
}

std::vector<std::uint64_t> sim_seeds() {
  if (const char* s = std::getenv("LEDGER_SEED")) return {std::strtoull(s, nullptr, 10)};
  std::uint64_t n = 8;
  if (const char* c = std::getenv("LEDGER_SIM_SEEDS")) n = std::strtoull(c, nullptr, 10);
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t i = 1; i <= n; ++i) seeds.push_back(i);
  return seeds;
}

// Projects the engine's journal so far, in a batch size of the seed's choosing.
void project_some(projector& p) { REQUIRE(p.catch_up().is_ok()); }

}  // namespace

TEST_CASE("the seeded simulation projects with zero drift, for every seed") {
  for (auto seed : sim_seeds()) {
    CAPTURE(seed);  // printed on failure; rerun with LEDGER_SEED=<seed>
    engine_harness h(40 + seed % 64, seed % 2 == 1 ? 1 : 512);
    command_generator gen(seed, h, simulation_options{8, true});
    gen.setup();
    auto conninfo = sim_pg().create_database("sim_" + std::to_string(seed));
    projector_options po{conninfo};
    po.batch_events_max = 1 + seed * 37 % 500;
    std::vector<std::string> logged;
    po.log = [&logged](const std::string& line) { logged.push_back(line); };
    projector p(engine_journal(h.eng()), po);
    // Projection interleaved with the simulation, so batches start and end
    // at every kind of event.
    for (int round = 0; round < 6; ++round) {
      gen.run_rounds(25);
      project_some(p);
    }
    CHECK(p.stats().projected_seq == h.eng().head().seq);
    CHECK_MESSAGE(p.stats().dead_letters == 0, (logged.empty() ? "" : logged.front()));
    CHECK(p.stats().failures == 0);

    verify_report r;
    REQUIRE(verify_read_models(engine_journal(h.eng()), conninfo, "ledger", "read_models", r).is_ok());
    CHECK(r.checkpoint_seq == h.eng().head().seq);
    CHECK(r.balances_compared > 0);
    for (const auto& d : r.drifts)
      FAIL_CHECK("drift wallet=" << d.wallet_id << " asset=" << d.asset << " " << d.what << ": read model "
                                 << d.read_model << ", engine " << d.engine);

    pqxx::connection c(conninfo);
    pqxx::read_transaction tx(c);
    // Every event is in the audit log, and double entry holds per event.
    CHECK(tx.exec1("SELECT count(*) FROM ledger.audit_log")[0].as<std::uint64_t>() == h.eng().head().seq);
    CHECK(tx.exec1("SELECT count(*) FROM (SELECT seq FROM ledger.postings WHERE kind = 'posted' "
                   "GROUP BY seq, asset HAVING sum(amount) <> 0) x")[0].as<int>() == 0);
    // The generator's odd strings were met, and kept byte for byte.
    CHECK(tx.exec1("SELECT count(*) FROM ledger.event_raw_fields")[0].as<int>() > 0);
  }
}
