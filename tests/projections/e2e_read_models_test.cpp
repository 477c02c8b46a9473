// The read models over real HTTP: a real ledgerd (tests/api's process
// harness) projecting into a private PostgreSQL (tests/support). Regression
// tests for the defects of issue 11: each names what broke.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/api/e2e_support.h"
#include "tests/api/e2e_pg.h"

using namespace ledger;
using namespace ledger::e2e;

namespace {

struct pg_ledger {
  explicit pg_ledger(const std::string& db)
      : conninfo(e2e_pg().create_database(db)), env(pg_options(conninfo)) {}
  // GET history with min_seq = seq: 200 once the projection reached it.
  response history(std::uint64_t wallet, std::uint64_t seq, const std::string& token) {
    return env.get("/v1/wallets/" + std::to_string(wallet) + "/transactions?min_seq=" + std::to_string(seq), token);
  }
  // One metric's value from the operations listener's /metrics ("" if absent).
  std::string metric(const std::string& name) {
    auto r = env.ops_get("/metrics");
    auto at = r.body.find("\n" + name + " ");
    if (at == std::string::npos) return "";
    auto start = at + name.size() + 2;
    return r.body.substr(start, r.body.find('\n', start) - start);
  }
  void sql(const std::string& statement) {
    pqxx::connection c(conninfo);
    pqxx::work tx(c);
    tx.exec(statement);
    tx.commit();
  }

  std::string conninfo;
  ledger_env env;
};

std::uint64_t seq_of(const response& r) { return json(r.body).u64("/seq"); }

}  // namespace

TEST_CASE("overdraft_after_opening_projected_earlier_does_not_stall_the_projection") {
  pg_ledger l("e2e_overdraft");
  auto r = l.env.post("/v1/wallets", l.env.admin,
                      R"({"owner":"alice","assets":[{"asset":"USD","overdraft_limit":"50.00"}]})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto alice = json(r.body).u64("/wallet_id");
  auto bob = l.env.open_wallet("bob");
  // The opening is projected in a batch of its own, before the overdraft.
  REQUIRE(l.history(alice, seq_of(r), l.env.alice).status == 200);
  l.env.deposit(alice, "10.00");
  r = l.env.post("/v1/transfers", l.env.alice,
                 R"({"from_wallet_id":)" + std::to_string(alice) + R"(,"to_wallet_id":)" + std::to_string(bob) +
                     R"(,"asset":"USD","amount":"30.00"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(l.env.posted(alice) == "-20.00");
  auto h = l.history(alice, seq_of(r), l.env.alice);
  CHECK_MESSAGE(h.status == 200, h.body);
  CHECK(json(h.body).str("/transactions/0/type") == "transfer");
  CHECK(l.metric("ledger_projection_failures_total") == "0");
  pqxx::connection c(l.conninfo);
  pqxx::read_transaction tx(c);
  auto b = tx.exec_params1("SELECT posted::text, overdraft_limit::text, available::text FROM ledger.balances "
                           "WHERE wallet_id = $1 AND asset = 'USD'",
                           static_cast<long long>(alice));
  CHECK(std::string(b[0].c_str()) == "-20.00");
  CHECK(std::string(b[1].c_str()) == "50.00");
  CHECK(std::string(b[2].c_str()) == "30.00");
}

TEST_CASE("nul_in_metadata_is_refused_with_the_field_and_history_keeps_working") {
  pg_ledger l("e2e_nul");
  auto alice = l.env.open_wallet("alice");
  auto before = l.env.seq();
  auto dep = [&](const std::string& metadata) {
    return l.env.post("/v1/deposits", l.env.service,
                      R"({"wallet_id":)" + std::to_string(alice) +
                          R"(,"asset":"USD","amount":"1.00","provider":"stripe","metadata":)" + metadata + "}");
  };
  auto r = dep(R"({"note":"a\u0000b"})");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/type") == "/problems/invalid-field");
  CHECK(json(r.body).str("/field") == "metadata.note");
  r = dep(R"({"list":[{"k\u0000":1}]})");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "metadata.list[0]");
  CHECK(json(r.body).str("/detail") == "a key must not contain the NUL character (\\u0000)");
  CHECK(l.env.seq() == before);  // the engine never saw them
  // Escaped backslashes and every plane are fine.
  r = dep(R"({"note":"\\u0000 \ud83d\ude00 \u00e9"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  // The service's metadata is the service's: read it as the admin (alice,
  // who did not send the deposit, sees null there).
  auto h = l.history(alice, seq_of(r), l.env.admin);
  CHECK_MESSAGE(h.status == 200, h.body);
  CHECK(json(h.body).str("/transactions/0/metadata/note") == "\\u0000 \xF0\x9F\x98\x80 \xC3\xA9");
}

TEST_CASE("deposit_fee_prints_at_the_asset_scale_in_history") {
  pg_ledger l("e2e_fee");
  auto alice = l.env.open_wallet("alice");
  l.env.deposit(alice, "12.34");
  auto h = l.history(alice, l.env.seq(), l.env.alice);
  REQUIRE_MESSAGE(h.status == 200, h.body);
  CHECK(json(h.body).str("/transactions/0/type") == "deposit");
  CHECK(json(h.body).str("/transactions/0/amount") == "12.34");
  CHECK(json(h.body).str("/transactions/0/fee") == "0.00");
}

TEST_CASE("a_projection_stuck_on_one_seq_shows_in_metrics_readyz_and_lag_then_recovers") {
  pg_ledger l("e2e_stuck");
  auto alice = l.env.open_wallet("alice");
  REQUIRE(l.history(alice, l.env.seq(), l.env.alice).status == 200);
  // A failure that is not the event's fault (a table gone): retried, never parked.
  l.sql("ALTER TABLE ledger.postings RENAME TO postings_away");
  l.env.deposit(alice, "5.00");
  auto stuck = l.env.seq();
  CHECK(eventually([&] { return l.metric("ledger_projection_stuck_seq") == std::to_string(stuck); }));
  CHECK(eventually([&] { return std::stod(l.metric("ledger_projection_consecutive_failures")) >= 2; }));
  // Lag grows although no new command arrives.
  CHECK(eventually([&] { return std::stod(l.metric("ledger_projection_lag_seconds")) > 1.0; }));
  auto ready = l.env.ops_get("/readyz");
  CHECK(ready.status == 200);  // commands do not depend on the read models
  CHECK(json(ready.body).str("/read_models").find("stuck at seq " + std::to_string(stuck)) != std::string::npos);
  CHECK(l.metric("ledger_projection_dead_letters_total") == "0");
  l.sql("ALTER TABLE ledger.postings_away RENAME TO postings");
  CHECK(l.history(alice, stuck, l.env.alice).status == 200);
  CHECK(eventually([&] { return l.metric("ledger_projection_stuck_seq") == "0"; }));
  CHECK(l.metric("ledger_projection_lag_seconds") == "0.000000");
  CHECK_FALSE(json(l.env.ops_get("/readyz").body).has("/read_models"));
}

TEST_CASE("an_event_the_database_refuses_is_parked_and_the_projection_goes_on") {
  pg_ledger l("e2e_parked");
  auto alice = l.env.open_wallet("alice");
  REQUIRE(l.history(alice, l.env.seq(), l.env.alice).status == 200);
  // A rule of the database's own that one event breaks (SQLSTATE 23514).
  l.sql("ALTER TABLE ledger.transactions ADD CONSTRAINT no_poison CHECK (reference IS DISTINCT FROM 'poison')");
  auto r = l.env.post("/v1/deposits", l.env.service,
                      R"({"wallet_id":)" + std::to_string(alice) +
                          R"(,"asset":"USD","amount":"1.00","provider":"stripe","reference":"poison"})");
  REQUIRE(r.status == 201);
  auto poisoned = seq_of(r);
  l.env.deposit(alice, "2.00");
  // Parking takes a few attempts with backoff: 503 with min_seq meanwhile.
  auto last = l.env.seq();
  response h;
  CHECK(eventually([&] { return (h = l.history(alice, last, l.env.alice)).status == 200; }, 30'000));
  CHECK(json(h.body).str("/transactions/0/amount") == "2.00");
  CHECK(l.metric("ledger_projection_dead_letters_total") == "1");
  CHECK(l.metric("ledger_projection_stuck_seq") == "0");
  {
    pqxx::connection c(l.conninfo);
    pqxx::read_transaction tx(c);
    auto d = tx.exec1("SELECT seq, command, attempts, error FROM ledger.projection_dead_letters");
    CHECK(d[0].as<std::uint64_t>() == poisoned);
    CHECK(std::string(d[1].c_str()) == "deposit");
    CHECK(d[2].as<int>() == 3);
    CHECK(std::string(d[3].c_str()).find("no_poison") != std::string::npos);
  }
  CHECK(l.env.proc.stderr_text().find("parked seq " + std::to_string(poisoned)) != std::string::npos);
  // verify-read-models reports the parked event (and the drift it leaves).
  std::string cmd = "LEDGER_PG_CONNINFO='" + l.conninfo + "' " LEDGERD_PATH " verify-read-models --data-dir " +
                    l.env.proc.data_dir().string() + " 2>&1";
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  int rc = pclose(f);
  CHECK_MESSAGE(WEXITSTATUS(rc) == 1, out);
  CHECK_MESSAGE(out.find("dead letter seq=" + std::to_string(poisoned)) != std::string::npos, out);
}

TEST_CASE("history_query_errors_name_the_parameter_in_field") {
  pg_ledger l("e2e_query_fields");
  auto alice = l.env.open_wallet("alice");
  auto base = "/v1/wallets/" + std::to_string(alice);
  struct bad {
    std::string target, field;
  };
  for (const auto& b : std::vector<bad>{
           {base + "/transactions?limit=0", "limit"},
           {base + "/transactions?limit=9999", "limit"},
           {base + "/transactions?cursor=abc", "cursor"},
           {base + "/transactions?from=yesterday", "from"},
           {base + "/statement?asset=USD&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
           {base + "/balance-at?asset=USD&at=2026-01-01t00:00:00z", "at"},
       }) {
    auto r = l.env.get(b.target, l.env.alice);
    CHECK_MESSAGE(r.status == 400, b.target, " ", r.body);
    CHECK_MESSAGE(json(r.body).str("/field") == b.field, b.target, " ", r.body);
  }
}
