// Wallet session tokens as bearer credentials, beside JWTs.
//
// A session token is "lws_" followed by 64 hex digits: 256 bits from
// OpenSSL's RAND_bytes. The ledger stores only its SHA-256 (the
// open_session command carries the hash, never the token), so the token is
// shown once, in the response that opened the session. A request's bearer
// token is a session token when it starts with "lws_" (a JWT never does: it
// starts with a base64url header); it is looked up by hash in the committed
// state the API reads, and stands for the owner the session belongs to, with
// role user. A session past its expiry by the API's clock is refused even
// before the engine's sweep has removed it.
//
// Thread-safe: reads go to the backend's store.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "api/backend.h"
#include "api/jwt.h"
#include "engine/state.h"
#include "engine/store.h"

namespace ledger::api {

inline constexpr std::string_view session_token_prefix = "lws_";

bool is_session_token(std::string_view bearer);
// A new token; aborts if the system's random source fails (no weaker fallback).
std::string new_session_token();
// SHA-256 of the token's text, 32 raw bytes (what the ledger stores).
std::string session_token_hash(std::string_view token);

// The session a token opened, if it is active at `now_us`.
std::variant<session_record, jwt_error> find_session(const store& s, std::string_view token, std::int64_t now_us);

// A bearer token of either kind: a session token (by find_session), else a
// JWT. The backend's store is read for session tokens only: in Kafka mode
// storage() may wait for the replica, which a JWT must never do.
std::variant<principal, jwt_error> verify_bearer(const backend& b, const jwt_verifier& jwt, std::string_view token,
                                                 std::int64_t now_us);

}  // namespace ledger::api
