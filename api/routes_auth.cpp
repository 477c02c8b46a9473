// Wallet sign-in and sessions (docs/wallet-sessions.md): a challenge with a
// single-use nonce, a session opened by a verified wallet signature, the
// caller's sessions, revocation, and the admin's wallet connections.
//
// Randomness stays out of the engine: the nonce and the session token are
// drawn here (OpenSSL RAND_bytes) and passed in the command; only the token's
// SHA-256 reaches the ledger. Signatures are verified here (auth/verify.h)
// against the challenge as committed. Every attempt draws from the auth
// rate-limit class per client address (the route class) and, once it names
// a known challenge, per wallet address (below); only a refusal both limits
// admitted is recorded in the journal (record_auth_failure), so failed
// attempts cannot flood it. Refusals before the wallet limit (malformed
// message, unknown nonce) are counted in metrics only.
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "api/commands.h"
#include "api/exchange.h"
#include "api/routes.h"
#include "api/session_tokens.h"
#include "auth/verify.h"
#include "base/json_out.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

// The principal that sign-in commands are recorded under (no caller is
// authenticated yet when they are made).
constexpr std::string_view sign_in_principal = "wallet-sign-in";
constexpr std::size_t nonce_chars = 22;  // base62: about 131 bits

std::string random_text(std::size_t n, std::string_view alphabet) {
  // Rejection sampling keeps every character equally likely.
  const unsigned limit = 256 - 256 % static_cast<unsigned>(alphabet.size());
  std::string out;
  while (out.size() < n) {
    unsigned char buf[64];
    LEDGER_ASSERT(RAND_bytes(buf, sizeof buf) == 1, "the system's random source failed");
    for (unsigned char b : buf)
      if (b < limit && out.size() < n) out.push_back(alphabet[b % alphabet.size()]);
  }
  return out;
}

std::string new_nonce() {
  return random_text(nonce_chars, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}
std::string new_key() { return random_text(32, "0123456789abcdef"); }

problem problem_of_field(const field_problem& p) {
  return {static_cast<unsigned>(p.http_status), p.type, p.detail, p.field, {}};
}

// A refused sign-in: the problem, with the refusal's code as "reason".
void fail_refusal(exchange& x, const auth::refusal& r) {
  bool malformed = r.code == "malformed_message" || r.code == "domain_not_ascii" || r.code == "malformed_signature";
  header_list h;
  if (!malformed) h.emplace_back("WWW-Authenticate", "Bearer");
  auto resp = problem_response({malformed ? 400u : 401u, "sign-in-refused", r.code + ": " + r.detail, r.field, h},
                               x.origin());
  json_out j;
  j.begin_object().field("reason", r.code).end_object();
  std::string member = j.take();  // {"reason":"..."}
  resp.body.insert(resp.body.size() - 1, "," + member.substr(1, member.size() - 2));
  x.finish(std::move(resp));
}

void reject_outcome(exchange& x, const outcome& o) {
  http_response r;
  r.status = rejection_status;
  r.content_type = "application/problem+json";
  r.body = rejection_body(o, x.origin());
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  x.finish(std::move(r));
}

void respond_json(exchange& x, unsigned status, std::string body, std::uint64_t seq) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  if (seq != 0) r.headers.emplace_back("Ledger-Seq", std::to_string(seq));
  x.finish(std::move(r));
}

using outcome_handler = std::function<void(const exchange_ptr&, const outcome&)>;

// One command through the engine; `on_done` gets accepted and rejected
// outcomes alike, on an I/O thread. Operating errors are answered here.
void submit_one(const exchange_ptr& x, command c, outcome_handler on_done) {
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  submit_single(x, std::move(c), [x, on_done](const outcome& o) {
    if (!o.error.is_ok()) return x->fail_status(o.error, fault::ledger);
    on_done(x, o);
  });
}

// Reads the body as a JSON object; false after answering.
bool read_body(exchange& x, simdjson::dom::object& obj) {
  if (!x.require_json(true)) return false;
  if (auto p = parse_object(x.req.body, obj)) {
    x.fail(problem_of_field(*p));
    return false;
  }
  return true;
}

// chain, network and address from `r`, the address in canonical form.
struct wallet_ref {
  wallet_chain chain = wallet_chain::ethereum;
  std::string network;
  std::string address;
};

std::optional<problem> read_wallet(std::string_view chain_text, std::string network, std::string_view address,
                                   wallet_ref& out) {
  auto chain = parse_wallet_chain(chain_text);
  if (!chain) return problem{400, "unsupported-chain", "chain must be ethereum, solana or stacks", "chain", {}};
  if (auto bad = auth::check_network(*chain, network)) return problem{400, "invalid-field", bad->detail, "network", {}};
  auto canon = auth::canonical_address(*chain, network, address);
  if (auto* bad = std::get_if<auth::refusal>(&canon)) return problem{400, "invalid-field", bad->detail, "address", {}};
  out = wallet_ref{*chain, std::move(network), std::get<std::string>(canon)};
  return std::nullopt;
}

std::optional<problem> check_domain_and_uri(const wallet_auth_settings& s, const std::string& domain,
                                            const std::string& uri) {
  if (!auth::ascii_domain(domain))
    return problem{400, "invalid-field", "must be an ASCII host name with an optional port (look-alike characters are refused)",
                   "domain", {}};
  if (!s.domains.empty() && std::find(s.domains.begin(), s.domains.end(), domain) == s.domains.end())
    return problem{400, "invalid-field", "not a domain this ledger signs in for", "domain", {}};
  auto sep = uri.find("://");
  bool ok = sep != std::string::npos && sep > 0 && sep + 3 < uri.size();
  for (unsigned char c : uri) ok = ok && c > 0x20 && c < 0x7f;
  if (!ok) return problem{400, "invalid-field", "must be an absolute URI in ASCII (scheme://...)", "uri", {}};
  return std::nullopt;
}

auth::challenge_fields fields_of(const challenge_record& c) {
  return {c.chain, c.network, c.address, c.domain, c.uri, c.nonce, c.issued_at_us, c.expires_at_us};
}

void challenge_created(const exchange_ptr& x, const issue_challenge_cmd& c, const outcome& o) {
  if (o.result == event_status::rejected) return reject_outcome(*x, o);
  challenge_record rec{c.nonce, c.chain, c.network, c.address, c.domain, c.uri, o.log_ts_us, o.session_expires_at_us, 0};
  json_out j;
  j.begin_object()
      .field("nonce", c.nonce)
      .field("message", auth::challenge_message(fields_of(rec)))
      .field("chain", to_string(c.chain))
      .field("network", c.network)
      .field("address", c.address)
      .field("issued_at", auth::format_time_ms(rec.issued_at_us))
      .field("expires_at", auth::format_time_ms(rec.expires_at_us))
      .end_object();
  respond_json(*x, 201, j.take(), o.seq);
}

// POST /v1/auth/challenge {chain, network, address, domain, uri}
void on_challenge(const exchange_ptr& x, std::uint64_t) {
  simdjson::dom::object obj;
  if (!read_body(*x, obj)) return;
  field_reader r(obj);
  auto chain = r.text("chain", true, 16);
  auto network = r.text("network", true, wallet_network_bytes_max);
  auto address = r.text("address", true, wallet_address_bytes_max);
  auto domain = r.text("domain", true, auth_domain_bytes_max);
  auto uri = r.text("uri", true, auth_uri_bytes_max);
  if (auto p = r.finish()) return x->fail(problem_of_field(*p));
  wallet_ref w;
  if (auto p = read_wallet(chain, network, address, w)) return x->fail(*p);
  if (auto p = check_domain_and_uri(x->svc.config.wallet_auth, domain, uri)) return x->fail(*p);
  issue_challenge_cmd c{w.chain, w.network, w.address, domain, uri, new_nonce(), x->svc.config.wallet_auth.challenge_ttl_s};
  command cmd{std::string(sign_in_principal), "challenge:" + c.nonce, x->request_id, c};
  submit_one(x, std::move(cmd), [c](const exchange_ptr& ex, const outcome& o) { challenge_created(ex, c, o); });
}

struct sign_in_request {
  std::string message;
  std::string signature;
  std::int64_t duration_s = 0;
  std::optional<auth::sip018_domain> structured;  // a SIP-018 structured-data signature
  challenge_record challenge;
};

// "structured_data": {"domain": {"name", "version", "chain_id"}}: the SIP-018
// domain the wallet signed the message under. nullopt after a field error
// (recorded in `r` with its full path; `r` has no prefix).
std::optional<auth::sip018_domain> read_structured(field_reader& r) {
  auto sd = r.object("structured_data", false);
  if (!sd) return std::nullopt;
  field_reader outer(*sd, r.path_of("structured_data"));
  auto dom = outer.object("domain", true);
  if (!dom) {
    if (auto p = outer.finish()) r.fail(p->field, p->detail, p->type, p->http_status);
    return std::nullopt;
  }
  field_reader d(*dom, outer.path_of("domain"));
  auth::sip018_domain out;
  out.name = d.text("name", true, auth_domain_bytes_max);
  out.version = d.text("version", true, 16);
  out.chain_id = static_cast<std::uint64_t>(d.integer("chain_id", true, 0, std::numeric_limits<std::int64_t>::max()));
  auto p = d.finish();
  if (!p) p = outer.finish();
  if (p) {
    r.fail(p->field, p->detail, p->type, p->http_status);
    return std::nullopt;
  }
  return out;
}

void session_opened(const exchange_ptr& x, const sign_in_request& s, const std::string& token, const outcome& o) {
  auto chain = to_string(s.challenge.chain);
  if (o.result == event_status::rejected) {
    x->svc.stats.record_sign_in(chain, to_string(o.reason));
    return reject_outcome(*x, o);
  }
  x->svc.stats.record_sign_in(chain, "accepted");
  x->svc.stats.record_session_granted(double(s.duration_s));
  json_out j;
  j.begin_object()
      .field("session_id", o.session_id)
      .field("token", token)
      .field("token_type", "Bearer")
      .field("owner", o.session_owner)
      .field("chain", chain)
      .field("address", s.challenge.address)
      .field("expires_at", format_rfc3339_us(o.session_expires_at_us))
      .end_object();
  respond_json(*x, 201, j.take(), o.seq);
}

// The client address as a record_auth_failure command may carry it.
std::string journal_client(const exchange& x) {
  auto a = client_address(x.req.remote, x.req.header("x-forwarded-for"), x.svc.config.rate_limits.trusted_proxies);
  bool ok = !a.empty() && a.size() <= client_address_bytes_max;
  for (unsigned char c : a) ok = ok && c > 0x20 && c < 0x7f;
  return ok ? a : "unknown";
}

// A refused attempt that both auth rate limits admitted: recorded in the
// journal (record_auth_failure, no secret in it), then answered. The answer
// does not depend on the record: if the engine cannot take it (queue full,
// draining), the refusal is answered all the same.
void record_and_refuse(const exchange_ptr& x, const challenge_record& ch, const auth::refusal& bad) {
  x->svc.stats.record_sign_in(to_string(ch.chain), bad.code);
  if (x->svc.draining) return fail_refusal(*x, bad);
  record_auth_failure_cmd c{ch.chain, ch.network, ch.address, journal_client(*x), bad.code};
  command cmd{std::string(sign_in_principal), "auth-failure:" + new_key(), x->request_id, std::move(c)};
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, bad](std::vector<outcome>&&) {
    x->svc.dispatch([x, bad] { fail_refusal(*x, bad); });
  });
  if (result != append_result::ok) fail_refusal(*x, bad);
}

// The signature and fields checked; the session opened if they hold.
void verify_and_open(const exchange_ptr& x, const sign_in_request& s) {
  const auto& ch = s.challenge;
  if (ch.consumed_by != 0)
    return record_and_refuse(
        x, ch, {"nonce_used", "nonce", "the nonce already opened session " + std::to_string(ch.consumed_by)});
  const auth::sip018_domain* structured = s.structured ? &*s.structured : nullptr;
  if (auto bad = auth::verify_sign_in(fields_of(ch), s.message, s.signature, x->svc.clk.now_us(), structured))
    return record_and_refuse(x, ch, *bad);
  std::string token = new_session_token();
  open_session_cmd c{ch.nonce, ch.chain, ch.address, "wallet:" + std::string(to_string(ch.chain)) + ":" + ch.address,
                     session_token_hash(token), s.duration_s, s.message,
                     // The journal's proof names the form; the SIP-018 domain is the challenge's.
                     s.structured ? "sip018:" + s.signature : s.signature};
  command cmd{std::string(sign_in_principal), "session:" + new_key(), x->request_id, std::move(c)};
  submit_one(x, std::move(cmd), [s, token](const exchange_ptr& ex, const outcome& o) { session_opened(ex, s, token, o); });
}

// Draws a token from the wallet address's auth bucket, then verifies.
void limit_wallet_then_verify(const exchange_ptr& x, sign_in_request s) {
  limiter* l = x->svc.config.limits;
  const auto& cls = x->svc.config.rate_limits.classes[static_cast<std::size_t>(route_class::auth)];
  if (!l || cls.principal_quota == 0) return verify_and_open(x, s);
  limit_request req{route_class::auth,
                    {limit_key{"auth:w:" + std::string(to_string(s.challenge.chain)) + ":" + s.challenge.address,
                               "auth-wallet", cls.principal_quota, cls.window_s}}};
  l->take(std::move(req), [x, s = std::move(s)](limit_decision&& d) {
    x->svc.dispatch([x, s, d = std::move(d)] {
      if (d.v == limit_decision::verdict::allowed) return verify_and_open(x, s);
      x->svc.stats.record_sign_in(to_string(s.challenge.chain), "rate_limited");
      auto headers = rate_limit_headers(d);
      if (d.v == limit_decision::verdict::unavailable)
        return x->fail({503, "rate-limiter-unavailable", "the rate limiter is unavailable; retry later", "", headers});
      x->fail({429, "rate-limited", "too many sign-in attempts for this wallet address; retry later", "", headers});
    });
  });
}

// POST /v1/auth/sessions {message, signature, duration_s?}
void on_sign_in(const exchange_ptr& x, std::uint64_t) {
  simdjson::dom::object obj;
  if (!read_body(*x, obj)) return;
  const auto& cfg = x->svc.config.wallet_auth;
  field_reader r(obj);
  sign_in_request s;
  s.message = r.text("message", true, signed_message_bytes_max, true);
  s.signature = r.text("signature", true, signature_bytes_max);
  s.duration_s = r.integer("duration_s", false, cfg.session_min_s, cfg.session_max_s);
  s.structured = read_structured(r);
  if (auto p = r.finish()) return x->fail(problem_of_field(*p));
  if (s.duration_s == 0) s.duration_s = cfg.session_default_s;
  auto parsed = auth::parse_sign_in_message(s.message);
  if (auto* bad = std::get_if<auth::refusal>(&parsed)) {
    x->svc.stats.record_sign_in("unknown", bad->code);
    return fail_refusal(*x, *bad);
  }
  const auto& m = std::get<auth::sign_in_message>(parsed);
  std::string chain = m.label;  // "Ethereum" -> "ethereum", for the metric
  for (auto& ch : chain) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string v;
  auto st = x->svc.ledger.storage().read_state(keys::challenge(m.nonce), v);
  if (st.error_code() == status::code::not_found) {
    x->svc.stats.record_sign_in(chain, "unknown_challenge");
    return fail_refusal(*x, {"unknown_challenge", "nonce", "no open challenge has this nonce (unknown, or expired)"});
  }
  if (!st) return x->fail_status(st, fault::ledger);
  if (auto d = decode(v, s.challenge); !d) return x->fail_status(d, fault::ledger);
  limit_wallet_then_verify(x, std::move(s));
}

}  // namespace

void add_auth_session_routes(router& r);

void add_auth_routes(router& r) {
  r.add("POST", "/v1/auth/challenge", "create_auth_challenge", &on_challenge);
  r.add("POST", "/v1/auth/sessions", "create_auth_session", &on_sign_in);
  add_auth_session_routes(r);
}

}  // namespace ledger::api
