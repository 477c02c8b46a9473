// Payment requests and the activity log as the projector writes them
// (projections/activity.cpp), against a real PostgreSQL: a paid request is a
// transfer row with its fee and the request as related_id, each request's
// row follows its status, admin actions land under the wallet's owner
// (rates and tier limits, ledger-wide, under none; a tier under its owner), and
// what retention removes comes back with rebuild-read-models (the journal
// is never touched).
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "projections/maintenance.h"
#include "projections/projector.h"
#include "projections/retention.h"
#include "tests/engine/harness.h"
#include "tests/support/pg_instance.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::projections;

namespace {

pg_instance& activity_pg() {
  static pg_instance pg(disposable_pg_options());
  return pg;
}

std::string one(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction n(c);
  auto r = n.exec(sql);
  return r.empty() || r[0][0].is_null() ? "null" : r[0][0].c_str();
}

struct requests {
  std::uint64_t paid = 0, declined = 0, cancelled = 0, bob = 0, alice = 0;
};

requests run_requests(engine_harness& h) {
  h.setup_basics();
  requests r;
  r.bob = h.open_wallet("bob");
  r.alice = h.open_wallet("alice", {{"USD", 0, 50'000}});
  h.fund(r.alice, 10'000);
  engine_harness::must(h.run(set_fee_schedule_cmd{"USD", money_kind::transfer, 25, 0, 0, amount_limit}));
  auto until = h.clock().now_us() + 3'600'000'000;
  r.paid = engine_harness::must(h.run(create_payment_request_cmd{"bob", r.bob, "alice", "USD", 1'250, "dinner", until})).seq;
  engine_harness::must(h.run(pay_payment_request_cmd{r.paid, "alice", r.alice, "USD", 0}));
  r.declined = engine_harness::must(h.run(create_payment_request_cmd{"bob", r.bob, "alice", "USD", 5, "", until})).seq;
  engine_harness::must(h.run(decline_payment_request_cmd{r.declined, "alice", "no thanks"}));
  r.cancelled = engine_harness::must(h.run(create_payment_request_cmd{"bob", r.bob, "alice", "USD", 7, "", until})).seq;
  engine_harness::must(h.run(cancel_payment_request_cmd{r.cancelled, "bob", ""}));
  engine_harness::must(h.run(register_asset_cmd{"EUR", 2, 1, amount_limit}, {}, "root"));
  engine_harness::must(h.run(set_rate_cmd{"USD", "EUR", 920'000'000'000'000'000, 25, 60, 0, 4'000'000'000'000'000}, {}, "root"));
  engine_harness::must(h.run(set_tier_limits_cmd{owner_tier::basic, "USD", 100'000, 500'000, 1'000'000}, {}, "root"));
  engine_harness::must(h.run(set_owner_tier_cmd{"alice", owner_tier::basic}, {}, "root"));
  engine_harness::must(h.run(freeze_account_cmd{r.alice}, {}, "root"));
  return r;
}

}  // namespace

TEST_CASE("payment requests and the activity log in the read models, rebuilt after retention") {
  engine_harness h;
  auto r = run_requests(h);
  auto conninfo = activity_pg().create_database("activity_projection");
  projector p(engine_journal(h.eng()), projector_options{conninfo});
  REQUIRE(p.catch_up().is_ok());
  REQUIRE(p.stats().projected_seq == h.eng().head().seq);
  pqxx::connection c(conninfo);
  {
    pqxx::nontransaction n(c);
    n.exec("SET search_path TO ledger");
  }
  const auto id = std::to_string(r.paid);
  CHECK(one(c, "SELECT status || ' ' || amount::text || ' ' || transaction_id || ' ' || payer_wallet_id FROM payment_requests "
               "WHERE request_id = " + id) == "paid 12.50 " + std::to_string(r.paid + 1) + " " + std::to_string(r.alice));
  CHECK(one(c, "SELECT type || ' ' || amount::text || ' ' || fee::text || ' ' || from_wallet_id || ' ' || to_wallet_id || ' ' || "
               "related_id FROM transactions WHERE transaction_id = " + std::to_string(r.paid + 1)) ==
        "transfer 12.50 0.25 " + std::to_string(r.alice) + " " + std::to_string(r.bob) + " " + id);
  CHECK(one(c, "SELECT status || ' ' || reason FROM payment_requests WHERE request_id = " + std::to_string(r.declined)) ==
        "declined no thanks");
  CHECK(one(c, "SELECT status FROM payment_requests WHERE request_id = " + std::to_string(r.cancelled)) == "cancelled");
  CHECK(one(c, "SELECT count(*) FROM projection_dead_letters") == "0");

  // Activity: each under its owner; the admin's freeze under the wallet's owner.
  CHECK(one(c, "SELECT string_agg(action, ',' ORDER BY seq, idx) FROM activity_log WHERE owner = 'bob'") ==
        "wallet_opened,payment_request_created,payment_request_created,payment_request_created,payment_request_cancelled");
  CHECK(one(c, "SELECT string_agg(action, ',' ORDER BY seq, idx) FROM activity_log WHERE owner = 'alice'") ==
        "wallet_opened,payment_request_declined,tier_set,wallet_frozen");
  CHECK(one(c, "SELECT principal || ' ' || (details->>'tier') FROM activity_log WHERE action = 'tier_set'") == "root basic");
  CHECK(one(c, "SELECT details->>'rate' || ' ' || (details->>'fee_bps') FROM activity_log WHERE action = 'rate_set'") ==
        "0.920000000000000000 25");
  CHECK(one(c, "SELECT details->>'daily' || ' ' || (details->>'monthly') FROM activity_log WHERE action = 'tier_limits_set' "
               "AND owner IS NULL") == "5000.00 10000.00");
  CHECK(one(c, "SELECT principal FROM activity_log WHERE action = 'wallet_frozen'") == "root");
  CHECK(one(c, "SELECT details->'assets'->0->>'daily_debit_limit' FROM activity_log WHERE action = 'wallet_opened' "
               "AND owner = 'alice'") == "50000");
  CHECK(one(c, "SELECT count(*) FROM activity_log WHERE action = 'fee_schedule_set' AND owner IS NULL") == "1");
  const std::string rows = one(c, "SELECT count(*) FROM activity_log");

  // Retention far in the future archives and drops every month; a rebuild
  // from the journal brings every row back.
  retention_report rr;
  REQUIRE(apply_retention(c, "ledger", h.clock().now_us() + 3LL * 365 * 86'400'000'000, rr).is_ok());
  CHECK(rr.archived.size() >= 1);
  CHECK(rr.dropped.size() == rr.archived.size());
  CHECK(one(c, "SELECT count(*) FROM activity_log") == "0");
  p.stop();
  rebuild_report rb;
  REQUIRE(rebuild_read_models(engine_journal(h.eng()), conninfo, "ledger", "read_models", rb).is_ok());
  CHECK(one(c, "SELECT count(*) FROM ledger.activity_log") == rows);
  CHECK(one(c, "SELECT count(*) FROM ledger.payment_requests") == "3");
}
