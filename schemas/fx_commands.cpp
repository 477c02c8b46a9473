#include "schemas/fx_commands.h"

#include "schemas/session_validate.h"

namespace ledger {

std::string_view to_string(fx_side s) {
  switch (s) {
    case fx_side::sell: return "sell";
    case fx_side::buy: return "buy";
  }
  return "unknown";
}

std::string_view to_string(owner_tier t) {
  switch (t) {
    case owner_tier::none: return "none";
    case owner_tier::basic: return "basic";
    case owner_tier::enhanced: return "enhanced";
    case owner_tier::full: return "full";
  }
  return "unknown";
}

namespace {

bool side_ok(fx_side s) { return s == fx_side::sell || s == fx_side::buy; }
bool tier_ok(owner_tier t) { return t <= owner_tier::full; }

std::optional<field_error> check_code(const char* field, const std::string& v) {
  if (v.empty()) return field_error{field, "must not be empty"};
  if (v.size() > asset_code_bytes_max) return field_error{field, "longer than 16 bytes"};
  for (unsigned char c : v)
    if (c < 0x21 || c == 0x7f) return field_error{field, "must not contain spaces or control characters"};
  return std::nullopt;
}

std::optional<field_error> check_owner(const std::string& v) {
  if (v.empty() || v.size() > owner_bytes_max) return field_error{"owner", "must be 1 to 128 bytes"};
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return field_error{"owner", "must not contain control characters"};
  return std::nullopt;
}

std::optional<field_error> check_limit(const char* field, amount_t v) {
  if (v < 0) return field_error{field, "must not be negative"};
  if (v > amount_limit) return field_error{field, "is too large"};
  return std::nullopt;
}

std::optional<field_error> check_pair(const std::string& from, const std::string& to) {
  if (auto e = check_code("from_asset", from)) return e;
  if (auto e = check_code("to_asset", to)) return e;
  if (from == to) return field_error{"to_asset", "must differ from from_asset"};
  return std::nullopt;
}

}  // namespace

std::optional<field_error> validate_body(const set_rate_cmd& c) {
  if (auto e = check_pair(c.from_asset, c.to_asset)) return e;
  if (c.rate_e18 <= 0) return field_error{"rate", "must be positive"};
  if (c.rate_e18 > amount_limit) return field_error{"rate", "is too large"};
  if (c.fee_bps > fx_fee_bps_max) return field_error{"fee_bps", "must be between 0 and 5000"};
  if (c.quote_ttl_s < 1 || c.quote_ttl_s > quote_ttl_s_max) return field_error{"quote_ttl_s", "must be between 1 and 3600"};
  if (c.valid_until_us <= c.valid_from_us) return field_error{"valid_until", "must be after valid_from"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const quote_cmd& c) {
  if (auto e = check_owner(c.owner)) return e;
  if (auto e = check_pair(c.from_asset, c.to_asset)) return e;
  if (c.amount <= 0) return field_error{"amount", "must be positive"};
  if (c.amount > amount_limit) return field_error{"amount", "is too large"};
  if (!side_ok(c.side)) return field_error{"side", "must be sell or buy"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const exchange_cmd& c) {
  if (auto e = check_owner(c.owner)) return e;
  if (c.quote_id == 0) return field_error{"quote_id", "is required"};
  if (c.wallet == 0) return field_error{"wallet_id", "is required"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const set_fx_limit_cmd& c) {
  if (auto e = check_code("asset", c.asset)) return e;
  return check_limit("overdraft", c.overdraft);
}

std::optional<field_error> validate_body(const set_owner_tier_cmd& c) {
  if (auto e = check_owner(c.owner)) return e;
  if (!tier_ok(c.tier)) return field_error{"tier", "must be none, basic, enhanced or full"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const set_tier_limits_cmd& c) {
  if (!tier_ok(c.tier)) return field_error{"tier", "must be none, basic, enhanced or full"};
  if (auto e = check_code("asset", c.asset)) return e;
  if (auto e = check_limit("per_transaction", c.per_transaction)) return e;
  if (auto e = check_limit("daily", c.daily)) return e;
  return check_limit("monthly", c.monthly);
}

bool fx_body_in_domain(const command_body& b) {
  if (const auto* q = std::get_if<quote_cmd>(&b)) return side_ok(q->side);
  if (const auto* t = std::get_if<set_owner_tier_cmd>(&b)) return tier_ok(t->tier);
  if (const auto* l = std::get_if<set_tier_limits_cmd>(&b)) return tier_ok(l->tier);
  return true;
}

}  // namespace ledger
