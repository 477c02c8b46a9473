// A fixed pool of PostgreSQL connections for the read-model queries.
//
// Operation: `workers` threads, each owning one pqxx::connection to
// `conninfo`, take jobs from one bounded FIFO queue. A worker connects
// lazily (on its first job), then runs `SET statement_timeout` and
// `SET search_path` on the new connection, so no query can hold a worker
// longer than the timeout and every query sees the read models' schema.
// When a connection breaks (the server restarted, the network dropped) the
// worker discards it and connects again on its next job. Failed connection
// attempts are spaced by an exponential backoff from
// `reconnect_backoff_min_ms` up to `reconnect_backoff_max_ms`; during the
// backoff the worker does not wait, it fails jobs at once as `unavailable`,
// so the HTTP layer answers 503 quickly instead of queueing behind a dead
// database.
//
// Jobs: a job is any callable taking the worker's connection. The pool
// catches everything a job throws (std::exception or not); a worker never
// dies because of a job. A job is never retried (it may have had effects,
// such as answering a request, before it failed). The optional failure
// handler tells the submitter, at most once, that its job did not complete
// (see submit()).
//
// Concurrency: submit(), stats() and stop() may be called from any thread,
// except that stop() must not be called from a job (it would wait for
// itself). Jobs and failure handlers run on worker threads; they must not
// block on anything unbounded, and must not change session settings
// (statement_timeout, search_path) of the connection they are given.
//
// Limits: at most `queue_max` jobs wait; submit() on a full queue returns
// false at once (the HTTP layer answers 503). A job that waited longer than
// `queue_wait_max_ms` is not run but failed as `unavailable`: its client has
// most likely given up. Statements run at most `statement_timeout_ms`;
// connection attempts at most `connect_timeout_s`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// libpqxx 6 declares pqxx::connection as an alias of a template, which
// cannot be forward-declared portably across libpqxx versions.
#include <pqxx/connection>

#include "schemas/base.h"

namespace ledger::projections {

struct query_pool_options {
  // libpq connection string, key=value ("host=... dbname=...") or URI form.
  std::string conninfo;
  // PostgreSQL schema holding the read models (projector_options::schema);
  // set as the connection's search_path. Empty: keep the server's default.
  std::string schema = "ledger";
  int workers = 4;  // 1..workers_max
  std::size_t queue_max = 256;  // 1..queue_max_limit
  // SET statement_timeout on every new connection: 1..statement_timeout_ms_max.
  int statement_timeout_ms = 5'000;
  // libpq connect_timeout, added to conninfo unless it names one: 1..60.
  int connect_timeout_s = 5;
  int reconnect_backoff_min_ms = 50;
  int reconnect_backoff_max_ms = 5'000;  // >= reconnect_backoff_min_ms
  // Jobs older than this when a worker takes them fail instead of running.
  int queue_wait_max_ms = 10'000;
};

inline constexpr int query_pool_workers_max = 64;
inline constexpr std::size_t query_pool_queue_max_limit = 65'536;
inline constexpr int query_pool_statement_timeout_ms_max = 600'000;
inline constexpr int query_pool_backoff_ms_max = 60'000;

// invalid_argument naming the first bad option, else ok.
status validate(const query_pool_options& options);

// Counters since construction, for metrics and tests.
struct query_pool_stats {
  std::uint64_t submitted = 0;      // accepted by submit()
  std::uint64_t rejected_full = 0;  // submit() returned false: queue full
  std::uint64_t completed = 0;      // jobs that returned normally
  std::uint64_t failed = 0;         // jobs that threw
  std::uint64_t unavailable = 0;    // jobs not run: no connection (or backoff)
  std::uint64_t expired = 0;        // jobs not run: waited > queue_wait_max_ms
  std::uint64_t connects = 0;       // successful connections (first ones included)
  std::uint64_t connect_failures = 0;
  std::size_t queue_depth = 0;      // jobs waiting now
};

class query_pool {
 public:
  using job = std::function<void(pqxx::connection&)>;
  // Receives why a job did not complete: `unavailable` (no connection, the
  // connection broke, a statement timed out or was cancelled, the job waited
  // too long in the queue), `io_error` (other database or job failures), or
  // `corruption` (a value in the database could not be converted).
  using failure_handler = std::function<void(const status&)>;

  // Starts the workers; connects nothing yet. Asserts that validate(options)
  // is ok: the caller checks configuration before building the pool.
  explicit query_pool(query_pool_options options);
  // stop().
  ~query_pool();

  query_pool(const query_pool&) = delete;
  query_pool& operator=(const query_pool&) = delete;

  // Queues `j` (which must not be empty). Returns false at once, without
  // calling anything, if the queue is full or the pool is stopping. After
  // true, exactly one of these happens on a worker: `j` runs and returns;
  // or `j` throws, or never runs (no connection, waited too long), and
  // `on_failure` (if any) is called with the reason. Exceptions thrown by
  // `on_failure` are swallowed.
  bool submit(job j, failure_handler on_failure = {});

  // Refuses new jobs, lets the workers finish every queued one (each bounded
  // by queue_wait_max_ms, statement_timeout_ms and connect_timeout_s), joins
  // them and closes the connections. Idempotent. Not from a job.
  void stop();

  query_pool_stats stats() const;

 private:
  struct pending {
    job run;
    failure_handler on_failure;
    std::chrono::steady_clock::time_point enqueued_at;
  };
  struct worker;  // connection and backoff state, owned by one thread

  void worker_loop();
  void run_one(worker& w, pending& p);
  status ensure_connected(worker& w);
  void fail(pending& p, const status& s);

  // Constant after construction.
  const query_pool_options options_;
  const std::string conninfo_;  // options_.conninfo with connect_timeout

  mutable std::mutex mu_;
  std::condition_variable work_ready_;
  // Protected by mu_.
  std::deque<pending> queue_;
  bool stopping_ = false;
  query_pool_stats stats_;

  // Written by the constructor and stop() only.
  std::vector<std::thread> threads_;
  std::mutex stop_mu_;  // serializes concurrent stop() calls
};

// Converts the exception being handled into a status; call only inside a
// catch block. `context` prefixes the message ("history", "connect").
// Connection loss, statement timeouts, cancellation, server shutdown and
// resource exhaustion are `unavailable` (retryable); values that do not
// convert are `corruption`; everything else is `io_error`.
status status_from_current_exception(std::string_view context);

}  // namespace ledger::projections
