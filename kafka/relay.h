// The outbox relay: copies the engine's journal to the Kafka events topic,
// one record per event, in seq order, on partition 0 (record format in
// schemas/kafka_records.md, "Events topic").
//
// Operation: a round reads up to batch_events_max events after the last
// published seq from the journal, checks that they follow it (consecutive
// seqs, chain hashes), produces them all with an idempotent producer
// (acks=all, in-order retries) and waits until the brokers acknowledged every
// one. The last published seq is never kept in a local file: it is read
// from the topic itself (the record at high watermark - 1, whose chain must
// match the journal's at that seq), when the relay starts and again after
// any error, after the producer was dropped. So a crash between produce and
// acknowledgement can neither lose nor reorder events; it can publish a
// record once more, which consumers drop by seq (kafka::event_reader does).
//
// Concurrency: start() runs rounds on the relay's own thread, backing off
// (bounded exponential, retry_min_ms..retry_max_ms) after an error and
// waiting on the journal (idle_wait_ms at a time) when it is caught up.
// step() runs one round on the caller's thread, for tests and tools; rounds
// never overlap. stats() and wait_for() are safe from any thread.
//
// Limits: at most batch_events_max events in memory and in flight. Every wait
// on the brokers is bounded by delivery_timeout_ms (a round with brokers down
// fails after about that long); stop() waits for the round in progress.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/journal_source.h"
#include "kafka/client.h"
#include "kafka/event_reader.h"

namespace ledger::kafka {

struct relay_options {
  std::size_t batch_events_max = 5000;
  int idle_wait_ms = 100;
  int retry_min_ms = 100;
  int retry_max_ms = 5000;
  int delivery_timeout_ms = 10000;
};

struct relay_stats {
  std::uint64_t published_seq = 0;  // every seq up to this one is in the topic
  std::uint64_t published = 0;      // records acknowledged by this relay
  std::uint64_t failures = 0;       // failed rounds
  std::string last_error;
  bool healthy = false;             // the last round succeeded
};

class relay {
 public:
  // `source` must stay valid until the relay is destroyed.
  relay(options kafka_options, journal_source source, relay_options ro = {});
  ~relay();  // stops
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  // Starts the relay's thread. Call once.
  void start();
  // Stops and joins the thread (idempotent).
  void stop();
  // One round on the caller's thread: resumes from the topic if needed,
  // publishes up to batch_events_max events that the journal holds after the
  // last published seq, and waits until the brokers acknowledged them all.
  // `published` is how many. Errors: `unavailable` (brokers; the next round
  // resumes from the topic), `corruption` (the topic does not match the
  // journal, or the journal is broken), or the journal's own error.
  status step(std::size_t& published);
  relay_stats stats() const;
  // True once published_seq >= seq; false when timeout_ms passed first.
  bool wait_for(std::uint64_t seq, int timeout_ms) const;

 private:
  void run();
  status resume();
  status check_batch(const std::vector<journal_entry>& batch) const;
  status produce(const std::vector<journal_entry>& batch);
  status await_acks(const std::vector<journal_entry>& batch);
  void drop_producer();
  void acknowledged(std::uint64_t seq);
  status failed(status s);

  // Constant after construction.
  const options options_;
  const journal_source source_;
  const relay_options ro_;

  // Used by the round in progress only (round_mu_ held).
  std::mutex round_mu_;
  std::unique_ptr<event_reader> reader_;  // resumes from the topic
  handle producer_;
  bool resumed_ = false;
  std::uint64_t cursor_seq_ = 0;  // last seq known to be in the topic
  hash256 cursor_chain_{};        // and its chain hash

  // Protected by mu_.
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // published_seq advanced, or stopping
  relay_stats stats_;
  bool stopping_ = false;

  std::thread thread_;
};

}  // namespace ledger::kafka
