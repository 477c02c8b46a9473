// Wallet sign-in verification: a signed message checked field by field
// against the challenge the ledger issued, then its signature by the chain's
// rules (auth/chains.h). The first failing check gives the refusal, with a
// stable code and the field to blame:
//
//   malformed_message, domain_not_ascii  the text does not follow the grammar
//   chain_mismatch        the account label is not the challenge's chain
//   domain_mismatch, address_mismatch, uri_mismatch, nonce_mismatch,
//   chain_id_mismatch, issued_at_mismatch   a field differs from the challenge
//   version_unsupported   Version is not 1
//   expiration_mismatch   no Expiration Time, or one after the challenge's
//   expired, not_yet_valid   by the verifier's clock
//   malformed_signature, high_s_signature, signature_mismatch   the signature
//   sip018_domain_mismatch, sip018_version_unsupported,
//   sip018_chain_id_mismatch   (Stacks structured data) the SIP-018 domain
//                         the wallet signed is not the challenge's
//
// Also here: the canonical form of an address for a challenge, the message
// the API hands out for signing, and the chain id each network uses.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "auth/clarity.h"
#include "auth/sign_in_message.h"
#include "schemas/session_commands.h"

namespace ledger::auth {

struct challenge_fields {
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;
  std::string address;  // canonical (canonical_address)
  std::string domain;
  std::string uri;
  std::string nonce;
  std::int64_t issued_at_us = 0;
  std::int64_t expires_at_us = 0;
};

// The address as the ledger stores it: EIP-55 for Ethereum, base58 of 32
// bytes for Solana, a c32check address of the network's version for Stacks.
std::variant<std::string, refusal> canonical_address(wallet_chain chain, std::string_view network, std::string_view address);

// Networks accepted: Ethereum a decimal chain id (1 to 2^53-1), Solana
// mainnet/devnet/testnet, Stacks mainnet/testnet. nullopt: fine.
std::optional<refusal> check_network(wallet_chain chain, std::string_view network);

// The "Chain ID" of messages on this network: Ethereum its chain id, Solana
// the cluster name, Stacks 1 (mainnet) or 2147483648 (testnet).
std::string chain_id_of(wallet_chain chain, std::string_view network);

// The message the API hands out for the challenge, to be signed verbatim.
std::string challenge_message(const challenge_fields& c);

// The SIP-018 domain a Stacks sign-in for this challenge is signed under:
// {name: the challenge's domain, version: "1", chain-id: 1 on mainnet,
// 2147483648 on testnet}.
sip018_domain expected_sip018_domain(const challenge_fields& c);

// nullopt: the message and its signature are valid for the challenge at `now_us`.
// `structured`: the signature is SIP-018 structured data (Stacks only) over
// this domain, which must be expected_sip018_domain(c); null: the chain's
// signed-message form.
std::optional<refusal> verify_sign_in(const challenge_fields& c, std::string_view message, std::string_view signature,
                                      std::int64_t now_us, const sip018_domain* structured = nullptr);

}  // namespace ledger::auth
