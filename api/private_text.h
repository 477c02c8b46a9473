// Free text a user writes into a payment request (its note; the reason of a
// decline or a cancellation) is personal data: the API encrypts it under
// its author's data key (api/payout_keys.h) before the command reaches the
// log, so the journal, Kafka records, the state and the read models hold
// only ciphertext, and destroying the author's key (owner deletion) leaves
// nothing of it readable anywhere. Reads decrypt it for whoever may see the
// request.
//
// Stored forms: "" (no text, or erased); "enc1:..." (a ciphertext under the
// author's key); anything else is text the ledger itself wrote (the reason
// "owner deleted") or a record from before notes were encrypted, shown as
// is. A user's text never takes that last form: the API encrypts every one.
#pragma once

#include <string>
#include <string_view>

#include "api/payout_keys.h"
#include "api/request_json.h"
#include "base/json_out.h"

namespace ledger::api {

// The record context every payment request's private text is sealed under.
inline constexpr std::string_view private_text_context = "payment-request";

// Replaces `text` (read from field `field`) by its ciphertext under
// `author`'s key; "" stays "". Fails `r` on `field` when it cannot: 503
// notes-unavailable (no master key, or the key store unreadable), 409
// data-key-destroyed.
void seal_private_text(field_reader& r, const payout_keys* keys, std::string_view author, std::string_view field,
                       std::string& text);

// Writes `field` into `j`: the plain text, or, when the ciphertext cannot be
// opened, null with "<field>_unreadable" naming why (key destroyed, no
// master key, corrupt).
void write_private_text(json_out& j, const payout_keys* keys, std::string_view author, std::string_view field,
                        std::string_view stored);

}  // namespace ledger::api
