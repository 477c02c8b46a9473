// Folding a journal into a state, checking it on the way: the core of
// `audit verify`, `audit state` and `audit trial-balance`.
//
// An event_stream reads on its own thread (reading, decompressing, checking
// seq order and every chain link, decoding) and hands decoded batches to the
// caller over a bounded queue; fold() applies them on the caller's thread
// (check_event and the state machine's apply), so the two halves overlap on
// two cores. The first problem found, in seq order, stops it: `corruption`
// with a message starting "seq N: ".
//
// Limits: at most fold_queue_batches batches of fold_batch_events events are
// in flight between the threads, and as many finished ones wait for reuse.
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "base/arena_map.h"
#include "engine/state.h"
#include "tools/audit/progress.h"
#include "tools/audit/source.h"

namespace ledger::audit {

inline constexpr std::size_t fold_batch_events = 16384;
inline constexpr std::size_t fold_queue_batches = 8;

// The key space of a state being rebuilt from seq 1: a hash index (fast
// puts) with a key order kept up to date lazily, so that walking it at each
// of many checkpoints costs a sort of the keys added since the previous walk
// and a linear merge, not a sort of the whole state.
//
// The records live in an arena_map (base/arena_map.h): open addressing, one
// arena released whole, so tens of millions of records go in milliseconds,
// and a deleted key keeps its record (dead), so the pointers the order holds
// stay valid.
class hash_kv final : public state_kv {
 public:
  hash_kv() = default;
  hash_kv(const hash_kv&) = delete;
  hash_kv& operator=(const hash_kv&) = delete;
  std::optional<std::string> get(std::string_view key) override;
  void put(std::string_view key, std::string_view value) override;
  void del(std::string_view key) override;
  // Records, deleted ones left out.
  std::size_t size() const { return map_.live(); }
  // Room for `n` records without growing the index (a journal of n events
  // holds up to n idempotency records).
  void reserve(std::size_t n) { map_.reserve(n); }
  // In key order. Not const: it brings the order up to date.
  void walk(const std::function<void(std::string_view, std::string_view)>& fn);

 private:
  using record = arena_map::record;
  void sort_added();

  arena_map map_;
  std::vector<const record*> sorted_;  // every record, by key, as of the last walk
  std::vector<const record*> added_;   // records inserted since
};

// The key space of a retained snapshot (read-only) with the changes of the
// events folded after it on top.
class overlay_kv final : public state_kv {
 public:
  explicit overlay_kv(const store& base) : base_(base) {}
  std::optional<std::string> get(std::string_view key) override;
  void put(std::string_view key, std::string_view value) override { overlay_[std::string(key)] = std::string(value); }
  void del(std::string_view key) override { overlay_[std::string(key)] = std::nullopt; }
  // Merges the snapshot's records with the overlay, in key order.
  status walk(const std::function<void(std::string_view, std::string_view)>& fn) const;

 private:
  const store& base_;
  std::map<std::string, std::optional<std::string>, std::less<>> overlay_;
};

struct fold_bound {
  std::uint64_t seq_max = std::numeric_limits<std::uint64_t>::max();
  std::int64_t log_ts_max_us = std::numeric_limits<std::int64_t>::max();
};

struct decoded_event {
  hash256 chain{};
  event e;
};

class event_stream {
 public:
  // Events from start.seq + 1 to seq_max. With check_chain, start.chain
  // must be the chain hash of start.seq (zero for seq 0).
  event_stream(source& src, const ledger_head& start, std::uint64_t seq_max, bool check_chain);
  ~event_stream();
  event_stream(const event_stream&) = delete;
  event_stream& operator=(const event_stream&) = delete;
  // The next batch, in seq order; false at the end (then error() says
  // whether the end is a problem). What `out` held before is given back to
  // the reader, which decodes later events over it.
  bool next(std::vector<decoded_event>& out);
  status error();

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

struct fold_result {
  ledger_head head;  // the last event applied
  std::uint64_t events = 0;
};

// Called after each event is applied, with the event; returning an error
// stops the fold with it.
using fold_hook = std::function<status(const event&, const hash256& chain)>;

// Folds events from start.seq + 1 into `state` (which holds the state at
// start.seq; start.chain is that event's chain hash, zero for seq 0).
status fold(source& src, ledger_state& state, const ledger_head& start, const fold_bound& bound, progress* prog,
            const fold_hook& after_event, fold_result& out);

// What a state walk gathers besides the digest.
struct balance_row {
  std::uint64_t account = 0;
  account_kind kind = account_kind::user;
  account_status state = account_status::active;
  std::string owner;
  balance_record balance;
};

struct state_summary {
  hash256 digest{};
  std::vector<balance_row> balances;       // account id, then asset order
  std::vector<pending_record> open_holds;  // open holds and withdrawals, by id
  std::map<std::string, int> scales;       // asset code -> decimal places
  // An amount in major units of `asset` ("12.50"), as on the HTTP API.
  std::string major(amount_t minor, const std::string& asset) const;
};

// Digest of the walked key space, and its balances and open pendings.
status summarize(const std::function<status(const std::function<void(std::string_view, std::string_view)>&)>& walk,
                 state_summary& out);

}  // namespace ledger::audit
