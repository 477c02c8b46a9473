// Document export and the account-deletion cascade end to end: a real
// ledgerd over HTTP, projecting into a real PostgreSQL.
//
// - GET /v1/documents/export of 200 documents: a chunked ZIP read back with
//   libarchive (200 files + manifest.json, every hash right, every path
//   unique and safe), ledgerd's RSS sampled from /proc during it (printed,
//   not asserted), and a second export within the hour answered 429.
// - DELETE /v1/owners/{owner}: refused with money, with an open hold, for
//   another user (404) and with a stale token (403); then a deletion after
//   which no plain-text personal data of the owner is found in the RocksDB
//   directory, the blob and key directories, pg_dump or ledgerd's logs
//   (with positive controls before it), while the chain still verifies and
//   the balances are what they were; the scans include a payment request's
//   note and a decline's reason the owner wrote (ciphertext under its key).
// - DELETE /v1/owners/{owner} also frees the owner's linked address (another
//   owner links it), takes it out of its document groups (the read model's
//   members) and closes its open payment requests on both sides, their notes
//   gone from the engine's reads and the read model's lists.
#include <doctest/doctest.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "documents/blob_crypto.h"
#include "tests/api/e2e_files.h"
#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"
#include "schemas/time.h"

namespace ledger::e2e {

namespace {

const std::string secret_name = "Wombat-Kilimanjaro-Visa.txt";
const std::string secret_text = "Visa of Wombat Kilimanjaro, number WK55443322, expires 2033\n";
const std::string secret_iban = "DE89370400440532013000";
const std::string secret_note = "Pangolin Quay rent";
const std::string secret_reason = "Axolotl sends regrets";

// Opens a request of 3.00 USD to `payer` into `wallet` with `note`; its id (defined below).
std::uint64_t request_payment(ledger_env& env, const std::string& token, std::uint64_t wallet, const std::string& payer,
                              const std::string& note);

struct owner_env {
  testing::temp_dir keys_dir{"owner-keys"};
  std::string conninfo;
  ledger_env env;
  explicit owner_env(const std::string& db)
      : conninfo(e2e_pg().create_database(db)), env([&] {
          std::ofstream(keys_dir.path() / "k1") << std::string(64, 'a') << "\n";
          auto o = pg_options(conninfo, {"--master-key-file", "k1," + (keys_dir.path() / "k1").string(),
                                         "--upload-max-bytes", "100000", "--clamd-socket", "off"});
          o.quiet = false;  // request logs on: the test greps them
          return o;
        }()) {}

  response upload(const std::string& token, const std::string& name, const std::string& body) {
    request r;
    r.method = "POST";
    r.target = "/v1/documents?category=visa&file_name=" + pct(name);
    r.body = body;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.headers.emplace_back("Content-Type", "text/plain");
    r.headers.emplace_back("Idempotency-Key", env.next_key());
    return env.call(r);
  }
  response delete_owner(const std::string& owner, const std::string& token) {
    request r;
    r.method = "DELETE";
    r.target = "/v1/owners/" + pct(owner);
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.headers.emplace_back("Idempotency-Key", env.next_key());
    return env.call(r);
  }
};

// An HS256 user token issued `age_s` ago (the test secret), for the
// freshness rule.
std::string token_issued_ago(const std::string& subject, std::int64_t age_s) {
  std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string head = b64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string body = b64url(R"({"sub":")" + subject + R"(","role":"user","iss":"ledger","aud":"ledger-api","iat":)" +
                            std::to_string(now - age_s) + R"(,"exp":)" + std::to_string(now + 600) + "}");
  std::string input = head + "." + body;
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), test_hs256_secret.data(), static_cast<int>(test_hs256_secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + b64url(std::string(reinterpret_cast<char*>(mac), len));
}

std::size_t count_blobs(const std::filesystem::path& data_dir) {
  std::size_t n = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(data_dir / "documents" / "blobs")) n += f.is_regular_file();
  return n;
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Every entry of a ZIP file: path -> content.
std::map<std::string, std::string> read_zip(const std::string& path) {
  std::map<std::string, std::string> out;
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_format_zip(a.get());
  REQUIRE(archive_read_open_filename(a.get(), path.c_str(), 65536) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    std::string data, buf(65536, '\0');
    for (la_ssize_t n; (n = archive_read_data(a.get(), buf.data(), buf.size())) > 0;) data.append(buf.data(), static_cast<std::size_t>(n));
    REQUIRE_MESSAGE(out.emplace(archive_entry_pathname(e), std::move(data)).second, "a path twice: ", archive_entry_pathname(e));
  }
  return out;
}

}  // namespace

TEST_CASE("export: 200 documents in one streamed ZIP with a manifest; a second export within the hour is 429") {
  owner_env d("e2e_owner_export");
  auto& env = d.env;
  // Names that must not escape the ZIP's folders or collide.
  std::vector<std::string> names = {"..", "...txt", " .hidden", "same.txt", "same.txt", "SAME.txt", "a:b*c?.txt"};
  std::map<std::string, std::string> sha_by_id;
  for (int i = 0; i < 200; ++i) {
    std::string name = i < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(i)] : "doc-" + std::to_string(i) + ".txt";
    std::string body = "document " + std::to_string(i) + "\n" + std::string(static_cast<std::size_t>(100 + i * 37), char('a' + i % 26)) + "\n";
    auto up = d.upload(env.alice, name, body);
    REQUIRE_MESSAGE(up.status == 201, up.body);
    sha_by_id[up.header("ledger-seq")] = documents::sha256_hex(body);
  }
  testing::temp_dir out{"export-zip"};
  std::string zip = (out.path() / "export.zip").string(), head = (out.path() / "headers").string();
  long idle_kb = rss_kb(env.proc.pid()), peak_kb = idle_kb;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      peak_kb = std::max(peak_kb, rss_kb(env.proc.pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  auto curl = run("curl -sS -D '" + head + "' -o '" + zip + "' -H 'Authorization: Bearer " + env.alice +
                  "' http://127.0.0.1:" + std::to_string(env.proc.port()) + "/v1/documents/export");
  done = true;
  sampler.join();
  MESSAGE("ledgerd RSS: idle ", idle_kb, " kB, peak during the export ", peak_kb, " kB");
  REQUIRE_MESSAGE(curl.first == 0, curl.second);
  std::ifstream hin(head);
  std::string headers((std::istreambuf_iterator<char>(hin)), std::istreambuf_iterator<char>());
  REQUIRE_MESSAGE(headers.rfind("HTTP/1.1 200", 0) == 0, headers);
  CHECK_MESSAGE(headers.find("Transfer-Encoding: chunked") != std::string::npos, headers);
  CHECK(headers.find("application/zip") != std::string::npos);

  auto entries = read_zip(zip);
  REQUIRE(entries.size() == 201);
  REQUIRE(entries.count("manifest.json") == 1);
  simdjson::dom::parser parser;
  simdjson::dom::element manifest = parser.parse(entries["manifest.json"]);
  simdjson::dom::array docs = manifest["documents"].get_array();
  CHECK(docs.size() == 200);
  std::set<std::string> lower_paths;
  for (auto doc : docs) {
    std::string id = std::to_string(std::uint64_t(doc["id"].get_uint64()));
    std::string path(std::string_view(doc["path"].get_string()));
    std::string sha(std::string_view(doc["sha256"].get_string()));
    INFO("document ", id, " at ", path);
    CHECK(sha == sha_by_id[id]);
    REQUIRE(entries.count(path) == 1);
    CHECK(documents::sha256_hex(entries[path]) == sha);
    CHECK(path.rfind("visa/", 0) == 0);
    CHECK(path.find("..") == std::string::npos);
    CHECK(path.find('/', 5) == std::string::npos);
    std::string low = path;
    for (char& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(lower_paths.insert(low).second);
  }
  CHECK(entries.count("visa/same.txt") == 1);
  CHECK(entries.count("visa/same (2).txt") == 1);
  CHECK(entries.count("visa/SAME (3).txt") == 1);

  auto again = env.get("/v1/documents/export", env.alice);
  CHECK(again.status == 429);
  auto retry = again.header("retry-after");
  REQUIRE_FALSE(retry.empty());
  CHECK(std::stoll(retry) > 3500);
  CHECK(std::stoll(retry) <= 3600);
  // Another user's export is not limited by alice's.
  auto bobs = env.get("/v1/documents/export", env.bob);
  CHECK(bobs.status == 200);
}

TEST_CASE("owner deletion: refused with money, with an open hold, for another user, with a stale token") {
  owner_env d("e2e_owner_refusals");
  auto& env = d.env;
  auto carol = env.open_wallet("carol");
  auto shop = env.open_wallet("shop");
  env.deposit(carol, "10.00");
  auto money = d.delete_owner("carol", env.admin);
  CHECK(money.status == 409);
  CHECK(money.body.find("owner-holds-money") != std::string::npos);
  CHECK(money.body.find("wallet " + std::to_string(carol)) != std::string::npos);

  auto hold = env.post("/v1/holds", env.admin,
                       R"({"wallet_id":)" + std::to_string(carol) + R"(,"to_account_id":)" + std::to_string(shop) +
                           R"(,"asset":"USD","amount":"4.00","expires_at":"2099-01-01T00:00:00Z"})");
  REQUIRE_MESSAGE(hold.status == 201, hold.body);
  auto out = env.post("/v1/transfers", env.admin,
                      R"({"from_wallet_id":)" + std::to_string(carol) + R"(,"to_wallet_id":)" + std::to_string(shop) +
                          R"(,"asset":"USD","amount":"6.00"})");
  REQUIRE_MESSAGE(out.status == 201, out.body);
  auto held = d.delete_owner("carol", env.admin);
  CHECK(held.status == 409);
  CHECK(held.body.find("pending") != std::string::npos);

  // Another user: 404 (as for every object of another user); stale: 403.
  CHECK(d.delete_owner("carol", env.bob).status == 404);
  auto stale = d.delete_owner("carol", token_issued_ago("carol", 3600));
  CHECK(stale.status == 403);
  CHECK(stale.body.find("fresh-credential-required") != std::string::npos);
  CHECK(env.wallet(carol).find("\"status\":\"active\"") != std::string::npos);
}

TEST_CASE("owner deletion: nothing readable of the owner remains in RocksDB, blobs, keys, PostgreSQL or logs") {
  owner_env d("e2e_owner_cascade");
  auto& env = d.env;
  std::string dora = env.proc.token("dora", "user");
  auto w = env.open_wallet("dora");
  auto other = env.open_wallet("erin");
  env.deposit(w, "25.00");
  auto t = env.post("/v1/transfers", env.admin,
                    R"({"from_wallet_id":)" + std::to_string(w) + R"(,"to_wallet_id":)" + std::to_string(other) +
                        R"(,"asset":"USD","amount":"25.00"})");
  REQUIRE_MESSAGE(t.status == 201, t.body);
  auto payout = env.post("/v1/wallets/" + std::to_string(w) + "/payout-destinations", dora,
                         R"({"account_name":"Wombat Kilimanjaro","bank_id":"COBADEFFXXX","account_number":")" + secret_iban + R"("})");
  REQUIRE_MESSAGE(payout.status == 201, payout.body);
  // Free text dora wrote: a note on her open request, a reason on a decline.
  request_payment(env, dora, w, "erin", secret_note);
  auto asked = std::to_string(request_payment(env, env.proc.token("erin", "user"), other, "dora", "for the ferry"));
  auto declined = env.post("/v1/payment-requests/" + asked + "/decline", dora, R"({"reason":")" + secret_reason + "\"}");
  REQUIRE_MESSAGE(declined.status == 200, declined.body);
  CHECK(json(env.get("/v1/payment-requests/" + asked, dora).body).str("/reason") == secret_reason);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto up = d.upload(dora, std::to_string(i) + "-" + secret_name, secret_text);
    REQUIRE_MESSAGE(up.status == 201, up.body);
    ids.push_back(up.header("ledger-seq"));
  }
  REQUIRE(eventually([&] {
    return run("psql -Atc 'SELECT count(*) FROM ledger.documents WHERE owner = $$dora$$' '" + d.conninfo + "'").second == "3\n";
  }));
  auto data_dir = env.proc.data_dir();
  // Positive controls: before the deletion the data is readable, and the
  // scans find a planted copy.
  auto content = env.get("/v1/documents/" + ids[0] + "/content", dora);
  CHECK(content.body == secret_text);
  CHECK(count_blobs(data_dir) == 3);
  std::ofstream(data_dir / "planted") << secret_text;
  CHECK(any_file_has(data_dir, "WK55443322"));
  std::filesystem::remove(data_dir / "planted");
  CHECK(run("psql -Atc 'SELECT count(*) FROM ledger.documents' '" + d.conninfo + "'").second == "3\n");

  auto del = d.delete_owner("dora", dora);
  REQUIRE_MESSAGE(del.status == 200, del.body);
  CHECK(del.body.find("\"wallets_closed\":[" + std::to_string(w) + "]") != std::string::npos);
  CHECK(del.body.find("\"documents_deleted\":[" + ids[0] + "," + ids[1] + "," + ids[2] + "]") != std::string::npos);
  CHECK(del.body.find("\"data_key_destroyed\":true") != std::string::npos);
  CHECK(env.get("/v1/documents/" + ids[0], dora).status == 404);
  // The decline's reason was dora's: unreadable now, for the requester too.
  json seen(env.get("/v1/payment-requests/" + asked, env.proc.token("erin", "user")).body);
  CHECK(seen.str("/status") == "declined");
  CHECK(seen.str("/reason_unreadable").find("destroyed") != std::string::npos);
  CHECK(env.wallet(w).find("\"status\":\"closed\"") != std::string::npos);
  CHECK(env.posted(w) == "0.00");
  CHECK(env.posted(other) == "25.00");
  // Later commands for the owner are refused.
  auto late = d.upload(dora, "late.txt", "late\n");
  CHECK(late.status >= 400);
  auto again = d.delete_owner("dora", env.admin);
  CHECK(again.status == 409);
  CHECK(again.body.find("owner-deleted") != std::string::npos);
  auto verify = env.get("/v1/audit/verify?seq=" + std::to_string(env.seq()), env.auditor);
  CHECK_MESSAGE(verify.body.find("\"verified\":true") != std::string::npos, verify.body);
  REQUIRE(eventually([&] {
    return run("psql -Atc 'SELECT count(*) FROM ledger.documents WHERE owner = $$dora$$ AND deleted_seq IS NULL' '" +
               d.conninfo + "'").second == "0\n";
  }));

  REQUIRE(env.proc.stop() == 0);
  std::string log = env.proc.stderr_text() + env.proc.stdout_text();
  auto dump = run("pg_dump --data-only '" + d.conninfo + "'");
  REQUIRE_MESSAGE(dump.first == 0, dump.second);
  CHECK(dump.second.find("delete_owner") != std::string::npos);  // the dump holds the deletion's event
  CHECK(log.find("delete_owner") != std::string::npos);
  for (const auto& secret : {secret_name, std::string("Wombat"), std::string("WK55443322"), secret_iban,
                             std::string("Pangolin"), std::string("Axolotl")}) {
    INFO("plaintext ", secret);
    CHECK_FALSE(any_file_has(data_dir, secret));
    CHECK_FALSE(any_file_has(d.keys_dir.path(), secret));
    CHECK(dump.second.find(secret) == std::string::npos);
    CHECK(log.find(secret) == std::string::npos);
  }
  // No blob is left (dora's were the only documents).
  CHECK(count_blobs(data_dir) == 0);
  // The owner's key file is a tombstone.
  bool tombstone = false;
  for (const auto& f : std::filesystem::recursive_directory_iterator(data_dir / "keys")) {
    std::ifstream in(f.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    tombstone = tombstone || text == "v1 destroyed\n";
  }
  CHECK(tombstone);
}

namespace {

std::string an_hour_from_now() {
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  return format_rfc3339_us(now_us + 3'600'000'000);
}

std::uint64_t request_payment(ledger_env& env, const std::string& token, std::uint64_t wallet, const std::string& payer,
                              const std::string& note) {
  auto r = env.post("/v1/payment-requests", token,
                    R"({"wallet_id":)" + std::to_string(wallet) + R"(,"payer":")" + payer +
                        R"(","asset":"USD","amount":"3.00","note":")" + note + R"(","expires_at":")" + an_hour_from_now() + "\"}");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return json(r.body).u64("/payment_request_id");
}

std::string psql(const std::string& conninfo, const std::string& sql) {
  auto r = run("psql -Atc \"" + sql + "\" '" + conninfo + "'");
  REQUIRE_MESSAGE(r.first == 0, r.second);
  return r.second;
}

}  // namespace

TEST_CASE("owner deletion: frees linked addresses, leaves groups, closes payment requests and erases their notes") {
  owner_env d("e2e_owner_links");
  auto& env = d.env;
  const std::string address = "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B";
  const std::string rent_note = "Rent for flat 4B, Zebra Lane";
  const std::string dinner_note = "Dinner at Gnu Bistro";
  std::string fay = env.proc.token("fay", "user"), gus = env.proc.token("gus", "user");
  auto fay_w = env.open_wallet("fay");
  auto gus_w = env.open_wallet("gus");
  auto link = [&](const std::string& owner) {
    return env.post("/v1/auth/connections", env.admin,
                    R"({"chain":"ethereum","network":"1","address":")" + address + R"(","owner":")" + owner + "\"}");
  };
  auto linked = link("fay");
  REQUIRE_MESSAGE(linked.status == 201, linked.body);
  auto taken = link("gus");  // linked elsewhere while fay exists
  CHECK(taken.status == 422);
  CHECK(taken.body.find("wallet_linked_elsewhere") != std::string::npos);

  REQUIRE(put_group_members(env, 41, R"(["fay","gus"])").status == 200);
  auto rent = request_payment(env, fay, fay_w, "gus", rent_note);      // fay the requester
  auto dinner = request_payment(env, gus, gus_w, "fay", dinner_note);  // fay the payer
  REQUIRE(eventually([&] {
    return psql(d.conninfo, "SELECT count(*) FROM ledger.payment_requests WHERE note <> ''") == "2\n";
  }));
  // Positive controls: the reads show the notes and the membership.
  CHECK(json(env.get("/v1/payment-requests/" + std::to_string(dinner), gus).body).str("/note") == dinner_note);
  REQUIRE(eventually([&] {
    return psql(d.conninfo, "SELECT string_agg(member, ',' ORDER BY member) FROM ledger.document_group_members "
                            "WHERE group_id = 41") == "fay,gus\n";
  }));

  auto del = d.delete_owner("fay", env.admin);
  REQUIRE_MESSAGE(del.status == 200, del.body);
  json out(del.body);
  CHECK(out.str("/addresses_disconnected/0/address") == address);
  CHECK(out.u64("/groups_left/0") == 41);
  CHECK(out.u64("/payment_requests_closed/0") == rent);
  CHECK(out.u64("/payment_requests_closed/1") == dinner);

  // The address is free: another owner links it.
  auto relinked = link("gus");
  CHECK_MESSAGE(relinked.status == 201, relinked.body);
  // The engine's reads: closed on both sides, no note.
  json r1(env.get("/v1/payment-requests/" + std::to_string(rent), gus).body);
  json r2(env.get("/v1/payment-requests/" + std::to_string(dinner), gus).body);
  CHECK(r1.str("/status") == "cancelled");
  CHECK(r2.str("/status") == "declined");
  CHECK(r1.str("/note").empty());
  CHECK(r2.str("/note").empty());
  CHECK(json(env.post("/v1/payment-requests/" + std::to_string(rent) + "/pay", gus,
                      R"({"wallet_id":)" + std::to_string(gus_w) + R"(,"asset":"USD"})").body)
            .str("/reason") == "payment_request_cancelled");
  // The read models: the group without fay, the requests closed without notes.
  REQUIRE(eventually([&] {
    return psql(d.conninfo, "SELECT string_agg(member, ',') FROM ledger.document_group_members WHERE group_id = 41") ==
           "gus\n";
  }));
  REQUIRE(eventually([&] {
    return psql(d.conninfo, "SELECT count(*) FROM ledger.wallet_connections WHERE owner = 'fay' AND "
                            "disconnected_seq IS NULL") == "0\n";
  }));
  auto listed = env.get("/v1/payment-requests?role=payer&min_seq=" + std::to_string(env.seq()), gus);
  REQUIRE_MESSAGE(listed.status == 200, listed.body);
  CHECK(listed.body.find(rent_note) == std::string::npos);
  CHECK(listed.body.find("\"status\":\"cancelled\"") != std::string::npos);
  CHECK(psql(d.conninfo, "SELECT count(*) FROM ledger.payment_requests WHERE note <> ''") == "0\n");
  auto verify = env.get("/v1/audit/verify?seq=" + std::to_string(env.seq()), env.auditor);
  CHECK_MESSAGE(verify.body.find("\"verified\":true") != std::string::npos, verify.body);
}

}  // namespace ledger::e2e
