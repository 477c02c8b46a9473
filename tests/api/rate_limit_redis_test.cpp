// The shared limiter against a real redis-server: limits shared between two
// limiter instances (two API processes), fail-closed while Redis is away,
// recovery when it returns, AUTH, and keys that expire.
#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <future>
#include <thread>

#include "api/rate_limit.h"
#include "tests/support/redis_instance.h"

using namespace ledger;
using namespace ledger::api;
using verdict = limit_decision::verdict;

namespace {

// Waits for the callback; a limiter that never answers fails the test.
limit_decision take(limiter& l, limit_request r) {
  auto p = std::make_shared<std::promise<limit_decision>>();
  auto f = p->get_future();
  l.take(std::move(r), [p](limit_decision&& d) { p->set_value(std::move(d)); });
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  return f.get();
}

limit_request auth_by_address(std::string address, std::uint32_t quota) {
  rate_limit_settings s;
  s.classes[0] = {quota, quota, 60};
  return make_limit_request(s, route_class::auth, "", address);
}

redis_settings settings_for(const testing::redis_instance& r) {
  redis_settings s;
  REQUIRE_FALSE(parse_redis_url(r.url(), s).has_value());
  s.timeout_ms = 200;
  s.reconnect_backoff_ms = 100;
  return s;
}

// Polls (bounded) until the limiter allows again after Redis came back.
bool recovers(limiter& l, const std::string& address) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (take(l, auth_by_address(address, 100)).v == verdict::allowed) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("redis_limiter: two instances share one bucket") {
  testing::redis_instance redis;
  redis_limiter a(settings_for(redis)), b(settings_for(redis));
  for (int i = 0; i < 3; ++i) CHECK(take(a, auth_by_address("192.0.2.1", 5)).v == verdict::allowed);
  auto d = take(b, auth_by_address("192.0.2.1", 5));
  CHECK(d.v == verdict::allowed);
  REQUIRE(d.parts.size() == 1);
  CHECK(d.parts[0].remaining == 1);  // b sees what a took
  CHECK(d.parts[0].policy == "auth-address");
  CHECK(take(b, auth_by_address("192.0.2.1", 5)).v == verdict::allowed);
  auto refused = take(a, auth_by_address("192.0.2.1", 5));
  CHECK(refused.v == verdict::refused);
  CHECK(refused.retry_after_s == 12);  // 60 s / 5 tokens
  CHECK(take(a, auth_by_address("192.0.2.2", 5)).v == verdict::allowed);
  CHECK(a.render_metrics().find("backend=\"redis\",class=\"auth\",result=\"refused\"} 1") != std::string::npos);
}

TEST_CASE("redis_limiter: fails closed while Redis is away and recovers when it returns") {
  testing::redis_instance redis;
  std::vector<std::string> changes;
  std::mutex changes_mu;
  auto s = settings_for(redis);
  s.on_state_change = [&](const std::string& m) {
    std::lock_guard lock(changes_mu);
    changes.push_back(m);
  };
  redis_limiter l(s);
  CHECK(take(l, auth_by_address("192.0.2.1", 100)).v == verdict::allowed);

  redis.stop();
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    auto d = take(l, auth_by_address("192.0.2.1", 100));
    CHECK(d.v == verdict::unavailable);
    CHECK(d.retry_after_s >= 1);
    CHECK(rate_limit_headers(d).back().first == "Retry-After");
  }
  // Bounded by the timeout, never by Redis: five refusals well under the test's budget.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(l.render_metrics().find("class=\"auth\",result=\"backend_error\"} 5") != std::string::npos);

  redis.start();
  CHECK(recovers(l, "192.0.2.1"));
  std::lock_guard lock(changes_mu);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].find("unreachable") != std::string::npos);
  CHECK(changes[1].find("reachable again") != std::string::npos);
}

TEST_CASE("redis_limiter: AUTH with the configured password, refused without it") {
  testing::redis_instance redis("s3cret-for-tests");
  auto s = settings_for(redis);
  s.password = "s3cret-for-tests";
  redis_limiter good(s);
  CHECK(take(good, auth_by_address("192.0.2.1", 5)).v == verdict::allowed);
  s.password = "wrong";
  redis_limiter bad(s);
  CHECK(take(bad, auth_by_address("192.0.2.1", 5)).v == verdict::unavailable);
}

TEST_CASE("redis_limiter: buckets expire once they would be full again") {
  testing::redis_instance redis;
  redis_limiter l(settings_for(redis));
  rate_limit_settings rs;
  rs.classes[1] = {10, 10, 30};
  CHECK(take(l, make_limit_request(rs, route_class::commands, "alice", "")).v == verdict::allowed);
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", redis.port(), tv);
  REQUIRE((c && !c->err));
  auto* r = static_cast<redisReply*>(redisCommand(c, "PTTL %s", "ledger:rl:commands:p:alice"));
  REQUIRE(r != nullptr);
  CHECK(r->type == REDIS_REPLY_INTEGER);
  CHECK(r->integer > 0);
  CHECK(r->integer <= 30'000);
  freeReplyObject(r);
  redisFree(c);
}

TEST_CASE("redis_limiter: a full queue answers unavailable at once") {
  testing::redis_instance redis;
  auto s = settings_for(redis);
  s.queue_max = 0;
  redis_limiter l(s);
  CHECK(take(l, auth_by_address("192.0.2.1", 5)).v == verdict::unavailable);
}
