// Rate limits over real HTTP against ledgerd: 429 with Retry-After and the
// RateLimit-Policy / RateLimit headers, per principal and per client address
// (X-Forwarded-For only from a trusted proxy), the stricter auth class for
// refused tokens, and limits shared by two ledgerd processes through a real
// redis-server, failing closed (503) while it is away and recovering.
#include <doctest/doctest.h>

#include <thread>

#include "tests/api/e2e_support.h"
#include "tests/support/redis_instance.h"

using namespace ledger::e2e;

namespace {

response get_with(ledger_env& env, std::string_view target, const std::string& token, header_list extra = {}) {
  return env.get(target, token, std::move(extra));
}

void check_problem(const response& r, unsigned status, std::string_view slug) {
  CHECK_MESSAGE(r.status == status, r.body);
  CHECK(r.header("Content-Type") == "application/problem+json");
  CHECK(json(r.body).str("/type") == "/problems/" + std::string(slug));
  CHECK(json(r.body).u64("/status") == status);
  CHECK_FALSE(r.header("X-Request-ID").empty());
}

int retry_after_s(const response& r) {
  auto v = r.header("Retry-After");
  return v.empty() ? -1 : std::stoi(std::string(v));
}

// Polls (bounded) until `f` is true.
template <class F>
bool eventually(F f, std::chrono::milliseconds within = std::chrono::milliseconds(10'000)) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("rate limit: reads per principal answer 429 with the draft's headers") {
  ledger_env env({.args = {"--rate-limit", "reads:3:100:60"}}, false);
  for (int i = 0; i < 3; ++i) {
    auto r = get_with(env, "/v1/assets", env.alice);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.header("RateLimit-Policy") == "\"reads-principal\";q=3;w=60, \"reads-address\";q=100;w=60");
    CHECK(r.header("RateLimit").find("\"reads-principal\";r=" + std::to_string(2 - i) + ";t=") == 0);
  }
  auto refused = get_with(env, "/v1/assets", env.alice);
  check_problem(refused, 429, "rate-limited");
  CHECK(retry_after_s(refused) >= 19);  // 60 s / 3 tokens, less the time the test took
  CHECK(retry_after_s(refused) <= 20);
  CHECK(refused.header("RateLimit").find("\"reads-principal\";r=0;t=") == 0);
  CHECK_FALSE(refused.header("RateLimit-Policy").empty());
  // Another principal has its own bucket; probes are never limited.
  CHECK(get_with(env, "/v1/assets", env.bob).status == 200);
  for (int i = 0; i < 10; ++i) CHECK(env.get("/healthz", "").status == 200);
  auto metrics = env.ops_get("/metrics");
  CHECK(metrics.body.find("ledger_rate_limit_requests_total{backend=\"local\",class=\"reads\",result=\"refused\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("ledger_rate_limit_requests_total{backend=\"local\",class=\"reads\",result=\"allowed\"} 4") !=
        std::string::npos);
}

TEST_CASE("rate limit: refused tokens count against the stricter auth class per address") {
  ledger_env env({.args = {"--rate-limit", "auth:20:3:60"}}, false);
  for (int i = 0; i < 3; ++i) CHECK(get_with(env, "/v1/assets", "not-a-token").status == 401);
  auto r = get_with(env, "/v1/assets", "not-a-token");
  check_problem(r, 429, "rate-limited");
  CHECK(r.header("RateLimit-Policy") == "\"auth-address\";q=3;w=60");
  CHECK(retry_after_s(r) >= 19);
  CHECK(retry_after_s(r) <= 20);
}

TEST_CASE("rate limit: X-Forwarded-For is believed from trusted proxies only") {
  SUBCASE("trusted: each forwarded client has its own address bucket") {
    ledger_env env({.args = {"--rate-limit", "reads:100:2:60", "--trusted-proxies", "127.0.0.1/32"}}, false);
    header_list a = {{"X-Forwarded-For", "203.0.113.1"}}, b = {{"X-Forwarded-For", "203.0.113.2"}};
    CHECK(get_with(env, "/v1/assets", env.alice, a).status == 200);
    CHECK(get_with(env, "/v1/assets", env.bob, a).status == 200);
    CHECK(get_with(env, "/v1/assets", env.admin, a).status == 429);
    CHECK(get_with(env, "/v1/assets", env.admin, b).status == 200);
  }
  SUBCASE("untrusted: the header cannot buy a fresh bucket") {
    ledger_env env({.args = {"--rate-limit", "reads:100:2:60"}}, false);
    CHECK(get_with(env, "/v1/assets", env.alice, {{"X-Forwarded-For", "203.0.113.1"}}).status == 200);
    CHECK(get_with(env, "/v1/assets", env.bob, {{"X-Forwarded-For", "203.0.113.2"}}).status == 200);
    CHECK(get_with(env, "/v1/assets", env.admin, {{"X-Forwarded-For", "203.0.113.3"}}).status == 429);
  }
}

TEST_CASE("rate limit: two ledgerd processes share limits in Redis, fail closed without it, recover") {
  ledger::testing::redis_instance redis;
  ledgerd_options o{.args = {"--rate-limit", "reads:3:100:60", "--redis-url", redis.url(), "--redis-timeout-ms", "200"}};
  ledger_env a(o, false), b(o, false);
  std::string token = a.proc.token("carol", "user");  // same secret: valid on both
  CHECK(get_with(a, "/v1/assets", token).status == 200);
  CHECK(get_with(b, "/v1/assets", token).status == 200);
  CHECK(get_with(a, "/v1/assets", token).status == 200);
  auto r = get_with(b, "/v1/assets", token);
  check_problem(r, 429, "rate-limited");

  redis.stop();
  auto down = get_with(a, "/v1/assets", a.alice);
  check_problem(down, 503, "rate-limiter-unavailable");
  CHECK(down.header("Retry-After") == "1");
  CHECK(down.body.find("redis") == std::string::npos);  // no backend detail to clients
  CHECK(a.get("/healthz", "").status == 200);           // probes do not depend on Redis
  auto metrics = a.ops_get("/metrics");
  CHECK(metrics.body.find("backend=\"redis\",class=\"reads\",result=\"backend_error\"} 1") != std::string::npos);

  redis.start();
  CHECK(eventually([&] { return get_with(a, "/v1/assets", a.alice).status == 200; }));
  CHECK(eventually([&] { return get_with(b, "/v1/assets", b.bob).status == 200; }));
}
