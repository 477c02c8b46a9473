// Verification of the HTTP API's bearer tokens: JSON Web Tokens (RFC 7519)
// in JWS compact serialization (RFC 7515), signed with HS256 or ES256.
//
// Operation: jwt_verifier::create checks a jwt_config once at start-up and
// loads its keys; verify() then decides a token's fate from the token and the
// caller's clock alone, returning the principal it names or a jwt_error whose
// reason may be sent to the client as it is (it never repeats the token).
//
// Concurrency: a verifier is immutable after create; verify() may be called
// from any number of threads at once. Each thread keeps its own JSON parser.
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

namespace ledger::api {

// What a caller may do; carried in the token's "role" claim.
enum class role { user, service, admin, auditor };
std::string_view to_string(role r);

// Who made the request, as vouched for by a verified token.
struct principal {
  std::string subject;
  role role_ = role::user;
};

struct jwt_config {
  std::string hs256_secret;            // empty: HS256 not accepted. At least 32 bytes when set.
  std::string es256_public_key_pem;    // empty: ES256 not accepted. PEM "PUBLIC KEY" (P-256).
  std::string issuer;                  // required "iss" value
  std::string audience;                // required in "aud" (string or array of strings)
  std::int64_t leeway_s = 30;          // clock skew allowed on exp / nbf / iat
  std::size_t token_bytes_max = 8192;
};

struct jwt_error { std::string reason; };   // short, safe to return to clients; never echoes the token

class jwt_verifier {
 public:
  // Fails (returns a message) for an unusable config: no key at all, short HS256 secret, bad PEM, wrong curve.
  // Also refused: an empty issuer or audience, leeway_s outside [0, 3600],
  // token_bytes_max outside [1, 65536], a PEM longer than 16 KiB.
  // On success `out` holds the verifier and nullopt is returned; on failure
  // `out` is left untouched.
  static std::optional<std::string> create(const jwt_config& config, std::unique_ptr<jwt_verifier>& out);
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
// Generates a P-256 key pair as PEM (private, public), for tests and dev.
// The private key is PKCS#8 ("PRIVATE KEY"); both are empty only if OpenSSL fails.
std::pair<std::string, std::string> generate_es256_keypair();

}  // namespace ledger::api
