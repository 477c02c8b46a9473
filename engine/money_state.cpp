// Fee schedules and transactions with a status: their records, keys and how
// their effects change the state (docs/engine.md, "Fees" and "Statuses").
// Both are cold: decide reads them through the key space when a command
// names them, so nothing here is loaded at start-up.
#include "engine/record_codec.h"
#include "engine/state.h"
#include "schemas/fields.h"

namespace ledger {

template <class A> void fields(A& a, fee_schedule_record& v) {
  a(v.asset); a(v.kind); a(v.fixed); a(v.basis_points); a(v.minimum); a(v.maximum);
}
template <class A> void fields(A& a, money_tx_record& v) {
  a(v.id); a(v.kind); a(v.status); a(v.debit_account); a(v.credit_account); a(v.asset); a(v.amount); a(v.fee);
  a(v.provider); a(v.reference); a(v.owner); a(v.description); a(v.metadata); a(v.refund_of); a(v.refunded);
  a(v.opened_at_us); a(v.reason);
}

namespace {

constexpr std::uint8_t money_record_version = 1;

template <typename T>
std::string encode_money_record(const T& r) { return encode_versioned(money_record_version, r); }

template <typename T>
status decode_money_record(std::string_view bytes, T& r, const char* what) {
  return decode_versioned(bytes, money_record_version, what, r);
}

std::string text_key(char prefix, std::string_view a, std::string_view b) {
  std::string k(1, prefix);
  k.append(a);
  k.push_back('\0');  // owners, providers and asset codes never contain NUL (validate rejects control characters)
  k.append(b);
  return k;
}

std::string id_bytes(std::uint64_t id) {
  std::string v;
  put_key_u64(v, id);
  return v;
}

}  // namespace

namespace keys {
std::string fee_schedule_prefix() { return "f"; }
std::string fee_schedule(std::string_view asset, money_kind kind) {
  return text_key('f', asset, std::string(1, static_cast<char>(kind)));
}
std::string money_tx(std::uint64_t id) {
  std::string k = "m";
  put_key_u64(k, id);
  return k;
}
std::string money_reference(std::string_view owner, std::string_view reference) {
  return text_key('n', owner, reference);
}
std::string provider_reference(std::string_view provider, std::string_view reference) {
  return text_key('v', provider, reference);
}
}  // namespace keys

amount_t fee_for(const fee_schedule_record& s, amount_t amount) {
  // amount * bps / 10000 without a 128-bit overflow: split amount into
  // q * 10000 + r, so the product is q * bps (exact, at most amount) plus
  // r * bps / 10000, which alone needs rounding (half up: + 5000).
  constexpr amount_t unit = 10'000;
  amount_t q = amount / unit;
  amount_t r = amount % unit;
  amount_t bps = static_cast<amount_t>(s.basis_points);
  amount_t fee = s.fixed + q * bps + (r * bps + unit / 2) / unit;
  if (fee < s.minimum) fee = s.minimum;
  if (fee > s.maximum) fee = s.maximum;
  return fee;
}

std::string encode(const fee_schedule_record& r) { return encode_money_record(r); }
std::string encode(const money_tx_record& r) { return encode_money_record(r); }

status decode(std::string_view bytes, fee_schedule_record& r) {
  auto s = decode_money_record(bytes, r, "fee schedule");
  if (s && (r.kind < money_kind::deposit || r.kind > money_kind::refund || r.basis_points > basis_points_max ||
            r.minimum > r.maximum))
    return status::corruption("fee schedule: field out of range");
  return s;
}

status decode(std::string_view bytes, money_tx_record& r) {
  auto s = decode_money_record(bytes, r, "money transaction");
  if (s && (r.kind < money_kind::deposit || r.kind > money_kind::refund || r.status < money_status::pending ||
            r.status > money_status::cancelled))
    return status::corruption("money transaction: field out of range");
  return s;
}

std::optional<fee_schedule_record> ledger_state::fee_schedule(std::string_view asset, money_kind kind) const {
  auto v = kv_.get(keys::fee_schedule(asset, kind));
  if (!v) return std::nullopt;
  fee_schedule_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored fee schedule is corrupt");
  return r;
}

std::optional<money_tx_record> ledger_state::money_tx(std::uint64_t id) const {
  auto v = kv_.get(keys::money_tx(id));
  if (!v) return std::nullopt;
  money_tx_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored money transaction is corrupt");
  return r;
}

std::uint64_t ledger_state::money_tx_by_reference(std::string_view owner, std::string_view reference) const {
  auto v = kv_.get(keys::money_reference(owner, reference));
  return v ? get_key_u64(*v) : 0;
}

std::uint64_t ledger_state::money_tx_by_provider(std::string_view provider, std::string_view reference) const {
  auto v = kv_.get(keys::provider_reference(provider, reference));
  return v ? get_key_u64(*v) : 0;
}

void ledger_state::put_money_tx(const money_tx_record& r) { kv_.put(keys::money_tx(r.id), encode(r)); }

bool ledger_state::apply_money_effect(const effect& fx) {
  if (auto* f = std::get_if<fee_schedule_changed>(&fx)) {
    auto key = keys::fee_schedule(f->asset, f->kind);
    if (f->removed) {
      LEDGER_ASSERT(kv_.get(key).has_value(), "removing a fee schedule that is not set");
      kv_.del(key);
    } else {
      kv_.put(key, encode(fee_schedule_record{f->asset, f->kind, f->fixed, f->basis_points, f->minimum, f->maximum}));
    }
  } else if (auto* o = std::get_if<money_tx_opened>(&fx)) {
    LEDGER_ASSERT(!kv_.get(keys::money_tx(o->id)), "transaction %llu opened twice", static_cast<unsigned long long>(o->id));
    money_tx_record r{o->id, o->kind, o->status, o->debit_account, o->credit_account, o->asset, o->amount, o->fee,
                      o->provider, o->reference, o->owner, o->description, o->metadata, o->refund_of, 0,
                      apply_ts_us_, {}};
    put_money_tx(r);
    if (!r.reference.empty()) {
      auto key = keys::money_reference(r.owner, r.reference);
      LEDGER_ASSERT(!kv_.get(key), "reference used twice by one owner");
      kv_.put(key, id_bytes(r.id));
    }
    if (r.kind == money_kind::deposit && !r.provider.empty() && !r.reference.empty())
      kv_.put(keys::provider_reference(r.provider, r.reference), id_bytes(r.id));
    if (r.refund_of != 0) {
      auto parent = money_tx(r.refund_of);
      LEDGER_ASSERT(parent.has_value(), "refund of an unknown transaction");
      parent->refunded += r.amount;
      LEDGER_ASSERT_LE(parent->refunded, parent->amount, "refunds exceed what was paid");
      put_money_tx(*parent);
    }
  } else if (auto* c = std::get_if<money_tx_changed>(&fx)) {
    auto r = money_tx(c->id);
    LEDGER_ASSERT(r.has_value(), "status change of an unknown transaction");
    LEDGER_ASSERT_EQ(r->status, c->from, "status change from a status the transaction is not in");
    LEDGER_ASSERT_EQ(r->kind, c->kind, "status change names another kind");
    r->status = c->to;
    r->reason = c->reason;
    put_money_tx(*r);
    // A refund that will not happen gives its amount back to what may be refunded.
    if (r->refund_of != 0 && (c->to == money_status::failed || c->to == money_status::cancelled)) {
      auto parent = money_tx(r->refund_of);
      LEDGER_ASSERT(parent.has_value(), "refund of an unknown transaction");
      parent->refunded -= r->amount;
      put_money_tx(*parent);
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace ledger
