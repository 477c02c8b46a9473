// The ledger's durable store, on RocksDB.
//
// Three column families:
//   "state"   the canonical key space of state.h (what the state digest covers)
//   "journal" the event journal, one record per engine batch:
//             big-endian seq of its first event -> journal batch (below)
//   default   meta: the head (seq, chain, log time, input position) and
//             checkpoints (seq -> chain, state digest)
//
// One engine batch is one RocksDB WriteBatch holding events, changed state,
// idempotency records and the new head, written with the WAL synced. So the
// store is always at a batch boundary: never half a batch.
//
// open() checks that head and journal agree (last seq, last chain hash) and
// reports a torn or corrupted store as `corruption` instead of starting.
//
// Thread: the writer alone calls writer_kv() and commit(); the read functions
// are safe from any thread (they read committed data only).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/machine.h"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
class Snapshot;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace ledger {

struct journal_entry {
  std::uint64_t seq = 0;
  std::string event_bytes;
  hash256 chain{};
};

struct checkpoint {
  std::uint64_t seq = 0;
  hash256 chain{};
  hash256 state_digest{};
};

struct store_options {
  std::string path;
  bool sync = true;  // fsync the WAL on every commit; off only for experiments
  bool create_if_missing = true;
  std::size_t block_cache_bytes = 256u << 20;
  std::size_t write_buffer_bytes = 32u << 20;
  // The ledger's identity (engine/chain.h: genesis_chain). A new or still
  // empty store takes it; an existing store must carry the same one (empty:
  // accept whatever the store carries). A store created without one chains
  // from 32 zero bytes and cannot take one once it holds events.
  std::string ledger_id;
  // The file system RocksDB writes through; null is the operating system's.
  // Tests inject faults here (a power loss that drops unsynced writes).
  std::shared_ptr<rocksdb::FileSystem> file_system;
};

class store {
 public:
  static status open(const store_options& options, std::unique_ptr<store>& out);
  // Opens a running ledger's store read-only, as a RocksDB secondary
  // instance (its own files under `follower_dir`), so tools and a separate
  // projector process can read the journal while ledgerd writes it.
  // catch_up() brings it to the primary's latest commit.
  static status open_follower(const std::string& path, const std::string& follower_dir, std::unique_ptr<store>& out);
  status catch_up();
  bool is_follower() const { return follower_; }
  // Opens a store nobody writes (a retained snapshot) read-only.
  static status open_read_only(const std::string& path, std::unique_ptr<store>& out);
  // Writes a consistent copy of the committed store to `dir` (which must not
  // exist) as a RocksDB checkpoint: hard links to its files, so it costs a
  // memtable flush, not a copy. The copy is at a batch boundary; its head
  // says which. Any thread; not while the store is being closed.
  status create_snapshot(const std::string& dir);
  // Writes a consistent copy of the committed store into a new store at
  // `dir` (which must not exist): every key of every column family as of
  // one snapshot, so at a batch boundary, flushed and synced. A logical
  // copy, so it also works on a follower (a backup taken beside a running
  // ledger) and to another file system. `head` is the copy's head.
  status copy_to(const std::string& dir, ledger_head& head) const;
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // The head as found at open(), then as of the last commit. An empty store's
  // head is seq 0 with the genesis chain.
  const ledger_head& head() const { return head_; }
  // The ledger id this store carries (empty for a store created without one)
  // and the chain hash every reader must take as the predecessor of seq 1.
  const std::string& ledger_id() const { return ledger_id_; }
  hash256 genesis() const;

  // Streams the hot state (assets, accounts, open pendings) into `state`.
  status load(ledger_state& state);

  // The state_kv the writer's machine uses: reads see this batch's writes
  // first, then committed data; writes go into the pending batch.
  state_kv& writer_kv();
  // Reads the committed values of `keys` ahead, in one RocksDB MultiGet, so
  // the writer kv's get() of them during this batch costs a hash lookup
  // rather than a Get each (writer only; valid until the batch is sealed or
  // discarded). `keys` is reordered and cut.
  void prefetch_state(std::vector<std::string>& keys);
  void add_event(std::uint64_t seq, std::string_view event_bytes, const hash256& chain);
  // A committed event, or one added to the pending batch (writer thread only).
  std::optional<event> writer_event(std::uint64_t seq) const;
  // Writes the pending batch and the new head atomically (WAL synced when
  // options.sync). On error the batch is dropped; the caller must stop
  // writing, since its in-memory state is now ahead of the store.
  status commit(const ledger_head& head);

  // The same in two steps, so the writer can decide the next batch while
  // this one is written. seal() (writer) sets the pending batch aside with
  // its head; the next batch starts empty and still reads the sealed one's
  // writes. commit_sealed() (any one thread) writes it. drop_sealed()
  // (writer, after commit_sealed returned) forgets it. At most one batch is
  // sealed at a time.
  void seal(const ledger_head& head);
  // Drops the pending batch (state writes and events added since the last
  // commit or seal) without writing anything; the head stays. Writer only,
  // with no batch sealed.
  void discard();
  status commit_sealed();
  void drop_sealed();
  std::size_t pending_bytes() const;

  // Read gating, for a writer whose log may refuse to release a committed
  // batch (engine.h). After hold_reads_for_release(), the reads below see
  // the state as of the last publish() only, not every commit: a batch
  // refused at the release gate is never visible, to the API or to
  // checkpoints. publish() (after a batch is released) takes a RocksDB
  // snapshot of what is committed. Without gating, reads see every commit.
  void hold_reads_for_release();
  void publish();

  // --- reads, any thread ---
  // `out` is replaced by the events read; the entries it held are decoded
  // over, so a reader that passes the same vector again does not reallocate.
  status read_journal(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out) const;
  status read_event(std::uint64_t seq, journal_entry& out) const;
  // One committed state record (see the key space in state.h).
  status read_state(std::string_view key, std::string& value) const;
  // Committed records whose key starts with `prefix`, from `start_after`
  // (exclusive; empty: from the first), at most `max`. `out` is replaced
  // by them, its rows assigned over (paging with one vector reuses them).
  status scan_state(std::string_view prefix, std::string_view start_after, std::size_t max,
                    std::vector<std::pair<std::string, std::string>>& out) const;
  // Digest of the committed state and the head it belongs to, from one snapshot.
  status state_digest(checkpoint& out) const;
  status save_checkpoint(const checkpoint& c);
  status load_checkpoints(std::vector<checkpoint>& out) const;
  // Flushes memtables to SST files (for a clean shutdown; not needed for durability).
  status flush();

 private:
  class batch_kv;
  store() = default;
  status check_consistency();
  // Writes options_.ledger_id into a store that holds no event yet.
  status adopt_ledger_id();
  // Journal records from the one holding `from_seq` on, decoded, in order,
  // as of `snap` (null: the latest commit).
  status read_records(std::uint64_t from_seq, std::size_t events_max, std::vector<journal_entry>& out,
                      const rocksdb::Snapshot* snap) const;
  status read_records_into(std::uint64_t from_seq, std::size_t events_max, std::vector<journal_entry>& out,
                           std::size_t& filled, const rocksdb::Snapshot* snap) const;
  // What external reads see: the published snapshot when gated, else null.
  std::shared_ptr<const rocksdb::Snapshot> read_snapshot() const;

  store_options options_;
  std::unique_ptr<rocksdb::Env> env_;  // wraps options_.file_system; outlives db_
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_ = nullptr;
  rocksdb::ColumnFamilyHandle* journal_ = nullptr;
  std::unique_ptr<batch_kv> batch_;
  // The pending batch's journal record, built as events are added.
  std::vector<journal_entry> batch_events_;
  // The sealed batch, being written (see seal()).
  std::unique_ptr<batch_kv> sealed_;
  std::unique_ptr<batch_kv> spare_;  // the last sealed batch, cleared, for the next seal
  std::vector<journal_entry> sealed_events_;
  ledger_head sealed_head_;
  std::uint64_t writer_last_seq_ = 0;  // last event handed to add_event (writer only)
  std::uint64_t head_at_open_ = 0;
  ledger_head head_;
  std::string ledger_id_;
  bool follower_ = false;
  bool gated_ = false;  // constant after hold_reads_for_release()
  mutable std::mutex published_mu_;
  std::shared_ptr<const rocksdb::Snapshot> published_;  // protected by published_mu_
  bool read_only_ = false;  // a snapshot: nothing to catch up with
};

// A journal batch record: version, first seq, count, then per event its
// length-prefixed journal record (event bytes + chain hash). One record per
// engine batch keeps the write per event to an append into one value.
std::string encode_journal_batch(std::uint64_t first_seq, const std::vector<journal_entry>& entries);
status decode_journal_batch(std::string_view bytes, std::vector<journal_entry>& out);
// The same, keeping only entries from `from_seq` on until `out` holds `max`:
// every entry's framing is checked, only the kept ones are copied. `first`
// and `count` give the record's range.
status decode_journal_range(std::string_view bytes, std::uint64_t from_seq, std::size_t max,
                            std::vector<journal_entry>& out, std::uint64_t& first, std::uint32_t& count);

// A checkpoint record: meta key 'c' + big-endian seq, value chain hash (32)
// then state digest (32). Anything else is corruption.
std::string encode_checkpoint_value(const checkpoint& c);
status decode_checkpoint(std::string_view key, std::string_view value, checkpoint& out);

// Encodes and decodes the head record (exposed for tests that tamper with it).
std::string encode_head(const ledger_head& h);
status decode_head(std::string_view bytes, ledger_head& h);

}  // namespace ledger
