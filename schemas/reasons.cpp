#include "schemas/reasons.h"

namespace ledger {

std::string_view to_string(reason r) {
  switch (r) {
    case reason::none: return "none";
    case reason::insufficient_funds: return "insufficient_funds";
    case reason::wallet_frozen: return "wallet_frozen";
    case reason::wallet_closed: return "wallet_closed";
    case reason::unknown_wallet: return "unknown_wallet";
    case reason::asset_mismatch: return "asset_mismatch";
    case reason::amount_out_of_range: return "amount_out_of_range";
    case reason::daily_limit_exceeded: return "daily_limit_exceeded";
    case reason::hold_expired: return "hold_expired";
    case reason::hold_already_captured: return "hold_already_captured";
    case reason::idempotency_conflict: return "idempotency_conflict";
    case reason::unknown_asset: return "unknown_asset";
    case reason::asset_exists: return "asset_exists";
    case reason::unknown_account: return "unknown_account";
    case reason::account_exists: return "account_exists";
    case reason::unknown_hold: return "unknown_hold";
    case reason::hold_already_voided: return "hold_already_voided";
    case reason::unknown_withdrawal: return "unknown_withdrawal";
    case reason::withdrawal_not_pending: return "withdrawal_not_pending";
    case reason::unknown_transaction: return "unknown_transaction";
    case reason::already_reversed: return "already_reversed";
    case reason::not_reversible: return "not_reversible";
    case reason::balance_not_zero: return "balance_not_zero";
    case reason::invalid_argument: return "invalid_argument";
    case reason::overflow: return "overflow";
    case reason::same_account: return "same_account";
    case reason::invalid_state: return "invalid_state";
    case reason::unknown_challenge: return "unknown_challenge";
    case reason::challenge_expired: return "challenge_expired";
    case reason::nonce_used: return "nonce_used";
    case reason::challenge_mismatch: return "challenge_mismatch";
    case reason::unknown_session: return "unknown_session";
    case reason::wallet_linked_elsewhere: return "wallet_linked_elsewhere";
    case reason::unknown_connection: return "unknown_connection";
    case reason::too_many_sessions: return "too_many_sessions";
    case reason::invalid_transition: return "invalid_transition";
    case reason::refund_exceeds_paid: return "refund_exceeds_paid";
    case reason::reference_exists: return "reference_exists";
    case reason::unknown_document: return "unknown_document";
    case reason::not_group_member: return "not_group_member";
    case reason::rate_unavailable: return "rate_unavailable";
    case reason::unknown_quote: return "unknown_quote";
    case reason::quote_expired: return "quote_expired";
    case reason::quote_used: return "quote_used";
    case reason::quote_foreign: return "quote_foreign";
    case reason::fx_limit_exceeded: return "fx_limit_exceeded";
    case reason::transaction_limit_exceeded: return "transaction_limit_exceeded";
    case reason::monthly_limit_exceeded: return "monthly_limit_exceeded";
    case reason::unknown_payment_request: return "unknown_payment_request";
    case reason::payment_request_paid: return "payment_request_paid";
    case reason::payment_request_expired: return "payment_request_expired";
    case reason::payment_request_cancelled: return "payment_request_cancelled";
    case reason::payment_request_declined: return "payment_request_declined";
    case reason::not_request_party: return "not_request_party";
    case reason::too_many_payment_requests: return "too_many_payment_requests";
    case reason::export_too_soon: return "export_too_soon";
    case reason::owner_deleted: return "owner_deleted";
    case reason::deletion_too_large: return "deletion_too_large";
  }
  return "unknown_reason";
}

}  // namespace ledger
