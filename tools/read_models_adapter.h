// api::read_models over the projections' query pool: each read runs on a
// pool worker with its own PostgreSQL connection, after waiting (bounded) for
// the projection to reach the client's min_seq.
#pragma once

#include "api/read_models.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "projections/query_pool.h"

namespace ledger {

class read_models_adapter final : public api::read_models {
 public:
  read_models_adapter(projections::query_pool& pool, const projections::projector& proj, int min_seq_wait_ms)
      : pool_(pool), proj_(proj), wait_ms_(min_seq_wait_ms) {}

  bool run(api::read_query q, api::read_done done) override {
    return pool_.submit(
        [this, q, done](pqxx::connection& c) {
          if (q.min_seq > 0 && !proj_.wait_for(q.min_seq, wait_ms_))
            return done(status::unavailable("the read models have not reached seq " + std::to_string(q.min_seq) + " yet"),
                        {}, proj_.stats().projected_seq);
          std::string json;
          status s = execute(c, q, json);
          done(s, std::move(json), proj_.stats().projected_seq);
        },
        [done, this](const status& s) { done(s, {}, proj_.stats().projected_seq); });
  }

 private:
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
    }
    return status::invalid_argument("unknown query");
  }

  projections::query_pool& pool_;
  const projections::projector& proj_;
  int wait_ms_;
};

}  // namespace ledger
