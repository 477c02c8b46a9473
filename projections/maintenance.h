// Operator tasks on the read models.
//
// verify_read_models: reads the projection's checkpoint and every balance in
// one PostgreSQL snapshot, rebuilds the engine's state at the checkpoint's
// sequence from the journal, and reports every difference (expected: none).
//
// rebuild_read_models: projects the whole journal into a fresh schema while
// the current one keeps serving, then swaps the two names in one
// transaction and drops the old tables. The live projector, if any, carries
// on from the new schema's checkpoint (it lives beside the data it
// describes), so nothing is skipped or projected twice.
#pragma once

#include <string>
#include <vector>

#include "projections/projector.h"

namespace ledger::projections {

struct drift {
  std::uint64_t wallet_id = 0;
  std::string asset;
  std::string what;  // "posted", "held", "incoming", "missing row", "extra row", "checkpoint chain"
  std::string read_model;
  std::string engine;
};

struct dead_letter {
  std::uint64_t seq = 0;
  std::string command;
  std::string error;
};

struct verify_report {
  std::uint64_t checkpoint_seq = 0;
  std::size_t balances_compared = 0;
  std::vector<drift> drifts;
  // Events the projector parked instead of projecting: the read models
  // lack their effects, so verification fails while any is listed.
  std::vector<dead_letter> dead_letters;
  bool clean() const { return drifts.empty() && dead_letters.empty(); }
};

status verify_read_models(const journal_source& journal, const std::string& conninfo, const std::string& schema,
                          const std::string& projection, verify_report& out);

struct rebuild_report {
  std::uint64_t projected_seq = 0;
  std::uint64_t events = 0;
};

status rebuild_read_models(const journal_source& journal, const std::string& conninfo, const std::string& schema,
                           const std::string& projection, rebuild_report& out);

}  // namespace ledger::projections
