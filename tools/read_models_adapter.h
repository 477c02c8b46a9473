// api::read_models over the projections' query pool: each read runs on a
// pool worker with its own PostgreSQL connection. A read with min_seq first
// waits (bounded in time and in number, projections/seq_waiters.h) without a
// worker until the projection reaches it. The projection's progress comes
// from the projector in this process, or, when it runs elsewhere (Kafka
// deployments), from its checkpoint row in PostgreSQL.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "api/read_models.h"
#include "projections/activity.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "projections/reconcile.h"
#include "projections/query_pool.h"
#include "projections/seq_waiters.h"

namespace ledger {

class read_models_adapter final : public api::read_models {
 public:
  // `proj`: the projector in this process, or null to read the checkpoint.
  // At most `min_seq_waiters_max` reads wait for min_seq at once, each at
  // most `min_seq_wait_ms`.
  read_models_adapter(projections::query_pool& pool, const projections::projector* proj, int min_seq_wait_ms,
                      std::size_t min_seq_waiters_max)
      : pool_(pool),
        proj_(proj),
        wait_ms_(min_seq_wait_ms),
        // In process, a waiter that arrives while the thread waits for a
        // higher seq is seen within 10 ms; a checkpoint read costs a query,
        // so it is made every 50 ms at most.
        waiters_([this](std::uint64_t want, int wait_ms) { return progress(want, wait_ms); }, min_seq_waiters_max,
                 proj ? 10 : 50) {}

  // A read with min_seq waits in waiters_ (no query worker) until the read
  // models reach it; only then does its query go to the pool.
  bool run(api::read_query q, api::read_done done) override {
    if (q.min_seq == 0) return submit(std::move(q), std::move(done));
    const std::uint64_t seq = q.min_seq;
    return waiters_.wait(seq, wait_ms_, [this, q = std::move(q), done = std::move(done)](bool reached) mutable {
      if (!reached)
        return done(status::unavailable("the read models have not reached seq " + std::to_string(q.min_seq) + " yet"),
                    {}, waiters_.applied());
      if (!submit(std::move(q), done))
        done(status::unavailable("too many reads in progress; retry shortly"), {}, waiters_.applied());
    });
  }

  status health() const override { return proj_ ? projections::projection_health(proj_->stats()) : status::ok(); }

  // Answers every waiting read (503) and refuses new waits. Before the pool stops.
  void stop() { waiters_.stop(); }
  // Reads waiting for min_seq now (for /metrics).
  std::size_t waiting() const { return waiters_.waiting(); }

 private:
  bool submit(api::read_query q, api::read_done done) {
    return pool_.submit(
        [this, q = std::move(q), done](pqxx::connection& c) {
          std::string json;
          status s = execute(c, q, json);
          done(s, std::move(json), projected(c));
        },
        [done, this](const status& s) { done(s, {}, proj_ ? proj_->stats().projected_seq : 0); });
  }

  std::uint64_t projected(pqxx::connection& c) const {
    if (proj_) return proj_->stats().projected_seq;
    projections::projection_position_info info;
    std::string ignored;
    try {
      if (!projections::projection_position(c, "read_models", info, ignored)) return 0;
    } catch (const std::exception&) {
      return 0;
    }
    return info.last_seq;
  }

  // The waiters' progress source (their thread only). In process: the
  // projector's own condition variable. Otherwise the checkpoint row, read
  // by one short pool job at a time (never one per waiter).
  std::uint64_t progress(std::uint64_t want, int wait_ms) {
    if (proj_) {
      proj_->wait_for(want, wait_ms);
      return proj_->stats().projected_seq;
    }
    std::unique_lock lock(poll_mu_);
    if (!poll_in_flight_) {
      poll_in_flight_ = true;
      auto finished = [this](std::uint64_t seq) {
        std::lock_guard l(poll_mu_);
        polled_ = std::max(polled_, seq);
        poll_in_flight_ = false;
        poll_done_.notify_all();
      };
      lock.unlock();
      bool queued = pool_.submit([this, finished](pqxx::connection& c) { finished(projected(c)); },
                                 [finished](const status&) { finished(0); });
      lock.lock();
      if (!queued) poll_in_flight_ = false;
    }
    poll_done_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return !poll_in_flight_; });
    return polled_;
  }

  static std::optional<std::string> param(const api::read_query& q, const char* name) {
    auto it = q.params.find(name);
    if (it == q.params.end()) return std::nullopt;
    return it->second;
  }

  // A limit parameter as given; anything not a number of 1..9 digits is 0,
  // which the query refuses naming `limit`.
  static int page_limit(const api::read_query& q, int fallback) {
    auto l = param(q, "limit");
    if (!l) return fallback;
    if (l->empty() || l->size() > 9 || l->find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::atoi(l->c_str());
  }

  static status execute(pqxx::connection& c, const api::read_query& q, std::string& json) {
    using k = api::read_query::kind;
    switch (q.what) {
      case k::history: {
        projections::history_filters f{param(q, "type"), param(q, "status"), param(q, "asset"),
                                       param(q, "from"), param(q, "to"),     param(q, "reference")};
        int limit = 50;
        if (auto l = param(q, "limit")) limit = std::atoi(l->c_str());
        return projections::history(c, q.id, f, param(q, "cursor").value_or(""), limit, json, q.visible_to_owner);
      }
      case k::transaction: return projections::transaction_detail(c, q.id, json, q.visible_to_owner);
      case k::statement:
        return projections::statement(c, q.id, param(q, "asset").value_or(""), param(q, "from").value_or(""),
                                      param(q, "to").value_or(""), json, q.visible_to_owner);
      case k::balance_at:
        return projections::balance_at(c, q.id, param(q, "asset").value_or(""), param(q, "at").value_or(""), json);
      case k::by_reference: return projections::by_reference(c, param(q, "reference").value_or(""), json, q.visible_to_owner);
      case k::reconcile:
        return projections::reconcile(c, param(q, "account").value_or(""), param(q, "format").value_or("stripe-payments"),
                                      param(q, "report").value_or(""), json);
      case k::reconciliation: return projections::reconciliation(c, q.id, param(q, "outcome").value_or(""), json);
      case k::payment_requests:
        return projections::list_payment_requests(c, param(q, "owner").value_or(""), param(q, "role").value_or(""),
                                                  param(q, "status").value_or(""), param(q, "cursor").value_or(""),
                                                  page_limit(q, 50), json, q.reveal);
      case k::activity:
        return projections::list_activity(c, param(q, "owner").value_or(""), param(q, "from").value_or(""),
                                          param(q, "to").value_or(""), param(q, "cursor").value_or(""),
                                          page_limit(q, 100), json);
    }
    return status::invalid_argument("unknown query");
  }

  // Constant after construction.
  projections::query_pool& pool_;
  const projections::projector* proj_;
  const int wait_ms_;

  // The checkpoint poll (no in-process projector). Protected by poll_mu_.
  std::mutex poll_mu_;
  std::condition_variable poll_done_;
  bool poll_in_flight_ = false;
  std::uint64_t polled_ = 0;

  // Last: its thread calls progress(), which uses the members above.
  projections::seq_waiters waiters_;
};

}  // namespace ledger
