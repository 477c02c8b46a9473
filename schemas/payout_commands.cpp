#include "schemas/payout_commands.h"

#include "schemas/session_validate.h"

namespace ledger {

namespace {

// A field the API encrypted: "enc1:" and base64. Anything else is refused,
// so plaintext cannot reach the journal by mistake.
std::optional<field_error> check_ciphertext(const char* field, const std::string& v, bool required) {
  if (v.empty()) return required ? std::optional<field_error>(field_error{field, "is required"}) : std::nullopt;
  if (v.size() > payout_ciphertext_bytes_max) return field_error{field, "longer than 1024 bytes"};
  if (v.rfind("enc1:", 0) != 0) return field_error{field, "must be ciphertext (enc1:...)"};
  for (std::size_t i = 5; i < v.size(); ++i) {
    char c = v[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!ok) return field_error{field, "must be ciphertext (enc1: and base64)"};
  }
  return std::nullopt;
}

}  // namespace

std::optional<field_error> validate_body(const register_payout_destination_cmd& c) {
  if (c.wallet == 0) return field_error{"wallet", "is required"};
  if (c.owner.empty() || c.owner.size() > owner_bytes_max) return field_error{"owner", "must be 1 to 128 bytes"};
  if (auto e = check_ciphertext("account_name", c.account_name, true)) return e;
  if (auto e = check_ciphertext("bank_id", c.bank_id, true)) return e;
  if (auto e = check_ciphertext("account_number", c.account_number, true)) return e;
  if (auto e = check_ciphertext("sender_details", c.sender_details, false)) return e;
  return check_ciphertext("receiver_details", c.receiver_details, false);
}

}  // namespace ledger
