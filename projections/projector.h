// The projector: turns the ledger's journal into PostgreSQL read models.
//
// Operation: read the events after the projection's checkpoint, in batches
// of up to `batch_events_max`; check each event's chain hash against the
// previous one; write the batch's rows (COPY for append-only tables,
// multi-row upserts for balances and daily totals) and the new checkpoint in
// ONE PostgreSQL transaction. A crash anywhere leaves the database at a batch
// boundary: no duplicate, no gap; a restart resumes from the checkpoint.
//
// Concurrency: start() runs the loop on its own thread; the engine is never
// blocked by it (it reads committed journal records). stats() and
// wait_for() are safe from any thread.
//
// Failure: if PostgreSQL is unreachable or a batch fails, the projector
// retries with exponential backoff (bounded), reports the error and its lag,
// and catches up when the database is back. Commands keep being accepted
// meanwhile: the engine does not depend on the read models.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <pqxx/transaction>

#include "engine/engine.h"
#include "engine/journal_source.h"
#include "engine/store.h"

namespace ledger::projections {

// The journal a projector reads: see engine/journal_source.h.
using ledger::journal_source;
using ledger::engine_journal;

struct projector_options {
  std::string conninfo;
  std::string name = "read_models";  // the checkpoint row
  // PostgreSQL schema holding the tables and their checkpoint. A rebuild
  // projects into another schema and swaps names when it has caught up.
  std::string schema = "ledger";
  std::size_t batch_events_max = 10'000;
  int idle_wait_ms = 200;
  int retry_min_ms = 100;
  int retry_max_ms = 5'000;
  bool migrate_on_connect = true;
};

// The advisory lock a projector holds for each batch transaction on
// `schema`, and that a rebuild's swap takes before renaming it: the swap
// waits for a batch in progress and no batch starts during the swap.
long long projection_lock_key(const std::string& schema);

struct projector_stats {
  std::uint64_t projected_seq = 0;
  std::int64_t projected_log_ts_us = 0;
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  std::uint64_t failures = 0;
  bool healthy = false;
  std::string last_error;
};

class projector {
 public:
  projector(journal_source source, projector_options options);
  ~projector();
  projector(const projector&) = delete;
  projector& operator=(const projector&) = delete;

  void start();
  void stop();

  // One batch on the caller's thread (tests, tools): connects if needed,
  // projects up to batch_events_max events. `projected` is how many.
  status step(std::size_t& projected);
  // Projects until the journal's head is reached (tools).
  status catch_up();

  projector_stats stats() const;
  // Waits until the projection reached `seq`; false on timeout.
  bool wait_for(std::uint64_t seq, int timeout_ms) const;

 private:
  struct impl;
  void run();
  // One batch inside `tx`; sets `reconnect` when the connection must be
  // dropped after the transaction ends.
  status step_in(pqxx::work& tx, std::size_t& projected, bool& reconnect);

  journal_source source_;
  projector_options options_;
  std::unique_ptr<impl> impl_;  // connection and batch state, loop thread only
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable progressed_;
  projector_stats stats_;  // protected by mu_
};

}  // namespace ledger::projections
