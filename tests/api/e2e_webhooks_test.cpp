// Payment providers' webhooks end to end: deliveries signed by the providers'
// own libraries (the stripe package's generateTestHeaderString; Square
// signatures checked by the square package's WebhooksHelper) posted over
// real HTTP to a real ledgerd. Each verified event has exactly one effect;
// every refusal changes nothing. Pending deposits, refunds and payout
// failures with fees move money exactly (docs/engine.md, "Statuses").
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/api/e2e_support.h"
#include "tests/support/temp_dir.h"

using namespace ledger;
using namespace ledger::testing;
using namespace ledger::e2e;

namespace {

const std::string secret_a = "whsec_first_secret_of_the_main_account_0123";
const std::string secret_b = "whsec_second_secret_during_rotation_456789";
const std::string square_key = "square-signature-key-for-the-test-9876543";
const std::string square_url = "https://ledger.example/v1/webhooks/square";

std::int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Runs tests/api/webhook_sign.js with `body` on stdin; its stdout.
std::string sign(const temp_dir& dir, const std::string& provider, const std::string& key, const std::string& extra,
                 const std::string& body) {
  auto body_file = dir.path() / "body.json";
  std::ofstream(body_file, std::ios::binary) << body;
  std::string cmd = "node " + std::string(LEDGER_SOURCE_DIR) + "/tests/api/webhook_sign.js " + provider + " '" + key +
                    "' '" + extra + "' < " + body_file.string();
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  REQUIRE_MESSAGE(::pclose(p) == 0, "webhook_sign.js failed for " << provider);
  return out;
}

std::string payment_succeeded(const std::string& event_id, std::uint64_t wallet, int amount_minor) {
  return R"({"id":")" + event_id + R"(","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_)" +
         event_id + R"(","object":"payment_intent","amount":)" + std::to_string(amount_minor) +
         R"(,"amount_received":)" + std::to_string(amount_minor) + R"(,"currency":"usd","metadata":{"wallet_id":")" +
         std::to_string(wallet) + R"("}}}})";
}

std::string payout_event(const std::string& event_id, const std::string& type, std::uint64_t withdrawal) {
  return R"({"id":")" + event_id + R"(","type":")" + type + R"(","data":{"object":{"id":"po_)" + event_id +
         R"(","object":"payout","amount":1000,"currency":"usd","failure_message":"account closed","metadata":{"withdrawal_id":")" +
         std::to_string(withdrawal) + R"("}}}})";
}

struct webhook_env {
  temp_dir dir{"ledger-webhooks"};
  std::string secrets_file;
  std::unique_ptr<ledger_env> env;

  webhook_env() {
    secrets_file = (dir.path() / "stripe-main.secrets").string();
    std::ofstream(secrets_file) << secret_a << "\n" << secret_b << "\n";
    auto square_file = (dir.path() / "square.secrets").string();
    std::ofstream(square_file) << square_key << "\n";
    ledgerd_options o;
    o.args = {"--webhook-account", "stripe-main,stripe," + secrets_file, "--webhook-account",
              "square-shop,square," + square_file + "," + square_url};
    env = std::make_unique<ledger_env>(o, /*setup=*/false);
    auto r = env->post("/v1/assets", env->admin, R"({"code":"USD","scale":2})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }

  // Each delivery on a new connection, as providers send them: signing
  // runs node, which on a loaded machine can outlast the server's idle
  // timeout of a kept-alive connection ("end of stream").
  response stripe(const std::string& body, const std::string& header) {
    env->http = env->proc.client();
    return env->post("/v1/webhooks/stripe", "", body, no_key, {{"Stripe-Signature", header}});
  }
  response stripe_signed(const std::string& body, const std::string& secret = secret_a, std::int64_t ts = now_s()) {
    return stripe(body, sign(dir, "stripe", secret, std::to_string(ts), body));
  }
  response square(const std::string& body, const std::string& signature) {
    env->http = env->proc.client();
    return env->post("/v1/webhooks/square", "", body, no_key, {{"x-square-hmacsha256-signature", signature}});
  }
  std::string metric(const std::string& account, const std::string& result) {
    auto m = env->ops_get("/metrics").body;
    std::string line = "ledger_webhook_events_total{account=\"" + account + "\",result=\"" + result + "\"} ";
    auto p = m.find(line);
    REQUIRE_MESSAGE(p != std::string::npos, line);
    return m.substr(p + line.size(), m.find('\n', p) - p - line.size());
  }
};

}  // namespace

TEST_CASE("a Stripe payment_intent.succeeded signed by the stripe package deposits once") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("alice");
  auto body = payment_succeeded("evt_1", wallet, 1234);
  auto r = w.stripe_signed(body);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "12.34");
  // The same delivery again (a provider retry): recorded once.
  auto seq = e.seq();
  r = w.stripe_signed(body);
  REQUIRE(r.status == 200);
  CHECK(json(r.body).boolean("/replay") == 1);
  CHECK(e.posted(wallet) == "12.34");
  CHECK(e.seq() == seq);
  // The second secret of a rotation verifies as well.
  r = w.stripe_signed(payment_succeeded("evt_2", wallet, 66), secret_b);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(e.posted(wallet) == "13.00");
  CHECK(w.metric("stripe-main", "applied") == "2");
  CHECK(w.metric("stripe-main", "replayed") == "1");
}

TEST_CASE("refused Stripe deliveries change nothing") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("alice");
  auto seq = e.seq();
  auto body = payment_succeeded("evt_bad", wallet, 500);
  auto forged = w.stripe_signed(body, "whsec_someone_else_entirely_000000000000");
  CHECK(forged.status == 400);
  CHECK(json(forged.body).str("/type").find("webhook-signature-invalid") != std::string::npos);
  // A body other than the one signed.
  auto header = sign(w.dir, "stripe", secret_a, std::to_string(now_s()), body);
  CHECK(w.stripe(payment_succeeded("evt_bad", wallet, 50000), header).status == 400);
  // Stale and future timestamps, beyond the 300 s tolerance.
  auto stale = w.stripe_signed(body, secret_a, now_s() - 400);
  CHECK(stale.status == 400);
  CHECK(json(stale.body).str("/detail").find("older") != std::string::npos);
  CHECK(w.stripe_signed(body, secret_a, now_s() + 400).status == 400);
  CHECK(w.stripe(body, "").status == 400);
  CHECK(w.stripe(body, "t=abc,v1=00").status == 400);
  CHECK(e.seq() == seq);
  CHECK(e.posted(wallet) == "0.00");
  CHECK(w.metric("none", "refused") == "6");
  // A verified event of a type the ledger does not act on: acknowledged, nothing recorded.
  auto other = R"({"id":"evt_c","type":"customer.created","data":{"object":{"id":"cus_1"}}})";
  auto r = w.stripe_signed(other);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 0);
  // A verified body without what the ledger needs: 400, nothing recorded.
  auto missing = R"({"id":"evt_m","type":"payment_intent.succeeded","data":{"object":{"id":"pi_m","amount_received":5,"currency":"usd","metadata":{}}}})";
  r = w.stripe_signed(missing);
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/detail").find("wallet_id") != std::string::npos);
  CHECK(e.seq() == seq);
}

TEST_CASE("100 concurrent deliveries of one event credit once") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("alice");
  auto body = payment_succeeded("evt_storm", wallet, 777);
  auto header = sign(w.dir, "stripe", secret_a, std::to_string(now_s()), body);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t)
    threads.emplace_back([&] {
      http_client c(e.proc.port());
      for (int i = 0; i < 10; ++i) {
        request r{"POST", "/v1/webhooks/stripe", {{"Content-Type", "application/json"}, {"Stripe-Signature", header}}, body};
        if (c.send(r).status == 200) ok++;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(ok == 100);
  CHECK(e.posted(wallet) == "7.77");
  CHECK(w.metric("stripe-main", "applied") == "1");
  CHECK(w.metric("stripe-main", "replayed") == "99");
}

TEST_CASE("payout.failed gives the funds back exactly; payout.paid settles") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("alice");
  REQUIRE(w.stripe_signed(payment_succeeded("evt_fund", wallet, 10000)).status == 200);
  auto withdraw = [&](const char* amount) {
    auto r = e.post("/v1/withdrawals", e.admin,
                    R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":")" + amount + R"("})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json(r.body).u64("/withdrawal_id");
  };
  auto first = withdraw("10.00");
  auto second = withdraw("25.00");
  CHECK(e.posted(wallet, "available") == "65.00");
  auto r = w.stripe_signed(payout_event("evt_po1", "payout.failed", first));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet, "available") == "75.00");
  CHECK(e.posted(wallet) == "100.00");
  r = w.stripe_signed(payout_event("evt_po2", "payout.paid", second));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(e.posted(wallet) == "75.00");
  CHECK(e.posted(wallet, "available") == "75.00");
  // A payout event naming no withdrawal is recorded as the ledger's rejection (final, 200).
  r = w.stripe_signed(payout_event("evt_po3", "payout.paid", 999'999));
  REQUIRE(r.status == 200);
  CHECK(json(r.body).boolean("/applied") == 0);
  CHECK(w.metric("stripe-main", "rejected") == "1");
}

TEST_CASE("Square payment.updated, signed as the square package verifies, deposits once") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("bob");
  auto body = R"({"merchant_id":"M1","type":"payment.updated","event_id":"sq-evt-1","data":{"type":"payment","id":"p1","object":{"payment":{"id":"p1","status":"COMPLETED","reference_id":")" +
              std::to_string(wallet) + R"(","amount_money":{"amount":2500,"currency":"USD"}}}}})";
  auto signature = sign(w.dir, "square", square_key, square_url, body);
  auto r = w.square(body, signature);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(e.posted(wallet) == "25.00");
  CHECK(w.square(body, signature).status == 200);  // a replay: deduplicated by event id
  CHECK(e.posted(wallet) == "25.00");
  // Signed for another notification URL: refused.
  auto other_url = sign(w.dir, "square", square_key, "https://elsewhere.example/hook", body);
  CHECK(w.square(body, other_url).status == 400);
  CHECK(w.square(body, "").status == 400);
  CHECK(e.posted(wallet) == "25.00");
}

TEST_CASE("webhook secrets rotate on SIGHUP without a restart") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("alice");
  const std::string fresh = "whsec_the_next_secret_after_rotation_000111";
  CHECK(w.stripe_signed(payment_succeeded("evt_r1", wallet, 100), fresh).status == 400);
  std::ofstream(w.secrets_file) << secret_b << "\n" << fresh << "\n";
  e.proc.signal(SIGHUP);
  // The reload is asynchronous: retry the same signed delivery a bounded
  // number of times (a real request each time) until the new secret is in.
  auto body = payment_succeeded("evt_r2", wallet, 100);
  unsigned status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {
    status = w.stripe_signed(body, fresh).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  CHECK(status == 200);
  CHECK(e.posted(wallet) == "1.00");
  // The retired secret no longer verifies.
  CHECK(w.stripe_signed(payment_succeeded("evt_r3", wallet, 100), secret_a).status == 400);
}

namespace {

std::string charge_refunded(const std::string& event_id, const std::string& intent, int refunded_minor) {
  return R"({"id":")" + event_id + R"(","type":"charge.refunded","data":{"object":{"id":"ch_)" + intent +
         R"(","object":"charge","amount":10000,"amount_refunded":)" + std::to_string(refunded_minor) +
         R"(,"currency":"usd","payment_intent":")" + intent + R"("}}})";
}

std::string payment_failed(const std::string& event_id, const std::string& intent) {
  return R"({"id":")" + event_id + R"(","type":"payment_intent.payment_failed","data":{"object":{"id":")" + intent +
         R"(","object":"payment_intent","amount":500,"currency":"usd","last_payment_error":{"message":"card declined"}}}})";
}

// A pending deposit through the API; its deposit_id.
std::uint64_t pending_deposit(ledger_env& e, std::uint64_t wallet, const std::string& amount, const std::string& reference) {
  auto r = e.post("/v1/deposits", e.admin,
                  R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":")" + amount +
                      R"(","provider":"stripe-main","reference":")" + reference + R"(","status":"pending"})");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(json(r.body).str("/status") == "pending");
  return json(r.body).u64("/deposit_id");
}

response put(ledger_env& e, const std::string& target, const std::string& body) {
  request r;
  r.method = "PUT";
  r.target = target;
  r.body = body;
  r.headers = {{"Authorization", "Bearer " + e.admin}, {"Content-Type", "application/json"}, {"Idempotency-Key", e.next_key()}};
  return e.call(r);
}

}  // namespace

TEST_CASE("payment_intent events complete or fail pending deposits; a refund over the paid amount is refused") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("alice");
  pending_deposit(e, wallet, "100.00", "pi_R1");
  CHECK(e.posted(wallet) == "0.00");  // a pending deposit credits nothing
  // The provider's success completes it (the intent's id is the reference).
  auto r = w.stripe_signed(payment_succeeded("R1", wallet, 10000));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "100.00");
  // A failure of another pending deposit moves no money.
  pending_deposit(e, wallet, "5.00", "pi_F1");
  r = w.stripe_signed(payment_failed("evt_f1", "pi_F1"));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "100.00");
  // Its success afterwards is refused: a failed deposit stays failed.
  r = w.stripe_signed(payment_succeeded("F1", wallet, 500));
  REQUIRE(r.status == 200);
  CHECK(json(r.body).str("/reason") == "invalid_transition");
  CHECK(e.posted(wallet) == "100.00");

  // charge.refunded carries the running total: 30.00, then (redelivered) still 30.00.
  auto refund = charge_refunded("evt_rf1", "pi_R1", 3000);
  r = w.stripe_signed(refund);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "70.00");
  CHECK(json(w.stripe_signed(refund).body).boolean("/replay") == 1);
  CHECK(e.posted(wallet) == "70.00");
  // 100.01 in all is more than was paid: refused, recorded, nothing moves.
  auto seq = e.seq();
  r = w.stripe_signed(charge_refunded("evt_rf2", "pi_R1", 10001));
  REQUIRE(r.status == 200);
  CHECK(json(r.body).boolean("/applied") == 0);
  CHECK(json(r.body).str("/reason") == "refund_exceeds_paid");
  CHECK(e.seq() == seq + 1);
  CHECK(e.posted(wallet) == "70.00");
  // The rest, exactly.
  r = w.stripe_signed(charge_refunded("evt_rf3", "pi_R1", 10000));
  REQUIRE(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "0.00");
}

TEST_CASE("a payout failure restores the funds exactly, the withdrawal fee included") {
  webhook_env w;
  auto& e = *w.env;
  // ledgerd opens fee_revenue at start, with the other system accounts.
  CHECK(json(e.post("/v1/system-accounts", e.admin, R"({"name":"fee_revenue"})").body).str("/reason") == "account_exists");
  auto schedule = put(e, "/v1/fee-schedules/USD/withdrawal",
                      R"({"fixed":"0.30","basis_points":290,"minimum":"0.50","maximum":"10.00"})");
  REQUIRE_MESSAGE(schedule.status == 200, schedule.body);
  auto list = e.get("/v1/fee-schedules", e.admin);
  REQUIRE(list.status == 200);
  CHECK(list.body ==
        R"({"fee_schedules":[{"asset":"USD","kind":"withdrawal","fixed":"0.30","basis_points":290,"minimum":"0.50","maximum":"10.00"}]})");
  CHECK(e.get("/v1/fee-schedules", e.alice).status == 403);

  auto wallet = e.open_wallet("alice");
  REQUIRE(w.stripe_signed(payment_succeeded("evt_fund", wallet, 10000)).status == 200);
  auto withdraw = [&](const char* amount) {
    auto r = e.post("/v1/withdrawals", e.admin,
                    R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":")" + amount + R"("})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json(r.body).u64("/withdrawal_id");
  };
  auto first = withdraw("10.00");   // fee 0.30 + 0.29
  auto second = withdraw("25.00");  // fee 0.30 + 0.725, rounded half up: 1.03
  CHECK(e.posted(wallet, "available") == "63.38");
  auto r = w.stripe_signed(payout_event("evt_pf1", "payout.failed", first));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet, "available") == "73.97");
  CHECK(e.posted(wallet) == "100.00");
  r = w.stripe_signed(payout_event("evt_pp2", "payout.paid", second));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(e.posted(wallet) == "73.97");
  CHECK(e.posted(wallet, "available") == "73.97");
  // Failing the failed one again changes nothing.
  r = w.stripe_signed(payout_event("evt_pf3", "payout.failed", first));
  CHECK(json(r.body).boolean("/applied") == 0);
  CHECK(e.posted(wallet) == "73.97");
}

TEST_CASE("Square payment.updated FAILED fails a pending deposit; refund.updated COMPLETED refunds once") {
  webhook_env w;
  auto& e = *w.env;
  auto wallet = e.open_wallet("bob");
  auto paid = R"({"merchant_id":"M1","type":"payment.updated","event_id":"sq-pay","data":{"object":{"payment":{"id":"p9","status":"COMPLETED","reference_id":")" +
              std::to_string(wallet) + R"(","amount_money":{"amount":4000,"currency":"USD"}}}}})";
  REQUIRE(w.square(paid, sign(w.dir, "square", square_key, square_url, paid)).status == 200);
  CHECK(e.posted(wallet) == "40.00");
  auto refund = std::string(R"({"merchant_id":"M1","type":"refund.updated","event_id":"sq-rf","data":{"object":{"refund":{"id":"rf1","status":"COMPLETED","payment_id":"p9","amount_money":{"amount":1500,"currency":"USD"}}}}})");
  auto r = w.square(refund, sign(w.dir, "square", square_key, square_url, refund));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "25.00");
  auto over = std::string(R"({"merchant_id":"M1","type":"refund.updated","event_id":"sq-rf2","data":{"object":{"refund":{"id":"rf2","status":"COMPLETED","payment_id":"p9","amount_money":{"amount":2501,"currency":"USD"}}}}})");
  r = w.square(over, sign(w.dir, "square", square_key, square_url, over));
  CHECK(json(r.body).str("/reason") == "refund_exceeds_paid");
  CHECK(e.posted(wallet) == "25.00");

  auto id = [&] {
    auto d = e.post("/v1/deposits", e.admin,
                    R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":"9.00","provider":"square-shop","reference":"p10","status":"pending"})");
    REQUIRE_MESSAGE(d.status == 201, d.body);
    return json(d.body).u64("/deposit_id");
  }();
  auto failed = R"({"merchant_id":"M1","type":"payment.updated","event_id":"sq-fail","data":{"object":{"payment":{"id":"p10","status":"FAILED","reference_id":")" +
                std::to_string(wallet) + R"(","amount_money":{"amount":900,"currency":"USD"}}}}})";
  r = w.square(failed, sign(w.dir, "square", square_key, square_url, failed));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(json(r.body).boolean("/applied") == 1);
  CHECK(e.posted(wallet) == "25.00");
  // A failed deposit cannot be completed by hand either.
  auto c = e.post("/v1/deposits/" + std::to_string(id) + "/complete", e.admin, "");
  CHECK(c.status == 422);
  CHECK(json(c.body).str("/reason") == "invalid_transition");
  CHECK(e.posted(wallet) == "25.00");
}
