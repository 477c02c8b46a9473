// Envelope encryption of sensitive payment details (docs/operations.md,
// "Payment-detail keys"): AES-256-GCM (OpenSSL EVP) under a data key per
// owner; each data key is stored wrapped (AES-256-GCM) by a master key with
// a key id, in a key store that lives outside the journal and its hash
// chain, so a data key can be destroyed (crypto-shredding) while every event
// that holds its ciphertexts stays intact.
//
// Master keys: files of 32 bytes (raw, or 64 hex digits and an optional
// newline), each with an id (1 to 32 of [A-Za-z0-9_-]); the last one given
// is the current one, used for every new wrap; the others unwrap.
//
// Key store: a directory, one file per owner, named by the hex of the
// owner's bytes: "v1 <key id> <base64 of nonce || wrapped key || tag>\n".
// Files are replaced atomically (written, synced, renamed, directory
// synced), so several processes (ledgerd instances sharing the directory,
// `ledgerctl keys rotate`) may use it at once; creating an owner's key is
// link(2)-exclusive, so two instances never create two keys for one owner. A
// destroyed key leaves "v1 destroyed\n": no key material, and the owner
// gets no new key (details written before are unreadable for good).
//
// Field ciphertexts: "enc1:" + base64(nonce 12 || ciphertext || tag 16).
// Keys derived from the data key by HMAC-SHA256 with fixed labels: one for
// AES-256-GCM, one for nonces. The nonce is HMAC(nonce key, context ||
// field || plaintext) truncated to 96 bits (a synthetic IV, as in SIV
// modes): the same request encrypts to the same bytes, so an idempotent
// retry carries the same payload, and two different plaintexts get
// different nonces. The additional data binds owner, context and field.
//
// Thread-safe: master keys are constant after load; the store keeps no
// cache (every use reads the owner's file), so a rotation or a destruction
// by another process takes effect at the next use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::api {

inline constexpr std::size_t master_key_id_bytes_max = 32;
inline constexpr std::size_t data_key_bytes = 32;
inline constexpr std::size_t payout_plaintext_bytes_max = 512;
inline constexpr std::string_view field_ciphertext_prefix = "enc1:";

struct master_key {
  std::string id;
  std::string key;  // 32 bytes
};

// "ID,PATH" -> the key; an error message otherwise (never the key bytes).
std::optional<std::string> load_master_key(std::string_view spec, master_key& out);

enum class key_error { none, no_master_key, destroyed, unknown_master_key, corrupt, io };
std::string_view to_string(key_error e);

struct rotate_report {
  std::size_t rewrapped = 0;  // re-wrapped under the current master key
  std::size_t current = 0;    // already under it
  std::size_t destroyed = 0;  // tombstones, left alone
};

class payout_keys {
 public:
  // `masters`: the last is current. `dir` is created if missing.
  payout_keys(std::vector<master_key> masters, std::string dir);

  const std::string& dir() const { return dir_; }
  bool configured() const { return !masters_.empty(); }
  const std::string& current_key_id() const;

  // The owner's data key, created (and wrapped under the current master
  // key) when `create` and it has none.
  key_error data_key(std::string_view owner, bool create, std::string& out) const;
  // The master key id the owner's data key is wrapped under ("" if none).
  key_error wrapping_key_id(std::string_view owner, std::string& out) const;

  // AES-256-GCM of one field; `context` names the record (e.g. "wallet:7").
  key_error encrypt(std::string_view owner, std::string_view context, std::string_view field,
                    std::string_view plaintext, std::string& out) const;
  // key_error::corrupt also when the ciphertext fails authentication.
  key_error decrypt(std::string_view owner, std::string_view context, std::string_view field,
                    std::string_view ciphertext, std::string& out) const;

  // Re-wraps every data key not under the current master key. Each file is
  // replaced atomically, so readers never see a half-written key.
  key_error rotate(rotate_report& out) const;
  // Crypto-shredding: replaces the owner's key with a tombstone. true if a
  // key was destroyed, false if there was none (a tombstone is left anyway).
  key_error destroy(std::string_view owner, bool& destroyed) const;

 private:
  std::string path_of(std::string_view owner) const;
  key_error read_file(const std::string& path, std::string& key_id, std::string& wrapped) const;
  key_error unwrap(std::string_view owner, const std::string& key_id, const std::string& wrapped, std::string& out) const;
  std::string wrap(std::string_view owner, const master_key& m, const std::string& data_key) const;
  const master_key* find(std::string_view id) const;

  // Constant after construction.
  std::vector<master_key> masters_;
  std::string dir_;
};

// The last four characters of a text (all of it, starred, when shorter).
std::string mask_last4(std::string_view plaintext);

}  // namespace ledger::api
