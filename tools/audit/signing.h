// Ed25519 signing of audit archives, through OpenSSL's EVP interface.
//
// The ledger's signing key is a PEM file (PKCS#8, as written by
// `openssl genpkey -algorithm ed25519` or `ledgerctl audit keygen`); the
// public key is published as PEM (SubjectPublicKeyInfo). Nothing here keeps a
// key longer than the call that loaded it, and no key material is logged.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "schemas/base.h"

namespace ledger::audit {

class signing_key {
 public:
  // Loads a private key file; refuses anything but Ed25519.
  static status load(const std::string& path, std::unique_ptr<signing_key>& out);
  // Writes a new key to `path` (mode 0600; refuses to overwrite a file).
  static status generate(const std::string& path);
  ~signing_key();
  signing_key(const signing_key&) = delete;
  signing_key& operator=(const signing_key&) = delete;

  // The 64-byte signature of `message`.
  status sign(std::string_view message, std::string& signature) const;
  std::string public_key_pem() const;
  // The raw 32-byte public key, hex.
  std::string public_key_hex() const;

 private:
  explicit signing_key(void* pkey) : pkey_(pkey) {}
  void* pkey_;  // EVP_PKEY*
};

// Checks `signature` over `message` with a public key given as PEM or as
// 64 hex digits (the raw key). `corruption` when it does not verify.
status verify_signature(std::string_view public_key, std::string_view message, std::string_view signature);
// The raw public key (hex) of a PEM public key, or of 64 hex digits as given.
status public_key_hex_of(std::string_view public_key, std::string& hex);

}  // namespace ledger::audit
