// Verification of the HTTP API's bearer tokens: JSON Web Tokens (RFC 7519)
// in JWS compact serialization (RFC 7515), signed with HS256 or ES256.
//
// Operation: jwt_verifier::create checks a jwt_config once at start-up and
// loads its keys; verify() then decides a token's fate from the token and the
// caller's clock alone, returning the principal it names or a jwt_error whose
// reason may be sent to the client as it is (it never repeats the token).
//
// Keys: a token whose header names a "kid" is checked with the key of that
// id only (from jwt_config::keys, e.g. a JWKS file); a token without one with
// the id-less keys (hs256_secret, es256_public_key_pem). Rotation: add the
// new key, start signing with it, remove the old one once its tokens have
// expired (at most max_token_age_s later); removing a key revokes every
// token signed with it. Single tokens are revoked by "jti" (denied_jti).
//
// Concurrency: verify() may be called from any number of threads at once;
// reload() swaps the whole key set atomically while they run (each
// verification sees the old set or the new one, never a mix). Each thread
// keeps its own JSON parser.
//
// Limits: a token longer than token_bytes_max is refused before any decoding,
// JSON nesting is bounded, and every buffer is sized from the token's length,
// so hostile input costs at most O(token_bytes_max) time and memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ledger::api {

// What a caller may do; carried in the token's "role" claim.
enum class role { user, service, admin, auditor };
std::string_view to_string(role r);

// Who made the request, as vouched for by a verified token.
struct principal {
  std::string subject;
  role role_ = role::user;
  // What a service integrates, from the "providers" claim (payment
  // providers it deposits through) and the "accounts" claim (account ids it
  // may hold, capture on and settle for). Empty for other roles' tokens
  // unless they carry the claims; only the service role is bound by them.
  std::vector<std::string> providers;
  std::vector<std::uint64_t> accounts;
  // When the credential was issued (seconds since the epoch): the JWT's
  // "iat", a wallet session's opening; 0 when unknown (a JWT without iat).
  // Routes that need a fresh credential compare it with now.
  std::int64_t issued_at_s = 0;
};

// A key chosen by the token header's "kid". Exactly one of the two is set.
struct jwt_key {
  std::string kid;                   // 1 to 128 printable ASCII characters
  std::string hs256_secret;          // at least 32 bytes
  std::string es256_public_key_pem;  // PEM "PUBLIC KEY" (P-256)
};

// Reads a JWK Set (RFC 7517 section 5): {"keys":[...]} with "oct" keys
// (alg HS256, "k") and "EC" P-256 keys (alg ES256, "x", "y"), each with a
// "kid". Returns an error naming the offending key, or fills `out`.
// At most 64 keys, 1 MiB of JSON.
std::optional<std::string> parse_jwks(std::string_view json, std::vector<jwt_key>& out);
// The public JWK of a P-256 key in PEM (public or private), for tests and
// for operators building a JWKS; nullopt when the PEM is not a P-256 key.
std::optional<std::string> es256_public_jwk(std::string_view pem, std::string_view kid);

struct jwt_config {
  std::string hs256_secret;            // empty: HS256 not accepted. At least 32 bytes when set.
  std::string es256_public_key_pem;    // empty: ES256 not accepted. PEM "PUBLIC KEY" (P-256).
  std::string issuer;                  // required "iss" value
  std::string audience;                // required in "aud" (string or array of strings)
  std::int64_t leeway_s = 30;          // clock skew allowed on exp / nbf / iat
  std::size_t token_bytes_max = 8192;
  std::vector<jwt_key> keys;           // further keys, by "kid"; at most 64
  // Longest lifetime accepted: exp - iat, or exp - now without iat, may not
  // exceed it (plus leeway). Bounds the life of a stolen token.
  std::int64_t max_token_age_s = 86'400;
  std::vector<std::string> denied_jti;  // revoked token ids; at most 100,000
};

struct jwt_error { std::string reason; };   // short, safe to return to clients; never echoes the token

class jwt_verifier {
 public:
  // Fails (returns a message) for an unusable config: no key at all, short HS256 secret, bad PEM, wrong curve.
  // Also refused: an empty issuer or audience, leeway_s outside [0, 3600],
  // token_bytes_max outside [1, 65536], a PEM longer than 16 KiB.
  // On success `out` holds the verifier and nullopt is returned; on failure
  // `out` is left untouched.
  // Also refused: max_token_age_s outside [60, 31 days], duplicate or
  // malformed kids, too many keys or denied ids.
  static std::optional<std::string> create(const jwt_config& config, std::unique_ptr<jwt_verifier>& out);
  // Replaces keys and settings with `config`'s, checked as by create; on
  // failure nothing changes and the message says why. Thread-safe.
  std::optional<std::string> reload(const jwt_config& config);
  ~jwt_verifier();
  // Thread-safe (const, no shared mutable state). now_s: Unix seconds (injected for tests).
  std::variant<principal, jwt_error> verify(std::string_view token, std::int64_t now_s) const;

 private:
  // Keys and settings, constant after create; defined in jwt.cpp so that
  // OpenSSL stays out of this header. Owning it (with the declared
  // destructor) makes the verifier neither copyable nor movable: callers
  // hold it through the unique_ptr that create fills.
  struct impl;
  explicit jwt_verifier(std::unique_ptr<impl> impl);

  std::unique_ptr<impl> impl_;
};

// For the dev token printed at start-up and for tests.
// Both sign `payload_json` as given (it is not checked) under the header
// {"alg":"HS256","typ":"JWT"} or {"alg":"ES256","typ":"JWT"}.
// sign_hs256 returns an empty string only if OpenSSL itself fails.
// sign_es256 returns nullopt when the key is not a P-256 private key in PEM.
std::string sign_hs256(std::string_view secret, std::string_view payload_json);
std::optional<std::string> sign_es256(std::string_view private_key_pem, std::string_view payload_json);
// The same with a "kid" in the header (kid must need no JSON escaping).
std::string sign_hs256(std::string_view secret, std::string_view payload_json, std::string_view kid);
std::optional<std::string> sign_es256(std::string_view private_key_pem, std::string_view payload_json,
                                      std::string_view kid);
// Generates a P-256 key pair as PEM (private, public), for tests and dev.
// The private key is PKCS#8 ("PRIVATE KEY"); both are empty only if OpenSSL fails.
std::pair<std::string, std::string> generate_es256_keypair();

}  // namespace ledger::api
