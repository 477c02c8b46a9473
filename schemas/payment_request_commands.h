// Payment requests (type codes 70-89): a requester asks a payer (another
// owner) for an amount of an asset, with a note and an expiry in log time.
// The payer pays it (one event: a transfer from the payer's wallet to the
// requester's wallet, and the request closed as paid with that transaction's
// id) or declines it; the requester cancels it; the engine expires it when
// its expiry passes (a system event, like hold expiry). The rules are in
// docs/payment-requests.md; keep them in step.
//
// Owners are the API's authenticated subjects: the API fills `requester` and
// `payer` from the caller, and the engine checks them against the request,
// so only the payer pays or declines and only the requester cancels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "schemas/command_type.h"
#include "schemas/money.h"

namespace ledger {

enum class payment_request_status : std::uint8_t { pending = 1, paid = 2, declined = 3, expired = 4, cancelled = 5 };
std::string_view to_string(payment_request_status s);

// Limits on what one request may carry, and on what one requester may hold.
// The note and the reasons are limited as the user writes them; the API
// encrypts them under their author's data key, so a command carries
// "enc1:" + base64(nonce 12 || text || tag 16), at most sealed_text_bytes
// of the limit (or text of the ledger's own, such as "owner deleted").
inline constexpr std::size_t payment_request_note_bytes_max = 280;
inline constexpr std::size_t payment_request_reason_bytes_max = 256;
constexpr std::size_t sealed_text_bytes(std::size_t plain_bytes) { return 5 + 4 * ((12 + plain_bytes + 16 + 2) / 3); }
inline constexpr std::size_t open_payment_requests_per_requester_max = 100;
inline constexpr std::int64_t payment_request_ttl_us_max = 90LL * 86'400 * 1'000'000;  // 90 days of log time
// Requests expired by one sweep before a command, at most.
inline constexpr std::size_t payment_request_expiries_per_command_max = 256;

// `wallet` is the requester's wallet that receives the money.
struct create_payment_request_cmd {
  static constexpr command_type type = command_type::create_payment_request;
  std::string requester;
  std::uint64_t wallet = 0;
  std::string payer;
  std::string asset;
  amount_t amount = 0;
  std::string note;
  std::int64_t expires_at_us = 0;  // log time; after the command's, at most 90 days after it
  bool operator==(const create_payment_request_cmd&) const = default;
};

// The payer pays from `wallet` (its own). `asset` must be the request's:
// the payer confirms what it pays, and paying with another asset is refused.
// `amount` 0 means the requested amount; any other value must equal it.
struct pay_payment_request_cmd {
  static constexpr command_type type = command_type::pay_payment_request;
  std::uint64_t id = 0;
  std::string payer;
  std::uint64_t wallet = 0;
  std::string asset;
  amount_t amount = 0;
  bool operator==(const pay_payment_request_cmd&) const = default;
};

struct decline_payment_request_cmd {
  static constexpr command_type type = command_type::decline_payment_request;
  std::uint64_t id = 0;
  std::string payer;
  std::string reason;
  bool operator==(const decline_payment_request_cmd&) const = default;
};

struct cancel_payment_request_cmd {
  static constexpr command_type type = command_type::cancel_payment_request;
  std::uint64_t id = 0;
  std::string requester;
  std::string reason;
  bool operator==(const cancel_payment_request_cmd&) const = default;
};

// --- effects (positions in schemas/events.h) --------------------------------

struct payment_request_opened {
  std::uint64_t id = 0;  // the sequence of the event that opened it
  std::string requester;
  std::uint64_t wallet = 0;
  std::string payer;
  std::string asset;
  amount_t amount = 0;
  std::string note;
  std::int64_t expires_at_us = 0;
};

// The end of a request: paid (with the transaction that paid it, recorded
// in the same event, and the payer's wallet), declined, cancelled or expired.
struct payment_request_closed {
  std::uint64_t id = 0;
  payment_request_status status = payment_request_status::paid;
  std::uint64_t transaction_id = 0;
  std::uint64_t payer_wallet = 0;
  std::string reason;
};

}  // namespace ledger
