#include "engine/rebuild.h"

#include <map>
#include <set>

#include "engine/chain.h"

namespace ledger {

namespace {
constexpr std::size_t read_events_max = 4096;
}  // namespace

namespace {

// Checks one event against the state it would be applied to, simulating
// its effects on copies, so that everything ledger_state::apply asserts
// (and everything a later load or decode would refuse) is reported as an
// error first: a forged event with a valid chain must not crash a replica.
class event_check {
 public:
  explicit event_check(const ledger_state& s) : s_(s) {}

  status run(const event& e) {
    now_us_ = e.log_ts_us;
    for (const auto& fx : e.effects)
      if (auto st = std::visit([&](const auto& v) { return check(v); }, fx); !st) return st;
    for (const auto& [asset, sum] : posted_)
      if (sum != 0) return status::corruption("posted legs in " + asset + " do not sum to zero");
    for (const auto& [asset, sum] : pending_)
      if (sum != 0) return status::corruption("pending legs in " + asset + " do not sum to zero");
    return after_mismatch_;
  }

 private:
  struct acct {
    account_kind kind;
    account_status status;
    const std::vector<wallet_asset>* assets;  // opened in this event; else null
  };

  bool asset_known(const std::string& code) const { return s_.asset(code) || new_assets_.count(code); }
  std::optional<acct> account(std::uint64_t id) const {
    auto st = status_.find(id);
    if (auto it = opened_.find(id); it != opened_.end())
      return acct{it->second->kind, st != status_.end() ? st->second : account_status::active, &it->second->assets};
    const auto* a = s_.account(id);
    if (!a) return std::nullopt;
    return acct{a->kind, st != status_.end() ? st->second : a->status, nullptr};
  }
  bool holds(std::uint64_t id, const std::string& asset) const {
    if (auto it = opened_.find(id); it != opened_.end()) {
      for (const auto& wa : it->second->assets)
        if (wa.asset == asset) return true;
      return false;
    }
    const auto* a = s_.account(id);
    return a && a->balance(asset) != nullptr;
  }
  static status bad(const std::string& m) { return status::corruption(m); }

  status check(const asset_registered& a) {
    if (a.code.empty() || a.code.size() > asset_code_bytes_max || asset_known(a.code)) return bad("registers asset " + a.code + " again or badly named");
    if (a.scale > scale_max || a.min_amount < 1 || a.max_amount < a.min_amount) return bad("asset " + a.code + " out of range");
    if (s_.asset_count() + new_assets_.size() >= ledger_assets_max) return bad("registers more than the asset bound");
    new_assets_.insert(a.code);
    return status::ok();
  }
  status check(const account_opened& o) {
    if (o.id != s_.next_account_id() + opened_.size()) return bad("opens account " + std::to_string(o.id) + " out of order");
    if (o.owner.empty() || o.owner.size() > owner_bytes_max || o.owner.find('\0') != std::string::npos)
      return bad("account " + std::to_string(o.id) + " has a malformed owner");
    if (o.kind == account_kind::system) {
      if (!o.assets.empty() || s_.system_account(o.owner) != 0 || !new_system_.insert(o.owner).second)
        return bad("system account " + o.owner + " is taken or lists assets");
    } else {
      if (o.assets.empty() || o.assets.size() > wallet_assets_max) return bad("wallet lists too few or too many assets");
      std::set<std::string> seen;
      for (const auto& wa : o.assets)
        if (!asset_known(wa.asset) || !seen.insert(wa.asset).second || wa.overdraft_limit < 0 || wa.daily_debit_limit < 0)
          return bad("wallet asset " + wa.asset + " unknown, repeated or with a negative limit");
    }
    opened_[o.id] = &o;
    return status::ok();
  }
  status check(const account_status_changed& c) {
    auto a = account(c.id);
    if (!a || a->kind != account_kind::user || a->status != c.from)
      return bad("status change of account " + std::to_string(c.id) + " from a status it is not in");
    status_[c.id] = c.to;
    return status::ok();
  }
  status check(const balance_changed& b);
  status check(const daily_usage& d) {
    auto a = account(d.account);
    if (!a || a->kind != account_kind::user || !holds(d.account, d.asset)) return bad("daily usage of an asset the account does not hold");
    return status::ok();
  }
  status check(const pending_opened& p) {
    if (s_.open_pending(p.id) || !opened_pendings_.insert(p.id).second) return bad("opens pending " + std::to_string(p.id) + " twice");
    if (p.amount <= 0 || !asset_known(p.asset) || !account(p.debit_account) || !account(p.credit_account))
      return bad("pending " + std::to_string(p.id) + " malformed");
    return status::ok();
  }
  status check(const pending_closed& c) {
    bool open = (s_.open_pending(c.id) || opened_pendings_.count(c.id)) && !closed_pendings_.count(c.id);
    if (!open) return bad("closes pending " + std::to_string(c.id) + ", which is not open");
    closed_pendings_.insert(c.id);
    return status::ok();
  }
  status check(const transaction_recorded& t) {
    if (t.reverses != 0 && (s_.reversed(t.reverses) || !reversed_.insert(t.reverses).second))
      return bad("reverses transaction " + std::to_string(t.reverses) + " twice");
    return status::ok();
  }

  // Fee schedules and transactions with a status (engine/money_state.cpp).
  status check(const fee_schedule_changed& f) {
    auto key = keys::fee_schedule(f.asset, f.kind);
    auto it = fee_schedules_.find(key);
    bool present = it != fee_schedules_.end() ? it->second : s_.fee_schedule(f.asset, f.kind).has_value();
    if (f.removed && !present) return bad("removes the fee schedule of " + f.asset + ", which is not set");
    if (!f.removed && (!asset_known(f.asset) || f.fixed < 0 || f.minimum < 0 || f.maximum < f.minimum ||
                       f.maximum > amount_limit || f.fixed > amount_limit))
      return bad("fee schedule of " + f.asset + " malformed");
    fee_schedules_[key] = !f.removed;
    return status::ok();
  }
  money_tx_record* money_tx(std::uint64_t id) {
    if (auto it = money_txs_.find(id); it != money_txs_.end()) return &it->second;
    auto m = s_.money_tx(id);
    return m ? &(money_txs_[id] = *m) : nullptr;
  }
  status check(const money_tx_opened& o) {
    if (money_tx(o.id)) return bad("opens transaction " + std::to_string(o.id) + " twice");
    if (o.amount <= 0 || o.amount > amount_limit || o.fee < 0 || o.fee > amount_limit || !asset_known(o.asset) ||
        !account(o.debit_account) || !account(o.credit_account))
      return bad("transaction " + std::to_string(o.id) + " malformed");
    if (!o.reference.empty() && (s_.money_tx_by_reference(o.owner, o.reference) != 0 ||
                                 !new_references_.insert(keys::money_reference(o.owner, o.reference)).second))
      return bad("transaction " + std::to_string(o.id) + " reuses its owner's reference");
    if (o.refund_of != 0) {
      auto* parent = money_tx(o.refund_of);
      if (!parent || parent->refunded + o.amount > parent->amount) return bad("refund " + std::to_string(o.id) + " exceeds what was paid");
      parent->refunded += o.amount;
    }
    money_tx_record r;
    r.id = o.id;
    r.kind = o.kind;
    r.status = o.status;
    r.amount = o.amount;
    r.refund_of = o.refund_of;
    money_txs_[o.id] = r;
    return status::ok();
  }
  status check(const money_tx_changed& c) {
    auto* m = money_tx(c.id);
    if (!m || m->status != c.from || m->kind != c.kind) return bad("changes transaction " + std::to_string(c.id) + " from a status it is not in");
    m->status = c.to;
    return status::ok();
  }

  status check(const challenge_issued& c) {
    if (c.nonce.empty() || c.nonce.size() > nonce_chars_max || c.expires_at_us <= c.issued_at_us)
      return bad("challenge " + c.nonce + " malformed");
    if (s_.challenge(c.nonce) || !new_challenges_.insert(c.nonce).second) return bad("issues challenge " + c.nonce + " twice");
    return status::ok();
  }
  status check(const challenge_closed& c) {
    bool open = (s_.challenge(c.nonce) || new_challenges_.count(c.nonce)) && !closed_challenges_.count(c.nonce);
    if (!open) return bad("closes challenge " + c.nonce + ", which is not open");
    closed_challenges_.insert(c.nonce);
    return status::ok();
  }
  status check(const session_opened& o);
  status check(const session_closed& c) {
    bool active = (s_.session(c.id) || new_sessions_.count(c.id)) && !closed_sessions_.count(c.id);
    if (!active) return bad("closes session " + std::to_string(c.id) + ", which is not active");
    closed_sessions_.insert(c.id);
    return status::ok();
  }
  // Whether (chain, address) is connected at this point of the event.
  bool connected(wallet_chain chain, const std::string& address) const {
    auto k = keys::connection(chain, address);
    if (auto it = connections_.find(k); it != connections_.end()) return it->second;
    return s_.connection(chain, address).has_value();
  }
  status check(const wallet_connected& c) {
    if (c.address.empty() || c.owner.empty() || c.owner.size() > owner_bytes_max || c.owner.find('\0') != std::string::npos)
      return bad("connection of " + c.address + " malformed");
    if (connected(c.chain, c.address)) return bad("connects " + c.address + ", which is connected");
    connections_[keys::connection(c.chain, c.address)] = true;
    return status::ok();
  }
  status check(const payout_destination_registered& p) {
    const auto* a = s_.account(p.wallet);
    if (!a || a->kind != account_kind::user || a->owner != p.owner) return bad("payout destination on a wallet it does not fit");
    if (s_.payout_destination_count(p.wallet) >= payout_destinations_per_wallet_max) return bad("too many payout destinations");
    if (p.account_number.rfind("enc1:", 0) != 0) return bad("payout destination holds a field that is not ciphertext");
    return status::ok();
  }
  // Documents: one effect per event, so the state before the event decides.
  status check(const document_uploaded& d) {
    if (d.owner.empty() || d.owner.size() > owner_bytes_max || d.owner.find('\0') != std::string::npos ||
        d.owner.find('\x01') != std::string::npos)
      return bad("document " + std::to_string(d.id) + " malformed");
    if (s_.document(d.id)) return bad("records document " + std::to_string(d.id) + " twice");
    if (d.file_name.rfind("enc1:", 0) != 0) return bad("document holds a file name that is not ciphertext");
    return status::ok();
  }
  status check(const document_deleted& d) {
    auto cur = s_.document(d.id);
    if (!cur || cur->owner != d.owner || cur->group != d.group) return bad("deletes document " + std::to_string(d.id) + ", which does not exist");
    return status::ok();
  }
  status check(const group_members_set& g) {
    if (g.group == 0 || g.members.size() > group_members_max) return bad("group members malformed");
    if (s_.group_members(g.group) != g.before) return bad("group " + std::to_string(g.group) + " members before differ");
    for (const auto& m : g.members)
      if (m.empty() || m.size() > owner_bytes_max || m.find('\0') != std::string::npos || m.find('\x01') != std::string::npos)
        return bad("group member malformed");
    return status::ok();
  }
  // Exchange and limit tiers (engine/fx_state.cpp).
  status check(const rate_set& r) {
    if (!asset_known(r.from_asset) || !asset_known(r.to_asset) || r.from_asset == r.to_asset || r.rate_e18 <= 0 ||
        r.rate_e18 > amount_limit || r.fee_bps > fx_fee_bps_max || r.valid_until_us <= r.valid_from_us)
      return bad("rate of " + r.from_asset + "->" + r.to_asset + " malformed");
    return status::ok();
  }
  status check(const quote_issued& q) {
    if (s_.quote(q.id) || !new_quotes_.insert(q.id).second) return bad("issues quote " + std::to_string(q.id) + " twice");
    if (!asset_known(q.from_asset) || !asset_known(q.to_asset) || q.from_amount <= 0 || q.to_amount <= 0 || q.fee < 0 ||
        q.fee >= q.from_amount || q.from_amount > amount_limit || q.to_amount > amount_limit)
      return bad("quote " + std::to_string(q.id) + " malformed");
    return status::ok();
  }
  status check(const quote_used& u) {
    auto q = s_.quote(u.id);
    if (!q || q->used_by != 0 || !spent_quotes_.insert(u.id).second)
      return bad("spends quote " + std::to_string(u.id) + ", which is unknown or spent");
    if (q->q.from_amount != u.from_amount || q->q.to_amount != u.to_amount || q->q.fee != u.fee ||
        q->q.from_asset != u.from_asset || q->q.to_asset != u.to_asset)
      return bad("exchange " + std::to_string(u.exchange) + " differs from the terms of quote " + std::to_string(u.id));
    return status::ok();
  }
  status check(const quotes_forgotten& f) {
    if (f.ids.empty() || f.ids.size() > quotes_forgotten_per_event_max) return bad("forgets no quote, or too many at once");
    std::set<std::uint64_t> seen;
    for (auto id : f.ids) {
      auto q = s_.quote(id);
      if (!q || !seen.insert(id).second || spent_quotes_.count(id))
        return bad("forgets quote " + std::to_string(id) + ", which is unknown or forgotten twice");
      if (q->q.expires_at_us > now_us_ - quote_forget_after_us)
        return bad("forgets quote " + std::to_string(id) + " before a day has passed since it expired");
    }
    return status::ok();
  }
  status check(const fx_limit_set& l) {
    if (!asset_known(l.asset) || l.overdraft < 0 || l.overdraft > amount_limit) return bad("FX limit of " + l.asset + " malformed");
    return status::ok();
  }
  status check(const owner_tier_set& t) {
    if (t.owner.empty() || t.owner.size() > owner_bytes_max) return bad("owner tier malformed");
    return status::ok();
  }
  status check(const tier_limits_set& t) {
    if (!asset_known(t.asset) || t.per_transaction < 0 || t.daily < 0 || t.monthly < 0) return bad("tier limits malformed");
    return status::ok();
  }
  status check(const monthly_usage& m) {
    if (!account(m.account) || m.used_after < 0) return bad("monthly usage of account " + std::to_string(m.account) + " malformed");
    return status::ok();
  }
  status check(const auth_failed& f) {
    if (f.address.empty() || f.check.empty() || f.client.empty()) return bad("auth failure record malformed");
    return status::ok();
  }
  // Payment requests (engine/payment_requests.cpp).
  status check(const payment_request_opened& o) {
    if (s_.payment_request(o.id) || !new_requests_.insert(o.id).second) return bad("opens payment request " + std::to_string(o.id) + " twice");
    auto w = account(o.wallet);
    if (!w || w->kind != account_kind::user || o.amount <= 0 || o.amount > amount_limit || !asset_known(o.asset) ||
        o.requester.empty() || o.payer.empty() || o.requester == o.payer)
      return bad("payment request " + std::to_string(o.id) + " malformed");
    return status::ok();
  }
  status check(const payment_request_closed& c) {
    auto r = s_.payment_request(c.id);
    bool open = ((r && r->status == payment_request_status::pending) || new_requests_.count(c.id)) && !closed_requests_.count(c.id);
    if (!open) return bad("closes payment request " + std::to_string(c.id) + ", which is not open");
    if ((c.status == payment_request_status::paid) != (c.transaction_id != 0))
      return bad("payment request " + std::to_string(c.id) + " is paid without its transaction, or the reverse");
    closed_requests_.insert(c.id);
    return status::ok();
  }
  std::set<std::uint64_t> new_requests_, closed_requests_;

  // Owner deletion: the closings, revocations and removals are their own
  // effects (checked above); this one only marks the owner, once.
  status check(const documents_exported& x) {
    if (x.owner.empty() || x.owner.size() > owner_bytes_max) return bad("export of a malformed owner");
    return status::ok();
  }
  status check(const owner_deleted& d) {
    if (d.owner.empty() || d.owner.size() > owner_bytes_max) return bad("deletion of a malformed owner");
    if (s_.owner_deleted_at_us(d.owner)) return bad("deletes owner " + d.owner + " twice");
    return status::ok();
  }
  status check(const wallet_disconnected& c) {
    if (!connected(c.chain, c.address)) return bad("disconnects " + c.address + ", which is not connected");
    connections_[keys::connection(c.chain, c.address)] = false;
    return status::ok();
  }

  const ledger_state& s_;
  std::int64_t now_us_ = 0;  // the event's log time
  std::set<std::string> new_challenges_, closed_challenges_, consumed_nonces_, new_tokens_;
  std::set<std::uint64_t> new_sessions_, closed_sessions_;
  std::map<std::string, bool> connections_;
  std::map<std::pair<std::uint64_t, std::string>, balance_record> balances_;
  std::map<std::uint64_t, account_status> status_;
  std::map<std::uint64_t, const account_opened*> opened_;
  std::set<std::string> new_assets_, new_system_;
  std::set<std::uint64_t> opened_pendings_, closed_pendings_, reversed_;
  std::map<std::string, bool> fee_schedules_;                 // key -> set (true) or removed in this event
  std::map<std::uint64_t, money_tx_record> money_txs_;        // read or opened in this event
  std::set<std::string> new_references_;
  std::set<std::uint64_t> new_quotes_, spent_quotes_;
  std::map<std::string, amount_t> posted_, pending_;
  status after_mismatch_;  // reported after the sums, which say more
};

status event_check::check(const balance_changed& b) {
  auto a = account(b.account);
  if (!a) return bad("posts to unknown account " + std::to_string(b.account));
  if (a->kind == account_kind::user ? !holds(b.account, b.asset) : !asset_known(b.asset))
    return bad("posts " + b.asset + " to account " + std::to_string(b.account) + ", which cannot hold it");
  auto key = std::make_pair(b.account, b.asset);
  auto it = balances_.find(key);
  balance_record cur;
  if (it != balances_.end()) {
    cur = it->second;
  } else if (const auto* acc = s_.account(b.account)) {
    if (const auto* x = acc->balance(b.asset)) cur = *x;
  }
  // Every counter stays within the amount range, and the recorded values
  // after are the ones the deltas give: what apply asserts.
  amount_t dp = 0, dq = 0, posted = 0;
  if (!checked_add(cur.debits_posted, b.d_debits_posted, cur.debits_posted) ||
      !checked_add(cur.credits_posted, b.d_credits_posted, cur.credits_posted) ||
      !checked_add(cur.debits_pending, b.d_debits_pending, cur.debits_pending) ||
      !checked_add(cur.credits_pending, b.d_credits_pending, cur.credits_pending) ||
      !checked_sub(cur.credits_posted, cur.debits_posted, posted) ||
      !checked_sub(b.d_credits_posted, b.d_debits_posted, dp) || !checked_add(posted_[b.asset], dp, posted_[b.asset]) ||
      !checked_sub(b.d_credits_pending, b.d_debits_pending, dq) || !checked_add(pending_[b.asset], dq, pending_[b.asset]))
    return bad("legs in " + b.asset + " overflow");
  if ((posted != b.posted_after || cur.debits_pending != b.debits_pending_after ||
       cur.credits_pending != b.credits_pending_after) &&
      after_mismatch_.is_ok())
    after_mismatch_ = bad("balance of account " + std::to_string(b.account) + " after the event differs from the one recorded");
  balances_[key] = cur;
  return status::ok();
}

status event_check::check(const session_opened& o) {
  if (o.token_hash.size() != token_hash_bytes || o.owner.empty() || o.owner.size() > owner_bytes_max ||
      o.owner.find('\0') != std::string::npos)
    return bad("session " + std::to_string(o.id) + " malformed");
  if (s_.session(o.id) || !new_sessions_.insert(o.id).second) return bad("opens session " + std::to_string(o.id) + " twice");
  const auto* ch = s_.challenge(o.nonce);
  bool usable = (ch ? ch->consumed_by == 0 : new_challenges_.count(o.nonce) > 0) && !closed_challenges_.count(o.nonce);
  if (!usable || !consumed_nonces_.insert(o.nonce).second)
    return bad("session " + std::to_string(o.id) + " uses nonce " + o.nonce + ", which is not open and unused");
  if (s_.token_in_use(o.token_hash) || !new_tokens_.insert(o.token_hash).second)
    return bad("session " + std::to_string(o.id) + " reuses a token");
  return status::ok();
}

}  // namespace

status check_event(const ledger_state& state, const event& e) { return event_check(state).run(e); }

hash256 digest_of(const map_kv& kv) {
  digest_builder d;
  for (const auto& [k, v] : kv.entries()) d.add(k, v);
  return d.finish();
}

status rebuild(const journal_read_fn& read, const hash256& genesis, const rebuild_bound& bound, rebuilt_state& out) {
  out.kv = std::make_unique<map_kv>();
  out.state = std::make_unique<ledger_state>(*out.kv, [read](std::uint64_t seq) -> std::optional<event> {
    std::vector<journal_entry> one;
    event e;
    if (!read(seq, 1, one) || one.empty() || one[0].seq != seq || !decode_event(one[0].event_bytes, e)) return std::nullopt;
    return e;
  });
  out.head = ledger_head{};
  out.head.chain = genesis;
  out.events = 0;
  std::vector<journal_entry> batch;
  bool done = false;
  while (!done && out.head.seq < bound.seq_max) {
    if (auto s = read(out.head.seq + 1, read_events_max, batch); !s) return s;
    if (batch.empty()) break;
    for (auto& je : batch) {
      if (je.seq != out.head.seq + 1)
        return status::corruption("journal gap: expected seq " + std::to_string(out.head.seq + 1) + ", found " +
                                  std::to_string(je.seq));
      if (chain_next(out.head.chain, je.event_bytes) != je.chain)
        return status::corruption("chain hash mismatch at seq " + std::to_string(je.seq) +
                                  ": the event or its predecessor was altered");
      event e;
      if (auto s = decode_event(je.event_bytes, e); !s)
        return status::corruption("event " + std::to_string(je.seq) + ": " + s.message());
      if (e.seq != je.seq) return status::corruption("event " + std::to_string(je.seq) + " carries another seq");
      if (e.log_ts_us > bound.log_ts_max_us) {
        done = true;
        break;
      }
      if (auto st = check_event(*out.state, e); !st)
        return status::corruption("event " + std::to_string(je.seq) + ": " + st.message());
      out.state->apply(e);
      out.head = ledger_head{e.seq, je.chain, e.log_ts_us, e.input_pos};
      ++out.events;
      if (out.head.seq >= bound.seq_max) break;
    }
  }
  out.state->flush();
  out.digest = digest_of(*out.kv);
  return status::ok();
}

status rebuild(const store& s, const rebuild_bound& bound, rebuilt_state& out) {
  return rebuild([&](std::uint64_t from, std::size_t max, std::vector<journal_entry>& v) { return s.read_journal(from, max, v); },
                 s.genesis(), bound, out);
}

}  // namespace ledger
