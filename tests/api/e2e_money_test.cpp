// Statuses and fee schedules end to end over real HTTP against a real
// ledgerd: pending deposits, payments held then completed, cancelled or
// failed, refunds bounded by what was paid, and the admin fee schedule routes
// with the fee they make a transfer or payment pay (docs/api.md, "Money" and
// "Fee schedules"). Every refusal is checked to change nothing.
#include <doctest/doctest.h>

#include <functional>

#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::e2e;

namespace {

// ledgerd opens fee_revenue as account 2 (see e2e_support.h).
constexpr std::uint64_t fee_revenue = 2;

response send(ledger_env& e, std::string method, std::string target, std::string_view token, std::string body) {
  request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.headers = {{"Idempotency-Key", e.next_key()}};
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + std::string(token));
  if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
  return e.call(r);
}

std::string id_path(std::string_view base, std::uint64_t id, std::string_view action) {
  return std::string(base) + "/" + std::to_string(id) + "/" + std::string(action);
}

// The payment fee the tests set: 0.30 + 2.90 %, within [0.50, 10.00].
void set_payment_fee(ledger_env& e) {
  auto r = send(e, "PUT", "/v1/fee-schedules/USD/payment", e.admin,
                R"({"fixed":"0.30","basis_points":290,"minimum":"0.50","maximum":"10.00"})");
  REQUIRE_MESSAGE(r.status == 200, r.body);
}

std::uint64_t pay(ledger_env& e, std::uint64_t wallet, std::uint64_t merchant, std::string_view amount) {
  auto r = e.post("/v1/payments", e.alice,
                  R"({"wallet_id":)" + std::to_string(wallet) + R"(,"merchant_account_id":)" + std::to_string(merchant) +
                      R"(,"asset":"USD","amount":")" + std::string(amount) + R"("})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(json(r.body).str("/status") == "pending");
  return json(r.body).u64("/payment_id");
}

// Posts `target` as admin; the body of a 200 whose "status" is `status`.
std::string move_to(ledger_env& e, const std::string& target, std::string_view status) {
  auto r = e.post(target, e.admin, "");
  CHECK_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).str("/status") == status);
  return r.body;
}

// Expects a 422 `reason` whose detail is `detail`, recorded as one journal
// entry and moving nothing in `wallets`.
void expect_refused(ledger_env& e, const std::vector<std::uint64_t>& wallets, std::string_view reason,
                    std::string_view detail, const std::function<response()>& attempt) {
  auto before = e.snap(wallets);
  auto r = attempt();
  CHECK_MESSAGE(r.status == 422, r.body);
  CHECK(json(r.body).str("/reason") == reason);
  CHECK(json(r.body).str("/detail") == detail);
  auto after = e.snap(wallets);
  CHECK(after.seq == before.seq + 1);  // the rejection is recorded
  CHECK(after.wallets == before.wallets);
}

}  // namespace

TEST_CASE("a pending deposit credits nothing until completed, then shows in the balance") {
  ledger_env e;
  auto wallet = e.open_wallet("alice");
  auto r = e.post("/v1/deposits", e.service,
                  R"({"wallet_id":)" + std::to_string(wallet) +
                      R"(,"asset":"USD","amount":"125.40","provider":"stripe","reference":"pi_1","status":"pending"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(json(r.body).str("/status") == "pending");
  auto id = json(r.body).u64("/deposit_id");
  CHECK(e.posted(wallet) == "0.00");
  CHECK(e.posted(wallet, "available") == "0.00");
  move_to(e, id_path("/v1/deposits", id, "processing"), "processing");
  CHECK(e.posted(wallet) == "0.00");
  auto done = move_to(e, id_path("/v1/deposits", id, "complete"), "completed");
  CHECK(json(done).has("/transaction_id"));
  CHECK(e.wallet(wallet) == usd_wallet(wallet, "alice", "125.40"));
  // Completed is final: completing again is refused and moves nothing.
  expect_refused(e, {wallet}, "invalid_transition",
                 "deposit " + std::to_string(id) + " is completed; a completed deposit cannot become completed",
                 [&] { return e.post(id_path("/v1/deposits", id, "complete"), e.admin, ""); });
}

TEST_CASE("a payment holds amount and fee; complete posts them, cancel releases them exactly") {
  ledger_env e;
  set_payment_fee(e);
  auto wallet = e.open_wallet("alice");
  auto merchant = e.open_wallet("shop");
  e.deposit(wallet, "100.00");
  auto first = pay(e, wallet, merchant, "10.00");  // fee 0.30 + 0.29
  CHECK(e.wallet(wallet) == wallet_body(wallet, "alice", "active", {wbal("USD", "100.00", "10.59", "0.00", "89.41", "0.00")}));
  auto done = move_to(e, id_path("/v1/payments", first, "complete"), "completed");
  CHECK(json(done).has("/transaction_id"));
  CHECK(done.find(bal(fee_revenue, "0.59")) != std::string::npos);
  CHECK(e.wallet(wallet) == usd_wallet(wallet, "alice", "89.41"));
  CHECK(e.wallet(merchant) == usd_wallet(merchant, "shop", "10.00"));

  auto second = pay(e, wallet, merchant, "20.00");  // fee 0.30 + 0.58
  CHECK(e.posted(wallet, "held") == "20.88");
  CHECK(e.posted(wallet, "available") == "68.53");
  move_to(e, id_path("/v1/payments", second, "cancel"), "cancelled");
  CHECK(e.wallet(wallet) == usd_wallet(wallet, "alice", "89.41"));
  CHECK(e.wallet(merchant) == usd_wallet(merchant, "shop", "10.00"));
}

TEST_CASE("a failed payment cannot be completed") {
  ledger_env e;
  auto wallet = e.open_wallet("alice");
  auto merchant = e.open_wallet("shop");
  e.deposit(wallet, "50.00");
  auto id = pay(e, wallet, merchant, "12.00");
  CHECK(e.posted(wallet, "available") == "38.00");
  move_to(e, id_path("/v1/payments", id, "fail"), "failed");
  CHECK(e.wallet(wallet) == usd_wallet(wallet, "alice", "50.00"));
  expect_refused(e, {wallet, merchant}, "invalid_transition",
                 "payment " + std::to_string(id) + " is failed; a failed payment cannot become completed",
                 [&] { return e.post(id_path("/v1/payments", id, "complete"), e.admin, ""); });
  CHECK(e.wallet(merchant) == usd_wallet(merchant, "shop", "0.00"));
}

TEST_CASE("a partial refund, then a refund over the remainder refused with its reason") {
  ledger_env e;
  auto wallet = e.open_wallet("alice");
  auto merchant = e.open_wallet("shop");
  e.deposit(wallet, "100.00");
  auto paid = pay(e, wallet, merchant, "40.00");
  move_to(e, id_path("/v1/payments", paid, "complete"), "completed");
  auto refund = [&](std::string_view amount) {
    return e.post("/v1/refunds", e.service,
                  R"({"payment_id":)" + std::to_string(paid) + R"(,"amount":")" + std::string(amount) + R"("})");
  };
  auto r = refund("15.00");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(json(r.body).str("/status") == "pending");
  auto first = json(r.body).u64("/refund_id");
  CHECK(e.posted(merchant, "held") == "15.00");
  move_to(e, id_path("/v1/refunds", first, "complete"), "completed");
  CHECK(e.wallet(wallet) == usd_wallet(wallet, "alice", "75.00"));
  CHECK(e.wallet(merchant) == usd_wallet(merchant, "shop", "25.00"));
  expect_refused(e, {wallet, merchant}, "refund_exceeds_paid",
                 "amount: 25.01 is more than the 25.00 left to refund of payment " + std::to_string(paid) +
                     " (paid 40.00, refunded or pending 15.00)",
                 [&] { return refund("25.01"); });
  // Exactly the remainder is accepted.
  r = refund("25.00");
  CHECK_MESSAGE(r.status == 201, r.body);
  CHECK(e.posted(merchant, "available") == "0.00");
}

TEST_CASE("fee schedules: PUT, GET and DELETE by an admin; the transfer pays exactly the schedule's fee") {
  ledger_env e;
  auto from = e.open_wallet("alice");
  auto to = e.open_wallet("bob");
  e.deposit(from, "2000.00");
  const std::string schedule = R"({"fixed":"0.10","basis_points":150,"minimum":"0.25","maximum":"2.00"})";
  auto r = send(e, "PUT", "/v1/fee-schedules/USD/transfer", e.admin, schedule);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  r = e.get("/v1/fee-schedules", e.admin);
  REQUIRE(r.status == 200);
  CHECK(r.body ==
        R"({"fee_schedules":[{"asset":"USD","kind":"transfer","fixed":"0.10","basis_points":150,"minimum":"0.25","maximum":"2.00"}]})");
  // As admin: a user's answer lists only its own accounts, not fee_revenue.
  auto transfer = [&](std::string_view amount) {
    auto t = e.post("/v1/transfers", e.admin,
                    R"({"from_wallet_id":)" + std::to_string(from) + R"(,"to_wallet_id":)" + std::to_string(to) +
                        R"(,"asset":"USD","amount":")" + std::string(amount) + R"("})");
    REQUIRE_MESSAGE(t.status == 201, t.body);
    return t.body;
  };
  // 0.10 + 0.49995 rounded half up: 0.60 (within the bounds).
  CHECK(transfer("33.33").find(bal(fee_revenue, "0.60")) != std::string::npos);
  CHECK(e.posted(from) == "1966.07");
  CHECK(e.posted(to) == "33.33");
  // 0.10 + 0.015 -> 0.12, raised to the minimum 0.25.
  CHECK(transfer("1.00").find(bal(fee_revenue, "0.85")) != std::string::npos);
  CHECK(e.posted(from) == "1964.82");
  // 0.10 + 15.00, capped at the maximum 2.00.
  CHECK(transfer("1000.00").find(bal(fee_revenue, "2.85")) != std::string::npos);
  CHECK(e.posted(from) == "962.82");
  CHECK(e.posted(to) == "1034.33");

  r = send(e, "DELETE", "/v1/fee-schedules/USD/transfer", e.admin, "");
  CHECK_MESSAGE(r.status == 200, r.body);
  CHECK(e.get("/v1/fee-schedules", e.admin).body == R"({"fee_schedules":[]})");
  // Without a schedule the same transfer carries no fee: fee_revenue is not touched.
  CHECK(transfer("33.33").find(R"("account_id":2,)") == std::string::npos);
  CHECK(e.posted(from) == "929.49");
  // Removing it again: nothing to remove.
  r = send(e, "DELETE", "/v1/fee-schedules/USD/transfer", e.admin, "");
  CHECK(r.status == 422);
  CHECK(json(r.body).str("/reason") == "invalid_state");
}

TEST_CASE("the payment fee is the schedule's, booked on completion") {
  ledger_env e;
  auto r = send(e, "PUT", "/v1/fee-schedules/USD/payment", e.admin,
                R"({"fixed":"1.00","basis_points":0,"minimum":"0.00","maximum":"1.00"})");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto wallet = e.open_wallet("alice");
  auto merchant = e.open_wallet("shop");
  e.deposit(wallet, "10.00");
  auto id = pay(e, wallet, merchant, "9.00");
  CHECK(e.posted(wallet, "available") == "0.00");
  auto done = move_to(e, id_path("/v1/payments", id, "complete"), "completed");
  CHECK(done.find(bal(fee_revenue, "1.00")) != std::string::npos);
  CHECK(e.wallet(wallet) == usd_wallet(wallet, "alice", "0.00"));
  CHECK(e.wallet(merchant) == usd_wallet(merchant, "shop", "9.00"));
}

TEST_CASE("fee schedule routes refuse non-admins and bad bodies, changing nothing") {
  ledger_env e;
  const std::string schedule = R"({"fixed":"0.10","basis_points":150,"minimum":"0.25","maximum":"2.00"})";
  REQUIRE(send(e, "PUT", "/v1/fee-schedules/USD/transfer", e.admin, schedule).status == 200);
  const std::string listed = e.get("/v1/fee-schedules", e.admin).body;
  auto seq = e.seq();
  for (const auto& token : {e.alice, e.service, e.auditor}) {
    CHECK(send(e, "PUT", "/v1/fee-schedules/USD/transfer", token,
               R"({"fixed":"0.00","basis_points":0,"minimum":"0.00","maximum":"0.00"})")
              .status == 403);
    CHECK(send(e, "DELETE", "/v1/fee-schedules/USD/transfer", token, "").status == 403);
    CHECK(e.get("/v1/fee-schedules", token).status == 403);
  }
  CHECK(send(e, "PUT", "/v1/fee-schedules/USD/transfer", "", schedule).status == 401);
  auto bad = send(e, "PUT", "/v1/fee-schedules/USD/transfer", e.admin,
                  R"({"fixed":"0.10","basis_points":150,"minimum":"2.00","maximum":"1.00"})");
  CHECK(bad.status == 400);
  CHECK(json(bad.body).str("/field") == "maximum");
  bad = send(e, "PUT", "/v1/fee-schedules/USD/deposit", e.admin, schedule);
  CHECK(bad.status == 400);
  CHECK(json(bad.body).str("/field") == "kind");
  bad = send(e, "PUT", "/v1/fee-schedules/EUR/transfer", e.admin, schedule);
  CHECK(bad.status == 404);
  CHECK(json(bad.body).str("/field") == "asset");
  CHECK(e.seq() == seq);
  CHECK(e.get("/v1/fee-schedules", e.admin).body == listed);
}

TEST_CASE("the new command types run in /v1/batch with the ids as body fields, as schemas/openapi.json says") {
  ledger_env e;
  auto wallet = e.open_wallet("alice");
  auto merchant = e.open_wallet("shop");
  auto item = [](std::string_view type, std::string_view key, const std::string& fields) {
    return R"({"type":")" + std::string(type) + R"(","idempotency_key":")" + std::string(key) + "\"," + fields + "}";
  };
  auto batch = [&](const std::vector<std::string>& items) {
    std::string b = R"({"commands":[)";
    for (std::size_t i = 0; i < items.size(); ++i) b += (i ? "," : "") + items[i];
    auto r = e.post("/v1/batch", e.admin, b + "]}", no_key);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json(r.body);
  };
  const auto w = std::to_string(wallet);
  auto first = batch({
      item("set_fee_schedule", "b1", R"("asset":"USD","kind":"payment","fixed":"0.25","basis_points":0,"minimum":"0.00","maximum":"5.00")"),
      item("deposit", "b2", R"("wallet_id":)" + w + R"(,"asset":"USD","amount":"30.00","provider":"stripe","status":"pending","description":"top-up")"),
      item("pay", "b3", R"("wallet_id":)" + w + R"(,"merchant_account_id":)" + std::to_string(merchant) + R"(,"asset":"USD","amount":"4.00")"),
  });
  CHECK(first.u64("/results/0/status") == 200);
  CHECK(first.u64("/results/1/status") == 201);
  CHECK(first.str("/results/1/body/status") == "pending");
  auto deposit = first.u64("/results/1/body/deposit_id");
  // The payment was refused: the deposit is still pending, so nothing is available.
  CHECK(first.u64("/results/2/status") == 422);
  CHECK(first.str("/results/2/body/reason") == "insufficient_funds");
  auto second = batch({
      item("complete_deposit", "b4", R"("id":)" + std::to_string(deposit) + R"(,"reason":"settled")"),
      item("pay", "b5", R"("wallet_id":)" + w + R"(,"merchant_account_id":)" + std::to_string(merchant) + R"(,"asset":"USD","amount":"4.00")"),
  });
  CHECK(second.str("/results/0/body/status") == "completed");
  REQUIRE(second.u64("/results/1/status") == 201);
  auto payment = second.u64("/results/1/body/payment_id");
  CHECK(e.posted(wallet, "available") == "25.75");
  auto third = batch({
      item("complete_payment", "b6", R"("id":)" + std::to_string(payment)),
      item("refund", "b7", R"("payment_id":)" + std::to_string(payment) + R"(,"amount":"1.50")"),
      item("remove_fee_schedule", "b8", R"("asset":"USD","kind":"payment")"),
  });
  CHECK(third.str("/results/0/body/status") == "completed");
  CHECK(third.str("/results/1/body/status") == "pending");
  CHECK(third.u64("/results/2/status") == 200);
  CHECK(e.get("/v1/fee-schedules", e.admin).body == R"({"fee_schedules":[]})");
  // The pending refund is incoming on the paying wallet, held on the merchant's.
  CHECK(e.wallet(wallet) == wallet_body(wallet, "alice", "active", {wbal("USD", "25.75", "0.00", "1.50", "25.75", "0.00")}));
  CHECK(e.posted(merchant) == "4.00");
  CHECK(e.posted(merchant, "held") == "1.50");
}

// Every kind carries a reference unique per owner and a description: over
// HTTP, a reused reference is a 422 reference_exists for any kind that
// records the refusal and moves nothing; the read model shows the
// description to the issuer and hides it from the other party.
TEST_CASE("deposits, withdrawals and transfers take a description and a reference unique per owner") {
  ledger_env e(pg_options(e2e_pg().create_database("e2e_money_references")));
  auto alice = e.open_wallet("alice");
  auto bob = e.open_wallet("bob");
  auto dep = e.post("/v1/deposits", e.service,
                    R"({"wallet_id":)" + std::to_string(alice) +
                        R"(,"asset":"USD","amount":"50.00","provider":"stripe","reference":"inv-1","description":"salary"})");
  REQUIRE_MESSAGE(dep.status == 201, dep.body);
  auto transfer_body = [&](std::string_view reference, std::string_view description) {
    return R"({"from_wallet_id":)" + std::to_string(alice) + R"(,"to_wallet_id":)" + std::to_string(bob) +
           R"(,"asset":"USD","amount":"10.00","reference":")" + std::string(reference) + R"(","description":")" +
           std::string(description) + R"("})";
  };
  auto t = e.post("/v1/transfers", e.alice, transfer_body("inv-2", "rent for March"));
  auto seq = check_command(t, 201);
  auto id = json(t.body).u64("/transaction_id");

  const std::string taken = "reference: inv-2 is already used by transaction " + std::to_string(id);
  expect_refused(e, {alice, bob}, "reference_exists", taken,
                 [&] { return e.post("/v1/transfers", e.alice, transfer_body("inv-2", "again")); });
  expect_refused(e, {alice, bob}, "reference_exists", taken, [&] {
    return e.post("/v1/withdrawals", e.alice,
                  R"({"wallet_id":)" + std::to_string(alice) + R"(,"asset":"USD","amount":"1.00","reference":"inv-2"})");
  });
  // A description is text: a control character is the field's 400, and nothing is recorded.
  auto before = e.seq();
  auto bad = e.post("/v1/transfers", e.alice, transfer_body("inv-3", "tab\\there"));
  CHECK(bad.status == 400);
  CHECK_MESSAGE(json(bad.body).str("/field") == "description", bad.body);
  CHECK(e.seq() == before);

  // Bob's references are his own: he may use "inv-2" too.
  auto back = e.post("/v1/transfers", e.bob,
                     R"({"from_wallet_id":)" + std::to_string(bob) + R"(,"to_wallet_id":)" + std::to_string(alice) +
                         R"(,"asset":"USD","amount":"1.00","reference":"inv-2"})");
  CHECK_MESSAGE(back.status == 201, back.body);

  // The transfer is recorded as completed with its description; the
  // receiver sees neither the sender's reference nor its description.
  auto waited = e.get("/v1/wallets/" + std::to_string(alice) + "/transactions?min_seq=" + std::to_string(seq), e.alice);
  REQUIRE_MESSAGE(waited.status == 200, waited.body);
  auto own = e.get("/v1/transactions/" + std::to_string(id), e.alice);
  REQUIRE_MESSAGE(own.status == 200, own.body);
  json j(own.body);
  CHECK(j.str("/type") == "transfer");
  CHECK(j.str("/status") == "completed");
  CHECK(j.str("/reference") == "inv-2");
  CHECK(j.str("/description") == "rent for March");
  auto other = e.get("/v1/transactions/" + std::to_string(id), e.bob);
  REQUIRE_MESSAGE(other.status == 200, other.body);
  CHECK(json(other.body).raw("/description") == "null");
  CHECK(json(other.body).raw("/reference") == "null");
  auto deposited = e.get("/v1/transactions/" + std::to_string(json(dep.body).u64("/transaction_id")), e.admin);
  REQUIRE_MESSAGE(deposited.status == 200, deposited.body);
  CHECK(json(deposited.body).str("/description") == "salary");
  CHECK(json(deposited.body).str("/status") == "completed");
}
