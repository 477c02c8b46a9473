// Payment requests end to end over real HTTP against a real ledgerd that
// projects into a private PostgreSQL: a request's whole life (created, seen
// by its payer, its QR code, refusals that change nothing, paid as one
// transfer), declined, cancelled and expired requests, the lists by
// requester and payer with status filters, the activity log, and the
// note and reasons kept only as ciphertext under their author's key
// (docs/payment-requests.md, docs/api.md).
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <functional>

#include "api/qr_png.h"
#include "schemas/time.h"
#include "tests/api/e2e_files.h"
#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::e2e;

namespace {

std::string in_ms(std::int64_t ms) {
  auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  return format_rfc3339_us(now_us + ms * 1000);
}

std::uint32_t be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s.at(at + i));
  return v;
}

// A master key file in `dir` (notes and reasons are sealed under data keys it wraps).
std::string master_key_file(const testing::temp_dir& dir) {
  auto path = dir.path() / "k1";
  std::ofstream(path) << std::string(64, 'a') << "\n";
  return "k1," + path.string();
}

struct fixture {
  testing::temp_dir keys{"pr-master-keys"};
  std::string conninfo;
  ledger_env e;
  std::string carol;
  std::uint64_t bob_w = 0, alice_w = 0, alice_eur = 0, carol_w = 0;
  explicit fixture(const std::string& db)
      : conninfo(e2e_pg().create_database(db)), e(pg_options(conninfo, {"--master-key-file", master_key_file(keys)})) {
    carol = e.proc.token("carol", "user");
    REQUIRE(e.post("/v1/assets", e.admin, R"({"code":"EUR","scale":2})").status == 201);
    bob_w = e.open_wallet("bob");
    alice_w = e.open_wallet("alice");
    alice_eur = e.open_wallet("alice", R"([{"asset":"EUR"}])");
    carol_w = e.open_wallet("carol");
    e.deposit(alice_w, "100.00");
  }
  response create(std::string_view amount, const std::string& expires_at, std::string_view note = "lunch") {
    return e.post("/v1/payment-requests", e.bob,
                  R"({"wallet_id":)" + std::to_string(bob_w) + R"(,"payer":"alice","asset":"USD","amount":")" +
                      std::string(amount) + R"(","note":")" + std::string(note) + R"(","expires_at":")" + expires_at + "\"}");
  }
  std::uint64_t created(std::string_view amount, const std::string& expires_at) {
    auto r = create(amount, expires_at);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    CHECK(json(r.body).str("/status") == "pending");
    return json(r.body).u64("/payment_request_id");
  }
  response pay(std::uint64_t id, std::string_view token, std::uint64_t wallet, std::string_view asset = "USD") {
    return e.post("/v1/payment-requests/" + std::to_string(id) + "/pay", token,
                  R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":")" + std::string(asset) + "\"}");
  }
  // A 422 with `reason`, recorded, moving nothing.
  void refused(std::string_view reason, const std::function<response()>& attempt) {
    auto before = e.snap({bob_w, alice_w});
    auto r = attempt();
    CHECK_MESSAGE(r.status == 422, r.body);
    CHECK(json(r.body).str("/reason") == reason);
    auto after = e.snap({bob_w, alice_w});
    CHECK(after.seq == before.seq + 1);
    CHECK(after.wallets == before.wallets);
  }
  std::string list(std::string_view token, std::string_view query) {
    auto r = e.get("/v1/payment-requests?" + std::string(query) + "&min_seq=" + std::to_string(e.seq()), token);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.body;
  }
};

}  // namespace

TEST_CASE("a payment request's life over HTTP: created, seen, its QR code, refusals, paid once") {
  fixture f("e2e_pr_life");
  auto id = f.created("12.50", in_ms(3'600'000));

  auto seen = f.e.get("/v1/payment-requests/" + std::to_string(id), f.e.alice);
  REQUIRE_MESSAGE(seen.status == 200, seen.body);
  json j(seen.body);
  CHECK(j.str("/requester") == "bob");
  CHECK(j.str("/payer") == "alice");
  CHECK(j.str("/amount") == "12.50");
  CHECK(j.str("/note") == "lunch");
  CHECK(j.str("/status") == "pending");
  const std::string uri = j.str("/qr_uri");
  CHECK(uri == "ledger://payment-requests/" + std::to_string(id) + "?asset=USD&amount=12.50");
  CHECK(f.e.get("/v1/payment-requests/" + std::to_string(id), f.carol).status == 404);

  // The QR code: a PNG, square, of a QR version's size, encoding exactly the URI.
  auto png = f.e.get("/v1/payment-requests/" + std::to_string(id) + "/qr.png", f.e.alice);
  REQUIRE(png.status == 200);
  CHECK(png.header("content-type") == "image/png");
  REQUIRE(png.body.size() > 33);
  CHECK(png.body.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(png.body.substr(12, 4) == "IHDR");
  auto width = be32(png.body, 16), height = be32(png.body, 20);
  CHECK(width == height);
  CHECK(width % 8 == 0);
  auto modules = width / 8 - 8;  // 8 pixels a module, 4 quiet modules each side
  CHECK((modules >= 21 && modules <= 177 && (modules - 17) % 4 == 0));
  std::string expected, error;
  REQUIRE(api::qr_png(uri, 8, expected, error));
  CHECK(png.body == expected);
  CHECK(f.e.get("/v1/payment-requests/" + std::to_string(id) + "/qr.png", f.carol).status == 404);

  f.refused("not_request_party", [&] { return f.pay(id, f.carol, f.carol_w); });
  f.refused("asset_mismatch", [&] { return f.pay(id, f.e.alice, f.alice_eur, "EUR"); });
  f.refused("not_request_party", [&] {
    return f.e.post("/v1/payment-requests/" + std::to_string(id) + "/cancel", f.e.alice, "");
  });
  // Someone else's wallet is not found for the caller, before the engine.
  auto foreign = f.pay(id, f.e.alice, f.bob_w);
  CHECK(foreign.status == 404);
  CHECK(json(foreign.body).str("/field") == "wallet_id");

  auto paid = f.pay(id, f.e.alice, f.alice_w);
  REQUIRE_MESSAGE(paid.status == 200, paid.body);
  CHECK(json(paid.body).str("/status") == "paid");
  auto tx = json(paid.body).u64("/transaction_id");
  CHECK(tx == json(paid.body).u64("/seq"));
  CHECK(f.e.posted(f.alice_w) == "87.50");
  CHECK(f.e.posted(f.bob_w) == "12.50");
  f.refused("payment_request_paid", [&] { return f.pay(id, f.e.alice, f.alice_w); });

  auto after = json(f.e.get("/v1/payment-requests/" + std::to_string(id), f.e.bob).body);
  CHECK(after.str("/status") == "paid");
  CHECK(after.u64("/transaction_id") == tx);
  CHECK(after.u64("/payer_wallet_id") == f.alice_w);

  // The transfer is in the payer's history like any transfer.
  auto hist = f.e.get("/v1/transactions/" + std::to_string(tx) + "?min_seq=" + std::to_string(f.e.seq()), f.e.alice);
  CHECK_MESSAGE(hist.status == 200, hist.body);
}

TEST_CASE("bad input names the field and changes nothing") {
  fixture f("e2e_pr_input");
  auto seq = f.e.seq();
  auto r = f.create("abc", in_ms(60'000));
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "amount");
  r = f.create("1.00", in_ms(60'000), std::string(281, 'n'));
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "note");
  r = f.create("1.00", "tomorrow");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "expires_at");
  r = f.e.post("/v1/payment-requests", f.e.bob,
               R"({"wallet_id":)" + std::to_string(f.bob_w) + R"(,"payer":"bob","asset":"USD","amount":"1.00","expires_at":")" +
                   in_ms(60'000) + "\"}");
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "payer");
  CHECK(f.e.seq() == seq);
  r = f.e.get("/v1/payment-requests?role=boss", f.e.bob);
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "role");
  r = f.e.get("/v1/payment-requests?role=payer&limit=999", f.e.bob);
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "limit");
  r = f.e.get("/v1/activity?owner=bob", f.e.alice);
  CHECK(r.status == 403);
  r = f.e.get("/v1/activity?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", f.e.alice);
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "from");
}

TEST_CASE("declined, cancelled and expired requests; lists by requester and payer; the activity log") {
  fixture f("e2e_pr_lists");
  auto paid = f.created("1.00", in_ms(3'600'000));
  REQUIRE(f.pay(paid, f.e.alice, f.alice_w).status == 200);
  auto declined = f.created("2.00", in_ms(3'600'000));
  auto d = f.e.post("/v1/payment-requests/" + std::to_string(declined) + "/decline", f.e.alice, R"({"reason":"no"})");
  REQUIRE_MESSAGE(d.status == 200, d.body);
  CHECK(json(d.body).str("/status") == "declined");
  auto cancelled = f.created("3.00", in_ms(3'600'000));
  REQUIRE(f.e.post("/v1/payment-requests/" + std::to_string(cancelled) + "/cancel", f.e.bob, "").status == 200);
  f.refused("payment_request_cancelled", [&] { return f.pay(cancelled, f.e.alice, f.alice_w); });
  f.refused("payment_request_declined", [&] { return f.pay(declined, f.e.alice, f.alice_w); });

  // Expiry by log time: the next command after the expiry closes it.
  auto expiring = f.created("4.00", in_ms(1'500));
  CHECK(eventually([&] {
    f.e.deposit(f.carol_w, "0.01");
    return json(f.e.get("/v1/payment-requests/" + std::to_string(expiring), f.e.bob).body).str("/status") == "expired";
  }));
  f.refused("payment_request_expired", [&] { return f.pay(expiring, f.e.alice, f.alice_w); });
  auto open = f.created("5.00", in_ms(3'600'000));

  json all(f.list(f.e.bob, "role=requester"));
  REQUIRE(all.size("/payment_requests") == 5);
  CHECK(all.u64("/payment_requests/0/id") == open);  // newest first
  CHECK(all.str("/payment_requests/1/status") == "expired");
  CHECK(all.str("/payment_requests/4/status") == "paid");
  CHECK(json(f.list(f.e.alice, "role=payer&status=declined")).u64("/payment_requests/0/id") == declined);
  CHECK(json(f.list(f.e.alice, "role=payer&status=declined")).str("/payment_requests/0/reason") == "no");
  CHECK(json(f.list(f.e.alice, "role=payer&status=pending")).size("/payment_requests") == 1);
  CHECK(json(f.list(f.e.alice, "role=requester")).size("/payment_requests") == 0);
  CHECK(json(f.list(f.carol, "role=payer")).size("/payment_requests") == 0);
  json page(f.list(f.e.bob, "role=requester&limit=2"));
  CHECK(page.size("/payment_requests") == 2);
  json rest(f.list(f.e.bob, "role=requester&cursor=" + page.str("/next_cursor")));
  CHECK(rest.size("/payment_requests") == 3);
  CHECK(json(f.list(f.e.admin, "role=payer&owner=alice")).size("/payment_requests") == 5);

  auto act = f.e.get("/v1/activity?min_seq=" + std::to_string(f.e.seq()), f.e.bob);
  REQUIRE_MESSAGE(act.status == 200, act.body);
  CHECK(act.body.find(R"("action":"payment_request_created")") != std::string::npos);
  CHECK(act.body.find(R"("action":"payment_request_cancelled")") != std::string::npos);
  CHECK(act.body.find(R"("action":"wallet_opened")") != std::string::npos);
  CHECK(act.body.find(R"("action":"payment_request_declined")") == std::string::npos);
  auto alice_act = f.e.get("/v1/activity?owner=alice", f.e.admin);
  CHECK(alice_act.body.find(R"("action":"payment_request_declined")") != std::string::npos);
}

TEST_CASE("a note and a reason are stored only as ciphertext under their author's key, and read back in the clear") {
  fixture f("e2e_pr_private");
  const std::string note = "Capybara Tortellini at nine";
  const std::string why = "Narwhal Fondue was cold";
  auto r = f.create("2.00", in_ms(3'600'000), note);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto id = std::to_string(json(r.body).u64("/payment_request_id"));
  auto d = f.e.post("/v1/payment-requests/" + id + "/decline", f.e.alice, R"({"reason":")" + why + "\"}");
  REQUIRE_MESSAGE(d.status == 200, d.body);
  auto c = f.created("3.00", in_ms(3'600'000));
  REQUIRE(f.e.post("/v1/payment-requests/" + std::to_string(c) + "/cancel", f.e.bob, R"({"reason":"Okapi"})").status == 200);

  // Both parties read them in the clear: from the ledger's state and from the read models.
  for (const auto* token : {&f.e.bob, &f.e.alice}) {
    json one(f.e.get("/v1/payment-requests/" + id, *token).body);
    CHECK(one.str("/note") == note);
    CHECK(one.str("/reason") == why);
  }
  json listed(f.list(f.e.alice, "role=payer"));
  CHECK(listed.str("/payment_requests/1/note") == note);
  CHECK(listed.str("/payment_requests/1/reason") == why);
  CHECK(listed.str("/payment_requests/0/reason") == "Okapi");  // a cancellation's reason: the requester's

  // Stored: ciphertext, in the read model, the event stream and every file of the data directory.
  auto rows = run("psql -Atc \"SELECT note || '|' || reason FROM ledger.payment_requests WHERE request_id = " + id +
                  "\" '" + f.conninfo + "'");
  REQUIRE_MESSAGE(rows.first == 0, rows.second);
  CHECK(rows.second.rfind("enc1:", 0) == 0);
  CHECK(rows.second.find("|enc1:") != std::string::npos);
  auto events = f.e.get("/v1/events?after_seq=0&limit=1000", f.e.admin);
  REQUIRE_MESSAGE(events.status == 200, events.body);
  CHECK(events.body.find("enc1:") != std::string::npos);
  for (const auto& secret : {std::string("Capybara"), std::string("Narwhal"), std::string("Okapi")}) {
    INFO("plaintext ", secret);
    CHECK(rows.second.find(secret) == std::string::npos);
    CHECK(events.body.find(secret) == std::string::npos);
    CHECK_FALSE(any_file_has(f.e.proc.data_dir(), secret));
  }
  // The scan can fail: a planted copy is found.
  std::ofstream(f.e.proc.data_dir() / "planted") << note;
  CHECK(any_file_has(f.e.proc.data_dir(), "Capybara"));
  std::filesystem::remove(f.e.proc.data_dir() / "planted");
}

TEST_CASE("without a master key a note or a reason is refused (503, field named) and nothing is recorded") {
  ledger_env e;
  auto bob_w = e.open_wallet("bob");
  auto ask = [&](const std::string& note_field) {
    return e.post("/v1/payment-requests", e.bob,
                  R"({"wallet_id":)" + std::to_string(bob_w) + R"(,"payer":"alice","asset":"USD","amount":"1.00",)" +
                      note_field + R"("expires_at":")" + in_ms(3'600'000) + "\"}");
  };
  auto seq = e.seq();
  auto refused = ask(R"("note":"Tapir",)");
  CHECK(refused.status == 503);
  CHECK(json(refused.body).str("/field") == "note");
  CHECK(json(refused.body).str("/type") == "/problems/notes-unavailable");
  CHECK(e.seq() == seq);
  auto plain = ask("");  // no note: accepted
  REQUIRE_MESSAGE(plain.status == 201, plain.body);
  auto id = std::to_string(json(plain.body).u64("/payment_request_id"));
  auto cancel = e.post("/v1/payment-requests/" + id + "/cancel", e.bob, R"({"reason":"Tapir"})");
  CHECK(cancel.status == 503);
  CHECK(json(cancel.body).str("/field") == "reason");
  CHECK(json(e.get("/v1/payment-requests/" + id, e.bob).body).str("/status") == "pending");
  CHECK(e.post("/v1/payment-requests/" + id + "/cancel", e.bob, "").status == 200);
  CHECK_FALSE(any_file_has(e.proc.data_dir(), "Tapir"));
}
