// The engine: the single writer.
//
// Operation: one thread (the writer) takes commands from the command log in
// batches of up to `batch_commands_max` and executes them in order on the
// ledger machine; a second thread (the committer) writes each batch as one
// RocksDB write batch with the WAL synced, and only then calls the
// completions. The two overlap: the writer decides batch N+1 while batch N is
// written, never more than one batch ahead. If a commit fails, the engine
// stops (its memory is ahead of the store); every waiting and later command
// gets a retryable error, and a restart recovers from the store. Between
// the commit and the completions the log may refuse the release
// (command_log::before_release: a Kafka engine that lost its partition is
// fenced); the engine then answers nothing and stops the same way.
//
// Concurrency: submit(), head(), stats(), wait_for_seq() and the store's read
// functions are safe from any thread. Completions run on the writer thread.
//
// Limits: the command log is bounded (`queue_commands_max`); a full log
// answers `full` at once instead of growing.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "base/histogram.h"
#include "engine/command_log.h"
#include "engine/store.h"

namespace ledger {

struct engine_options {
  store_options store;
  std::size_t batch_commands_max = 8190;
  // A batch also stops taking commands before its events could pass
  // batch_events_max (a command makes at most command_events_max
  // events, so the bound is strict) or once its event bytes reach
  // batch_bytes_max (so it may pass it by one command's events). A
  // submission that does not fit is split across batches; its completion
  // still runs once, after its last part is durable.
  std::size_t batch_events_max = 1u << 16;
  std::size_t batch_bytes_max = 16u << 20;
  std::size_t queue_commands_max = 1u << 16;
  // Batches of at least this many commands are committed on the committer
  // thread while the writer decides the next; smaller ones inline (their
  // commit is the fsync, and a handoff would only add latency).
  std::size_t pipeline_commands_min = 512;
  clock* clk = nullptr;  // required
  // Use this log instead of an embedded one (the Kafka adapter); not owned.
  command_log* log = nullptr;
  // Retained snapshots, so auditors can rebuild any past state from the
  // nearest one instead of from seq 1: after the first commit at or past
  // each multiple of `snapshot_every_events`, a background thread writes a
  // RocksDB checkpoint of the store to `snapshot_dir`/seq-<20-digit head seq>
  // (hard links; costs a memtable flush), computes that snapshot's state
  // digest and saves it as a checkpoint (seq, chain, digest) in the store.
  // Commits go on meanwhile. The newest `snapshots_retained_max` snapshots
  // are kept (0: all of them); their checkpoints stay either way. Older
  // snapshots thin with age when `snapshot_keep_every_events` is not 0: of
  // those, the oldest snapshot at or past each multiple of it is kept too,
  // so every point of the journal after the first kept snapshot has one at
  // most about snapshot_keep_every_events + snapshot_every_events (plus one
  // batch) before it (see snapshots_to_remove). Each kept snapshot pins the
  // state files it links, so all of them cost up to one state's size each.
  // snapshot_every_events 0 or an empty dir: none.
  std::uint64_t snapshot_every_events = 0;
  std::string snapshot_dir;
  std::size_t snapshots_retained_max = 16;
  std::uint64_t snapshot_keep_every_events = 0;
};

// The retention rule: of snapshots with head seqs `seqs` (ascending), those
// to remove. The newest `retained_max` stay (0: all stay); of the older
// ones, with `keep_every` not 0, the first at or past each multiple of
// `keep_every` (the oldest in each stride) stays as well.
std::vector<std::uint64_t> snapshots_to_remove(const std::vector<std::uint64_t>& seqs, std::size_t retained_max,
                                               std::uint64_t keep_every);

// The name of a snapshot directory for head seq `seq` ("seq-" and 20 digits,
// so names sort in seq order), and the inverse (0 when not a snapshot name).
std::string snapshot_name(std::uint64_t seq);
std::uint64_t snapshot_seq_of(std::string_view name);

struct engine_stats {
  std::uint64_t batches = 0;
  std::uint64_t commands = 0;
  std::uint64_t events = 0;
  std::uint64_t replays = 0;
  std::size_t queue_depth = 0;
  // Recent batch commit latencies (the durable write alone), microseconds.
  std::vector<std::uint32_t> commit_us_recent;
  std::vector<std::uint32_t> batch_sizes_recent;
  histogram commit_seconds{{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}};
  histogram batch_commands{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192}};
  std::uint64_t snapshots = 0;
  std::uint64_t snapshot_failures = 0;
};

class engine {
 public:
  static status open(const engine_options& options, std::unique_ptr<engine>& out);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Appends commands to the log. The completion is called once with one
  // outcome per command, in order, after they are durable.
  append_result submit(std::vector<command> commands, completion done);

  // Stops accepting, applies and commits everything already accepted, and
  // joins the writer. Idempotent.
  void stop();

  // The last committed head (the state every released outcome is part of).
  ledger_head head() const;
  // Waits until the committed seq reaches `seq`; false on timeout or stop.
  bool wait_for_seq(std::uint64_t seq, int timeout_ms) const;
  bool failed() const { return failed_.load(); }
  // Why the engine stopped (ok while running): a store failure, or fenced.
  status failure() const;
  engine_stats stats() const;
  store& storage() { return *store_; }
  // Account count, for memory reports (approximate while running).
  std::size_t account_count() const { return account_count_.load(); }
  // Active wallet sessions and open sign-in challenges, as of the last batch.
  std::size_t session_count() const { return session_count_.load(); }
  std::size_t challenge_count() const { return challenge_count_.load(); }

  // Digest of the committed state, saved as a checkpoint (seq, chain, digest).
  status checkpoint(ledger::checkpoint& out);

 private:
  // One batch between the writer and the committer.
  struct batch_job {
    std::vector<log_entry> entries;
    std::vector<std::vector<outcome>> outcomes;      // per entry, per command
    std::vector<std::vector<bool>> replays;          // answered from the journal after commit
    ledger_head head;
    std::uint64_t commands = 0, events = 0, replay_count = 0;
    std::size_t event_bytes = 0;
  };

  engine() = default;
  void run();
  void execute(batch_job& job);
  // True when the next command might take the batch past its event or byte bound.
  bool batch_full(const batch_job& job) const;
  // Moves commands [j, end) of entry i, and every later entry, to carry_.
  void split_at(batch_job& job, std::size_t i, std::size_t j);
  void run_committer();
  void commit(batch_job& job);
  void wait_committer_idle();
  void fail_all(std::vector<log_entry>& entries, const status& why);
  void set_failure(status why);
  // The committing thread: wakes the snapshotter when `seq` crossed the
  // next multiple of snapshot_every_events.
  void maybe_snapshot(std::uint64_t seq);
  // The snapshotter thread: writes a snapshot and its checkpoint, drops the
  // oldest snapshots beyond the limit.
  void run_snapshotter();
  status write_snapshot();

  // Constant after open().
  engine_options options_;
  std::unique_ptr<store> store_;
  std::unique_ptr<embedded_log> own_log_;
  command_log* log_ = nullptr;
  std::unique_ptr<machine> machine_;  // writer thread only

  std::thread writer_;
  std::thread committer_;
  std::atomic<bool> stop_called_{false};
  // Set after the log is closed: once the writer sees it, every accepted
  // submission is already in the log (see run()).
  std::atomic<bool> stopping_{false};
  // Writer only: commands taken from the log that did not fit the last
  // batch; the next batch starts with them.
  std::vector<log_entry> carry_;

  // The handoff slot, protected by job_mu_.
  std::mutex job_mu_;
  std::condition_variable job_cv_;
  std::unique_ptr<batch_job> job_;  // waiting for or being committed
  bool committer_busy_ = false;
  bool committer_stop_ = false;
  std::atomic<bool> failed_{false};
  std::atomic<std::size_t> account_count_{0};
  std::atomic<std::size_t> session_count_{0};
  std::atomic<std::size_t> challenge_count_{0};
  std::vector<std::string> prefetch_keys_;  // writer only (execute)
  std::uint64_t next_snapshot_seq_ = 0;  // the committing thread only (writer or committer, never both)
  std::thread snapshotter_;
  // Protected by snapshot_mu_.
  std::mutex snapshot_mu_;
  std::condition_variable snapshot_cv_;
  bool snapshot_wanted_ = false;
  bool snapshot_stop_ = false;

  // Protected by mu_.
  mutable std::mutex mu_;
  mutable std::condition_variable committed_cv_;
  ledger_head committed_;
  status failure_;
  engine_stats stats_;
  std::size_t recent_next_ = 0;
};

}  // namespace ledger
