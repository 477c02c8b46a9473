// Commands: what clients ask the ledger to do.
//
// A command is an envelope (principal, idempotency key, request id) around a
// body. Bodies are grouped in families by their type code: money is 1-99;
// documents (100-199), wallet sessions (200-299) and later families add their
// own structs and their own handler file in engine/, without touching the
// money code. Type codes are part of the log format: never reuse one.
//
// Amounts are minor units (see money.h). Wallets and system accounts are
// referred to by the numeric id the ledger assigned when they were opened;
// assets by their code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schemas/base.h"
#include "schemas/command_type.h"
#include "schemas/fx_commands.h"
#include "schemas/money.h"
#include "schemas/payout_commands.h"
#include "schemas/document_commands.h"
#include "schemas/payment_request_commands.h"
#include "schemas/session_commands.h"
#include "schemas/owner_commands.h"

namespace ledger {

enum class account_kind : std::uint8_t { user = 1, system = 2 };

// Per-asset settings of a user wallet. A wallet holds only the assets it was
// opened with (anything else is `asset_mismatch`).
struct wallet_asset {
  std::string asset;
  amount_t overdraft_limit = 0;    // 0: available balance never below zero
  amount_t daily_debit_limit = 0;  // 0: no daily limit
  bool operator==(const wallet_asset&) const = default;
};

// Limits on what one command may carry.
inline constexpr std::size_t asset_code_bytes_max = 16;
inline constexpr std::size_t owner_bytes_max = 128;
inline constexpr std::size_t reference_bytes_max = 256;
inline constexpr std::size_t metadata_bytes_max = 4096;
inline constexpr std::size_t key_bytes_max = 255;
inline constexpr std::size_t wallet_assets_max = 32;
// Assets one ledger may register. A system account holds a balance row per
// asset it ever touched, so this bounds the largest account record: it must
// stay within what the record decoder accepts (record_list_items_max).
inline constexpr std::size_t ledger_assets_max = 1024;

struct register_asset_cmd {
  static constexpr command_type type = command_type::register_asset;
  std::string code;
  std::uint8_t scale = 0;
  amount_t min_amount = 1;  // per movement, minor units
  amount_t max_amount = amount_limit;
  bool operator==(const register_asset_cmd&) const = default;
};

// A user wallet (owner = the user id) or a system account (owner = its unique
// name: "clearing:<provider>", "payouts", "fee_revenue", ...). System accounts
// hold any asset and may go negative: they stand for the outside world.
struct open_account_cmd {
  static constexpr command_type type = command_type::open_account;
  account_kind kind = account_kind::user;
  std::string owner;
  std::vector<wallet_asset> assets;  // user wallets only
  bool operator==(const open_account_cmd&) const = default;
};

// Money arriving from a payment provider: debit its clearing account, credit the wallet.
struct deposit_cmd {
  static constexpr command_type type = command_type::deposit;
  std::uint64_t wallet = 0;
  std::string asset;
  amount_t amount = 0;
  std::string provider;
  std::string reference;
  std::string metadata;
  std::string description;  // body version 2; empty in version 1 bodies
  bool operator==(const deposit_cmd&) const = default;
};

// Money leaving to the outside: a pending debit of the wallet towards the
// payouts account, settled or failed later.
struct withdraw_cmd {
  static constexpr command_type type = command_type::withdraw;
  std::uint64_t wallet = 0;
  std::string asset;
  amount_t amount = 0;
  std::string reference;
  std::string metadata;
  std::string description;  // body version 2; empty in version 1 bodies
  bool operator==(const withdraw_cmd&) const = default;
};

struct settle_withdrawal_cmd {
  static constexpr command_type type = command_type::settle_withdrawal;
  std::uint64_t withdrawal_id = 0;
  bool operator==(const settle_withdrawal_cmd&) const = default;
};

struct fail_withdrawal_cmd {
  static constexpr command_type type = command_type::fail_withdrawal;
  std::uint64_t withdrawal_id = 0;
  std::string reason;
  bool operator==(const fail_withdrawal_cmd&) const = default;
};

// Wallet to wallet, with an optional fee leg to fee revenue; all legs atomic.
// The sender is debited amount + fee.
struct transfer_cmd {
  static constexpr command_type type = command_type::transfer;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::string asset;
  amount_t amount = 0;
  amount_t fee = 0;
  std::string reference;
  std::string metadata;
  std::string description;  // body version 2; empty in version 1 bodies
  bool operator==(const transfer_cmd&) const = default;
};

// A pending debit of `wallet` towards `to`, released automatically at
// `expires_at_us` (log time, microseconds since the Unix epoch).
struct hold_cmd {
  static constexpr command_type type = command_type::hold;
  std::uint64_t wallet = 0;
  std::uint64_t to = 0;
  std::string asset;
  amount_t amount = 0;
  std::int64_t expires_at_us = 0;
  std::string reference;
  std::string metadata;
  bool operator==(const hold_cmd&) const = default;
};

// Posts `amount` (0: the whole hold) and releases the rest.
struct capture_cmd {
  static constexpr command_type type = command_type::capture;
  std::uint64_t hold_id = 0;
  amount_t amount = 0;
  bool operator==(const capture_cmd&) const = default;
};

struct void_hold_cmd {
  static constexpr command_type type = command_type::void_hold;
  std::uint64_t hold_id = 0;
  bool operator==(const void_hold_cmd&) const = default;
};

// A correcting entry that posts the exact opposite of an earlier transaction.
struct reverse_cmd {
  static constexpr command_type type = command_type::reverse;
  std::uint64_t transaction_id = 0;
  std::string reason;
  bool operator==(const reverse_cmd&) const = default;
};

struct freeze_account_cmd {
  static constexpr command_type type = command_type::freeze_account;
  std::uint64_t account = 0;
  bool operator==(const freeze_account_cmd&) const = default;
};
struct unfreeze_account_cmd {
  static constexpr command_type type = command_type::unfreeze_account;
  std::uint64_t account = 0;
  bool operator==(const unfreeze_account_cmd&) const = default;
};
struct close_account_cmd {
  static constexpr command_type type = command_type::close_account;
  std::uint64_t account = 0;
  bool operator==(const close_account_cmd&) const = default;
};

// --- fee schedules and transaction statuses (docs/engine.md) ---------------

// The kinds of money transaction. Transfers complete at once; the others
// carry a status that changes by events.
enum class money_kind : std::uint8_t { deposit = 1, withdrawal = 2, transfer = 3, payment = 4, refund = 5 };
enum class money_status : std::uint8_t { pending = 1, processing = 2, completed = 3, failed = 4, cancelled = 5 };
std::string_view to_string(money_kind k);
std::string_view to_string(money_status s);
inline constexpr std::uint32_t basis_points_max = 10'000;  // 100 %
inline constexpr std::size_t description_bytes_max = 1024;

// Sets (or replaces) the fee of (asset, kind): fixed + amount * basis_points
// / 10000 (that part rounded half up to the minor unit), then clamped to
// [minimum, maximum]. Kinds with fees: transfer, withdrawal, payment.
struct set_fee_schedule_cmd {
  static constexpr command_type type = command_type::set_fee_schedule;
  std::string asset;
  money_kind kind = money_kind::transfer;
  amount_t fixed = 0;
  std::uint32_t basis_points = 0;
  amount_t minimum = 0;
  amount_t maximum = 0;
  bool operator==(const set_fee_schedule_cmd&) const = default;
};

struct remove_fee_schedule_cmd {
  static constexpr command_type type = command_type::remove_fee_schedule;
  std::string asset;
  money_kind kind = money_kind::transfer;
  bool operator==(const remove_fee_schedule_cmd&) const = default;
};

// A deposit announced by a provider but not yet paid: it credits nothing
// until completed.
struct open_deposit_cmd {
  static constexpr command_type type = command_type::open_deposit;
  std::uint64_t wallet = 0;
  std::string asset;
  amount_t amount = 0;
  std::string provider;
  std::string reference;
  std::string description;
  std::string metadata;
  bool operator==(const open_deposit_cmd&) const = default;
};

// Moves transaction `id` (of kind `kind`) to status `to`: processing,
// completed, failed or cancelled.
struct change_money_status_cmd {
  static constexpr command_type type = command_type::change_money_status;
  std::uint64_t id = 0;
  money_kind kind = money_kind::deposit;
  money_status to = money_status::completed;
  std::string reason;
  bool operator==(const change_money_status_cmd&) const = default;
};

// A wallet pays a merchant account: the funds (and the fee) are held until
// the payment completes.
struct pay_cmd {
  static constexpr command_type type = command_type::pay;
  std::uint64_t wallet = 0;
  std::uint64_t merchant = 0;
  std::string asset;
  amount_t amount = 0;
  std::string reference;
  std::string description;
  std::string metadata;
  bool operator==(const pay_cmd&) const = default;
};

// A pending refund of a completed payment: the merchant's funds are held
// until it completes.
struct refund_cmd {
  static constexpr command_type type = command_type::refund;
  std::uint64_t payment_id = 0;
  amount_t amount = 0;
  std::string reference;
  std::string description;
  std::string metadata;
  bool operator==(const refund_cmd&) const = default;
};

// A provider says the payment with its reference succeeded or failed
// (webhooks): completes or fails the pending deposit with that provider
// reference, or, when none is open and it succeeded, records a completed
// deposit of `amount` to `wallet`.
struct provider_payment_cmd {
  static constexpr command_type type = command_type::provider_payment;
  std::string provider;
  std::string reference;
  money_status outcome = money_status::completed;  // completed, failed or cancelled
  std::uint64_t wallet = 0;                       // 0: unknown (a failure needs none)
  std::string asset;
  amount_t amount = 0;
  std::string reason;
  bool operator==(const provider_payment_cmd&) const = default;
};

// A provider refunded (part of) the deposit with its payment reference: a
// completed refund from the wallet back to the provider's clearing account.
// `cumulative`: `amount` is the total refunded so far (Stripe's
// amount_refunded), so only the difference is refunded.
struct provider_refund_cmd {
  static constexpr command_type type = command_type::provider_refund;
  std::string provider;
  std::string payment_reference;
  std::string refund_reference;
  amount_t amount = 0;
  bool cumulative = false;
  bool operator==(const provider_refund_cmd&) const = default;
};

using command_body = std::variant<register_asset_cmd, open_account_cmd, deposit_cmd, withdraw_cmd,
                                  settle_withdrawal_cmd, fail_withdrawal_cmd, transfer_cmd, hold_cmd,
                                  capture_cmd, void_hold_cmd, reverse_cmd, freeze_account_cmd,
                                  unfreeze_account_cmd, close_account_cmd, issue_challenge_cmd, open_session_cmd,
                                  revoke_session_cmd, revoke_sessions_cmd, link_wallet_cmd, unlink_wallet_cmd,
                                  set_fee_schedule_cmd, remove_fee_schedule_cmd, open_deposit_cmd,
                                  change_money_status_cmd, pay_cmd, refund_cmd, provider_payment_cmd,
                                  provider_refund_cmd,
                                  record_auth_failure_cmd, register_payout_destination_cmd,
                                  upload_document_cmd, delete_document_cmd, set_group_members_cmd,
                                  set_rate_cmd, quote_cmd, exchange_cmd, set_fx_limit_cmd, set_owner_tier_cmd,
                                  set_tier_limits_cmd, create_payment_request_cmd, pay_payment_request_cmd,
                                  decline_payment_request_cmd, cancel_payment_request_cmd,
                                  export_documents_cmd, delete_owner_cmd>;

struct command {
  std::string principal;        // who asks; idempotency keys are scoped to it
  std::string idempotency_key;  // required, 1..255 bytes
  std::string request_id;       // for correlation; not part of the payload
  command_body body;
};

command_type type_of(const command_body& body);

// Canonical bytes of a body: type code, version, fields. Two bodies are the
// same payload exactly when these bytes are equal.
std::string encode_body(const command_body& body);
// Decodes what encode_body wrote (every past version). Returns an error for
// truncated, trailing or out-of-domain bytes.
status decode_body(std::string_view bytes, command_body& out);

// Whole command (envelope + body), for the command log and the journal.
std::string encode_command(const command& c);
status decode_command(std::string_view bytes, command& out);

// Structural checks that need no ledger state: lengths, non-empty fields,
// sign of amounts. Returns the offending field and why, or nullopt if fine.
struct field_error {
  std::string field;
  std::string message;
};
std::optional<field_error> validate(const command& c);

}  // namespace ledger
