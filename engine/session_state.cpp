// Wallet-session state: challenges, active sessions and wallet connections,
// as part of ledger_state (see state.h for the key space). Challenges and
// sessions are hot (in memory, for the expiry sweep and the per-owner
// bound); connections are cold and read through the key space.
#include <algorithm>

#include "engine/record_codec.h"
#include "engine/state.h"
#include "schemas/fields.h"

namespace ledger {

template <class A> void fields(A& a, challenge_record& v) {
  a(v.nonce); a(v.chain); a(v.network); a(v.address); a(v.domain); a(v.uri); a(v.issued_at_us); a(v.expires_at_us);
  a(v.consumed_by);
}
template <class A> void fields(A& a, session_record& v) {
  a(v.id); a(v.owner); a(v.chain); a(v.address); a(v.token_hash); a(v.nonce); a(v.opened_at_us); a(v.expires_at_us);
}
template <class A> void fields(A& a, connection_record& v) { a(v.chain); a(v.address); a(v.owner); }

namespace {

constexpr std::uint8_t session_record_version = 1;

template <typename T>
std::string encode_session_record(const T& r) { return encode_versioned(session_record_version, r); }

bool chain_ok(wallet_chain c) { return c >= wallet_chain::ethereum && c <= wallet_chain::stacks; }

template <typename T>
status decode_session_record(std::string_view bytes, T& r, const char* what) {
  if (auto st = decode_versioned(bytes, session_record_version, what, r); !st) return st;
  if (!chain_ok(r.chain)) return status::corruption(std::string(what) + ": unknown chain");
  return status::ok();
}

std::string id_bytes(std::uint64_t id) {
  std::string s;
  put_key_u64(s, id);
  return s;
}

}  // namespace

namespace keys {
std::string challenge(std::string_view nonce) { return "c" + std::string(nonce); }
std::string session(std::uint64_t id) { return "s" + id_bytes(id); }
std::string session_token(std::string_view token_hash) { return "t" + std::string(token_hash); }
std::string owner_session_prefix(std::string_view owner) {
  std::string k = "u";
  k.append(owner);
  k.push_back('\0');  // owners never contain NUL (validate rejects control characters)
  return k;
}
std::string owner_session(std::string_view owner, std::uint64_t id) { return owner_session_prefix(owner) + id_bytes(id); }
std::string connection(wallet_chain chain, std::string_view address) {
  std::string k = "x";
  k.push_back(static_cast<char>(chain));
  k.append(address);
  return k;
}
}  // namespace keys

std::string encode(const challenge_record& r) { return encode_session_record(r); }
std::string encode(const session_record& r) { return encode_session_record(r); }
std::string encode(const connection_record& r) { return encode_session_record(r); }
status decode(std::string_view b, challenge_record& r) { return decode_session_record(b, r, "challenge"); }
status decode(std::string_view b, session_record& r) {
  auto s = decode_session_record(b, r, "session");
  if (s && r.token_hash.size() != token_hash_bytes) return status::corruption("session: token hash is not 32 bytes");
  return s;
}
status decode(std::string_view b, connection_record& r) { return decode_session_record(b, r, "connection"); }

status ledger_state::load_session_entry(std::string_view key, std::string_view value) {
  if (key[0] == 'x') {
    connection_record c;
    if (auto s = decode(value, c); !s) return s;
    if (keys::connection(c.chain, c.address) != key) return status::corruption("connection record under another key");
    connections_by_owner_[c.owner].insert(std::string(key));
    return status::ok();
  }
  if (key[0] == 'c') {
    challenge_record c;
    if (auto s = decode(value, c); !s) return s;
    challenge_expiry_.insert({c.expires_at_us, c.nonce});
    challenges_[c.nonce] = std::move(c);
    return status::ok();
  }
  session_record r;
  if (auto s = decode(value, r); !s) return s;
  index_session(r);
  sessions_[r.id] = std::move(r);
  return status::ok();
}

const challenge_record* ledger_state::challenge(std::string_view nonce) const {
  auto it = challenges_.find(std::string(nonce));
  return it == challenges_.end() ? nullptr : &it->second;
}

const session_record* ledger_state::session(std::uint64_t id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<connection_record> ledger_state::connection(wallet_chain chain, std::string_view address) const {
  auto v = kv_.get(keys::connection(chain, address));
  if (!v) return std::nullopt;
  connection_record r;
  LEDGER_ASSERT(decode(*v, r).is_ok(), "stored connection record is corrupt");
  return r;
}

namespace {
std::vector<std::uint64_t> ids_of(const std::unordered_map<std::string, std::set<std::uint64_t>>& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) return {};
  return {it->second.begin(), it->second.end()};
}
}  // namespace

std::vector<std::uint64_t> ledger_state::owner_sessions(std::string_view owner) const {
  return ids_of(sessions_by_owner_, std::string(owner));
}

std::vector<std::uint64_t> ledger_state::address_sessions(wallet_chain chain, std::string_view address) const {
  return ids_of(sessions_by_address_, keys::connection(chain, address));
}

std::vector<connection_record> ledger_state::owner_connections(std::string_view owner) const {
  std::vector<connection_record> out;
  auto it = connections_by_owner_.find(std::string(owner));
  if (it == connections_by_owner_.end()) return out;
  for (const auto& k : it->second) {
    auto chain = static_cast<wallet_chain>(k[1]);
    out.push_back(connection_record{chain, k.substr(2), std::string(owner)});
  }
  return out;
}

bool ledger_state::token_in_use(std::string_view token_hash) const {
  return kv_.get(keys::session_token(token_hash)).has_value();
}

std::vector<std::uint64_t> ledger_state::due_sessions(std::int64_t now_us, std::size_t max) const {
  std::vector<std::uint64_t> out;
  for (auto it = session_expiry_.begin(); it != session_expiry_.end() && it->first <= now_us && out.size() < max; ++it)
    out.push_back(it->second);
  return out;
}

std::vector<std::string> ledger_state::due_challenges(std::int64_t now_us, std::size_t max) const {
  std::vector<std::string> out;
  for (auto it = challenge_expiry_.begin(); it != challenge_expiry_.end() && it->first <= now_us && out.size() < max; ++it)
    out.push_back(it->second);
  return out;
}

void ledger_state::index_session(const session_record& r) {
  session_expiry_.insert({r.expires_at_us, r.id});
  sessions_by_owner_[r.owner].insert(r.id);
  sessions_by_address_[keys::connection(r.chain, r.address)].insert(r.id);
}

void ledger_state::unindex_session(const session_record& r) {
  session_expiry_.erase({r.expires_at_us, r.id});
  for (auto* m : {&sessions_by_owner_, &sessions_by_address_}) {
    auto it = m->find(m == &sessions_by_owner_ ? r.owner : keys::connection(r.chain, r.address));
    if (it == m->end()) continue;
    it->second.erase(r.id);
    if (it->second.empty()) m->erase(it);
  }
}

void ledger_state::apply_session_effect(const effect& fx) {
  if (auto* c = std::get_if<challenge_issued>(&fx)) {
    challenge_record r{c->nonce, c->chain, c->network, c->address, c->domain, c->uri, c->issued_at_us, c->expires_at_us, 0};
    LEDGER_ASSERT(!challenges_.count(r.nonce), "challenge issued twice");
    kv_.put(keys::challenge(r.nonce), encode(r));
    challenge_expiry_.insert({r.expires_at_us, r.nonce});
    challenges_.emplace(r.nonce, std::move(r));
  } else if (auto* cc = std::get_if<challenge_closed>(&fx)) {
    auto it = challenges_.find(cc->nonce);
    LEDGER_ASSERT(it != challenges_.end(), "closing a challenge that is not open");
    challenge_expiry_.erase({it->second.expires_at_us, it->first});
    kv_.del(keys::challenge(it->first));
    challenges_.erase(it);
  } else if (auto* o = std::get_if<session_opened>(&fx)) {
    auto ch = challenges_.find(o->nonce);
    LEDGER_ASSERT(ch != challenges_.end() && ch->second.consumed_by == 0, "session opened on an unusable nonce");
    ch->second.consumed_by = o->id;
    kv_.put(keys::challenge(o->nonce), encode(ch->second));
    session_record r{o->id, o->owner, o->chain, o->address, o->token_hash, o->nonce, apply_ts_us_, o->expires_at_us};
    LEDGER_ASSERT(!sessions_.count(r.id), "session opened twice");
    kv_.put(keys::session(r.id), encode(r));
    kv_.put(keys::session_token(r.token_hash), id_bytes(r.id));
    kv_.put(keys::owner_session(r.owner, r.id), {});
    index_session(r);
    sessions_.emplace(r.id, std::move(r));
  } else if (auto* sc = std::get_if<session_closed>(&fx)) {
    auto it = sessions_.find(sc->id);
    LEDGER_ASSERT(it != sessions_.end(), "closing a session that is not active");
    const auto& r = it->second;
    kv_.del(keys::session(r.id));
    kv_.del(keys::session_token(r.token_hash));
    kv_.del(keys::owner_session(r.owner, r.id));
    unindex_session(r);
    sessions_.erase(it);
  } else if (auto* wc = std::get_if<wallet_connected>(&fx)) {
    LEDGER_ASSERT(!connection(wc->chain, wc->address), "address connected twice");
    kv_.put(keys::connection(wc->chain, wc->address), encode(connection_record{wc->chain, wc->address, wc->owner}));
    connections_by_owner_[wc->owner].insert(keys::connection(wc->chain, wc->address));
  } else if (auto* wd = std::get_if<wallet_disconnected>(&fx)) {
    auto conn = connection(wd->chain, wd->address);
    LEDGER_ASSERT(conn.has_value(), "disconnecting an address that is not connected");
    kv_.del(keys::connection(wd->chain, wd->address));
    // The stored owner, not the effect's: the index is keyed by what apply wrote.
    if (auto it = connections_by_owner_.find(conn->owner); it != connections_by_owner_.end()) {
      it->second.erase(keys::connection(wd->chain, wd->address));
      if (it->second.empty()) connections_by_owner_.erase(it);
    }
  }
}

}  // namespace ledger
