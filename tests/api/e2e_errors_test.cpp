// Every class of error, over HTTP: malformed and mistyped JSON, unknown and
// duplicate fields, amounts that are numbers, too precise, negative or zero,
// unknown assets, wrong content types, unknown routes and methods, missing,
// bad, expired and unsigned tokens, wrong roles, and the ledger's business
// rejections. After each one the ledger is checked to be unchanged (or, for
// a business rejection, to have recorded exactly one event and moved
// nothing).
#include <doctest/doctest.h>

#include <array>

#include "api/jwt.h"
#include "tests/api/e2e_support.h"

using namespace ledger::e2e;

namespace {

const std::string transfer_ok = R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"})";

// Checks a problem answered before the engine: status, type, title, field,
// detail (unless empty), instance, the echoed request id, and no other keys.
void check_problem(const response& r, unsigned status, std::string_view slug, std::string_view field,
                   std::string_view detail, std::string_view instance) {
  CHECK_MESSAGE(r.status == status, r.body);
  CHECK(r.header("Content-Type") == "application/problem+json");
  json j(r.body);
  REQUIRE_MESSAGE(j.valid(), r.body);
  CHECK(j.str("/type") == "/problems/" + std::string(slug));
  CHECK(j.u64("/status") == status);
  CHECK(j.has("/title"));
  if (!detail.empty()) CHECK(j.str("/detail") == detail);
  CHECK(j.str("/instance") == instance);
  CHECK(j.str("/request_id") == r.header("X-Request-ID"));
  if (field.empty()) {
    CHECK_FALSE(j.has("/field"));
    CHECK(j.size("") == 6);
  } else {
    CHECK(j.str("/field") == field);
    CHECK(j.size("") == 7);
  }
  CHECK_FALSE(r.has_header("Ledger-Seq"));
}

struct bad_body {
  std::string target;
  std::string body;
  unsigned status;
  std::string slug;
  std::string field;
  std::string detail;  // "" = not checked exactly
};

}  // namespace

TEST_CASE("request errors are refused with the right problem and change nothing") {
  ledger_env env;
  REQUIRE(check_command(env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD"}]})"), 201) == 5);
  env.deposit(4, "100.00");               // seq 6
  REQUIRE(env.open_wallet("bob") == 5);  // seq 7
  const auto before = env.snap({4, 5});
  REQUIRE(before.seq == 7);

  const std::string T = "/v1/transfers";
  auto with = [](std::string_view fields) {
    return R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD",)" + std::string(fields) + "}";
  };
  const std::string number_detail = R"(must be a decimal string such as "12.50", not a JSON number)";
  const std::vector<bad_body> cases = {
      // Not JSON, or not an object.
      {T, R"({"from_wallet_id":4,)", 400, "malformed-json", "", ""},
      {T, R"({"a":1} x)", 400, "malformed-json", "", ""},
      {T, "{\"reference\":\"\xff\"}", 400, "malformed-json", "", ""},
      {T, "[1,2]", 400, "malformed-json", "", "the body must be a JSON object"},
      {T, "\"text\"", 400, "malformed-json", "", "the body must be a JSON object"},
      // Missing and mistyped fields.
      {T, "{}", 400, "invalid-field", "from_wallet_id", "is required"},
      {T, R"({"from_wallet_id":"4","to_wallet_id":5,"asset":"USD","amount":"1.00"})", 400, "invalid-field", "from_wallet_id", "must be a positive integer id"},
      {T, R"({"from_wallet_id":0,"to_wallet_id":5,"asset":"USD","amount":"1.00"})", 400, "invalid-field", "from_wallet_id", "must be a positive integer id"},
      {T, R"({"from_wallet_id":-4,"to_wallet_id":5,"asset":"USD","amount":"1.00"})", 400, "invalid-field", "from_wallet_id", "must be a positive integer id"},
      {T, R"({"from_wallet_id":4.5,"to_wallet_id":5,"asset":"USD","amount":"1.00"})", 400, "invalid-field", "from_wallet_id", "must be a positive integer id"},
      {T, R"({"from_wallet_id":4,"to_wallet_id":null,"asset":"USD","amount":"1.00"})", 400, "invalid-field", "to_wallet_id", "is required"},
      {T, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":5,"amount":"1.00"})", 400, "invalid-field", "asset", "must be a string"},
      {T, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"","amount":"1.00"})", 400, "invalid-field", "asset", "must not be empty"},
      {T, with(R"("amount":"1.00","reference":12)"), 400, "invalid-field", "reference", "must be a string"},
      {T, with(R"("amount":"1.00","reference":"a\u0001b")"), 400, "invalid-field", "reference", "must not contain control characters"},
      {T, with(R"("amount":"1.00","reference":")" + std::string(257, 'r') + "\""), 400, "invalid-field", "reference", "longer than 256 bytes"},
      {T, with(R"("amount":"1.00","metadata":"x")"), 400, "invalid-field", "metadata", "must be a JSON object"},
      {T, with(R"("amount":"1.00","metadata":{"k":")" + std::string(4100, 'm') + "\"}"), 400, "invalid-field", "metadata", "larger than 4096 bytes"},
      // Unknown and duplicate fields.
      {T, with(R"("amount":"1.00","memo":"x")"), 400, "unknown-field", "memo", "is not a field of this request"},
      {T, with(R"("amount":"1.00","Amount":"1.00")"), 400, "unknown-field", "Amount", "is not a field of this request"},
      {T, with(R"("amount":"1.00","amount":"1.00")"), 400, "invalid-field", "amount", "field appears twice"},
      {T, with(R"("amount":"1.00","amount":"2.00")"), 400, "invalid-field", "amount", "field appears twice"},
      // Amounts: strings only, exact, positive.
      {T, with(R"("amount":1)"), 400, "invalid-field", "amount", number_detail},
      {T, with(R"("amount":1.00)"), 400, "invalid-field", "amount", number_detail},
      {T, with(R"("amount":"1e2")"), 400, "invalid-field", "amount", ""},
      {T, with(R"("amount":" 1.00")"), 400, "invalid-field", "amount", ""},
      {T, with(R"("amount":"")"), 400, "invalid-field", "amount", ""},
      {T, with(R"("amount":"1.001")"), 400, "invalid-field", "amount", "amount has more decimal places than the asset's scale (asset scale 2)"},
      {T, with(R"("amount":"0.005")"), 400, "invalid-field", "amount", "amount has more decimal places than the asset's scale (asset scale 2)"},
      {T, with(R"("amount":"-1.00")"), 400, "invalid-field", "amount", "amount must not carry a sign (asset scale 2)"},
      {T, with(R"("amount":"+1.00")"), 400, "invalid-field", "amount", ""},
      {T, with(R"("amount":"0.00")"), 400, "invalid-field", "amount", "must be greater than zero"},
      {T, with(R"("amount":"0")"), 400, "invalid-field", "amount", "must be greater than zero"},
      {T, with(R"("amount":"1.00","fee":"-0.01")"), 400, "invalid-field", "fee", "amount must not carry a sign (asset scale 2)"},
      {T, with(R"("amount":"1.00","fee":1)"), 400, "invalid-field", "fee", number_detail},
      // Unknown asset: 422 before the engine, nothing recorded.
      {T, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"EUR","amount":"1.00"})", 422, "unknown-asset", "asset", "asset EUR is not registered"},
      {T, R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"usd","amount":"1.00"})", 422, "unknown-asset", "asset", "asset usd is not registered"},
      {"/v1/deposits", R"({"wallet_id":4,"asset":"GBP","amount":"1.00","provider":"stripe"})", 422, "unknown-asset", "asset", "asset GBP is not registered"},
      {"/v1/wallets", R"({"owner":"x","assets":[{"asset":"EUR"}]})", 422, "unknown-asset", "assets[0].asset", "asset EUR is not registered"},
      // Other routes' fields.
      {"/v1/deposits", R"({"wallet_id":4,"asset":"USD","amount":"1.00"})", 400, "invalid-field", "provider", "is required"},
      {"/v1/deposits", R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":")" + std::string(120, 'p') + "\"}", 400, "invalid-field", "provider", "longer than 119 bytes"},
      {"/v1/wallets", R"({"owner":"x","assets":"USD"})", 400, "invalid-field", "assets", "must be an array"},
      {"/v1/wallets", R"({"owner":"x","assets":[1]})", 400, "invalid-field", "assets[0]", "must be an object"},
      {"/v1/wallets", R"({"owner":"x","assets":[{"asset":"USD","limit":"1"}]})", 400, "unknown-field", "assets[0].limit", "is not a field of this request"},
      {"/v1/wallets", R"({"owner":"x","assets":[{"asset":"USD","overdraft_limit":"-1.00"}]})", 400, "invalid-field", "assets[0].overdraft_limit", ""},
      {"/v1/wallets", R"({"assets":[{"asset":"USD"}]})", 400, "invalid-field", "owner", "is required"},  // admin must name the owner
      {"/v1/wallets", R"({"owner":"x","assets":[]})", 400, "invalid-field", "assets", "a wallet needs at least one asset"},
      // Duplicate keys at any depth.
      {"/v1/wallets", R"({"owner":"x","assets":[{"asset":"USD","overdraft_limit":"0.00","overdraft_limit":"100.00"}]})", 400, "invalid-field", "assets[0].overdraft_limit", "field appears twice"},
      {T, with(R"("amount":"1.00","metadata":{"k":1,"k":2})"), 400, "invalid-field", "metadata.k", "field appears twice"},
      {"/v1/batch", R"({"commands":[{"type":"transfer","idempotency_key":"d1","from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00","amount":"50.00"}]})",
       400, "invalid-field", "commands[0].amount", "field appears twice"},
      {"/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"tomorrow"})", 400, "invalid-field", "expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z"},
      {"/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-02-30T00:00:00Z"})", 400, "invalid-field", "expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z"},
      {"/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00"})", 400, "invalid-field", "expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z"},
      {"/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-01-01 00:00:00Z"})", 400, "invalid-field", "expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z"},
      {"/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":1893456000})", 400, "invalid-field", "expires_at", "must be a string"},
      {"/v1/assets", R"({"code":"EUR","scale":19})", 400, "invalid-field", "scale", "must be between 0 and 18"},
      {"/v1/assets", R"({"code":"EUR","scale":"2"})", 400, "invalid-field", "scale", "must be an integer"},
      {"/v1/assets", R"({"scale":2})", 400, "invalid-field", "code", "is required"},
      {"/v1/assets", R"({"code":"eur","scale":2})", 400, "invalid-field", "code", "may contain only A-Z, 0-9, '_' and '-'"},
      {"/v1/assets", R"({"code":"E UR","scale":2})", 400, "invalid-field", "code", "may contain only A-Z, 0-9, '_' and '-'"},
      {"/v1/assets", R"({"code":"EUR","scale":2,"min_amount":"5.00","max_amount":"1.00"})", 400, "invalid-field", "max_amount", "must not be below min_amount"},
      {"/v1/assets", R"({"code":"EUR","scale":2,"min_amount":"0.001"})", 400, "invalid-field", "min_amount", "amount has more decimal places than the asset's scale (asset scale 2)"},
      {"/v1/system-accounts", R"({"name":""})", 400, "invalid-field", "name", "must not be empty"},
      {"/v1/withdrawals/1/fail", R"({"reason":7})", 400, "invalid-field", "reason", "must be a string"},
      {"/v1/withdrawals/1/fail", R"({"withdrawal_id":1})", 400, "unknown-field", "withdrawal_id", "is not a field of this request"},
      {"/v1/wallets/4/freeze", R"({"wallet_id":4})", 400, "unknown-field", "wallet_id", "is not a field of this request"},
      {"/v1/holds/1/capture", R"({"amount":"1.00"})", 404, "not-found", "", "hold 1 not found"},
      {"/v1/holds/1/capture", "", 404, "not-found", "", "hold 1 not found"},
      // Batch structure: the whole batch is refused, nothing of it applied.
      {"/v1/batch", "{}", 400, "invalid-field", "commands", "is required"},
      {"/v1/batch", R"({"commands":[]})", 400, "invalid-field", "commands", "must hold at least one command"},
      {"/v1/batch", R"({"commands":{}})", 400, "invalid-field", "commands", "must be an array"},
      {"/v1/batch", R"({"commands":[1]})", 400, "invalid-field", "commands[0]", "must be an object"},
      {"/v1/batch", R"({"commands":[{"type":"bogus","idempotency_key":"x"}]})", 400, "invalid-field", "commands[0].type", "unknown command type bogus"},
      {"/v1/batch", R"({"commands":[{"idempotency_key":"x"}]})", 400, "invalid-field", "commands[0].type", "is required"},
      {"/v1/batch", R"({"commands":[{"type":"transfer"}]})", 400, "invalid-field", "commands[0].idempotency_key", "is required"},
      {"/v1/batch", R"({"commands":[{"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"},)"
                    R"({"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"USD","amount":"2.00","provider":"stripe"}]})",
       400, "invalid-field", "commands[1].idempotency_key", "idempotency_key repeats within the batch"},
      {"/v1/batch", R"({"commands":[{"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"},)"
                    R"({"type":"deposit","idempotency_key":"b2","wallet_id":4,"asset":"USD","amount":"1.001","provider":"stripe"}]})",
       400, "invalid-field", "commands[1].amount", "amount has more decimal places than the asset's scale (asset scale 2)"},
      {"/v1/batch", R"({"commands":[{"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe","memo":1}]})",
       400, "unknown-field", "commands[0].memo", "is not a field of this request"},
      {"/v1/batch", R"({"commands":[{"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"XXX","amount":"1.00","provider":"stripe"}]})",
       422, "unknown-asset", "commands[0].asset", "asset XXX is not registered"},
      {"/v1/batch", R"({"commands":[],"extra":1})", 400, "unknown-field", "extra", "is not a field of this request"},
      {"/v1/batch", R"({"commands":[{"type":"deposit","idempotency_key":"two words","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"}]})",
       400, "invalid-field", "commands[0].idempotency_key", "must be printable ASCII without spaces, like the header"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    CAPTURE(c.body);
    auto r = env.post(c.target, env.admin, c.body);
    check_problem(r, c.status, c.slug, c.field, c.detail, c.target);
    if (c.slug == "malformed-json" && c.detail.empty()) CHECK(json(r.body).str("/detail").rfind("malformed JSON: ", 0) == 0);
    CHECK(env.snap({4, 5}) == before);
  }

  // An empty batch body (with the JSON content type) is not an object.
  {
    request q;
    q.method = "POST";
    q.target = "/v1/batch";
    q.headers = {{"Authorization", "Bearer " + env.admin}, {"Content-Type", "application/json"}};
    check_problem(env.call(q), 400, "malformed-json", "", "the request body is empty; a JSON object is required", "/v1/batch");
  }

  // A user may not open a wallet for someone else, nor grant itself an overdraft.
  auto r = env.post("/v1/wallets", env.alice, R"({"owner":"bob","assets":[{"asset":"USD"}]})");
  check_problem(r, 400, "invalid-field", "owner", "a user opens wallets for itself only", "/v1/wallets");
  r = env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD","overdraft_limit":"0.01"}]})");
  check_problem(r, 403, "forbidden", "assets[0].overdraft_limit", "only an admin may grant an overdraft", "/v1/wallets");
  CHECK(env.snap({4, 5}) == before);

  // Wallet list query parameters.
  struct bad_query {
    std::string target;
    std::string field;
    std::string slug;
  };
  for (const auto& q : std::vector<bad_query>{{"/v1/wallets?owner=bob&limit=0", "limit", "invalid-field"},
                                             {"/v1/wallets?owner=bob&limit=201", "limit", "invalid-field"},
                                             {"/v1/wallets?owner=bob&limit=ten", "limit", "invalid-field"},
                                             {"/v1/wallets?owner=bob&after=0", "after", "invalid-field"},
                                             {"/v1/wallets?owner=bob&after=-1", "after", "invalid-field"},
                                             {"/v1/wallets?owner=bob&sort=id", "sort", "unknown-field"},
                                             {"/v1/wallets", "owner", "invalid-field"}}) {
    CAPTURE(q.target);
    r = env.get(q.target, env.admin);
    check_problem(r, 400, q.slug, q.field, "", "/v1/wallets");
  }

  // Idempotency-Key header problems.
  r = env.post(T, env.alice, transfer_ok, no_key);
  check_problem(r, 400, "idempotency-key-missing", "", "every command needs an Idempotency-Key header", T);
  r = env.post(T, env.alice, transfer_ok, "");
  check_problem(r, 400, "idempotency-key-invalid", "", "Idempotency-Key must be 1 to 255 characters", T);
  r = env.post(T, env.alice, transfer_ok, std::string(256, 'k'));
  check_problem(r, 400, "idempotency-key-invalid", "", "Idempotency-Key must be 1 to 255 characters", T);
  r = env.post(T, env.alice, transfer_ok, "two words");
  check_problem(r, 400, "idempotency-key-invalid", "", "Idempotency-Key must be printable ASCII", T);
  r = env.post(T, env.alice, transfer_ok, "caf\xc3\xa9");
  check_problem(r, 400, "idempotency-key-invalid", "", "Idempotency-Key must be printable ASCII", T);
  CHECK(env.snap({4, 5}) == before);

  // Content types.
  for (std::string ct : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "json"}) {
    CAPTURE(ct);
    request q;
    q.method = "POST";
    q.target = T;
    q.body = transfer_ok;
    q.headers = {{"Authorization", "Bearer " + env.alice}, {"Idempotency-Key", env.next_key()}, {"Content-Type", ct}};
    check_problem(env.call(q), 415, "unsupported-media-type", "", "Content-Type must be application/json", T);
  }
  {
    request q;  // a body without any Content-Type
    q.method = "POST";
    q.target = T;
    q.body = transfer_ok;
    q.headers = {{"Authorization", "Bearer " + env.alice}, {"Idempotency-Key", env.next_key()}};
    check_problem(env.call(q), 415, "unsupported-media-type", "", "Content-Type must be application/json", T);
    q.target = "/v1/wallets/4/freeze";  // a path-id route with a body needs JSON too
    q.body = "{}";
    q.headers = {{"Authorization", "Bearer " + env.admin}, {"Idempotency-Key", env.next_key()}, {"Content-Type", "text/plain"}};
    check_problem(env.call(q), 415, "unsupported-media-type", "", "Content-Type must be application/json", q.target);
  }
  CHECK(env.snap({4, 5}) == before);

  // Unknown routes: 404, before any authentication.
  for (std::string target : {"/", "/v1", "/v1/nothing", "/v2/wallets", "/v1/wallets/abc", "/v1/wallets/0", "/v1/wallets/04",
                             "/v1/wallets/4/", "/v1/wallets//4", "/v1/wallets/%34", "/v1/wallets/4/explode",
                             "/v1/wallets/18446744073709551616", "/healthz/x", "/V1/wallets"}) {
    CAPTURE(target);
    r = env.get(target, "");
    CHECK(r.status == 404);
    auto rid = r.header("X-Request-ID");
    CHECK(r.body == problem_body("not-found", "Not found", 404, "no resource at this path", target.substr(0, target.find('?')), rid));
    r = env.post(target, env.admin, "{}");
    CHECK(r.status == 404);
  }
  // Wrong methods: 405 with Allow.
  struct wrong_method {
    std::string method, target, allow;
  };
  for (const auto& w : std::vector<wrong_method>{{"DELETE", "/v1/wallets", "POST, GET, OPTIONS"},
                                                 {"PUT", "/v1/wallets/4", "GET, OPTIONS"},
                                                 {"POST", "/v1/wallets/4", "GET, OPTIONS"},
                                                 {"GET", "/v1/transfers", "POST, OPTIONS"},
                                                 {"GET", "/v1/wallets/4/freeze", "POST, OPTIONS"},
                                                 {"PATCH", "/v1/assets", "POST, GET, OPTIONS"},
                                                 {"POST", "/healthz", "GET, OPTIONS"},
                                                 {"GET", "/v1/batch", "POST, OPTIONS"}}) {
    CAPTURE(w.method);
    CAPTURE(w.target);
    request q;
    q.method = w.method;
    q.target = w.target;
    q.headers = {{"Authorization", "Bearer " + env.admin}};
    r = env.call(q);
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == w.allow);
    CHECK(r.body == problem_body("method-not-allowed", "Method not allowed", 405, w.method + " is not allowed here", w.target,
                                 r.header("X-Request-ID")));
  }
  CHECK(env.snap({4, 5}) == before);
}

TEST_CASE("authentication and authorization failures change nothing") {
  // More refused tokens than the auth class allows per address by default
  // (20 a minute): this test is about the 401s, not the limit.
  ledger_env env({.args = {"--rate-limit", "auth:20:1000:60"}, .es256 = true});
  REQUIRE(check_command(env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD"}]})"), 201) == 5);
  env.deposit(4, "100.00");               // seq 6
  REQUIRE(env.open_wallet("bob") == 5);  // seq 7
  const auto before = env.snap({4, 5});
  const std::string T = "/v1/transfers";

  // Missing token.
  auto r = env.post(T, "", transfer_ok);
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Bearer");
  CHECK(r.body == problem_body("unauthorized", "Unauthorized", 401, "a bearer token is required", T, r.header("X-Request-ID")));
  r = env.get("/v1/wallets/4", "");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Bearer");
  for (std::string h : std::vector<std::string>{"Basic YWxpY2U6c2VjcmV0", "Bearer", "Token " + env.alice, env.alice}) {
    CAPTURE(h);
    request q;
    q.target = "/v1/wallets/4";
    q.headers = {{"Authorization", h}};
    r = env.call(q);
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") == "Bearer");
  }
  // A scheme in another case is still a bearer token.
  {
    request q;
    q.target = "/v1/wallets/4";
    q.headers = {{"Authorization", "bearer " + env.alice}};
    CHECK(env.call(q).status == 200);
  }

  // Tokens that must be refused.
  auto now_claims = claims_json("alice", "user");
  const std::string alg_none = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(now_claims) + ".";
  const std::string alg_none_sig = b64url(R"({"alg":"none"})") + "." + b64url(now_claims) + "." + b64url("sig");
  std::string tampered = env.alice;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  auto parts_of = [](const std::string& t) {
    auto a = t.find('.'), b = t.rfind('.');
    return std::array<std::string, 3>{t.substr(0, a), t.substr(a + 1, b - a - 1), t.substr(b + 1)};
  };
  // Claims swapped for an admin's, keeping alice's signature.
  auto p = parts_of(env.alice);
  const std::string escalated = p[0] + "." + b64url(claims_json("alice", "admin")) + "." + p[2];
  const std::vector<std::pair<std::string, std::string>> bad_tokens = {
      {"expired", mint_token("alice", "admin", -3600)},
      {"wrong secret", mint_token("alice", "admin", 3600, "another-secret-of-forty-bytes-0123456789")},
      {"alg none", alg_none},
      {"alg none with a signature", alg_none_sig},
      {"tampered signature", tampered},
      {"escalated claims", escalated},
      {"wrong issuer", ledger::api::sign_hs256(test_hs256_secret, claims_json("alice", "admin", 3600, "someone-else"))},
      {"wrong audience", ledger::api::sign_hs256(test_hs256_secret, claims_json("alice", "admin", 3600, "ledger", "other-api"))},
      {"unknown role", mint_token("alice", "root")},
      {"garbage", "not.a.token"},
      {"ES256 by another key", *ledger::api::sign_es256(ledger::api::generate_es256_keypair().first, claims_json("alice", "admin"))},
  };
  for (const auto& [name, tok] : bad_tokens) {
    CAPTURE(name);
    r = env.post(T, tok, transfer_ok);
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") == "Bearer error=\"invalid_token\"");
    CHECK(json(r.body).str("/type") == "/problems/unauthorized");
    CHECK(json(r.body).str("/detail").rfind("invalid token: ", 0) == 0);
    // The refusal never repeats the token.
    if (tok.size() > 10) CHECK(r.body.find(tok) == std::string::npos);
    r = env.get("/v1/wallets/4", tok);
    CHECK(r.status == 401);
    r = env.post("/v1/deposits", tok, R"({"wallet_id":4,"asset":"USD","amount":"5.00","provider":"stripe"})");
    CHECK(r.status == 401);
  }
  CHECK(env.snap({4, 5}) == before);

  // A good ES256 token is accepted.
  r = env.get("/v1/wallets/4", env.proc.es256_token("alice", "user"));
  CHECK(r.status == 200);
  CHECK(r.body == usd_wallet(4, "alice", "100.00"));

  // Wrong roles: 403.
  struct wrong_role {
    std::string token_name, method, target, body;
  };
  const std::string dep = R"({"wallet_id":4,"asset":"USD","amount":"5.00","provider":"stripe"})";
  const std::vector<wrong_role> forbidden = {
      {"alice", "POST", "/v1/assets", R"({"code":"EUR","scale":2})"},
      {"service", "POST", "/v1/assets", R"({"code":"EUR","scale":2})"},
      {"auditor", "POST", "/v1/assets", R"({"code":"EUR","scale":2})"},
      {"alice", "POST", "/v1/deposits", dep},
      {"auditor", "POST", "/v1/deposits", dep},
      {"alice", "POST", "/v1/system-accounts", R"({"name":"clearing:x"})"},
      {"service", "POST", "/v1/wallets", R"({"owner":"x","assets":[{"asset":"USD"}]})"},
      {"service", "POST", "/v1/transfers", transfer_ok},
      {"auditor", "POST", "/v1/transfers", transfer_ok},
      {"service", "POST", "/v1/withdrawals", R"({"wallet_id":4,"asset":"USD","amount":"1.00"})"},
      {"alice", "POST", "/v1/withdrawals/1/settle", ""},
      {"alice", "POST", "/v1/withdrawals/1/fail", ""},
      {"alice", "POST", "/v1/holds/1/capture", ""},
      {"alice", "POST", "/v1/holds/1/void", ""},
      {"auditor", "POST", "/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"})"},
      {"alice", "POST", "/v1/transactions/6/reverse", ""},
      {"service", "POST", "/v1/transactions/6/reverse", ""},
      {"alice", "POST", "/v1/wallets/4/freeze", ""},
      {"alice", "POST", "/v1/wallets/4/unfreeze", ""},
      {"alice", "POST", "/v1/wallets/4/close", ""},
      {"service", "POST", "/v1/wallets/4/close", ""},
      {"auditor", "POST", "/v1/batch", R"({"commands":[{"type":"transfer","idempotency_key":"x"}]})"},
      {"service", "GET", "/v1/wallets/4", ""},
      {"service", "GET", "/v1/wallets?owner=alice", ""},
  };
  for (const auto& f : forbidden) {
    CAPTURE(f.token_name);
    CAPTURE(f.target);
    const std::string& tok = f.token_name == "alice" ? env.alice : f.token_name == "service" ? env.service : env.auditor;
    std::string role = f.token_name == "alice" ? "user" : f.token_name;
    if (f.method == "GET") {
      r = env.get(f.target, tok);
    } else {
      r = env.post(f.target, tok, f.body);
    }
    CHECK(r.status == 403);
    CHECK(r.body == problem_body("forbidden", "Forbidden", 403, "role " + role + " may not do this",
                                 f.target.substr(0, f.target.find('?')), r.header("X-Request-ID")));
  }
  // A batch names the item whose type the role may not use.
  r = env.post("/v1/batch", env.alice,
               R"({"commands":[{"type":"transfer","idempotency_key":"ok","from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"},)"
               R"({"type":"deposit","idempotency_key":"no","wallet_id":4,"asset":"USD","amount":"5.00","provider":"stripe"}]})",
               no_key);
  check_problem(r, 403, "forbidden", "commands[1]", "role user may not deposit", "/v1/batch");
  CHECK(env.snap({4, 5}) == before);
}

TEST_CASE("business rejections: 422 with reason and seq, one event, nothing moved") {
  ledger_env env;
  REQUIRE(env.post("/v1/assets", env.admin, R"({"code":"EUR","scale":2})").status == 201);  // seq 5
  REQUIRE(env.open_wallet("alice") == 4);                                                    // seq 6
  REQUIRE(env.open_wallet("bob") == 5);                                                      // seq 7
  env.deposit(4, "100.00");                                                                  // seq 8
  // A withdrawal settled, a hold captured, a transfer reversed (seq 9..15).
  REQUIRE(check_command(env.post("/v1/withdrawals", env.alice, R"({"wallet_id":4,"asset":"USD","amount":"1.00"})"), 201) == 9);
  REQUIRE(check_command(env.post("/v1/withdrawals/9/settle", env.service, ""), 200) == 10);
  REQUIRE(check_command(env.post("/v1/holds", env.alice, R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"})"), 201) == 11);
  REQUIRE(check_command(env.post("/v1/holds/11/capture", env.service, ""), 200) == 12);
  REQUIRE(check_command(env.post("/v1/transfers", env.alice, transfer_ok), 201) == 13);
  REQUIRE(check_command(env.post("/v1/transactions/13/reverse", env.admin, ""), 201) == 14);
  REQUIRE(check_command(env.post("/v1/wallets/5/freeze", env.admin, ""), 200) == 15);
  auto before = env.snap({4, 5});
  REQUIRE(before.seq == 15);
  CHECK(json(before.wallets[0]).str("/balances/0/posted") == "98.00");

  struct rejection {
    std::string token_name, target, body, reason, detail;  // detail "": the reason itself
  };
  const std::vector<rejection> cases = {
      {"alice", "/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1000.00"})", "insufficient_funds", ""},
      {"admin", "/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"98.00","fee":"0.01"})", "insufficient_funds", ""},
      {"alice", "/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":4,"asset":"USD","amount":"1.00"})", "same_account", "from and to are the same wallet"},
      {"alice", "/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":999,"asset":"USD","amount":"1.00"})", "unknown_wallet", ""},
      {"alice", "/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":3,"asset":"USD","amount":"1.00"})", "unknown_wallet", ""},
      {"alice", "/v1/transfers", R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"EUR","amount":"1.00"})", "asset_mismatch", "wallet 4 does not hold EUR"},
      {"bob", "/v1/transfers", R"({"from_wallet_id":5,"to_wallet_id":4,"asset":"USD","amount":"0.01"})", "wallet_frozen", ""},
      {"bob", "/v1/withdrawals", R"({"wallet_id":5,"asset":"USD","amount":"0.01"})", "wallet_frozen", ""},
      {"alice", "/v1/withdrawals", R"({"wallet_id":4,"asset":"USD","amount":"98.01"})", "insufficient_funds", ""},
      {"alice", "/v1/holds", R"({"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"1.00","expires_at":"2020-01-01T00:00:00Z"})", "invalid_argument", "expires_at: must be after the log time"},
      {"alice", "/v1/holds", R"({"wallet_id":4,"to_account_id":999,"asset":"USD","amount":"1.00","expires_at":"2099-01-01T00:00:00Z"})", "unknown_account", "to: account 999 does not exist"},
      {"service", "/v1/deposits", R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":"paypal"})", "unknown_account", "system account clearing:paypal is not open"},
      {"service", "/v1/deposits", R"({"wallet_id":999,"asset":"USD","amount":"1.00","provider":"stripe"})", "unknown_wallet", ""},
      {"service", "/v1/deposits", R"({"wallet_id":4,"asset":"EUR","amount":"1.00","provider":"stripe"})", "asset_mismatch", "wallet 4 does not hold EUR"},
      {"admin", "/v1/assets", R"({"code":"USD","scale":2})", "asset_exists", ""},
      {"admin", "/v1/system-accounts", R"({"name":"clearing:stripe"})", "account_exists", ""},
      {"admin", "/v1/wallets", R"({"owner":"x","assets":[{"asset":"USD"},{"asset":"USD"}]})", "invalid_argument", ""},
      {"service", "/v1/withdrawals/9/settle", "", "withdrawal_not_pending", ""},
      {"service", "/v1/withdrawals/9/fail", "", "withdrawal_not_pending", ""},
      {"service", "/v1/withdrawals/999/settle", "", "unknown_withdrawal", ""},
      {"service", "/v1/withdrawals/11/settle", "", "unknown_withdrawal", ""},  // a hold, not a withdrawal
      {"service", "/v1/holds/11/capture", "", "hold_already_captured", ""},
      {"service", "/v1/holds/11/void", "", "hold_already_captured", ""},
      {"service", "/v1/holds/999/void", "", "unknown_hold", ""},
      {"service", "/v1/holds/9/capture", "", "unknown_hold", ""},  // a withdrawal, not a hold
      {"admin", "/v1/transactions/999/reverse", "", "unknown_transaction", ""},
      {"admin", "/v1/transactions/14/reverse", "", "not_reversible", "a reversal cannot be reversed"},
      {"admin", "/v1/transactions/13/reverse", "", "already_reversed", "reversed by transaction 14"},
      {"admin", "/v1/wallets/5/freeze", "", "invalid_state", "wallet is already frozen"},
      {"admin", "/v1/wallets/4/unfreeze", "", "invalid_state", "wallet is not frozen"},
      {"admin", "/v1/wallets/4/close", "", "balance_not_zero", "asset USD has a balance or pending amounts"},
      {"admin", "/v1/wallets/3/freeze", "", "unknown_wallet", ""},  // a system account
  };
  std::uint64_t expected_seq = before.seq;
  for (const auto& c : cases) {
    CAPTURE(c.target);
    CAPTURE(c.body);
    const std::string& tok = c.token_name == "alice" ? env.alice
                             : c.token_name == "bob" ? env.bob
                             : c.token_name == "service" ? env.service
                                                         : env.admin;
    auto r = env.post(c.target, tok, c.body);
    ++expected_seq;
    CHECK(check_command(r, 422) == expected_seq);
    CHECK(r.header("Content-Type") == "application/problem+json");
    json j(r.body);
    CHECK(j.str("/reason") == c.reason);
    CHECK(j.str("/type") == "/problems/" + slug(c.reason));
    CHECK(j.str("/outcome") == "rejected");
    if (c.reason == "invalid_argument" && c.detail.empty()) {
      // The engine's validation detail ("field: message") is not pinned here.
      CHECK(j.str("/title") == "Command rejected");
      CHECK(j.u64("/status") == 422);
      CHECK(j.str("/instance") == c.target);
      CHECK(j.size("") == 9);
    } else {
      CHECK(r.body == rejected_body(c.reason, c.detail.empty() ? c.reason : c.detail, c.target, r.header("X-Request-ID"),
                                    expected_seq));
    }
    auto now = env.snap({4, 5});
    CHECK(now.seq == expected_seq);
    CHECK(now.wallets == before.wallets);
  }
}

TEST_CASE("request bodies over the default 1 MiB limit: 413, connection closed, nothing changed") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);
  env.deposit(4, "10.00");
  const auto before = env.snap({4});
  std::string big = R"({"wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe","reference":")" +
                    std::string((1u << 20) + 1, 'x') + "\"}";
  http_client c = env.proc.client();
  request q;
  q.method = "POST";
  q.target = "/v1/deposits";
  q.body = big;
  q.headers = {{"Authorization", "Bearer " + env.service}, {"Content-Type", "application/json"}, {"Idempotency-Key", "big"}};
  auto r = c.send_raw(serialize(q));
  CHECK(r.status == 413);
  CHECK(json(r.body).str("/type") == "/problems/body-too-large");
  CHECK_FALSE(r.keep_alive);
  CHECK(c.wait_closed(ms(5000)));
  CHECK(env.snap({4}) == before);
}
