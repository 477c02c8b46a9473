// decide: what a command does to the ledger, as an event, without changing
// anything. It depends only on the state, the command, and the log time and
// sequence the writer gives it (determinism: no clock, no randomness, no
// I/O beyond reading state, so a replay gives byte-identical events).
//
// Families of commands live in their own files (money.cpp for money); each
// provides `decide_body` overloads for its command structs.
#pragma once

#include "engine/state.h"

namespace ledger {

struct decide_context {
  std::uint64_t seq = 0;     // the sequence the resulting event will carry
  std::int64_t now_us = 0;   // log time of the command
};

// Fills status, reason, detail and effects of `out`. The caller has already
// handled idempotency and structural validation.
void decide(const ledger_state& state, const command_body& body, const decide_context& ctx, event& out);

// The system event that releases an open hold whose expiry has passed.
void decide_hold_expiry(const ledger_state& state, std::uint64_t hold_id, const decide_context& ctx, event& out);

// The wallet-session family (engine/sessions.cpp), command types 200-299.
template <typename T>
concept session_command = static_cast<std::uint16_t>(T::type) >= 200 && static_cast<std::uint16_t>(T::type) < 300;
void decide_session(const ledger_state& state, const issue_challenge_cmd& c, const decide_context& ctx, event& out);
void decide_session(const ledger_state& state, const open_session_cmd& c, const decide_context& ctx, event& out);
void decide_session(const ledger_state& state, const revoke_session_cmd& c, const decide_context& ctx, event& out);
void decide_session(const ledger_state& state, const revoke_sessions_cmd& c, const decide_context& ctx, event& out);
void decide_session(const ledger_state& state, const link_wallet_cmd& c, const decide_context& ctx, event& out);
void decide_session(const ledger_state& state, const unlink_wallet_cmd& c, const decide_context& ctx, event& out);
void decide_session(const ledger_state& state, const record_auth_failure_cmd& c, const decide_context& ctx, event& out);

// Payout destinations (engine/payouts.cpp), command types 40-49.
template <typename T>
concept payout_command = static_cast<std::uint16_t>(T::type) >= 40 && static_cast<std::uint16_t>(T::type) < 50;
void decide_payout(const ledger_state& state, const register_payout_destination_cmd& c, const decide_context& ctx,
                   event& out);

// Documents (engine/documents.cpp), command types 100-199.
template <typename T>
concept document_command = static_cast<std::uint16_t>(T::type) >= 100 && static_cast<std::uint16_t>(T::type) < 200;
void decide_document(const ledger_state& state, const upload_document_cmd& c, const decide_context& ctx, event& out);
void decide_document(const ledger_state& state, const delete_document_cmd& c, const decide_context& ctx, event& out);
void decide_document(const ledger_state& state, const set_group_members_cmd& c, const decide_context& ctx, event& out);
// Document exports and owner deletion (engine/owners.cpp), types 103 and 110-119.
void decide_document(const ledger_state& state, const export_documents_cmd& c, const decide_context& ctx, event& out);
void decide_document(const ledger_state& state, const delete_owner_cmd& c, const decide_context& ctx, event& out);
// True (and `out` rejected with owner_deleted) when `body` names, in an
// `owner` field, an owner that was deleted.
bool refuse_deleted_owner(const ledger_state& state, const command_body& body, event& out);

// The system event that closes sessions and challenges whose expiry has
// passed (ids and nonces from due_sessions and due_challenges).
void decide_session_sweep(const ledger_state& state, const std::vector<std::uint64_t>& sessions,
                          const std::vector<std::string>& challenges, event& out);

// The system event that expires open payment requests whose expiry has
// passed (ids from due_payment_requests); engine/payment_requests.cpp.
void decide_payment_request_expiry(const ledger_state& state, const std::vector<std::uint64_t>& ids, event& out);

// The system event that forgets quotes long expired (ids from
// quotes_to_forget); engine/fx.cpp.
void decide_quote_forgetting(const ledger_state& state, const std::vector<std::uint64_t>& ids, event& out);

// Day number (since the Unix epoch, UTC) of a log timestamp, for daily limits.
std::int32_t log_day(std::int64_t ts_us);

}  // namespace ledger
