// Idempotency over HTTP (replays, conflicts, stored rejections, keys per
// principal, a duplicate while the first is in flight) and object-level
// authorization: another user's wallet looks exactly like one that does not
// exist, wherever its id appears.
#include <doctest/doctest.h>

#include <functional>

#include "tests/api/e2e_support.h"

using namespace ledger::e2e;

namespace {

std::string transfer(std::uint64_t from, std::uint64_t to, std::string_view amount) {
  return R"({"from_wallet_id":)" + std::to_string(from) + R"(,"to_wallet_id":)" + std::to_string(to) +
         R"(,"asset":"USD","amount":")" + std::string(amount) + "\"}";
}

}  // namespace

TEST_CASE("idempotency: replay, conflict, stored rejections, keys per principal") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);  // seq 5
  env.deposit(4, "100.00");                // seq 6
  REQUIRE(env.open_wallet("bob") == 5);    // seq 7
  env.deposit(5, "50.00");                 // seq 8

  // A new key: applied once.
  auto first = env.post("/v1/transfers", env.alice, transfer(4, 5, "10.00"), "t-1");
  CHECK(check_command(first, 201) == 9);
  CHECK_FALSE(first.has_header("Idempotent-Replayed"));
  CHECK(first.body == accepted_body("transfer", 9, R"(,"transaction_id":9)", {bal(4, "90.00")}));
  const auto after_first = env.snap({4, 5});

  // The same request again, with another request id and the fields in
  // another order: the same status and body, marked as a replay, no new event.
  for (const std::string& body : {transfer(4, 5, "10.00"),
                                  std::string(R"({ "amount":"10.00", "asset":"USD", "to_wallet_id":5, "from_wallet_id":4 })"),
                                  std::string(R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"10.0"})")}) {
    CAPTURE(body);
    auto again = env.post("/v1/transfers", env.alice, body, "t-1", {{"X-Request-ID", "retry"}});
    CHECK(again.status == 201);
    CHECK(again.body == first.body);
    CHECK(again.header("Idempotent-Replayed") == "true");
    CHECK(again.header("Ledger-Seq") == "9");
    CHECK(again.header("X-Request-ID") == "retry");
    CHECK(env.snap({4, 5}) == after_first);
  }

  // The same key with another body: a recorded conflict; nothing moves and
  // the key keeps its first payload.
  auto conflict = env.post("/v1/transfers", env.alice, transfer(4, 5, "11.00"), "t-1", {{"X-Request-ID", "conflict"}});
  CHECK(check_command(conflict, 422) == 10);
  CHECK(conflict.body == rejected_body("idempotency_conflict", "key was used with another payload by event 9", "/v1/transfers",
                                       "conflict", 10, "Idempotency-Key reused with another request body"));
  CHECK_FALSE(conflict.has_header("Idempotent-Replayed"));
  // Another command type under the same key conflicts too.
  conflict = env.post("/v1/withdrawals", env.alice, R"({"wallet_id":4,"asset":"USD","amount":"10.00"})", "t-1");
  CHECK(check_command(conflict, 422) == 11);
  CHECK(json(conflict.body).str("/reason") == "idempotency_conflict");
  auto snap = env.snap({4, 5});
  CHECK(snap.seq == 11);
  CHECK(snap.wallets == after_first.wallets);
  auto again = env.post("/v1/transfers", env.alice, transfer(4, 5, "10.00"), "t-1");
  CHECK(again.status == 201);
  CHECK(again.body == first.body);
  CHECK(again.header("Idempotent-Replayed") == "true");

  // A rejection is stored under its key: a retry gets it again, even once
  // the reason has gone away.
  auto rej = env.post("/v1/transfers", env.alice, transfer(4, 5, "500.00"), "t-big", {{"X-Request-ID", "big"}});
  CHECK(check_command(rej, 422) == 12);
  CHECK(rej.body == rejected_body("insufficient_funds", "insufficient_funds", "/v1/transfers", "big", 12));
  env.deposit(4, "1000.00");  // seq 13
  auto rej2 = env.post("/v1/transfers", env.alice, transfer(4, 5, "500.00"), "t-big", {{"X-Request-ID", "big"}});
  CHECK(rej2.status == 422);
  CHECK(rej2.body == rej.body);
  CHECK(rej2.header("Idempotent-Replayed") == "true");
  CHECK(rej2.header("Ledger-Seq") == "12");
  CHECK(env.seq() == 13);
  CHECK(env.posted(4) == "1090.00");

  // invalid_argument does not claim the key: the corrected command may use it.
  auto bad = env.post("/v1/holds", env.alice,
                      R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2001-01-01T00:00:00Z"})", "h-1");
  CHECK(check_command(bad, 422) == 14);
  CHECK(json(bad.body).str("/reason") == "invalid_argument");
  auto good = env.post("/v1/holds", env.alice,
                       R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"})", "h-1");
  CHECK(check_command(good, 201) == 15);
  CHECK_FALSE(good.has_header("Idempotent-Replayed"));

  // Keys are scoped per principal: bob's "t-1" is his own, unrelated command.
  auto bobs = env.post("/v1/transfers", env.bob, transfer(5, 4, "1.00"), "t-1");
  CHECK(check_command(bobs, 201) == 16);
  CHECK_FALSE(bobs.has_header("Idempotent-Replayed"));
  CHECK(bobs.body == accepted_body("transfer", 16, R"(,"transaction_id":16)", {bal(5, "59.00", "0.00", "1.00")}));  // alice's hold h-1 is incoming
  auto admins = env.post("/v1/deposits", env.admin, R"({"wallet_id":5,"asset":"USD","amount":"1.00","provider":"stripe"})", "t-1");
  CHECK(check_command(admins, 201) == 17);
  CHECK_FALSE(admins.has_header("Idempotent-Replayed"));
  again = env.post("/v1/transfers", env.alice, transfer(4, 5, "10.00"), "t-1");
  CHECK(again.body == first.body);
  CHECK(again.header("Idempotent-Replayed") == "true");
  again = env.post("/v1/transfers", env.bob, transfer(5, 4, "1.00"), "t-1");
  CHECK(again.body == bobs.body);
  CHECK(again.header("Idempotent-Replayed") == "true");

  // The longest key allowed.
  auto longest = env.post("/v1/transfers", env.alice, transfer(4, 5, "0.01"), std::string(255, 'k'));
  CHECK(check_command(longest, 201) == 18);
  CHECK(env.seq() == 18);
}

TEST_CASE("idempotency: the same key pipelined on one connection is applied once") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);
  REQUIRE(env.open_wallet("bob") == 5);
  env.deposit(4, "10.00");
  const int rounds = 30;
  int in_flight_409 = 0, replays = 0;
  http_client c = env.proc.client();
  for (int i = 0; i < rounds; ++i) {
    CAPTURE(i);
    auto seq_before = env.seq();
    request q;
    q.method = "POST";
    q.target = "/v1/transfers";
    q.body = transfer(4, 5, "0.01");
    q.headers = {{"Authorization", "Bearer " + env.alice},
                 {"Content-Type", "application/json"},
                 {"Idempotency-Key", "pipe-" + std::to_string(i)}};
    auto rs = c.pipeline({q, q});
    REQUIRE(rs.size() == 2);
    // The first is read, authorized and submitted before the second is read.
    CHECK(check_command(rs[0], 201) == seq_before + 1);
    CHECK_FALSE(rs[0].has_header("Idempotent-Replayed"));
    if (rs[1].status == 409) {
      ++in_flight_409;
      CHECK(rs[1].header("Retry-After") == "1");
      CHECK(rs[1].body == problem_body("request-in-flight", "A request with this Idempotency-Key is in progress", 409,
                                       "a request with this Idempotency-Key is still being processed; retry later",
                                       "/v1/transfers", rs[1].header("X-Request-ID")));
      CHECK_FALSE(rs[1].has_header("Ledger-Seq"));
      CHECK(rs[1].keep_alive);
    } else {
      ++replays;
      CHECK(rs[1].status == 201);
      CHECK(rs[1].header("Idempotent-Replayed") == "true");
      CHECK(rs[1].body == rs[0].body);
      CHECK(rs[1].header("Ledger-Seq") == rs[0].header("Ledger-Seq"));
    }
    CHECK(env.seq() == seq_before + 1);  // exactly one event
  }
  MESSAGE("pipelined duplicates: " << in_flight_409 << " answered 409 request-in-flight, " << replays << " replays");
  CHECK(in_flight_409 + replays == rounds);
  CHECK(c.connects() == 1);
  CHECK(env.posted(4) == "9.70");
  CHECK(env.posted(5) == "0.30");
}

TEST_CASE("cross-user access: another user's wallet is indistinguishable from a missing one") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);  // seq 5
  REQUIRE(env.open_wallet("bob") == 5);    // seq 6
  env.deposit(4, "100.00");
  env.deposit(5, "50.00");
  const auto before = env.snap({4, 5});

  // What alice gets for bob's wallet (5) must be what she gets for a wallet
  // that does not exist (999) or a system account (1), up to the id itself.
  auto same_as_missing = [&](const std::function<response(std::uint64_t)>& call, const std::string& instance_of_5,
                             const std::string& field) {
    for (std::uint64_t id : {std::uint64_t{5}, std::uint64_t{999}, std::uint64_t{1}}) {
      CAPTURE(id);
      auto r = call(id);
      CHECK(r.status == 404);
      std::string instance = instance_of_5;
      if (auto p = instance.find("/5/"); p != std::string::npos) instance.replace(p, 3, "/" + std::to_string(id) + "/");
      else if (instance == "/v1/wallets/5") instance = "/v1/wallets/" + std::to_string(id);
      CHECK(r.body == problem_body("not-found", "Not found", 404, "wallet " + std::to_string(id) + " not found", instance,
                                   r.header("X-Request-ID"), field));
      CHECK_FALSE(r.has_header("Ledger-Seq"));
      CHECK(env.snap({4, 5}) == before);
    }
  };

  // Path.
  same_as_missing([&](std::uint64_t id) { return env.get("/v1/wallets/" + std::to_string(id), env.alice); }, "/v1/wallets/5", "");
  // Body: transfer, withdrawal, hold.
  same_as_missing([&](std::uint64_t id) { return env.post("/v1/transfers", env.alice, transfer(id, 4, "1.00")); },
                  "/v1/transfers", "from_wallet_id");
  same_as_missing(
      [&](std::uint64_t id) {
        return env.post("/v1/withdrawals", env.alice, R"({"wallet_id":)" + std::to_string(id) + R"(,"asset":"USD","amount":"1.00"})");
      },
      "/v1/withdrawals", "wallet_id");
  same_as_missing(
      [&](std::uint64_t id) {
        return env.post("/v1/holds", env.alice,
                        R"({"wallet_id":)" + std::to_string(id) +
                            R"(,"to_account_id":4,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"})");
      },
      "/v1/holds", "wallet_id");
  // Batch items, alone or after a legitimate item (which must not be applied either).
  same_as_missing(
      [&](std::uint64_t id) {
        return env.post("/v1/batch", env.alice,
                        R"({"commands":[{"type":"transfer","idempotency_key":"x1",)" + transfer(id, 4, "1.00").substr(1) + "]}",
                        no_key);
      },
      "/v1/batch", "commands[0].from_wallet_id");
  same_as_missing(
      [&](std::uint64_t id) {
        return env.post("/v1/batch", env.alice,
                        R"({"commands":[{"type":"transfer","idempotency_key":"own",)" + transfer(4, 5, "1.00").substr(1) +
                            R"(,{"type":"withdraw","idempotency_key":"x2","wallet_id":)" + std::to_string(id) +
                            R"(,"asset":"USD","amount":"1.00"}]})",
                        no_key);
      },
      "/v1/batch", "commands[1].wallet_id");
  same_as_missing(
      [&](std::uint64_t id) {
        return env.post("/v1/batch", env.alice,
                        R"({"commands":[{"type":"hold","idempotency_key":"x3","wallet_id":)" + std::to_string(id) +
                            R"(,"to_account_id":4,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"}]})",
                        no_key);
      },
      "/v1/batch", "commands[0].wallet_id");

  // Query: another owner's list is "no such owner", like an owner with no wallets.
  for (std::string owner : {"bob", "nobody", "alice2"}) {
    CAPTURE(owner);
    auto r = env.get("/v1/wallets?owner=" + owner, env.alice, {{"X-Request-ID", "q"}});
    CHECK(r.status == 404);
    CHECK(r.body == problem_body("not-found", "Not found", 404, "no such owner", "/v1/wallets", "q", "owner"));
    r = env.get("/v1/wallets?owner=" + owner + "&limit=1&after=4", env.alice, {{"X-Request-ID", "q"}});
    CHECK(r.body == problem_body("not-found", "Not found", 404, "no such owner", "/v1/wallets", "q", "owner"));
  }
  CHECK(env.snap({4, 5}) == before);

  // The controls: each owner reaches its own wallet; alice may pay bob.
  CHECK(env.get("/v1/wallets/5", env.bob).body == usd_wallet(5, "bob", "50.00"));
  CHECK(env.get("/v1/wallets/4", env.alice).body == usd_wallet(4, "alice", "100.00"));
  CHECK(check_command(env.post("/v1/transfers", env.alice, transfer(4, 5, "1.00")), 201) == before.seq + 1);
  CHECK(env.posted(5) == "51.00");
}
