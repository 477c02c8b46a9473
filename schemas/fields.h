// Field lists of every command, effect and state record, in encoding order.
// One list serves encoder and decoder (see archive.h). Appending a field
// requires a new version byte and a decoder branch for the old one.
#pragma once

#include "schemas/archive.h"
#include "schemas/events.h"

namespace ledger {

template <class A> void fields(A& a, wallet_asset& v) { a(v.asset); a(v.overdraft_limit); a(v.daily_debit_limit); }
template <class A> void fields(A& a, register_asset_cmd& v) { a(v.code); a(v.scale); a(v.min_amount); a(v.max_amount); }
template <class A> void fields(A& a, open_account_cmd& v) { a(v.kind); a(v.owner); a(v.assets); }
// Deposits, withdrawals and transfers gained a description in body version 2
// (appended, so a version 1 body is the same bytes without it).
template <class A> void fields(A& a, deposit_cmd& v) {
  a(v.wallet); a(v.asset); a(v.amount); a(v.provider); a(v.reference); a(v.metadata);
  field_since(a, 2, v.description);
}
template <class A> void fields(A& a, withdraw_cmd& v) {
  a(v.wallet); a(v.asset); a(v.amount); a(v.reference); a(v.metadata);
  field_since(a, 2, v.description);
}
template <class A> void fields(A& a, settle_withdrawal_cmd& v) { a(v.withdrawal_id); }
template <class A> void fields(A& a, fail_withdrawal_cmd& v) { a(v.withdrawal_id); a(v.reason); }
template <class A> void fields(A& a, transfer_cmd& v) {
  a(v.from); a(v.to); a(v.asset); a(v.amount); a(v.fee); a(v.reference); a(v.metadata);
  field_since(a, 2, v.description);
}
template <class A> void fields(A& a, hold_cmd& v) {
  a(v.wallet); a(v.to); a(v.asset); a(v.amount); a(v.expires_at_us); a(v.reference); a(v.metadata);
}
template <class A> void fields(A& a, capture_cmd& v) { a(v.hold_id); a(v.amount); }
template <class A> void fields(A& a, void_hold_cmd& v) { a(v.hold_id); }
template <class A> void fields(A& a, reverse_cmd& v) { a(v.transaction_id); a(v.reason); }
template <class A> void fields(A& a, freeze_account_cmd& v) { a(v.account); }
template <class A> void fields(A& a, unfreeze_account_cmd& v) { a(v.account); }
template <class A> void fields(A& a, close_account_cmd& v) { a(v.account); }

template <class A> void fields(A& a, set_fee_schedule_cmd& v) {
  a(v.asset); a(v.kind); a(v.fixed); a(v.basis_points); a(v.minimum); a(v.maximum);
}
template <class A> void fields(A& a, remove_fee_schedule_cmd& v) { a(v.asset); a(v.kind); }
template <class A> void fields(A& a, open_deposit_cmd& v) {
  a(v.wallet); a(v.asset); a(v.amount); a(v.provider); a(v.reference); a(v.description); a(v.metadata);
}
template <class A> void fields(A& a, change_money_status_cmd& v) { a(v.id); a(v.kind); a(v.to); a(v.reason); }
template <class A> void fields(A& a, pay_cmd& v) {
  a(v.wallet); a(v.merchant); a(v.asset); a(v.amount); a(v.reference); a(v.description); a(v.metadata);
}
template <class A> void fields(A& a, refund_cmd& v) {
  a(v.payment_id); a(v.amount); a(v.reference); a(v.description); a(v.metadata);
}
template <class A> void fields(A& a, provider_payment_cmd& v) {
  a(v.provider); a(v.reference); a(v.outcome); a(v.wallet); a(v.asset); a(v.amount); a(v.reason);
}
template <class A> void fields(A& a, provider_refund_cmd& v) {
  a(v.provider); a(v.payment_reference); a(v.refund_reference); a(v.amount); a(v.cumulative);
}

template <class A> void fields(A& a, asset_registered& v) { a(v.code); a(v.scale); a(v.min_amount); a(v.max_amount); }
template <class A> void fields(A& a, account_opened& v) { a(v.id); a(v.kind); a(v.owner); a(v.assets); }
template <class A> void fields(A& a, account_status_changed& v) { a(v.id); a(v.from); a(v.to); }
template <class A> void fields(A& a, balance_changed& v) {
  a(v.account); a(v.asset);
  a(v.d_debits_posted); a(v.d_credits_posted); a(v.d_debits_pending); a(v.d_credits_pending);
  a(v.posted_after); a(v.debits_pending_after); a(v.credits_pending_after);
}
template <class A> void fields(A& a, daily_usage& v) { a(v.account); a(v.asset); a(v.day); a(v.used_after); }
template <class A> void fields(A& a, pending_opened& v) {
  a(v.id); a(v.kind); a(v.debit_account); a(v.credit_account); a(v.asset); a(v.amount); a(v.expires_at_us);
}
template <class A> void fields(A& a, pending_closed& v) { a(v.id); a(v.resolution); a(v.posted_amount); }
template <class A> void fields(A& a, transaction_recorded& v) { a(v.id); a(v.kind); a(v.reverses); }

template <class A> void fields(A& a, issue_challenge_cmd& v) {
  a(v.chain); a(v.network); a(v.address); a(v.domain); a(v.uri); a(v.nonce); a(v.ttl_s);
}
template <class A> void fields(A& a, open_session_cmd& v) {
  a(v.nonce); a(v.chain); a(v.address); a(v.owner); a(v.token_hash); a(v.duration_s); a(v.message); a(v.signature);
}
template <class A> void fields(A& a, revoke_session_cmd& v) { a(v.session_id); a(v.owner); }
template <class A> void fields(A& a, revoke_sessions_cmd& v) { a(v.owner); a(v.chain); a(v.address); }
template <class A> void fields(A& a, link_wallet_cmd& v) { a(v.chain); a(v.address); a(v.owner); }
template <class A> void fields(A& a, unlink_wallet_cmd& v) { a(v.chain); a(v.address); }
template <class A> void fields(A& a, register_payout_destination_cmd& v) {
  a(v.wallet); a(v.owner); a(v.account_name); a(v.bank_id); a(v.account_number); a(v.sender_details); a(v.receiver_details);
}
template <class A> void fields(A& a, payout_destination_registered& v) {
  a(v.id); a(v.wallet); a(v.owner); a(v.account_name); a(v.bank_id); a(v.account_number); a(v.sender_details);
  a(v.receiver_details);
}
template <class A> void fields(A& a, record_auth_failure_cmd& v) {
  a(v.chain); a(v.network); a(v.address); a(v.client); a(v.check);
}

template <class A> void fields(A& a, challenge_issued& v) {
  a(v.nonce); a(v.chain); a(v.network); a(v.address); a(v.domain); a(v.uri); a(v.issued_at_us); a(v.expires_at_us);
}
template <class A> void fields(A& a, challenge_closed& v) { a(v.nonce); a(v.resolution); }
template <class A> void fields(A& a, session_opened& v) {
  a(v.id); a(v.owner); a(v.chain); a(v.network); a(v.address); a(v.token_hash); a(v.nonce); a(v.expires_at_us);
}
template <class A> void fields(A& a, session_closed& v) { a(v.id); a(v.resolution); }
template <class A> void fields(A& a, wallet_connected& v) { a(v.chain); a(v.address); a(v.owner); }
template <class A> void fields(A& a, wallet_disconnected& v) { a(v.chain); a(v.address); a(v.owner); }
template <class A> void fields(A& a, auth_failed& v) {
  a(v.chain); a(v.network); a(v.address); a(v.client); a(v.check);
}

template <class A> void fields(A& a, fee_schedule_changed& v) {
  a(v.asset); a(v.kind); a(v.removed); a(v.fixed); a(v.basis_points); a(v.minimum); a(v.maximum);
}
template <class A> void fields(A& a, money_tx_opened& v) {
  a(v.id); a(v.kind); a(v.status); a(v.debit_account); a(v.credit_account); a(v.asset); a(v.amount); a(v.fee);
  a(v.provider); a(v.reference); a(v.owner); a(v.description); a(v.metadata); a(v.refund_of);
}
template <class A> void fields(A& a, money_tx_changed& v) { a(v.id); a(v.kind); a(v.from); a(v.to); a(v.reason); }

template <class A> void fields(A& a, upload_document_cmd& v) {
  a(v.owner); a(v.group); a(v.category); a(v.file_name); a(v.media_type); a(v.size_bytes); a(v.content_sha256);
  a(v.blob_id); a(v.thumbnail_blob_id); a(v.key_id);
}
template <class A> void fields(A& a, delete_document_cmd& v) { a(v.document_id); a(v.owner); }
template <class A> void fields(A& a, set_group_members_cmd& v) { a(v.group); a(v.members); }
template <class A> void fields(A& a, document_uploaded& v) {
  a(v.id); a(v.owner); a(v.group); a(v.category); a(v.file_name); a(v.media_type); a(v.size_bytes);
  a(v.content_sha256); a(v.blob_id); a(v.thumbnail_blob_id); a(v.key_id); a(v.created_at_us);
}
template <class A> void fields(A& a, document_deleted& v) {
  a(v.id); a(v.owner); a(v.group); a(v.blob_id); a(v.thumbnail_blob_id);
}
template <class A> void fields(A& a, group_members_set& v) { a(v.group); a(v.before); a(v.members); }
template <class A> void fields(A& a, set_rate_cmd& v) {
  a(v.from_asset); a(v.to_asset); a(v.rate_e18); a(v.fee_bps); a(v.quote_ttl_s); a(v.valid_from_us); a(v.valid_until_us);
}
template <class A> void fields(A& a, quote_cmd& v) { a(v.owner); a(v.from_asset); a(v.to_asset); a(v.amount); a(v.side); }
template <class A> void fields(A& a, exchange_cmd& v) { a(v.owner); a(v.quote_id); a(v.wallet); a(v.to_wallet); }
template <class A> void fields(A& a, set_fx_limit_cmd& v) { a(v.asset); a(v.overdraft); }
template <class A> void fields(A& a, set_owner_tier_cmd& v) { a(v.owner); a(v.tier); }
template <class A> void fields(A& a, set_tier_limits_cmd& v) {
  a(v.tier); a(v.asset); a(v.per_transaction); a(v.daily); a(v.monthly);
}
template <class A> void fields(A& a, rate_set& v) {
  a(v.from_asset); a(v.to_asset); a(v.rate_e18); a(v.fee_bps); a(v.quote_ttl_s); a(v.valid_from_us); a(v.valid_until_us);
}
template <class A> void fields(A& a, quote_issued& v) {
  a(v.id); a(v.owner); a(v.from_asset); a(v.to_asset); a(v.side); a(v.rate_e18); a(v.fee_bps); a(v.from_amount);
  a(v.fee); a(v.to_amount); a(v.expires_at_us);
}
template <class A> void fields(A& a, quote_used& v) {
  a(v.id); a(v.exchange); a(v.wallet); a(v.to_wallet); a(v.from_asset); a(v.to_asset); a(v.rate_e18); a(v.from_amount);
  a(v.fee); a(v.to_amount);
}
template <class A> void fields(A& a, fx_limit_set& v) { a(v.asset); a(v.overdraft); }
template <class A> void fields(A& a, owner_tier_set& v) { a(v.owner); a(v.tier); }
template <class A> void fields(A& a, tier_limits_set& v) {
  a(v.tier); a(v.asset); a(v.per_transaction); a(v.daily); a(v.monthly);
}
template <class A> void fields(A& a, monthly_usage& v) { a(v.account); a(v.asset); a(v.month); a(v.used_after); }
// Payment requests (schemas/payment_request_commands.h).
template <class A> void fields(A& a, create_payment_request_cmd& v) {
  a(v.requester); a(v.wallet); a(v.payer); a(v.asset); a(v.amount); a(v.note); a(v.expires_at_us);
}
template <class A> void fields(A& a, pay_payment_request_cmd& v) { a(v.id); a(v.payer); a(v.wallet); a(v.asset); a(v.amount); }
template <class A> void fields(A& a, decline_payment_request_cmd& v) { a(v.id); a(v.payer); a(v.reason); }
template <class A> void fields(A& a, cancel_payment_request_cmd& v) { a(v.id); a(v.requester); a(v.reason); }
template <class A> void fields(A& a, payment_request_opened& v) {
  a(v.id); a(v.requester); a(v.wallet); a(v.payer); a(v.asset); a(v.amount); a(v.note); a(v.expires_at_us);
}
template <class A> void fields(A& a, payment_request_closed& v) {
  a(v.id); a(v.status); a(v.transaction_id); a(v.payer_wallet); a(v.reason);
}
template <class A> void fields(A& a, quotes_forgotten& v) { a(v.ids); }

// Document exports and owner deletion (schemas/owner_commands.h).
template <class A> void fields(A& a, export_documents_cmd& v) { a(v.owner); a(v.document_count); a(v.total_bytes); }
template <class A> void fields(A& a, delete_owner_cmd& v) { a(v.owner); a(v.documents); }
template <class A> void fields(A& a, documents_exported& v) { a(v.owner); a(v.document_count); a(v.total_bytes); a(v.at_us); }
template <class A> void fields(A& a, owner_chain_address& v) { a(v.chain); a(v.address); }
template <class A> void fields(A& a, owner_deleted& v) {
  a(v.owner); a(v.wallets); a(v.sessions); a(v.documents); a(v.at_us);
  // Added later (schemas/events.h): an event written before them ends here.
  if constexpr (std::is_same_v<A, decoder>) {
    if (a.r.at_end()) {
      v.addresses.clear(); v.groups.clear(); v.payment_requests.clear();
      return;
    }
  }
  a(v.addresses); a(v.groups); a(v.payment_requests);
}

}  // namespace ledger
