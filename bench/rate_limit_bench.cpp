// What a rate limit decision costs per request, beside what every request
// already pays to verify its HS256 token (the baseline, measured in the same
// run): the in-process limiter (one hot key; 10,000 keys; 2 threads), and
// the Redis limiter against a private redis-server on loopback with 64
// requests in flight.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "api/jwt.h"
#include "api/rate_limit.h"
#include "tests/support/redis_instance.h"
#include "tools/system_clock.h"

using namespace ledger;
using namespace ledger::api;
using steady = std::chrono::steady_clock;

namespace {

template <class F>
double ns_per_op(int n, F f) {
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i) f(i);
  return double(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count()) / n;
}

rate_limit_settings unlimited_enough() {
  rate_limit_settings s;
  s.classes[1] = {1'000'000, 1'000'000, 1};  // never refuses here: we measure the decision, not refusals
  return s;
}

void report(const char* what, double ns, double baseline_ns) {
  std::printf("%-44s %9.0f ns/request  %8.0f requests/s  (%.2fx the baseline)\n", what, ns, 1e9 / ns, ns / baseline_ns);
}

}  // namespace

int main() {
  const std::string secret(40, 'k');
  jwt_config jc;
  jc.hs256_secret = secret;
  jc.issuer = "ledger";
  jc.audience = "ledger-api";
  std::unique_ptr<jwt_verifier> jwt;
  if (jwt_verifier::create(jc, jwt)) return 1;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto token = sign_hs256(secret, R"({"sub":"alice","iss":"ledger","aud":"ledger-api","exp":)" + std::to_string(now + 600) + "}");
  const int n = 200'000;
  double baseline = ns_per_op(n, [&](int) { (void)jwt->verify(token, now); });
  std::printf("rate_limit_bench: %u cores; baseline = HS256 token verification, paid by every request today\n",
              std::thread::hardware_concurrency());
  report("baseline: jwt verify (HS256)", baseline, baseline);

  system_clock_source clk;
  auto settings = unlimited_enough();
  {
    local_limiter l(clk);
    double ns = ns_per_op(n, [&](int) {
      l.take(make_limit_request(settings, route_class::commands, "alice", "127.0.0.1"), [](limit_decision&&) {});
    });
    report("local limiter, one principal", ns, baseline);
    std::vector<std::string> names;
    for (int i = 0; i < 10'000; ++i) names.push_back("user-" + std::to_string(i));
    ns = ns_per_op(n, [&](int i) {
      l.take(make_limit_request(settings, route_class::commands, names[std::size_t(i) % names.size()], "127.0.0.1"),
             [](limit_decision&&) {});
    });
    report("local limiter, 10,000 principals", ns, baseline);
    auto t0 = steady::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < 2; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < n / 2; ++i)
          l.take(make_limit_request(settings, route_class::commands, names[std::size_t(i + t) % names.size()], "10.0.0.1"),
                 [](limit_decision&&) {});
      });
    for (auto& t : ts) t.join();
    report("local limiter, 2 threads (wall time)",
           double(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count()) / n, baseline);
  }
  {
    testing::redis_instance redis;
    redis_settings rs;
    parse_redis_url(redis.url(), rs);
    redis_limiter l(rs);
    const int m = 20'000, in_flight = 64;
    std::atomic<int> done{0};
    std::promise<void> all;
    auto t0 = steady::now();
    std::function<void(int)> issue = [&](int i) {
      l.take(make_limit_request(settings, route_class::commands, "user-" + std::to_string(i % 1000), "127.0.0.1"),
             [&, i](limit_decision&& d) {
               if (d.v != limit_decision::verdict::allowed) std::fprintf(stderr, "unexpected verdict\n");
               int k = ++done;
               if (k == m) all.set_value();
               if (i + in_flight < m) issue(i + in_flight);
             });
    };
    for (int i = 0; i < in_flight; ++i) issue(i);
    all.get_future().wait();
    double ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count()) / m;
    report("redis limiter, 64 in flight, 2 connections", ns, baseline);
  }
  return 0;
}
