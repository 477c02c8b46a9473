// The type code of every command body. Type codes are part of the log
// format: never reuse one. Money is 1-99, documents 100-199, wallet sessions
// 200-299.
#pragma once

#include <cstdint>
#include <string_view>

namespace ledger {

enum class command_type : std::uint16_t {
  none = 0,  // system-generated events (hold expiry) carry no command
  register_asset = 1,
  open_account = 2,
  deposit = 3,
  withdraw = 4,
  settle_withdrawal = 5,
  fail_withdrawal = 6,
  transfer = 7,
  hold = 8,
  capture = 9,
  void_hold = 10,
  reverse = 11,
  freeze_account = 12,
  unfreeze_account = 13,
  close_account = 14,
  // Fee schedules and transaction statuses (docs/engine.md, "Fees" and
  // "Statuses"): 15-39.
  set_fee_schedule = 15,
  remove_fee_schedule = 16,
  open_deposit = 17,
  change_money_status = 18,
  pay = 19,
  refund = 20,
  provider_payment = 21,
  provider_refund = 22,
  // Payout destinations (schemas/payout_commands.h), 40-49.
  register_payout_destination = 40,
  // Exchange between assets and limit tiers (schemas/fx_commands.h), 50-69.
  set_rate = 50,
  quote = 51,
  exchange = 52,
  set_fx_limit = 53,
  set_owner_tier = 54,
  set_tier_limits = 55,
  // Documents (schemas/document_commands.h), 100-199.
  upload_document = 100,
  delete_document = 101,
  set_group_members = 102,
  // Wallet sessions (schemas/session_commands.h).
  issue_challenge = 200,
  open_session = 201,
  revoke_session = 202,
  revoke_sessions = 203,
  link_wallet = 204,
  unlink_wallet = 205,
  record_auth_failure = 206,
  // Payment requests (schemas/payment_request_commands.h), 70-89.
  create_payment_request = 70,
  pay_payment_request = 71,
  decline_payment_request = 72,
  cancel_payment_request = 73,
  // Document exports and owner deletion (schemas/owner_commands.h): 103, 110-119.
  export_documents = 103,
  delete_owner = 110,
};
std::string_view to_string(command_type t);

}  // namespace ledger
