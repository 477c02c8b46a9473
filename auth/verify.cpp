#include "auth/verify.h"

#include "auth/chains.h"

namespace ledger::auth {

namespace {

constexpr unsigned stacks_mainnet_version = 22;  // "SP"
constexpr unsigned stacks_testnet_version = 26;  // "ST"

std::string_view label_of(wallet_chain c) {
  switch (c) {
    case wallet_chain::ethereum: return "Ethereum";
    case wallet_chain::solana: return "Solana";
    case wallet_chain::stacks: return "Stacks";
  }
  return "";
}

refusal differs(std::string code, std::string field, const std::string& expected) {
  return refusal{std::move(code), field, field + " differs from the challenge's (" + expected + ")"};
}

// The message's fields against the challenge, in the order of the message.
std::optional<refusal> check_fields(const challenge_fields& c, const sign_in_message& m, std::int64_t now_us) {
  if (m.label != label_of(c.chain))
    return refusal{"chain_mismatch", "message", "the message signs in with a " + m.label + " account, not " +
                                                    std::string(label_of(c.chain))};
  if (m.domain != c.domain) return differs("domain_mismatch", "domain", c.domain);
  if (m.address != c.address) return differs("address_mismatch", "address", c.address);
  if (m.uri != c.uri) return differs("uri_mismatch", "uri", c.uri);
  if (m.version != "1") return refusal{"version_unsupported", "version", "Version must be 1"};
  if (m.chain_id != chain_id_of(c.chain, c.network))
    return differs("chain_id_mismatch", "chain_id", chain_id_of(c.chain, c.network));
  if (m.nonce != c.nonce) return differs("nonce_mismatch", "nonce", "another nonce");
  // Times in messages carry milliseconds (JavaScript's precision).
  if (m.issued_at_us / 1000 != c.issued_at_us / 1000)
    return differs("issued_at_mismatch", "issued_at", format_time_ms(c.issued_at_us));
  if (m.expiration_us == 0 || m.expiration_us / 1000 > c.expires_at_us / 1000)
    return refusal{"expiration_mismatch", "expiration_time",
                   "Expiration Time is required and may not be after the challenge's (" + format_time_ms(c.expires_at_us) + ")"};
  if (m.expiration_us <= now_us) return refusal{"expired", "expiration_time", "the message expired at " + format_time_ms(m.expiration_us)};
  if (m.not_before_us != 0 && m.not_before_us > now_us)
    return refusal{"not_yet_valid", "not_before", "the message is not valid before " + format_time_ms(m.not_before_us)};
  return std::nullopt;
}

std::optional<refusal> check_signer(const std::variant<std::string, refusal>& signer, const std::string& address) {
  if (auto* r = std::get_if<refusal>(&signer)) return *r;
  if (std::get<std::string>(signer) != address)
    return refusal{"signature_mismatch", "signature", "the message was signed by another key"};
  return std::nullopt;
}

unsigned stacks_version(const challenge_fields& c) {
  return c.network == "testnet" ? stacks_testnet_version : stacks_mainnet_version;
}

// A SIP-018 signature: the domain the wallet says it signed must be the
// challenge's, field by field, before the signature is checked under it.
std::optional<refusal> verify_structured(const challenge_fields& c, std::string_view message,
                                         std::string_view signature, const sip018_domain& signed_domain) {
  if (c.chain != wallet_chain::stacks)
    return refusal{"malformed_signature", "structured_data", "SIP-018 structured data is a Stacks signature"};
  auto want = expected_sip018_domain(c);
  if (signed_domain.name != want.name)
    return refusal{"sip018_domain_mismatch", "structured_data.domain.name",
                   "the SIP-018 domain name differs from the challenge's domain (" + want.name + ")"};
  if (signed_domain.version != want.version)
    return refusal{"sip018_version_unsupported", "structured_data.domain.version", "the SIP-018 domain version must be 1"};
  if (signed_domain.chain_id != want.chain_id)
    return refusal{"sip018_chain_id_mismatch", "structured_data.domain.chain_id",
                   "the SIP-018 chain-id differs from the challenge network's (" + std::to_string(want.chain_id) + ")"};
  return check_signer(stacks_hash_signer(sip018_hash(want, message), signature, stacks_version(c)), c.address);
}

}  // namespace

std::optional<refusal> check_network(wallet_chain chain, std::string_view network) {
  if (chain == wallet_chain::ethereum) {
    bool digits = !network.empty() && network.size() <= 16 && network[0] != '0';
    for (char ch : network) digits = digits && ch >= '0' && ch <= '9';
    if (digits && std::stoull(std::string(network)) <= (1ULL << 53) - 1) return std::nullopt;
    return refusal{"invalid_network", "network", "an Ethereum network is its decimal chain id (EIP-155), such as \"1\""};
  }
  if (chain == wallet_chain::solana) {
    if (network == "mainnet" || network == "devnet" || network == "testnet") return std::nullopt;
    return refusal{"invalid_network", "network", "a Solana network is mainnet, devnet or testnet"};
  }
  if (network == "mainnet" || network == "testnet") return std::nullopt;
  return refusal{"invalid_network", "network", "a Stacks network is mainnet or testnet"};
}

std::string chain_id_of(wallet_chain chain, std::string_view network) {
  if (chain == wallet_chain::stacks) return network == "testnet" ? "2147483648" : "1";
  return std::string(network);
}

std::variant<std::string, refusal> canonical_address(wallet_chain chain, std::string_view network, std::string_view address) {
  if (chain == wallet_chain::ethereum) {
    if (auto a = eip55_address(address)) return *a;
    return refusal{"malformed_address", "address",
                   "an Ethereum address is 0x and 40 hex digits, in EIP-55 mixed case or in one case"};
  }
  if (chain == wallet_chain::solana) {
    auto key = base58_decode(address);
    if (key && key->size() == 32 && base58_encode(*key) == address) return std::string(address);
    return refusal{"malformed_address", "address", "a Solana address is a 32-byte public key in base58"};
  }
  unsigned want = network == "testnet" ? stacks_testnet_version : stacks_mainnet_version;
  auto v = c32_address_version(address);
  if (!v) return refusal{"malformed_address", "address", "not a c32check Stacks address (or its checksum is wrong)"};
  if (*v != want)
    return refusal{"malformed_address", "address", "a " + std::string(network) + " Stacks address starts with " +
                                                       (want == stacks_mainnet_version ? "SP" : "ST")};
  return std::string(address);
}

std::string challenge_message(const challenge_fields& c) {
  sign_in_message m;
  m.domain = c.domain;
  m.label = std::string(label_of(c.chain));
  m.address = c.address;
  m.statement = "Sign in to " + c.domain + " with your wallet. This request will not trigger a transaction or cost any fees.";
  m.uri = c.uri;
  m.version = "1";
  m.chain_id = chain_id_of(c.chain, c.network);
  m.nonce = c.nonce;
  m.issued_at_us = c.issued_at_us;
  m.expiration_us = c.expires_at_us;
  return format_sign_in_message(m);
}

sip018_domain expected_sip018_domain(const challenge_fields& c) {
  return {c.domain, "1", c.network == "testnet" ? 2147483648ULL : 1ULL};
}

std::optional<refusal> verify_sign_in(const challenge_fields& c, std::string_view message, std::string_view signature,
                                      std::int64_t now_us, const sip018_domain* structured) {
  auto parsed = parse_sign_in_message(message);
  if (auto* r = std::get_if<refusal>(&parsed)) return *r;
  const auto& m = std::get<sign_in_message>(parsed);
  if (auto r = check_fields(c, m, now_us)) return r;
  if (structured) return verify_structured(c, message, signature, *structured);
  switch (c.chain) {
    case wallet_chain::ethereum: return check_signer(ethereum_signer(message, signature), c.address);
    case wallet_chain::solana: return solana_verify(c.address, message, signature);
    case wallet_chain::stacks: {
      return check_signer(stacks_signer(message, signature, stacks_version(c)), c.address);
    }
  }
  return refusal{"unsupported_chain", "chain", "this chain is not supported"};
}

}  // namespace ledger::auth
