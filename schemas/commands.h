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
#include "schemas/money.h"
#include "schemas/payout_commands.h"
#include "schemas/session_commands.h"

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

using command_body = std::variant<register_asset_cmd, open_account_cmd, deposit_cmd, withdraw_cmd,
                                  settle_withdrawal_cmd, fail_withdrawal_cmd, transfer_cmd, hold_cmd,
                                  capture_cmd, void_hold_cmd, reverse_cmd, freeze_account_cmd,
                                  unfreeze_account_cmd, close_account_cmd, issue_challenge_cmd, open_session_cmd,
                                  revoke_session_cmd, revoke_sessions_cmd, link_wallet_cmd, unlink_wallet_cmd,
                                  record_auth_failure_cmd, register_payout_destination_cmd>;

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
