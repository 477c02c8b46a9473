// Wallet sessions after sign-in (docs/wallet-sessions.md): the caller's
// active sessions, revoking one or all of them, an admin revoking every
// session of a wallet address, and an admin or service connecting a wallet
// address to an owner (or disconnecting it). Revocations are engine commands
// like any other; their idempotency keys are drawn here, since DELETE has no
// body and a retried revocation of a revoked session is answered precisely
// (unknown_session) anyway.
#include <openssl/rand.h>

#include "api/exchange.h"
#include "api/routes.h"
#include "api/session_tokens.h"
#include "schemas/codec.h"
#include "auth/verify.h"
#include "base/json_out.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

std::string new_key() {
  unsigned char b[16];
  LEDGER_ASSERT(RAND_bytes(b, sizeof b) == 1, "the system's random source failed");
  static const char* d = "0123456789abcdef";
  std::string s = "auth:";
  for (unsigned char c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

std::string query_value(const exchange& x, std::string_view name) {
  for (const auto& [k, v] : x.query)
    if (k == name) return v;
  return {};
}

void respond_json(exchange& x, unsigned status, std::string body, std::uint64_t seq) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  if (seq != 0) r.headers.emplace_back("Ledger-Seq", std::to_string(seq));
  x.finish(std::move(r));
}

// Submits one command as the caller and answers: rejected as a problem (422),
// accepted through `ok`.
void submit_as_caller(const exchange_ptr& x, command_body body, unsigned ok_status,
                      std::function<void(json_out&, const outcome&)> ok) {
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  command cmd{x->who->subject, new_key(), x->request_id, std::move(body)};
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, ok_status, ok](std::vector<outcome>&& outs) {
    x->svc.dispatch([x, ok_status, ok, o = std::move(outs.at(0))] {
      if (!o.error.is_ok()) return x->fail_status(o.error, fault::ledger);
      if (o.result == event_status::rejected) {
        http_response r;
        r.status = rejection_status;
        r.content_type = "application/problem+json";
        r.body = rejection_body(o, x->origin());
        r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
        return x->finish(std::move(r));
      }
      json_out j;
      j.begin_object();
      ok(j, o);
      j.field("seq", o.seq).end_object();
      respond_json(*x, ok_status, j.take(), o.seq);
    });
  });
  if (result == append_result::ok) return;
  if (result == append_result::full)
    return x->fail({503, "overloaded", "the command queue is full; retry shortly", "", {{"Retry-After", "1"}}});
  x->fail({503, "unavailable", "the ledger is not accepting commands", "", {{"Retry-After", "5"}}});
}

// The wallet named by the query (chain, network, address), canonical; nullopt after answering.
std::optional<std::pair<wallet_chain, std::string>> query_wallet(exchange& x) {
  auto chain = parse_wallet_chain(query_value(x, "chain"));
  if (!chain) {
    x.fail({400, "unsupported-chain", "chain must be ethereum, solana or stacks", "chain", {}});
    return std::nullopt;
  }
  std::string network = query_value(x, "network");
  if (auto bad = auth::check_network(*chain, network)) {
    x.fail({400, "invalid-field", bad->detail, "network", {}});
    return std::nullopt;
  }
  auto canon = auth::canonical_address(*chain, network, query_value(x, "address"));
  if (auto* bad = std::get_if<auth::refusal>(&canon)) {
    x.fail({400, "invalid-field", bad->detail, "address", {}});
    return std::nullopt;
  }
  return std::make_pair(*chain, std::get<std::string>(canon));
}

void session_json(json_out& j, const session_record& r, bool current) {
  j.begin_object()
      .field("session_id", r.id)
      .field("owner", r.owner)
      .field("chain", to_string(r.chain))
      .field("address", r.address)
      .field("opened_at", format_rfc3339_us(r.opened_at_us))
      .field("expires_at", format_rfc3339_us(r.expires_at_us))
      .field("current", current)
      .end_object();
}

// GET /v1/auth/sessions: the caller's active sessions (an admin names ?owner=).
void on_list(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin)) return;
  std::string owner = x->who->role_ == role::user ? x->who->subject : query_value(*x, "owner");
  if (owner.empty()) return x->fail({400, "invalid-field", "an admin names the owner", "owner", {}});
  const store& s = x->svc.ledger.storage();
  std::vector<std::pair<std::string, std::string>> index;
  if (auto st = s.scan_state(keys::owner_session_prefix(owner), "", sessions_per_owner_max, index); !st)
    return x->fail_status(st, fault::ledger);
  auto bearer = x->req.header("authorization");
  std::string current = bearer.size() > 7 ? session_token_hash(bearer.substr(7)) : std::string();
  auto now = x->svc.clk.now_us();
  json_out j;
  j.begin_object().key("sessions").begin_array();
  for (const auto& [k, unused] : index) {
    std::string v;
    session_record r;
    if (!s.read_state(keys::session(get_key_u64(std::string_view(k).substr(k.size() - 8))), v) || !decode(v, r))
      continue;  // revoked between the scan and the read
    if (r.expires_at_us > now) session_json(j, r, r.token_hash == current);
  }
  j.end_array().end_object();
  respond_json(*x, 200, j.take(), 0);
}

// DELETE /v1/auth/sessions/{id}: a user revokes its own; an admin any.
void on_revoke_one(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin)) return;
  std::string owner = x->who->role_ == role::user ? x->who->subject : std::string();
  submit_as_caller(x, revoke_session_cmd{id, owner}, 200,
                   [id](json_out& j, const outcome&) { j.field("session_id", id).field("revoked", true); });
}

// DELETE /v1/auth/sessions: all of the caller's; an admin names
// ?chain=&network=&address= (every session of that wallet address).
void on_revoke_all(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin)) return;
  revoke_sessions_cmd c;
  if (x->who->role_ == role::user) {
    c.owner = x->who->subject;
  } else {
    auto w = query_wallet(*x);
    if (!w) return;
    c.chain = w->first;
    c.address = w->second;
  }
  submit_as_caller(x, std::move(c), 200, [](json_out& j, const outcome& o) { j.field("revoked", o.sessions_closed); });
}

// POST /v1/auth/connections {chain, network, address, owner}: connects before any sign-in.
void on_link(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_service) || !x->require_json(true)) return;
  simdjson::dom::object obj;
  if (auto p = parse_object(x->req.body, obj)) return x->fail({400, p->type, p->detail, p->field, {}});
  field_reader r(obj);
  auto chain = r.text("chain", true, 16);
  auto network = r.text("network", true, wallet_network_bytes_max);
  auto address = r.text("address", true, wallet_address_bytes_max);
  auto owner = r.text("owner", true, owner_bytes_max);
  if (auto p = r.finish()) return x->fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
  auto parsed = parse_wallet_chain(chain);
  if (!parsed) return x->fail({400, "unsupported-chain", "chain must be ethereum, solana or stacks", "chain", {}});
  if (auto bad = auth::check_network(*parsed, network)) return x->fail({400, "invalid-field", bad->detail, "network", {}});
  auto canon = auth::canonical_address(*parsed, network, address);
  if (auto* bad = std::get_if<auth::refusal>(&canon)) return x->fail({400, "invalid-field", bad->detail, "address", {}});
  link_wallet_cmd c{*parsed, std::get<std::string>(canon), owner};
  submit_as_caller(x, c, 201, [c](json_out& j, const outcome&) {
    j.field("chain", to_string(c.chain)).field("address", c.address).field("owner", c.owner);
  });
}

// DELETE /v1/auth/connections?chain=&network=&address=: disconnects, revoking its sessions.
void on_unlink(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_service)) return;
  auto w = query_wallet(*x);
  if (!w) return;
  submit_as_caller(x, unlink_wallet_cmd{w->first, w->second}, 200,
                   [](json_out& j, const outcome& o) { j.field("revoked", o.sessions_closed); });
}

}  // namespace

// Declared in routes_auth.cpp, which adds the sign-in routes first.
void add_auth_session_routes(router& r) {
  r.add("GET", "/v1/auth/sessions", "list_auth_sessions", &on_list);
  r.add("DELETE", "/v1/auth/sessions", "revoke_auth_sessions", &on_revoke_all);
  r.add("DELETE", "/v1/auth/sessions/{id}", "revoke_auth_session", &on_revoke_one);
  r.add("POST", "/v1/auth/connections", "link_wallet", &on_link);
  r.add("DELETE", "/v1/auth/connections", "unlink_wallet", &on_unlink);
}

}  // namespace ledger::api
