// The server's and the API's limits over real sockets: body size
// (--body-max-bytes), header size, JSON depth, array lengths, the read
// timeout against slow clients (--read-timeout-ms), and the connection
// limit (--connections-max).
#include <doctest/doctest.h>

#include <thread>

#include "tests/api/e2e_support.h"

using namespace ledger::e2e;
using clock_type = std::chrono::steady_clock;

namespace {

request deposit_request(const std::string& token, std::string body, const std::string& key) {
  request q;
  q.method = "POST";
  q.target = "/v1/deposits";
  q.body = std::move(body);
  q.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}, {"Idempotency-Key", key}};
  return q;
}

// A deposit of 1.00 to wallet 4, padded with spaces to exactly `size` bytes.
std::string padded_deposit(std::size_t size) {
  std::string body = R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"})";
  REQUIRE(size >= body.size());
  body.insert(1, size - body.size(), ' ');
  return body;
}

std::string nested(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

}  // namespace

TEST_CASE("limits: --body-max-bytes, at the limit and one byte over") {
  ledger_env env({.args = {"--body-max-bytes", "4096"}});
  REQUIRE(env.open_wallet("alice") == 4);
  const auto before = env.snap({4});

  // Exactly at the limit: accepted.
  auto r = env.call(deposit_request(env.service, padded_deposit(4096), "at-limit"));
  CHECK(check_command(r, 201) == before.seq + 1);
  CHECK(env.posted(4) == "1.00");
  const auto after = env.snap({4});

  // One byte over: 413, and the server closes the connection.
  http_client c = env.proc.client();
  CHECK(c.send(request{"GET", "/healthz", {}, ""}).status == 200);
  r = c.send_raw(serialize(deposit_request(env.service, padded_deposit(4097), "over-limit")));
  CHECK(r.status == 413);
  CHECK(r.header("Content-Type") == "application/problem+json");
  CHECK(json(r.body).str("/type") == "/problems/body-too-large");
  CHECK(json(r.body).u64("/status") == 413);
  CHECK_FALSE(r.keep_alive);
  CHECK(c.wait_closed(ms(5000)));
  // Far over (the body not even sent in full before the answer).
  http_client c2 = env.proc.client();
  r = c2.send_raw(serialize(deposit_request(env.service, padded_deposit(200'000), "far-over")));
  CHECK(r.status == 413);
  CHECK(c2.wait_closed(ms(5000)));
  CHECK(env.snap({4}) == after);
  // The same key, now small enough, was never claimed.
  r = env.call(deposit_request(env.service, padded_deposit(200), "over-limit"));
  CHECK(check_command(r, 201) == after.seq + 1);
  CHECK_FALSE(r.has_header("Idempotent-Replayed"));
}

TEST_CASE("limits: JSON depth, batch size, assets per wallet, header size") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);  // seq 5
  REQUIRE(env.open_wallet("bob") == 5);    // seq 6
  auto before = env.snap({4, 5});

  // Depth: 100 levels anywhere is refused before reading any field.
  for (const auto& [target, body] : std::vector<std::pair<std::string, std::string>>{
           {"/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00","metadata":{"a":)" + nested(100) + "}}"},
           {"/v1/batch", R"({"commands":)" + nested(100) + "}"},
           {"/v1/transfers", nested(100)},
           {"/v1/deposits", std::string(100, '[') + "1" + std::string(100, ']')},
           // 20 levels of objects in metadata: over the 16-level limit too.
           {"/v1/transfers", [] {
              std::string m = "1";
              for (int i = 0; i < 20; ++i) m = R"({"k":)" + m + "}";
              return R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00","metadata":)" + m + "}";
            }()}}) {
    CAPTURE(target);
    auto r = env.post(target, env.admin, body);
    CHECK(r.status == 400);
    CHECK(json(r.body).str("/type") == "/problems/malformed-json");
    CHECK(json(r.body).str("/detail") == "JSON nested deeper than 16 levels");
  }
  CHECK(env.snap({4, 5}) == before);

  // Batch: 1001 commands refused whole; 1000 accepted, each its own result.
  auto batch_of = [](int n, const std::string& prefix) {
    std::string b = R"({"commands":[)";
    for (int i = 0; i < n; ++i)
      b += std::string(i ? "," : "") + R"({"type":"deposit","idempotency_key":")" + prefix + std::to_string(i) +
           R"(","wallet_id":4,"asset":"USD","amount":"0.01","provider":"stripe"})";
    return b + "]}";
  };
  auto r = env.post("/v1/batch", env.service, batch_of(1001, "big-"), no_key);
  CHECK(r.status == 400);
  CHECK(r.body == problem_body("invalid-field", "Invalid field", 400, "has more than 1000 items", "/v1/batch",
                               r.header("X-Request-ID"), "commands"));
  CHECK(env.snap({4, 5}) == before);
  r = env.post("/v1/batch", env.service, batch_of(1000, "max-"), no_key);
  CHECK(r.status == 200);
  json results(r.body);
  CHECK(results.size("/results") == 1000);
  CHECK(results.u64("/results/0/status") == 201);
  CHECK(results.u64("/results/999/status") == 201);
  CHECK(results.u64("/results/999/body/seq") == before.seq + 1000);
  CHECK(r.header("Ledger-Seq") == std::to_string(before.seq + 1000));
  int ok = 0;
  for (std::size_t i = 0; i < results.size("/results"); ++i) ok += results.u64("/results/" + std::to_string(i) + "/status") == 201;
  CHECK(ok == 1000);
  CHECK(env.posted(4) == "10.00");
  before = env.snap({4, 5});

  // Assets per wallet: 32 allowed, 33 refused.
  std::string reg = R"({"commands":[)";
  for (int i = 0; i < 33; ++i)
    reg += std::string(i ? "," : "") + R"({"type":"register_asset","idempotency_key":"reg-)" + std::to_string(i) +
           R"(","code":"A)" + std::to_string(i) + R"(","scale":2})";
  r = env.post("/v1/batch", env.admin, reg + "]}", no_key);
  REQUIRE(r.status == 200);
  CHECK(r.header("Ledger-Seq") == std::to_string(before.seq + 33));
  auto assets = [](int n) {
    std::string a = "[";
    for (int i = 0; i < n; ++i) a += std::string(i ? "," : "") + R"({"asset":"A)" + std::to_string(i) + "\"}";
    return a + "]";
  };
  r = env.post("/v1/wallets", env.admin, R"({"owner":"many","assets":)" + assets(33) + "}");
  CHECK(r.status == 400);
  CHECK(r.body == problem_body("invalid-field", "Invalid field", 400, "has more than 32 items", "/v1/wallets",
                               r.header("X-Request-ID"), "assets"));
  CHECK(env.seq() == before.seq + 33);
  r = env.post("/v1/wallets", env.admin, R"({"owner":"many","assets":)" + assets(32) + "}");
  CHECK(check_command(r, 201) == before.seq + 34);
  CHECK(json(env.wallet(6)).size("/balances") == 32);

  // Headers: 10 KiB is fine, over 16 KiB is 431 and the connection closes.
  r = env.get("/healthz", "", {{"X-Padding", std::string(10 * 1024, 'h')}});
  CHECK(r.status == 200);
  http_client c = env.proc.client();
  request big;
  big.target = "/healthz";
  big.headers = {{"X-Padding", std::string(17 * 1024, 'h')}};
  r = c.send_raw(serialize(big));
  CHECK(r.status == 431);
  CHECK(json(r.body).str("/type") == "/problems/headers-too-large");
  CHECK_FALSE(r.keep_alive);
  CHECK(c.wait_closed(ms(5000)));
  // Many small headers adding up to more than 16 KiB.
  http_client c2 = env.proc.client();
  request many;
  many.target = "/healthz";
  for (int i = 0; i < 400; ++i) many.headers.emplace_back("X-H" + std::to_string(i), std::string(40, 'v'));
  r = c2.send_raw(serialize(many));
  CHECK(r.status == 431);
  CHECK(c2.wait_closed(ms(5000)));
  CHECK(env.seq() == before.seq + 34);
}

TEST_CASE("limits: slow and idle clients are cut off by --read-timeout-ms") {
  ledger_env env({.args = {"--read-timeout-ms", "1000"}}, false);
  const auto port = env.proc.port();

  // Headers one byte every 200 ms: the whole request must arrive within 1 s.
  {
    raw_connection raw(port);
    const std::string slow = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(60, 'a') + "\r\n\r\n";
    auto res = raw.send_slowly(slow, ms(200), ms(3000), ms(8000));
    CHECK(res.closed);
    CHECK(res.bytes_sent < slow.size());
    CHECK(res.elapsed >= ms(800));
    CHECK(res.elapsed <= ms(3000));
    MESSAGE("slow headers: closed after " << res.elapsed.count() << " ms and " << res.bytes_sent << " bytes");
    CHECK(raw.received().find("200 OK") == std::string::npos);
  }
  // A complete header, then the body one byte every 200 ms.
  {
    raw_connection raw(port);
    const std::string head = "POST /v1/deposits HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n";
    REQUIRE(raw.write(head));
    auto res = raw.send_slowly(std::string(60, ' '), ms(200), ms(3000), ms(8000));
    CHECK(res.closed);
    CHECK(res.elapsed <= ms(3000));
    MESSAGE("slow body: closed after " << res.elapsed.count() << " ms");
  }
  // A connection that never sends anything.
  {
    auto start = clock_type::now();
    raw_connection raw(port);
    CHECK(raw.wait_closed(ms(4000)));
    auto took = std::chrono::duration_cast<ms>(clock_type::now() - start);
    CHECK(took >= ms(800));
    CHECK(took <= ms(3000));
  }
  // An idle keep-alive connection after a response.
  {
    http_client c(port);
    CHECK(c.send(request{"GET", "/healthz", {}, ""}).status == 200);
    auto start = clock_type::now();
    CHECK(c.wait_closed(ms(4000)));
    CHECK(std::chrono::duration_cast<ms>(clock_type::now() - start) <= ms(3000));
  }
  // A normal client is still served.
  http_client c(port);
  CHECK(c.send(request{"GET", "/healthz", {}, ""}).status == 200);
  CHECK(env.proc.running());
}

TEST_CASE("limits: --connections-max 4 closes the fifth connection") {
  ledger_env env({.args = {"--connections-max", "4"}}, false);
  const auto port = env.proc.port();
  const request healthz{"GET", "/healthz", {}, ""};

  std::vector<http_client> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back(port);
    CHECK(clients.back().send(healthz).status == 200);
  }
  // The fifth: accepted by the kernel, closed by the server at once.
  {
    auto start = clock_type::now();
    raw_connection fifth(port);
    CHECK(fifth.wait_closed(ms(3000)));
    CHECK(std::chrono::duration_cast<ms>(clock_type::now() - start) < ms(2000));
    CHECK(fifth.received().empty());
  }
  {
    http_client fifth(port, ms(3000));
    CHECK_THROWS_AS(fifth.send(healthz), transport_error);
  }
  // The four are unaffected and still on their first connection.
  for (auto& c : clients) {
    CHECK(c.send(healthz).status == 200);
    CHECK(c.connects() == 1);
  }
  // Once one leaves, a new connection is served (polled, bounded).
  clients[0].close();
  auto deadline = clock_type::now() + ms(5000);
  bool served = false;
  while (!served && clock_type::now() < deadline) {
    try {
      http_client n(port, ms(2000));
      served = n.send(healthz).status == 200;
    } catch (const transport_error&) {
      std::this_thread::sleep_for(ms(20));
    }
  }
  CHECK(served);
  for (std::size_t i = 1; i < clients.size(); ++i) CHECK(clients[i].send(healthz).status == 200);
}
