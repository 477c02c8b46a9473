// Every endpoint's success path against a real ledgerd, with exact bodies
// and balances; the headers every response carries (Ledger-Seq,
// X-Request-ID); health, readiness and metrics.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <set>
#include <thread>

#include "tests/api/e2e_support.h"

using namespace ledger::e2e;

namespace {

std::string nines(int n) { return std::string(static_cast<std::size_t>(n), '9'); }

// "YYYY-MM-DDTHH:MM:SSZ" for a Unix time.
std::string rfc3339(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

TEST_CASE("assets and system accounts: register, list") {
  ledger_env env;
  const std::string usd = R"({"code":"USD","scale":2,"min_amount":"0.01","max_amount":")" + nines(34) + R"(.99"})";

  auto r = env.get("/v1/assets", env.alice);  // any role may list
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.body == R"({"assets":[)" + usd + "]}");

  r = env.post("/v1/assets", env.admin, R"({"code":"JPY","scale":0,"min_amount":"100","max_amount":"1000000"})");
  CHECK(check_command(r, 201) == 5);
  CHECK(r.body == accepted_body("register_asset", 5, ""));
  r = env.get("/v1/assets", env.auditor);
  CHECK(r.status == 200);
  CHECK(r.body == R"({"assets":[{"code":"JPY","scale":0,"min_amount":"100","max_amount":"1000000"},)" + usd + "]}");

  r = env.post("/v1/system-accounts", env.admin, R"({"name":"clearing:adyen"})");
  CHECK(check_command(r, 201) == 6);
  CHECK(r.body == accepted_body("open_system_account", 6, R"(,"account_id":4)"));
  CHECK(env.seq() == 6);

  // The new provider takes deposits.
  auto w = env.open_wallet("carol");
  CHECK(w == 5);
  r = env.post("/v1/deposits", env.service, R"({"wallet_id":5,"asset":"USD","amount":"1.00","provider":"adyen"})");
  CHECK(check_command(r, 201) == 8);
  CHECK(r.body == accepted_body("deposit", 8, R"(,"transaction_id":8)", {bal(4, "-1.00"), bal(5, "1.00")}));
}

TEST_CASE("wallets: open, get, list with pagination") {
  ledger_env env;
  auto r = env.post("/v1/assets", env.admin, R"({"code":"JPY","scale":0})");
  REQUIRE(check_command(r, 201) == 5);

  // A user opens a wallet for itself (owner defaults to the subject).
  r = env.post("/v1/wallets", env.alice,
               R"({"assets":[{"asset":"USD","overdraft_limit":"0"},{"asset":"JPY","daily_debit_limit":"10000"}]})");
  CHECK(check_command(r, 201) == 6);
  CHECK(r.body == accepted_body("open_wallet", 6, R"(,"wallet_id":4)"));

  const std::string alice_wallet =
      wallet_body(4, "alice", "active",
                  {wbal("USD", "0.00", "0.00", "0.00", "0.00", "0.00"), wbal("JPY", "0", "0", "0", "0", "0", "10000")});
  r = env.get("/v1/wallets/4", env.alice);
  CHECK(r.status == 200);
  CHECK(r.body == alice_wallet);
  CHECK(r.header("Ledger-Seq") == "6");
  r = env.get("/v1/wallets/4", env.auditor);
  CHECK(r.status == 200);
  CHECK(r.body == alice_wallet);
  CHECK(env.wallet(4) == alice_wallet);

  // Five wallets for bob, opened by the admin (who alone may grant an overdraft): ids 5..9.
  CHECK(env.open_wallet("bob", R"([{"asset":"JPY","overdraft_limit":"500"},{"asset":"USD","daily_debit_limit":"0"}])") == 5);
  CHECK(env.wallet(5) == wallet_body(5, "bob", "active",
                                     {wbal("JPY", "0", "0", "0", "500", "500"), wbal("USD", "0.00", "0.00", "0.00", "0.00", "0.00")}));
  for (int i = 1; i < 5; ++i) CHECK(env.open_wallet("bob") == 5u + static_cast<unsigned>(i));
  auto ids = [](const std::string& body) {
    json j(body);
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < j.size("/wallets"); ++i) out.push_back(j.u64("/wallets/" + std::to_string(i) + "/id"));
    return out;
  };
  using v = std::vector<std::uint64_t>;
  r = env.get("/v1/wallets?owner=bob&limit=2", env.admin);
  CHECK(r.status == 200);
  CHECK(ids(r.body) == v{5, 6});
  CHECK(json(r.body).u64("/next_after") == 6);
  r = env.get("/v1/wallets?owner=bob&limit=2&after=6", env.admin);
  CHECK(ids(r.body) == v{7, 8});
  CHECK(json(r.body).u64("/next_after") == 8);
  r = env.get("/v1/wallets?owner=bob&limit=2&after=8", env.admin);
  CHECK(r.status == 200);
  CHECK(r.body == R"({"wallets":[)" + usd_wallet(9, "bob", "0.00") + "]}");  // last page: no next_after
  r = env.get("/v1/wallets?owner=bob&limit=5", env.auditor);  // exactly one full page
  CHECK(ids(r.body) == v{5, 6, 7, 8, 9});
  CHECK_FALSE(json(r.body).has("/next_after"));
  r = env.get("/v1/wallets?owner=bob&after=9", env.admin);
  CHECK(r.body == R"({"wallets":[]})");
  r = env.get("/v1/wallets?owner=nobody", env.admin);
  CHECK(r.body == R"({"wallets":[]})");

  // A user lists its own wallets, without or with its own name.
  r = env.get("/v1/wallets", env.bob);
  CHECK(ids(r.body) == v{5, 6, 7, 8, 9});
  r = env.get("/v1/wallets?owner=alice", env.alice);
  CHECK(r.body == R"({"wallets":[)" + alice_wallet + "]}");
  r = env.get("/v1/wallets?limit=1", env.alice);
  CHECK(r.body == R"({"wallets":[)" + alice_wallet + "]}");
  CHECK(env.seq() == 11);
}

TEST_CASE("deposits, transfers with a fee, withdrawals settled and failed") {
  ledger_env env;
  REQUIRE(check_command(env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD"}]})"), 201) == 5);
  REQUIRE(env.open_wallet("bob") == 5);  // seq 6

  auto r = env.post("/v1/deposits", env.service,
                    R"({"wallet_id":4,"asset":"USD","amount":"100.00","provider":"stripe","reference":"ch_1","metadata":{"order":{"id":"A-1"}}})");
  CHECK(check_command(r, 201) == 7);
  CHECK(r.body == accepted_body("deposit", 7, R"(,"transaction_id":7)", {bal(3, "-100.00"), bal(4, "100.00")}));

  // Fees are set by the back office (a user may not set its own).
  r = env.post("/v1/transfers", env.admin,
               R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"10.00","fee":"0.50","reference":"rent"})");
  CHECK(check_command(r, 201) == 8);
  CHECK(r.body == accepted_body("transfer", 8, R"(,"transaction_id":8)", {bal(4, "89.50"), bal(5, "10.00"), bal(2, "0.50")}));
  // A charset parameter on the content type is fine; a zero fee touches no fee account.
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"0.50","fee":"0.00"})",
               auto_key, {{"Content-Type", "application/json; charset=utf-8"}});
  CHECK(check_command(r, 201) == 9);
  // A user's outcome lists its own balances only, not the counterparty's.
  CHECK(r.body == accepted_body("transfer", 9, R"(,"transaction_id":9)", {bal(4, "89.00")}));
  // The same movement by an admin shows every touched account.
  r = env.post("/v1/transfers", env.admin, R"({"from_wallet_id":5,"to_wallet_id":4,"asset":"USD","amount":"0.25","fee":"0.25"})");
  CHECK(check_command(r, 201) == 10);
  CHECK(r.body == accepted_body("transfer", 10, R"(,"transaction_id":10)", {bal(5, "10.00"), bal(4, "89.25"), bal(2, "0.75")}));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "89.25"));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "10.00"));

  r = env.post("/v1/withdrawals", env.alice, R"({"wallet_id":4,"asset":"USD","amount":"3.00","reference":"payout-1"})");
  CHECK(check_command(r, 201) == 11);
  CHECK(r.body == accepted_body("withdraw", 11, R"(,"withdrawal_id":11)", {bal(4, "89.25", "3.00")}));
  CHECK(env.wallet(4) == wallet_body(4, "alice", "active", {wbal("USD", "89.25", "3.00", "0.00", "86.25", "0.00")}));

  r = env.post("/v1/withdrawals/11/settle", env.service, "");
  CHECK(check_command(r, 200) == 12);
  CHECK(r.body == accepted_body("settle_withdrawal", 12, R"(,"transaction_id":12)", {bal(4, "86.25"), bal(1, "3.00")}));

  r = env.post("/v1/withdrawals", env.admin, R"({"wallet_id":4,"asset":"USD","amount":"2.00"})");
  CHECK(check_command(r, 201) == 13);
  CHECK(r.body == accepted_body("withdraw", 13, R"(,"withdrawal_id":13)", {bal(4, "86.25", "2.00"), bal(1, "3.00", "0.00", "2.00")}));
  r = env.post("/v1/withdrawals/13/fail", env.service, R"({"reason":"account closed at the bank"})");
  CHECK(check_command(r, 200) == 14);
  CHECK(r.body == accepted_body("fail_withdrawal", 14, "", {bal(4, "86.25"), bal(1, "3.00")}));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "86.25"));

  // Zero-sum: 100.00 in from the provider = 86.25 + 10.00 + 0.75 fees + 3.00 paid out.
  CHECK(env.seq() == 14);
}

TEST_CASE("holds: RFC 3339 expiry, partial capture, full capture, void, expiry") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);
  REQUIRE(env.open_wallet("bob") == 5);
  env.deposit(4, "100.00");  // seq 7

  auto r = env.post("/v1/holds", env.alice,
                    R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"20.00","expires_at":"2099-01-01T00:00:00Z","reference":"booking-1"})");
  CHECK(check_command(r, 201) == 8);
  CHECK(r.body == accepted_body("hold", 8, R"(,"hold_id":8)", {bal(4, "100.00", "20.00")}));  // the holder's own only
  CHECK(env.wallet(4) == wallet_body(4, "alice", "active", {wbal("USD", "100.00", "20.00", "0.00", "80.00", "0.00")}));
  CHECK(env.wallet(5) == wallet_body(5, "bob", "active", {wbal("USD", "0.00", "0.00", "20.00", "0.00", "0.00")}));

  // Partial capture: 5.00 moves, the other 15.00 is released.
  r = env.post("/v1/holds/8/capture", env.service, R"({"amount":"5.00"})");
  CHECK(check_command(r, 200) == 9);
  CHECK(r.body == accepted_body("capture", 9, R"(,"transaction_id":9)", {bal(4, "95.00"), bal(5, "5.00")}));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "95.00"));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "5.00"));

  // A hold to a system account, with a fraction and an offset; then voided.
  r = env.post("/v1/holds", env.service,
               R"({"wallet_id":4,"to_account_id":3,"asset":"USD","amount":"1.00","expires_at":"2099-06-01T12:00:00.250+02:00"})");
  CHECK(check_command(r, 201) == 10);
  CHECK(r.body == accepted_body("hold", 10, R"(,"hold_id":10)", {bal(4, "95.00", "1.00"), bal(3, "-100.00", "0.00", "1.00")}));
  r = env.post("/v1/holds/10/void", env.admin, "");
  CHECK(check_command(r, 200) == 11);
  CHECK(r.body == accepted_body("void_hold", 11, "", {bal(4, "95.00"), bal(3, "-100.00")}));

  // Capture without an amount takes the whole hold.
  r = env.post("/v1/holds", env.alice,
               R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"7.00","expires_at":"2099-01-01T00:00:00Z"})");
  CHECK(check_command(r, 201) == 12);
  r = env.post("/v1/holds/12/capture", env.service, "");
  CHECK(check_command(r, 200) == 13);
  CHECK(r.body == accepted_body("capture", 13, R"(,"transaction_id":13)", {bal(4, "88.00"), bal(5, "12.00")}));

  // Expiry: a hold two seconds out; once the wall clock is past it, the next
  // command sweeps it (its own event) before being refused as expired.
  std::time_t expires = std::time(nullptr) + 2;
  r = env.post("/v1/holds", env.alice,
               R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"2.00","expires_at":")" + rfc3339(expires) + "\"}");
  CHECK(check_command(r, 201) == 14);
  CHECK(env.wallet(4) == wallet_body(4, "alice", "active", {wbal("USD", "88.00", "2.00", "0.00", "86.00", "0.00")}));
  std::this_thread::sleep_until(std::chrono::system_clock::from_time_t(expires) + std::chrono::milliseconds(100));
  r = env.post("/v1/holds/14/capture", env.service, "", auto_key, {{"X-Request-ID", "late-capture"}});
  CHECK(check_command(r, 422) == 16);  // 15 is the expiry
  CHECK(r.body == rejected_body("hold_expired", "hold_expired", "/v1/holds/14/capture", "late-capture", 16));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "88.00"));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "12.00"));

  // expires_at is strict: upper-case T and Z only (nothing journaled).
  r = env.post("/v1/holds", env.service,
               R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"3.00","expires_at":"2099-01-01t00:00:00z"})");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "expires_at");
  // Capture "0" is refused (a client that computed zero by mistake must not
  // charge the whole hold) and changes nothing; no amount means the whole hold.
  r = env.post("/v1/holds", env.service,
               R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"3.00","expires_at":"2099-01-01T00:00:00Z"})");
  CHECK(check_command(r, 201) == 17);
  CHECK(r.body == accepted_body("hold", 17, R"(,"hold_id":17)", {bal(4, "88.00", "3.00"), bal(5, "12.00", "0.00", "3.00")}));
  r = env.post("/v1/holds/17/capture", env.admin, R"({"amount":"0"})");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "amount");
  CHECK(env.seq() == 17);
  r = env.post("/v1/holds/17/capture", env.admin, "");
  CHECK(check_command(r, 200) == 18);
  CHECK(r.body == accepted_body("capture", 18, R"(,"transaction_id":18)", {bal(4, "85.00"), bal(5, "15.00")}));
}

TEST_CASE("reverse, freeze, unfreeze, close") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);
  REQUIRE(env.open_wallet("bob") == 5);
  env.deposit(4, "50.00");  // seq 7
  auto r = env.post("/v1/transfers", env.admin, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"10.00","fee":"1.00"})");
  REQUIRE(check_command(r, 201) == 8);

  r = env.post("/v1/transactions/8/reverse", env.admin, R"({"reason":"chargeback"})");
  CHECK(check_command(r, 201) == 9);
  CHECK(r.body == accepted_body("reverse", 9, R"(,"transaction_id":9)", {bal(4, "50.00"), bal(5, "0.00"), bal(2, "0.00")}));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "50.00"));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "0.00"));
  r = env.post("/v1/transactions/8/reverse", env.admin, "", auto_key, {{"X-Request-ID", "again"}});
  CHECK(check_command(r, 422) == 10);
  CHECK(r.body == rejected_body("already_reversed", "reversed by transaction 9", "/v1/transactions/8/reverse", "again", 10));

  env.deposit(5, "5.00");  // seq 11
  r = env.post("/v1/wallets/5/freeze", env.admin, "");
  CHECK(check_command(r, 200) == 12);
  CHECK(r.body == accepted_body("freeze_wallet", 12, ""));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "5.00", "frozen"));
  // Frozen: cannot send, can receive.
  r = env.post("/v1/transfers", env.bob, R"({"from_wallet_id":5,"to_wallet_id":4,"asset":"USD","amount":"1.00"})", auto_key,
               {{"X-Request-ID", "frozen-send"}});
  CHECK(check_command(r, 422) == 13);
  CHECK(r.body == rejected_body("wallet_frozen", "wallet_frozen", "/v1/transfers", "frozen-send", 13));
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"})");
  CHECK(check_command(r, 201) == 14);

  r = env.post("/v1/wallets/5/unfreeze", env.admin, "");
  CHECK(check_command(r, 200) == 15);
  CHECK(r.body == accepted_body("unfreeze_wallet", 15, ""));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "6.00"));

  // Close needs a zero balance.
  r = env.post("/v1/wallets/5/close", env.admin, "", auto_key, {{"X-Request-ID", "close-1"}});
  CHECK(check_command(r, 422) == 16);
  CHECK(r.body == rejected_body("balance_not_zero", "asset USD has a balance or pending amounts", "/v1/wallets/5/close", "close-1", 16));
  r = env.post("/v1/transfers", env.bob, R"({"from_wallet_id":5,"to_wallet_id":4,"asset":"USD","amount":"6.00"})");
  CHECK(check_command(r, 201) == 17);
  r = env.post("/v1/wallets/5/close", env.admin, "");
  CHECK(check_command(r, 200) == 18);
  CHECK(r.body == accepted_body("close_wallet", 18, ""));
  CHECK(env.wallet(5) == usd_wallet(5, "bob", "0.00", "closed"));
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"})", auto_key,
               {{"X-Request-ID", "to-closed"}});
  CHECK(check_command(r, 422) == 19);
  CHECK(r.body == rejected_body("wallet_closed", "wallet_closed", "/v1/transfers", "to-closed", 19));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "55.00"));  // 50.00 - 1.00 + 6.00
}

TEST_CASE("batch: mixed commands, each with its own status; later items see earlier ones") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);  // seq 5
  env.deposit(4, "100.00");                // seq 6
  REQUIRE(env.open_wallet("bob") == 5);    // seq 7

  const std::string batch = R"({"commands":[
    {"type":"open_wallet","idempotency_key":"b-open","owner":"carol","assets":[{"asset":"USD"}]},
    {"type":"deposit","idempotency_key":"b-dep","wallet_id":6,"asset":"USD","amount":"50.00","provider":"stripe"},
    {"type":"transfer","idempotency_key":"b-t1","from_wallet_id":6,"to_wallet_id":4,"asset":"USD","amount":"20.00","fee":"1.00"},
    {"type":"transfer","idempotency_key":"b-t2","from_wallet_id":6,"to_wallet_id":4,"asset":"USD","amount":"40.00"},
    {"type":"withdraw","idempotency_key":"b-wd","wallet_id":6,"asset":"USD","amount":"29.00"},
    {"type":"settle_withdrawal","idempotency_key":"b-settle","withdrawal_id":12},
    {"type":"close_wallet","idempotency_key":"b-close","wallet_id":6}
  ]})";
  const std::string rid = "batch-1";
  auto r = env.post("/v1/batch", env.admin, batch, no_key, {{"X-Request-ID", rid}});
  CHECK(r.status == 200);
  CHECK(r.header("Ledger-Seq") == "14");
  CHECK(r.header("X-Request-ID") == rid);
  const std::string expected =
      R"({"results":[)"
      R"({"status":201,"replay":false,"body":)" + accepted_body("open_wallet", 8, R"(,"wallet_id":6)") + "}," +
      R"({"status":201,"replay":false,"body":)" + accepted_body("deposit", 9, R"(,"transaction_id":9)", {bal(3, "-150.00"), bal(6, "50.00")}) + "}," +
      R"({"status":201,"replay":false,"body":)" + accepted_body("transfer", 10, R"(,"transaction_id":10)", {bal(6, "29.00"), bal(4, "120.00"), bal(2, "1.00")}) + "}," +
      R"({"status":422,"replay":false,"body":)" + rejected_body("insufficient_funds", "insufficient_funds", "/v1/batch", rid, 11) + "}," +
      R"({"status":201,"replay":false,"body":)" + accepted_body("withdraw", 12, R"(,"withdrawal_id":12)", {bal(6, "29.00", "29.00"), bal(1, "0.00", "0.00", "29.00")}) + "}," +
      R"({"status":200,"replay":false,"body":)" + accepted_body("settle_withdrawal", 13, R"(,"transaction_id":13)", {bal(6, "0.00"), bal(1, "29.00")}) + "}," +
      R"({"status":200,"replay":false,"body":)" + accepted_body("close_wallet", 14, "") + "}" +
      "]}";
  CHECK(r.body == expected);
  CHECK(env.seq() == 14);
  CHECK(env.wallet(6) == usd_wallet(6, "carol", "0.00", "closed"));
  CHECK(env.wallet(4) == usd_wallet(4, "alice", "120.00"));

  // The same batch again: every item is a replay of its first outcome.
  r = env.post("/v1/batch", env.admin, batch, no_key, {{"X-Request-ID", rid}});
  CHECK(r.status == 200);
  std::string replayed = expected;
  for (auto pos = replayed.find("\"replay\":false"); pos != std::string::npos; pos = replayed.find("\"replay\":false"))
    replayed.replace(pos, 14, "\"replay\":true");
  CHECK(r.body == replayed);
  CHECK(r.header("Ledger-Seq") == "14");
  CHECK(env.seq() == 14);

  // A user's batch: its own transfer and hold, the key space shared with single requests.
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"})", "u-1");
  CHECK(check_command(r, 201) == 15);
  const std::string single = r.body;
  r = env.post("/v1/batch", env.alice, R"({"commands":[
    {"type":"transfer","idempotency_key":"u-1","from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"},
    {"type":"hold","idempotency_key":"u-2","wallet_id":4,"to_account_id":5,"asset":"USD","amount":"9.00","expires_at":"2099-01-01T00:00:00Z"}
  ]})", no_key);
  CHECK(r.status == 200);
  CHECK(r.header("Ledger-Seq") == "16");
  CHECK(r.body == R"({"results":[{"status":201,"replay":true,"body":)" + single + R"(},{"status":201,"replay":false,"body":)" +
                      accepted_body("hold", 16, R"(,"hold_id":16)", {bal(4, "119.00", "9.00")}) + "}]}");
  CHECK(env.seq() == 16);
}

TEST_CASE("healthz, readyz, metrics, Ledger-Seq and X-Request-ID") {
  ledger_env env;  // two commands: seq 4
  auto r = env.get("/healthz", "");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok"})");
  CHECK(r.header("Content-Type") == "application/json");
  r = env.get("/healthz", "");
  CHECK(r.status == 200);
  r = env.get("/readyz", "");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ready"})");
  r = env.ops_get("/readyz");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ready","role":"api","engine":"ok","draining":false,"seq":4})");

  r = env.ops_get("/metrics");
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type") == "text/plain; version=0.0.4");
  CHECK(r.body.find("# TYPE ledger_http_requests_total counter\n") != std::string::npos);
  CHECK(r.body.find("\nledger_http_requests_total{route=\"healthz\",status=\"200\"} 2\n") != std::string::npos);
  CHECK(r.body.find("\nledger_http_requests_total{route=\"readyz\",status=\"200\"} 1\n") != std::string::npos);
  CHECK(r.body.find("\nledger_http_requests_total{route=\"register_asset\",status=\"201\"} 1\n") != std::string::npos);
  CHECK(r.body.find("\nledger_http_requests_total{route=\"open_system_account\",status=\"201\"} 1\n") != std::string::npos);
  CHECK(r.body.find("\nledger_journal_seq 4\n") != std::string::npos);
  CHECK(r.body.find("\nledger_engine_failed 0\n") != std::string::npos);
  CHECK(r.body.find("\nledger_http_requests_in_flight 0\n") != std::string::npos);  // metrics are not an API request
  // The data directory's disk, for the disk-usage alert: total >= available > 0.
  auto disk = [&](const std::string& kind) {
    auto line = "\nledger_disk_bytes{kind=\"" + kind + "\"} ";
    auto p = r.body.find(line);
    REQUIRE_MESSAGE(p != std::string::npos, line);
    return std::stod(r.body.substr(p + line.size(), r.body.find('\n', p + 1) - p - line.size()));
  };
  CHECK(disk("available") > 0);
  CHECK(disk("total") >= disk("available"));

  // Ledger-Seq on commands is the body's seq; on a wallet read, the head.
  auto w = env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD"}]})");
  CHECK(check_command(w, 201) == 5);
  CHECK(w.header("Ledger-Seq") == "5");
  r = env.get("/v1/wallets/4", env.alice);
  CHECK(r.header("Ledger-Seq") == "5");
  r = env.ops_get("/metrics");
  CHECK(r.body.find("\nledger_journal_seq 5\n") != std::string::npos);
  CHECK(r.body.find("\nledger_http_requests_total{route=\"open_wallet\",status=\"201\"} 1\n") != std::string::npos);

  // X-Request-ID: a sane one is echoed, in the header and in a problem body.
  for (std::string id : {std::string("abc-123"), std::string("A.b_c:d-9"), std::string(128, 'x')}) {
    r = env.get("/v1/wallets/999", env.alice, {{"X-Request-ID", id}});
    CHECK(r.status == 404);
    CHECK(r.header("X-Request-ID") == id);
    CHECK(json(r.body).str("/request_id") == id);
  }
  // Anything else is replaced by a generated one: 32 lowercase hex digits, fresh each time.
  auto generated = [](const std::string& id) {
    if (id.size() != 32) return false;
    for (char c : id)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
  };
  std::set<std::string> seen;
  for (std::string id : {std::string(), std::string("has space"), std::string(129, 'x'), std::string("semi;colon"),
                         std::string("quote\"d")}) {
    header_list h;
    if (!id.empty()) h.emplace_back("X-Request-ID", id);
    r = env.get("/healthz", "", h);
    CHECK(r.status == 200);
    auto got = r.header("X-Request-ID");
    CHECK_MESSAGE(generated(got), got);
    CHECK(got != id);
    seen.insert(got);
  }
  CHECK(seen.size() == 5);

  // Everything above went over one keep-alive connection.
  CHECK(env.http.connects() == 1);
}

TEST_CASE("connections: pipelined responses in request order, HTTP/1.0, Connection: close, chunked bodies") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);  // seq 5
  REQUIRE(env.open_wallet("bob") == 5);    // seq 6
  env.deposit(4, "10.00");                 // seq 7

  // Commands (answered after the engine commits) and reads (answered at
  // once) pipelined on one connection come back in the order sent.
  auto with_id = [](request q, std::string id) {
    q.headers.emplace_back("X-Request-ID", std::move(id));
    return q;
  };
  request transfer;
  transfer.method = "POST";
  transfer.target = "/v1/transfers";
  transfer.body = R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"})";
  transfer.headers = {{"Authorization", "Bearer " + env.alice}, {"Content-Type", "application/json"}};
  auto t1 = transfer, t2 = transfer;
  t1.headers.emplace_back("Idempotency-Key", "pipe-a");
  t2.headers.emplace_back("Idempotency-Key", "pipe-b");
  request health{"GET", "/healthz", {}, ""};
  request wallet{"GET", "/v1/wallets/5", {{"Authorization", "Bearer " + env.admin}}, ""};
  http_client c = env.proc.client();
  auto rs = c.pipeline({with_id(t1, "p1"), with_id(health, "p2"), with_id(t2, "p3"), with_id(wallet, "p4"),
                        with_id(request{"GET", "/readyz", {}, ""}, "p5")});
  REQUIRE(rs.size() == 5);
  for (std::size_t i = 0; i < rs.size(); ++i) CHECK(rs[i].header("X-Request-ID") == "p" + std::to_string(i + 1));
  CHECK(check_command(rs[0], 201) == 8);
  CHECK(rs[1].status == 200);
  CHECK(check_command(rs[2], 201) == 9);
  CHECK(rs[3].status == 200);
  CHECK(rs[4].status == 200);
  CHECK(env.posted(5) == "2.00");

  // More pipelined requests than the server keeps in flight per connection (16).
  std::vector<request> many;
  for (int i = 0; i < 40; ++i) many.push_back(with_id(health, "h" + std::to_string(i)));
  rs = c.pipeline(many);
  REQUIRE(rs.size() == 40);
  for (int i = 0; i < 40; ++i) {
    CHECK(rs[static_cast<std::size_t>(i)].status == 200);
    CHECK(rs[static_cast<std::size_t>(i)].header("X-Request-ID") == "h" + std::to_string(i));
  }
  CHECK(c.connects() == 1);

  // HTTP/1.0 without keep-alive: answered, then closed by the server.
  {
    raw_connection raw(env.proc.port());
    REQUIRE(raw.write("GET /healthz HTTP/1.0\r\n\r\n"));
    CHECK(raw.wait_closed(ms(5000)));
    CHECK(raw.received().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(raw.received().find(R"({"status":"ok"})") != std::string::npos);
  }
  // Connection: close on HTTP/1.1.
  {
    http_client cc = env.proc.client();
    auto r = cc.send(request{"GET", "/healthz", {{"Connection", "close"}}, ""});
    CHECK(r.status == 200);
    CHECK_FALSE(r.keep_alive);
    CHECK_FALSE(cc.is_open());
  }
  // A chunked request body.
  {
    std::string body = R"({"wallet_id":5,"asset":"USD","amount":"3.00","provider":"stripe"})";
    request q;
    q.method = "POST";
    q.target = "/v1/deposits";
    q.headers = {{"Authorization", "Bearer " + env.service},
                 {"Content-Type", "application/json"},
                 {"Idempotency-Key", "chunked"},
                 {"Transfer-Encoding", "chunked"}};
    auto hex = [](std::size_t n) {
      std::string h;
      do {
        h.insert(h.begin(), "0123456789abcdef"[n % 16]);
        n /= 16;
      } while (n);
      return h;
    };
    const std::string len1 = hex(body.size() / 2), len2 = hex(body.size() - body.size() / 2);
    q.body = len1 + "\r\n" + body.substr(0, body.size() / 2) + "\r\n" + len2 + "\r\n" + body.substr(body.size() / 2) +
             "\r\n0\r\n\r\n";
    auto r = env.call(q);
    CHECK(check_command(r, 201) == 10);
    CHECK(env.posted(5) == "5.00");
  }
  // Requests the HTTP parser itself refuses: 400 and the connection closes.
  for (std::string bad : {std::string("GARBAGE\r\n\r\n"), std::string("GET /healthz HTTP/9.9\r\n\r\n"),
                          std::string("POST /v1/deposits HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n12345"),
                          std::string("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n")}) {
    CAPTURE(bad);
    http_client b = env.proc.client();
    auto r = b.send_raw(bad);
    CHECK(r.status == 400);
    CHECK(json(r.body).str("/type") == "/problems/malformed-request");
    CHECK_FALSE(r.keep_alive);
    CHECK(b.wait_closed(ms(5000)));
  }
  CHECK(env.seq() == 10);
}

TEST_CASE("wallet limits: overdraft, daily debit limit, asset amount range") {
  ledger_env env;
  REQUIRE(env.post("/v1/assets", env.admin, R"({"code":"JPY","scale":0,"min_amount":"100","max_amount":"1000000"})").status == 201);  // seq 5
  // An admin grants an overdraft of 5.00 and a daily debit limit of 10.00 (UTC day).
  REQUIRE(env.open_wallet("alice", R"([{"asset":"USD","overdraft_limit":"5.00","daily_debit_limit":"10.00"},{"asset":"JPY"}])") == 4);  // seq 6
  REQUIRE(env.open_wallet("bob", R"([{"asset":"USD"},{"asset":"JPY"}])") == 5);  // seq 7
  CHECK(env.wallet(4) == wallet_body(4, "alice", "active",
                                     {wbal("USD", "0.00", "0.00", "0.00", "5.00", "5.00", "10.00"), wbal("JPY", "0", "0", "0", "0", "0")}));

  // Overdraft: 5.00 may be spent from zero, not 5.01.
  auto r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"5.01"})", auto_key,
                    {{"X-Request-ID", "od"}});
  CHECK(check_command(r, 422) == 8);
  CHECK(r.body == rejected_body("insufficient_funds", "insufficient_funds", "/v1/transfers", "od", 8));
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"5.00"})");
  CHECK(check_command(r, 201) == 9);
  CHECK(r.body == accepted_body("transfer", 9, R"(,"transaction_id":9)", {bal(4, "-5.00")}));
  CHECK(env.wallet(4) == wallet_body(4, "alice", "active",
                                     {wbal("USD", "-5.00", "0.00", "0.00", "0.00", "5.00", "10.00"), wbal("JPY", "0", "0", "0", "0", "0")}));

  // Daily limit: 5.00 used today; 5.00 more is fine, then nothing.
  env.deposit(4, "100.00");  // seq 10; deposits do not count
  r = env.post("/v1/withdrawals", env.alice, R"({"wallet_id":4,"asset":"USD","amount":"4.00"})");
  CHECK(check_command(r, 201) == 11);
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.01"})",
               auto_key, {{"X-Request-ID", "daily"}});
  CHECK(check_command(r, 422) == 12);  // 5.00 + 4.00 + 1.01 > 10.00
  CHECK(r.body == rejected_body("daily_limit_exceeded", "amount: the wallet allows 10.00 USD a day; 9.00 is used",
                                "/v1/transfers", "daily", 12));
  r = env.post("/v1/holds", env.alice,
               R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"})");
  CHECK(check_command(r, 201) == 13);  // exactly 10.00
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"0.01"})");
  CHECK(check_command(r, 422) == 14);
  CHECK(json(r.body).str("/reason") == "daily_limit_exceeded");
  // The void gives its 1.00 of usage back (the debit it counted never happened).
  CHECK(check_command(env.post("/v1/holds/13/void", env.service, ""), 200) == 15);
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"0.01"})");
  CHECK(check_command(r, 201) == 16);
  CHECK(env.wallet(4) == wallet_body(4, "alice", "active",
                                     {wbal("USD", "94.99", "4.00", "0.00", "95.99", "5.00", "10.00"), wbal("JPY", "0", "0", "0", "0", "0")}));

  // The asset's per-movement range (JPY: 100..1000000, scale 0).
  r = env.post("/v1/deposits", env.service, R"({"wallet_id":5,"asset":"JPY","amount":"99","provider":"stripe"})");
  CHECK(check_command(r, 422) == 17);
  CHECK(json(r.body).str("/reason") == "amount_out_of_range");
  r = env.post("/v1/deposits", env.service, R"({"wallet_id":5,"asset":"JPY","amount":"1000001","provider":"stripe"})");
  CHECK(check_command(r, 422) == 18);
  CHECK(json(r.body).str("/reason") == "amount_out_of_range");
  r = env.post("/v1/deposits", env.service, R"({"wallet_id":5,"asset":"JPY","amount":"1000000","provider":"stripe"})");
  CHECK(check_command(r, 201) == 19);
  CHECK(r.body == accepted_body("deposit", 19, R"(,"transaction_id":19)", {bal(3, "-1000000", "0", "0", "JPY"), bal(5, "1000000", "0", "0", "JPY")}));
  r = env.post("/v1/deposits", env.service, R"({"wallet_id":5,"asset":"JPY","amount":"100.5","provider":"stripe"})");
  CHECK(r.status == 400);  // scale 0: no fraction
  CHECK(json(r.body).str("/field") == "amount");
  CHECK(json(r.body).str("/detail") == "amount has more decimal places than the asset's scale (asset scale 0)");
  // A frozen wallet still receives.
  CHECK(check_command(env.post("/v1/wallets/5/freeze", env.admin, ""), 200) == 20);
  env.deposit(5, "1.00");  // seq 21
  CHECK(env.wallet(5) == wallet_body(5, "bob", "frozen",
                                     {wbal("USD", "6.01", "0.00", "0.00", "6.01", "0.00"), wbal("JPY", "1000000", "0", "0", "1000000", "0")}));
  CHECK(env.seq() == 21);
}
