// The wallet-session family of commands (type codes 200-299): sign-in
// challenges, sessions opened by a verified wallet signature, revocation, and
// the connection of a wallet address to one ledger owner.
//
// Randomness never enters the engine: the API draws the nonce and the session
// token and passes them in the command; only the token's SHA-256 goes in.
// Signatures are verified by the API before it submits open_session; the
// engine checks the nonce (known, unused, unexpired by log time) and that the
// address and chain are the challenge's. The signed message and signature are
// carried in the command so the journal keeps the proof for auditors.
//
// Addresses are opaque text to the engine: the API canonicalizes them (EIP-55
// for Ethereum, base58 for Solana, c32check for Stacks) before they get here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "schemas/command_type.h"

namespace ledger {

enum class wallet_chain : std::uint8_t { ethereum = 1, solana = 2, stacks = 3 };
std::string_view to_string(wallet_chain c);
std::optional<wallet_chain> parse_wallet_chain(std::string_view s);

// Limits on what one session command may carry.
inline constexpr std::size_t wallet_address_bytes_max = 128;
inline constexpr std::size_t wallet_network_bytes_max = 64;
inline constexpr std::size_t auth_domain_bytes_max = 253;
inline constexpr std::size_t auth_uri_bytes_max = 1024;
// 17 alphanumerics carry at least 96 bits (17 * log2(62) > 101).
inline constexpr std::size_t nonce_chars_min = 17;
inline constexpr std::size_t nonce_chars_max = 64;
inline constexpr std::size_t signed_message_bytes_max = 4096;
inline constexpr std::size_t signature_bytes_max = 512;
inline constexpr std::size_t token_hash_bytes = 32;
inline constexpr std::int64_t challenge_ttl_s_max = 86'400;
inline constexpr std::int64_t session_duration_s_max = 366LL * 86'400;  // a leap year
inline constexpr std::size_t client_address_bytes_max = 64;  // an IPv6 address in text, with room
inline constexpr std::size_t auth_check_bytes_max = 64;      // a refusal code such as "signature_mismatch"

// A single-use sign-in challenge. It expires `ttl_s` after the command's log time.
struct issue_challenge_cmd {
  static constexpr command_type type = command_type::issue_challenge;
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;  // Ethereum chain id ("1"), Solana cluster, Stacks "mainnet"/"testnet"
  std::string address;
  std::string domain;
  std::string uri;
  std::string nonce;  // 17-64 alphanumerics drawn by the API
  std::int64_t ttl_s = 300;
  bool operator==(const issue_challenge_cmd&) const = default;
};

// Consumes the challenge's nonce and opens a session for the owner the
// address is connected to; an address not yet connected is connected to
// `owner` first.
struct open_session_cmd {
  static constexpr command_type type = command_type::open_session;
  std::string nonce;
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  std::string owner;       // connect to this owner if the address is not connected
  std::string token_hash;  // SHA-256 of the bearer token, 32 raw bytes
  std::int64_t duration_s = 86'400;
  std::string message;    // the signed message, for the audit trail
  std::string signature;  // as the wallet gave it (hex or base58 text)
  bool operator==(const open_session_cmd&) const = default;
};

// Revokes one session. `owner` non-empty: only if the session is that
// owner's (a user revoking its own); empty: any session (admin).
struct revoke_session_cmd {
  static constexpr command_type type = command_type::revoke_session;
  std::uint64_t session_id = 0;
  std::string owner;
  bool operator==(const revoke_session_cmd&) const = default;
};

// Revokes every active session of an owner, or (owner empty) of an address.
struct revoke_sessions_cmd {
  static constexpr command_type type = command_type::revoke_sessions;
  std::string owner;
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  bool operator==(const revoke_sessions_cmd&) const = default;
};

// Connects an address to an owner (admin or service), before any sign-in.
struct link_wallet_cmd {
  static constexpr command_type type = command_type::link_wallet;
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  std::string owner;
  bool operator==(const link_wallet_cmd&) const = default;
};

// Disconnects an address; its active sessions are revoked in the same event.
struct unlink_wallet_cmd {
  static constexpr command_type type = command_type::unlink_wallet;
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  bool operator==(const unlink_wallet_cmd&) const = default;
};

// Records a sign-in attempt the API refused (a signature or field check
// failed), for incident queries. The API submits it only for attempts that
// both auth rate limits (client address, wallet address) admitted, so the
// journal grows no faster than the limits allow. It carries no secret: not
// the message, not the signature, no token.
struct record_auth_failure_cmd {
  static constexpr command_type type = command_type::record_auth_failure;
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;
  std::string address;
  std::string client;  // the client address the attempt came from
  std::string check;   // the refusal code: which check failed
  bool operator==(const record_auth_failure_cmd&) const = default;
};

}  // namespace ledger
