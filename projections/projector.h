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
//
// One bad event never stops the projection for good. A batch that fails
// for a reason tied to its data (the projector cannot build the event's
// rows, or PostgreSQL refuses them: SQLSTATE classes 22 and 23) is retried
// one event per batch until the failing event is found; an event failing
// `event_attempts_max` times in a row is parked in projection_dead_letters
// (seq, command, error) and the checkpoint moves past it, in one
// transaction. Failures of any other kind (database away, schema missing,
// a journal gap or altered chain) are never parked: they are retried, and
// reported by stats() (stuck_seq, consecutive_failures) and the log.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <string>
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
  // Attempts at one event, alone in its batch, before it is parked.
  int event_attempts_max = 3;
  // Failure lines (seq and reason); default: stderr.
  std::function<void(const std::string&)> log;
  // Connections that write one batch (1 or 2). With 2, a second connection
  // COPYs the batch's postings and audit_log rows in a transaction of its
  // own, in parallel with the rest, and commits just before the transaction
  // holding the other rows and the checkpoint. A crash between the two
  // commits leaves postings and audit rows above the checkpoint; every
  // batch (and every parked event) first deletes such rows, in the same
  // transaction that writes the batch's own, so they are projected exactly
  // once. Readers may briefly see postings and audit rows of a batch whose
  // other rows are not committed yet (docs/read-models.md).
  std::size_t write_connections = 1;
  // Tests only: called with the batch's last seq after the second
  // connection committed and before the checkpoint's transaction commits.
  std::function<void(std::uint64_t)> before_checkpoint_commit;
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
  // While failing: the first unprojected seq, and how many attempts in a
  // row failed there (0 and 0 when the last attempt succeeded).
  std::uint64_t stuck_seq = 0;
  std::uint64_t consecutive_failures = 0;
  std::uint64_t dead_letters = 0;  // events this projector parked
  // Where committed batches spent their time (ns): reading and checking the
  // journal and building rows; sending rows and statements; the commit.
  std::uint64_t build_ns = 0, write_ns = 0, commit_ns = 0;
  // steady_clock time (ns) of the last commit or of the last look that
  // found nothing to do: how long the projection has not advanced.
  std::int64_t progress_steady_ns = 0;
};

// The projector's lines for /metrics: position, lag (events and seconds),
// failures, the seq it is stuck on and parked events. `head` is the
// journal's head; lag in seconds grows with wall time while the projection
// is behind and not advancing.
std::string projection_metrics(const projector_stats& st, const ledger_head& head);
// ok, or unavailable naming the seq the projection is stuck on, how many
// attempts failed there, and the last error (for /readyz).
status projection_health(const projector_stats& st);

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
  // After a failed batch: isolates the failing event, parks it after
  // event_attempts_max attempts; updates stats and logs.
  void after_failure(const status& s, bool data_error);
  status park(std::uint64_t seq, const std::string& why);
  void write_checkpoint(pqxx::work& tx, std::uint64_t seq, const hash256& chain, std::int64_t ts);
  void log(const std::string& line) const;
  // After a committed batch of `events` (0: nothing to do), under mu_:
  // position, phase times (build, write, commit), healthy again.
  void record_progress(std::size_t events, std::array<std::uint64_t, 3> phase_ns);

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
