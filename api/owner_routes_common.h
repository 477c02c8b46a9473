// What the export and owner-deletion routes (routes_documents_export.cpp,
// routes_owners.cpp) share: reading an owner's documents from committed
// state. Internal to api/.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/exchange.h"
#include "api/payout_keys.h"
#include "engine/store.h"
#include "schemas/events.h"

namespace ledger::api::owners {

// Every live document of `owner` (at most documents_per_owner_max), in id
// order, from the engine's committed state (the 'E' index, then each 'D').
status owner_documents(const store& st, const std::string& owner, std::vector<document_uploaded>& out);

// 128 random bits as hex: the idempotency key of a command the API makes
// on its own (an export is a GET and carries no Idempotency-Key).
std::string random_key();

// Key destruction still owed after a crash between an owner_deleted event
// and the API's clean-up: destroys the data key of every deleted owner
// ('O' keys) whose key file still holds a key. Returns how many it destroyed.
status finish_owner_deletions(const store& st, const payout_keys& keys, std::size_t& destroyed);

}  // namespace ledger::api::owners
