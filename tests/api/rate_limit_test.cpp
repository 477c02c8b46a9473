// The token bucket arithmetic and the in-process limiter, on a manual clock.
#include <doctest/doctest.h>

#include "api/rate_limit.h"
#include "tests/support/manual_clock.h"

using namespace ledger;
using namespace ledger::api;

namespace {

constexpr std::int64_t ms_us = 1000;

limit_decision take(limiter& l, limit_request r) {
  std::optional<limit_decision> out;
  l.take(std::move(r), [&](limit_decision&& d) { out = std::move(d); });
  REQUIRE(out.has_value());
  return std::move(*out);
}

limit_request one_key(std::string name, std::uint32_t quota, std::uint32_t window_s) {
  limit_request r;
  r.cls = route_class::commands;
  r.keys.push_back({std::move(name), "commands-principal", quota, window_s});
  return r;
}

std::string header(const std::vector<std::pair<std::string, std::string>>& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return {};
}

}  // namespace

TEST_CASE("bucket_peek: a missing bucket is full, refill is continuous and capped") {
  auto v = bucket_peek(std::nullopt, 1000, 20, 60);
  CHECK(v.remaining == 20);
  CHECK(v.reset_ms == 0);
  CHECK(v.retry_ms == 0);
  // Empty at t=0: one token back after 60 s / 20 = 3 s.
  bucket_state empty{0, 0};
  CHECK(bucket_peek(empty, 0, 20, 60).retry_ms == 3000);
  CHECK(bucket_peek(empty, 2999, 20, 60).remaining == 0);
  CHECK(bucket_peek(empty, 3000, 20, 60).remaining == 1);
  CHECK(bucket_peek(empty, 3000, 20, 60).reset_ms == 3000);
  CHECK(bucket_peek(empty, 59'999, 20, 60).remaining == 19);
  CHECK(bucket_peek(empty, 60'000, 20, 60).remaining == 20);
  // Never above the quota, however long it idles; a clock that goes back adds nothing.
  CHECK(bucket_peek(empty, std::int64_t(1) << 50, 20, 60).remaining == 20);
  // (A level is in 1/60,000 tokens here: 120,000 is two tokens.)
  CHECK(bucket_peek(bucket_state{120'000, 5000}, 4000, 20, 60).remaining == 2);
  CHECK(bucket_peek(bucket_state{119'999, 5000}, 4000, 20, 60).remaining == 1);
  // Quotas that do not divide the window: 7 per 10 s, a token every 1428.57 ms.
  CHECK(bucket_peek(empty, 1428, 7, 10).remaining == 0);
  CHECK(bucket_peek(empty, 1429, 7, 10).remaining == 1);
  CHECK(bucket_peek(empty, 0, 7, 10).retry_ms == 1429);
}

TEST_CASE("local_limiter: the quota is a burst, then one token per window/quota") {
  testing::manual_clock clk;
  local_limiter l(clk);
  for (int i = 0; i < 20; ++i) {
    auto d = take(l, one_key("auth:a:1.2.3.4", 20, 60));
    REQUIRE(d.v == limit_decision::verdict::allowed);
    CHECK(d.parts.at(0).remaining == std::uint32_t(19 - i));
  }
  auto refused = take(l, one_key("auth:a:1.2.3.4", 20, 60));
  CHECK(refused.v == limit_decision::verdict::refused);
  CHECK(refused.retry_after_s == 3);
  CHECK(refused.parts.at(0).remaining == 0);
  clk.advance_us(2999 * ms_us);
  CHECK(take(l, one_key("auth:a:1.2.3.4", 20, 60)).v == limit_decision::verdict::refused);
  clk.advance_us(1 * ms_us);
  CHECK(take(l, one_key("auth:a:1.2.3.4", 20, 60)).v == limit_decision::verdict::allowed);
  CHECK(take(l, one_key("auth:a:1.2.3.4", 20, 60)).v == limit_decision::verdict::refused);
  // Another address has its own bucket.
  CHECK(take(l, one_key("auth:a:5.6.7.8", 20, 60)).v == limit_decision::verdict::allowed);
}

TEST_CASE("local_limiter: all or nothing across the principal and address buckets") {
  testing::manual_clock clk;
  local_limiter l(clk);
  rate_limit_settings s;
  s.classes[1] = {2, 3, 60};  // commands: 2 per principal, 3 per address
  auto alice = [&] { return make_limit_request(s, route_class::commands, "alice", "10.0.0.1"); };
  auto bob = [&] { return make_limit_request(s, route_class::commands, "bob", "10.0.0.1"); };
  CHECK(take(l, alice()).v == limit_decision::verdict::allowed);
  CHECK(take(l, alice()).v == limit_decision::verdict::allowed);
  auto d = take(l, alice());
  CHECK(d.v == limit_decision::verdict::refused);  // alice's own bucket is empty
  CHECK(take(l, bob()).v == limit_decision::verdict::allowed);  // the address had one left: alice's refusal took none
  auto e = take(l, bob());
  CHECK(e.v == limit_decision::verdict::refused);  // now the shared address is empty
  REQUIRE(e.parts.size() == 2);
  CHECK(e.parts[0].policy == "commands-principal");
  CHECK(e.parts[0].remaining == 1);  // bob's bucket was not charged for the refusal
  CHECK(e.parts[1].policy == "commands-address");
  CHECK(e.parts[1].remaining == 0);
  CHECK(l.render_metrics().find("class=\"commands\",result=\"refused\"} 2") != std::string::npos);
  CHECK(l.render_metrics().find("class=\"commands\",result=\"allowed\"} 3") != std::string::npos);
}

TEST_CASE("local_limiter: a quota of 0 turns the partition off") {
  testing::manual_clock clk;
  local_limiter l(clk);
  rate_limit_settings s;
  s.classes[1] = {0, 0, 60};
  auto r = make_limit_request(s, route_class::commands, "alice", "10.0.0.1");
  CHECK(r.keys.empty());
  for (int i = 0; i < 1000; ++i) REQUIRE(take(l, r).v == limit_decision::verdict::allowed);
  CHECK(l.buckets() == 0);
}

TEST_CASE("local_limiter: bounded buckets; full ones are swept, else it fails closed") {
  testing::manual_clock clk;
  local_limiter l(clk, 4);
  for (int i = 0; i < 4; ++i) CHECK(take(l, one_key("k" + std::to_string(i), 10, 1)).v == limit_decision::verdict::allowed);
  CHECK(l.buckets() == 4);
  CHECK(take(l, one_key("k9", 10, 1)).v == limit_decision::verdict::unavailable);
  clk.advance_us(1000 * ms_us);  // every bucket refilled: the same as absent
  CHECK(take(l, one_key("k9", 10, 1)).v == limit_decision::verdict::allowed);
  CHECK(l.buckets() == 1);
}

TEST_CASE("rate_limit_headers: the httpapi draft's structured fields") {
  limit_decision d;
  d.v = limit_decision::verdict::refused;
  d.parts = {{"auth-address", 20, 60, 0, 3}};
  d.retry_after_s = 3;
  auto h = rate_limit_headers(d);
  CHECK(header(h, "RateLimit-Policy") == "\"auth-address\";q=20;w=60");
  CHECK(header(h, "RateLimit") == "\"auth-address\";r=0;t=3");
  CHECK(header(h, "Retry-After") == "3");
  d.v = limit_decision::verdict::allowed;
  d.parts.push_back({"auth-principal", 5, 10, 4, 2});
  h = rate_limit_headers(d);
  CHECK(header(h, "RateLimit-Policy") == "\"auth-address\";q=20;w=60, \"auth-principal\";q=5;w=10");
  CHECK(header(h, "RateLimit") == "\"auth-address\";r=0;t=3, \"auth-principal\";r=4;t=2");
  CHECK(header(h, "Retry-After").empty());
  limit_decision down;
  down.v = limit_decision::verdict::unavailable;
  h = rate_limit_headers(down);
  CHECK(h.size() == 1);
  CHECK(header(h, "Retry-After") == "1");
}

TEST_CASE("client_address: X-Forwarded-For only from trusted proxies") {
  std::vector<std::string> proxies = {"10.0.0.0/8", "::1"};
  CHECK(client_address("192.0.2.7:5000", "", proxies) == "192.0.2.7");
  // An untrusted peer cannot choose its bucket.
  CHECK(client_address("192.0.2.7:5000", "203.0.113.9", proxies) == "192.0.2.7");
  CHECK(client_address("10.1.2.3:5000", "203.0.113.9", proxies) == "203.0.113.9");
  // The right-most untrusted entry wins: the client's own prefix is not believed.
  CHECK(client_address("10.1.2.3:5000", "198.51.100.1, 203.0.113.9, 10.9.9.9", proxies) == "203.0.113.9");
  // Garbage stops the walk at the last trusted hop.
  CHECK(client_address("10.1.2.3:5000", "bogus", proxies) == "10.1.2.3");
  CHECK(client_address("::1:41000", "2001:db8:1:2:3:4:5:6", proxies) == "2001:db8:1:2::/64");
  CHECK(client_address("[::1]:41000", "", {}) == "::/64");
  CHECK(client_address("10.1.2.3:5000", "203.0.113.9", {}) == "10.1.2.3");
}

TEST_CASE("rate_limit_settings: parsed, bounded, and precise about what is wrong") {
  rate_limit_settings s;
  CHECK(s.classes[0].principal_quota == 20);  // the documented auth default
  CHECK_FALSE(s.set("auth:5:50:10").has_value());
  CHECK(s.classes[0].principal_quota == 5);
  CHECK(s.classes[0].address_quota == 50);
  CHECK(s.classes[0].window_s == 10);
  CHECK(s.set("auth:5:50").value().find("CLASS:PRINCIPAL_QUOTA") != std::string::npos);
  CHECK(s.set("logins:5:50:10").value().find("class") != std::string::npos);
  CHECK(s.set("reads:5:x:10").value().find("whole numbers") != std::string::npos);
  CHECK(s.set("reads:5:5:0").value().find("window") != std::string::npos);
  CHECK(s.set("reads:2000000:5:10").value().find("quota") != std::string::npos);
  CHECK(s.classes[2].principal_quota == 6000);  // failed sets change nothing
  s.trusted_proxies = {"10.0.0.0/33"};
  CHECK(s.validate().value().find("10.0.0.0/33") != std::string::npos);
}

TEST_CASE("parse_redis_url") {
  redis_settings s;
  CHECK_FALSE(parse_redis_url("redis://cache.internal:6380/2", s).has_value());
  CHECK(s.host == "cache.internal");
  CHECK(s.port == 6380);
  CHECK(s.db == 2);
  CHECK_FALSE(parse_redis_url("redis://ledger@[::1]", s).has_value());
  CHECK(s.host == "::1");
  CHECK(s.user == "ledger");
  CHECK(parse_redis_url("redis://u:secret@host", s).value().find("password") != std::string::npos);
  CHECK(parse_redis_url("http://host", s).has_value());
  CHECK(parse_redis_url("redis://host:0", s).has_value());
  CHECK(parse_redis_url("redis://host/99", s).has_value());
  CHECK(parse_redis_url("redis://", s).has_value());
}
