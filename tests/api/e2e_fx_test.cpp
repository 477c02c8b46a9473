// Exchange between assets and limit tiers end to end over real HTTP against
// a real ledgerd (docs/exchange.md): a rate set by a service, a quote and
// the exchange that spends it, every refusal (422 with its reason, recorded
// and moving nothing; 400/403/404 before the engine, naming the field), and
// tier limits on a transfer.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/api/e2e_support.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::e2e;

namespace {

struct fx_env {
  ledger_env e;
  std::uint64_t alice = 0, bob = 0;
  fx_env() {
    REQUIRE(e.post("/v1/assets", e.admin, R"({"code":"BTC","scale":8})").status == 201);
    REQUIRE(e.post("/v1/system-accounts", e.admin, R"({"name":"fx"})").status == 201);
    alice = e.open_wallet("alice", R"([{"asset":"USD"},{"asset":"BTC"}])");
    bob = e.open_wallet("bob", R"([{"asset":"USD"},{"asset":"BTC"}])");
    e.deposit(alice, "100.00");
    // 1 USD = 0.0000166665 BTC; 0.25 % fee; quotes live 60 s.
    auto r = e.post("/v1/rates", e.service,
                    R"({"from_asset":"USD","to_asset":"BTC","rate":"0.0000166665","fee_bps":25,"quote_ttl_s":60,)"
                    R"("valid_until":"2090-01-01T00:00:00Z"})");
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  response quote(std::string_view token, std::string_view body) { return e.post("/v1/quotes", token, body); }
  std::uint64_t sell_usd(std::string_view amount, std::string_view token = {}) {
    auto r = quote(token.empty() ? e.alice : token,
                   R"({"from_asset":"USD","to_asset":"BTC","side":"sell","amount":")" + std::string(amount) + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json(r.body).u64("/quote_id");
  }
  response exchange(std::string_view token, std::uint64_t quote_id, std::uint64_t wallet) {
    return e.post("/v1/exchanges", token,
                  R"({"quote_id":)" + std::to_string(quote_id) + R"(,"wallet_id":)" + std::to_string(wallet) + "}");
  }
  // A 422 with `reason`, recorded (seq + 1) and moving nothing.
  void refused(std::string_view reason, const std::function<response()>& attempt) {
    auto before = e.snap({alice, bob});
    auto r = attempt();
    CHECK_MESSAGE(r.status == 422, r.body);
    CHECK(json(r.body).str("/reason") == reason);
    auto after = e.snap({alice, bob});
    CHECK(after.seq == before.seq + 1);
    CHECK(after.wallets == before.wallets);
  }
  // A 4xx before the engine naming `field`, journaling nothing.
  void invalid(unsigned status, std::string_view field, const std::function<response()>& attempt) {
    auto before = e.seq();
    auto r = attempt();
    CHECK_MESSAGE(r.status == status, r.body);
    CHECK_MESSAGE(json(r.body).str("/field") == field, r.body);
    CHECK(e.seq() == before);
  }
};

}  // namespace

TEST_CASE("fx over HTTP: rate, quote, exchange, and the quote spent") {
  fx_env f;
  auto rates = f.e.get("/v1/rates", f.e.alice);
  REQUIRE(rates.status == 200);
  CHECK(json(rates.body).str("/rates/0/rate") == "0.0000166665");
  CHECK(json(rates.body).str("/rates/0/valid_until") == "2090-01-01T00:00:00.000000Z");

  auto q = f.quote(f.e.alice, R"({"from_asset":"USD","to_asset":"BTC","side":"sell","amount":"10.00"})");
  REQUIRE_MESSAGE(q.status == 201, q.body);
  json qj(q.body);
  CHECK(qj.str("/command") == "quote");
  CHECK(qj.u64("/quote_id") == qj.u64("/seq"));
  CHECK(qj.str("/from_amount") == "10.00");
  CHECK(qj.str("/fee") == "0.03");         // 0.25 % of 10.00 is 0.025: rounded up
  CHECK(qj.str("/net_amount") == "9.97");
  CHECK(qj.str("/to_amount") == "0.00016616");  // 9.97 x 0.0000166665 = 0.000166165005: rounded down
  CHECK(qj.str("/rate") == "0.0000166665");
  auto id = qj.u64("/quote_id");

  // The house FX account holds no BTC and has no limit yet.
  f.refused("fx_limit_exceeded", [&] { return f.exchange(f.e.alice, id, f.alice); });
  REQUIRE(f.e.post("/v1/fx-limits", f.e.admin, R"({"asset":"BTC","overdraft":"1.00000000"})").status == 200);
  auto limits = f.e.get("/v1/fx-limits", f.e.admin);
  REQUIRE(limits.status == 200);
  CHECK(json(limits.body).str("/fx_limits/0/asset") == "BTC");
  CHECK(json(limits.body).str("/fx_limits/0/overdraft") == "1.00000000");
  CHECK(f.e.get("/v1/fx-limits", f.e.alice).status == 403);

  auto x = f.exchange(f.e.alice, id, f.alice);
  REQUIRE_MESSAGE(x.status == 201, x.body);
  CHECK(json(x.body).u64("/transaction_id") == json(x.body).u64("/seq"));
  json w(f.e.wallet(f.alice));
  CHECK(w.str("/balances/0/total") == "90.00");
  CHECK(w.str("/balances/0/available") == "90.00");
  CHECK(w.str("/balances/0/pending_incoming") == "0.00");
  CHECK(w.str("/balances/0/pending_outgoing") == "0.00");
  CHECK(w.str("/balances/1/total") == "0.00016616");

  auto got = f.e.get("/v1/quotes/" + std::to_string(id), f.e.alice);
  REQUIRE(got.status == 200);
  CHECK(json(got.body).str("/status") == "used");
  CHECK(json(got.body).u64("/exchange_id") == json(x.body).u64("/seq"));
  // Another user cannot read it.
  CHECK(f.e.get("/v1/quotes/" + std::to_string(id), f.e.bob).status == 404);
}

TEST_CASE("fx over HTTP: every refusal names its reason and changes nothing") {
  fx_env f;
  REQUIRE(f.e.post("/v1/fx-limits", f.e.admin, R"({"asset":"BTC","overdraft":"1.00000000"})").status == 200);
  auto id = f.sell_usd("10.00");
  f.refused("unknown_quote", [&] { return f.exchange(f.e.alice, id + 100, f.alice); });
  // Bob spends Alice's quote on his own wallet.
  f.refused("quote_foreign", [&] { return f.exchange(f.e.bob, id, f.bob); });
  REQUIRE(f.exchange(f.e.alice, id, f.alice).status == 201);
  f.refused("quote_used", [&] { return f.exchange(f.e.alice, id, f.alice); });
  // Bob has no USD.
  auto bobs = f.sell_usd("10.00", f.e.bob);
  f.refused("insufficient_funds", [&] { return f.exchange(f.e.bob, bobs, f.bob); });
  f.refused("rate_unavailable", [&] {
    return f.quote(f.e.alice, R"({"from_asset":"BTC","to_asset":"USD","side":"sell","amount":"0.001"})");
  });
  // A quote that expires: a rate whose quotes live one second.
  REQUIRE(f.e.post("/v1/rates", f.e.admin,
                   R"({"from_asset":"USD","to_asset":"BTC","rate":"0.0000166665","quote_ttl_s":1,)"
                   R"("valid_until":"2090-01-01T00:00:00Z"})").status == 200);
  auto short_lived = f.sell_usd("1.00");
  // Log time only moves forward: after this wait every new command is stamped past the expiry.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  f.refused("quote_expired", [&] { return f.exchange(f.e.alice, short_lived, f.alice); });
}

TEST_CASE("fx over HTTP: bad input names the field and journals nothing") {
  fx_env f;
  auto q = [&](std::string body) { return [&f, body] { return f.quote(f.e.alice, body); }; };
  f.invalid(400, "side", q(R"({"from_asset":"USD","to_asset":"BTC","side":"hold","amount":"1.00"})"));
  f.invalid(400, "amount", q(R"({"from_asset":"USD","to_asset":"BTC","side":"sell","amount":"1.001"})"));
  f.invalid(400, "to_asset", q(R"({"from_asset":"USD","to_asset":"USD","side":"sell","amount":"1.00"})"));
  f.invalid(400, "amount", q(R"({"from_asset":"USD","to_asset":"BTC","side":"sell"})"));
  f.invalid(400, "rate", [&] {
    return f.e.post("/v1/rates", f.e.admin,
                    R"({"from_asset":"USD","to_asset":"BTC","rate":"1e5","valid_until":"2090-01-01T00:00:00Z"})");
  });
  f.invalid(400, "valid_until", [&] {
    return f.e.post("/v1/rates", f.e.admin,
                    R"({"from_asset":"USD","to_asset":"BTC","rate":"1","valid_from":"2090-01-01T00:00:00Z",)"
                    R"("valid_until":"2080-01-01T00:00:00Z"})");
  });
  f.invalid(400, "fee_bps", [&] {
    return f.e.post("/v1/rates", f.e.admin,
                    R"({"from_asset":"USD","to_asset":"BTC","rate":"1","fee_bps":5001,"valid_until":"2090-01-01T00:00:00Z"})");
  });
  // A user may neither set rates nor exchange on another's wallet.
  CHECK(f.e.post("/v1/rates", f.e.alice,
                 R"({"from_asset":"USD","to_asset":"BTC","rate":"1","valid_until":"2090-01-01T00:00:00Z"})").status == 403);
  auto id = f.sell_usd("1.00");
  f.invalid(404, "wallet_id", [&] { return f.exchange(f.e.alice, id, f.bob); });
  f.invalid(400, "tier", [&] { return f.e.post("/v1/owner-tiers", f.e.admin, R"({"owner":"alice","tier":"gold"})"); });
}

TEST_CASE("limit tiers over HTTP: per-transaction and monthly limits; a wallet may be stricter") {
  fx_env f;
  auto transfer = [&](std::string_view amount) {
    return f.e.post("/v1/transfers", f.e.alice,
                    R"({"from_wallet_id":)" + std::to_string(f.alice) + R"(,"to_wallet_id":)" + std::to_string(f.bob) +
                        R"(,"asset":"USD","amount":")" + std::string(amount) + "\"}");
  };
  REQUIRE(f.e.post("/v1/tier-limits", f.e.admin,
                   R"({"tier":"basic","asset":"USD","per_transaction":"5.00","daily":"50.00","monthly":"8.00"})").status == 200);
  // Without a tier (none) nothing applies.
  REQUIRE(transfer("6.00").status == 201);
  REQUIRE(f.e.post("/v1/owner-tiers", f.e.admin, R"({"owner":"alice","tier":"basic"})").status == 200);
  f.refused("transaction_limit_exceeded", [&] { return transfer("5.01"); });
  REQUIRE(transfer("5.00").status == 201);
  REQUIRE(transfer("3.00").status == 201);
  f.refused("monthly_limit_exceeded", [&] { return transfer("0.01"); });
  auto limits = f.e.get("/v1/tier-limits", f.e.admin);
  REQUIRE(limits.status == 200);
  CHECK(json(limits.body).str("/tier_limits/0/monthly") == "8.00");
}

TEST_CASE("limit tiers over HTTP: the stricter of the wallet's and the tier's daily limits applies") {
  fx_env f;
  auto carol = f.e.open_wallet("carol", R"([{"asset":"USD","daily_debit_limit":"3.00"}])");
  f.e.deposit(carol, "50.00");
  REQUIRE(f.e.post("/v1/tier-limits", f.e.admin, R"({"tier":"full","asset":"USD","daily":"10.00"})").status == 200);
  REQUIRE(f.e.post("/v1/owner-tiers", f.e.admin, R"({"owner":"carol","tier":"full"})").status == 200);
  REQUIRE(f.e.post("/v1/owner-tiers", f.e.admin, R"({"owner":"alice","tier":"full"})").status == 200);
  auto send = [&](std::uint64_t from, std::string_view token, std::string_view amount) {
    return f.e.post("/v1/transfers", token,
                    R"({"from_wallet_id":)" + std::to_string(from) + R"(,"to_wallet_id":)" + std::to_string(f.bob) +
                        R"(,"asset":"USD","amount":")" + std::string(amount) + "\"}");
  };
  auto carol_token = f.e.proc.token("carol", "user");
  // Carol's wallet (3.00 a day) is stricter than her tier (10.00).
  auto carol_refused = json(send(carol, carol_token, "3.01").body);
  CHECK(carol_refused.str("/reason") == "daily_limit_exceeded");
  CHECK(carol_refused.str("/detail") == "amount: the wallet allows 3.00 USD a day; 0.00 is used");
  // Alice's wallet has no daily limit: her tier's 10.00 applies.
  REQUIRE(send(f.alice, f.e.alice, "9.00").status == 201);
  auto alice_refused = json(send(f.alice, f.e.alice, "1.01").body);
  CHECK(alice_refused.str("/reason") == "daily_limit_exceeded");
  CHECK(alice_refused.str("/detail") == "amount: the full tier allows 10.00 USD a day; 9.00 is used");
}
