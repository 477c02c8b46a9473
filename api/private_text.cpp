#include "api/private_text.h"

#include "schemas/payment_request_commands.h"

namespace ledger::api {

// The commands' limits (sealed_text_bytes) assume this form.
static_assert(field_ciphertext_prefix.size() == 5);

void seal_private_text(field_reader& r, const payout_keys* keys, std::string_view author, std::string_view field,
                       std::string& text) {
  if (!r.ok() || text.empty()) return;
  key_error e = keys && keys->configured() ? key_error::none : key_error::no_master_key;
  std::string sealed;
  if (e == key_error::none) e = keys->encrypt(author, private_text_context, field, text, sealed);
  if (e == key_error::none) {
    text = std::move(sealed);
  } else if (e == key_error::destroyed) {
    r.fail(field, "cannot be stored: the author's data key was destroyed (crypto-shredding)", "data-key-destroyed", 409);
  } else if (e == key_error::no_master_key) {
    r.fail(field, "cannot be stored: text is kept only encrypted and no master key is configured (--master-key-file)",
           "notes-unavailable", 503);
  } else {
    r.fail(field, "cannot be encrypted now: " + std::string(to_string(e)), "notes-unavailable", 503);
  }
}

void write_private_text(json_out& j, const payout_keys* keys, std::string_view author, std::string_view field,
                        std::string_view stored) {
  if (stored.substr(0, field_ciphertext_prefix.size()) != field_ciphertext_prefix) {
    j.field(field, stored);
    return;
  }
  std::string plain;
  key_error e = keys && keys->configured() ? keys->decrypt(author, private_text_context, field, stored, plain)
                                           : key_error::no_master_key;
  if (e == key_error::none) {
    j.field(field, plain);
    return;
  }
  j.key(field).null();
  j.field(std::string(field) + "_unreadable", to_string(e));
}

}  // namespace ledger::api
