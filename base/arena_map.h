// A hash map from byte-string keys to byte-string values whose records live
// in one arena, released whole.
//
// For maps that take many small writes and are thrown away (or cleared) all
// at once: the writer's per-batch overlay of state writes, and the key space
// an auditor's replay folds tens of millions of records into. A node-based
// map pays an allocation per key and per value, a free for each at the end,
// and two or three dependent cache misses per lookup; here a lookup usually
// touches one slot and one record, and clear() hands the arena's few large
// blocks back.
//
// The index is open addressing with linear probing over (hash, record)
// slots, at most half full. A record, once inserted, stays until clear():
// a deleted key keeps its record as a dead one (so a reader can tell "deleted
// here" from "never written here", and pointers to records stay valid).
// A rewritten value reuses its buffer when it fits; one that outgrows it
// leaves the old buffer in the arena until clear().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string_view>
#include <utility>
#include <vector>

namespace ledger {

class arena_map {
 public:
  struct record {
    std::string_view key;
    char* value = nullptr;  // in the arena
    std::size_t size = 0, capacity = 0;
    bool live = false;
    std::string_view value_view() const { return {value, size}; }
  };

  arena_map() = default;
  arena_map(const arena_map&) = delete;
  arena_map& operator=(const arena_map&) = delete;

  // The record of `key` (live or dead), or null if it was never inserted.
  record* find(std::string_view key);
  const record* find(std::string_view key) const { return const_cast<arena_map*>(this)->find(key); }
  // The record of `key`, inserted dead if absent, and whether it was.
  std::pair<record*, bool> insert(std::string_view key);
  // Makes `r` live with `value`, or dead.
  void set(record& r, std::string_view value);
  void kill(record& r);

  std::size_t records() const { return records_; }  // live and dead
  std::size_t live() const { return live_; }
  bool empty() const { return records_ == 0; }
  // Room for `n` records without growing the index.
  void reserve(std::size_t n);
  // Forgets every record and releases the arena; the index keeps its size.
  void clear();

 private:
  struct slot {
    std::uint64_t hash = 0;
    record* rec = nullptr;  // null: empty
  };
  static std::uint64_t hash_of(std::string_view k);
  // The slot holding `key`, or the empty slot where it would go.
  slot& find_slot(std::string_view key, std::uint64_t h);
  void grow(std::size_t slots);

  std::pmr::monotonic_buffer_resource arena_;
  std::vector<slot> slots_;  // a power of two in size, at most half full
  std::size_t records_ = 0, live_ = 0;
};

}  // namespace ledger
