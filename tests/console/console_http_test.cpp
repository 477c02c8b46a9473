// The console's files and the routes it relies on, over real HTTP against a
// real ledgerd: the Content-Security-Policy and the other headers of every
// console file, ETag revalidation, 404 problem+json for unknown files,
// GET /v1/me for each role, and GET /v1/audit/verify (the running ledger
// verifying its own chain up to a seq).
#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

using namespace ledger;
using namespace ledger::e2e;

namespace {

const std::string csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Checks the headers every console file carries; its ETag.
std::string check_console_file(ledger_env& env, const std::string& path, const std::string& type) {
  auto r = env.get(path, "");
  CHECK_MESSAGE(r.status == 200, path, ": ", r.body);
  CHECK_MESSAGE(r.header("content-type") == type, path);
  CHECK_MESSAGE(r.header("content-security-policy") == csp, path);
  CHECK_MESSAGE(r.header("x-content-type-options") == "nosniff", path);
  CHECK_MESSAGE(r.header("cache-control") == "no-cache", path);
  CHECK_MESSAGE(!r.body.empty(), path);
  auto etag = r.header("etag");
  CHECK_MESSAGE(etag.size() == 34, path, " ETag ", etag);  // 32 hex digits, quoted
  return etag;
}

}  // namespace

TEST_CASE("the console is served from the binary with its CSP, content types and ETags") {
  ledger_env env(ledgerd_options{.quiet = true}, false);
  auto index_etag = check_console_file(env, "/console", "text/html; charset=utf-8");
  CHECK(check_console_file(env, "/console/index.html", "text/html; charset=utf-8") == index_etag);
  auto js_etag = check_console_file(env, "/console/app.js", "text/javascript; charset=utf-8");
  check_console_file(env, "/console/console.css", "text/css; charset=utf-8");
  CHECK(js_etag != index_etag);

  SUBCASE("the page names only its own files, and no inline script or style") {
    auto body = env.get("/console", "").body;
    CHECK(body.find("src=\"/console/app.js\"") != std::string::npos);
    CHECK(body.find("href=\"/console/console.css\"") != std::string::npos);
    CHECK(body.find("<style") == std::string::npos);
    CHECK(body.find("style=") == std::string::npos);
    CHECK(body.find("<script>") == std::string::npos);
    CHECK(body.find("http://") == std::string::npos);
    CHECK(body.find("https://") == std::string::npos);
  }
  SUBCASE("a matching If-None-Match is 304 with no body; another ETag gets the file") {
    auto r = env.get("/console/app.js", "", {{"If-None-Match", js_etag}});
    CHECK(r.status == 304);
    CHECK(r.body.empty());
    CHECK(r.header("etag") == js_etag);
    r = env.get("/console/app.js", "", {{"If-None-Match", index_etag}});
    CHECK(r.status == 200);
    CHECK(!r.body.empty());
  }
  SUBCASE("an unknown file is 404 problem+json, like any unknown path") {
    for (std::string path : {"/console/nope.js", "/console/..", "/console/index.html/x", "/console/"}) {
      auto r = env.get(path, "");
      CHECK_MESSAGE(r.status == 404, path);
      CHECK_MESSAGE(r.header("content-type") == "application/problem+json", path);
      CHECK_MESSAGE(json(r.body).str("/type") == "/problems/not-found", path);
    }
    auto r = env.post("/console", env.admin, "{}");
    CHECK(r.status == 405);
  }
}

TEST_CASE("GET /v1/me says who a token stands for, as the API sees it") {
  ledger_env env(ledgerd_options{.quiet = true}, false);
  for (auto [token, subject, role] : {std::tuple{env.alice, "alice", "user"}, std::tuple{env.admin, "root", "admin"},
                                      std::tuple{env.auditor, "audit", "auditor"}}) {
    auto r = env.get("/v1/me", token);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.body == std::string(R"({"subject":")") + subject + R"(","role":")" + role + "\"}");
    CHECK(r.header("cache-control") == "no-store");
  }
  CHECK(env.get("/v1/me", "").status == 401);
  CHECK(env.get("/v1/me", "not-a-token").status == 401);
}

TEST_CASE("GET /v1/audit/verify checks the running ledger's chain up to a seq") {
  ledger_env env(pg_options(e2e_pg().create_database("console_verify")));
  auto alice = env.open_wallet("alice");
  env.deposit(alice, "50.00");
  auto head = env.seq();
  REQUIRE(head >= 6);

  // The chain hash of event `seq`, as the journal pages carry it.
  auto chain_of = [&](std::uint64_t seq) {
    auto r = env.get("/v1/events?limit=1&after_seq=" + std::to_string(seq - 1), env.auditor);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json(r.body).str("/chain");
  };
  {  // up to the head, by default and by seq
    for (std::string target : {std::string("/v1/audit/verify"), "/v1/audit/verify?seq=" + std::to_string(head)}) {
      auto r = env.get(target, env.auditor);
      REQUIRE_MESSAGE(r.status == 200, r.body);
      json j(r.body);
      CHECK(j.boolean("/verified") == 1);
      CHECK(j.u64("/last_seq") == head);
      CHECK(j.u64("/events") == head);
      CHECK(j.str("/head_hash") == chain_of(head));
    }
  }
  {  // up to an earlier seq: only that far, ending at that event's chain hash
    auto r = env.get("/v1/audit/verify?seq=3", env.admin);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    json j(r.body);
    CHECK(j.boolean("/verified") == 1);
    CHECK(j.u64("/last_seq") == 3);
    CHECK(j.u64("/events") == 3);
    CHECK(j.str("/head_hash") == chain_of(3));
  }
  {  // bounded by the head, and for auditors and admins only
    auto r = env.get("/v1/audit/verify?seq=" + std::to_string(head + 1), env.auditor);
    CHECK(r.status == 400);
    CHECK(json(r.body).str("/field") == "seq");
    CHECK(json(r.body).str("/detail") == "is past the journal's head (" + std::to_string(head) + ")");
    for (std::string bad : {"0", "-1", "x", "01"}) {
      r = env.get("/v1/audit/verify?seq=" + bad, env.auditor);
      CHECK_MESSAGE(r.status == 400, bad);
      CHECK(json(r.body).str("/field") == "seq");
    }
    r = env.get("/v1/audit/verify?wallet=4", env.auditor);
    CHECK(r.status == 400);
    CHECK(json(r.body).str("/type") == "/problems/unknown-field");
    CHECK(env.get("/v1/audit/verify", env.alice).status == 403);
    CHECK(env.get("/v1/audit/verify", env.service).status == 403);
  }
}
