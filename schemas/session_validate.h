// Structural checks of the wallet-session commands (see validate() in
// commands.h), kept beside their structs rather than in the money checks.
#pragma once

#include "schemas/commands.h"

namespace ledger {

std::optional<field_error> validate_body(const issue_challenge_cmd& c);
std::optional<field_error> validate_body(const open_session_cmd& c);
std::optional<field_error> validate_body(const revoke_session_cmd& c);
std::optional<field_error> validate_body(const revoke_sessions_cmd& c);
std::optional<field_error> validate_body(const link_wallet_cmd& c);
std::optional<field_error> validate_body(const unlink_wallet_cmd& c);
std::optional<field_error> validate_body(const record_auth_failure_cmd& c);
// Payout destinations (schemas/payout_commands.cpp).
std::optional<field_error> validate_body(const register_payout_destination_cmd& c);
// Documents (schemas/document_commands.cpp).
std::optional<field_error> validate_body(const upload_document_cmd& c);
std::optional<field_error> validate_body(const delete_document_cmd& c);
std::optional<field_error> validate_body(const set_group_members_cmd& c);

// Exchange and limit tiers (schemas/fx_commands.cpp).
std::optional<field_error> validate_body(const set_rate_cmd& c);
std::optional<field_error> validate_body(const quote_cmd& c);
std::optional<field_error> validate_body(const exchange_cmd& c);
std::optional<field_error> validate_body(const set_fx_limit_cmd& c);
std::optional<field_error> validate_body(const set_owner_tier_cmd& c);
std::optional<field_error> validate_body(const set_tier_limits_cmd& c);
bool fx_body_in_domain(const command_body& b);
// Payment requests (schemas/payment_request_commands.cpp).
std::optional<field_error> validate_body(const create_payment_request_cmd& c);
std::optional<field_error> validate_body(const pay_payment_request_cmd& c);
std::optional<field_error> validate_body(const decline_payment_request_cmd& c);
std::optional<field_error> validate_body(const cancel_payment_request_cmd& c);
// Document exports and owner deletion (schemas/owner_commands.cpp).
std::optional<field_error> validate_body(const export_documents_cmd& c);
std::optional<field_error> validate_body(const delete_owner_cmd& c);

// Whether a decoded session body's enums are in range (decode_body refuses
// the bytes otherwise). True for every other body.
bool session_body_in_domain(const command_body& b);

}  // namespace ledger
