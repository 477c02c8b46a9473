#include "schemas/session_validate.h"

namespace ledger {

std::string_view to_string(wallet_chain c) {
  switch (c) {
    case wallet_chain::ethereum: return "ethereum";
    case wallet_chain::solana: return "solana";
    case wallet_chain::stacks: return "stacks";
  }
  return "unknown";
}

std::optional<wallet_chain> parse_wallet_chain(std::string_view s) {
  if (s == "ethereum") return wallet_chain::ethereum;
  if (s == "solana") return wallet_chain::solana;
  if (s == "stacks") return wallet_chain::stacks;
  return std::nullopt;
}

namespace {

bool chain_ok(wallet_chain c) { return c >= wallet_chain::ethereum && c <= wallet_chain::stacks; }

// Printable ASCII without spaces: addresses, networks and domains are
// compared byte for byte, so look-alike letters from other scripts and
// invisible characters are refused here as well as in the API.
std::optional<field_error> check_token(const char* field, const std::string& v, std::size_t max) {
  if (v.empty()) return field_error{field, "must not be empty"};
  if (v.size() > max) return field_error{field, "longer than " + std::to_string(max) + " bytes"};
  for (unsigned char ch : v)
    if (ch <= 0x20 || ch >= 0x7f) return field_error{field, "must be printable ASCII without spaces"};
  return std::nullopt;
}

std::optional<field_error> check_owner(const char* field, const std::string& v, bool required) {
  if (v.empty()) return required ? std::optional<field_error>(field_error{field, "must not be empty"}) : std::nullopt;
  if (v.size() > owner_bytes_max) return field_error{field, "longer than 128 bytes"};
  for (unsigned char ch : v)
    if (ch < 0x20 || ch == 0x7f) return field_error{field, "must not contain control characters"};
  return std::nullopt;
}

std::optional<field_error> check_nonce(const std::string& v) {
  if (v.size() < nonce_chars_min || v.size() > nonce_chars_max)
    return field_error{"nonce", "must be 17 to 64 characters"};
  for (char ch : v)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
      return field_error{"nonce", "must be alphanumeric"};
  return std::nullopt;
}

std::optional<field_error> check_wallet(wallet_chain chain, const std::string& address) {
  if (!chain_ok(chain)) return field_error{"chain", "must be ethereum, solana or stacks"};
  return check_token("address", address, wallet_address_bytes_max);
}

}  // namespace

#define LEDGER_CHECK(expr) \
  if (auto e_ = (expr)) return e_

std::optional<field_error> validate_body(const issue_challenge_cmd& c) {
  LEDGER_CHECK(check_wallet(c.chain, c.address));
  LEDGER_CHECK(check_token("network", c.network, wallet_network_bytes_max));
  LEDGER_CHECK(check_token("domain", c.domain, auth_domain_bytes_max));
  LEDGER_CHECK(check_token("uri", c.uri, auth_uri_bytes_max));
  LEDGER_CHECK(check_nonce(c.nonce));
  if (c.ttl_s < 1 || c.ttl_s > challenge_ttl_s_max) return field_error{"ttl_s", "must be between 1 and 86400"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const open_session_cmd& c) {
  LEDGER_CHECK(check_nonce(c.nonce));
  LEDGER_CHECK(check_wallet(c.chain, c.address));
  LEDGER_CHECK(check_owner("owner", c.owner, true));
  if (c.token_hash.size() != token_hash_bytes) return field_error{"token_hash", "must be 32 bytes"};
  if (c.duration_s < 1 || c.duration_s > session_duration_s_max)
    return field_error{"duration_s", "must be between 1 and 31622400"};
  if (c.message.empty() || c.message.size() > signed_message_bytes_max)
    return field_error{"message", "must be 1 to 4096 bytes"};
  if (c.signature.empty() || c.signature.size() > signature_bytes_max)
    return field_error{"signature", "must be 1 to 512 bytes"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const revoke_session_cmd& c) {
  if (c.session_id == 0) return field_error{"session_id", "is required"};
  return check_owner("owner", c.owner, false);
}

std::optional<field_error> validate_body(const revoke_sessions_cmd& c) {
  LEDGER_CHECK(check_owner("owner", c.owner, false));
  if (c.owner.empty() == c.address.empty()) return field_error{"owner", "give exactly one of owner and address"};
  if (!c.address.empty()) return check_wallet(c.chain, c.address);
  if (!chain_ok(c.chain)) return field_error{"chain", "must be ethereum, solana or stacks"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const link_wallet_cmd& c) {
  LEDGER_CHECK(check_wallet(c.chain, c.address));
  return check_owner("owner", c.owner, true);
}

std::optional<field_error> validate_body(const unlink_wallet_cmd& c) { return check_wallet(c.chain, c.address); }

std::optional<field_error> validate_body(const record_auth_failure_cmd& c) {
  LEDGER_CHECK(check_wallet(c.chain, c.address));
  LEDGER_CHECK(check_token("network", c.network, wallet_network_bytes_max));
  LEDGER_CHECK(check_token("client", c.client, client_address_bytes_max));
  LEDGER_CHECK(check_token("check", c.check, auth_check_bytes_max));
  for (char ch : c.check)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
      return field_error{"check", "must be a refusal code (lower case, digits, _)"};
  return std::nullopt;
}

bool session_body_in_domain(const command_body& b) {
  return std::visit(
      [](const auto& v) {
        if constexpr (requires { v.chain; })
          return chain_ok(v.chain);
        else
          return true;
      },
      b);
}

}  // namespace ledger
