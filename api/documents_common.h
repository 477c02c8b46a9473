// What the document route files (routes_documents*.cpp) share: reading a
// document the caller may see, rendering it, and the settings' checks.
// Internal to api/.
#pragma once

#include <optional>
#include <string>

#include "api/exchange.h"
#include "base/json_out.h"
#include "schemas/events.h"

namespace ledger::api::docs {

// The encryption context of a document's file name.
inline constexpr std::string_view file_name_context = "document";

// The blob store and key store, or nullptr after answering 503.
const document_settings* settings_or_fail(exchange& x);

// Whether `who` may read `d`: its owner, a member of its group, an admin.
bool may_read(const service_state& s, const principal& who, const document_uploaded& d);

// The document `id` if the caller may read it; nullopt after answering 404
// (another user's document is answered as a missing one).
std::optional<document_uploaded> readable_document(exchange& x, std::uint64_t id);

// One document as JSON (file name decrypted; "unreadable" when its owner's
// data key is gone).
void document_json(json_out& j, const payout_keys& keys, const document_uploaded& d);

// The value of a query parameter, or "" when absent.
std::string_view query_value(const exchange& x, std::string_view name);

}  // namespace ledger::api::docs
