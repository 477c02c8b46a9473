// The ledger state and the one function that changes it: apply(event).
//
// The canonical state is a key-value space (see "Key space" below). Hot parts
// (assets, accounts, open holds and withdrawals) are also kept in memory for
// the writer; cold parts (transaction records, idempotency records, closed
// pendings) are read through `state_kv` when needed. Every change apply makes
// is written through `state_kv`, so a RocksDB-backed live ledger and a
// map-backed rebuild hold the same bytes and therefore the same digest.
//
// Thread: one writer thread owns a ledger_state; nothing here locks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "schemas/base.h"
#include "schemas/events.h"
#include "engine/payment_requests.h"

namespace ledger {

// Key space (first byte):
//   'a' code          -> asset_record
//   'w' id (8, BE)    -> account_record
//   'p' id            -> pending_record, open holds and withdrawals
//   'q' id            -> pending_record, closed (with resolution)
//   'r' id            -> id of the reversal of transaction id (8, BE)
//   'o' owner 0 id    -> (empty) index of user wallets by owner
//   'i' principal 0 key -> idem_record
//   'c' nonce           -> challenge_record, until the challenge's expiry
//   's' id (8, BE)      -> session_record, active sessions
//   't' token sha256    -> session id (8, BE), active sessions
//   'u' owner 0 id      -> (empty) index of active sessions by owner
//   'x' chain address   -> connection_record (chain is one byte); loaded at start
//                          to index addresses by owner in memory (no 'K' key:
//                          see owner_connections)
//   'f' asset 0 kind    -> fee_schedule_record (kind is one byte)
//   'm' id (8, BE)      -> money_tx_record: deposits, withdrawals, payments, refunds
//   'n' owner 0 reference -> id (8, BE): references unique per owner
//   'v' provider 0 reference -> id (8, BE): deposits by provider reference
//   'd' id (8, BE)      -> payout destination (payout_destination_registered bytes; ciphertext fields)
//   'y' wallet (8) id (8) -> (empty) index of payout destinations by wallet
//   'e' wallet (8, BE)  -> number of payout destinations of the wallet (8, BE)
//   'D' id (8, BE)      -> document record (document_uploaded bytes; file name is ciphertext)
//   'E' owner 0 id (8)  -> (empty) index of documents by owner; 'E' owner 1 -> their number (8, BE)
//   'F' group (8) id (8) -> (empty) index of documents by group
//   'G' group (8, BE)   -> the group's members (list of principals); loaded at
//                          start to index groups by member in memory
//   'H' member 0 group (8) -> (empty) index of groups by member; 'H' member 1 -> their number (8, BE)
//   'R' from 0 to       -> rate_record (engine/fx_state.cpp)
//   'Q' id (8, BE)      -> quote_record, until forgotten (loaded at start: their expiries)
//   'X' 'l' asset       -> the house FX account's overdraft limit in asset (amount)
//   'X' 'm' account (8, BE) asset -> monthly_record: tier monthly usage
//   'T' owner           -> owner_tier (one byte)
//   'L' tier (1) asset  -> tier_limits_record
//   'P' id (8, BE)      -> payment_request_record, open (pending) requests
//   'B' id (8, BE)      -> payment_request_record, closed requests
//   'J' owner           -> log time of the owner's last accepted export (8, BE)
//   'O' owner           -> log time of the owner's deletion (8, BE)
namespace keys {
std::string asset(std::string_view code);
std::string account(std::uint64_t id);
std::string open_pending(std::uint64_t id);
std::string closed_pending(std::uint64_t id);
std::string reversal(std::uint64_t id);
std::string owner_index(std::string_view owner, std::uint64_t id);
std::string owner_prefix(std::string_view owner);
// Every asset key starts with this; scan it to list the assets.
std::string asset_prefix();
// The account id inside an owner_index key.
std::uint64_t owner_index_account(std::string_view key);
std::string idempotency(std::string_view principal, std::string_view key);
std::string challenge(std::string_view nonce);
std::string session(std::uint64_t id);
std::string session_token(std::string_view token_hash);
std::string owner_session(std::string_view owner, std::uint64_t id);
std::string owner_session_prefix(std::string_view owner);
std::string connection(wallet_chain chain, std::string_view address);
std::string fee_schedule(std::string_view asset, money_kind kind);
// Every fee schedule key starts with this; scan it to list the schedules.
std::string fee_schedule_prefix();
std::string money_tx(std::uint64_t id);
std::string money_reference(std::string_view owner, std::string_view reference);
std::string provider_reference(std::string_view provider, std::string_view reference);
std::string payout_destination(std::uint64_t id);
std::string wallet_payout(std::uint64_t wallet, std::uint64_t id);
std::string wallet_payout_prefix(std::uint64_t wallet);
std::string payout_count(std::uint64_t wallet);
std::string document(std::uint64_t id);
std::string owner_documents_prefix(std::string_view owner);
std::string owner_document(std::string_view owner, std::uint64_t id);
std::string owner_document_count(std::string_view owner);
std::string owner_last_export(std::string_view owner);
std::string deleted_owner(std::string_view owner);
std::string group_documents_prefix(std::uint64_t group);
std::string group_document(std::uint64_t group, std::uint64_t id);
std::string group_members(std::uint64_t group);
std::string member_groups_prefix(std::string_view member);
std::string member_group(std::string_view member, std::uint64_t group);
std::string member_group_count(std::string_view member);
std::string rate(std::string_view from, std::string_view to);
std::string rate_prefix();  // scan it to list the rates
std::string quote(std::uint64_t id);
std::string fx_limit(std::string_view asset);
std::string fx_limit_prefix();
std::string monthly(std::uint64_t account, std::string_view asset);
std::string owner_tier_of(std::string_view owner);
std::string tier_limits(owner_tier tier, std::string_view asset);
std::string tier_limits_prefix();
std::string open_payment_request(std::uint64_t id);
std::string closed_payment_request(std::uint64_t id);
}  // namespace keys

// Exchange and tiers (engine/fx_state.cpp; docs/exchange.md).
struct rate_record {
  std::string from_asset;
  std::string to_asset;
  amount_t rate_e18 = 0;
  std::uint32_t fee_bps = 0;
  std::uint32_t quote_ttl_s = 0;
  std::int64_t valid_from_us = 0;
  std::int64_t valid_until_us = 0;
};
struct quote_record {
  quote_issued q;
  std::uint64_t used_by = 0;  // the exchange that spent it; 0: unused
};
struct tier_limits_record {
  owner_tier tier = owner_tier::none;
  std::string asset;
  amount_t per_transaction = 0;
  amount_t daily = 0;
  amount_t monthly = 0;
};
struct monthly_record {
  std::int32_t month = 0;
  amount_t used = 0;
};
std::string encode(const rate_record& r);
std::string encode(const quote_record& r);
std::string encode(const tier_limits_record& r);
std::string encode(const monthly_record& r);
status decode(std::string_view bytes, rate_record& r);
status decode(std::string_view bytes, quote_record& r);
status decode(std::string_view bytes, tier_limits_record& r);
status decode(std::string_view bytes, monthly_record& r);

// A stored payment request (engine/payment_requests.cpp).
std::string encode(const payment_request_record& r);
status decode(std::string_view bytes, payment_request_record& r);

// A stored payout destination (engine/payouts.cpp).
std::string encode(const payout_destination_registered& r);
status decode(std::string_view bytes, payout_destination_registered& r);
// A stored document and a group's members (engine/documents.cpp).
std::string encode(const document_uploaded& r);
status decode(std::string_view bytes, document_uploaded& r);
std::string encode_group_members(const std::vector<std::string>& members);
status decode_group_members(std::string_view bytes, std::vector<std::string>& members);

// Bounds on session state, so memory and every event stay bounded.
inline constexpr std::size_t sessions_per_owner_max = 256;
inline constexpr std::size_t challenges_open_max = 65'536;
// Sessions and challenges each swept before one command, at most.
inline constexpr std::size_t session_expiries_per_command_max = 256;

class state_kv {
 public:
  virtual ~state_kv() = default;
  virtual std::optional<std::string> get(std::string_view key) = 0;
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void del(std::string_view key) = 0;
};

// A map-backed state_kv, for rebuilds and unit tests. Ordered, so its
// iteration order is RocksDB's bytewise order.
class map_kv final : public state_kv {
 public:
  std::optional<std::string> get(std::string_view key) override;
  void put(std::string_view key, std::string_view value) override { map_[std::string(key)] = std::string(value); }
  void del(std::string_view key) override { map_.erase(std::string(key)); }
  const std::map<std::string, std::string>& entries() const { return map_; }

 private:
  std::map<std::string, std::string> map_;
};

struct asset_record {
  std::string code;
  std::uint8_t scale = 0;
  amount_t min_amount = 0;
  amount_t max_amount = 0;
};

struct balance_record {
  std::string asset;
  amount_t overdraft_limit = 0;
  amount_t daily_debit_limit = 0;
  amount_t debits_posted = 0;
  amount_t credits_posted = 0;
  amount_t debits_pending = 0;
  amount_t credits_pending = 0;
  std::int32_t daily_day = 0;
  amount_t daily_used = 0;

  amount_t posted() const { return credits_posted - debits_posted; }
  // What the owner may still spend: posted minus held, plus any overdraft.
  amount_t available() const { return credits_posted - debits_posted - debits_pending + overdraft_limit; }
};

struct account_record {
  std::uint64_t id = 0;
  account_kind kind = account_kind::user;
  account_status status = account_status::active;
  std::string owner;
  std::vector<balance_record> balances;

  balance_record* balance(std::string_view asset);
  const balance_record* balance(std::string_view asset) const;
};

struct pending_record {
  std::uint64_t id = 0;
  pending_kind kind = pending_kind::hold;
  std::uint64_t debit_account = 0;
  std::uint64_t credit_account = 0;
  std::string asset;
  amount_t amount = 0;
  std::int64_t expires_at_us = 0;
  pending_resolution resolution = pending_resolution::open;
  amount_t posted_amount = 0;
  // Whether opening it counted against the wallet's daily limit, and on
  // which UTC day of log time (record version 2 only; a version 1 record
  // counted nothing).
  bool usage_counted = false;
  std::int32_t usage_day = 0;
};

struct tx_leg {
  std::uint64_t account = 0;
  std::string asset;
  amount_t debit = 0;
  amount_t credit = 0;
};

// A posted money movement, as read back from its event.
struct tx_record {
  std::uint64_t id = 0;
  tx_kind kind = tx_kind::deposit;
  std::uint64_t reverses = 0;
  std::uint64_t reversed_by = 0;
  std::int64_t log_ts_us = 0;    // of the event that recorded it
  std::uint64_t pending_id = 0;  // the hold or withdrawal it posted (capture, withdrawal)
  std::vector<tx_leg> legs;
};

struct challenge_record {
  std::string nonce;
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;
  std::string address;
  std::string domain;
  std::string uri;
  std::int64_t issued_at_us = 0;
  std::int64_t expires_at_us = 0;
  std::uint64_t consumed_by = 0;  // the session that used the nonce; 0: unused
};

struct session_record {
  std::uint64_t id = 0;
  std::string owner;
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  std::string token_hash;
  std::string nonce;
  std::int64_t opened_at_us = 0;
  std::int64_t expires_at_us = 0;
};

struct connection_record {
  wallet_chain chain = wallet_chain::ethereum;
  std::string address;
  std::string owner;
};

struct fee_schedule_record {
  std::string asset;
  money_kind kind = money_kind::transfer;
  amount_t fixed = 0;
  std::uint32_t basis_points = 0;
  amount_t minimum = 0;
  amount_t maximum = 0;
};

// The fee of moving `amount` (minor units, 0..amount_limit) under `s`:
// fixed + amount * basis_points / 10000, the basis-point part rounded half up
// to the minor unit, then clamped to [minimum, maximum]. Exact integer
// arithmetic; never overflows for amounts up to amount_limit.
amount_t fee_for(const fee_schedule_record& s, amount_t amount);

// A deposit, withdrawal, payment or refund with a status (money_tx_opened
// and what changed it since).
struct money_tx_record {
  std::uint64_t id = 0;
  money_kind kind = money_kind::deposit;
  money_status status = money_status::pending;
  std::uint64_t debit_account = 0;
  std::uint64_t credit_account = 0;
  std::string asset;
  amount_t amount = 0;
  amount_t fee = 0;
  std::string provider;
  std::string reference;
  std::string owner;
  std::string description;
  std::string metadata;
  std::uint64_t refund_of = 0;
  // Payments and deposits: the sum of their refunds that are pending,
  // processing or completed (what may no longer be refunded).
  amount_t refunded = 0;
  std::int64_t opened_at_us = 0;  // log time of the event that opened it
  std::string reason;             // of the last status change
  bool open() const { return status == money_status::pending || status == money_status::processing; }
};

struct idem_record {
  hash256 payload_hash{};
  std::uint64_t seq = 0;
};

std::string encode(const asset_record& r);
std::string encode(const account_record& r);
std::string encode(const pending_record& r);
std::string encode(const idem_record& r);
std::string encode(const fee_schedule_record& r);
std::string encode(const money_tx_record& r);
status decode(std::string_view bytes, fee_schedule_record& r);
status decode(std::string_view bytes, money_tx_record& r);
std::string encode(const challenge_record& r);
std::string encode(const session_record& r);
std::string encode(const connection_record& r);
status decode(std::string_view bytes, challenge_record& r);
status decode(std::string_view bytes, session_record& r);
status decode(std::string_view bytes, connection_record& r);
status decode(std::string_view bytes, asset_record& r);
status decode(std::string_view bytes, account_record& r);
status decode(std::string_view bytes, pending_record& r);
status decode(std::string_view bytes, idem_record& r);

// Reads a past event by sequence (transactions are looked up in the journal,
// where their legs already are, rather than stored twice). Returns nullopt
// only for a sequence not in the journal; a read error must crash, since
// turning it into a rejection would make the outcome depend on the disk.
using event_lookup = std::function<std::optional<event>(std::uint64_t seq)>;

class ledger_state {
 public:
  ledger_state(state_kv& kv, event_lookup lookup) : kv_(kv), lookup_(std::move(lookup)) {}

  // Loads the hot parts from the key space (at start-up).
  status load(const std::vector<std::pair<std::string, std::string>>& entries);
  // Same, streaming: call once per stored (key, value) of the hot prefixes.
  status load_entry(std::string_view key, std::string_view value);

  // Applies one event's effects. Events are trusted (they come from decide or
  // from a verified journal); an inconsistency is a programmer error or
  // corruption and crashes.
  void apply(const event& e);
  // Writes accounts changed since the last flush to the key space. Called at
  // the end of each batch so a hot account is written once per batch.
  void flush();

  // --- reads for decide ---
  const asset_record* asset(std::string_view code) const;
  const account_record* account(std::uint64_t id) const;
  std::uint64_t system_account(std::string_view name) const;  // 0 if none
  std::uint64_t next_account_id() const { return accounts_.size() + 1; }
  const pending_record* open_pending(std::uint64_t id) const;
  std::optional<pending_record> closed_pending(std::uint64_t id) const;
  std::optional<tx_record> transaction(std::uint64_t id) const;
  // Whether transaction `id` was reversed (reads the key space).
  bool reversed(std::uint64_t id) const;
  std::optional<idem_record> idempotency(std::string_view principal, std::string_view key) const;
  // Sum of the open holds debiting (account, asset) whose expiry is at or
  // before `now_us`: amounts still in debits_pending that no longer reserve
  // anything. Costs one step per such hold of the account.
  amount_t expired_held(std::uint64_t account, std::string_view asset, std::int64_t now_us) const;
  // Open holds whose expiry is at or before `now_us`, earliest first, at most `max`.
  std::vector<std::uint64_t> due_holds(std::int64_t now_us, std::size_t max) const;

  // --- fee schedules and statuses (engine/money_state.cpp) ---
  std::optional<fee_schedule_record> fee_schedule(std::string_view asset, money_kind kind) const;
  std::optional<money_tx_record> money_tx(std::uint64_t id) const;
  // The transaction an owner's reference or a provider's reference names; 0: none.
  std::uint64_t money_tx_by_reference(std::string_view owner, std::string_view reference) const;
  std::uint64_t money_tx_by_provider(std::string_view provider, std::string_view reference) const;

  // --- wallet sessions (engine/session_state.cpp) ---
  const challenge_record* challenge(std::string_view nonce) const;
  const session_record* session(std::uint64_t id) const;
  std::optional<connection_record> connection(wallet_chain chain, std::string_view address) const;
  // Active session ids of an owner, or of an address; ascending.
  std::vector<std::uint64_t> owner_sessions(std::string_view owner) const;
  std::vector<std::uint64_t> address_sessions(wallet_chain chain, std::string_view address) const;
  // The addresses connected to `owner`, by (chain, address). An in-memory
  // index built at load from the 'x' records and kept by apply, so stores
  // written before it need no migration and the digest covers only 'x'.
  std::vector<connection_record> owner_connections(std::string_view owner) const;
  bool token_in_use(std::string_view token_hash) const;
  // Sessions and challenges whose expiry is at or before `now_us`, earliest first, at most `max`.
  std::vector<std::uint64_t> due_sessions(std::int64_t now_us, std::size_t max) const;
  std::vector<std::string> due_challenges(std::int64_t now_us, std::size_t max) const;
  std::size_t challenge_count() const { return challenges_.size(); }

  // --- payout destinations (engine/payouts.cpp) ---
  std::uint64_t payout_destination_count(std::uint64_t wallet) const;

  // --- documents (engine/documents.cpp) ---
  std::optional<document_uploaded> document(std::uint64_t id) const;
  std::vector<std::string> group_members(std::uint64_t group) const;
  std::uint64_t document_count(std::string_view owner) const;
  std::uint64_t group_count(std::string_view member) const;
  // The groups `member` belongs to, ascending (in memory, from 'G' at load).
  std::vector<std::uint64_t> member_groups(std::string_view member) const;
  // --- document exports and owner deletion (engine/owners.cpp) ---
  // Log time of the owner's last accepted export, or of its deletion; nullopt: none.
  std::optional<std::int64_t> last_export_us(std::string_view owner) const;
  std::optional<std::int64_t> owner_deleted_at_us(std::string_view owner) const;
  std::size_t session_count() const { return sessions_.size(); }

  // --- exchange and limit tiers (engine/fx_state.cpp) ---
  std::optional<rate_record> rate(std::string_view from, std::string_view to) const;
  std::optional<quote_record> quote(std::uint64_t id) const;
  // Quotes to forget at `now_us` (schemas/fx_commands.h,
  // quote_forget_after_us): by (expiry, id), a full event's worth, or fewer
  // once the oldest has waited a further quote_forget_after_us; else none.
  std::vector<std::uint64_t> quotes_to_forget(std::int64_t now_us) const;
  std::size_t quote_count() const { return quote_expiry_.size(); }
  amount_t fx_limit(std::string_view asset) const;  // 0 when none set
  owner_tier tier_of(std::string_view owner) const;  // none when none set
  std::optional<tier_limits_record> tier_limits(owner_tier tier, std::string_view asset) const;
  monthly_record monthly(std::uint64_t account, std::string_view asset) const;
  bool has_tier_limits() const { return !tier_limits_.empty(); }
  // --- payment requests (engine/payment_requests.cpp) ---
  // Open or closed; nullopt for an id that never was a request.
  std::optional<payment_request_record> payment_request(std::uint64_t id) const;
  std::size_t open_payment_requests(std::string_view requester) const;
  // Open requests naming `owner` as requester or payer, ascending.
  std::vector<std::uint64_t> party_payment_requests(std::string_view owner) const;
  std::size_t open_payment_request_count() const { return requests_.size(); }
  // Open requests whose expiry is at or before `now_us`, earliest first, at most `max`.
  std::vector<std::uint64_t> due_payment_requests(std::int64_t now_us, std::size_t max) const;

  std::size_t account_count() const { return accounts_.size(); }
  std::size_t asset_count() const { return assets_.size(); }
  std::size_t open_pending_count() const { return pending_.size(); }
  const std::vector<account_record>& accounts() const { return accounts_; }

 private:
  void apply_effect(const effect& fx, const daily_usage* usage);
  void open_account(const account_opened& o);
  account_record& mutable_account(std::uint64_t id);
  state_kv& kv_;
  event_lookup lookup_;
  std::unordered_map<std::string, asset_record> assets_;
  std::vector<account_record> accounts_;  // id = index + 1
  std::unordered_map<std::string, std::uint64_t> system_names_;
  std::unordered_map<std::uint64_t, pending_record> pending_;
  std::set<std::pair<std::int64_t, std::uint64_t>> expiry_;  // (expires_at_us, hold id)
  // Open holds with an expiry by debit account: (expires_at_us, hold id).
  std::unordered_map<std::uint64_t, std::set<std::pair<std::int64_t, std::uint64_t>>> holds_by_account_;
  void apply_session_effect(const effect& fx);
  // Returns false when `fx` is no fee or status effect.
  bool apply_money_effect(const effect& fx);
  void put_money_tx(const money_tx_record& r);
  void apply_payout_effect(const payout_destination_registered& p);
  void apply_document_effect(const effect& fx);
  void apply_owner_effect(const effect& fx);
  // Returns false when `fx` is no exchange or tier effect.
  bool apply_fx_effect(const effect& fx);
  // Tier limits are few and read on every debit: kept in memory (key: keys::tier_limits).
  std::map<std::string, tier_limits_record> tier_limits_;
  status load_session_entry(std::string_view key, std::string_view value);
  void index_session(const session_record& r);
  void unindex_session(const session_record& r);
  std::int64_t apply_ts_us_ = 0;  // log time of the event being applied
  std::unordered_map<std::string, challenge_record> challenges_;
  std::set<std::pair<std::int64_t, std::string>> challenge_expiry_;
  std::unordered_map<std::uint64_t, session_record> sessions_;
  std::set<std::pair<std::int64_t, std::uint64_t>> session_expiry_;
  std::unordered_map<std::string, std::set<std::uint64_t>> sessions_by_owner_;
  std::unordered_map<std::string, std::set<std::uint64_t>> sessions_by_address_;  // by keys::connection
  void index_hold(const pending_record& p);
  void unindex_hold(const pending_record& p);
  // Payment requests: the open ones, by expiry, and how many each requester holds.
  bool apply_request_effect(const effect& fx);
  status load_request_entry(std::string_view value);
  std::unordered_map<std::uint64_t, payment_request_record> requests_;
  std::set<std::pair<std::int64_t, std::uint64_t>> request_expiry_;
  std::unordered_map<std::string, std::size_t> requests_by_requester_;
  // Open requests by requester and by payer (for an owner's deletion).
  std::unordered_map<std::string, std::set<std::uint64_t>> requests_by_party_;
  void index_request(const payment_request_record& r, bool add);
  void erase_request_note(std::uint64_t id);
  // Owner -> keys::connection of its addresses; member -> its groups.
  std::unordered_map<std::string, std::set<std::string>> connections_by_owner_;
  std::unordered_map<std::string, std::set<std::uint64_t>> groups_by_member_;
  void index_group(std::uint64_t group, const std::vector<std::string>& members, bool add);
  status load_group_entry(std::string_view key, std::string_view value);
  // Quotes in the key space, by expiry: loaded at start ('Q'), so the
  // forgetting sweep needs no scan. Bounded by the quotes of the last
  // quote_ttl_s_max + quote_forget_after_us.
  std::set<std::pair<std::int64_t, std::uint64_t>> quote_expiry_;
  std::vector<std::uint64_t> dirty_;                          // accounts changed since flush
  std::unordered_set<std::uint64_t> dirty_set_;
};

}  // namespace ledger
