// Wallet sign-in end to end: a real ledgerd over HTTP, and messages signed by
// the real wallet libraries from npm (ethers v6, tweetnacl with bs58,
// @stacks/transactions), driven through tests/api/wallet_sign.js. The npm
// packages are installed by the npm_packages CTest fixture
// (tests/install_npm_packages.sh, `npm ci` from tests/package-lock.json).
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <pqxx/pqxx>

#include "base/json_out.h"
#include "schemas/time.h"
#include "tests/api/e2e_pg.h"
#include "tests/api/e2e_support.h"

namespace ledger::e2e {

namespace {

const std::string key_a = std::string(64, '1');  // the wallets' private keys (hex)
const std::string key_b = std::string(64, '2');
const std::vector<std::string> many_sign_ins = {"--rate-limit", "auth:1000:1000:60"};

// Runs tests/api/wallet_sign.js; throws with its stderr on failure.
std::string node(const std::vector<std::string>& args, const std::string& input = {}) {
  testing::temp_dir dir("wallet-sign");
  auto in = dir.path() / "in", err = dir.path() / "err";
  std::ofstream(in, std::ios::binary) << input;
  std::string cmd = "node '" + std::string(WALLET_SIGN_JS) + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " < '" + in.string() + "' 2> '" + err.string() + "'";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int rc = ::pclose(p);
  std::ifstream e(err);
  std::string err_text((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
  REQUIRE_MESSAGE(rc == 0, (std::string("wallet_sign.js failed: ") + err_text));
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

struct wallet {
  std::string chain, network, key;
  std::string address() const { return node({"address", chain, key, network}); }
  std::string sign(const std::string& message, const std::string& variant = "") const {
    std::vector<std::string> args{"sign", chain, key};
    if (!variant.empty()) args.push_back(variant);
    return node(args, message);
  }
};

std::string challenge_body(const wallet& w, const std::string& address, const std::string& domain = "app.example.com",
                           const std::string& uri = "https://app.example.com/login") {
  json_out j;
  j.begin_object()
      .field("chain", w.chain)
      .field("network", w.network)
      .field("address", address)
      .field("domain", domain)
      .field("uri", uri)
      .end_object();
  return j.take();
}

std::string sign_in_body(const std::string& message, const std::string& signature, std::int64_t duration_s = 0) {
  json_out j;
  j.begin_object().field("message", message).field("signature", signature);
  if (duration_s != 0) j.field("duration_s", duration_s);
  return j.end_object().take();
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, std::string(from));
  return s.replace(at, from.size(), to);
}

struct signed_challenge {
  std::string address, nonce, message;
};

signed_challenge new_challenge(ledger_env& env, const wallet& w) {
  signed_challenge c;
  c.address = w.address();
  auto r = env.post("/v1/auth/challenge", "", challenge_body(w, c.address), no_key);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  json j(r.body);
  c.nonce = j.str("/nonce");
  c.message = j.str("/message");
  CHECK(c.nonce.size() == 22);
  CHECK(c.message.find("Nonce: " + c.nonce) != std::string::npos);
  return c;
}

response sign_in(ledger_env& env, const std::string& message, const std::string& signature, std::int64_t duration_s = 0) {
  return env.post("/v1/auth/sessions", "", sign_in_body(message, signature, duration_s), no_key);
}

// The active sessions of a wallet's owner, as the admin lists them.
std::size_t active_sessions(ledger_env& env, const wallet& w, const std::string& address) {
  auto r = env.get("/v1/auth/sessions?owner=wallet:" + w.chain + ":" + address, env.admin);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  return json(r.body).size("/sessions");
}

std::string refusal_of(const response& r) { return json(r.body).str("/reason"); }

// Expiry needs time to pass: waits until the wall clock (which ledgerd on
// this machine shares) is past `rfc3339`, checking the condition, not a
// fixed delay.
void wait_past(const std::string& rfc3339) {
  auto t = parse_rfc3339_us(rfc3339);
  REQUIRE_MESSAGE(t.has_value(), rfc3339);
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  while (now_us() <= *t) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

TEST_CASE("wallet sessions: each chain signs in with its wallet library; the token is a bearer credential") {
  ledger_env env({.args = many_sign_ins});
  for (const auto& w : {wallet{"ethereum", "1", key_a}, wallet{"solana", "mainnet", key_a},
                        wallet{"stacks", "testnet", key_a}}) {
    INFO("chain ", w.chain);
    auto c = new_challenge(env, w);
    auto r = sign_in(env, c.message, w.sign(c.message));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    json s(r.body);
    std::string token = s.str("/token");
    CHECK(token.size() == 68);
    CHECK(s.str("/owner") == "wallet:" + w.chain + ":" + c.address);

    // The token lists its own sessions and works on user routes.
    auto list = env.get("/v1/auth/sessions", token);
    REQUIRE_MESSAGE(list.status == 200, list.body);
    CHECK(json(list.body).size("/sessions") == 1);
    CHECK(json(list.body).boolean("/sessions/0/current") == 1);
    CHECK(json(list.body).u64("/sessions/0/session_id") == s.u64("/session_id"));
    auto wallets = env.get("/v1/wallets", token);
    CHECK_MESSAGE(wallets.status == 200, wallets.body);

    // Revoked, it is refused; nothing else changed.
    auto del = env.call(request{"DELETE", "/v1/auth/sessions/" + std::to_string(s.u64("/session_id")),
                                {{"Authorization", "Bearer " + token}}, ""});
    CHECK_MESSAGE(del.status == 200, del.body);
    auto after = env.get("/v1/auth/sessions", token);
    CHECK(after.status == 401);
    CHECK(json(after.body).str("/detail") == "invalid token: unknown, revoked or expired session");
  }
  auto metrics = env.ops_get("/metrics");
  CHECK(metrics.body.find("ledger_wallet_authentications_total{chain=\"solana\",result=\"accepted\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("ledger_wallet_sessions_active 0") != std::string::npos);
}

TEST_CASE("wallet sessions: refusals name the check that failed and open nothing") {
  ledger_env env({.args = many_sign_ins});
  wallet w{"ethereum", "1", key_a};
  auto c = new_challenge(env, w);
  auto refused = [&](const std::string& message, const std::string& signature) {
    auto r = sign_in(env, message, signature);
    CHECK_MESSAGE((r.status == 400 || r.status == 401), r.body);
    return refusal_of(r);
  };
  CHECK(refused(replace(c.message, "app.example.com wants", "evil.example.com wants"),
                w.sign(replace(c.message, "app.example.com wants", "evil.example.com wants"))) == "domain_mismatch");
  std::string lookalike = replace(c.message, "app.example.com wants", "\xd0\xb0pp.example.com wants");
  CHECK(refused(lookalike, w.sign(lookalike)) == "domain_not_ascii");
  std::string other_uri = replace(c.message, "URI: https://app.example.com/login", "URI: https://app.example.com/x");
  CHECK(refused(other_uri, w.sign(other_uri)) == "uri_mismatch");
  std::string other_chain = replace(c.message, "Chain ID: 1", "Chain ID: 137");
  CHECK(refused(other_chain, w.sign(other_chain)) == "chain_id_mismatch");
  std::string other_nonce = replace(c.message, "Nonce: " + c.nonce, "Nonce: " + c.nonce + "x");
  CHECK(refused(other_nonce, w.sign(other_nonce)) == "unknown_challenge");
  std::string later = replace(c.message, "Version: 1", "Version: 1\nColor: blue");
  CHECK(refused(later, w.sign(later)) == "malformed_message");
  CHECK(refused(c.message, w.sign(c.message, "high-s")) == "high_s_signature");
  CHECK(refused(c.message, wallet{"ethereum", "1", key_b}.sign(c.message)) == "signature_mismatch");
  CHECK(active_sessions(env, w, c.address) == 0);

  // A look-alike domain is refused when the challenge is asked for, too.
  auto r = env.post("/v1/auth/challenge", "", challenge_body(w, c.address, "\xd0\xb0pp.example.com"), no_key);
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/field") == "domain");
  // A chain the ledger does not support.
  r = env.post("/v1/auth/challenge", "", R"({"chain":"bitcoin","network":"1","address":"x","domain":"a.b","uri":"https://a.b"})", no_key);
  CHECK(r.status == 400);
  CHECK(json(r.body).str("/type") == "/problems/unsupported-chain");

  // The right signature opens one session; the nonce cannot be used again.
  auto ok = sign_in(env, c.message, w.sign(c.message));
  REQUIRE_MESSAGE(ok.status == 201, ok.body);
  auto again = sign_in(env, c.message, w.sign(c.message));
  CHECK(again.status == 401);
  CHECK(refusal_of(again) == "nonce_used");
  CHECK(active_sessions(env, w, c.address) == 1);
}

// A SIP-018 structured-data signature, made by @stacks/transactions
// signStructuredData, and the request body that carries its domain.
std::string sip018_sign(const wallet& w, const std::string& message, const std::string& name, const std::string& version,
                        const std::string& chain_id) {
  return node({"sip018", "stacks", w.key, name, version, chain_id}, message);
}

std::string sip018_body(const std::string& message, const std::string& signature, const std::string& name,
                        const std::string& version, std::uint64_t chain_id) {
  json_out j;
  j.begin_object().field("message", message).field("signature", signature);
  j.key("structured_data").begin_object().key("domain").begin_object();
  j.field("name", name).field("version", version).field("chain_id", chain_id).end_object().end_object();
  return j.end_object().take();
}

TEST_CASE("wallet sessions: a Stacks sign-in signed as SIP-018 structured data") {
  ledger_env env({.args = many_sign_ins});
  for (const auto& [network, chain_id] : {std::pair<std::string, std::uint64_t>{"testnet", 2147483648ULL}, {"mainnet", 1}}) {
    INFO("network ", network);
    wallet w{"stacks", network, key_a};
    auto c = new_challenge(env, w);
    auto post = [&](const std::string& sig, const std::string& name, const std::string& version, std::uint64_t id) {
      return env.post("/v1/auth/sessions", "", sip018_body(c.message, sig, name, version, id), no_key);
    };
    std::string id_text = std::to_string(chain_id);
    std::string other_id = std::to_string(chain_id == 1 ? 2147483648ULL : 1ULL);

    // Signed over another domain, version or chain-id: refused by name, nothing opened.
    auto r = post(sip018_sign(w, c.message, "evil.example.com", "1", id_text), "evil.example.com", "1", chain_id);
    CHECK(r.status == 401);
    CHECK(refusal_of(r) == "sip018_domain_mismatch");
    CHECK(json(r.body).str("/field") == "structured_data.domain.name");
    r = post(sip018_sign(w, c.message, "app.example.com", "1", other_id), "app.example.com", "1", std::stoull(other_id));
    CHECK(r.status == 401);
    CHECK(refusal_of(r) == "sip018_chain_id_mismatch");
    r = post(sip018_sign(w, c.message, "app.example.com", "2", id_text), "app.example.com", "2", chain_id);
    CHECK(refusal_of(r) == "sip018_version_unsupported");
    // The right domain claimed, but the signature is over another chain-id.
    r = post(sip018_sign(w, c.message, "app.example.com", "1", other_id), "app.example.com", "1", chain_id);
    CHECK(refusal_of(r) == "signature_mismatch");
    // A signed-message signature is not a structured-data one, nor the reverse.
    r = post(w.sign(c.message), "app.example.com", "1", chain_id);
    CHECK(refusal_of(r) == "signature_mismatch");
    std::string good = sip018_sign(w, c.message, "app.example.com", "1", id_text);
    r = sign_in(env, c.message, good);
    CHECK(refusal_of(r) == "signature_mismatch");
    CHECK(active_sessions(env, w, c.address) == 0);
    // A malformed domain names its field.
    r = env.post("/v1/auth/sessions", "",
                 R"({"message":"x","signature":"00","structured_data":{"domain":{"name":"a","version":"1"}}})", no_key);
    CHECK(r.status == 400);
    CHECK(json(r.body).str("/field") == "structured_data.domain.chain_id");

    auto ok = post(good, "app.example.com", "1", chain_id);
    REQUIRE_MESSAGE(ok.status == 201, ok.body);
    CHECK(json(ok.body).str("/address") == c.address);
    CHECK(env.get("/v1/auth/sessions", json(ok.body).str("/token")).status == 200);
  }
}

TEST_CASE("wallet sessions: expired challenges and sessions are refused") {
  ledger_env env({.args = {"--auth-challenge-ttl-s", "1", "--rate-limit", "auth:1000:1000:60"}});
  wallet w{"solana", "mainnet", key_b};
  auto c = new_challenge(env, w);
  std::string sig = w.sign(c.message);
  auto expiry = c.message.substr(c.message.find("Expiration Time: ") + 17);
  wait_past(expiry);
  auto late = sign_in(env, c.message, sig);
  CHECK(late.status == 401);
  CHECK(refusal_of(late) == "expired");

  // Sessions: a ledgerd whose challenges last long enough to be signed under load.
  ledger_env env2({.args = {"--auth-session-min-s", "1", "--rate-limit", "auth:1000:1000:60"}});
  auto c2 = new_challenge(env2, w);
  auto r = sign_in(env2, c2.message, w.sign(c2.message), 1);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  std::string token = json(r.body).str("/token");
  wait_past(json(r.body).str("/expires_at"));
  auto used = env2.get("/v1/auth/sessions", token);
  CHECK(used.status == 401);
  CHECK(json(used.body).str("/detail").find("expired") != std::string::npos);
}

TEST_CASE("wallet sessions: one signed message posted 50 times at once opens exactly one session") {
  ledger_env env({.args = many_sign_ins});
  wallet w{"ethereum", "1", key_b};
  auto c = new_challenge(env, w);
  std::string body = sign_in_body(c.message, w.sign(c.message));
  std::atomic<int> opened{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < 50; ++i)
    threads.emplace_back([&] {
      auto client = env.proc.client();
      while (!go.load()) std::this_thread::yield();
      auto r = client.send(request{"POST", "/v1/auth/sessions", {{"Content-Type", "application/json"}}, body});
      auto reason = json(r.body).str("/reason");
      if (r.status == 201) ++opened;
      else if (reason == "nonce_used") ++refused;
      else ++other;
    });
  go = true;
  for (auto& t : threads) t.join();
  CHECK(opened.load() == 1);
  CHECK(refused.load() == 49);
  CHECK(other.load() == 0);
  CHECK(active_sessions(env, w, c.address) == 1);
}

TEST_CASE("wallet sessions: sessions and revocations survive kill -9") {
  ledger_env env({.args = many_sign_ins});
  wallet w{"stacks", "mainnet", key_b};
  auto c1 = new_challenge(env, w);
  auto kept = sign_in(env, c1.message, w.sign(c1.message));
  auto c2 = new_challenge(env, w);
  auto revoked = sign_in(env, c2.message, w.sign(c2.message));
  REQUIRE(kept.status == 201);
  REQUIRE(revoked.status == 201);
  std::string kept_token = json(kept.body).str("/token"), revoked_token = json(revoked.body).str("/token");
  auto del = env.call(request{"DELETE", "/v1/auth/sessions/" + std::to_string(json(revoked.body).u64("/session_id")),
                              {{"Authorization", "Bearer " + revoked_token}}, ""});
  REQUIRE_MESSAGE(del.status == 200, del.body);

  env.proc.kill_now();
  env.proc.start();
  env.http = env.proc.client();
  CHECK(env.get("/v1/auth/sessions", kept_token).status == 200);
  CHECK(env.get("/v1/auth/sessions", revoked_token).status == 401);
  // The nonce stays used after the restart.
  auto again = sign_in(env, c1.message, w.sign(c1.message));
  CHECK(refusal_of(again) == "nonce_used");

  // An admin revokes every session of the address; the user's own list is then empty.
  auto all = env.call(request{"DELETE", "/v1/auth/sessions?chain=stacks&network=mainnet&address=" + c1.address,
                              {{"Authorization", "Bearer " + env.admin}}, ""});
  CHECK_MESSAGE(all.status == 200, all.body);
  CHECK(json(all.body).u64("/revoked") == 1);
  CHECK(env.get("/v1/auth/sessions", kept_token).status == 401);
}

TEST_CASE("wallet sessions: sign-in attempts are rate-limited in the auth class") {
  ledger_env env;  // defaults: auth 20 per minute per client address
  int limited = 0;
  for (int i = 0; i < 21; ++i) {
    auto r = sign_in(env, "not a sign-in message", "0x00");
    if (r.status == 429) ++limited;
    else CHECK(refusal_of(r) == "malformed_message");
  }
  CHECK(limited == 1);
}

TEST_CASE("wallet sessions: refused sign-ins the limits admit are journaled and queried in SQL; the 21st is not") {
  const std::string conninfo = e2e_pg().create_database("e2e_auth_failures");
  ledger_env env(pg_options(conninfo));  // defaults: auth 20 per minute per client and per wallet address
  wallet w{"ethereum", "1", key_a};
  auto c = new_challenge(env, w);
  std::string by_other_key = wallet{"ethereum", "1", key_b}.sign(c.message);
  int refused = 0, limited = 0;
  for (int i = 0; i < 21; ++i) {
    auto r = sign_in(env, c.message, by_other_key);
    if (r.status == 429) {
      ++limited;
    } else {
      CHECK(refusal_of(r) == "signature_mismatch");
      ++refused;
    }
  }
  CHECK(refused == 20);
  CHECK(limited == 1);

  // A later command: once the projector has it, everything before it is in PostgreSQL.
  auto marker = env.post("/v1/auth/challenge", "", challenge_body(w, c.address), no_key);
  REQUIRE_MESSAGE(marker.status == 201, marker.body);
  std::string marker_seq = marker.header("ledger-seq");
  auto sql_count = [&](const std::string& q) {
    pqxx::connection pc(conninfo);
    pqxx::work tx(pc);
    return tx.exec1(q)[0].as<int>();
  };
  REQUIRE(eventually([&] { return sql_count("SELECT count(*) FROM ledger.audit_log WHERE seq = " + marker_seq) == 1; }));

  // Seed 002's incident query: failed authentications in the last hour, by reason.
  pqxx::connection pc(conninfo);
  pqxx::work tx(pc);
  auto by_reason = tx.exec("SELECT reason, count(*) FROM ledger.wallet_auth_failures "
                           "WHERE at > now() - interval '1 hour' GROUP BY 1 ORDER BY 2 DESC");
  REQUIRE(by_reason.size() == 1);
  CHECK(std::string(by_reason[0][0].c_str()) == "signature_mismatch");
  CHECK(by_reason[0][1].as<int>() == 20);  // the 429 left nothing
  auto row = tx.exec1("SELECT chain, network, address, client FROM ledger.wallet_auth_failures LIMIT 1");
  CHECK(std::string(row[0].c_str()) == "ethereum");
  CHECK(std::string(row[1].c_str()) == "1");
  CHECK(std::string(row[2].c_str()) == c.address);
  CHECK(std::string(row[3].c_str()) == "127.0.0.1");
  CHECK(tx.exec1("SELECT count(*) FROM ledger.audit_log WHERE command = 'record_auth_failure'")[0].as<int>() == 20);
  // No secret: neither the signed message nor the signature is in the record.
  CHECK(tx.exec1("SELECT count(*) FROM ledger.wallet_auth_failures WHERE address = " + tx.quote(c.address))[0].as<int>() == 20);
  CHECK(active_sessions(env, w, c.address) == 0);
}

TEST_CASE("wallet sessions: an admin links an address to an owner before its first sign-in") {
  ledger_env env({.args = many_sign_ins});
  wallet w{"ethereum", "1", key_a};
  std::string address = w.address();
  json_out j;
  j.begin_object().field("chain", "ethereum").field("network", "1").field("address", address).field("owner", "alice").end_object();
  auto link = env.post("/v1/auth/connections", env.admin, j.take(), no_key);
  REQUIRE_MESSAGE(link.status == 201, link.body);
  auto c = new_challenge(env, w);
  auto r = sign_in(env, c.message, w.sign(c.message));
  REQUIRE_MESSAGE(r.status == 201, r.body);
  CHECK(json(r.body).str("/owner") == "alice");
  std::string token = json(r.body).str("/token");
  // The session acts as alice: her wallet is visible with the session token.
  auto wallet_id = env.open_wallet("alice");
  CHECK(env.get("/v1/wallets/" + std::to_string(wallet_id), token).status == 200);

  auto unlink = env.call(request{"DELETE", "/v1/auth/connections?chain=ethereum&network=1&address=" + address,
                                 {{"Authorization", "Bearer " + env.admin}}, ""});
  CHECK_MESSAGE(unlink.status == 200, unlink.body);
  CHECK(json(unlink.body).u64("/revoked") == 1);
  CHECK(env.get("/v1/wallets/" + std::to_string(wallet_id), token).status == 401);
}

}  // namespace ledger::e2e
