// Security finding 1 over real HTTP: a `service` token is bound to the
// providers and accounts its claims name. Each abuse of the finding is
// refused with 403 and changes nothing; the bound uses still work.
//
// Ids on a fresh ledger_env: payouts 1, fee_revenue 2, clearing:stripe 3,
// then wallets 4 (alice), 5 (merchant), 6 (bob).
#include <doctest/doctest.h>

#include "api/jwt.h"
#include "tests/api/e2e_support.h"

using namespace ledger::e2e;

namespace {

// A service token with binding claims, signed with the test key.
std::string bound_service(std::string_view subject, std::string_view providers, std::string_view accounts) {
  std::string claims = claims_json(subject, "service");
  claims.pop_back();
  claims += R"(,"providers":)" + std::string(providers) + R"(,"accounts":)" + std::string(accounts) + "}";
  return ledger::api::sign_hs256(test_hs256_secret, claims);
}

void check_forbidden(const response& r, std::string_view field) {
  CHECK_MESSAGE(r.status == 403, r.body);
  CHECK(json(r.body).str("/type") == "/problems/forbidden");
  CHECK(json(r.body).str("/field") == field);
}

std::string hold_body(std::uint64_t wallet, std::uint64_t to) {
  return R"({"wallet_id":)" + std::to_string(wallet) + R"(,"to_account_id":)" + std::to_string(to) +
         R"(,"asset":"USD","amount":"5.00","expires_at":"2099-01-01T00:00:00Z"})";
}

struct world {
  ledger_env env;
  std::uint64_t alice = 0, merchant = 0, bob = 0;
  world() {
    alice = env.open_wallet("alice");
    merchant = env.open_wallet("merchant");
    bob = env.open_wallet("bob");
    env.deposit(alice, "100.00");
    env.deposit(bob, "100.00");
  }
};

}  // namespace

TEST_CASE("service binding: deposit only through the token's providers") {
  world w;
  auto stripe = bound_service("stripe-webhooks", R"(["stripe"])", "[]");
  const auto before = w.env.snap({w.alice});
  auto r = w.env.post("/v1/deposits", stripe,
                      R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":"paypal"})");
  check_forbidden(r, "provider");
  CHECK(w.env.snap({w.alice}) == before);
  r = w.env.post("/v1/deposits", stripe, R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"})");
  CHECK_MESSAGE(r.status == 201, r.body);
  // A service token without any binding may not deposit at all.
  r = w.env.post("/v1/deposits", w.env.proc.token("unbound", "service"),
                 R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"})");
  check_forbidden(r, "provider");
}

TEST_CASE("service binding: hold only bound wallets towards bound accounts") {
  world w;
  // The merchant's integration may hold alice's wallet (bound) for itself.
  auto shop = bound_service("shop", "[]", "[4,5]");
  const auto before = w.env.snap({w.alice, w.merchant, w.bob});
  check_forbidden(w.env.post("/v1/holds", shop, hold_body(w.bob, w.merchant)), "wallet_id");     // any wallet
  check_forbidden(w.env.post("/v1/holds", shop, hold_body(w.alice, w.bob)), "to_account_id");    // anyone as target
  check_forbidden(w.env.post("/v1/holds", shop, hold_body(w.alice, 3)), "to_account_id");        // a system account
  CHECK(w.env.snap({w.alice, w.merchant, w.bob}) == before);
  auto r = w.env.post("/v1/holds", shop, hold_body(w.alice, w.merchant));
  CHECK_MESSAGE(r.status == 201, r.body);
}

TEST_CASE("service binding: capture and void only holds between bound accounts") {
  world w;
  // An admin holds bob's wallet towards the merchant; the shop is bound to alice and the merchant only.
  auto r = w.env.post("/v1/holds", w.env.admin, hold_body(w.bob, w.merchant));
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto hold = json(r.body).u64("/hold_id");
  auto shop = bound_service("shop", "[]", "[4,5]");
  const auto before = w.env.snap({w.merchant, w.bob});
  check_forbidden(w.env.post("/v1/holds/" + std::to_string(hold) + "/capture", shop, ""), "hold_id");
  check_forbidden(w.env.post("/v1/holds/" + std::to_string(hold) + "/void", shop, ""), "hold_id");
  CHECK(w.env.snap({w.merchant, w.bob}) == before);
  auto bobs_shop = bound_service("bobs-shop", "[]", "[5,6]");
  r = w.env.post("/v1/holds/" + std::to_string(hold) + "/capture", bobs_shop, "");
  CHECK_MESSAGE(r.status == 200, r.body);
}

TEST_CASE("service binding: settle only withdrawals of bound wallets, or all with the payouts account") {
  world w;
  auto r = w.env.post("/v1/withdrawals", w.env.bob, R"({"wallet_id":6,"asset":"USD","amount":"10.00"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto withdrawal = json(r.body).u64("/withdrawal_id");
  std::string settle = "/v1/withdrawals/" + std::to_string(withdrawal) + "/settle";
  auto shop = bound_service("shop", R"(["stripe"])", "[4,5]");
  const auto before = w.env.snap({w.bob});
  check_forbidden(w.env.post(settle, shop, ""), "withdrawal_id");
  check_forbidden(w.env.post("/v1/withdrawals/" + std::to_string(withdrawal) + "/fail", shop, ""), "withdrawal_id");
  CHECK(w.env.snap({w.bob}) == before);
  auto payouts = bound_service("payout-processor", "[]", "[1]");  // the payouts account
  r = w.env.post(settle, payouts, "");
  CHECK_MESSAGE(r.status == 200, r.body);
}

TEST_CASE("service binding: a batch is checked item by item") {
  world w;
  auto stripe = bound_service("stripe-webhooks", R"(["stripe"])", "[]");
  const auto before = w.env.snap({w.alice});
  auto r = w.env.post("/v1/batch", stripe,
                      R"({"commands":[{"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"},)"
                      R"({"type":"deposit","idempotency_key":"b2","wallet_id":4,"asset":"USD","amount":"1.00","provider":"adyen"}]})");
  check_forbidden(r, "commands[1].provider");
  CHECK(w.env.snap({w.alice}) == before);
}
