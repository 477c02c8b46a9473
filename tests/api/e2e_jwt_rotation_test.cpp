// JWT key rotation over real HTTP (finding 6): keys chosen by kid from a JWK
// Set file, re-read on SIGHUP while ledgerd serves; removing a key revokes
// its tokens; a jti deny-list; the maximum token age.
#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "api/jwt.h"
#include "tests/api/e2e_support.h"

using namespace ledger::e2e;

namespace {

const std::string key_1 = "rotation-key-1-0123456789abcdef0123456789";
const std::string key_2 = "rotation-key-2-0123456789abcdef0123456789";

std::string jwks(std::initializer_list<std::pair<std::string, std::string>> keys) {
  std::string out = R"({"keys":[)";
  bool first = true;
  for (const auto& [kid, secret] : keys) {
    out += std::string(first ? "" : ",") + R"({"kty":"oct","alg":"HS256","kid":")" + kid + R"(","k":")" +
           b64url(secret) + R"("})";
    first = false;
  }
  return out + "]}";
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p.string() + ".tmp") << text;
  std::filesystem::rename(p.string() + ".tmp", p);  // atomic, as an operator's deploy should be
}

std::string token(const std::string& secret, const std::string& kid, std::string_view extra = "") {
  std::string claims = claims_json("alice", "user");
  claims.pop_back();
  return ledger::api::sign_hs256(secret, claims + std::string(extra) + "}", kid);
}

unsigned status_with(ledgerd_process& p, const std::string& t) {
  request r;
  r.target = "/v1/wallets";
  r.headers = {{"Authorization", "Bearer " + t}};
  return p.client().send(r).status;
}

// Polls (bounded) until the status is as wanted: SIGHUP is handled asynchronously.
bool becomes(ledgerd_process& p, const std::string& t, unsigned want) {
  for (int i = 0; i < 200; ++i) {
    if (status_with(p, t) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

}  // namespace

TEST_CASE("jwt rotation: add a key, SIGHUP, both verify; remove the old one, SIGHUP, its tokens are refused") {
  ledger::testing::temp_dir dir("jwt-rotation");
  auto keys = dir.path() / "keys.json";
  auto denied = dir.path() / "denied";
  write_file(keys, jwks({{"k1", key_1}}));
  write_file(denied, "# none yet\n");
  ledgerd_process p({.hs256 = false,
                     .env = {{"LEDGER_JWT_KEYS_FILE", keys.string()}, {"LEDGER_JWT_DENIED_JTI_FILE", denied.string()}}});
  p.start();
  const auto old_token = token(key_1, "k1"), new_token = token(key_2, "k2");
  CHECK(status_with(p, old_token) == 200);
  CHECK(status_with(p, new_token) == 401);

  write_file(keys, jwks({{"k1", key_1}, {"k2", key_2}}));
  p.signal(SIGHUP);
  CHECK(becomes(p, new_token, 200));
  CHECK(status_with(p, old_token) == 200);

  write_file(keys, jwks({{"k2", key_2}}));
  p.signal(SIGHUP);
  CHECK(becomes(p, old_token, 401));
  CHECK(status_with(p, new_token) == 200);

  // A broken file on SIGHUP keeps the keys in force.
  write_file(keys, "{broken");
  p.signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(status_with(p, new_token) == 200);
  CHECK(p.running());

  // Revoking one token by its jti.
  write_file(keys, jwks({{"k2", key_2}}));
  const auto stolen = token(key_2, "k2", R"(,"jti":"stolen-7")");
  CHECK(status_with(p, stolen) == 200);
  write_file(denied, "stolen-7\n");
  p.signal(SIGHUP);
  CHECK(becomes(p, stolen, 401));
  CHECK(status_with(p, new_token) == 200);
  CHECK(p.stop() == 0);
  CHECK(p.stderr_text().find("JWT keys kept") != std::string::npos);
}

TEST_CASE("jwt: tokens living longer than --jwt-max-token-age-s are refused") {
  ledger_env env({.args = {"--jwt-max-token-age-s", "600"}}, false);
  CHECK(env.get("/v1/wallets", env.proc.token("alice", "user", 600)).status == 200);
  auto r = env.get("/v1/wallets", env.proc.token("alice", "user", 3600));
  CHECK(r.status == 401);
  CHECK(json(r.body).str("/detail") == "invalid token: token lifetime exceeds the maximum");
}
