// Events: what the ledger recorded. One event per command (accepted or
// rejected) plus system events (hold expiry). An event is the command it
// answers plus the list of effects it had; folding effects over an empty state
// reproduces the ledger exactly, which is what replay and point-in-time
// rebuild do.
//
// Every event carries a gap-free sequence number, the log time it was applied
// at, the input log position of its command, and the chain hash:
// SHA-256(previous chain hash || canonical event bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "schemas/commands.h"
#include "schemas/reasons.h"

namespace ledger {

using hash256 = std::array<std::uint8_t, 32>;
std::string to_hex(const hash256& h);

enum class account_status : std::uint8_t { active = 1, frozen = 2, closed = 3 };
std::string_view to_string(account_status s);

enum class pending_kind : std::uint8_t { hold = 1, withdrawal = 2 };
enum class pending_resolution : std::uint8_t { open = 0, captured = 1, voided = 2, expired = 3, settled = 4, failed = 5 };
std::string_view to_string(pending_resolution r);

enum class tx_kind : std::uint8_t { deposit = 1, withdrawal = 2, transfer = 3, capture = 4, reversal = 5, payment = 6, refund = 7, exchange = 8 };
std::string_view to_string(tx_kind k);

// --- effects ---------------------------------------------------------------

struct asset_registered {
  std::string code;
  std::uint8_t scale = 0;
  amount_t min_amount = 0;
  amount_t max_amount = 0;
};

struct account_opened {
  std::uint64_t id = 0;
  account_kind kind = account_kind::user;
  std::string owner;
  std::vector<wallet_asset> assets;
};

struct account_status_changed {
  std::uint64_t id = 0;
  account_status from = account_status::active;
  account_status to = account_status::active;
};

// One leg of double entry, as deltas of the four counters of (account, asset)
// and the values after. Across an event, the deltas sum to zero per asset:
// sum(d_credits_posted - d_debits_posted) == 0 and likewise pending.
struct balance_changed {
  std::uint64_t account = 0;
  std::string asset;
  amount_t d_debits_posted = 0;
  amount_t d_credits_posted = 0;
  amount_t d_debits_pending = 0;
  amount_t d_credits_pending = 0;
  amount_t posted_after = 0;           // credits_posted - debits_posted
  amount_t debits_pending_after = 0;   // held against the account
  amount_t credits_pending_after = 0;  // incoming, not yet available
};

// Running total of debits of (account, asset) on one UTC day of log time.
struct daily_usage {
  std::uint64_t account = 0;
  std::string asset;
  std::int32_t day = 0;  // days since the Unix epoch
  amount_t used_after = 0;
};

struct pending_opened {
  std::uint64_t id = 0;  // the sequence of the event that opened it
  pending_kind kind = pending_kind::hold;
  std::uint64_t debit_account = 0;
  std::uint64_t credit_account = 0;
  std::string asset;
  amount_t amount = 0;
  std::int64_t expires_at_us = 0;  // 0: never (withdrawals)
};

struct pending_closed {
  std::uint64_t id = 0;
  pending_resolution resolution = pending_resolution::open;
  amount_t posted_amount = 0;
};

// A posted money movement that can be looked up (and reversed) later. Its legs
// are the posted deltas of this event's balance_changed effects.
struct transaction_recorded {
  std::uint64_t id = 0;  // the sequence of the event
  tx_kind kind = tx_kind::deposit;
  std::uint64_t reverses = 0;  // for reversals: the transaction reversed
};

// --- wallet sessions (docs/wallet-sessions.md) -------------------------------

enum class challenge_resolution : std::uint8_t { expired = 1 };
enum class session_resolution : std::uint8_t { revoked = 1, expired = 2 };
std::string_view to_string(session_resolution r);

// A sign-in challenge, open until its expiry (log time); consumed by the
// session that used its nonce, and swept away at its expiry either way.
struct challenge_issued {
  std::string nonce;
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;
  std::string address;
  std::string domain;
  std::string uri;
  std::int64_t issued_at_us = 0;
  std::int64_t expires_at_us = 0;
};

struct challenge_closed {
  std::string nonce;
  challenge_resolution resolution = challenge_resolution::expired;
};

struct session_opened {
  std::uint64_t id = 0;  // the sequence of the event that opened it
  std::string owner;
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;  // the challenge's, for read models and incident queries
  std::string address;
  std::string token_hash;  // SHA-256 of the bearer token, 32 raw bytes
  std::string nonce;       // the challenge it consumed
  std::int64_t expires_at_us = 0;
};

struct session_closed {
  std::uint64_t id = 0;
  session_resolution resolution = session_resolution::revoked;
};

// An address belongs to at most one owner at a time.
struct wallet_connected {
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  std::string owner;
};

struct wallet_disconnected {
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  std::string owner;
};

// --- fee schedules and transaction statuses (docs/engine.md) ---------------

// A fee schedule of (asset, kind) set, replaced or (removed) taken away.
struct fee_schedule_changed {
  std::string asset;
  money_kind kind = money_kind::transfer;
  bool removed = false;
  amount_t fixed = 0;
  std::uint32_t basis_points = 0;
  amount_t minimum = 0;
  amount_t maximum = 0;
};

// A deposit, withdrawal, payment or refund with a status. The money it
// moves is in this event's balance_changed effects; `debit_account` gives,
// `credit_account` receives `amount`, and the debit side pays `fee` to
// fee revenue on top.
struct money_tx_opened {
  std::uint64_t id = 0;  // the sequence of the event (a withdrawal's: its pending id)
  money_kind kind = money_kind::deposit;
  money_status status = money_status::pending;
  std::uint64_t debit_account = 0;
  std::uint64_t credit_account = 0;
  std::string asset;
  amount_t amount = 0;
  amount_t fee = 0;
  std::string provider;   // deposits and their refunds: the clearing account's provider
  std::string reference;  // unique per owner when not empty
  std::string owner;      // the owner of the wallet it belongs to
  std::string description;
  std::string metadata;
  std::uint64_t refund_of = 0;  // refunds: the payment or deposit refunded
};

struct money_tx_changed {
  std::uint64_t id = 0;
  money_kind kind = money_kind::deposit;
  money_status from = money_status::pending;
  money_status to = money_status::pending;
  std::string reason;
};

// A refused sign-in attempt (record_auth_failure): which check failed, for
// whom, from where. Changes no state.
struct auth_failed {
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;
  std::string address;
  std::string client;
  std::string check;
};

// --- payout destinations (schemas/payout_commands.h) ------------------------

// Bank details registered on a wallet; every detail field is ciphertext.
struct payout_destination_registered {
  std::uint64_t id = 0;  // the sequence of the event
  std::uint64_t wallet = 0;
  std::string owner;
  std::string account_name;
  std::string bank_id;
  std::string account_number;
  std::string sender_details;
  std::string receiver_details;
};

// --- documents (schemas/document_commands.h) --------------------------------

// A document recorded: metadata and the content's hash, never the content.
// The file name is ciphertext under the owner's data key.
struct document_uploaded {
  std::uint64_t id = 0;  // the sequence of the event
  std::string owner;
  std::uint64_t group = 0;
  document_category category = document_category::other;
  std::string file_name;
  std::string media_type;
  std::uint64_t size_bytes = 0;
  std::string content_sha256;
  std::string blob_id;
  std::string thumbnail_blob_id;
  std::string key_id;
  std::int64_t created_at_us = 0;  // log time of the upload
};

// A document removed; its blobs are deleted from the store after this event.
struct document_deleted {
  std::uint64_t id = 0;
  std::string owner;
  std::uint64_t group = 0;
  std::string blob_id;
  std::string thumbnail_blob_id;
};

// A group's members replaced (`before` lets apply and readers unindex).
struct group_members_set {
  std::uint64_t group = 0;
  std::vector<std::string> before;
  std::vector<std::string> members;
};

// --- exchange and limit tiers (schemas/fx_commands.h, docs/exchange.md) -----

struct rate_set {
  std::string from_asset;
  std::string to_asset;
  amount_t rate_e18 = 0;
  std::uint32_t fee_bps = 0;
  std::uint32_t quote_ttl_s = 0;
  std::int64_t valid_from_us = 0;
  std::int64_t valid_until_us = 0;
};

// A quote fixed in the engine. The wallet gives `from_amount` (the fee
// included), the house keeps `fee` of it, and the wallet receives
// `to_amount`; every rounding is in the house's favour.
struct quote_issued {
  std::uint64_t id = 0;  // the sequence of the event
  std::string owner;
  std::string from_asset;
  std::string to_asset;
  fx_side side = fx_side::sell;
  amount_t rate_e18 = 0;
  std::uint32_t fee_bps = 0;
  amount_t from_amount = 0;
  amount_t fee = 0;
  amount_t to_amount = 0;
  std::int64_t expires_at_us = 0;
};

// The exchange (this event) spent quote `id`; the quote's terms are
// repeated so the event explains itself to consumers without state.
struct quote_used {
  std::uint64_t id = 0;
  std::uint64_t exchange = 0;
  std::uint64_t wallet = 0;     // paid from_amount of from_asset
  std::uint64_t to_wallet = 0;  // received to_amount of to_asset
  std::string from_asset;
  std::string to_asset;
  amount_t rate_e18 = 0;
  amount_t from_amount = 0;
  amount_t fee = 0;
  amount_t to_amount = 0;
};

struct fx_limit_set {
  std::string asset;
  amount_t overdraft = 0;
};

struct owner_tier_set {
  std::string owner;
  owner_tier tier = owner_tier::none;
};

struct tier_limits_set {
  owner_tier tier = owner_tier::none;
  std::string asset;
  amount_t per_transaction = 0;
  amount_t daily = 0;
  amount_t monthly = 0;
};

// Running total of debits of (account, asset) in one calendar month (UTC,
// log time) that counted against a tier's monthly limit.
struct monthly_usage {
  std::uint64_t account = 0;
  std::string asset;
  std::int32_t month = 0;  // months since January 1970
  amount_t used_after = 0;
};

// --- document exports and owner deletion (schemas/owner_commands.h) -------

// An owner's documents exported (count and plain bytes as streamed); its log
// time starts the owner's next export_interval_us.
struct documents_exported {
  std::string owner;
  std::uint64_t document_count = 0;
  std::uint64_t total_bytes = 0;
  std::int64_t at_us = 0;  // log time of the export
};

// An owner deleted. The same event carries an account_status_changed
// (closed) per wallet, a session_closed (revoked) per session and a
// document_deleted per document before this effect; it repeats what was
// closed so a reader of this effect alone knows it.
//
// Layout: the last three lists were added later. An owner_deleted is always
// the last effect of its event, so one written before them ends its event
// at at_us and decodes with the lists empty (schemas/fields.h).
struct owner_chain_address {
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  bool operator==(const owner_chain_address&) const = default;
};
struct owner_deleted {
  std::string owner;
  std::vector<std::uint64_t> wallets;    // closed by this event
  std::vector<std::uint64_t> sessions;   // revoked by this event
  std::vector<std::uint64_t> documents;  // removed by this event
  std::int64_t at_us = 0;
  std::vector<owner_chain_address> addresses;    // disconnected by this event (wallet_disconnected)
  std::vector<std::uint64_t> groups;             // left by this event (group_members_set without the owner)
  std::vector<std::uint64_t> payment_requests;   // closed by this event (payment_request_closed); notes erased
};

// Quotes forgotten by the engine (a system event): spent or not, each had
// expired at least quote_forget_after_us before the event's log time, so no
// exchange can spend it any more; the key space drops them so quotes do not
// grow without bound (docs/exchange.md, "Key space").
struct quotes_forgotten {
  std::vector<std::uint64_t> ids;  // ascending by (expiry, id); 1 to quotes_forgotten_per_event_max
};

// The position of a type in this list is its code in the event format:
// append new effects at the end, never reorder (checked below).
using effect = std::variant<asset_registered, account_opened, account_status_changed, balance_changed,
                            daily_usage, pending_opened, pending_closed, transaction_recorded, challenge_issued,
                            challenge_closed, session_opened, session_closed, wallet_connected, wallet_disconnected,
                            fee_schedule_changed, money_tx_opened, money_tx_changed, auth_failed,
                            payout_destination_registered, document_uploaded, document_deleted,
                            group_members_set, rate_set, quote_issued, quote_used, fx_limit_set,
                            owner_tier_set, tier_limits_set, monthly_usage, payment_request_opened,
                            payment_request_closed, documents_exported, owner_deleted, quotes_forgotten>;
static_assert(std::is_same_v<std::variant_alternative_t<0, effect>, asset_registered>);
static_assert(std::is_same_v<std::variant_alternative_t<3, effect>, balance_changed>);
static_assert(std::is_same_v<std::variant_alternative_t<7, effect>, transaction_recorded>);
static_assert(std::is_same_v<std::variant_alternative_t<8, effect>, challenge_issued>);
static_assert(std::is_same_v<std::variant_alternative_t<13, effect>, wallet_disconnected>);
static_assert(std::is_same_v<std::variant_alternative_t<14, effect>, fee_schedule_changed>);
static_assert(std::is_same_v<std::variant_alternative_t<16, effect>, money_tx_changed>);
static_assert(std::is_same_v<std::variant_alternative_t<17, effect>, auth_failed>);
static_assert(std::is_same_v<std::variant_alternative_t<18, effect>, payout_destination_registered>);
static_assert(std::is_same_v<std::variant_alternative_t<19, effect>, document_uploaded>);
static_assert(std::is_same_v<std::variant_alternative_t<21, effect>, group_members_set>);
static_assert(std::is_same_v<std::variant_alternative_t<22, effect>, rate_set>);
static_assert(std::is_same_v<std::variant_alternative_t<28, effect>, monthly_usage>);
static_assert(std::is_same_v<std::variant_alternative_t<29, effect>, payment_request_opened>);
static_assert(std::is_same_v<std::variant_alternative_t<30, effect>, payment_request_closed>);
static_assert(std::is_same_v<std::variant_alternative_t<31, effect>, documents_exported>);
static_assert(std::is_same_v<std::variant_alternative_t<32, effect>, owner_deleted>);
static_assert(std::is_same_v<std::variant_alternative_t<33, effect>, quotes_forgotten>);
static_assert(std::variant_size_v<effect> == 34, "a new effect goes at the end with the next code");

enum class event_status : std::uint8_t { accepted = 1, rejected = 2 };

struct event {
  // Assigned by the writer.
  std::uint64_t seq = 0;
  std::int64_t log_ts_us = 0;
  std::uint64_t input_pos = 0;
  // What was asked. System events have command_type::none and empty fields.
  std::string principal;
  std::string idempotency_key;
  std::string request_id;
  hash256 payload_hash{};
  std::string body;  // encode_body() bytes of the command; empty for system events
  // What happened.
  event_status status = event_status::accepted;
  ledger::reason reason = reason::none;
  std::string detail;  // human-readable detail of a rejection (e.g. which field)
  std::vector<effect> effects;
};

// Canonical bytes of an event (everything above; not the chain hash).
std::string encode_event(const event& e);
status decode_event(std::string_view bytes, event& out);

// Stored journal record: canonical bytes followed by the 32-byte chain hash.
std::string encode_journal_record(std::string_view event_bytes, const hash256& chain);
status split_journal_record(std::string_view record, std::string_view& event_bytes, hash256& chain);

command_type event_command_type(const event& e);

}  // namespace ledger
