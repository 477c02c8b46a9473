// The JWT verifier's keys as files, read at start and again on SIGHUP.
//
// Operation: load_jwt_files reads every configured file into a jwt_config
// (keeping the config's other settings), so the same call builds the first
// verifier and each reload. Files hold secrets: their contents never appear
// in messages.
//
// Limits: each file at most 1 MiB; the denied-jti file at most 100,000 ids
// of at most 256 bytes.
#pragma once

#include <optional>
#include <string>

#include "api/jwt.h"

namespace ledger::api {

struct jwt_files {
  std::string hs256_secret_file;       // LEDGER_JWT_HS256_SECRET_FILE (a trailing newline is dropped)
  std::string es256_public_key_file;   // LEDGER_JWT_ES256_PUBLIC_KEY_FILE
  std::string keys_file;               // LEDGER_JWT_KEYS_FILE: a JWK Set of keys by kid
  std::string denied_jti_file;         // LEDGER_JWT_DENIED_JTI_FILE: one jti per line, # comments
  bool any() const {
    return !hs256_secret_file.empty() || !es256_public_key_file.empty() || !keys_file.empty();
  }
};

// Fills config.hs256_secret, es256_public_key_pem, keys and denied_jti from
// the files that are set (leaving the others as they are). Returns a message
// naming the file and the problem; `config` is unchanged then.
std::optional<std::string> load_jwt_files(const jwt_files& files, jwt_config& config);

}  // namespace ledger::api
