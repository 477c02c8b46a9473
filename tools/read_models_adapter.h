// api::read_models over the projections' query pool: each read runs on a
// pool worker with its own PostgreSQL connection, after waiting (bounded) for
// the projection to reach the client's min_seq. The projection's progress
// comes from the projector in this process, or, when it runs elsewhere
// (Kafka deployments), from its checkpoint row in PostgreSQL.
#pragma once

#include <chrono>
#include <thread>

#include "api/read_models.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "projections/reconcile.h"
#include "projections/query_pool.h"

namespace ledger {

class read_models_adapter final : public api::read_models {
 public:
  // `proj`: the projector in this process, or null to read the checkpoint.
  read_models_adapter(projections::query_pool& pool, const projections::projector* proj, int min_seq_wait_ms)
      : pool_(pool), proj_(proj), wait_ms_(min_seq_wait_ms) {}

  bool run(api::read_query q, api::read_done done) override {
    return pool_.submit(
        [this, q, done](pqxx::connection& c) {
          if (q.min_seq > 0 && !reached(c, q.min_seq))
            return done(status::unavailable("the read models have not reached seq " + std::to_string(q.min_seq) + " yet"),
                        {}, projected(c));
          std::string json;
          status s = execute(c, q, json);
          done(s, std::move(json), projected(c));
        },
        [done, this](const status& s) { done(s, {}, proj_ ? proj_->stats().projected_seq : 0); });
  }

  status health() const override { return proj_ ? projections::projection_health(proj_->stats()) : status::ok(); }

 private:
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
  bool reached(pqxx::connection& c, std::uint64_t seq) const {
    if (proj_) return proj_->wait_for(seq, wait_ms_);
    for (int waited = 0;; waited += 50) {
      if (projected(c) >= seq) return true;
      if (waited >= wait_ms_) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static std::optional<std::string> param(const api::read_query& q, const char* name) {
    auto it = q.params.find(name);
    if (it == q.params.end()) return std::nullopt;
    return it->second;
  }

  static status execute(pqxx::connection& c, const api::read_query& q, std::string& json) {
    using k = api::read_query::kind;
    switch (q.what) {
      case k::history: {
        projections::history_filters f{param(q, "type"), param(q, "status"), param(q, "asset"),
                                       param(q, "from"), param(q, "to"),     param(q, "reference")};
        int limit = 50;
        if (auto l = param(q, "limit")) limit = std::atoi(l->c_str());
        return projections::history(c, q.id, f, param(q, "cursor").value_or(""), limit, json);
      }
      case k::transaction: return projections::transaction_detail(c, q.id, json, q.visible_to_owner);
      case k::statement:
        return projections::statement(c, q.id, param(q, "asset").value_or(""), param(q, "from").value_or(""),
                                      param(q, "to").value_or(""), json);
      case k::balance_at:
        return projections::balance_at(c, q.id, param(q, "asset").value_or(""), param(q, "at").value_or(""), json);
      case k::by_reference: return projections::by_reference(c, param(q, "reference").value_or(""), json, q.visible_to_owner);
      case k::reconcile:
        return projections::reconcile(c, param(q, "account").value_or(""), param(q, "format").value_or("stripe-payments"),
                                      param(q, "report").value_or(""), json);
      case k::reconciliation: return projections::reconciliation(c, q.id, param(q, "outcome").value_or(""), json);
    }
    return status::invalid_argument("unknown query");
  }

  projections::query_pool& pool_;
  const projections::projector* proj_;
  int wait_ms_;
};

}  // namespace ledger
