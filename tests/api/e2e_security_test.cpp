// The security review's findings (issue 9), each over real HTTP against a
// real ledgerd: dev mode's limits and its own master key, no internal error text in 5xx answers or
// readiness, operations endpoints on their own listener, no caching of
// personal data, the benchmark-only durability switch, and the problem
// details of transport errors.
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "tests/api/e2e_support.h"

using namespace ledger::e2e;

namespace {

// Starts a ledgerd that must refuse to start; returns its exit code and stderr.
std::pair<int, std::string> refused_start(ledgerd_options o) {
  o.start_timeout = ms(10'000);
  ledgerd_process p(std::move(o));
  CHECK_THROWS(p.start());
  auto code = p.wait_exit(ms(10'000));
  return {code.value_or(-1), p.stderr_text()};
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("dev mode refuses a configured JWT key and prints no token signed with it") {
  ledgerd_options o;
  o.args = {"--dev"};  // the harness configures the test's HS256 key
  auto [code, err] = refused_start(o);
  CHECK(code == 2);
  CHECK_MESSAGE(contains(err, "development mode refuses a configured JWT key"), err);
  CHECK_FALSE(contains(err, "export TOKEN"));

  ledgerd_options env_dev;
  env_dev.env = {{"LEDGER_DEV", "1"}};
  std::tie(code, err) = refused_start(env_dev);
  CHECK(code == 2);
  CHECK_MESSAGE(contains(err, "development mode refuses a configured JWT key"), err);
  CHECK_FALSE(contains(err, "export TOKEN"));
}

TEST_CASE("dev mode refuses addresses other than loopback") {
  for (std::string listen : {"0.0.0.0:0", "[::]:0", "192.0.2.1:0"}) {
    CAPTURE(listen);
    ledgerd_options o;
    o.hs256 = false;
    o.args = {"--dev", "--listen", listen};
    auto [code, err] = refused_start(o);
    CHECK(code == 2);
    CHECK_MESSAGE(contains(err, "development mode listens on loopback only"), err);
    CHECK_FALSE(contains(err, "export TOKEN"));
  }
  ledgerd_options ops;
  ops.hs256 = false;
  ops.args = {"--dev", "--ops-listen", "0.0.0.0:0"};
  auto [code, err] = refused_start(ops);
  CHECK(code == 2);
  CHECK_MESSAGE(contains(err, "development mode listens on loopback only"), err);

  // On loopback without a key, dev mode still starts and makes its own.
  ledgerd_options ok;
  ok.hs256 = false;
  ok.args = {"--dev"};
  ledgerd_process p(ok);
  p.start();
  CHECK(contains(p.stderr_text(), "export TOKEN="));
  CHECK(p.stop() == 0);
}

TEST_CASE("dev mode without a master key file keeps one of its own in the data directory, made once") {
  ledgerd_options o;
  o.hs256 = false;
  o.args = {"--dev"};
  ledgerd_process p(o);
  p.start();
  auto key_path = p.data_dir() / "dev-master-key";
  CHECK_MESSAGE(contains(p.stderr_text(), key_path.string()), p.stderr_text());
  REQUIRE(std::filesystem::exists(key_path));
  CHECK((std::filesystem::status(key_path).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  std::string first;
  {
    std::ifstream in(key_path);
    std::getline(in, first);
  }
  CHECK(first.size() == 64);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);
  // The encrypted-field routes work: a key rotation answers with the dev key's id.
  auto err = p.stderr_text();
  auto at = err.find("export TOKEN=");
  REQUIRE(at != std::string::npos);
  auto token = err.substr(at + 13, err.find('\n', at) - at - 13);
  http_client c(p.port());
  auto r = c.send(request{"POST", "/v1/admin/keys/rotate", {{"Authorization", "Bearer " + token}}, ""});
  CHECK_MESSAGE(r.status == 200, r.body);
  CHECK(contains(r.body, R"("key_id":"dev")"));
  CHECK(p.stop() == 0);
  // A restart reuses the key (the data it protects stays readable).
  p.start();
  std::string again;
  {
    std::ifstream in(key_path);
    std::getline(in, again);
  }
  CHECK(again == first);
  CHECK(p.stop() == 0);
}

TEST_CASE("5xx answers and readiness show no database or engine error text") {
  ledgerd_options o;
  // A PostgreSQL that is not there: libpq's error names the host and port.
  o.env = {{"LEDGER_PG_CONNINFO", "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=2"}};
  ledger_env env(o);
  auto r = env.get("/v1/wallets/4/transactions", env.admin);
  CHECK(r.status == 503);
  CHECK(r.has_header("Retry-After"));
  CHECK(json(r.body).str("/type") == "/problems/unavailable");
  for (auto leak : {"port 1", "127.0.0.1", "refused", "nowhere"}) CHECK_MESSAGE(!contains(r.body, leak), r.body);
  // The details are in the log, under the request's id.
  auto id = r.header("X-Request-ID");
  bool logged = false;
  for (int i = 0; i < 200 && !logged; ++i) {
    logged = contains(env.proc.stdout_text(), id) && contains(env.proc.stdout_text(), "operating error");
    if (!logged) std::this_thread::sleep_for(ms(10));
  }
  CHECK(logged);

  r = env.get("/readyz", "");
  CHECK(r.body == R"({"status":"ready"})");
  http_client ops(env.proc.ops_port());
  auto detailed = ops.send(request{"GET", "/readyz", {}, ""});
  CHECK(detailed.status == 200);
  CHECK(json(detailed.body).str("/engine") == "ok");
}

TEST_CASE("metrics and detailed readiness are on the operations listener only") {
  ledger_env env;  // seq 4
  auto r = env.get("/metrics", "");
  CHECK(r.status == 404);
  r = env.get("/readyz", "");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ready"})");
  CHECK(env.get("/healthz", "").status == 200);

  REQUIRE(env.proc.ops_port() != 0);
  CHECK(env.proc.ops_port() != env.proc.port());
  http_client ops(env.proc.ops_port());
  auto m = ops.send(request{"GET", "/metrics", {}, ""});
  CHECK(m.status == 200);
  CHECK(contains(m.body, "\nledger_http_requests_total{route=\"register_asset\",status=\"201\"} 1\n"));
  CHECK(contains(m.body, "\nledger_journal_seq 4\n"));
  auto ready = ops.send(request{"GET", "/readyz", {}, ""});
  CHECK(ready.status == 200);
  CHECK(ready.body == R"({"status":"ready","role":"api","engine":"ok","draining":false,"seq":4})");
  // The operations listener answers nothing of the API.
  CHECK(ops.send(request{"GET", "/v1/assets", {{"Authorization", "Bearer " + env.admin}}, ""}).status == 404);
}

TEST_CASE("every /v1 response says Cache-Control: no-store") {
  ledger_env env;
  auto w = env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD"}]})");
  CHECK(w.status == 201);
  CHECK(w.header("Cache-Control") == "no-store");
  for (auto target : {"/v1/wallets/4", "/v1/wallets?owner=alice", "/v1/assets", "/v1/wallets/4/transactions",
                      "/v1/wallets/99", "/v1/transactions/1"}) {
    CAPTURE(target);
    auto r = env.get(target, env.alice);
    CHECK(r.header("Cache-Control") == "no-store");
  }
  auto bad = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4})");
  CHECK(bad.status == 400);
  CHECK(bad.header("Cache-Control") == "no-store");
}

TEST_CASE("--unsafe-no-sync needs --benchmark-mode, and --help lists both") {
  ledgerd_options o;
  o.args = {"--unsafe-no-sync"};
  auto [code, err] = refused_start(o);
  CHECK(code == 2);
  CHECK_MESSAGE(contains(err, "--unsafe-no-sync needs --benchmark-mode"), err);

  ledgerd_options bench;
  bench.args = {"--unsafe-no-sync", "--benchmark-mode"};
  ledgerd_process p(bench);
  p.start();
  CHECK(contains(p.stderr_text(), "benchmark mode"));
  CHECK(p.stop() == 0);

  ledgerd_options help;
  help.args = {"--help"};
  ledgerd_process h(help);
  CHECK_THROWS(h.start());  // prints the help and exits 0 without listening
  CHECK(h.wait_exit(ms(5'000)) == 0);
  CHECK(contains(h.stdout_text(), "--unsafe-no-sync"));
  CHECK(contains(h.stdout_text(), "--benchmark-mode"));
  CHECK(contains(h.stdout_text(), "--ops-listen"));
}

TEST_CASE("transport errors carry full problem details, request id, CORS headers, and are counted") {
  ledger_env env({.args = {"--cors-origins", "https://app.example", "--body-max-bytes", "1024"}}, false);
  http_client c = env.proc.client();
  request big{"POST", "/v1/deposits",
              {{"Content-Type", "application/json"}, {"Origin", "https://app.example"}, {"X-Request-ID", "big-1"}},
              std::string(2048, 'x')};
  auto r = c.send_raw(serialize(big));
  CHECK(r.status == 413);
  json j(r.body);
  CHECK(j.str("/type") == "/problems/body-too-large");
  CHECK(j.str("/title") == "Request body too large");
  CHECK(j.u64("/status") == 413);
  CHECK(j.str("/instance") == "/v1/deposits");
  CHECK(j.str("/request_id") == "big-1");
  CHECK(r.header("X-Request-ID") == "big-1");
  CHECK(r.header("Access-Control-Allow-Origin") == "https://app.example");
  CHECK(r.header("Cache-Control") == "no-store");
  CHECK(c.wait_closed(ms(5000)));

  http_client c2 = env.proc.client();
  request headers{"GET", "/healthz", {{"X-Padding", std::string(17 * 1024, 'h')}}, ""};
  r = c2.send_raw(serialize(headers));
  CHECK(r.status == 431);
  CHECK(json(r.body).str("/title") == "Request headers too large");
  CHECK(r.has_header("X-Request-ID"));
  CHECK(json(r.body).str("/request_id") == r.header("X-Request-ID"));

  auto m = env.ops_get("/metrics").body;
  CHECK(contains(m, "\nledger_http_requests_total{route=\"transport\",status=\"413\"} 1\n"));
  CHECK(contains(m, "\nledger_http_requests_total{route=\"transport\",status=\"431\"} 1\n"));
}

TEST_CASE("OPTIONS and CORS preflight: Allow lists OPTIONS, the requested method is checked") {
  ledger_env env({.args = {"--cors-origins", "https://app.example"}}, false);
  // Plain OPTIONS (no Origin): 204 with Allow.
  auto r = env.call(request{"OPTIONS", "/v1/wallets", {}, ""});
  CHECK(r.status == 204);
  CHECK(r.header("Allow") == "POST, GET, OPTIONS");
  // A preflight for a method the path has.
  r = env.call(request{"OPTIONS", "/v1/transfers",
                       {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}}, ""});
  CHECK(r.status == 204);
  CHECK(r.header("Access-Control-Allow-Methods") == "POST, OPTIONS");
  CHECK(r.header("Access-Control-Allow-Origin") == "https://app.example");
  // One for a method the path does not have, or from another origin.
  r = env.call(request{"OPTIONS", "/v1/transfers",
                       {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "DELETE"}}, ""});
  CHECK(r.status == 403);
  CHECK(json(r.body).str("/field") == "access-control-request-method");
  r = env.call(request{"OPTIONS", "/v1/transfers",
                       {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}}, ""});
  CHECK(r.status == 403);
  CHECK_FALSE(r.has_header("Access-Control-Allow-Origin"));
  // 405 names OPTIONS too.
  r = env.call(request{"DELETE", "/v1/transfers", {}, ""});
  CHECK(r.status == 405);
  CHECK(r.header("Allow") == "POST, OPTIONS");
}

TEST_CASE("capture of an unknown hold is 404 with or without an amount, and journals nothing") {
  ledger_env env;
  auto before = env.seq();
  for (std::string body : {std::string(""), std::string(R"({"amount":"1.00"})")}) {
    CAPTURE(body);
    auto r = env.post("/v1/holds/77/capture", env.service, body);
    CHECK(r.status == 404);
    CHECK(json(r.body).str("/type") == "/problems/not-found");
    CHECK(json(r.body).str("/detail") == "hold 77 not found");
  }
  auto b = env.post("/v1/batch", env.service, R"({"commands":[{"type":"capture","idempotency_key":"c1","hold_id":77}]})");
  CHECK(b.status == 404);
  CHECK(json(b.body).str("/field") == "commands[0].hold_id");
  CHECK(env.seq() == before);
}

TEST_CASE("a user cannot set its own transfer fee; a service or an admin can") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);
  REQUIRE(env.open_wallet("bob") == 5);
  env.deposit(4, "50.00");
  auto before = env.seq();
  auto r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"10.00","fee":"0.00"})");
  CHECK_MESSAGE(r.status == 201, r.body);  // zero is no fee
  before = env.seq();
  r = env.post("/v1/transfers", env.alice, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"10.00","fee":"0.01"})");
  CHECK(r.status == 403);
  CHECK(json(r.body).str("/field") == "fee");
  CHECK(env.seq() == before);  // nothing journaled
  r = env.post("/v1/transfers", env.admin, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"10.00","fee":"0.01"})");
  CHECK_MESSAGE(r.status == 201, r.body);
}
