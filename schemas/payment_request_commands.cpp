#include "schemas/payment_request_commands.h"

#include "schemas/session_validate.h"

namespace ledger {

std::string_view to_string(payment_request_status s) {
  switch (s) {
    case payment_request_status::pending: return "pending";
    case payment_request_status::paid: return "paid";
    case payment_request_status::declined: return "declined";
    case payment_request_status::expired: return "expired";
    case payment_request_status::cancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

std::optional<field_error> text(const char* field, const std::string& v, std::size_t max, bool required) {
  if (required && v.empty()) return field_error{field, "must not be empty"};
  if (v.size() > max) return field_error{field, "longer than " + std::to_string(max) + " bytes"};
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f) return field_error{field, "must not contain control characters"};
  return std::nullopt;
}

std::optional<field_error> id(const char* field, std::uint64_t v) {
  if (v == 0) return field_error{field, "is required"};
  return std::nullopt;
}

#define LEDGER_PR_CHECK(expr) \
  if (auto e_ = (expr)) return e_

}  // namespace

std::optional<field_error> validate_body(const create_payment_request_cmd& c) {
  LEDGER_PR_CHECK(text("requester", c.requester, owner_bytes_max, true));
  LEDGER_PR_CHECK(id("wallet", c.wallet));
  LEDGER_PR_CHECK(text("payer", c.payer, owner_bytes_max, true));
  if (c.payer == c.requester) return field_error{"payer", "must not be the requester"};
  LEDGER_PR_CHECK(text("asset", c.asset, asset_code_bytes_max, true));
  if (c.amount <= 0) return field_error{"amount", "must be positive"};
  if (c.amount > amount_limit) return field_error{"amount", "is too large"};
  LEDGER_PR_CHECK(text("note", c.note, sealed_text_bytes(payment_request_note_bytes_max), false));
  if (c.expires_at_us <= 0) return field_error{"expires_at", "is required"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const pay_payment_request_cmd& c) {
  LEDGER_PR_CHECK(id("id", c.id));
  LEDGER_PR_CHECK(text("payer", c.payer, owner_bytes_max, true));
  LEDGER_PR_CHECK(id("wallet", c.wallet));
  LEDGER_PR_CHECK(text("asset", c.asset, asset_code_bytes_max, true));
  if (c.amount < 0) return field_error{"amount", "must not be negative"};
  if (c.amount > amount_limit) return field_error{"amount", "is too large"};
  return std::nullopt;
}

std::optional<field_error> validate_body(const decline_payment_request_cmd& c) {
  LEDGER_PR_CHECK(id("id", c.id));
  LEDGER_PR_CHECK(text("payer", c.payer, owner_bytes_max, true));
  return text("reason", c.reason, sealed_text_bytes(payment_request_reason_bytes_max), false);
}

std::optional<field_error> validate_body(const cancel_payment_request_cmd& c) {
  LEDGER_PR_CHECK(id("id", c.id));
  LEDGER_PR_CHECK(text("requester", c.requester, owner_bytes_max, true));
  return text("reason", c.reason, sealed_text_bytes(payment_request_reason_bytes_max), false);
}

}  // namespace ledger
