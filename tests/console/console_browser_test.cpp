// The console in a real browser: tests/console/console_browser.js drives
// Debian's headless Chromium through puppeteer-core against this ledgerd
// (signing in, live balances, the time slider, verification, a refused
// wallet, the admin pages, no CSP violation; see the script). Each step
// prints "ok <step>"; the script exits non-zero at the first failure, with
// what it waited for. With LEDGER_CONSOLE_SCREENSHOTS=DIR in the
// environment it also saves a screenshot of each page there
// (scripts/console_screenshots).
#include <cstdio>
#include <cstdlib>

#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

using namespace ledger;
using namespace ledger::e2e;

namespace {

// Runs the script with `env` added to its environment; its exit status and
// everything it printed (stdout and stderr).
int run_browser_script(const std::vector<std::pair<std::string, std::string>>& env, std::string& out) {
  std::string cmd;
  for (const auto& [k, v] : env) cmd += k + "='" + v + "' ";
  cmd += std::string(NODE_PATH_BIN) + " " + CONSOLE_BROWSER_JS + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

}  // namespace

TEST_CASE("the console in headless Chromium: sign-in, live balance, time slider, verify, refusal, no CSP violation") {
  ledger_env env(pg_options(e2e_pg().create_database("console_browser")));
  auto alice = env.open_wallet("alice");
  auto bob = env.open_wallet("bob");
  env.deposit(alice, "50.00");
  REQUIRE(env.post("/v1/wallets/" + std::to_string(bob) + "/freeze", env.admin, "").status == 200);
  request fee;
  fee.method = "PUT";
  fee.target = "/v1/fee-schedules/USD/payment";
  fee.body = R"({"fixed":"0.30","basis_points":290,"minimum":"0.50","maximum":"10.00"})";
  fee.headers = {{"Authorization", "Bearer " + env.admin}, {"Content-Type", "application/json"}, {"Idempotency-Key", "fee-1"}};
  auto set = env.call(fee);
  REQUIRE_MESSAGE(set.status == 200, set.body);

  std::string out;
  int code = run_browser_script({{"LEDGER_URL", "http://127.0.0.1:" + std::to_string(env.proc.port())},
                                 {"CHROMIUM_PATH", CHROMIUM_PATH},
                                 {"ALICE_TOKEN", env.alice},
                                 {"AUDITOR_TOKEN", env.auditor},
                                 {"ADMIN_TOKEN", env.admin},
                                 {"ALICE_WALLET", std::to_string(alice)},
                                 {"BOB_WALLET", std::to_string(bob)}},
                                out);
  INFO(out);
  CHECK(code == 0);
  // Every step the script promises, in order, so a script that stopped
  // early or skipped a step cannot pass.
  std::size_t at = 0;
  for (const char* step : {"ok csp header", "ok signed in", "ok balance shown", "ok live update",
                           "ok transaction postings", "ok refused other wallet", "ok user time slider",
                           "ok auditor time slider", "ok verified", "ok events stream", "ok admin pages",
                           "ok phone layout", "ok no console errors", "ok csp enforced"}) {
    auto found = out.find(step, at);
    CHECK_MESSAGE(found != std::string::npos, "missing step: ", std::string(step));
    if (found != std::string::npos) at = found;
  }
}
