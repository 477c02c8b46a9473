// Exchange and limit tiers: their records, keys and how their effects change
// the state (docs/exchange.md). Rates, quotes, FX limits, owner tiers and
// monthly usage are cold (read through the key space when a command needs
// them); tier limits are few and read on every debit, so they are also kept
// in memory (loaded at start-up with the 'L' prefix).
#include "engine/record_codec.h"
#include "engine/state.h"
#include "schemas/fields.h"

namespace ledger {

template <class A> void fields(A& a, rate_record& v) {
  a(v.from_asset); a(v.to_asset); a(v.rate_e18); a(v.fee_bps); a(v.quote_ttl_s); a(v.valid_from_us); a(v.valid_until_us);
}
template <class A> void fields(A& a, quote_record& v) { a(v.q); a(v.used_by); }
template <class A> void fields(A& a, tier_limits_record& v) {
  a(v.tier); a(v.asset); a(v.per_transaction); a(v.daily); a(v.monthly);
}
template <class A> void fields(A& a, monthly_record& v) { a(v.month); a(v.used); }

namespace {

constexpr std::uint8_t fx_record_version = 1;

template <typename T>
std::string encode_fx_record(const T& r) { return encode_versioned(fx_record_version, r); }

template <typename T>
status decode_fx_record(std::string_view bytes, T& r, const char* what) {
  return decode_versioned(bytes, fx_record_version, what, r);
}

std::string amount_bytes(amount_t v) {
  std::string out;
  writer w(out);
  w.amount(v);
  return out;
}

}  // namespace

namespace keys {
std::string rate_prefix() { return "R"; }
std::string rate(std::string_view from, std::string_view to) {
  std::string k = "R";
  k.append(from);
  k.push_back('\0');  // asset codes never contain NUL (validate refuses control characters)
  k.append(to);
  return k;
}
std::string quote(std::uint64_t id) {
  std::string k = "Q";
  put_key_u64(k, id);
  return k;
}
std::string fx_limit_prefix() { return "Xl"; }
std::string fx_limit(std::string_view asset) { return "Xl" + std::string(asset); }
std::string monthly(std::uint64_t account, std::string_view asset) {
  std::string k = "Xm";
  put_key_u64(k, account);
  k.append(asset);
  return k;
}
std::string owner_tier_of(std::string_view owner) { return "T" + std::string(owner); }
std::string tier_limits_prefix() { return "L"; }
std::string tier_limits(owner_tier tier, std::string_view asset) {
  std::string k = "L";
  k.push_back(static_cast<char>(tier));
  k.append(asset);
  return k;
}
}  // namespace keys

std::string encode(const rate_record& r) { return encode_fx_record(r); }
std::string encode(const quote_record& r) { return encode_fx_record(r); }
std::string encode(const tier_limits_record& r) { return encode_fx_record(r); }
std::string encode(const monthly_record& r) { return encode_fx_record(r); }

status decode(std::string_view bytes, rate_record& r) {
  auto s = decode_fx_record(bytes, r, "rate");
  if (s && (r.rate_e18 <= 0 || r.rate_e18 > amount_limit || r.fee_bps > fx_fee_bps_max))
    return status::corruption("rate: field out of range");
  return s;
}
status decode(std::string_view bytes, quote_record& r) {
  auto s = decode_fx_record(bytes, r, "quote");
  if (s && r.q.side != fx_side::sell && r.q.side != fx_side::buy) return status::corruption("quote: unknown side");
  return s;
}
status decode(std::string_view bytes, tier_limits_record& r) {
  auto s = decode_fx_record(bytes, r, "tier limits");
  if (s && r.tier > owner_tier::full) return status::corruption("tier limits: unknown tier");
  return s;
}
status decode(std::string_view bytes, monthly_record& r) { return decode_fx_record(bytes, r, "monthly usage"); }

std::optional<rate_record> ledger_state::rate(std::string_view from, std::string_view to) const {
  auto v = kv_.get(keys::rate(from, to));
  if (!v) return std::nullopt;
  rate_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored rate is corrupt");
  return r;
}

std::optional<quote_record> ledger_state::quote(std::uint64_t id) const {
  auto v = kv_.get(keys::quote(id));
  if (!v) return std::nullopt;
  quote_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored quote is corrupt");
  return r;
}

std::vector<std::uint64_t> ledger_state::quotes_to_forget(std::int64_t now_us) const {
  std::vector<std::uint64_t> out;
  for (auto it = quote_expiry_.begin(); it != quote_expiry_.end() && out.size() < quotes_forgotten_per_event_max; ++it) {
    if (it->first > now_us - quote_forget_after_us) break;
    out.push_back(it->second);
  }
  // Few due: wait, so that a steady trickle of quotes does not add a
  // system event to nearly every command.
  bool full = out.size() == quotes_forgotten_per_event_max;
  if (!full && (out.empty() || quote_expiry_.begin()->first > now_us - 2 * quote_forget_after_us)) out.clear();
  return out;
}

amount_t ledger_state::fx_limit(std::string_view asset) const {
  auto v = kv_.get(keys::fx_limit(asset));
  if (!v) return 0;
  reader rd(*v);
  amount_t a = rd.amount();
  LEDGER_ASSERT(rd.ok() && rd.at_end(), "stored FX limit is corrupt");
  return a;
}

owner_tier ledger_state::tier_of(std::string_view owner) const {
  auto v = kv_.get(keys::owner_tier_of(owner));
  if (!v) return owner_tier::none;
  LEDGER_ASSERT(v->size() == 1 && static_cast<std::uint8_t>((*v)[0]) <= 3, "stored owner tier is corrupt");
  return static_cast<owner_tier>((*v)[0]);
}

std::optional<tier_limits_record> ledger_state::tier_limits(owner_tier tier, std::string_view asset) const {
  auto it = tier_limits_.find(keys::tier_limits(tier, asset));
  if (it == tier_limits_.end()) return std::nullopt;
  return it->second;
}

monthly_record ledger_state::monthly(std::uint64_t account, std::string_view asset) const {
  auto v = kv_.get(keys::monthly(account, asset));
  monthly_record r;
  if (v) LEDGER_ASSERT(decode(*v, r).is_ok(), "stored monthly usage is corrupt");
  return r;
}

bool ledger_state::apply_fx_effect(const effect& fx) {
  if (auto* r = std::get_if<rate_set>(&fx)) {
    kv_.put(keys::rate(r->from_asset, r->to_asset),
            encode(rate_record{r->from_asset, r->to_asset, r->rate_e18, r->fee_bps, r->quote_ttl_s, r->valid_from_us,
                               r->valid_until_us}));
  } else if (auto* q = std::get_if<quote_issued>(&fx)) {
    LEDGER_ASSERT(!kv_.get(keys::quote(q->id)), "quote %llu issued twice", static_cast<unsigned long long>(q->id));
    kv_.put(keys::quote(q->id), encode(quote_record{*q, 0}));
    quote_expiry_.insert({q->expires_at_us, q->id});
  } else if (auto* f = std::get_if<quotes_forgotten>(&fx)) {
    for (auto id : f->ids) {
      auto rec = quote(id);
      LEDGER_ASSERT(rec.has_value(), "forgetting quote %llu, which is unknown", static_cast<unsigned long long>(id));
      quote_expiry_.erase({rec->q.expires_at_us, id});
      kv_.del(keys::quote(id));
    }
  } else if (auto* u = std::get_if<quote_used>(&fx)) {
    auto rec = quote(u->id);
    LEDGER_ASSERT(rec.has_value() && rec->used_by == 0, "spending quote %llu that is unknown or spent",
                  static_cast<unsigned long long>(u->id));
    rec->used_by = u->exchange;
    kv_.put(keys::quote(u->id), encode(*rec));
  } else if (auto* l = std::get_if<fx_limit_set>(&fx)) {
    kv_.put(keys::fx_limit(l->asset), amount_bytes(l->overdraft));
  } else if (auto* t = std::get_if<owner_tier_set>(&fx)) {
    kv_.put(keys::owner_tier_of(t->owner), std::string(1, static_cast<char>(t->tier)));
  } else if (auto* tl = std::get_if<tier_limits_set>(&fx)) {
    tier_limits_record rec{tl->tier, tl->asset, tl->per_transaction, tl->daily, tl->monthly};
    auto key = keys::tier_limits(tl->tier, tl->asset);
    kv_.put(key, encode(rec));
    tier_limits_[key] = std::move(rec);
  } else if (auto* m = std::get_if<monthly_usage>(&fx)) {
    kv_.put(keys::monthly(m->account, m->asset), encode(monthly_record{m->month, m->used_after}));
  } else {
    return false;
  }
  return true;
}

}  // namespace ledger
