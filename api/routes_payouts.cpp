// Payout destinations (docs/api.md): an owner's bank details on a wallet,
// encrypted here, before the command is appended, under the owner's data key
// (api/payout_keys.h), so nothing downstream of the API (command log,
// journal, Kafka, read models, exports) ever holds them in plain text.
// Reads decrypt on the way out: masked to the last four characters, or in
// full with ?reveal=true for the wallet's owner or an admin. Admin routes
// rotate the master key (re-wrapping data keys) and destroy an owner's data
// key (crypto-shredding). Plain text never goes to a log or an error detail.
#include <openssl/rand.h>

#include "api/exchange.h"
#include "api/payout_keys.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "base/json_out.h"

namespace ledger::api {

namespace {

struct detail_field {
  const char* name;
  bool required;
};
constexpr detail_field detail_fields[] = {{"account_name", true},
                                          {"bank_id", true},
                                          {"account_number", true},
                                          {"sender_details", false},
                                          {"receiver_details", false}};
constexpr std::size_t destinations_listed_max = payout_destinations_per_wallet_max;

std::string context_of(std::uint64_t wallet) { return "wallet:" + std::to_string(wallet); }

std::string_view query_value(const exchange& x, std::string_view name) {
  for (const auto& [k, v] : x.query)
    if (k == name) return v;
  return {};
}

const payout_keys* keys_or_fail(exchange& x) {
  const payout_keys* k = x.svc.config.payment_keys;
  if (k && k->configured()) return k;
  x.fail({503, "payout-keys-unavailable", "no master key is configured (--master-key-file); payment details cannot be handled", "", {}});
  return nullptr;
}

void fail_key(exchange& x, key_error e) {
  if (e == key_error::destroyed)
    return x.fail({409, "data-key-destroyed", "the owner's data key was destroyed (crypto-shredding); no details can be stored", "", {}});
  x.fail({503, "payout-keys-unavailable", std::string(to_string(e)), "", {}});
}

// The wallet of the path, if the caller may see its destinations (the owner,
// an admin, or a service; `reveal` also needs owner or admin). nullopt after answering.
std::optional<account_record> wallet_for(const exchange_ptr& x, bool reveal) {
  // Authenticated once per request (the verified token is consumed).
  if (!x->who && !x->authenticate(role_user | role_admin | role_service)) return std::nullopt;
  auto id = x->segments.size() >= 3 ? parse_id(x->segments[2]) : std::nullopt;
  if (!id) {
    x->fail({404, "not-found", "no resource at this path", "", {}});
    return std::nullopt;
  }
  auto a = x->svc.state.account(*id);
  bool own = a && x->who->role_ == role::user && a->owner == x->who->subject;
  // Another user's wallet: the same answer as a missing one.
  if (!a || a->kind != account_kind::user || (x->who->role_ == role::user && !own)) {
    x->fail({404, "not-found", "no such wallet", "", {}});
    return std::nullopt;
  }
  if (reveal && !own && x->who->role_ != role::admin) {
    x->fail({403, "forbidden", "only the wallet's owner or an admin may reveal payment details", "reveal", {}});
    return std::nullopt;
  }
  return a;
}

bool reveal_asked(exchange& x) {
  auto v = query_value(x, "reveal");
  return v == "true" || v == "1";
}

// One destination as JSON: details decrypted and masked (or revealed), or
// marked unreadable when the owner's data key is gone.
void destination_json(json_out& j, const payout_keys& keys, const payout_destination_registered& d, bool reveal) {
  j.begin_object().field("destination_id", d.id).field("wallet_id", d.wallet);
  const std::string* cts[] = {&d.account_name, &d.bank_id, &d.account_number, &d.sender_details, &d.receiver_details};
  std::vector<std::pair<const char*, std::string>> plain;
  key_error err = key_error::none;
  for (std::size_t i = 0; i < std::size(detail_fields) && err == key_error::none; ++i) {
    if (cts[i]->empty()) continue;
    std::string pt;
    err = keys.decrypt(d.owner, context_of(d.wallet), detail_fields[i].name, *cts[i], pt);
    plain.emplace_back(detail_fields[i].name, reveal ? pt : mask_last4(pt));
  }
  if (err != key_error::none) {
    j.field("readable", false).field("unreadable_reason", to_string(err)).end_object();
    return;
  }
  j.field("readable", true).field("revealed", reveal).key("details").begin_object();
  for (const auto& [name, value] : plain) j.field(name, value);
  j.end_object().end_object();
}

std::optional<payout_destination_registered> read_destination(exchange& x, std::uint64_t id) {
  std::string v;
  auto st = x.svc.ledger.storage().read_state(ledger::keys::payout_destination(id), v);
  payout_destination_registered d;
  if (!st || !decode(v, d)) return std::nullopt;
  return d;
}

void respond(exchange& x, unsigned status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Ledger-Seq", std::to_string(x.svc.ledger.head().seq));
  x.finish(std::move(r));
}

// GET /v1/wallets/{id}/payout-destinations[?reveal=true]
void on_list(const exchange_ptr& x, std::uint64_t) {
  bool reveal = reveal_asked(*x);
  auto a = wallet_for(x, reveal);
  if (!a) return;
  const payout_keys* keys = keys_or_fail(*x);
  if (!keys) return;
  std::vector<std::pair<std::string, std::string>> index;
  if (auto st = x->svc.ledger.storage().scan_state(ledger::keys::wallet_payout_prefix(a->id), "", destinations_listed_max, index); !st)
    return x->fail_status(st, fault::ledger);
  json_out j;
  j.begin_object().field("wallet_id", a->id).key("destinations").begin_array();
  for (const auto& [k, v] : index) {
    std::uint64_t id = 0;
    for (unsigned char c : std::string_view(k).substr(9)) id = (id << 8) | c;
    if (auto d = read_destination(*x, id)) destination_json(j, *keys, *d, reveal);
  }
  j.end_array().end_object();
  respond(*x, 200, j.take());
}

// GET /v1/wallets/{id}/payout-destinations/{dest_id}[?reveal=true]
void on_get(const exchange_ptr& x, std::uint64_t dest_id) {
  bool reveal = reveal_asked(*x);
  auto a = wallet_for(x, reveal);
  if (!a) return;
  const payout_keys* keys = keys_or_fail(*x);
  if (!keys) return;
  auto d = read_destination(*x, dest_id);
  if (!d || d->wallet != a->id) return x->fail({404, "not-found", "no such payout destination on this wallet", "", {}});
  json_out j;
  destination_json(j, *keys, *d, reveal);
  respond(*x, 200, j.take());
}

// The Idempotency-Key header, checked as for every command; "" after answering.
std::string idempotency_key(exchange& x) {
  auto key = x.req.header("idempotency-key");
  bool ok = !key.empty() && key.size() <= key_bytes_max;
  for (unsigned char c : key) ok = ok && c > 0x20 && c < 0x7f;
  if (!x.req.has_header("idempotency-key"))
    x.fail({400, "idempotency-key-missing", "every command needs an Idempotency-Key header", "", {}});
  else if (!ok)
    x.fail({400, "idempotency-key-invalid", "Idempotency-Key must be 1 to 255 printable ASCII characters", "", {}});
  return ok ? std::string(key) : std::string();
}

// Reads and encrypts the details into `c`; false after answering. Field
// errors name the field and the rule, never the value.
bool read_details(exchange& x, const payout_keys& keys, register_payout_destination_cmd& c) {
  simdjson::dom::object obj;
  if (!x.require_json(true)) return false;
  if (auto p = parse_object(x.req.body, obj)) {
    x.fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
    return false;
  }
  field_reader r(obj);
  std::string plain[std::size(detail_fields)];
  for (std::size_t i = 0; i < std::size(detail_fields); ++i)
    plain[i] = r.text(detail_fields[i].name, detail_fields[i].required, payout_plaintext_bytes_max);
  if (auto p = r.finish()) {
    x.fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
    return false;
  }
  std::string* out[] = {&c.account_name, &c.bank_id, &c.account_number, &c.sender_details, &c.receiver_details};
  for (std::size_t i = 0; i < std::size(detail_fields); ++i) {
    if (plain[i].empty()) continue;
    if (auto e = keys.encrypt(c.owner, context_of(c.wallet), detail_fields[i].name, plain[i], *out[i]); e != key_error::none) {
      fail_key(x, e);
      return false;
    }
  }
  return true;
}

void registered(const exchange_ptr& x, const payout_keys& keys, const outcome& o, std::uint64_t wallet,
                const register_payout_destination_cmd& c) {
  if (!o.error.is_ok()) return x->fail_status(o.error, fault::ledger);
  http_response r;
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  if (o.replay) r.headers.emplace_back("Idempotent-Replayed", "true");
  if (o.result == event_status::rejected) {
    r.status = rejection_status;
    r.content_type = "application/problem+json";
    r.body = rejection_body(o, x->origin());
    return x->finish(std::move(r));
  }
  json_out j;
  // The accepted event's id is its seq (a replay answers the first one's).
  destination_json(j, keys, payout_destination_registered{o.seq, wallet, c.owner, c.account_name, c.bank_id,
                                                          c.account_number, c.sender_details, c.receiver_details},
                   false);
  r.status = 201;
  r.body = j.take();
  x->finish(std::move(r));
}

// POST /v1/wallets/{id}/payout-destinations {account_name, bank_id, account_number, sender_details?, receiver_details?}
void on_register(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin)) return;
  auto a = wallet_for(x, false);
  if (!a) return;
  const payout_keys* keys = keys_or_fail(*x);
  if (!keys) return;
  if (x->who->role_ == role::user && a->owner != x->who->subject)
    return x->fail({404, "not-found", "no such wallet", "", {}});
  std::string key = idempotency_key(*x);
  if (key.empty()) return;
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  register_payout_destination_cmd c;
  c.wallet = a->id;
  c.owner = a->owner;
  if (!read_details(*x, *keys, c)) return;
  command cmd{x->who->subject, key, x->request_id, c};
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, keys, c](std::vector<outcome>&& outs) {
    x->svc.dispatch([x, keys, c, o = std::move(outs.at(0))] { registered(x, *keys, o, c.wallet, c); });
  });
  if (result == append_result::ok) return;
  if (result == append_result::full)
    return x->fail({503, "overloaded", "the command queue is full; retry shortly", "", {{"Retry-After", "1"}}});
  x->fail({503, "unavailable", "the ledger is not accepting commands", "", {{"Retry-After", "5"}}});
}

// POST /v1/admin/keys/rotate: every data key re-wrapped under the current master key.
void on_rotate(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin)) return;
  const payout_keys* keys = keys_or_fail(*x);
  if (!keys) return;
  rotate_report rep;
  if (auto e = keys->rotate(rep); e != key_error::none) return fail_key(*x, e);
  json_out j;
  j.begin_object()
      .field("key_id", keys->current_key_id())
      .field("rewrapped", rep.rewrapped)
      .field("already_current", rep.current)
      .field("destroyed", rep.destroyed)
      .end_object();
  respond(*x, 200, j.take());
}

// POST /v1/admin/keys/destroy {owner}: crypto-shredding of one owner's details.
void on_destroy(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin)) return;
  const payout_keys* keys = keys_or_fail(*x);
  if (!keys) return;
  simdjson::dom::object obj;
  if (!x->require_json(true)) return;
  if (auto p = parse_object(x->req.body, obj))
    return x->fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
  field_reader r(obj);
  std::string owner = r.text("owner", true, owner_bytes_max);
  if (auto p = r.finish()) return x->fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
  bool destroyed = false;
  if (auto e = keys->destroy(owner, destroyed); e != key_error::none) return fail_key(*x, e);
  json_out j;
  j.begin_object().field("owner", owner).field("destroyed", destroyed).field("unreadable", true).end_object();
  respond(*x, 200, j.take());
}

}  // namespace

void add_payout_routes(router& r) {
  r.add("POST", "/v1/wallets/{id}/payout-destinations", "create_payout_destination", &on_register);
  r.add("GET", "/v1/wallets/{id}/payout-destinations", "list_payout_destinations", &on_list);
  r.add("GET", "/v1/wallets/{id}/payout-destinations/{dest_id}", "get_payout_destination", &on_get);
  r.add("POST", "/v1/admin/keys/rotate", "rotate_data_keys", &on_rotate);
  r.add("POST", "/v1/admin/keys/destroy", "destroy_data_key", &on_destroy);
}

}  // namespace ledger::api
