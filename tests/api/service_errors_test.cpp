// The service over a real engine whose command path is replaced at the
// backend seam, to make operating errors happen on demand: every outcome
// error maps through problem_of (retryable: 503 with Retry-After; not:
// 500 without), a 5xx never shows the error's text, and batch items that
// failed have the same shape as the others.
#include <doctest/doctest.h>

#include <future>

#include "api/service.h"
#include "tests/support/manual_clock.h"
#include "tests/support/temp_dir.h"

using namespace ledger;
using namespace ledger::api;

namespace {

constexpr std::string_view secret = "unit-test-hs256-secret-0123456789abcdef";

// Reads go to the engine; submit answers every command with `error`.
class failing_backend final : public backend {
 public:
  failing_backend(engine& e, status error) : e_(e), error_(std::move(error)) {}
  append_result submit(std::vector<command>&& commands, completion done) override {
    std::vector<outcome> outs(commands.size());
    for (auto& o : outs) o.error = error_;
    done(std::move(outs));
    return append_result::ok;
  }
  status health() const override { return status::ok(); }
  ledger_head head() const override { return e_.head(); }
  const store& storage() const override { return e_.storage(); }
  std::string metrics() const override { return {}; }

 private:
  engine& e_;
  status error_;
};

struct fixture {
  testing::temp_dir dir{"service-errors"};
  testing::manual_clock clk;
  std::unique_ptr<engine> eng;
  std::unique_ptr<jwt_verifier> jwt;
  metrics m;
  logger log{stderr};
  std::string admin;

  fixture() {
    engine_options o;
    o.store.path = dir.str() + "/ledger";
    o.clk = &clk;
    REQUIRE(engine::open(o, eng));
    std::promise<std::vector<outcome>> p;
    auto f = p.get_future();
    REQUIRE(eng->submit({{"t", "usd", "", register_asset_cmd{"USD", 2, 1, amount_limit}},
                         {"t", "w", "", open_account_cmd{account_kind::user, "alice", {{"USD", 0, 0}}}}},
                        [&](std::vector<outcome>&& o2) { p.set_value(std::move(o2)); }) == append_result::ok);
    for (const auto& o2 : f.get()) REQUIRE(o2.accepted());
    jwt_config jc;
    jc.hs256_secret = std::string(secret);
    jc.issuer = "ledger";
    jc.audience = "ledger-api";
    REQUIRE_FALSE(jwt_verifier::create(jc, jwt).has_value());
    auto now = clk.now_us() / 1'000'000;
    admin = sign_hs256(secret, "{\"sub\":\"root\",\"role\":\"admin\",\"iss\":\"ledger\",\"aud\":\"ledger-api\",\"iat\":" +
                                   std::to_string(now) + ",\"exp\":" + std::to_string(now + 600) + "}");
    log.set_enabled(false);
  }

  http_response call(backend& b, const std::string& target, const std::string& body, const std::string& key) {
    service svc(b, *jwt, {}, m, log, clk);
    http_request req{"POST", target,
                     {{"authorization", "Bearer " + admin}, {"content-type", "application/json"}, {"idempotency-key", key}},
                     body, "test"};
    http_response out;
    svc.handle(std::move(req), [&](http_response&& r) { out = std::move(r); });
    return out;
  }
};

std::string header(const http_response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

const std::string deposit = R"({"wallet_id":1,"asset":"USD","amount":"1.00","provider":"x"})";

}  // namespace

TEST_CASE("a retryable outcome error is 503 with Retry-After and no internal text") {
  fixture fx;
  failing_backend b(*fx.eng, status::io_error("rocksdb: IO error: /data/ledger/000123.log: No space left"));
  auto r = fx.call(b, "/v1/deposits", deposit, "k1");
  CHECK(r.status == 503);
  CHECK(header(r, "Retry-After") == "1");
  CHECK(r.body.find("\"type\":\"/problems/unavailable\"") != std::string::npos);
  CHECK(r.body.find("rocksdb") == std::string::npos);
  CHECK(r.body.find("No space") == std::string::npos);
}

TEST_CASE("a non-retryable outcome error is 500 without Retry-After") {
  fixture fx;
  failing_backend b(*fx.eng, status::corruption("event 17: bad checksum in /data/ledger"));
  auto r = fx.call(b, "/v1/deposits", deposit, "k2");
  CHECK(r.status == 500);
  CHECK(header(r, "Retry-After") == "<none>");
  CHECK(r.body.find("\"type\":\"/problems/internal-error\"") != std::string::npos);
  CHECK(r.body.find("checksum") == std::string::npos);
}

TEST_CASE("failed batch items have the shape of every other item") {
  fixture fx;
  failing_backend b(*fx.eng, status::unavailable("broker kafka-1:9092 unreachable"));
  auto r = fx.call(b, "/v1/batch",
                   R"({"commands":[{"type":"deposit","idempotency_key":"a","wallet_id":1,"asset":"USD","amount":"1.00","provider":"x"},)"
                   R"({"type":"deposit","idempotency_key":"b","wallet_id":1,"asset":"USD","amount":"2.00","provider":"x"}]})",
                   "unused");
  CHECK(r.status == 200);
  CHECK(r.body.find("kafka-1") == std::string::npos);
  CHECK(r.body.find(R"({"status":503,"replay":false,"body":{"type":"/problems/unavailable")") != std::string::npos);
  CHECK(r.body.find("\"error\"") == std::string::npos);
}
