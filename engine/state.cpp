#include "engine/record_codec.h"
#include "engine/state.h"

#include <algorithm>

#include "schemas/fields.h"

namespace ledger {

template <class A> void fields(A& a, asset_record& v) { a(v.code); a(v.scale); a(v.min_amount); a(v.max_amount); }
template <class A> void fields(A& a, balance_record& v) {
  a(v.asset); a(v.overdraft_limit); a(v.daily_debit_limit);
  a(v.debits_posted); a(v.credits_posted); a(v.debits_pending); a(v.credits_pending);
  a(v.daily_day); a(v.daily_used);
}
template <class A> void fields(A& a, account_record& v) { a(v.id); a(v.kind); a(v.status); a(v.owner); a(v.balances); }
template <class A> void fields(A& a, pending_record& v) {
  a(v.id); a(v.kind); a(v.debit_account); a(v.credit_account); a(v.asset); a(v.amount); a(v.expires_at_us);
  a(v.resolution); a(v.posted_amount);
}

static_assert(ledger_assets_max <= record_list_items_max,
              "a system account's record must decode with one balance row per registered asset");
static_assert(wallet_assets_max <= ledger_assets_max);

namespace {

constexpr std::uint8_t record_version = 1;
constexpr std::uint8_t pending_record_version_usage = 2;

template <typename T>
std::string encode_record(const T& r) { return encode_versioned(record_version, r); }

template <typename T>
status decode_record(std::string_view bytes, T& r, const char* what) {
  return decode_versioned(bytes, record_version, what, r);
}

}  // namespace

namespace keys {
std::string asset(std::string_view code) { return asset_prefix() + std::string(code); }
std::string asset_prefix() { return "a"; }
std::string account(std::uint64_t id) {
  std::string k = "w";
  put_key_u64(k, id);
  return k;
}
std::string open_pending(std::uint64_t id) {
  std::string k = "p";
  put_key_u64(k, id);
  return k;
}
std::string closed_pending(std::uint64_t id) {
  std::string k = "q";
  put_key_u64(k, id);
  return k;
}
std::string reversal(std::uint64_t id) {
  std::string k = "r";
  put_key_u64(k, id);
  return k;
}
std::string owner_prefix(std::string_view owner) {
  std::string k = "o";
  k.append(owner);
  k.push_back('\0');  // owners never contain NUL (validate rejects control characters)
  return k;
}
std::string owner_index(std::string_view owner, std::uint64_t id) {
  std::string k = owner_prefix(owner);
  put_key_u64(k, id);
  return k;
}
std::uint64_t owner_index_account(std::string_view key) {
  LEDGER_ASSERT_GT(key.size(), 8u, "an owner index key ends with an 8-byte account id");
  return get_key_u64(key.substr(key.size() - 8));
}
std::string idempotency(std::string_view principal, std::string_view key) {
  std::string k;
  k.reserve(2 + principal.size() + key.size());
  k.push_back('i');
  k.append(principal);
  k.push_back('\0');  // principals never contain NUL (validate rejects control characters)
  k.append(key);
  return k;
}
}  // namespace keys

std::optional<std::string> map_kv::get(std::string_view key) {
  auto it = map_.find(std::string(key));
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

std::string encode(const asset_record& r) { return encode_record(r); }
std::string encode(const account_record& r) { return encode_record(r); }
// Version 1 unless the pending counted daily usage: then version 2, with
// the day appended. Records that count nothing keep their version 1 bytes,
// so their digest is what it always was.
std::string encode(const pending_record& r) {
  std::string out = encode_record(r);
  if (!r.usage_counted) return out;
  out[0] = static_cast<char>(pending_record_version_usage);
  writer w(out);
  w.u32(static_cast<std::uint32_t>(r.usage_day));
  return out;
}
std::string encode(const idem_record& r) {
  std::string out;
  writer w(out);
  w.u8(record_version);
  w.raw(std::string_view(reinterpret_cast<const char*>(r.payload_hash.data()), r.payload_hash.size()));
  w.u64(r.seq);
  return out;
}
status decode(std::string_view b, asset_record& r) {
  auto s = decode_record(b, r, "asset");
  if (s && (r.scale > scale_max || r.min_amount < 1 || r.max_amount < r.min_amount))
    return status::corruption("asset: field out of range");
  return s;
}
status decode(std::string_view b, account_record& r) {
  auto s = decode_record(b, r, "account");
  if (s && (r.status < account_status::active || r.status > account_status::closed ||
            (r.kind != account_kind::user && r.kind != account_kind::system)))
    return status::corruption("account: field out of range");
  return s;
}
status decode(std::string_view b, pending_record& r) {
  status s;
  r.usage_counted = false;
  r.usage_day = 0;
  if (b.size() > 4 && static_cast<std::uint8_t>(b[0]) == pending_record_version_usage) {
    std::string v1(b.substr(0, b.size() - 4));
    v1[0] = static_cast<char>(record_version);
    s = decode_record(v1, r, "pending");
    reader tail(b.substr(b.size() - 4));
    r.usage_counted = true;
    r.usage_day = static_cast<std::int32_t>(tail.u32());
  } else {
    s = decode_record(b, r, "pending");
  }
  if (s && ((r.kind != pending_kind::hold && r.kind != pending_kind::withdrawal) ||
            r.resolution > pending_resolution::failed || r.amount <= 0))
    return status::corruption("pending: field out of range");
  return s;
}
status decode(std::string_view b, idem_record& r) {
  reader rd(b);
  std::uint8_t v = rd.u8();
  auto h = rd.raw(32);
  r.seq = rd.u64();
  if (!rd.ok() || !rd.at_end() || v != record_version) return status::corruption("idempotency: record malformed");
  std::copy(h.begin(), h.end(), r.payload_hash.begin());
  return status::ok();
}

balance_record* account_record::balance(std::string_view asset) {
  for (auto& b : balances)
    if (b.asset == asset) return &b;
  return nullptr;
}
const balance_record* account_record::balance(std::string_view asset) const {
  return const_cast<account_record*>(this)->balance(asset);
}

status ledger_state::load_entry(std::string_view key, std::string_view value) {
  if (key.empty()) return status::corruption("empty state key");
  switch (key[0]) {
    case 'a': {
      asset_record a;
      if (auto s = decode(value, a); !s) return s;
      assets_[a.code] = a;
      return status::ok();
    }
    case 'w': {
      account_record a;
      if (auto s = decode(value, a); !s) return s;
      // Keys are big-endian ids, so a full scan visits them in order.
      if (a.id != accounts_.size() + 1) return status::corruption("account ids are not dense at " + std::to_string(a.id));
      if (a.kind == account_kind::system) system_names_[a.owner] = a.id;
      accounts_.push_back(std::move(a));
      return status::ok();
    }
    case 'p': {
      pending_record p;
      if (auto s = decode(value, p); !s) return s;
      index_hold(p);
      pending_[p.id] = std::move(p);
      return status::ok();
    }
    case 'c':
    case 's':
    case 'x':
      return load_session_entry(key, value);
    case 'G':
      return load_group_entry(key, value);
    case 'L': {
      tier_limits_record t;
      if (auto s = decode(value, t); !s) return s;
      tier_limits_[std::string(key)] = std::move(t);
      return status::ok();
    }
    case 'P':
      return load_request_entry(value);
    case 'Q': {
      quote_record q;
      if (auto s = decode(value, q); !s) return s;
      quote_expiry_.insert({q.q.expires_at_us, q.q.id});
      return status::ok();
    }
    default:
      return status::ok();  // cold records stay in the store
  }
}

status ledger_state::load(const std::vector<std::pair<std::string, std::string>>& entries) {
  for (const auto& [k, v] : entries)
    if (auto s = load_entry(k, v); !s) return s;
  return status::ok();
}

const asset_record* ledger_state::asset(std::string_view code) const {
  auto it = assets_.find(std::string(code));
  return it == assets_.end() ? nullptr : &it->second;
}

const account_record* ledger_state::account(std::uint64_t id) const {
  if (id == 0 || id > accounts_.size()) return nullptr;
  return &accounts_[id - 1];
}

account_record& ledger_state::mutable_account(std::uint64_t id) {
  LEDGER_ASSERT(id >= 1 && id <= accounts_.size(), "event refers to account %llu; %zu exist", static_cast<unsigned long long>(id), accounts_.size());
  if (dirty_set_.insert(id).second) dirty_.push_back(id);
  return accounts_[id - 1];
}

std::uint64_t ledger_state::system_account(std::string_view name) const {
  auto it = system_names_.find(std::string(name));
  return it == system_names_.end() ? 0 : it->second;
}

const pending_record* ledger_state::open_pending(std::uint64_t id) const {
  auto it = pending_.find(id);
  return it == pending_.end() ? nullptr : &it->second;
}

std::optional<pending_record> ledger_state::closed_pending(std::uint64_t id) const {
  auto v = kv_.get(keys::closed_pending(id));
  if (!v) return std::nullopt;
  pending_record p;
  LEDGER_ASSERT(decode(*v, p).is_ok(), "stored closed pending record is corrupt");
  return p;
}

std::optional<tx_record> ledger_state::transaction(std::uint64_t id) const {
  auto e = lookup_(id);
  if (!e) return std::nullopt;
  tx_record t;
  bool found = false;
  for (const auto& fx : e->effects) {
    if (auto* r = std::get_if<transaction_recorded>(&fx); r && r->id == id) {
      t.id = r->id;
      t.kind = r->kind;
      t.reverses = r->reverses;
      found = true;
    } else if (auto* c = std::get_if<pending_closed>(&fx)) {
      t.pending_id = c->id;
    } else if (auto* b = std::get_if<balance_changed>(&fx); b && (b->d_debits_posted != 0 || b->d_credits_posted != 0)) {
      t.legs.push_back(tx_leg{b->account, b->asset, b->d_debits_posted, b->d_credits_posted});
    }
  }
  if (!found) return std::nullopt;
  t.log_ts_us = e->log_ts_us;
  if (auto v = kv_.get(keys::reversal(id))) t.reversed_by = get_key_u64(*v);
  return t;
}

bool ledger_state::reversed(std::uint64_t id) const { return kv_.get(keys::reversal(id)).has_value(); }

std::optional<idem_record> ledger_state::idempotency(std::string_view principal, std::string_view key) const {
  auto v = kv_.get(keys::idempotency(principal, key));
  if (!v) return std::nullopt;
  idem_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored idempotency record is corrupt");
  return r;
}

std::vector<std::uint64_t> ledger_state::due_holds(std::int64_t now_us, std::size_t max) const {
  std::vector<std::uint64_t> out;
  for (auto it = expiry_.begin(); it != expiry_.end() && it->first <= now_us && out.size() < max; ++it)
    out.push_back(it->second);
  return out;
}

void ledger_state::index_hold(const pending_record& p) {
  if (p.kind != pending_kind::hold || p.expires_at_us <= 0) return;
  expiry_.insert({p.expires_at_us, p.id});
  holds_by_account_[p.debit_account].insert({p.expires_at_us, p.id});
}

void ledger_state::unindex_hold(const pending_record& p) {
  if (p.kind != pending_kind::hold || p.expires_at_us <= 0) return;
  expiry_.erase({p.expires_at_us, p.id});
  auto it = holds_by_account_.find(p.debit_account);
  if (it == holds_by_account_.end()) return;
  it->second.erase({p.expires_at_us, p.id});
  if (it->second.empty()) holds_by_account_.erase(it);
}

amount_t ledger_state::expired_held(std::uint64_t account, std::string_view asset, std::int64_t now_us) const {
  auto it = holds_by_account_.find(account);
  if (it == holds_by_account_.end()) return 0;
  amount_t sum = 0;
  for (auto h = it->second.begin(); h != it->second.end() && h->first <= now_us; ++h) {
    const auto& p = pending_.at(h->second);
    if (p.asset == asset) sum += p.amount;
  }
  return sum;
}

void ledger_state::apply(const event& e) {
  apply_ts_us_ = e.log_ts_us;
  // A pending opened by an event that also records daily usage of its
  // debit side counted against the limit on that day (decide adds the
  // usage effect first).
  const daily_usage* usage = nullptr;
  for (const auto& fx : e.effects) {
    if (auto* u = std::get_if<daily_usage>(&fx)) usage = u;
    apply_effect(fx, usage);
  }
  // Every outcome is remembered under its key, rejections too: a retry must
  // see the same answer the first attempt got. Not kept: conflicts (the key
  // belongs to the first payload) and invalid commands (their key may be
  // malformed itself).
  if (!e.idempotency_key.empty() && e.reason != reason::idempotency_conflict &&
      e.reason != reason::invalid_argument)
    kv_.put(keys::idempotency(e.principal, e.idempotency_key), encode(idem_record{e.payload_hash, e.seq}));
}

void ledger_state::open_account(const account_opened& ev) {
  const auto* o = &ev;
  LEDGER_ASSERT_EQ(o->id, accounts_.size() + 1, "account ids must be dense");
  account_record r;
  r.id = o->id;
  r.kind = o->kind;
  r.owner = o->owner;
  for (const auto& wa : o->assets) {
    balance_record b;
    b.asset = wa.asset;
    b.overdraft_limit = wa.overdraft_limit;
    b.daily_debit_limit = wa.daily_debit_limit;
    r.balances.push_back(std::move(b));
  }
  if (r.kind == account_kind::system) {
    LEDGER_ASSERT(!system_names_.count(r.owner), "system account name taken");
    system_names_[r.owner] = r.id;
  } else {
    kv_.put(keys::owner_index(r.owner, r.id), {});
  }
  accounts_.push_back(std::move(r));
  mutable_account(o->id);
}

void ledger_state::apply_effect(const effect& fx, const daily_usage* usage) {
  if (auto* a = std::get_if<asset_registered>(&fx)) {
    asset_record r{a->code, a->scale, a->min_amount, a->max_amount};
    LEDGER_ASSERT(!assets_.count(r.code), "asset registered twice");
    kv_.put(keys::asset(r.code), encode(r));
    assets_.emplace(r.code, std::move(r));
  } else if (auto* o = std::get_if<account_opened>(&fx)) {
    open_account(*o);
  } else if (auto* s = std::get_if<account_status_changed>(&fx)) {
    auto& acc = mutable_account(s->id);
    LEDGER_ASSERT_EQ(acc.status, s->from, "status change from a status the account is not in");
    acc.status = s->to;
  } else if (auto* b = std::get_if<balance_changed>(&fx)) {
    auto& acc = mutable_account(b->account);
    auto* bal = acc.balance(b->asset);
    if (!bal) {
      LEDGER_ASSERT(acc.kind == account_kind::system, "wallet posting in an asset it does not hold");
      acc.balances.push_back(balance_record{});
      bal = &acc.balances.back();
      bal->asset = b->asset;
    }
    bal->debits_posted += b->d_debits_posted;
    bal->credits_posted += b->d_credits_posted;
    bal->debits_pending += b->d_debits_pending;
    bal->credits_pending += b->d_credits_pending;
    LEDGER_ASSERT(bal->posted() == b->posted_after && bal->debits_pending == b->debits_pending_after &&
                      bal->credits_pending == b->credits_pending_after,
                  "balance after an event differs from the one it recorded");
  } else if (auto* d = std::get_if<daily_usage>(&fx)) {
    auto& acc = mutable_account(d->account);
    auto* bal = acc.balance(d->asset);
    LEDGER_ASSERT(bal != nullptr, "daily usage for an asset the account does not hold");
    bal->daily_day = d->day;
    bal->daily_used = d->used_after;
  } else if (auto* p = std::get_if<pending_opened>(&fx)) {
    pending_record r{p->id, p->kind, p->debit_account, p->credit_account, p->asset, p->amount, p->expires_at_us,
                     pending_resolution::open, 0};
    if (usage && usage->account == r.debit_account && usage->asset == r.asset) {
      r.usage_counted = true;
      r.usage_day = usage->day;
    }
    LEDGER_ASSERT(!pending_.count(r.id), "pending %llu opened twice", static_cast<unsigned long long>(r.id));
    index_hold(r);
    kv_.put(keys::open_pending(r.id), encode(r));
    pending_.emplace(r.id, std::move(r));
  } else if (auto* c = std::get_if<pending_closed>(&fx)) {
    auto it = pending_.find(c->id);
    LEDGER_ASSERT(it != pending_.end(), "closing a pending that is not open");
    pending_record r = std::move(it->second);
    pending_.erase(it);
    unindex_hold(r);
    r.resolution = c->resolution;
    r.posted_amount = c->posted_amount;
    kv_.del(keys::open_pending(r.id));
    kv_.put(keys::closed_pending(r.id), encode(r));
  } else if (auto* t = std::get_if<transaction_recorded>(&fx); t && t->reverses != 0) {
    LEDGER_ASSERT(!kv_.get(keys::reversal(t->reverses)), "transaction reversed twice");
    std::string id_bytes;
    put_key_u64(id_bytes, t->id);
    kv_.put(keys::reversal(t->reverses), id_bytes);
  } else if (auto* pd = std::get_if<payout_destination_registered>(&fx)) {
    apply_payout_effect(*pd);
  } else if (std::holds_alternative<document_uploaded>(fx) || std::holds_alternative<document_deleted>(fx) ||
             std::holds_alternative<group_members_set>(fx)) {
    apply_document_effect(fx);
  } else if (!apply_money_effect(fx) && !apply_fx_effect(fx) && !apply_request_effect(fx)) {
    apply_session_effect(fx);  // each of these two ignores the other's effects
    apply_owner_effect(fx);
  }
}

void ledger_state::flush() {
  for (auto id : dirty_) kv_.put(keys::account(id), encode(accounts_[id - 1]));
  dirty_.clear();
  dirty_set_.clear();
}

}  // namespace ledger
