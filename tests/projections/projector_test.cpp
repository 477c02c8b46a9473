// The projector against a real PostgreSQL: every balance in the read models
// equals the engine's, the audit log has every event, restarts resume
// without duplicates, and a tampered journal stops the projection.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "projections/migrations.h"
#include "projections/projector.h"
#include "tests/engine/harness.h"
#include "tests/engine/ledger_checks.h"
#include "tests/support/pg_instance.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::projections;

namespace {

pg_instance& shared_pg() {
  static pg_instance pg(disposable_pg_options());
  return pg;
}

std::string fresh_db(const std::string& name) { return shared_pg().create_database(name); }


void activity(engine_harness& h) {
  h.setup_basics();
  auto a = h.open_wallet("alice", {{"USD", 1'000, 50'000}});
  auto b = h.open_wallet("bob");
  h.fund(a, 100'000);
  engine_harness::must(h.run(transfer_cmd{a, b, "USD", 2'500, 30, "order-1", R"({"note":"rent"})"}));
  auto hold = engine_harness::must(h.run(hold_cmd{a, b, "USD", 4'000, h.clock().now_us() + 60'000'000, "h1", ""})).pending_id;
  engine_harness::must(h.run(capture_cmd{hold, 1'500}));
  auto w = engine_harness::must(h.run(withdraw_cmd{b, "USD", 1'000, "payout-1", ""})).pending_id;
  engine_harness::must(h.run(settle_withdrawal_cmd{w}));
  auto dep = engine_harness::must(h.run(deposit_cmd{b, "USD", 700, "stripe", "dep-2", "not json"})).transaction_id;
  engine_harness::must(h.run(reverse_cmd{dep, "duplicate"}));
  h.run(transfer_cmd{b, a, "USD", 999'999'999, 0, "", ""});  // rejected: insufficient funds
  engine_harness::must(h.run(freeze_account_cmd{b}));
}

// Every (account, asset) balance of the engine equals the read model's.
void check_balances(engine_harness& h, pqxx::connection& c) {
  rebuilt_state r;
  REQUIRE(rebuild(h.eng().storage(), {}, r).is_ok());
  pqxx::read_transaction tx(c);
  std::size_t compared = 0;
  for (const auto& acc : r.state->accounts())
    for (const auto& b : acc.balances) {
      auto row = tx.exec_params(
          "SELECT posted::text, held::text, incoming::text FROM ledger.balances WHERE wallet_id = $1 AND asset = $2",
          static_cast<long long>(acc.id), b.asset);
      REQUIRE_MESSAGE(row.size() == 1, "no balance row for " << acc.id << "/" << b.asset);
      CHECK(std::string(row[0][0].c_str()) == format_amount(b.posted(), 2));
      CHECK(std::string(row[0][1].c_str()) == format_amount(b.debits_pending, 2));
      CHECK(std::string(row[0][2].c_str()) == format_amount(b.credits_pending, 2));
      ++compared;
    }
  // And no balance row the engine does not have.
  CHECK(tx.exec1("SELECT count(*) FROM ledger.balances")[0].as<std::size_t>() == compared);
}

}  // namespace

TEST_CASE("projected read models match the engine, event for event") {
  engine_harness h;
  activity(h);
  auto conninfo = fresh_db("proj_match");
  projector p(engine_journal(h.eng()), projector_options{conninfo});
  REQUIRE(p.catch_up().is_ok());
  CHECK(p.stats().projected_seq == h.eng().head().seq);

  pqxx::connection c(conninfo);
  check_balances(h, c);
  pqxx::read_transaction tx(c);
  CHECK(tx.exec1("SELECT count(*) FROM ledger.audit_log")[0].as<std::uint64_t>() == h.eng().head().seq);
  CHECK(tx.exec1("SELECT count(*) FROM ledger.audit_log WHERE outcome = 'rejected'")[0].as<int>() == 1);
  // Double entry holds in the read models too.
  CHECK(tx.exec1("SELECT count(*) FROM (SELECT asset, kind, sum(amount) s FROM ledger.postings GROUP BY seq, asset, kind) x WHERE s <> 0")[0].as<int>() == 0);
  CHECK(std::string(tx.exec1("SELECT status FROM ledger.wallets WHERE owner = 'bob'")[0].c_str()) == "frozen");
  auto t = tx.exec1("SELECT type, status, amount::text, fee::text, reference, metadata->>'note' FROM ledger.transactions WHERE reference = 'order-1'");
  CHECK(std::string(t[0].c_str()) == "transfer");
  CHECK(std::string(t[1].c_str()) == "completed");
  CHECK(std::string(t[2].c_str()) == "25.00");
  CHECK(std::string(t[3].c_str()) == "0.30");
  CHECK(std::string(t[5].c_str()) == "rent");
  auto hold = tx.exec1("SELECT status, posted_amount::text FROM ledger.holds WHERE kind = 'hold'");
  CHECK(std::string(hold[0].c_str()) == "captured");
  CHECK(std::string(hold[1].c_str()) == "15.00");
  CHECK(std::string(tx.exec1("SELECT status FROM ledger.transactions WHERE type = 'withdrawal'")[0].c_str()) == "settled");
  auto rev = tx.exec1("SELECT r.amount::text, o.status, o.reversed_by = r.transaction_id FROM ledger.transactions r "
                      "JOIN ledger.transactions o ON o.transaction_id = r.related_id WHERE r.type = 'reversal'");
  CHECK(std::string(rev[0].c_str()) == "7.00");
  CHECK(std::string(rev[1].c_str()) == "reversed");
  CHECK(rev[2].as<bool>());
  // Metadata that was not JSON is kept, wrapped, rather than stopping the projection.
  CHECK(std::string(tx.exec1("SELECT metadata->>'unparsed' FROM ledger.transactions WHERE reference = 'dep-2'")[0].c_str()) == "not json");
  // The checkpoint carries the engine's chain head.
  pqxx::binarystring chain(tx.exec1("SELECT chain_hash FROM ledger.projection_checkpoints")[0]);
  CHECK(to_hex(h.eng().head().chain) == to_hex([&] { hash256 x{}; std::copy(chain.data(), chain.data() + 32, x.begin()); return x; }()));
}

TEST_CASE("a restarted projector resumes from its checkpoint without duplicates") {
  engine_harness h;
  auto conninfo = fresh_db("proj_resume");
  h.setup_basics();
  auto a = h.open_wallet("alice");
  auto b = h.open_wallet("bob");
  h.fund(a, 1'000'000);
  {
    projector p(engine_journal(h.eng()), projector_options{conninfo, "read_models", "ledger", 3});
    std::size_t n = 0;
    REQUIRE(p.step(n).is_ok());
    CHECK(n == 3);
  }
  for (int i = 0; i < 50; ++i) engine_harness::must(h.run(transfer_cmd{a, b, "USD", 10 + i, 0, "", ""}));
  projector p2(engine_journal(h.eng()), projector_options{conninfo, "read_models", "ledger", 7});
  REQUIRE(p2.catch_up().is_ok());
  pqxx::connection c(conninfo);
  pqxx::read_transaction tx(c);
  CHECK(tx.exec1("SELECT count(*) FROM ledger.audit_log")[0].as<std::uint64_t>() == h.eng().head().seq);
  CHECK(tx.exec1("SELECT count(*) FROM ledger.transactions WHERE type = 'transfer'")[0].as<int>() == 50);
  tx.commit();
  check_balances(h, c);
}

TEST_CASE("the projector runs on its own thread and follows the engine") {
  engine_harness h;
  auto conninfo = fresh_db("proj_thread");
  projector p(engine_journal(h.eng()), projector_options{conninfo});
  p.start();
  h.setup_basics();
  auto a = h.open_wallet("alice");
  h.fund(a, 5'000);
  CHECK(p.wait_for(h.eng().head().seq, 20'000));
  p.stop();
  CHECK(p.stats().healthy);
  pqxx::connection c(conninfo);
  check_balances(h, c);
}

TEST_CASE("migrations refuse a database newer than the binary") {
  auto conninfo = fresh_db("proj_newer");
  pqxx::connection c(conninfo);
  migrate_result r;
  REQUIRE(migrate(c, "ledger", r).is_ok());
  CHECK(r.version_after == known_schema_version());
  REQUIRE(migrate(c, "ledger", r).is_ok());  // again: nothing to do
  CHECK(r.version_before == known_schema_version());
  {
    pqxx::work tx(c);
    tx.exec("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')");
    tx.commit();
  }
  auto s = migrate(c, "ledger", r);
  CHECK_FALSE(s.is_ok());
  CHECK(s.message().find("newer") != std::string::npos);
}

TEST_CASE("wallet sessions and connections are projected, with their incident queries") {
  engine_harness h;
  auto conninfo = fresh_db("proj_sessions");
  const std::string eth = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B", sol = "F25s3DdjXdCxYBhh2z8FBusVEMT4b9bGNFVKJi3wFoF4";
  auto challenge = [&](int i, wallet_chain chain, const std::string& network, const std::string& address) {
    engine_harness::must(h.run(issue_challenge_cmd{chain, network, address, "app.example.com", "https://app.example.com",
                                                   "nonce" + std::string(14, 'x') + std::to_string(i), 300}));
  };
  auto open = [&](int i, wallet_chain chain, const std::string& address, std::int64_t duration_s) {
    return engine_harness::must(h.run(open_session_cmd{"nonce" + std::string(14, 'x') + std::to_string(i), chain, address,
                                                        "wallet:" + address, std::string(31, 't') + char('A' + i),
                                                        duration_s, "m", "s"}))
        .session_id;
  };
  challenge(1, wallet_chain::ethereum, "1", eth);
  challenge(2, wallet_chain::ethereum, "1", eth);
  challenge(3, wallet_chain::solana, "devnet", sol);
  auto a = open(1, wallet_chain::ethereum, eth, 3600);
  open(2, wallet_chain::ethereum, eth, 10);
  auto c = open(3, wallet_chain::solana, sol, 3600);
  engine_harness::must(h.run(revoke_session_cmd{a, ""}));
  h.clock().advance_us(11'000'000);
  engine_harness::must(h.run(unlink_wallet_cmd{wallet_chain::solana, sol}));  // sweeps the 10 s session first

  projector p(engine_journal(h.eng()), projector_options{conninfo});
  REQUIRE(p.catch_up().is_ok());
  pqxx::connection conn(conninfo);
  pqxx::read_transaction tx(conn);
  auto status = [&](std::uint64_t id) {
    return std::string(tx.exec1("SELECT status FROM ledger.wallet_sessions WHERE session_id = " + std::to_string(id))[0].c_str());
  };
  CHECK(status(a) == "revoked");
  CHECK(status(c) == "revoked");  // unlinking revoked it
  CHECK(tx.exec1("SELECT count(*) FROM ledger.wallet_sessions WHERE status = 'expired'")[0].as<int>() == 1);
  // The incident queries of docs/wallet-sessions.md.
  CHECK(tx.exec1("SELECT count(*) FROM ledger.wallet_sessions WHERE status = 'active' AND expires_at > now()")[0].as<int>() == 0);
  auto by_network = tx.exec("SELECT chain, network, count(*) FROM ledger.wallet_sessions GROUP BY 1, 2 ORDER BY 1, 2");
  REQUIRE(by_network.size() == 2);
  CHECK(std::string(by_network[0][1].c_str()) == "1");
  CHECK(by_network[0][2].as<int>() == 2);
  CHECK(std::string(by_network[1][1].c_str()) == "devnet");
  auto conns = tx.exec("SELECT chain, count(*), count(disconnected_seq) FROM ledger.wallet_connections GROUP BY 1 ORDER BY 1");
  REQUIRE(conns.size() == 2);
  CHECK(std::string(conns[0][0].c_str()) == "ethereum");
  CHECK(conns[0][2].as<int>() == 0);
  CHECK(conns[1][2].as<int>() == 1);  // solana: disconnected
}

TEST_CASE("transactions with a status: kind and status in the read models, one batch or one event at a time") {
  for (std::size_t batch_events : {std::size_t{1}, std::size_t{0}}) {
    engine_harness h;
    h.setup_basics();
    auto a = h.open_wallet("alice");
    auto shop = h.open_wallet("shop");
    h.fund(a, 10'000);
    engine_harness::must(h.run(set_fee_schedule_cmd{"USD", money_kind::payment, 30, 0, 0, 30}));
    auto dep = engine_harness::must(h.run(open_deposit_cmd{a, "USD", 500, "stripe", "pi_9", "top-up", "{}"})).seq;
    engine_harness::must(h.run(change_money_status_cmd{dep, money_kind::deposit, money_status::processing, ""}));
    engine_harness::must(h.run(change_money_status_cmd{dep, money_kind::deposit, money_status::completed, ""}));
    auto pay = engine_harness::must(h.run(pay_cmd{a, shop, "USD", 1'000, "order-9", "shoes", R"({"size":42})"})).seq;
    engine_harness::must(h.run(change_money_status_cmd{pay, money_kind::payment, money_status::completed, ""}));
    auto refund = engine_harness::must(h.run(refund_cmd{pay, 400, "r-9", "", ""})).seq;
    auto cancelled = engine_harness::must(h.run(pay_cmd{a, shop, "USD", 200, "order-10", "", ""})).seq;
    engine_harness::must(h.run(change_money_status_cmd{cancelled, money_kind::payment, money_status::cancelled, ""}));
    auto w = engine_harness::must(h.run(withdraw_cmd{a, "USD", 100, "w-9", ""})).pending_id;
    engine_harness::must(h.run(change_money_status_cmd{w, money_kind::withdrawal, money_status::cancelled, ""}));

    auto conninfo = fresh_db("proj_statuses_" + std::to_string(batch_events));
    projector_options o{conninfo};
    if (batch_events) o.batch_events_max = batch_events;
    projector p(engine_journal(h.eng()), o);
    REQUIRE(p.catch_up().is_ok());
    pqxx::connection c(conninfo);
    check_balances(h, c);
    pqxx::read_transaction tx(c);
    auto row = [&](std::uint64_t id) {
      auto r = tx.exec1("SELECT type || '/' || status || '/' || amount::text || '/' || fee::text || '/' || "
                        "coalesce(description, '') FROM ledger.transactions WHERE transaction_id = " + std::to_string(id));
      return std::string(r[0].c_str());
    };
    CHECK(row(dep) == "deposit/completed/5.00/0.00/top-up");
    CHECK(row(pay) == "payment/completed/10.00/0.30/shoes");
    CHECK(row(refund) == "refund/pending/4.00/0.00/");
    CHECK(row(cancelled) == "payment/cancelled/2.00/0.30/");
    CHECK(row(w) == "withdrawal/cancelled/1.00/0.00/");
    CHECK(tx.exec1("SELECT count(*) FROM ledger.transactions WHERE type = 'settlement' AND related_id IN (" +
                   std::to_string(dep) + "," + std::to_string(pay) + ")")[0].as<int>() == 2);
    CHECK(std::string(tx.exec1("SELECT related_id::text FROM ledger.transactions WHERE transaction_id = " +
                               std::to_string(refund))[0].c_str()) == std::to_string(pay));
  }
}
