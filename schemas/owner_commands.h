// Document exports and owner deletion (docs/documents.md, "Export" and
// "Deleting an owner"). Both are commands through the one log, so the hourly
// export limit and the deletion's atomic cascade are decided by the single
// writer on log time and replay to the same state.
//
// export_documents (103) records that an owner's documents were exported:
// the API reads the owner's document list from committed state, submits this
// command with the count and the total of their sizes, and streams exactly
// that list once the event is durable. At most one accepted export per owner
// per export_interval_us of log time (reason export_too_soon).
//
// delete_owner (110) closes every wallet of the owner, revokes its active
// wallet sessions, disconnects its linked chain addresses, removes it from
// every document group, closes its open payment requests (cancelled as
// requester, declined as payer; their notes erased from state), removes its
// documents from state and marks the owner deleted, all in one event; refused
// while a wallet holds money or pending amounts, or when the event would be
// too large (deletion_too_large). Later commands naming the owner are
// refused (owner_deleted).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schemas/command_type.h"

namespace ledger {

// A deletion is one event, and an event holds at most record_list_items_max
// effects (schemas/archive.h): one per wallet closed, session revoked, address
// disconnected, group left, payment request closed and document removed, plus
// owner_deleted. An owner with more is refused (deletion_too_large, naming the
// counts) until it removes some itself (documents, links, requests).
inline constexpr std::size_t owner_deletion_effects_max = 4096;
// So the command's document list always fits one event.
inline constexpr std::size_t owner_deletion_documents_max = owner_deletion_effects_max - 1;

// One export per owner per hour of log time.
inline constexpr std::int64_t export_interval_us = 3'600'000'000;

struct export_documents_cmd {
  static constexpr command_type type = command_type::export_documents;
  std::string owner;
  std::uint64_t document_count = 0;  // what the API is about to stream
  std::uint64_t total_bytes = 0;     // sum of their plain sizes
  bool operator==(const export_documents_cmd&) const = default;
};

// The engine's state has no scan of cold keys, so the API names the owner's
// documents (read from committed state); decide accepts the list only when
// it is exactly the owner's live documents (each one the owner's, no
// duplicates, as many as the owner's document count), else invalid_state
// and the API reads again.
struct delete_owner_cmd {
  static constexpr command_type type = command_type::delete_owner;
  std::string owner;
  std::vector<std::uint64_t> documents;
  bool operator==(const delete_owner_cmd&) const = default;
};

}  // namespace ledger
