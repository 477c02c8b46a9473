// Reconciliation end to end: deposits made over HTTP and projected into a
// private PostgreSQL, a provider report imported over HTTP and with the
// ledgerd command, every outcome classified, the same report kept once, and
// the results surviving a rebuild of the read models.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "tests/api/e2e_support.h"
#include "tests/api/e2e_pg.h"
#include "tests/support/temp_dir.h"

using namespace ledger;
using namespace ledger::e2e;

namespace {


const std::string report = R"(reference,amount,currency,status,created
pi_1,10.00,usd,succeeded,2000-01-01 00:00:00
pi_2,5.00,usd,succeeded,2000-01-02 00:00:00
pi_3,7.00,usd,failed,2000-01-03 00:00:00
pi_4,3.00,usd,succeeded,2000-01-04 00:00:00
"pi_5",2.00,usd,failed,2100-01-01 00:00:00
)";

std::uint64_t count(const json& j, const std::string& outcome) { return j.u64("/counts/" + outcome); }

int run_ledgerd(const std::string& args, const std::string& conninfo, std::string& out) {
  std::string cmd = "LEDGER_PG_CONNINFO='" + conninfo + "' " + std::string(LEDGERD_PATH) + " " + args;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("a provider report is reconciled with the projected deposits, once per report") {
  std::string conninfo = e2e_pg().create_database("e2e_reconcile");
  ledger_env env(pg_options(conninfo));
  auto wallet = env.open_wallet("alice");
  std::uint64_t last = 0;
  for (auto [ref, amount] : {std::pair{"pi_1", "10.00"}, {"pi_2", "4.00"}, {"pi_3", "7.00"}, {"pi_6", "1.00"}}) {
    auto r = env.post("/v1/deposits", env.service,
                      R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":")" + amount +
                          R"(","provider":"stripe","reference":")" + ref + R"("})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    last = json(r.body).u64("/seq");
  }
  // The read models have the deposits.
  auto h = env.get("/v1/wallets/" + std::to_string(wallet) + "/transactions?min_seq=" + std::to_string(last), env.admin);
  REQUIRE_MESSAGE(h.status == 200, h.body);

  auto import = [&](const std::string& body, const std::string& token, const std::string& query) {
    request r;
    r.method = "POST";
    r.target = "/v1/reconciliations" + query;
    r.body = body;
    r.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "text/csv"}};
    return env.call(r);
  };
  auto r = import(report, env.admin, "?account=stripe&format=generic");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  json j(r.body);
  auto id = j.u64("/reconciliation_id");
  CHECK(count(j, "matched") == 2);  // pi_1; pi_5 failed and absent here
  CHECK(count(j, "amount_mismatch") == 1);
  CHECK(count(j, "status_mismatch") == 1);
  CHECK(count(j, "missing_in_ledger") == 1);
  CHECK(count(j, "missing_at_provider") == 1);  // pi_6
  CHECK(j.u64("/report_rows") == 5);

  // The same bytes again: the same reconciliation, answered 200.
  r = import(report, env.admin, "?account=stripe&format=generic");
  REQUIRE(r.status == 200);
  CHECK(json(r.body).u64("/reconciliation_id") == id);

  // One outcome's items, for an auditor.
  r = env.get("/v1/reconciliations/" + std::to_string(id) + "?outcome=amount_mismatch", env.auditor);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).str("/items/0/reference") == "pi_2");
  CHECK(json(r.body).str("/items/0/report_amount") == "5.00");
  CHECK(json(r.body).str("/items/0/ledger_amount") == "4.00");

  // Refusals: a user; a report that is not CSV; a bad row (named), nothing kept.
  CHECK(import(report, env.alice, "?account=stripe&format=generic").status == 403);
  CHECK(env.post("/v1/reconciliations?account=stripe", env.admin, "{}", no_key).status == 415);
  r = import("reference,amount,currency,status,created\npi_9,ten,usd,paid,2000-01-01\n", env.admin,
             "?account=stripe&format=generic");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/detail").find("line 2, amount") != std::string::npos);
  r = import(report, env.admin, "?account=stripe&format=stripe-payments");
  CHECK(r.status == 400);  // no "PaymentIntent ID" column
  CHECK(env.get("/v1/reconciliations/" + std::to_string(id + 1), env.admin).status == 404);

  // The command line finds the same reconciliation, and exits 1: it has differences.
  testing::temp_dir dir("ledger-reconcile");
  auto file = (dir.path() / "report.csv").string();
  std::ofstream(file) << report;
  std::string out;
  CHECK(run_ledgerd("reconcile --account stripe --format generic --report " + file, conninfo, out) == 1);
  CHECK(json(out).u64("/reconciliation_id") == id);

  // A rebuild of the read models keeps the imports.
  CHECK(env.proc.stop() == 0);
  out.clear();
  CHECK(run_ledgerd("rebuild-read-models --data-dir " + env.proc.data_dir().string(), conninfo, out) == 0);
  env.proc.start();
  env.http = env.proc.client();
  r = env.get("/v1/reconciliations/" + std::to_string(id), env.admin);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(count(json(r.body), "missing_at_provider") == 1);
  // New imports after the rebuild get new ids.
  r = import(report + "pi_7,1.00,usd,succeeded,2000-01-05 00:00:00\n", env.admin, "?account=stripe&format=generic");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(json(r.body).u64("/reconciliation_id") > id);
}
