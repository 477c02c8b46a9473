// Encryption of document contents before they reach a blob store:
// AES-256-GCM (OpenSSL EVP, fed in chunks of blob_chunk_bytes) under a key
// derived from the owner's data key (api/payout_keys.h) by HMAC-SHA256 with
// a fixed label, so destroying the data key (crypto-shredding) makes every
// blob of the owner unreadable.
//
// Blob bytes: "ldoc1" || nonce (12) || ciphertext || tag (16). The additional
// data binds the owner, so a blob copied under another owner's document
// fails authentication. The nonce is HMAC(nonce key, `nonce_input`)
// truncated to 96 bits, where the caller's nonce_input names the request
// (principal, idempotency key, content hash, metadata): an idempotent retry
// stores the same bytes, hence the same blob id and the same command
// payload, and two different uploads get different nonces.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "documents/blob_store.h"

namespace ledger::documents {

inline constexpr std::size_t blob_chunk_bytes = 64 * 1024;
inline constexpr std::size_t blob_overhead_bytes = 5 + 12 + 16;

// Encrypts `plaintext` into a new blob of `store`; `blob_id` receives its id.
status seal_blob(blob_store& store, std::string_view data_key, std::string_view owner, std::string_view nonce_input,
                 std::string_view plaintext, std::string& blob_id);

// A source of plaintext pieces: the next piece into `out` (replaced), empty
// at the end; an error stops the caller, who stores nothing.
using piece_source = std::function<status(std::string& out)>;

// As seal_blob, with the plaintext pulled piece by piece from `next`, so
// memory stays one piece: nothing is committed unless `next` reaches its end
// without an error. `size` receives the plaintext's length.
status seal_blob_stream(blob_store& store, std::string_view data_key, std::string_view owner, std::string_view nonce_input,
                        const piece_source& next, std::string& blob_id, std::uint64_t& size);

// Reads, authenticates and decrypts blob `id` into `plaintext` (at most
// `plaintext_max` bytes, else invalid_argument). corruption when the bytes
// fail authentication (wrong owner, wrong key, altered blob).
status open_blob(blob_store& store, std::string_view id, std::string_view data_key, std::string_view owner,
                 std::size_t plaintext_max, std::string& plaintext);

// SHA-256 of `bytes`, 64 lower-case hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace ledger::documents

namespace ledger::documents {

// Streams blob `id`'s plain content to `each`, one piece of at most
// blob_chunk_bytes at a time, with bounded memory (a few chunks, whatever
// the blob's size). The pieces are unauthenticated until this returns ok:
// corruption when the blob fails authentication after the last piece (the
// caller must then discard what it got), or when `each` returns false
// (stopped by the caller: invalid_argument).
status stream_blob(blob_store& store, std::string_view id, std::string_view data_key, std::string_view owner,
                   const std::function<bool(std::string_view piece)>& each);

}  // namespace ledger::documents
