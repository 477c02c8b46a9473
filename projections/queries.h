// Read-only queries over the PostgreSQL read models (schemas/sql/0001_read_models.sql),
// answered as JSON for the HTTP API.
//
// Operation: each function validates its inputs first (bad input is
// `invalid_argument` and touches no database), then runs its statements in
// ONE read-only REPEATABLE READ transaction on the given connection, so every
// part of an answer (a statement's opening balance, entries and closing
// balance) comes from the same snapshot. Tables are found through the
// connection's search_path (query_pool sets it to the read models' schema).
// libpqxx exceptions never escape: they become a status as described by
// status_from_current_exception() in query_pool.h (connection loss and
// statement timeouts are `unavailable`). On any error `out_json` is empty.
//
// Concurrency: the functions are stateless; a connection is used by one
// thread at a time (a query_pool job). The connection must have no open
// transaction.
//
// Limits: history pages hold 1..history_limit_max rows; a statement at most
// statement_entries_max entries (more is `invalid_argument`: narrow the
// period); by_reference at most by_reference_max rows; a transaction's detail
// at most transaction_postings_max postings. Strings in (asset, reference,
// owner, projection) are bounded as in schemas/commands.h.
//
// Authorization is the caller's: users may see only their own wallets
// (wallet_owner()), auditors and admins everything. Where a function returns
// rows that can touch other people's wallets it takes `visible_to_owner`
// (or `viewer`): when set, only what that user may see is returned (see
// each function), and only that user's side of each transaction.
//
// A user's side: a transaction touching one of the user's wallets shows its
// ids, type, status, asset, amount, fee, provider, both wallet ids, related
// transactions, times and hold state, and the postings of the user's own
// wallets. The fields of the request behind it (principal, request_id,
// reference, metadata) belong to whoever issued the command: they are shown
// to the user only when `principal` is the user itself, else they are null.
// So the receiver of a transfer never sees the sender's name, request id,
// reference or metadata, and the owner of a wallet that a service deposited
// into or held does not see what the service wrote. Reference filters and
// lookups match only the user's own commands, so a guessed reference of
// someone else's finds nothing. Principals and wallet owners are token
// subjects, one namespace for every role.
//
// ---------------------------------------------------------------------------
// JSON conventions
//
//   ids, seqs          JSON integers (transaction_id, wallet_id, seq, leg).
//   amounts            JSON strings holding the exact decimal in the asset's
//                      major unit as stored ("25.00", "-5.50", "0.00"); never
//                      numbers, so no client parses them through a double.
//   times              JSON strings, RFC 3339 in UTC with microseconds,
//                      always the same width: "2026-01-01T10:00:00.000000Z".
//   absent values      JSON null (the key is always present), except
//                      `next_cursor`, which is present only when more rows exist.
//
// Time inputs are RFC 3339 date-times: "2026-01-01T10:00:00Z",
// "2026-01-01T12:00:00+02:00", optional fraction of up to 9 digits (kept to
// the microsecond, truncated), 'T'/'Z' in either case, years 1970..9999.
// Anything else ("2026-01-01", "2026-01-01 10:00:00Z", "2026-02-30T...") is
// invalid_argument. Intervals are half-open: from <= t < to.
//
// <transaction> (history, transaction_detail, by_reference):
//   {
//     "transaction_id": 101,
//     "type": "deposit"|"withdrawal"|"settlement"|"transfer"|"hold"|"capture"|"reversal",
//     "status": "completed"|"pending"|"settled"|"failed"|"captured"|"voided"|"expired"|"reversed",
//     "asset": "USD",
//     "amount": "25.00",
//     "fee": "0.00",
//     "from_wallet_id": 10 | null,      // the debited wallet or account
//     "to_wallet_id": 20 | null,        // the credited wallet or account
//     "provider": "stripe" | null,
//     "reference": "order-7" | null,
//     "metadata": {...} | null,         // the stored JSON object, verbatim
//     "related_id": 102 | null,         // capture: its hold; settlement: its
//                                       // withdrawal; reversal: the reversed one
//     "reversed_by": 110 | null,
//     "principal": "user-1",            // who issued the command
//     "request_id": "req-abc" | null,
//     "created_at": "<time>",
//     "updated_at": "<time>",
//     "updated_seq": 103,               // seq of the last event that changed the row
//     "hold": null | {                  // holds and withdrawals only (from `holds`)
//       "kind": "hold"|"withdrawal",
//       "status": "open"|"captured"|"voided"|"expired"|"settled"|"failed",
//       "expires_at": "<time>" | null,
//       "posted_amount": "10.00",       // what the capture/settlement posted
//       "resolved_seq": 103 | null,
//       "resolved_at": "<time>" | null
//     }
//   }
//
// <posting> (transaction_detail):
//   { "seq": 103, "leg": 0, "wallet_id": 10, "asset": "USD",
//     "kind": "posted"|"pending",       // pending legs move held/incoming
//     "amount": "-10.00",               // > 0 credit, < 0 debit
//     "posted_after": "65.00", "held_after": "0.00", "incoming_after": "0.00",
//     "created_at": "<time>" }
// ---------------------------------------------------------------------------
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// libpqxx 6 declares pqxx::connection as an alias of a template, which
// cannot be forward-declared portably across libpqxx versions.
#include <pqxx/connection>

#include "schemas/base.h"

namespace ledger::projections {

inline constexpr int history_limit_max = 200;
inline constexpr std::size_t statement_entries_max = 10'000;
inline constexpr std::size_t by_reference_max = 100;
inline constexpr std::size_t transaction_postings_max = 1'000;
inline constexpr std::size_t projection_name_bytes_max = 128;

// Filters of history(); unset members do not filter. All are ANDed.
struct history_filters {
  std::optional<std::string> type;       // one of the transaction types
  std::optional<std::string> status;     // one of the transaction statuses
  std::optional<std::string> asset;      // 1..16 bytes
  std::optional<std::string> from;       // RFC 3339; created_at >= from
  std::optional<std::string> to;         // RFC 3339; created_at < to (from < to)
  std::optional<std::string> reference;  // 1..256 bytes, exact match
};

// The transactions touching a wallet (from_wallet_id or to_wallet_id is
// `wallet_id`; holds and withdrawals are rows too), newest first.
//
// Pagination is keyset on transaction_id, which only grows: `cursor` is empty
// for the first page, else a `next_cursor` this function returned. A page
// holds the `limit` (1..history_limit_max) rows with the highest ids below
// the cursor, so rows inserted between page fetches (all newer) never shift
// later pages: no duplicates, no gaps; they appear on a fresh first page.
// The cursor is opaque to clients; today it is the decimal transaction_id of
// the last row of the previous page ("104"), and any other form is
// invalid_argument. A row whose status changes between fetches is filtered
// by its status at fetch time.
//
// Errors: invalid_argument (wallet_id 0 or beyond int64, limit, cursor, a
// filter: unknown type/status, bad time, from >= to, empty or long strings);
// not_found (no such wallet). Answer:
//   { "wallet_id": 10,
//     "transactions": [<transaction>, ...],   // newest first
//     "next_cursor": "104" }                  // only when more rows exist
//
// With `viewer` (a user who owns the wallet): each row as that user's side
// (see "A user's side"), and the reference filter matches only rows whose
// principal is the viewer.
status history(pqxx::connection& conn, std::uint64_t wallet_id, const history_filters& filters,
               std::string_view cursor, int limit, std::string& out_json,
               const std::optional<std::string>& viewer = std::nullopt);

// One transaction with its postings (every leg whose transaction_id is this
// one, in (seq, leg) order: the creating event's legs and, for holds and
// withdrawals, the legs of the void/expiry/failure that released them).
// With `visible_to_owner`, the transaction must touch one of that user's
// wallets (else not_found, which does not reveal that it exists) and only
// postings of that user's wallets are listed: other wallets' legs would
// show their balances; the transaction is shown as that user's side.
//
// Errors: invalid_argument (id 0 or beyond int64); not_found. Answer:
//   <transaction> plus
//     "postings": [<posting>, ...],
//     "postings_truncated": false     // true if more than transaction_postings_max
status transaction_detail(pqxx::connection& conn, std::uint64_t transaction_id, std::string& out_json,
                          const std::optional<std::string>& visible_to_owner = std::nullopt);

// The posted-balance statement of a wallet in one asset over [from, to).
// Entries are the wallet's `posted` legs in the asset in the period, oldest
// first; pending legs (holds, withdrawals in flight) do not move the posted
// balance and are not entries. Opening is the posted balance as of just
// before `from` (the latest balance_history row with at < from, read from
// postings, see queries.cpp; zero if none), closing as of just before `to`;
// with a consistent projection, closing = opening + credits - debits.
//
// Errors: invalid_argument (ids, asset, times, from >= to, more than
// statement_entries_max entries: "narrow the period"); not_found (no such
// wallet, or the wallet does not hold the asset). Answer:
//   { "wallet_id": 10, "asset": "USD",
//     "from": "<time>", "to": "<time>",             // the inputs, normalized
//     "opening": { "posted": "100.00", "seq": 100 | null, "at": "<time>" | null },
//     "closing": { "posted": "70.50",  "seq": 105 | null, "at": "<time>" | null },
//     "totals":  { "debits": "35.00", "credits": "5.50", "entries": 3 },  // debits >= 0
//     "entries": [
//       { "seq": 101, "leg": 0, "transaction_id": 101 | null,
//         "type": "transfer" | null, "reference": "order-7" | null,
//         "at": "<time>", "amount": "-25.00", "posted_after": "75.00" }, ... ] }
// "seq"/"at" of opening and closing name the event the balance is as of (null:
// none, the balance was zero). Zeros are written at the asset's scale ("0.00").
// With `viewer` (a user who owns the wallet), an entry's reference is null
// unless the viewer issued its transaction.
status statement(pqxx::connection& conn, std::uint64_t wallet_id, std::string_view asset, std::string_view from,
                 std::string_view to, std::string& out_json, const std::optional<std::string>& viewer = std::nullopt);

// The balance of a wallet in one asset as of time `at`: the latest
// balance_history row with at <= `at` (read from postings, which carry the
// balance after each leg). Before the wallet's first change in
// the asset the balance was zero: the answer is ok with zeros, "seq": 0 and
// "changed_at": null (not not_found, which means no wallet or no asset).
//
// Errors: invalid_argument (ids, asset, time); not_found (no such wallet, or
// the wallet does not hold the asset). Answer:
//   { "wallet_id": 10, "asset": "USD", "at": "<time>",   // input, normalized
//     "posted": "75.00", "held": "10.00", "incoming": "0.00",
//     "seq": 102,                        // journal seq the balance is as of; 0: none
//     "changed_at": "<time>" | null }    // log time of that event
status balance_at(pqxx::connection& conn, std::uint64_t wallet_id, std::string_view asset, std::string_view at,
                  std::string& out_json);

// Transactions whose reference is exactly `reference` (1..256 bytes), newest
// first, at most by_reference_max. With `visible_to_owner`, only those that
// user issued (principal) with a from or to wallet of that user: another
// party's reference finds nothing, as a reference nobody used.
//
// Errors: invalid_argument. No match is ok with an empty list. Answer:
//   { "reference": "order-7", "transactions": [<transaction>, ...],
//     "truncated": false }                // true if more than by_reference_max matched
status by_reference(pqxx::connection& conn, std::string_view reference, std::string& out_json,
                    const std::optional<std::string>& visible_to_owner = std::nullopt);

// For authorization: the owner (user id) of a user wallet. `owner` is empty
// when there is no such user wallet; system accounts have no owner here,
// so a user whose id equals a system account's name never "owns" it.
// Errors: invalid_argument (id 0 or beyond int64), database errors.
status wallet_owner(pqxx::connection& conn, std::uint64_t wallet_id, std::optional<std::string>& owner);

// How far a projection has got (projection_checkpoints).
struct projection_position_info {
  std::uint64_t last_seq = 0;
  std::optional<std::string> last_at;  // log time of the last projected event, RFC 3339 UTC
};

// Errors: invalid_argument (empty or over projection_name_bytes_max);
// not_found (no checkpoint yet: the projection has not started). Answer:
//   { "projection": "read_models", "last_seq": 106,
//     "last_at": "<time>" | null, "updated_at": "<time>" }
status projection_position(pqxx::connection& conn, std::string_view projection, projection_position_info& out,
                           std::string& out_json);

}  // namespace ledger::projections
