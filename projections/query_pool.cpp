#include "projections/query_pool.h"

#include <algorithm>
#include <memory>
#include <utility>

#include <poll.h>

#include <pqxx/pqxx>

namespace ledger::projections {

namespace {

using clock_type = std::chrono::steady_clock;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// libpqxx messages end in a newline (and sometimes carry the failed query
// after it); a status message is one line.
std::string first_line(const char* what) {
  std::string s(what ? what : "");
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Every connection gets a bounded connect, unless the operator chose one.
std::string with_connect_timeout(const std::string& conninfo, int timeout_s) {
  if (conninfo.find("connect_timeout") != std::string::npos) return conninfo;
  const std::string setting = "connect_timeout=" + std::to_string(timeout_s);
  if (starts_with(conninfo, "postgresql://") || starts_with(conninfo, "postgres://"))
    return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") + setting;
  return conninfo.empty() ? setting : conninfo + " " + setting;
}

int elapsed_ms(clock_type::time_point since) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - since).count());
}

// An idle connection receives data only when the server is closing it (a
// restart sends FATAL 57P01, then EOF) or, rarely, for an asynchronous
// notice. Either way a ping tells whether it still works, and it costs a
// round trip only in that case; a job would otherwise be the one to fail
// on a restart. Nothing readable tells nothing: then the job finds out.
// (libpq's PQconsumeInput, behind get_notifs(), reads the FATAL message but
// leaves the connection marked good until the next read meets the EOF.)
bool connection_looks_alive(pqxx::connection& c) {
  if (!c.is_open()) return false;
  pollfd pfd{c.sock(), POLLIN, 0};
  if (::poll(&pfd, 1, 0) <= 0) return true;
  try {
    pqxx::nontransaction ping(c);
    ping.exec("SELECT 1");
  } catch (...) {
    return false;
  }
  return c.is_open();
}

}  // namespace

status status_from_current_exception(std::string_view context) {
  const std::string prefix = std::string(context) + ": ";
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return status::unavailable(prefix + "database connection lost: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    const std::string state = e.sqlstate();
    const std::string detail = first_line(e.what()) + " (SQLSTATE " + state + ")";
    if (state == "57014") return status::unavailable(prefix + "query cancelled or timed out: " + detail);
    // 08: connection exception; 57P: operator intervention (shutdown);
    // 53: insufficient resources; 40: rollback (serialization). All pass.
    if (starts_with(state, "08") || starts_with(state, "57P") || starts_with(state, "53") || starts_with(state, "40"))
      return status::unavailable(prefix + detail);
    return status::io_error(prefix + "query failed: " + detail);
  } catch (const pqxx::transaction_rollback& e) {
    return status::unavailable(prefix + first_line(e.what()));
  } catch (const pqxx::conversion_error& e) {
    return status::corruption(prefix + "unexpected value in the read models: " + first_line(e.what()));
  } catch (const std::exception& e) {
    return status::io_error(prefix + first_line(e.what()));
  } catch (...) {
    return status::io_error(prefix + "unknown exception");
  }
}

status validate(const query_pool_options& o) {
  auto bad = [](const std::string& what) { return status::invalid_argument("query pool: " + what); };
  if (o.conninfo.empty()) return bad("conninfo is empty");
  if (o.schema.size() > 63) return bad("schema name is longer than 63 bytes");
  if (o.workers < 1 || o.workers > query_pool_workers_max)
    return bad("workers must be 1 to " + std::to_string(query_pool_workers_max));
  if (o.queue_max < 1 || o.queue_max > query_pool_queue_max_limit)
    return bad("queue_max must be 1 to " + std::to_string(query_pool_queue_max_limit));
  if (o.statement_timeout_ms < 1 || o.statement_timeout_ms > query_pool_statement_timeout_ms_max)
    return bad("statement_timeout_ms must be 1 to " + std::to_string(query_pool_statement_timeout_ms_max));
  if (o.connect_timeout_s < 1 || o.connect_timeout_s > 60) return bad("connect_timeout_s must be 1 to 60");
  if (o.reconnect_backoff_min_ms < 1 || o.reconnect_backoff_max_ms < o.reconnect_backoff_min_ms ||
      o.reconnect_backoff_max_ms > query_pool_backoff_ms_max)
    return bad("reconnect backoff must satisfy 1 <= min <= max <= " + std::to_string(query_pool_backoff_ms_max));
  if (o.queue_wait_max_ms < 1 || o.queue_wait_max_ms > query_pool_statement_timeout_ms_max)
    return bad("queue_wait_max_ms must be 1 to " + std::to_string(query_pool_statement_timeout_ms_max));
  return status::ok();
}

struct query_pool::worker {
  std::unique_ptr<pqxx::connection> conn;
  int backoff_ms = 0;  // the wait after the last failed attempt; 0 after a success
  clock_type::time_point next_attempt_at{};
  std::string last_error;
};

query_pool::query_pool(query_pool_options options)
    : options_(std::move(options)), conninfo_(with_connect_timeout(options_.conninfo, options_.connect_timeout_s)) {
  const status s = validate(options_);
  LEDGER_ASSERT(s.is_ok(), "%s", s.message().c_str());
  threads_.reserve(static_cast<std::size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i)
    threads_.emplace_back([this] { worker_loop(); });
}

query_pool::~query_pool() { stop(); }

bool query_pool::submit(job j, failure_handler on_failure) {
  LEDGER_ASSERT(static_cast<bool>(j), "query_pool::submit needs a job");
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    if (queue_.size() >= options_.queue_max) {
      ++stats_.rejected_full;
      return false;
    }
    queue_.push_back(pending{std::move(j), std::move(on_failure), clock_type::now()});
    ++stats_.submitted;
    stats_.queue_depth = queue_.size();
  }
  work_ready_.notify_one();
  return true;
}

void query_pool::stop() {
  std::lock_guard stop_lock(stop_mu_);
  for (const auto& t : threads_)
    LEDGER_ASSERT(t.get_id() != std::this_thread::get_id(), "query_pool::stop called from a job");
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

query_pool_stats query_pool::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void query_pool::worker_loop() {
  worker w;
  for (;;) {
    pending p;
    {
      std::unique_lock lock(mu_);
      // An idle worker has nothing to time out: stop() always wakes it, and
      // it leaves only once the queue is drained.
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      p = std::move(queue_.front());
      queue_.pop_front();
      stats_.queue_depth = queue_.size();
    }
    run_one(w, p);
  }
}

void query_pool::run_one(worker& w, pending& p) {
  if (const int waited_ms = elapsed_ms(p.enqueued_at); waited_ms > options_.queue_wait_max_ms) {
    {
      std::lock_guard lock(mu_);
      ++stats_.expired;
    }
    fail(p, status::unavailable("query waited " + std::to_string(waited_ms) + " ms in the queue (limit " +
                                std::to_string(options_.queue_wait_max_ms) + " ms)"));
    return;
  }
  if (status s = ensure_connected(w); !s) {
    {
      std::lock_guard lock(mu_);
      ++stats_.unavailable;
    }
    fail(p, s);
    return;
  }

  status outcome;
  bool broken = false;
  try {
    p.run(*w.conn);
  } catch (const pqxx::broken_connection&) {
    broken = true;
    outcome = status_from_current_exception("query");
  } catch (...) {
    outcome = status_from_current_exception("query");
  }
  // A job may have caught a connection failure itself; the connection's own
  // state says whether it survived.
  if (broken || !w.conn->is_open()) w.conn.reset();
  {
    std::lock_guard lock(mu_);
    ++(outcome.is_ok() ? stats_.completed : stats_.failed);
  }
  if (!outcome) fail(p, outcome);
}

status query_pool::ensure_connected(worker& w) {
  if (w.conn && !connection_looks_alive(*w.conn)) w.conn.reset();
  if (w.conn) return status::ok();
  if (const auto now = clock_type::now(); now < w.next_attempt_at) {
    const auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(w.next_attempt_at - now).count();
    return status::unavailable("database unreachable, next connection attempt in " + std::to_string(wait_ms) +
                               " ms; last error: " + w.last_error);
  }
  try {
    auto c = std::make_unique<pqxx::connection>(conninfo_);
    // The settings below live in the session. libpqxx 6 would silently
    // reconnect a broken connection without them; the pool reconnects itself.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    c->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    {
      pqxx::nontransaction n(*c);
      n.exec("SET statement_timeout = " + std::to_string(options_.statement_timeout_ms));
      if (!options_.schema.empty()) n.exec("SET search_path TO " + c->quote_name(options_.schema));
    }
    w.conn = std::move(c);
    w.backoff_ms = 0;
    w.last_error.clear();
    std::lock_guard lock(mu_);
    ++stats_.connects;
    return status::ok();
  } catch (...) {
    const status s = status_from_current_exception("connect");
    w.backoff_ms = w.backoff_ms == 0 ? options_.reconnect_backoff_min_ms
                                     : std::min(w.backoff_ms * 2, options_.reconnect_backoff_max_ms);
    w.next_attempt_at = clock_type::now() + std::chrono::milliseconds(w.backoff_ms);
    w.last_error = s.message();
    {
      std::lock_guard lock(mu_);
      ++stats_.connect_failures;
    }
    // Whatever went wrong, the job cannot run now and may later: retryable.
    return status::unavailable(s.message());
  }
}

void query_pool::fail(pending& p, const status& s) {
  if (!p.on_failure) return;
  // A handler's own failure has nowhere to go, and the worker must survive it.
  try {
    p.on_failure(s);
  } catch (...) {
  }
}

}  // namespace ledger::projections
