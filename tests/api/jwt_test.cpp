// The JWT verifier against every token it must accept and every one it must
// refuse. Tokens with unusual headers are built here with the test's own
// base64url and OpenSSL's HMAC, independently of the code under test, so a
// refusal is checked by its exact reason: a token refused for the wrong
// reason fails the test.
#include <doctest/doctest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "api/jwt.h"
#include "api/jwt_files.h"
#include "tests/support/temp_dir.h"

#include <fstream>

namespace {

using namespace ledger::api;

constexpr std::int64_t now_s = 1'700'000'000;
const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";
const std::string issuer = "ledger-auth";
const std::string audience = "ledger-api";

// A P-384 public key made with `openssl ecparam -name secp384r1`.
constexpr const char* p384_public_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEvKnrJPJTBuj5rrDTRimeWFFR9li6vQ7q\n"
    "lgsu62tGLFOtaLXw5okk3kn6fnhwAD9uapM8lHPPls3w+pL6AxDS1T9JOrSDicrm\n"
    "a7J+dE/rPMmp9bxYkeyIxBwITrGdKBui\n"
    "-----END PUBLIC KEY-----\n";
// An Ed25519 public key: a valid PEM "PUBLIC KEY" that is not EC at all.
constexpr const char* ed25519_public_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA0CGY7+8fDrpTUDcuqYBG6w9hhVe7wsc+ZIUgIZvZTsk=\n"
    "-----END PUBLIC KEY-----\n";

// ---- the test's own encoding and signing ----

std::string b64url(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string unb64url(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    int v = 0;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '-') v = 62;
    else if (c == '_') v = 63;
    else FAIL("test helper given a non-base64url character");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string hmac(std::string_view digest, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t length = 0;
  const std::string digest_name(digest);
  REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name.c_str(), nullptr, key.data(), key.size(),
                    reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                    &length) != nullptr);
  return std::string(reinterpret_cast<const char*>(out), length);
}

// A token from already-encoded header and payload parts, MACed as given.
std::string mac_parts(std::string_view header_b64, std::string_view payload_b64, std::string_view key = secret,
                      std::string_view digest = "SHA256") {
  std::string input = std::string(header_b64) + "." + std::string(payload_b64);
  return input + "." + b64url(hmac(digest, key, input));
}

std::string mac_token(std::string_view header_json, std::string_view payload_json, std::string_view key = secret,
                      std::string_view digest = "SHA256") {
  return mac_parts(b64url(header_json), b64url(payload_json), key, digest);
}

struct parts {
  std::string header, payload, signature;
};

parts split(const std::string& token) {
  const auto a = token.find('.');
  const auto b = token.find('.', a + 1);
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  return {token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1)};
}

std::string join(const parts& p) { return p.header + "." + p.payload + "." + p.signature; }

// A payload that passes every claim check; `extra` is spliced in as more members.
std::string claims(std::string_view extra = "", std::string_view sub = R"("alice")") {
  return R"({"sub":)" + std::string(sub) + R"(,"iss":")" + issuer + R"(","aud":")" + audience +
         R"(","exp":)" + std::to_string(now_s + 600) + std::string(extra) + "}";
}

// The same without the standard members, for tests that vary them.
std::string bare_claims(std::string_view members) { return "{" + std::string(members) + "}"; }

std::string iss_aud() { return R"("iss":")" + issuer + R"(","aud":")" + audience + R"(")"; }

std::string exp_ok() { return R"("exp":)" + std::to_string(now_s + 600); }

// ---- verifiers ----

jwt_config base_config() {
  jwt_config config;
  config.issuer = issuer;
  config.audience = audience;
  return config;
}

std::unique_ptr<jwt_verifier> make_verifier(const jwt_config& config) {
  std::unique_ptr<jwt_verifier> verifier;
  const auto error = jwt_verifier::create(config, verifier);
  REQUIRE_MESSAGE(!error, (error ? *error : ""));
  REQUIRE(verifier);
  return verifier;
}

std::unique_ptr<jwt_verifier> hs256_verifier() {
  jwt_config config = base_config();
  config.hs256_secret = secret;
  return make_verifier(config);
}

const std::pair<std::string, std::string>& es256_keys() {
  static const auto keys = generate_es256_keypair();
  return keys;
}

std::unique_ptr<jwt_verifier> es256_verifier() {
  jwt_config config = base_config();
  config.es256_public_key_pem = es256_keys().second;
  return make_verifier(config);
}

std::string es256_token(std::string_view payload_json) {
  const auto token = sign_es256(es256_keys().first, payload_json);
  REQUIRE(token.has_value());
  return *token;
}

// "accepted:<subject>:<role>", or the refusal reason.
std::string outcome(const jwt_verifier& verifier, std::string_view token, std::int64_t at_s = now_s) {
  const auto result = verifier.verify(token, at_s);
  if (const auto* error = std::get_if<jwt_error>(&result)) return error->reason;
  const auto& who = std::get<principal>(result);
  return "accepted:" + who.subject + ":" + std::string(to_string(who.role_));
}

std::optional<std::string> create_error(const jwt_config& config) {
  std::unique_ptr<jwt_verifier> verifier;
  auto error = jwt_verifier::create(config, verifier);
  CHECK(error.has_value() == (verifier == nullptr));
  return error;
}

const std::vector<std::string> all_roles = {"user", "service", "admin", "auditor"};

}  // namespace

TEST_SUITE("jwt") {

// ---- accepted tokens ----

TEST_CASE("valid HS256 token for each role") {
  const auto verifier = hs256_verifier();
  for (const auto& r : all_roles) {
    CAPTURE(r);
    const auto token = sign_hs256(secret, claims(R"(,"role":")" + r + "\""));
    CHECK(outcome(*verifier, token) == "accepted:alice:" + r);
  }
}

TEST_CASE("valid ES256 token for each role") {
  const auto verifier = es256_verifier();
  for (const auto& r : all_roles) {
    CAPTURE(r);
    CHECK(outcome(*verifier, es256_token(claims(R"(,"role":")" + r + "\""))) == "accepted:alice:" + r);
  }
}

TEST_CASE("missing role means user") {
  CHECK(outcome(*hs256_verifier(), sign_hs256(secret, claims())) == "accepted:alice:user");
}

TEST_CASE("both algorithms configured accept both kinds of token") {
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.es256_public_key_pem = es256_keys().second;
  const auto verifier = make_verifier(config);
  CHECK(outcome(*verifier, sign_hs256(secret, claims())) == "accepted:alice:user");
  CHECK(outcome(*verifier, es256_token(claims())) == "accepted:alice:user");
}

TEST_CASE("to_string names every role") {
  CHECK(to_string(role::user) == "user");
  CHECK(to_string(role::service) == "service");
  CHECK(to_string(role::admin) == "admin");
  CHECK(to_string(role::auditor) == "auditor");
}

TEST_CASE("typ is optional and compared without case") {
  const auto verifier = hs256_verifier();
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256"})", claims())) == "accepted:alice:user");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","typ":"jwt"})", claims())) == "accepted:alice:user");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","typ":"JWS"})", claims())) == "unsupported token type");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","typ":1})", claims())) == "unsupported token type");
}

TEST_CASE("unknown header members and claims are ignored") {
  const auto token = mac_token(R"({"alg":"HS256","x":{"y":[1,2]}})", claims(R"(,"jti":"j-1","n":[{}])"));
  CHECK(outcome(*hs256_verifier(), token) == "accepted:alice:user");
}

// ---- algorithm refusals ----

TEST_CASE("alg none with an empty signature is refused") {
  const auto verifier = hs256_verifier();
  const auto token = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(claims()) + ".";
  CHECK(outcome(*verifier, token) == "unsupported algorithm");
}

TEST_CASE("none in any case is refused") {
  const auto verifier = hs256_verifier();
  for (const char* alg : {"None", "NONE", "nOnE"}) {
    CAPTURE(alg);
    const auto header = std::string(R"({"alg":")") + alg + "\"}";
    CHECK(outcome(*verifier, b64url(header) + "." + b64url(claims()) + ".") == "unsupported algorithm");
    CHECK(outcome(*verifier, mac_token(header, claims())) == "unsupported algorithm");
  }
}

TEST_CASE("HS384 is refused even with a correct HS384 MAC") {
  const auto token = mac_token(R"({"alg":"HS384","typ":"JWT"})", claims(), secret, "SHA384");
  CHECK(outcome(*hs256_verifier(), token) == "unsupported algorithm");
}

TEST_CASE("lower-case hs256 is refused") {
  CHECK(outcome(*hs256_verifier(), mac_token(R"({"alg":"hs256"})", claims())) == "unsupported algorithm");
}

TEST_CASE("missing alg is refused") {
  const auto verifier = hs256_verifier();
  CHECK(outcome(*verifier, mac_token(R"({"typ":"JWT"})", claims())) == "unsupported algorithm");
  CHECK(outcome(*verifier, mac_token(R"({})", claims())) == "unsupported algorithm");
  CHECK(outcome(*verifier, mac_token(R"({"alg":null})", claims())) == "unsupported algorithm");
}

TEST_CASE("RS256 header with an HS256 signature is refused") {
  CHECK(outcome(*hs256_verifier(), mac_token(R"({"alg":"RS256","typ":"JWT"})", claims())) ==
        "unsupported algorithm");
}

TEST_CASE("key confusion: HS256 signed with the ES256 public key PEM is refused") {
  const auto& public_pem = es256_keys().second;
  const auto token = sign_hs256(public_pem, claims(R"(,"role":"admin")"));
  CHECK(outcome(*es256_verifier(), token) == "unsupported algorithm");
  // With an HS256 secret configured too, the MAC is checked against that
  // secret and never against the public key.
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.es256_public_key_pem = public_pem;
  CHECK(outcome(*make_verifier(config), token) == "invalid signature");
}

TEST_CASE("ES256 token refused when only HS256 is configured") {
  CHECK(outcome(*hs256_verifier(), es256_token(claims())) == "unsupported algorithm");
}

TEST_CASE("crit header is refused") {
  const auto token = mac_token(R"({"alg":"HS256","crit":["exp"],"exp":1})", claims());
  CHECK(outcome(*hs256_verifier(), token) == "unsupported critical header");
}

// ---- signature refusals ----

TEST_CASE("wrong secret is refused") {
  CHECK(outcome(*hs256_verifier(), sign_hs256("another-secret-of-at-least-32-bytes!", claims())) ==
        "invalid signature");
}

TEST_CASE("one flipped bit in the signature is refused") {
  for (const bool es256 : {false, true}) {
    CAPTURE(es256);
    const auto verifier = es256 ? es256_verifier() : hs256_verifier();
    auto p = split(es256 ? es256_token(claims()) : sign_hs256(secret, claims()));
    REQUIRE(outcome(*verifier, join(p)) == "accepted:alice:user");
    auto raw = unb64url(p.signature);
    for (std::size_t bit : {std::size_t{0}, std::size_t{7}, raw.size() * 8 - 1}) {
      CAPTURE(bit);
      auto flipped = raw;
      flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
      parts q = p;
      q.signature = b64url(flipped);
      CHECK(outcome(*verifier, join(q)) == "invalid signature");
    }
  }
}

TEST_CASE("payload altered after signing is refused") {
  for (const bool es256 : {false, true}) {
    CAPTURE(es256);
    const auto verifier = es256 ? es256_verifier() : hs256_verifier();
    auto p = split(es256 ? es256_token(claims(R"(,"role":"user")")) : sign_hs256(secret, claims(R"(,"role":"user")")));
    p.payload = b64url(claims(R"(,"role":"admin")"));
    CHECK(outcome(*verifier, join(p)) == "invalid signature");
  }
}

TEST_CASE("header altered after signing is refused") {
  auto p = split(sign_hs256(secret, claims()));
  p.header = b64url(R"({"alg":"HS256","typ":"jwt"})");
  CHECK(outcome(*hs256_verifier(), join(p)) == "invalid signature");
}

TEST_CASE("ES256 signature of 63 or 65 bytes is refused") {
  const auto verifier = es256_verifier();
  auto p = split(es256_token(claims()));
  const auto raw = unb64url(p.signature);
  REQUIRE(raw.size() == 64);
  parts shorter = p;
  shorter.signature = b64url(raw.substr(0, 63));
  CHECK(outcome(*verifier, join(shorter)) == "invalid signature");
  parts longer = p;
  longer.signature = b64url(raw + std::string(1, '\0'));
  CHECK(outcome(*verifier, join(longer)) == "invalid signature");
  parts der = p;  // a DER signature is what OpenSSL produces, but not JOSE
  der.signature = b64url(std::string("\x30\x44\x02\x20", 4) + raw.substr(0, 32) + "\x02\x20" + raw.substr(32));
  CHECK(outcome(*verifier, join(der)) == "invalid signature");
}

TEST_CASE("HS256 signature of the wrong length is refused") {
  auto p = split(sign_hs256(secret, claims()));
  const auto raw = unb64url(p.signature);
  p.signature = b64url(raw.substr(0, 31));
  CHECK(outcome(*hs256_verifier(), join(p)) == "invalid signature");
  p.signature = "";
  CHECK(outcome(*hs256_verifier(), join(p)) == "invalid signature");
}

// P-256's group order n; (r, n - s) is the other valid signature for (r, s).
TEST_CASE("high-S ES256 signatures are accepted") {
  static const unsigned char order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                          0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
  const auto verifier = es256_verifier();
  auto p = split(es256_token(claims()));
  auto raw = unb64url(p.signature);
  REQUIRE(raw.size() == 64);
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = int{order[i]} - static_cast<unsigned char>(raw[32 + static_cast<std::size_t>(i)]) - borrow;
    borrow = d < 0 ? 1 : 0;
    raw[32 + static_cast<std::size_t>(i)] = static_cast<char>(d & 0xff);
  }
  REQUIRE(borrow == 0);
  parts q = p;
  q.signature = b64url(raw);
  REQUIRE(q.signature != p.signature);
  CHECK(outcome(*verifier, join(q)) == "accepted:alice:user");
}

// The raw-to-DER conversion must drop leading zero bytes of R and S and add
// one where the top bit is set; about one signature in 128 has a zero byte.
TEST_CASE("ES256 signatures with a leading zero byte or a high top bit verify") {
  const auto verifier = es256_verifier();
  bool saw_zero = false, saw_high = false, saw_low = false;
  for (int i = 0; i < 4000 && !(saw_zero && saw_high && saw_low); ++i) {
    const auto token = es256_token(claims(R"(,"jti":")" + std::to_string(i) + "\""));
    const auto raw = unb64url(split(token).signature);
    REQUIRE(raw.size() == 64);
    for (const std::size_t at : {std::size_t{0}, std::size_t{32}}) {
      const auto top = static_cast<unsigned char>(raw[at]);
      saw_zero = saw_zero || top == 0;
      saw_high = saw_high || top >= 0x80;
      saw_low = saw_low || (top != 0 && top < 0x80);
    }
    CHECK(outcome(*verifier, token) == "accepted:alice:user");
  }
  CHECK(saw_zero);
  CHECK(saw_high);
  CHECK(saw_low);
}

// ---- time claims ----

TEST_CASE("expired token is refused; exp within leeway is accepted") {
  const auto verifier = hs256_verifier();
  const auto with_exp = [](std::int64_t exp) {
    return sign_hs256(secret, bare_claims(R"("sub":"alice",)" + iss_aud() + R"(,"exp":)" + std::to_string(exp)));
  };
  CHECK(outcome(*verifier, with_exp(now_s - 3600)) == "token expired");
  CHECK(outcome(*verifier, with_exp(now_s - 30)) == "token expired");  // now must be < exp + leeway
  CHECK(outcome(*verifier, with_exp(now_s - 29)) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_exp(now_s - 1)) == "accepted:alice:user");
  // Far futures are refused by the maximum token age (see below), never wrapped.
  CHECK(outcome(*verifier, with_exp(INT64_MAX)) == "token lifetime exceeds the maximum");
  CHECK(outcome(*verifier, with_exp(INT64_MIN)) == "token expired");
}

TEST_CASE("zero leeway is exact") {
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.leeway_s = 0;
  const auto verifier = make_verifier(config);
  const auto token = sign_hs256(secret, claims());
  CHECK(outcome(*verifier, token, now_s + 599) == "accepted:alice:user");
  CHECK(outcome(*verifier, token, now_s + 600) == "token expired");
}

TEST_CASE("exp missing, as string, or as float is refused") {
  const auto verifier = hs256_verifier();
  const auto base = R"("sub":"alice",)" + iss_aud();
  const auto e = std::to_string(now_s + 600);
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base))) == "token has no expiry");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":")" + e + "\""))) == "invalid exp claim");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":)" + e + ".0"))) == "invalid exp claim");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":)" + e + ".5"))) == "invalid exp claim");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":1.7e9)"))) == "invalid exp claim");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":null)"))) == "invalid exp claim");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":18446744073709551615)"))) ==
        "invalid exp claim");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(base + R"(,"exp":)" + e))) == "accepted:alice:user");
}

TEST_CASE("nbf in the future is refused") {
  const auto verifier = hs256_verifier();
  const auto with_nbf = [](std::string nbf) { return sign_hs256(secret, claims(R"(,"nbf":)" + nbf)); };
  CHECK(outcome(*verifier, with_nbf(std::to_string(now_s + 31))) == "token not yet valid");
  CHECK(outcome(*verifier, with_nbf(std::to_string(now_s + 30))) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_nbf(std::to_string(now_s - 100))) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_nbf(std::to_string(INT64_MIN))) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_nbf("\"0\"")) == "invalid nbf claim");
}

TEST_CASE("iat in the future is refused") {
  const auto verifier = hs256_verifier();
  const auto with_iat = [](std::string iat) { return sign_hs256(secret, claims(R"(,"iat":)" + iat)); };
  CHECK(outcome(*verifier, with_iat(std::to_string(now_s + 31))) == "token issued in the future");
  CHECK(outcome(*verifier, with_iat(std::to_string(now_s + 30))) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_iat(std::to_string(now_s))) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_iat(std::to_string(now_s) + ".0")) == "invalid iat claim");
}

// ---- issuer, audience, subject, role ----

TEST_CASE("wrong or missing iss is refused") {
  const auto verifier = hs256_verifier();
  const auto aud_exp = R"("sub":"alice","aud":")" + audience + "\"," + exp_ok();
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":"someone-else")"))) == "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":"LEDGER-AUTH")"))) == "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":"ledger")"))) == "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":"ledger-auth-x")"))) == "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":"")"))) == "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp))) == "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":["ledger-auth"])"))) ==
        "wrong issuer");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(aud_exp + R"(,"iss":"ledger-auth")"))) ==
        "accepted:alice:user");
}

TEST_CASE("wrong aud is refused; an aud array containing the audience is accepted") {
  const auto verifier = hs256_verifier();
  const auto with_aud = [](std::string aud) {
    return sign_hs256(secret, bare_claims(R"("sub":"alice","iss":")" + issuer + R"(","aud":)" + aud + "," + exp_ok()));
  };
  const auto without_aud = R"("sub":"alice","iss":")" + issuer + "\"," + exp_ok();
  CHECK(outcome(*verifier, with_aud(R"("other-api")")) == "wrong audience");
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(without_aud))) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"(["a","ledger-api","b"])")) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_aud(R"(["ledger-api"])")) == "accepted:alice:user");
  CHECK(outcome(*verifier, with_aud(R"(["a","b"])")) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"([])")) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"(["ledger-api",7])")) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"({"aud":"ledger-api"})")) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"("ledger-api ")")) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"("ledger")")) == "wrong audience");
  CHECK(outcome(*verifier, with_aud(R"(["ledger"])")) == "wrong audience");
}

TEST_CASE("missing, empty, non-string, too long or control-character sub is refused") {
  const auto verifier = hs256_verifier();
  const auto rest = iss_aud() + "," + exp_ok();
  CHECK(outcome(*verifier, sign_hs256(secret, bare_claims(rest))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("")"))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", "42"))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", "null"))) == "invalid sub claim");
  const std::string max_sub(128, 's');
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", "\"" + max_sub + "\""))) == "accepted:" + max_sub + ":user");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", "\"" + max_sub + "s\""))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("ali\nce")"))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("ali\u0000ce")"))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("ali\u001bce")"))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("ali\u007fce")"))) == "invalid sub claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("ali\u0085ce")"))) == "invalid sub claim");
  // Non-ASCII that is not a control character is fine.
  CHECK(outcome(*verifier, sign_hs256(secret, claims("", R"("al\u00efce")"))) == "accepted:al\xc3\xaf" "ce:user");
}

TEST_CASE("unknown role is refused") {
  const auto verifier = hs256_verifier();
  for (const char* r : {R"("root")", R"("Admin")", R"("")", R"("admin ")", "1", "null", R"(["admin"])"}) {
    CAPTURE(r);
    CHECK(outcome(*verifier, sign_hs256(secret, claims(std::string(R"(,"role":)") + r))) == "invalid role claim");
  }
}

// ---- token shape ----

TEST_CASE("padding '=' is refused") {
  const auto verifier = hs256_verifier();
  // Signed over the padded text, so only the padding can be the reason.
  const auto header = b64url(R"({"alg":"HS256"})");
  // Trailing JSON whitespace changes the length until the encoding needs padding.
  std::string json = claims();
  while (b64url(json).size() % 4 == 0) json += ' ';
  const auto payload = b64url(json);
  const std::string pad(4 - payload.size() % 4, '=');
  CHECK(outcome(*verifier, mac_parts(header, payload)) == "accepted:alice:user");
  CHECK(outcome(*verifier, mac_parts(header, payload + pad)) == "malformed token payload");
  auto p = split(sign_hs256(secret, claims()));
  REQUIRE(p.signature.size() == 43);
  p.signature += "=";
  CHECK(outcome(*verifier, join(p)) == "malformed token signature");
  p = split(sign_hs256(secret, claims()));
  p.header += "====";
  CHECK(outcome(*verifier, join(p)) == "malformed token header");
}

TEST_CASE("2 or 4 parts are refused") {
  const auto verifier = hs256_verifier();
  const auto token = sign_hs256(secret, claims());
  const auto p = split(token);
  CHECK(outcome(*verifier, p.header + "." + p.payload) == "malformed token");
  CHECK(outcome(*verifier, token + "." + p.signature) == "malformed token");
  CHECK(outcome(*verifier, token + ".") == "malformed token");
  CHECK(outcome(*verifier, p.header) == "malformed token");
  CHECK(outcome(*verifier, "..") == "malformed token header");
  CHECK(outcome(*verifier, "...") == "malformed token");
}

TEST_CASE("non-base64url characters are refused") {
  const auto verifier = hs256_verifier();
  const auto token = sign_hs256(secret, claims());
  const auto p = split(token);
  for (const char bad : {'+', '/', ' ', '\n', '\0', '\xff', '*'}) {
    CAPTURE(int{bad});
    parts in_signature = p;
    in_signature.signature[10] = bad;
    CHECK(outcome(*verifier, join(in_signature)) == "malformed token signature");
    parts in_header = p;
    in_header.header[3] = bad;
    CHECK(outcome(*verifier, join(in_header)) == "malformed token header");
    // In the payload, and MACed as sent, so the signature is not the reason.
    std::string payload = p.payload;
    payload[5] = bad;
    CHECK(outcome(*verifier, mac_parts(p.header, payload)) == "malformed token payload");
  }
  CHECK(outcome(*verifier, token + "\n") == "malformed token signature");
  CHECK(outcome(*verifier, " " + token) == "malformed token header");
}

// Several spellings of the same bytes would make signatures malleable.
TEST_CASE("non-canonical base64url (unused low bits set) is refused") {
  const auto verifier = hs256_verifier();
  auto p = split(sign_hs256(secret, claims()));
  REQUIRE(p.signature.size() == 43);  // 32 bytes: the last character carries 2 unused bits
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto last = alphabet.find(p.signature.back());
  REQUIRE(last % 4 == 0);
  p.signature.back() = alphabet[last + 1];
  CHECK(unb64url(p.signature) == unb64url(split(sign_hs256(secret, claims())).signature));
  CHECK(outcome(*verifier, join(p)) == "malformed token signature");
}

TEST_CASE("base64url of impossible length is refused") {
  auto p = split(sign_hs256(secret, claims()));
  REQUIRE(p.signature.size() == 43);
  p.signature += "AA";  // 45 characters: a length of 1 mod 4 encodes no whole byte count
  CHECK(outcome(*hs256_verifier(), join(p)) == "malformed token signature");
}

TEST_CASE("a 10 KB token is refused before decoding") {
  const std::string big(10 * 1024, 'x');
  const auto token = sign_hs256(secret, claims(R"(,"pad":")" + big + "\""));
  REQUIRE(token.size() > 10 * 1024);
  CHECK(outcome(*hs256_verifier(), token) == "token too large");
  // The same token is otherwise fine: only its size was refused.
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.token_bytes_max = 16 * 1024;
  CHECK(outcome(*make_verifier(config), token) == "accepted:alice:user");
  // Garbage of that size is refused for its size too, not for its content.
  CHECK(outcome(*hs256_verifier(), std::string(10 * 1024, '.')) == "token too large");
}

TEST_CASE("a token of exactly token_bytes_max is accepted") {
  const auto token = sign_hs256(secret, claims());
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.token_bytes_max = token.size();
  CHECK(outcome(*make_verifier(config), token) == "accepted:alice:user");
  config.token_bytes_max = token.size() - 1;
  CHECK(outcome(*make_verifier(config), token) == "token too large");
}

TEST_CASE("empty token is refused") { CHECK(outcome(*hs256_verifier(), "") == "malformed token"); }

// ---- JSON shape ----

TEST_CASE("duplicate alg keys are refused") {
  const auto verifier = hs256_verifier();
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","alg":"none"})", claims())) == "malformed token header");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"none","alg":"HS256"})", claims())) == "malformed token header");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","alg":"HS256"})", claims())) == "malformed token header");
  // An escape spelling the same name is the same key.
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","\u0061lg":"none"})", claims())) ==
        "malformed token header");
}

TEST_CASE("duplicate claims are refused") {
  const auto verifier = hs256_verifier();
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"sub":"root")"))) == "malformed token payload");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"role":"user","role":"admin")"))) ==
        "malformed token payload");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"ext":{"a":1,"a":2})"))) == "malformed token payload");
}

TEST_CASE("header that is not a JSON object is refused") {
  const auto verifier = hs256_verifier();
  for (const char* header : {R"(["HS256"])", R"("HS256")", "null", "42", "", "{", R"({"alg":"HS256"} x)",
                             "\xff\xfe", R"({"alg":"HS256",})"}) {
    CAPTURE(header);
    CHECK(outcome(*verifier, mac_token(header, claims())) == "malformed token header");
  }
}

TEST_CASE("payload that is not a JSON object is refused") {
  const auto verifier = hs256_verifier();
  for (const char* payload : {R"(["alice"])", R"("alice")", "null", "", "{", "{\"sub\":\"\xff\"}"}) {
    CAPTURE(payload);
    CHECK(outcome(*verifier, sign_hs256(secret, payload)) == "malformed token payload");
  }
}

TEST_CASE("deeply nested JSON is refused") {
  const auto verifier = hs256_verifier();
  const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(outcome(*verifier, sign_hs256(secret, claims(",\"x\":" + nested(8)))) == "accepted:alice:user");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(",\"x\":" + nested(1000)))) == "malformed token payload");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","x":)" + nested(1000) + "}", claims())) ==
        "malformed token header");
}

// ---- configuration ----

TEST_CASE("config without any key is refused") {
  CHECK(create_error(base_config()).has_value());
}

TEST_CASE("config with a 16-byte HS256 secret is refused; 32 bytes is enough") {
  jwt_config config = base_config();
  config.hs256_secret = std::string(16, 'k');
  CHECK(create_error(config).has_value());
  config.hs256_secret = std::string(31, 'k');
  CHECK(create_error(config).has_value());
  config.hs256_secret = std::string(32, 'k');
  CHECK(!create_error(config).has_value());
}

TEST_CASE("config with a garbage PEM is refused") {
  jwt_config config = base_config();
  const std::vector<std::string> bad_pems = {
      "not a pem",
      "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
      es256_keys().first,  // a private key is not a public key
      std::string(20000, 'A'),
  };
  for (const std::string& pem : bad_pems) {
    config.es256_public_key_pem = pem;
    CHECK(create_error(config).has_value());
  }
  config.es256_public_key_pem = es256_keys().second;
  CHECK(!create_error(config).has_value());
}

TEST_CASE("config with a P-384 or non-EC key is refused") {
  jwt_config config = base_config();
  config.es256_public_key_pem = p384_public_pem;
  const auto p384 = create_error(config);
  REQUIRE(p384.has_value());
  CHECK(p384->find("P-256") != std::string::npos);
  config.es256_public_key_pem = ed25519_public_pem;
  const auto ed25519 = create_error(config);
  REQUIRE(ed25519.has_value());
  CHECK(ed25519->find("not an EC key") != std::string::npos);
}

TEST_CASE("config with empty issuer or audience or out-of-range limits is refused") {
  jwt_config good = base_config();
  good.hs256_secret = secret;
  CHECK(!create_error(good).has_value());
  jwt_config c = good;
  c.issuer.clear();
  CHECK(create_error(c).has_value());
  c = good;
  c.audience.clear();
  CHECK(create_error(c).has_value());
  c = good;
  c.leeway_s = -1;
  CHECK(create_error(c).has_value());
  c = good;
  c.token_bytes_max = 0;
  CHECK(create_error(c).has_value());
  c = good;
  c.token_bytes_max = 1 << 20;
  CHECK(create_error(c).has_value());
}

// ---- signing helpers ----

TEST_CASE("sign_es256 refuses keys that are not P-256 private keys") {
  CHECK(!sign_es256("garbage", claims()).has_value());
  CHECK(!sign_es256(es256_keys().second, claims()).has_value());  // public, not private
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  REQUIRE(p384 != nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_PrivateKey(bio, p384, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(p384);
  CHECK(!sign_es256(pem, claims()).has_value());
}

TEST_CASE("generated key pairs are PEM and distinct") {
  const auto a = generate_es256_keypair();
  const auto b = generate_es256_keypair();
  CHECK(a.first.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  CHECK(a.second.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);
  CHECK(a.second != b.second);
  // A token signed by one key pair does not verify under the other.
  jwt_config config = base_config();
  config.es256_public_key_pem = b.second;
  const auto token = sign_es256(a.first, claims());
  REQUIRE(token.has_value());
  CHECK(outcome(*make_verifier(config), *token) == "invalid signature");
}

TEST_CASE("sign_hs256 produces the RFC 7515 layout") {
  const auto p = split(sign_hs256(secret, R"({"sub":"x"})"));
  CHECK(unb64url(p.header) == R"({"alg":"HS256","typ":"JWT"})");
  CHECK(unb64url(p.payload) == R"({"sub":"x"})");
  CHECK(unb64url(p.signature) == hmac("SHA256", secret, p.header + "." + p.payload));
}

// ---- robustness ----

TEST_CASE("random mutations of valid tokens are refused, never accepted or crashing") {
  const auto hs = hs256_verifier();
  const auto es = es256_verifier();
  const auto hs_token = sign_hs256(secret, claims());
  const auto es_token = es256_token(claims());
  const auto seed = std::random_device{}();
  INFO("seed: " << seed);
  std::mt19937 rng(seed);
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    const bool use_es = (i % 2) == 1;
    std::string token = use_es ? es_token : hs_token;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const auto at = rng() % token.size();
      switch (rng() % 3) {
        case 0: token[at] = static_cast<char>(rng() & 0xff); break;
        case 1: token.erase(at, 1); break;
        default: token.insert(at, 1, static_cast<char>(rng() & 0xff)); break;
      }
      if (token.empty()) token = "x";
    }
    if (token == (use_es ? es_token : hs_token)) continue;
    const auto result = (use_es ? *es : *hs).verify(token, now_s);
    CHECK(std::holds_alternative<jwt_error>(result));
    if (const auto* error = std::get_if<jwt_error>(&result)) {
      ++refused;
      CHECK(!error->reason.empty());
      CHECK(error->reason.size() < 64);
    }
  }
  CHECK(refused > 2900);
}

TEST_CASE("verify is safe to call from several threads at once") {
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.es256_public_key_pem = es256_keys().second;
  const auto verifier = make_verifier(config);
  std::vector<std::string> tokens;
  for (int i = 0; i < 8; ++i) {
    const auto payload = claims("", "\"user-" + std::to_string(i) + "\"");
    tokens.push_back(i % 2 == 0 ? sign_hs256(secret, payload) : es256_token(payload));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 100; ++round) {
        const std::size_t i = static_cast<std::size_t>(round + t) % tokens.size();
        const auto result = verifier->verify(tokens[i], now_s);
        const auto* who = std::get_if<principal>(&result);
        if (who == nullptr || who->subject != "user-" + std::to_string(i)) ++wrong;
        // Interleave refusals so error paths run concurrently too.
        if (!std::holds_alternative<jwt_error>(verifier->verify(tokens[i] + "A", now_s))) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
}

// ---- keys by kid, rotation, revocation, maximum age ----

const std::string secret_k1 = "k1-0123456789abcdef0123456789abcdef";
const std::string secret_k2 = "k2-0123456789abcdef0123456789abcdef";

jwt_config keyed_config(std::vector<jwt_key> keys) {
  jwt_config config = base_config();
  config.keys = std::move(keys);
  return config;
}

TEST_CASE("kid selects the key; an unknown kid is refused") {
  jwt_key ec{"ec-1", "", es256_keys().second};
  const auto verifier = make_verifier(keyed_config({{"k1", secret_k1, ""}, {"k2", secret_k2, ""}, ec}));
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims(), "k1")) == "accepted:alice:user");
  CHECK(outcome(*verifier, sign_hs256(secret_k2, claims(), "k2")) == "accepted:alice:user");
  CHECK(outcome(*verifier, *sign_es256(es256_keys().first, claims(), "ec-1")) == "accepted:alice:user");
  // The kid names one key: another configured key's signature does not pass.
  CHECK(outcome(*verifier, sign_hs256(secret_k2, claims(), "k1")) == "invalid signature");
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims(), "k9")) == "unknown key id");
  // Key confusion: the EC key's id with HS256 is refused before any MAC.
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims(), "ec-1")) == "unsupported algorithm");
  // Without a kid only id-less keys are candidates, and there are none here.
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims())) == "unsupported algorithm");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","kid":""})", claims(), secret_k1)) == "invalid kid");
  CHECK(outcome(*verifier, mac_token(R"({"alg":"HS256","kid":7})", claims(), secret_k1)) == "invalid kid");
}

TEST_CASE("rotation by reload: add the new key, then remove the old one (which revokes its tokens)") {
  const auto verifier = make_verifier(keyed_config({{"k1", secret_k1, ""}}));
  const auto old_token = sign_hs256(secret_k1, claims(), "k1");
  const auto new_token = sign_hs256(secret_k2, claims(), "k2");
  CHECK(outcome(*verifier, new_token) == "unknown key id");
  REQUIRE_FALSE(verifier->reload(keyed_config({{"k1", secret_k1, ""}, {"k2", secret_k2, ""}})).has_value());
  CHECK(outcome(*verifier, old_token) == "accepted:alice:user");
  CHECK(outcome(*verifier, new_token) == "accepted:alice:user");
  REQUIRE_FALSE(verifier->reload(keyed_config({{"k2", secret_k2, ""}})).has_value());
  CHECK(outcome(*verifier, old_token) == "unknown key id");
  CHECK(outcome(*verifier, new_token) == "accepted:alice:user");
  // A bad configuration changes nothing.
  const auto error = verifier->reload(keyed_config({{"k3", "short", ""}}));
  REQUIRE(error.has_value());
  CHECK(error->find("k3") != std::string::npos);
  CHECK(outcome(*verifier, new_token) == "accepted:alice:user");
}

TEST_CASE("reload while other threads verify: no request sees a missing key") {
  const auto verifier = make_verifier(keyed_config({{"k1", secret_k1, ""}}));
  const auto token = sign_hs256(secret_k1, claims(), "k1");
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0}, verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      while (!stop.load()) {
        if (outcome(*verifier, token) != "accepted:alice:user") ++wrong;
        ++verified;
      }
    });
  for (int i = 0; i < 300; ++i) {
    std::vector<jwt_key> keys = {{"k1", secret_k1, ""}};
    if (i % 2 == 0) keys.push_back({"k2", secret_k2, ""});
    REQUIRE_FALSE(verifier->reload(keyed_config(keys)).has_value());
  }
  while (verified.load() < 300) std::this_thread::yield();
  stop = true;
  for (auto& t : threads) t.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("maximum token age: exp - iat, or exp - now without iat") {
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.max_token_age_s = 3600;
  const auto verifier = make_verifier(config);
  const auto token = [](std::int64_t iat, std::int64_t exp) {
    std::string members = R"("sub":"alice",)" + iss_aud() + R"(,"exp":)" + std::to_string(exp);
    if (iat != 0) members += R"(,"iat":)" + std::to_string(iat);
    return sign_hs256(secret, bare_claims(members));
  };
  CHECK(outcome(*verifier, token(now_s - 10, now_s - 10 + 3600 + 30)) == "accepted:alice:user");  // leeway
  CHECK(outcome(*verifier, token(now_s - 10, now_s - 10 + 3600 + 31)) == "token lifetime exceeds the maximum");
  CHECK(outcome(*verifier, token(0, now_s + 3630)) == "accepted:alice:user");
  CHECK(outcome(*verifier, token(0, now_s + 3631)) == "token lifetime exceeds the maximum");
  config.max_token_age_s = 59;
  CHECK(create_error(config).value().find("max_token_age_s") != std::string::npos);
  config.max_token_age_s = 32 * 86'400;
  CHECK(create_error(config).has_value());
  CHECK(jwt_config{}.max_token_age_s == 86'400);  // the documented default
}

TEST_CASE("a denied jti is refused; other tokens pass") {
  jwt_config config = base_config();
  config.hs256_secret = secret;
  config.denied_jti = {"stolen-1"};
  const auto verifier = make_verifier(config);
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"jti":"stolen-1")"))) == "token revoked");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"jti":"fine-2")"))) == "accepted:alice:user");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"jti":5)"))) == "invalid jti claim");
}

TEST_CASE("JWKS: oct and EC keys load and verify; bad sets are refused by key") {
  const auto ec_jwk = es256_public_jwk(es256_keys().first, "ec-2026");
  REQUIRE(ec_jwk.has_value());
  CHECK(es256_public_jwk(es256_keys().second, "ec-2026") == ec_jwk);  // from the public half too
  const std::string oct = R"({"kty":"oct","kid":"h-1","alg":"HS256","k":")" + b64url(secret_k1) + R"("})";
  std::vector<jwt_key> keys;
  REQUIRE_FALSE(parse_jwks(R"({"keys":[)" + oct + "," + *ec_jwk + "]}", keys).has_value());
  REQUIRE(keys.size() == 2);
  const auto verifier = make_verifier(keyed_config(keys));
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims(), "h-1")) == "accepted:alice:user");
  CHECK(outcome(*verifier, *sign_es256(es256_keys().first, claims(), "ec-2026")) == "accepted:alice:user");

  const auto error_of = [](const std::string& json) {
    std::vector<jwt_key> out;
    return parse_jwks(json, out).value_or("");
  };
  CHECK(error_of("[]").find("keys") != std::string::npos);
  CHECK(error_of("{").find("JSON") != std::string::npos);
  CHECK(error_of(R"({"keys":[{"kty":"oct","k":"AAAA"}]})").find("kid") != std::string::npos);
  CHECK(error_of(R"({"keys":[{"kty":"oct","kid":"s","k":"AAAA"}]})").find("at least 32") != std::string::npos);
  CHECK(error_of(R"({"keys":[{"kty":"RSA","kid":"r"}]})").find("oct or EC") != std::string::npos);
  const std::string zeros = b64url(std::string(32, '\0'));
  CHECK(error_of(R"({"keys":[{"kty":"EC","kid":"z","crv":"P-256","x":")" + zeros + R"(","y":")" + zeros + R"("}]})")
            .find("not a point") != std::string::npos);
  CHECK(error_of(R"({"keys":[{"kty":"EC","kid":"c","crv":"P-384","x":"","y":""}]})").find("P-256") != std::string::npos);
  std::string many = R"({"keys":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + "{}";
  CHECK(error_of(many + "]}").find("at most 64") != std::string::npos);
  // The same kid twice is ambiguous: refused when the verifier is made.
  CHECK(create_error(keyed_config({{"d", secret_k1, ""}, {"d", secret_k2, ""}})).value().find("twice") !=
        std::string::npos);
}

TEST_CASE("service binding claims: providers and accounts, bounded and typed") {
  const auto verifier = hs256_verifier();
  auto result = verifier->verify(sign_hs256(secret, claims(R"(,"role":"service","providers":["stripe"],"accounts":[7,9])")), now_s);
  REQUIRE(std::holds_alternative<principal>(result));
  const auto& who = std::get<principal>(result);
  CHECK(who.providers == std::vector<std::string>{"stripe"});
  CHECK(who.accounts == std::vector<std::uint64_t>{7, 9});
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"providers":"stripe")"))) == "invalid providers claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"providers":[""])"))) == "invalid providers claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"accounts":[0])"))) == "invalid accounts claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"accounts":["7"])"))) == "invalid accounts claim");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"accounts":[-1])"))) == "invalid accounts claim");
}

TEST_CASE("load_jwt_files: key file, secret file and denied ids, re-read for a reload") {
  ledger::testing::temp_dir dir("jwt-files");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() / name) << text;
    return (dir.path() / name).string();
  };
  jwt_files files;
  files.hs256_secret_file = write("hs256", secret + "\n");
  files.keys_file = write("keys.json", R"({"keys":[{"kty":"oct","kid":"k1","k":")" + b64url(secret_k1) + R"("}]})");
  files.denied_jti_file = write("denied", "# revoked\nstolen-1\n\n");
  jwt_config config = base_config();
  REQUIRE_FALSE(load_jwt_files(files, config).has_value());
  CHECK(config.hs256_secret == secret);  // the newline is not part of the key
  CHECK(config.denied_jti == std::vector<std::string>{"stolen-1"});
  const auto verifier = make_verifier(config);
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims(), "k1")) == "accepted:alice:user");
  CHECK(outcome(*verifier, sign_hs256(secret, claims())) == "accepted:alice:user");
  CHECK(outcome(*verifier, sign_hs256(secret, claims(R"(,"jti":"stolen-1")"))) == "token revoked");

  // Rotation: the file changes, a reload picks it up.
  write("keys.json", R"({"keys":[{"kty":"oct","kid":"k2","k":")" + b64url(secret_k2) + R"("}]})");
  REQUIRE_FALSE(load_jwt_files(files, config).has_value());
  REQUIRE_FALSE(verifier->reload(config).has_value());
  CHECK(outcome(*verifier, sign_hs256(secret_k1, claims(), "k1")) == "unknown key id");
  CHECK(outcome(*verifier, sign_hs256(secret_k2, claims(), "k2")) == "accepted:alice:user");

  // A broken file names itself and leaves the config alone.
  write("keys.json", "{not json");
  auto error = load_jwt_files(files, config);
  REQUIRE(error.has_value());
  CHECK(error->find("keys.json") != std::string::npos);
  CHECK(config.keys.at(0).kid == "k2");
  files.keys_file.clear();
  files.denied_jti_file = (dir.path() / "missing").string();
  CHECK(load_jwt_files(files, config).value().find("cannot read") != std::string::npos);
}

}  // TEST_SUITE
