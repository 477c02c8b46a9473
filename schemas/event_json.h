// The one JSON (and CSV) rendering of events, used by every channel that
// hands events to people: `ledgerctl events`, `ledgerctl audit` exports and
// the HTTP event stream. The shape is documented in schemas/event.schema.json
// and in the OpenAPI document (components.schemas.Event); change all three
// together, additively.
//
// Amounts are decimal strings of integer minor units (an event alone does not
// carry its asset's scale), never numbers, so no reader can round them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/events.h"

namespace ledger {

inline constexpr int event_json_version = 1;

// The event type shown to people: the command's type name ("transfer"), or
// "system" for events the ledger generated itself (hold expiry).
std::string_view event_type_name(const event& e);

// Every account id the event touches (balances, openings, status changes,
// pendings), ascending, without duplicates.
std::vector<std::uint64_t> event_accounts(const event& e);
// Every asset the event touches, ascending, without duplicates.
std::vector<std::string> event_assets(const event& e);

// One event as one line of JSON (no trailing newline). `chain` is the event's
// chain hash from the journal.
std::string event_to_json(const event& e, const hash256& chain);

// A partial view of an event, for a reader who may not see all of it (the
// HTTP API's view for users). `redacted` adds "redacted":true; the
// balance_changed effects of the accounts in `balances_withheld` keep their
// account, asset and deltas but leave out the balances after the event.
struct event_json_view {
  bool redacted = false;
  std::vector<std::uint64_t> balances_withheld;  // ascending
};
std::string event_to_json(const event& e, const hash256& chain, const event_json_view& view);
// The same, appended to `out` (a caller rendering many events reuses one
// buffer instead of a string per event).
void append_event_json(std::string& out, const event& e, const hash256& chain, const event_json_view& view = {});

// CSV: one row per balance leg (balance_changed effect); an event without legs
// gives one row with the leg columns empty. RFC 4180 quoting; rows end in
// "\r\n". The header names the columns in order.
std::string_view event_csv_header();
void append_event_csv(std::string& out, const event& e);
// Quotes one CSV field if it needs it (comma, quote, CR or LF inside).
void append_csv_field(std::string& out, std::string_view field);

// JSON string escaping (RFC 8259): quotes, backslash and control characters.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace ledger
