// Payment requests and the activity log in the read models
// (schemas/sql/0009_payment_requests_activity.sql): the rows the projector
// derives from events, their writes, and the queries the API serves.
//
// The activity log holds non-money actions per owner: sign-ins and refused
// sign-ins, session revocations, wallet links and unlinks, wallets opened
// (with their limits), admin actions (freeze, unfreeze, close, fee
// schedules), payout destinations registered, payment requests created,
// declined and cancelled, document exports and owner deletions. Where an effect does not name the owner (a
// session closed, a wallet's status, a refused sign-in of a connected
// address) the write looks it up in the read models written before it.
//
// Limits: pages of 1..activity_page_max rows (payment_request_page_max for
// requests); every text parameter bounded as in schemas/commands.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "base/json_out.h"
#include "schemas/events.h"

namespace ledger::projections {

inline constexpr int activity_page_max = 500;
inline constexpr int payment_request_page_max = 200;

struct activity_row {
  std::int64_t at_us = 0;
  std::uint64_t seq = 0;
  int idx = 0;
  std::string owner;        // empty: see owner_from
  std::string owner_from;   // "session", "wallet", "connection" or "" (none)
  std::string action;
  std::string principal;
  std::uint64_t subject_id = 0;
  std::string details;      // a JSON object
  std::string chain, address;  // for owner_from == "connection"
};

struct request_row {
  payment_request_opened opened;
  std::string amount;  // at the asset's scale
  std::int64_t at_us = 0;
};

struct request_close {
  payment_request_closed closed;
  std::uint64_t seq = 0;
  std::int64_t at_us = 0;
};

// What one batch writes to these tables.
struct activity_rows {
  std::vector<request_row> opened;
  std::vector<request_close> closed;
  std::vector<activity_row> activity;
  // Requests of deleted owners (owner_deleted): their notes are erased.
  std::vector<std::uint64_t> notes_erased;
};

// Adds the rows of one accepted event. `amount` formats at an asset's scale.
void build_activity(const event& e, const std::function<std::string(amount_t, const std::string&)>& amount,
                    activity_rows& rows);
// Writes them (creating the activity_log partitions of the months they fall in).
void write_activity(pqxx::work& tx, activity_rows& rows);

// The partition of activity_log for the month of `at_us` ("activity_log_p202611"),
// created if missing, with its bounds.
void ensure_activity_partition(pqxx::work& tx, std::int64_t at_us);

// --- queries (read-only; see projections/queries.h for the conventions) ---

// GET /v1/payment-requests: `role` is "requester" or "payer"; `status`
// empty or one of the five; newest first; `cursor` a request id to continue
// below. The note and the reason are stored as their author wrote them to
// the log: encrypted by the API under the author's key. `reveal` writes one
// into the JSON (field, author, stored text); null: as stored.
using private_text_writer =
    std::function<void(json_out& j, std::string_view field, std::string_view author, std::string_view stored)>;
status list_payment_requests(pqxx::connection& c, const std::string& owner, const std::string& role,
                             const std::string& status_filter, const std::string& cursor, int limit,
                             std::string& out_json, const private_text_writer& reveal = nullptr);
// GET /v1/activity: `owner` empty means every owner (admins); half-open
// [from, to) in RFC 3339; oldest first; `cursor` continues after a row.
status list_activity(pqxx::connection& c, const std::string& owner, const std::string& from, const std::string& to,
                     const std::string& cursor, int limit, std::string& out_json);

}  // namespace ledger::projections
