#include "api/session_tokens.h"
#include "base/hex.h"
#include "schemas/codec.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

namespace ledger::api {

namespace {
constexpr std::size_t token_random_bytes = 32;

}  // namespace

bool is_session_token(std::string_view bearer) { return bearer.substr(0, session_token_prefix.size()) == session_token_prefix; }

std::string new_session_token() {
  unsigned char b[token_random_bytes];
  LEDGER_ASSERT(RAND_bytes(b, sizeof b) == 1, "the system's random source failed");
  return std::string(session_token_prefix) + hex_lower(b, sizeof b);
}

std::string session_token_hash(std::string_view token) {
  unsigned char h[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), h);
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

std::variant<session_record, jwt_error> find_session(const store& s, std::string_view token, std::int64_t now_us) {
  if (token.size() != session_token_prefix.size() + 2 * token_random_bytes) return jwt_error{"malformed session token"};
  std::string id;
  if (!s.read_state(keys::session_token(session_token_hash(token)), id) || id.size() != 8)
    return jwt_error{"unknown, revoked or expired session"};
  std::string v;
  session_record r;
  if (!s.read_state(keys::session(get_key_u64(id)), v) || !decode(v, r).is_ok())
    return jwt_error{"unknown, revoked or expired session"};
  if (r.expires_at_us <= now_us) return jwt_error{"session expired"};
  return r;
}

std::variant<principal, jwt_error> verify_bearer(const backend& b, const jwt_verifier& jwt, std::string_view token,
                                                 std::int64_t now_us) {
  if (!is_session_token(token)) return jwt.verify(token, now_us / 1'000'000);
  auto found = find_session(b.storage(), token, now_us);
  if (auto* e = std::get_if<jwt_error>(&found)) return *e;
  principal p;
  p.subject = std::get<session_record>(found).owner;
  p.role_ = role::user;
  p.issued_at_s = std::get<session_record>(found).opened_at_us / 1'000'000;
  return p;
}

}  // namespace ledger::api
