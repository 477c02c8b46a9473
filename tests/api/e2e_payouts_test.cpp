// Payout destinations end to end: bank details encrypted by the API under
// the owner's data key, read back masked or revealed, refused to other
// users, still readable after `ledgerctl keys rotate` and the admin rotation
// route, unreadable after crypto-shredding while `ledgerctl audit verify`
// still verifies the chain; and a distinctive account number and account
// name are absent from the RocksDB files, the PostgreSQL tables (pg_dump)
// and ledgerd's logs.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_files.h"
#include "tests/api/e2e_support.h"

namespace ledger::e2e {

namespace {

// Distinctive plaintext: must never appear outside the API's memory.
const std::string account_number = "GB29NWBK60161331926819";
const std::string account_name = "Quokka Zanzibar Holdings";
const std::string details_body = R"({"account_name":")" + account_name + R"(","bank_id":"NWBKGB2L","account_number":")" +
                                 account_number + R"(","receiver_details":"Flat 9, 12 Unlikely Lane"})";

struct key_files {
  testing::temp_dir dir{"master-keys"};
  std::string spec(const std::string& id, char fill) {
    auto p = dir.path() / id;
    std::ofstream(p) << std::string(64, fill) << "\n";
    return id + "," + p.string();
  }
};

ledgerd_options with_keys(const std::string& conninfo, std::vector<std::string> args) {
  auto o = pg_options(conninfo, std::move(args));
  o.quiet = false;  // request logs on: the test greps them
  return o;
}

}  // namespace

TEST_CASE("payout destinations: encrypted end to end, masked, rotated, shredded; plaintext nowhere at rest or in logs") {
  const std::string conninfo = e2e_pg().create_database("e2e_payouts");
  key_files keys;
  std::string k1 = keys.spec("k1", 'a'), k2 = keys.spec("k2", 'b'), k3 = keys.spec("k3", 'c');
  ledger_env env(with_keys(conninfo, {"--master-key-file", k1}));
  auto wallet = env.open_wallet("alice");
  std::string base = "/v1/wallets/" + std::to_string(wallet) + "/payout-destinations";

  auto created = env.post(base, env.alice, details_body, "dest-1");
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(json(created.body).str("/details/account_number") == "****6819");
  std::uint64_t dest = json(created.body).u64("/destination_id");
  // The same request again: the same destination, replayed.
  auto retried = env.post(base, env.alice, details_body, "dest-1");
  CHECK(retried.status == 201);
  CHECK(retried.header("idempotent-replayed") == "true");
  CHECK(json(retried.body).u64("/destination_id") == dest);

  // Masked by default; revealed for the owner and an admin only.
  std::string one = base + "/" + std::to_string(dest);
  CHECK(json(env.get(base, env.alice).body).str("/destinations/0/details/account_name") == "****ings");
  auto revealed = env.get(one + "?reveal=true", env.alice);
  REQUIRE_MESSAGE(revealed.status == 200, revealed.body);
  CHECK(json(revealed.body).str("/details/account_number") == account_number);
  CHECK(json(revealed.body).str("/details/account_name") == account_name);
  CHECK(json(env.get(one + "?reveal=true", env.admin).body).str("/details/account_number") == account_number);
  CHECK(json(env.get(one, env.service).body).str("/details/account_number") == "****6819");
  CHECK(env.get(one + "?reveal=true", env.service).status == 403);
  // Another user: as if the wallet did not exist, and cannot add to it.
  CHECK(env.get(one, env.bob).status == 404);
  CHECK(env.get(base + "?reveal=true", env.bob).status == 404);
  CHECK(env.post(base, env.bob, details_body).status == 404);
  // Bad input names the field, not the value.
  auto bad = env.post(base, env.alice, R"({"account_name":"x","bank_id":"y"})");
  CHECK(bad.status == 400);
  CHECK(json(bad.body).str("/field") == "account_number");

  // Rotation offline with ledgerctl (k1 -> k2), then online by the admin route (k2 -> k3).
  auto data_dir = env.proc.data_dir();
  REQUIRE(env.proc.stop() == 0);
  std::string log1 = env.proc.stderr_text() + env.proc.stdout_text();
  auto rotated = run(std::string(LEDGERCTL_PATH) + " keys rotate --data-dir '" + data_dir.string() +
                     "' --master-key-file " + k1 + " --master-key-file " + k2);
  CHECK_MESSAGE(rotated.first == 0, rotated.second);
  CHECK(rotated.second.find("1 data keys re-wrapped under k2") != std::string::npos);
  ledger_env env2(with_keys(conninfo, {"--data-dir", data_dir.string(), "--master-key-file", k2, "--master-key-file", k3}),
                  false);
  CHECK(json(env2.get(one + "?reveal=true", env2.alice).body).str("/details/account_number") == account_number);
  auto online = env2.post("/v1/admin/keys/rotate", env2.admin, "{}", no_key);
  REQUIRE_MESSAGE(online.status == 200, online.body);
  CHECK(json(online.body).u64("/rewrapped") == 1);
  CHECK(json(online.body).str("/key_id") == "k3");
  CHECK(json(env2.get(one + "?reveal=true", env2.alice).body).str("/details/account_number") == account_number);

  // Crypto-shredding: alice's details become unreadable, and the answer says so.
  auto shred = env2.post("/v1/admin/keys/destroy", env2.admin, R"({"owner":"alice"})", no_key);
  REQUIRE_MESSAGE(shred.status == 200, shred.body);
  CHECK(json(shred.body).boolean("/destroyed") == 1);
  auto gone = env2.get(one + "?reveal=true", env2.alice);
  CHECK(gone.status == 200);
  CHECK(json(gone.body).boolean("/readable") == 0);
  CHECK(json(gone.body).str("/unreadable_reason").find("crypto-shredding") != std::string::npos);
  CHECK(env2.post(base, env2.alice, details_body).status == 409);
  // The journal is untouched: the chain still verifies.
  auto verify = run(std::string(LEDGERCTL_PATH) + " audit verify --data-dir '" + data_dir.string() + "'");
  CHECK_MESSAGE(verify.first == 0, verify.second);

  // Plain text at rest and in logs: nowhere. (Positive controls first, so the greps can fail.)
  auto marker = env2.post("/v1/wallets", env2.admin, R"({"owner":"carol","assets":[{"asset":"USD"}]})", "marker-carol");
  REQUIRE(marker.status == 201);
  std::string seq = marker.header("ledger-seq");
  REQUIRE(eventually([&] { return run("psql -Atc 'SELECT count(*) FROM ledger.audit_log WHERE seq = " + seq + "' '" +
                                      conninfo + "'").second == "1\n"; }));
  REQUIRE(env2.proc.stop() == 0);
  std::string log2 = env2.proc.stderr_text() + env2.proc.stdout_text();
  auto dump = run("pg_dump --data-only '" + conninfo + "'");
  REQUIRE_MESSAGE(dump.first == 0, dump.second);
  CHECK(dump.second.find("register_payout_destination") != std::string::npos);
  CHECK(any_file_has(data_dir / "ledger", "enc1:"));
  CHECK(log1.find("create_payout_destination") != std::string::npos);
  for (const auto& secret : {account_number, account_name, std::string("Unlikely Lane")}) {
    INFO("plaintext ", secret);
    CHECK_FALSE(any_file_has(data_dir, secret));
    CHECK(dump.second.find(secret) == std::string::npos);
    CHECK(log1.find(secret) == std::string::npos);
    CHECK(log2.find(secret) == std::string::npos);
  }
}

}  // namespace ledger::e2e
