// The ledger's events topic read as a journal (the record format is in
// schemas/kafka_records.md, "Events topic").
//
// Operation: one consumer, manually assigned to partition 0 of the events
// topic: no consumer group membership and no offset commits, since the
// caller keeps its own position (a seq). A read that starts at the seq right
// after the last one returned continues where the consumer is. Any other
// starting seq is located by a search over offsets (below). Every record is
// validated; duplicates (a relay that published a record twice after a lost
// acknowledgement) are dropped; a missing seq is an error naming that seq,
// never a silent skip; when the predecessor is known, the chain hash of each
// record is checked against it.
//
// Seeking cost: seq and offset both grow and duplicates are rare, so the
// reader reads the record at the low watermark, guesses the offset of the
// wanted seq from it (exact when the topic holds no duplicate below it), and
// otherwise binary-searches between the watermarks. One probe is one fetch of
// one record (plus what the consumer prefetches with it), so a seek costs two
// probes when the guess is right and at most 2 + log2(high - low) otherwise,
// besides one watermark query. head() and wait_for() probe the last record
// too; a sequential read after them re-assigns the consumer at its position
// (one fetch), without a search.
//
// Assumption: the first copy of each seq appears in seq order (duplicates
// only repeat seqs already written), which the relay guarantees by
// resuming from the topic's last record after any error.
//
// Concurrency: none. One thread uses a reader (and the journal_source bound
// by source()) at a time.
//
// Limits: a read returns at most min(max, read_events_max) events; the
// consumer buffers at most buffer_kbytes of fetched records; every wait on the
// brokers is bounded by request_timeout_ms, a read with nothing to return by
// poll_ms.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/journal_source.h"
#include "engine/store.h"
#include "kafka/client.h"

namespace ledger::kafka {

struct event_reader_options {
  int poll_ms = 100;                 // how long read() waits when nothing is there yet
  int request_timeout_ms = 10'000;   // a watermark query or one probe
  std::size_t read_events_max = 10'000;
  int buffer_kbytes = 4'096;         // records fetched ahead of the reader
  // How long the broker holds a fetch at the end of the topic. Every seek
  // and probe waits for the fetch in flight, so this is also their latency
  // at the end of the topic; shorter costs more idle fetches.
  int fetch_wait_ms = 20;
};

class event_reader {
 public:
  static status open(const options& o, std::unique_ptr<event_reader>& out);
  static status open(const options& o, const event_reader_options& ro, std::unique_ptr<event_reader>& out);
  ~event_reader();
  event_reader(const event_reader&) = delete;
  event_reader& operator=(const event_reader&) = delete;

  // Events with seq >= from_seq (0 reads from 1), at most max, strictly
  // consecutive from from_seq. Duplicates are skipped. A missing seq, or a
  // malformed record, is `corruption` naming the seq or the offset; events
  // before it are returned first (the next read then reports the error).
  // An empty vector means the topic holds nothing at from_seq yet (after
  // waiting at most poll_ms). Broker trouble is `unavailable`.
  status read(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out);
  // True once the topic holds `seq`, false when timeout_ms passed first.
  bool wait_for(std::uint64_t seq, int timeout_ms);
  // Seq, chain, log time and input position of the topic's last event (all
  // zero when the topic is empty). On a broker error it returns the last
  // head it could read. The engine's own head can have a later input
  // position: idempotent replays advance it and write no event.
  ledger_head head();
  // The topic's last record, validated (seq 0 when the topic is empty).
  status last(journal_entry& out);
  // read/wait_for/head bound to this reader, which must outlive it.
  journal_source source();

 private:
  event_reader(const options& o, const event_reader_options& ro);
  status check_topic(int timeout_ms);
  status assign_at(std::int64_t offset);
  // The next record of the assigned partition (nullptr when none came
  // before the deadline); partition errors become a status.
  status poll(int timeout_ms, message& out);
  // Reads the record at `offset` (or the first after it).
  status probe(std::int64_t offset, int timeout_ms, journal_entry& e, std::int64_t& found_offset);
  status last_within(int timeout_ms, journal_entry& out);
  // Positions next_offset_ at the first record with seq >= from_seq.
  status locate(std::uint64_t from_seq);
  status decode(const rd_kafka_message_t* m, journal_entry& out) const;
  status query_watermarks(int timeout_ms, std::int64_t& low, std::int64_t& high);
  // The highest high watermark seen (queried, or cached from fetches).
  std::int64_t high_watermark();
  status corrupt(std::int64_t offset, const std::string& what) const;

  // Constant after open().
  options options_;
  event_reader_options ro_;
  handle consumer_;

  // Position (single-threaded).
  bool topic_checked_ = false;
  std::uint64_t next_seq_ = 0;         // the seq the next sequential read returns; 0: none
  std::int64_t next_offset_ = -1;      // where the search for next_seq_ continues
  std::int64_t consumer_offset_ = -1;  // what the consumer delivers next; -1: unknown
  std::int64_t known_high_ = 0;        // every offset below holds a record
  bool prev_chain_known_ = false;      // chain of next_seq_ - 1 is in prev_chain_
  hash256 prev_chain_{};
  std::uint64_t seen_seq_ = 0;  // the topic is known to hold every seq up to this one
  ledger_head last_head_;
};

}  // namespace ledger::kafka
