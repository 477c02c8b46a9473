// Document exports and owner deletion (schemas/owner_commands.h). Cold
// state only: 'J' owner -> last export's log time, 'O' owner -> deletion's
// log time, read through state_kv when a command names the owner.
//
// A deletion is one event: an account_status_changed (to closed) per wallet
// not yet closed, a session_closed (revoked) per active session, a
// wallet_disconnected per linked chain address, a group_members_set (the
// group without the owner) per group it belongs to, a payment_request_closed
// per open request naming it (cancelled as requester, declined as payer), a
// document_deleted per document, then owner_deleted repeating the lists.
// Those effects apply as they do for their own commands, so the read models
// and the audit checks need nothing new to follow a deletion; owner_deleted
// itself erases the notes of the requests it lists from their stored records.
//
// Bound: the event holds at most owner_deletion_effects_max effects (the
// codec's list bound); a larger deletion is refused with deletion_too_large.
// Addresses, groups and open requests are read from in-memory indexes
// (ledger_state::owner_connections, member_groups, party_payment_requests),
// so nothing here scans the key space.
#include <algorithm>
#include <set>

#include "engine/decide.h"
#include "schemas/archive.h"
#include "schemas/codec.h"
#include "schemas/money.h"

namespace ledger {

namespace {

std::optional<std::int64_t> read_time(state_kv& kv, const std::string& key) {
  auto v = kv.get(key);
  if (!v) return std::nullopt;
  LEDGER_ASSERT(v->size() == 8, "owner time record malformed");
  return static_cast<std::int64_t>(get_key_u64(*v));
}

std::string time_bytes(std::int64_t at_us) {
  std::string s;
  put_key_u64(s, static_cast<std::uint64_t>(at_us));
  return s;
}

void reject(event& out, reason r, std::string detail) {
  out.effects.clear();
  out.status = event_status::rejected;
  out.reason = r;
  out.detail = std::move(detail);
}

// Why wallet `a` may not be closed by a deletion, or "" when it may.
std::string money_left(const account_record& a) {
  // Pending first: a held amount is still in the posted balance too.
  for (const auto& b : a.balances)
    if (b.debits_pending != 0 || b.credits_pending != 0)
      return "wallet " + std::to_string(a.id) + " has pending amounts of " + b.asset + " (open holds or withdrawals)";
  for (const auto& b : a.balances)
    if (b.posted() != 0)
      return "wallet " + std::to_string(a.id) + " holds " + to_decimal(b.posted()) + " (minor units) of " + b.asset;
  return {};
}

// The owner's live documents are exactly `ids`: each is the owner's, none
// twice, and there are as many as the owner's count.
bool documents_exact(const ledger_state& s, const delete_owner_cmd& c, std::vector<document_uploaded>& docs) {
  if (c.documents.size() != s.document_count(c.owner)) return false;
  std::set<std::uint64_t> seen;
  for (auto id : c.documents) {
    auto d = s.document(id);
    if (!d || d->owner != c.owner || !seen.insert(id).second) return false;
    docs.push_back(std::move(*d));
  }
  return true;
}

static_assert(owner_deletion_effects_max <= record_list_items_max, "a deletion event must stay decodable");

// The owner's linked addresses, groups and open payment requests, each
// closed by the effect its own command would emit.
void detach_owner(const ledger_state& s, const std::string& owner, event& out, owner_deleted& del) {
  for (auto& c : s.owner_connections(owner)) {
    out.effects.emplace_back(wallet_disconnected{c.chain, c.address, owner});
    del.addresses.push_back(owner_chain_address{c.chain, std::move(c.address)});
  }
  for (auto g : s.member_groups(owner)) {
    auto before = s.group_members(g);
    std::vector<std::string> after;
    for (const auto& m : before)
      if (m != owner) after.push_back(m);
    out.effects.emplace_back(group_members_set{g, std::move(before), std::move(after)});
    del.groups.push_back(g);
  }
  for (auto id : s.party_payment_requests(owner)) {
    auto r = s.payment_request(id);
    LEDGER_ASSERT(r && r->status == payment_request_status::pending, "indexed payment request is not open");
    auto st = r->requester == owner ? payment_request_status::cancelled : payment_request_status::declined;
    out.effects.emplace_back(payment_request_closed{id, st, 0, 0, "owner deleted"});
    del.payment_requests.push_back(id);
  }
}

// Refuses (deletion_too_large) an owner whose deletion would not fit one
// event, naming what it holds; checked before any effect is built.
bool too_large(const ledger_state& s, const delete_owner_cmd& c, std::size_t wallets, event& out) {
  std::size_t addresses = s.owner_connections(c.owner).size(), groups = s.member_groups(c.owner).size();
  std::size_t requests = s.party_payment_requests(c.owner).size(), sessions = s.owner_sessions(c.owner).size();
  std::size_t total = wallets + sessions + addresses + groups + requests + c.documents.size() + 1;
  if (total <= owner_deletion_effects_max) return false;
  reject(out, reason::deletion_too_large,
         "the deletion needs " + std::to_string(total) + " effects, more than one event holds (" +
             std::to_string(owner_deletion_effects_max) + "): wallets " + std::to_string(wallets) + ", sessions " +
             std::to_string(sessions) + ", addresses " + std::to_string(addresses) + ", groups " +
             std::to_string(groups) + ", open payment requests " + std::to_string(requests) + ", documents " +
             std::to_string(c.documents.size()) + "; remove some first");
  return true;
}

}  // namespace

namespace keys {
std::string owner_last_export(std::string_view owner) { return "J" + std::string(owner); }
std::string deleted_owner(std::string_view owner) { return "O" + std::string(owner); }
}  // namespace keys

std::optional<std::int64_t> ledger_state::last_export_us(std::string_view owner) const {
  return read_time(kv_, keys::owner_last_export(owner));
}

std::optional<std::int64_t> ledger_state::owner_deleted_at_us(std::string_view owner) const {
  return read_time(kv_, keys::deleted_owner(owner));
}

void ledger_state::apply_owner_effect(const effect& fx) {
  if (auto* x = std::get_if<documents_exported>(&fx)) {
    kv_.put(keys::owner_last_export(x->owner), time_bytes(x->at_us));
  } else if (auto* d = std::get_if<owner_deleted>(&fx)) {
    LEDGER_ASSERT(!kv_.get(keys::deleted_owner(d->owner)), "owner deleted twice");
    kv_.put(keys::deleted_owner(d->owner), time_bytes(d->at_us));
    kv_.del(keys::owner_last_export(d->owner));
    for (auto id : d->payment_requests) erase_request_note(id);
  }
}

bool refuse_deleted_owner(const ledger_state& s, const command_body& body, event& out) {
  const std::string* owner = std::visit(
      [](const auto& b) -> const std::string* {
        if constexpr (requires { b.owner; }) {
          if constexpr (std::is_same_v<std::decay_t<decltype(b.owner)>, std::string>) return &b.owner;
        }
        return nullptr;
      },
      body);
  if (!owner || owner->empty() || !s.owner_deleted_at_us(*owner)) return false;
  reject(out, reason::owner_deleted, "owner " + *owner + " was deleted");
  return true;
}

void decide_document(const ledger_state& s, const export_documents_cmd& c, const decide_context& ctx, event& out) {
  out.effects.clear();
  if (auto last = s.last_export_us(c.owner); last && ctx.now_us - *last < export_interval_us)
    return reject(out, reason::export_too_soon,
                  "the last export was at log time " + std::to_string(*last) + " us; one per hour");
  out.effects.emplace_back(documents_exported{c.owner, c.document_count, c.total_bytes, ctx.now_us});
  out.status = event_status::accepted;
}

void decide_document(const ledger_state& s, const delete_owner_cmd& c, const decide_context& ctx, event& out) {
  out.effects.clear();
  owner_deleted del{c.owner, {}, {}, {}, ctx.now_us, {}, {}, {}};
  for (const auto& a : s.accounts()) {
    if (a.kind != account_kind::user || a.owner != c.owner) continue;
    if (auto why = money_left(a); !why.empty()) return reject(out, reason::balance_not_zero, why);
    if (a.status == account_status::closed) continue;
    out.effects.emplace_back(account_status_changed{a.id, a.status, account_status::closed});
    del.wallets.push_back(a.id);
  }
  std::vector<document_uploaded> docs;
  if (!documents_exact(s, c, docs))
    return reject(out, reason::invalid_state, "documents: the list is not the owner's current documents");
  if (too_large(s, c, del.wallets.size(), out)) return;
  for (auto id : s.owner_sessions(c.owner)) {
    out.effects.emplace_back(session_closed{id, session_resolution::revoked});
    del.sessions.push_back(id);
  }
  detach_owner(s, c.owner, out, del);
  std::sort(docs.begin(), docs.end(), [](const auto& x, const auto& y) { return x.id < y.id; });
  for (const auto& d : docs) {
    out.effects.emplace_back(document_deleted{d.id, d.owner, d.group, d.blob_id, d.thumbnail_blob_id});
    del.documents.push_back(d.id);
  }
  out.effects.emplace_back(std::move(del));
  out.status = event_status::accepted;
}

}  // namespace ledger
