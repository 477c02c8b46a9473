// The wallet-session family: challenges, sessions, revocation, wallet
// connections. Rules are written down in docs/wallet-sessions.md; keep them
// in step. Signatures are not checked here (the API verifies them before
// submitting); decide checks what the ledger state knows: the nonce, its
// expiry by log time, and the address it was issued for.
#include <limits>

#include "engine/decide.h"

namespace ledger {

namespace {

void reject(event& out, reason r, std::string detail = {}) {
  out.status = event_status::rejected;
  out.reason = r;
  out.detail = std::move(detail);
  out.effects.clear();
}

void accept(event& out) { out.status = event_status::accepted; }

// Closes each session in `ids` (revoked), in id order.
void revoke_all(const std::vector<std::uint64_t>& ids, event& out) {
  for (auto id : ids) out.effects.emplace_back(session_closed{id, session_resolution::revoked});
}

}  // namespace

void decide_session(const ledger_state& s, const issue_challenge_cmd& c, const decide_context& ctx, event& out) {
  out.effects.clear();
  if (s.challenge(c.nonce)) return reject(out, reason::nonce_used, "a challenge with this nonce was already issued");
  if (s.challenge_count() >= challenges_open_max)
    return reject(out, reason::invalid_state, "the ledger holds " + std::to_string(challenges_open_max) + " open challenges");
  std::int64_t ttl_us = c.ttl_s * 1'000'000;
  if (ctx.now_us > std::numeric_limits<std::int64_t>::max() - ttl_us)
    return reject(out, reason::invalid_argument, "ttl_s: expiry is out of range");
  out.effects.emplace_back(challenge_issued{c.nonce, c.chain, c.network, c.address, c.domain, c.uri, ctx.now_us,
                                            ctx.now_us + ttl_us});
  accept(out);
}

void decide_session(const ledger_state& s, const open_session_cmd& c, const decide_context& ctx, event& out) {
  out.effects.clear();
  const auto* ch = s.challenge(c.nonce);
  if (!ch) return reject(out, reason::unknown_challenge, "no open challenge has this nonce");
  if (ch->consumed_by != 0)
    return reject(out, reason::nonce_used, "the nonce already opened session " + std::to_string(ch->consumed_by));
  if (ch->expires_at_us <= ctx.now_us) return reject(out, reason::challenge_expired, "the challenge has expired");
  if (ch->chain != c.chain || ch->address != c.address)
    return reject(out, reason::challenge_mismatch, "the challenge was issued for another address or chain");
  if (s.token_in_use(c.token_hash)) return reject(out, reason::invalid_state, "token_hash is already in use");
  std::int64_t duration_us = c.duration_s * 1'000'000;
  if (ctx.now_us > std::numeric_limits<std::int64_t>::max() - duration_us)
    return reject(out, reason::invalid_argument, "duration_s: expiry is out of range");
  std::string owner = c.owner;
  if (auto conn = s.connection(c.chain, c.address))
    owner = conn->owner;
  else
    out.effects.emplace_back(wallet_connected{c.chain, c.address, owner});
  if (s.owner_sessions(owner).size() >= sessions_per_owner_max)
    return reject(out, reason::too_many_sessions,
                  "the owner holds " + std::to_string(sessions_per_owner_max) + " active sessions");
  out.effects.emplace_back(
      session_opened{ctx.seq, owner, c.chain, ch->network, c.address, c.token_hash, c.nonce, ctx.now_us + duration_us});
  accept(out);
}

void decide_session(const ledger_state& s, const revoke_session_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  const auto* r = s.session(c.session_id);
  // Another owner's session looks like no session, so ids cannot be probed.
  if (!r || (!c.owner.empty() && r->owner != c.owner))
    return reject(out, reason::unknown_session, "no active session " + std::to_string(c.session_id));
  revoke_all({c.session_id}, out);
  accept(out);
}

void decide_session(const ledger_state& s, const revoke_sessions_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  revoke_all(c.owner.empty() ? s.address_sessions(c.chain, c.address) : s.owner_sessions(c.owner), out);
  accept(out);
}

void decide_session(const ledger_state& s, const link_wallet_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  if (auto conn = s.connection(c.chain, c.address)) {
    if (conn->owner == c.owner) return reject(out, reason::invalid_state, "the address is already connected to this owner");
    return reject(out, reason::wallet_linked_elsewhere, "the address is connected to another owner");
  }
  out.effects.emplace_back(wallet_connected{c.chain, c.address, c.owner});
  accept(out);
}

void decide_session(const ledger_state& s, const unlink_wallet_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  auto conn = s.connection(c.chain, c.address);
  if (!conn) return reject(out, reason::unknown_connection, "the address is not connected");
  revoke_all(s.address_sessions(c.chain, c.address), out);
  out.effects.emplace_back(wallet_disconnected{c.chain, c.address, conn->owner});
  accept(out);
}

// A refused sign-in, recorded as the API saw it; nothing in the state
// depends on it, so it is always accepted (validation already bounded it).
void decide_session(const ledger_state&, const record_auth_failure_cmd& c, const decide_context&, event& out) {
  out.effects.clear();
  out.effects.emplace_back(auth_failed{c.chain, c.network, c.address, c.client, c.check});
  accept(out);
}

void decide_session_sweep(const ledger_state& s, const std::vector<std::uint64_t>& sessions,
                          const std::vector<std::string>& challenges, event& out) {
  out.effects.clear();
  for (auto id : sessions) {
    LEDGER_ASSERT(s.session(id) != nullptr, "expiring a session that is not active");
    out.effects.emplace_back(session_closed{id, session_resolution::expired});
  }
  for (const auto& n : challenges) {
    LEDGER_ASSERT(s.challenge(n) != nullptr, "expiring a challenge that is not open");
    out.effects.emplace_back(challenge_closed{n, challenge_resolution::expired});
  }
  out.status = event_status::accepted;
}

}  // namespace ledger
