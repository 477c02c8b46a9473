// The API side of the Kafka path: produces each submission to the commands
// topic and hands the engine's outcome, when it comes back on the replies
// topic, to the request waiting for it.
//
// Routing: each record carries this instance's id (header reply-to) and a
// correlation number (header corr); the engine answers on the replies
// topic keyed by the instance id. This instance reads every partition of
// the replies topic from where it stood when it started, and keeps only its
// own. So any number of API instances can run behind a load balancer.
//
// Failure: a request never waits longer than request_timeout_ms. When the
// brokers are down, submit() answers `closed` at once (503 with
// Retry-After); a record whose delivery fails, or whose outcome does not
// arrive in time, completes with an `unavailable` error that tells the
// client the command may or may not have been applied, so it retries with
// the same Idempotency-Key (the engine answers a retry with the stored
// outcome). Nothing is acknowledged before the engine's batch is durable.
//
// Limits: at most `in_flight_max` submissions waiting (beyond: `full`).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "engine/command_log.h"
#include "kafka/client.h"

namespace ledger::kafka {

struct submitter_options {
  std::size_t in_flight_max = 65'536;
};

struct submitter_stats {
  std::uint64_t produced = 0;
  std::uint64_t replies = 0;           // matched to a waiting request
  std::uint64_t stray_replies = 0;     // for this instance, but nobody waits (late, or a replay by a new engine)
  std::uint64_t delivery_failures = 0;
  std::uint64_t timeouts = 0;
  std::size_t in_flight = 0;
  bool brokers_up = false;
};

class submitter {
 public:
  static status open(const options& o, submitter_options so, std::unique_ptr<submitter>& out);
  ~submitter();

  // Any thread. `done` runs on the submitter's thread, once.
  append_result submit(std::vector<command>&& commands, completion done);
  // Answers every waiting request with an error and stops.
  void stop();

  bool brokers_up() const { return brokers_up_.load(); }
  // The highest event seq among the outcomes this instance received.
  std::uint64_t last_seq() const { return last_seq_.load(); }
  submitter_stats stats() const;

 private:
  struct waiting {
    completion done;
    std::int64_t deadline_ms;
    std::size_t commands;
  };
  submitter() = default;
  void run();
  void on_reply(rd_kafka_message_t* m);
  void complete(std::uint64_t corr, const status& error);
  static void delivery_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  static void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque);
  static std::int64_t now_ms();

  options o_;
  submitter_options so_;
  handle producer_;
  handle replies_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> brokers_up_{true};
  std::atomic<std::uint64_t> last_seq_{0};

  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, waiting> waiting_;  // by correlation number
  // Starts at a random number: a reply meant for this instance id's previous
  // life (a restart reuses the id) must not match a request of this one.
  std::uint64_t next_corr_ = 1;
  submitter_stats stats_;
};

}  // namespace ledger::kafka
