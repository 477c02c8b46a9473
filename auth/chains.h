// The per-chain cryptography of wallet sign-in, on well-kept libraries:
// Keccak-256 and RIPEMD-160 from Crypto++, secp256k1 public-key recovery from
// libsecp256k1, SHA-256 and Ed25519 from OpenSSL 3.
//
// - Ethereum: EIP-191 personal-sign hash, 65-byte r||s||v signatures (v 27/28
//   or 0/1), high-S refused (EIP-2), addresses compared in EIP-55 form.
// - Solana: Ed25519 over the message bytes; base58 public keys and signatures.
// - Stacks: SHA-256 of "\x17Stacks Signed Message:\n" + varint length +
//   message; 65-byte r||s||v (RSV) recoverable signatures, high-S refused;
//   P2PKH c32check addresses (version 22 "SP" mainnet, 26 "ST" testnet).
//
// Thread-safe: no shared mutable state (the secp256k1 context is created once
// and only read).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/sign_in_message.h"

namespace ledger::auth {

using bytes32 = std::array<unsigned char, 32>;

bytes32 keccak256(std::string_view data);
bytes32 sha256(std::string_view data);

// "0x" + 40 hex digits in EIP-55 mixed case, or nullopt if `address` is not
// 20 bytes of hex. All-lower or all-upper input is accepted (no checksum);
// mixed case must already be the EIP-55 form.
std::optional<std::string> eip55_address(std::string_view address);

// EIP-191 hash of a personal-sign message.
bytes32 eip191_hash(std::string_view message);
// Keccak-256 of the 64-byte public key, last 20 bytes, in EIP-55 form.
std::variant<std::string, refusal> ethereum_signer(std::string_view message, std::string_view signature_hex);

std::string base58_encode(std::string_view bytes);
std::optional<std::string> base58_decode(std::string_view text);
// Whether `signature` (base58, or "0x" hex) of `message` verifies under the
// Ed25519 key the base58 address encodes.
std::optional<refusal> solana_verify(std::string_view address, std::string_view message, std::string_view signature);

bytes32 stacks_message_hash(std::string_view message);
// The c32check address of a 20-byte hash with a version (22, 26, ...).
std::string c32_address(unsigned version, std::string_view hash160);
// The version of a valid c32check address (checksum verified), or nullopt.
std::optional<unsigned> c32_address_version(std::string_view address);
std::variant<std::string, refusal> stacks_signer(std::string_view message, std::string_view signature_hex, unsigned version);
// The signer's c32check address of a 32-byte hash signed RSV (as
// @stacks/transactions signMessageHashRsv signs it): the signed-message hash
// above, or a SIP-018 structured-data hash (auth/clarity.h).
std::variant<std::string, refusal> stacks_hash_signer(const bytes32& hash, std::string_view signature_hex, unsigned version);

}  // namespace ledger::auth
