// Payment requests: state (open requests hot, closed ones cold) and the
// decisions of the four commands and of the expiry sweep. The rules are in
// docs/payment-requests.md; keep them in step.
//
// Paying is one event: the transfer's balance legs, its transaction, and the
// request closed as paid naming that transaction, so a request is never paid
// without the money moving, nor the money moved without the request paid.
#include "engine/record_codec.h"
#include "engine/money_decide.h"
#include "schemas/codec.h"
#include "schemas/fields.h"
#include "schemas/time.h"

namespace ledger {

template <class A> void fields(A& a, payment_request_record& v) {
  a(v.id); a(v.requester); a(v.wallet); a(v.payer); a(v.asset); a(v.amount); a(v.note); a(v.expires_at_us);
  a(v.opened_at_us); a(v.status); a(v.closed_at_us); a(v.transaction_id); a(v.payer_wallet); a(v.reason);
}

namespace {
constexpr std::uint8_t request_record_version = 1;

std::string id_key(char prefix, std::uint64_t id) {
  std::string k(1, prefix);
  put_key_u64(k, id);
  return k;
}
}  // namespace

namespace keys {
std::string open_payment_request(std::uint64_t id) { return id_key('P', id); }
std::string closed_payment_request(std::uint64_t id) { return id_key('B', id); }
}  // namespace keys

std::string encode(const payment_request_record& r) { return encode_versioned(request_record_version, r); }

status decode(std::string_view bytes, payment_request_record& r) {
  if (auto st = decode_versioned(bytes, request_record_version, "payment request", r); !st) return st;
  if (r.status < payment_request_status::pending || r.status > payment_request_status::cancelled)
    return status::corruption("payment request: unknown status");
  return status::ok();
}

// --- state ------------------------------------------------------------------

status ledger_state::load_request_entry(std::string_view value) {
  payment_request_record r;
  if (auto s = decode(value, r); !s) return s;
  request_expiry_.insert({r.expires_at_us, r.id});
  ++requests_by_requester_[r.requester];
  index_request(r, true);
  requests_[r.id] = std::move(r);
  return status::ok();
}

void ledger_state::index_request(const payment_request_record& r, bool add) {
  for (const auto* party : {&r.requester, &r.payer}) {
    if (add) {
      requests_by_party_[*party].insert(r.id);
      continue;
    }
    auto it = requests_by_party_.find(*party);
    if (it == requests_by_party_.end()) continue;
    it->second.erase(r.id);
    if (it->second.empty()) requests_by_party_.erase(it);
  }
}

std::vector<std::uint64_t> ledger_state::party_payment_requests(std::string_view owner) const {
  auto it = requests_by_party_.find(std::string(owner));
  if (it == requests_by_party_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

// A deleted owner's request keeps its amounts and parties (money history)
// but not its note, the one free text the requester wrote.
void ledger_state::erase_request_note(std::uint64_t id) {
  auto v = kv_.get(keys::closed_payment_request(id));
  LEDGER_ASSERT(v.has_value(), "erasing the note of a payment request that is not closed");
  payment_request_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored payment request is corrupt");
  r.note.clear();
  kv_.put(keys::closed_payment_request(id), encode(r));
}

std::optional<payment_request_record> ledger_state::payment_request(std::uint64_t id) const {
  if (auto it = requests_.find(id); it != requests_.end()) return it->second;
  auto v = kv_.get(keys::closed_payment_request(id));
  if (!v) return std::nullopt;
  payment_request_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored payment request is corrupt");
  return r;
}

std::size_t ledger_state::open_payment_requests(std::string_view requester) const {
  auto it = requests_by_requester_.find(std::string(requester));
  return it == requests_by_requester_.end() ? 0 : it->second;
}

std::vector<std::uint64_t> ledger_state::due_payment_requests(std::int64_t now_us, std::size_t max) const {
  std::vector<std::uint64_t> out;
  for (auto it = request_expiry_.begin(); it != request_expiry_.end() && it->first <= now_us && out.size() < max; ++it)
    out.push_back(it->second);
  return out;
}

bool ledger_state::apply_request_effect(const effect& fx) {
  if (auto* o = std::get_if<payment_request_opened>(&fx)) {
    LEDGER_ASSERT(!requests_.count(o->id), "payment request opened twice");
    payment_request_record r{o->id, o->requester, o->wallet, o->payer, o->asset, o->amount, o->note, o->expires_at_us,
                             apply_ts_us_};
    kv_.put(keys::open_payment_request(r.id), encode(r));
    request_expiry_.insert({r.expires_at_us, r.id});
    ++requests_by_requester_[r.requester];
    index_request(r, true);
    requests_.emplace(r.id, std::move(r));
    return true;
  }
  auto* c = std::get_if<payment_request_closed>(&fx);
  if (!c) return false;
  auto it = requests_.find(c->id);
  LEDGER_ASSERT(it != requests_.end(), "closing a payment request that is not open");
  payment_request_record r = std::move(it->second);
  requests_.erase(it);
  request_expiry_.erase({r.expires_at_us, r.id});
  if (auto n = requests_by_requester_.find(r.requester); n != requests_by_requester_.end() && --n->second == 0)
    requests_by_requester_.erase(n);
  index_request(r, false);
  r.status = c->status;
  r.closed_at_us = apply_ts_us_;
  r.transaction_id = c->transaction_id;
  r.payer_wallet = c->payer_wallet;
  r.reason = c->reason;
  kv_.del(keys::open_payment_request(r.id));
  kv_.put(keys::closed_payment_request(r.id), encode(r));
  return true;
}

// --- decisions ----------------------------------------------------------------

namespace money_detail {

namespace {

std::string name_of(const payment_request_record& r) { return "payment request " + std::to_string(r.id); }

// The request `id` while it may still be paid, declined or cancelled; else
// rejects with the reason it may not. A request past its expiry is expired
// whether or not the sweep (bounded per command) has closed it yet.
std::optional<payment_request_record> open_request(decision& d, std::uint64_t id) {
  auto r = d.s.payment_request(id);
  if (!r) {
    d.reject(reason::unknown_payment_request, "no payment request " + std::to_string(id));
    return std::nullopt;
  }
  switch (r->status) {
    case payment_request_status::pending:
      if (r->expires_at_us > d.ctx.now_us) return r;
      d.reject(reason::payment_request_expired, name_of(*r) + " expired at " + format_rfc3339_us(r->expires_at_us));
      break;
    case payment_request_status::paid:
      d.reject(reason::payment_request_paid, name_of(*r) + " is already paid by transaction " + std::to_string(r->transaction_id));
      break;
    case payment_request_status::expired:
      d.reject(reason::payment_request_expired, name_of(*r) + " expired at " + format_rfc3339_us(r->expires_at_us));
      break;
    case payment_request_status::cancelled:
      d.reject(reason::payment_request_cancelled, name_of(*r) + " was cancelled by its requester");
      break;
    case payment_request_status::declined:
      d.reject(reason::payment_request_declined, name_of(*r) + " was declined by its payer");
      break;
  }
  return std::nullopt;
}

bool is_payer(decision& d, const payment_request_record& r, const std::string& who) {
  if (r.payer == who) return true;
  d.reject(reason::not_request_party, "only the payer of " + name_of(r) + " may pay or decline it");
  return false;
}

}  // namespace

void decide_body(decision& d, const create_payment_request_cmd& c) {
  const auto* w = d.s.account(c.wallet);
  if (!usable_wallet(d, w, false)) return;
  if (w->owner != c.requester)
    return d.reject(reason::unknown_wallet, "wallet: " + std::to_string(c.wallet) + " is not the requester's");
  if (!movement_asset(d, c.asset, c.amount) || !wallet_balance(d, *w, c.asset)) return;
  if (c.expires_at_us <= d.ctx.now_us) return d.reject(reason::invalid_argument, "expires_at: must be after the log time");
  if (c.expires_at_us - d.ctx.now_us > payment_request_ttl_us_max)
    return d.reject(reason::invalid_argument, "expires_at: at most 90 days after the log time");
  if (d.s.open_payment_requests(c.requester) >= open_payment_requests_per_requester_max)
    return d.reject(reason::too_many_payment_requests, "the requester has " +
                                                           std::to_string(open_payment_requests_per_requester_max) +
                                                           " open payment requests, the most it may hold");
  d.out.effects.emplace_back(
      payment_request_opened{d.ctx.seq, c.requester, c.wallet, c.payer, c.asset, c.amount, c.note, c.expires_at_us});
  d.accept(legs{});
}

// Pays as a transfer pays (the scheduled transfer fee on top, the payer's
// daily limit and available balance), to the wallet the request names.
void decide_body(decision& d, const pay_payment_request_cmd& c) {
  auto r = open_request(d, c.id);
  if (!r || !is_payer(d, *r, c.payer)) return;
  if (c.asset != r->asset)
    return d.reject(reason::asset_mismatch, "asset: " + name_of(*r) + " is for " + r->asset + ", not " + c.asset);
  if (c.amount != 0 && c.amount != r->amount) return d.reject(reason::invalid_argument, "amount: differs from the requested amount");
  const auto* from = d.s.account(c.wallet);
  if (!usable_wallet(d, from, true)) return;
  if (from->owner != c.payer) return d.reject(reason::unknown_wallet, "wallet: " + std::to_string(c.wallet) + " is not the payer's");
  const auto* to = d.s.account(r->wallet);
  if (!usable_wallet(d, to, false)) return;
  const balance_record* b = nullptr;
  if (!movement_asset(d, r->asset, r->amount) || !(b = wallet_balance(d, *from, r->asset))) return;
  amount_t fee = scheduled_fee(d, r->asset, money_kind::transfer, r->amount);
  amount_t total = 0;
  if (!checked_add(r->amount, fee, total)) return d.reject(reason::overflow, "amount + fee is too large");
  std::uint64_t fees = 0;
  if (fee > 0 && !(fees = system_account(d, "fee_revenue"))) return;
  if (!can_debit(d, *from, *b, total)) return;
  legs l;
  l.at(from->id, r->asset).debits_posted = total;
  l.at(to->id, r->asset).credits_posted = r->amount;
  if (fee > 0) l.at(fees, r->asset).credits_posted = fee;
  d.out.effects.emplace_back(transaction_recorded{d.ctx.seq, tx_kind::transfer, 0});
  d.out.effects.emplace_back(payment_request_closed{r->id, payment_request_status::paid, d.ctx.seq, from->id, {}});
  d.accept(l);
}

void decide_body(decision& d, const decline_payment_request_cmd& c) {
  auto r = open_request(d, c.id);
  if (!r || !is_payer(d, *r, c.payer)) return;
  d.out.effects.emplace_back(payment_request_closed{r->id, payment_request_status::declined, 0, 0, c.reason});
  d.accept(legs{});
}

void decide_body(decision& d, const cancel_payment_request_cmd& c) {
  auto r = open_request(d, c.id);
  if (!r) return;
  if (r->requester != c.requester)
    return d.reject(reason::not_request_party, "only the requester of " + name_of(*r) + " may cancel it");
  d.out.effects.emplace_back(payment_request_closed{r->id, payment_request_status::cancelled, 0, 0, c.reason});
  d.accept(legs{});
}

}  // namespace money_detail

void decide_payment_request_expiry(const ledger_state& s, const std::vector<std::uint64_t>& ids, event& out) {
  out.effects.clear();
  for (auto id : ids) {
    auto r = s.payment_request(id);
    LEDGER_ASSERT(r && r->status == payment_request_status::pending, "expiring a payment request that is not open");
    out.effects.emplace_back(payment_request_closed{id, payment_request_status::expired, 0, 0, {}});
  }
  out.status = event_status::accepted;
}

}  // namespace ledger
