// A read replica of a ledger: follows the ledger's journal into its own store.
//
// Operation: apply() takes journal entries (seq, canonical event bytes,
// chain hash) from any source (the engine's store, a Kafka events topic) and
// folds them, in order, into a ledger_state over its own RocksDB store,
// checking each one as an auditor's rebuild does: sequence continuity, the
// hash chain from the replica's head, decoding, and check_event() (legs
// balance per asset, accounts exist). One call is one store commit holding
// the call's journal record, the state it changed and the new head. So the
// replica's store holds the same state key space as the ledger's at the same
// seq (equal state_digest), the same journal, and serves the same read
// functions (read_state, scan_state, read_journal, state_digest).
//
// Atomicity: a call is applied whole or not at all. Entries are first
// checked without touching the state (seq, chain, decode); a call that fails
// there changes nothing. An event failing check_event() is found only after
// the call's earlier events were applied in memory: the replica then drops
// the store's pending batch and reloads its in-memory state from the store
// (cost: one scan of the hot state, on that error path only). A failed commit
// is handled the same way. Either way the store and head stay at the previous
// commit and a later call with the right entries works.
//
// Trust: events that pass these checks are applied as the engine applies
// them; one that is chain-consistent and balanced yet contradicts the state
// (closing a hold that is not open, say) trips ledger_state::apply's
// assertions and stops the process, as it would stop a rebuild.
//
// Concurrency: apply() from one thread at a time (a mutex serializes
// callers). head(), wait_for_seq() and storage()'s read functions from any
// thread; storage().head() is the writer's view, so other threads use head().
//
// Limits: at most `replica_apply_entries_max` entries per call.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/store.h"

namespace ledger {

// Entries one apply() call takes at most (one store commit holds them all).
inline constexpr std::size_t replica_apply_entries_max = 1u << 16;

class replica {
 public:
  // Opens (or creates, per options.create_if_missing) the replica's store at
  // options.path and loads its head and hot state. Errors: those of
  // store::open and store::load (a torn or damaged store is `corruption`).
  static status open(const store_options& options, std::unique_ptr<replica>& out);
  ~replica();
  replica(const replica&) = delete;
  replica& operator=(const replica&) = delete;

  // Applies `entries` in order as ONE store commit (all or nothing).
  // Entries at or below the head reached so far (the committed head, then
  // the last entry taken from this call) are skipped as duplicates from an
  // at-least-once source, after checking that their chain hash equals the
  // one already applied at that seq (else `corruption`: divergent history). Returns ok with nothing written if nothing is new.
  // Errors, with nothing of the call applied:
  //   invalid_argument  more than replica_apply_entries_max entries
  //   corruption        a gap (seq > head + 1), a chain hash that does not
  //                     follow (chain_next(previous, bytes) != chain), an
  //                     undecodable event, an event carrying another seq than
  //                     its entry, an event failing check_event()
  //   io_error, ...     the commit or the reload of the state failed
  status apply(const std::vector<journal_entry>& entries);

  // The last committed head: seq, chain hash, and the log time and input
  // position of the last event (the replica sees events, not commands, so
  // input_pos can be behind the engine's after idempotent replays).
  ledger_head head() const;
  // Waits until head().seq >= seq; false on timeout.
  bool wait_for_seq(std::uint64_t seq, int timeout_ms) const;
  // Committed reads (read_state, scan_state, read_journal, state_digest...).
  const store& storage() const { return *store_; }

 private:
  replica() = default;
  // Checks what needs no state (seq, chain, decoding) and decodes the new
  // entries into `fresh`, from the committed head `from`.
  static status check_entries(const ledger_head& from, const std::vector<journal_entry>& entries,
                              std::vector<std::pair<const journal_entry*, event>>& fresh);
  // Entries below the committed head must be the ones the store holds
  // (same chain hash): a divergent history is corruption.
  status check_older(const ledger_head& from, const std::vector<journal_entry>& entries) const;
  // Drops the store's pending batch and rebuilds state_ from committed data.
  status roll_back();
  status reload_state();

  // Constant after open().
  std::unique_ptr<store> store_;

  // Protected by apply_mu_ (the applying thread).
  std::mutex apply_mu_;
  std::unique_ptr<ledger_state> state_;  // null after a failed reload; apply() retries it

  // Protected by mu_.
  mutable std::mutex mu_;
  mutable std::condition_variable committed_cv_;
  ledger_head committed_;
};

}  // namespace ledger
