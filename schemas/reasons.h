// Stable reason codes for rejected commands. These are outcomes, not errors:
// a rejection is recorded in the journal (auditors see attempts) and moves
// nothing. The numeric values are part of the event format: never renumber,
// only append.
#pragma once

#include <cstdint>
#include <string_view>

namespace ledger {

enum class reason : std::uint16_t {
  none = 0,
  insufficient_funds = 1,
  wallet_frozen = 2,
  wallet_closed = 3,
  unknown_wallet = 4,
  asset_mismatch = 5,
  amount_out_of_range = 6,
  daily_limit_exceeded = 7,
  hold_expired = 8,
  hold_already_captured = 9,
  idempotency_conflict = 10,
  unknown_asset = 11,
  asset_exists = 12,
  unknown_account = 13,  // a system account (clearing, payouts, fees) or a hold's `to` account is missing
  account_exists = 14,
  unknown_hold = 15,
  hold_already_voided = 16,
  unknown_withdrawal = 17,
  withdrawal_not_pending = 18,
  unknown_transaction = 19,
  already_reversed = 20,
  not_reversible = 21,
  balance_not_zero = 22,
  invalid_argument = 23,
  overflow = 24,
  same_account = 25,
  invalid_state = 26,  // e.g. unfreeze of a wallet that is not frozen
  // Wallet sessions.
  unknown_challenge = 27,       // no open challenge with this nonce
  challenge_expired = 28,       // the challenge's expiry (log time) has passed
  nonce_used = 29,              // the challenge's nonce already opened a session
  challenge_mismatch = 30,      // address or chain differ from the challenge's
  unknown_session = 31,         // no active session with this id (for this owner)
  wallet_linked_elsewhere = 32, // the address is connected to another owner
  unknown_connection = 33,      // the address is not connected
  too_many_sessions = 34,       // the owner holds sessions_per_owner_max active sessions
  // Transaction statuses and refunds.
  invalid_transition = 35,  // the transaction's status does not allow this change
  refund_exceeds_paid = 36, // more than paid minus refunded (pending refunds count)
  reference_exists = 37,    // the owner already used this reference
  // Documents.
  unknown_document = 38,  // no such document (deleted, never existed, or another owner's)
  not_group_member = 39,  // the uploader is not a member of the group named
  // Exchange and limit tiers (docs/exchange.md).
  rate_unavailable = 40,    // no rate for the pair, or none valid at this log time
  unknown_quote = 41,       // no quote with this id
  quote_expired = 42,       // the quote's expiry (log time) has passed
  quote_used = 43,          // the quote was already spent by an exchange
  quote_foreign = 44,       // the quote belongs to another principal
  fx_limit_exceeded = 45,   // the house FX account would go below its limit
  transaction_limit_exceeded = 46,  // more than the tier's per-transaction limit
  monthly_limit_exceeded = 47,      // the tier's monthly limit would be passed
  // Payment requests (docs/payment-requests.md).
  unknown_payment_request = 48,      // no request with this id
  payment_request_paid = 49,         // already paid (the detail names the transaction)
  payment_request_expired = 50,      // its expiry (log time) has passed
  payment_request_cancelled = 51,    // the requester cancelled it
  payment_request_declined = 52,     // the payer declined it
  not_request_party = 53,            // the caller is not the payer (pay, decline) or requester (cancel)
  too_many_payment_requests = 54,    // the requester holds open_payment_requests_per_requester_max open requests
  // Document exports and owner deletion (docs/documents.md).
  export_too_soon = 55,  // the owner's last export is less than export_interval_us of log time ago
  owner_deleted = 56,    // the owner named was deleted (delete_owner)
  deletion_too_large = 57,  // the deletion would need more than owner_deletion_effects_max effects in its event
};

inline constexpr std::uint16_t reason_max = 57;

std::string_view to_string(reason r);

}  // namespace ledger
