// The engine's log-reading interface: how projectors, the Kafka relay, read
// replicas and tools read a ledger's journal, wherever it lives (the engine
// in this process, a RocksDB follower, or the Kafka events topic).
#pragma once

#include <functional>
#include <vector>

#include "engine/engine.h"

namespace ledger {

struct journal_source {
  // Committed events from `from_seq`, at most `max`, in seq order.
  std::function<status(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out)> read;
  // Waits until the journal holds `seq` (or the timeout passes).
  std::function<bool(std::uint64_t seq, int timeout_ms)> wait_for;
  // The last committed event.
  std::function<ledger_head()> head;
  // The predecessor of seq 1: the ledger id's genesis chain (engine/chain.h).
  hash256 genesis{};
};

// The journal of an engine in this process.
journal_source engine_journal(engine& e);

}  // namespace ledger
