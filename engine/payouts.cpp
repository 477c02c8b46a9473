// Payout destinations: bank details registered on a wallet, as ciphertext
// the API made (schemas/payout_commands.h). The engine never sees plaintext
// or keys; it checks the wallet and bounds the number per wallet, and keeps
// each destination as a cold record (read by the API, not loaded at start).
#include "engine/record_codec.h"
#include "engine/decide.h"
#include "schemas/codec.h"
#include "schemas/fields.h"

namespace ledger {

namespace {

constexpr std::uint8_t payout_record_version = 1;

// Key parts in the store's big-endian form (schemas/codec.h).
std::string be64(std::uint64_t v) {
  std::string s;
  put_key_u64(s, v);
  return s;
}

std::uint64_t from_be64(std::string_view s) { return get_key_u64(s); }

}  // namespace

namespace keys {
std::string payout_destination(std::uint64_t id) { return "d" + be64(id); }
std::string wallet_payout_prefix(std::uint64_t wallet) { return "y" + be64(wallet); }
std::string wallet_payout(std::uint64_t wallet, std::uint64_t id) { return wallet_payout_prefix(wallet) + be64(id); }
std::string payout_count(std::uint64_t wallet) { return "e" + be64(wallet); }
}  // namespace keys

std::string encode(const payout_destination_registered& r) {
  return encode_versioned(payout_record_version, r);
}

status decode(std::string_view bytes, payout_destination_registered& r) {
  return decode_versioned(bytes, payout_record_version, "payout destination", r);
}

std::uint64_t ledger_state::payout_destination_count(std::uint64_t wallet) const {
  auto v = kv_.get(keys::payout_count(wallet));
  return v && v->size() == 8 ? from_be64(*v) : 0;
}

void ledger_state::apply_payout_effect(const payout_destination_registered& p) {
  LEDGER_ASSERT(!kv_.get(keys::payout_destination(p.id)), "payout destination registered twice");
  kv_.put(keys::payout_destination(p.id), encode(p));
  kv_.put(keys::wallet_payout(p.wallet, p.id), {});
  kv_.put(keys::payout_count(p.wallet), be64(payout_destination_count(p.wallet) + 1));
}

void decide_payout(const ledger_state& s, const register_payout_destination_cmd& c, const decide_context& ctx,
                   event& out) {
  out.effects.clear();
  auto reject = [&](reason r, std::string detail) {
    out.status = event_status::rejected;
    out.reason = r;
    out.detail = std::move(detail);
  };
  const auto* a = s.account(c.wallet);
  if (!a || a->kind != account_kind::user) return reject(reason::unknown_wallet, "wallet " + std::to_string(c.wallet));
  if (a->status == account_status::closed) return reject(reason::wallet_closed, "wallet " + std::to_string(c.wallet));
  // The API encrypted under the wallet owner's data key; any other owner's would be unreadable.
  if (a->owner != c.owner) return reject(reason::invalid_argument, "owner: not the wallet's owner");
  if (s.payout_destination_count(c.wallet) >= payout_destinations_per_wallet_max)
    return reject(reason::invalid_state, "the wallet has " + std::to_string(payout_destinations_per_wallet_max) +
                                             " payout destinations");
  out.effects.emplace_back(payout_destination_registered{ctx.seq, c.wallet, c.owner, c.account_name, c.bank_id,
                                                         c.account_number, c.sender_details, c.receiver_details});
  out.status = event_status::accepted;
}

}  // namespace ledger
