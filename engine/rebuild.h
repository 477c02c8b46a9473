// Point-in-time rebuild and verification, for auditors.
//
// rebuild() folds the journal from seq 1 into a fresh in-memory state,
// checking every event's chain hash and sequence on the way, and stops at a
// sequence or a log time. Its digest equals the live state's digest at the
// same sequence; compare it with a checkpoint to prove the state was not
// altered.
#pragma once

#include <limits>
#include <memory>

#include "engine/store.h"

namespace ledger {

struct rebuild_bound {
  std::uint64_t seq_max = std::numeric_limits<std::uint64_t>::max();
  std::int64_t log_ts_max_us = std::numeric_limits<std::int64_t>::max();
};

struct rebuilt_state {
  ledger_head head;  // the last event folded
  hash256 digest{};
  std::uint64_t events = 0;
  std::unique_ptr<map_kv> kv;
  std::unique_ptr<ledger_state> state;
};

// Reads the journal through `read` (so a Kafka events topic can feed it too).
using journal_read_fn = std::function<status(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>&)>;

// `genesis` is the predecessor of seq 1 (the ledger id's genesis chain).
status rebuild(const journal_read_fn& read, const hash256& genesis, const rebuild_bound& bound, rebuilt_state& out);
status rebuild(const store& s, const rebuild_bound& bound, rebuilt_state& out);

// What an auditor (or a replica) must not take on trust even from an event
// whose chain hash is right (the writer could have been wrong, or the chain
// forged: it is a plain hash): legs balance per asset, for posted and for
// pending amounts; counters stay within the amount range and match the
// recorded values after; every account, asset and pending an effect names
// exists (in `state` or earlier in the event) and is in the state the
// effect needs. Everything ledger_state::apply asserts is checked, so a
// bad event is reported as corruption instead of stopping the process.
// Reads `state` only.
status check_event(const ledger_state& state, const event& e);

// Digest of a map-backed state, framed like store::state_digest.
hash256 digest_of(const map_kv& kv);

}  // namespace ledger
