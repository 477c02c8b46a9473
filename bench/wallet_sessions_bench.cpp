// Wallet sign-in end to end against a real ledgerd over HTTP on loopback:
//
// 1. Sign-ins per second (POST /v1/auth/challenge, sign, POST
//    /v1/auth/sessions) from T client threads, beside a baseline of
//    deposits per second from the same threads in the same run. A sign-in is
//    two durable engine commands; a deposit is one. The Ethereum signature
//    is made in process with libsecp256k1 (RFC 6979, low-S); its cost is
//    measured apart and printed, so it can be taken out.
// 2. What authenticating a request with a session token costs beside a JWT:
//    GET /v1/wallets/{id} with each, alternating blocks on one connection.
//
// Usage: wallet_sessions_bench [--threads T] [--sign-ins N] [--requests R]
// ledger_env (tests/api/e2e_support.h) checks its setup with doctest's
// REQUIRE; outside a test run a failed check aborts the benchmark.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "auth/chains.h"
#include "base/json_out.h"
#include "bench/http_bench_support.h"

using namespace ledger;
using namespace ledger::e2e;
using namespace ledger::bench;

namespace {


struct eth_key {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  unsigned char secret[32];
  std::string address;

  explicit eth_key(unsigned char fill) {
    std::memset(secret, fill, sizeof secret);
    secp256k1_pubkey pub;
    if (!secp256k1_ec_pubkey_create(ctx, &pub, secret)) std::abort();
    unsigned char out[65];
    std::size_t n = sizeof out;
    secp256k1_ec_pubkey_serialize(ctx, out, &n, &pub, SECP256K1_EC_UNCOMPRESSED);
    auto h = auth::keccak256(std::string_view(reinterpret_cast<const char*>(out) + 1, 64));
    static const char* d = "0123456789abcdef";
    std::string hex = "0x";
    for (int i = 12; i < 32; ++i) hex += std::string{d[h[i] >> 4], d[h[i] & 15]};
    address = *auth::eip55_address(hex);
  }
  ~eth_key() { secp256k1_context_destroy(ctx); }

  // EIP-191 personal-sign signature, 0x + r || s || v.
  std::string sign(const std::string& message) const {
    auto hash = auth::eip191_hash(message);
    secp256k1_ecdsa_recoverable_signature sig;
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &sig, hash.data(), secret, nullptr, nullptr)) std::abort();
    unsigned char rs[64];
    int recid = 0;
    secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, rs, &recid, &sig);
    static const char* d = "0123456789abcdef";
    std::string out = "0x";
    for (unsigned char c : rs) out += std::string{d[c >> 4], d[c & 15]};
    unsigned char v = static_cast<unsigned char>(27 + recid);
    return out + std::string{d[v >> 4], d[v & 15]};
  }
};

response post(http_client& c, const std::string& target, const std::string& token, const std::string& body,
              const std::string& key = {}) {
  request r{"POST", target, {{"Content-Type", "application/json"}}, body};
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  if (!key.empty()) r.headers.emplace_back("Idempotency-Key", key);
  return c.send(r);
}

// One sign-in; returns the session token (empty on failure).
std::string sign_in(http_client& c, const eth_key& k, double& signing_s) {
  json_out j;
  j.begin_object().field("chain", "ethereum").field("network", "1").field("address", k.address);
  j.field("domain", "app.example.com").field("uri", "https://app.example.com/login").end_object();
  auto ch = post(c, "/v1/auth/challenge", "", j.take());
  if (ch.status != 201) return {};
  std::string message = json(ch.body).str("/message");
  auto t0 = steady::now();
  std::string sig = k.sign(message);
  signing_s += seconds_since(t0);
  json_out b;
  b.begin_object().field("message", message).field("signature", sig).end_object();
  auto s = post(c, "/v1/auth/sessions", "", b.take());
  return s.status == 201 ? json(s.body).str("/token") : std::string();
}

struct run_result {
  double seconds = 0, signing_s = 0;
  int ok = 0;
};

run_result run_threads(int threads, int per_thread, unsigned short port,
                       const std::function<bool(http_client&, int, int, double&)>& one) {
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  std::vector<double> signing(static_cast<std::size_t>(threads), 0);
  auto t0 = steady::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      http_client c(port);
      for (int i = 0; i < per_thread; ++i)
        if (one(c, t, i, signing[static_cast<std::size_t>(t)])) ++ok;
    });
  for (auto& t : ts) t.join();
  run_result r{seconds_since(t0), 0, ok.load()};
  for (double s : signing) r.signing_s += s;
  return r;
}

double us_per_get(http_client& c, const std::string& target, const std::string& token, int n) {
  request r{"GET", target, {{"Authorization", "Bearer " + token}}, ""};
  auto t0 = steady::now();
  for (int i = 0; i < n; ++i)
    if (c.send(r).status != 200) std::abort();
  return seconds_since(t0) * 1e6 / n;
}

}  // namespace

int main(int argc, char** argv) {
  doctest::Context checks;
  bench::abort_on_failed_checks(checks);
  const int threads = arg(argc, argv, "--threads", 8), sign_ins = arg(argc, argv, "--sign-ins", 800);
  const int requests = arg(argc, argv, "--requests", 4000);
  const int per_thread = sign_ins / threads;
  ledger_env env({.args = {"--rate-limit", "auth:0:0:60", "--rate-limit", "commands:0:0:60", "--rate-limit",
                           "reads:0:0:60", "--quiet"},
                  .quiet = true});
  std::vector<std::unique_ptr<eth_key>> keys;
  for (int t = 0; t < threads; ++t) keys.push_back(std::make_unique<eth_key>(static_cast<unsigned char>(t + 1)));
  auto wallet = env.open_wallet("bench-user");

  auto deposits = run_threads(threads, per_thread, env.proc.port(), [&](http_client& c, int t, int i, double&) {
    std::string body = R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":"1.00","provider":"stripe"})";
    return post(c, "/v1/deposits", env.service, body, "d-" + std::to_string(t) + "-" + std::to_string(i)).status == 201;
  });
  std::string token;
  auto signs = run_threads(threads, per_thread, env.proc.port(), [&](http_client& c, int t, int, double& signing) {
    auto tok = sign_in(c, *keys[static_cast<std::size_t>(t)], signing);
    if (t == 0 && !tok.empty()) token = tok;
    return !tok.empty();
  });
  std::printf("wallet sign-in, %d client threads, ledgerd on loopback (WAL fsync per batch)\n", threads);
  std::printf("  baseline: deposits        %6d ok  %8.0f commands/s\n", deposits.ok, deposits.ok / deposits.seconds);
  std::printf("  sign-ins (2 commands each) %5d ok  %8.0f sign-ins/s  (%.2fx the deposit rate)\n", signs.ok,
              signs.ok / signs.seconds, (signs.ok / signs.seconds) / (deposits.ok / deposits.seconds));
  std::printf("  of which in-process signing: %.1f us per signature\n", signs.signing_s * 1e6 / std::max(1, signs.ok));

  // A user's own wallet, read with a JWT and with a session token for the same owner.
  auto link_wallet = env.open_wallet("wallet:ethereum:" + keys[0]->address);
  http_client c(env.proc.port());
  std::string jwt = env.proc.token("wallet:ethereum:" + keys[0]->address, "user");
  std::string target = "/v1/wallets/" + std::to_string(link_wallet);
  double jwt_us = 0, token_us = 0;
  for (int round = 0; round < 4; ++round) {
    jwt_us += us_per_get(c, target, jwt, requests / 8);
    token_us += us_per_get(c, target, token, requests / 8);
  }
  std::printf("authenticated GET %s, %d requests each, one connection\n", target.c_str(), requests / 2);
  std::printf("  baseline: JWT (HS256)     %8.1f us/request\n", jwt_us / 4);
  std::printf("  session token (lookup)    %8.1f us/request  (%+.1f us, %.2fx)\n", token_us / 4,
              (token_us - jwt_us) / 4, token_us / jwt_us);
  return signs.ok == per_thread * threads && deposits.ok == per_thread * threads ? 0 : 1;
}
