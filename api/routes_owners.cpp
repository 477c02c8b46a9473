// DELETE /v1/owners/{owner} (docs/documents.md, "Deleting an owner"): the
// account-deletion cascade.
//
// Who: an admin, or the owner itself with a fresh credential (a token or
// wallet session issued at most owner_deletion_fresh_s ago, so a stolen
// long-lived token cannot erase an account). A user naming another owner
// gets 404, as for every other user's object.
//
// Order: the delete_owner command goes through the log first (it is the
// audit record, and in one event it closes the wallets, revokes the
// sessions, removes the documents from state and marks the owner deleted);
// only after it is durable does the API remove the blobs and destroy the
// owner's data key. A crash in between is finished at start-up
// (finish_owner_deletions destroys the key of every deleted owner) and by
// the orphan sweeper (blobs no live document names).
#include <openssl/rand.h>

#include "api/commands.h"
#include "api/owner_routes_common.h"
#include "api/routes.h"
#include "base/json_out.h"
#include "engine/state.h"
#include "engine/store.h"
#include "schemas/codec.h"
#include "schemas/events.h"
#include "schemas/session_validate.h"

namespace ledger::api {

namespace {

constexpr std::int64_t owner_deletion_fresh_s = 300;
constexpr std::size_t scan_page = 1000;

std::uint64_t id_at_end(std::string_view key) {
  std::uint64_t v = 0;
  for (unsigned char c : key.substr(key.size() - 8)) v = (v << 8) | c;
  return v;
}

// The path segment, percent-decoded; "" when malformed.
std::string decode_segment(std::string_view s) {
  std::string out;
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return {};
    out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
    i += 2;
  }
  return out;
}

// What the owner_deleted event closed, read back from the journal.
std::optional<owner_deleted> read_deletion(const store& st, std::uint64_t seq) {
  journal_entry je;
  event e;
  if (!st.read_event(seq, je).is_ok() || !decode_event(je.event_bytes, e).is_ok()) return std::nullopt;
  for (auto& fx : e.effects)
    if (auto* d = std::get_if<owner_deleted>(&fx)) return std::move(*d);
  return std::nullopt;
}

// After the event: blobs removed (the list was checked by decide to be the
// owner's documents), then the data key destroyed.
void clean_up(const exchange_ptr& x, const std::string& owner, const std::vector<document_uploaded>& docs, json_out& j) {
  std::uint64_t removed = 0;
  if (auto* blobs = x->svc.config.documents.store) {
    for (const auto& d : docs) {
      for (const auto* id : {&d.blob_id, &d.thumbnail_blob_id}) {
        if (id->empty()) continue;
        if (auto st = blobs->remove(*id); st) ++removed;
        else x->log_error(st);  // the orphan sweeper removes it later
      }
    }
  }
  bool destroyed = false;
  key_error err = key_error::no_master_key;
  if (const auto* keys = x->svc.config.payment_keys) err = keys->destroy(owner, destroyed);
  if (err != key_error::none && err != key_error::no_master_key)
    x->log_error(status::unavailable("data key destruction failed: " + std::string(to_string(err))));
  j.field("blobs_removed", removed).field("data_key_destroyed", err == key_error::none);
}

void deleted(const exchange_ptr& x, const outcome& o, const std::string& owner, const std::vector<document_uploaded>& docs) {
  if (!o.error.is_ok()) return x->fail_status(o.error, fault::ledger);
  if (o.result == event_status::rejected) {
    std::string detail = o.detail.empty() ? std::string(to_string(o.reason)) : o.detail;
    if (o.reason == reason::balance_not_zero) return x->fail({409, "owner-holds-money", detail, "", {}});
    if (o.reason == reason::owner_deleted) return x->fail({409, "owner-deleted", detail, "", {}});
    if (o.reason == reason::deletion_too_large) return x->fail({409, "owner-too-large", detail, "", {}});
    if (o.reason == reason::invalid_state)
      return x->fail({409, "owner-changed", "the owner's documents changed during the deletion; retry", "", {}});
    return x->fail({422, "command-rejected", detail, "", {}});
  }
  auto del = read_deletion(x->svc.ledger.storage(), o.seq);
  if (!del) return x->fail_status(status::corruption("the deletion event is unreadable"), fault::ledger);
  json_out j;
  j.begin_object().field("owner", owner).field("seq", o.seq);
  for (auto [name, ids] : {std::pair{"wallets_closed", &del->wallets}, {"sessions_revoked", &del->sessions},
                           {"documents_deleted", &del->documents}, {"groups_left", &del->groups},
                           {"payment_requests_closed", &del->payment_requests}}) {
    j.key(name).begin_array();
    for (auto id : *ids) j.num(id);
    j.end_array();
  }
  j.key("addresses_disconnected").begin_array();
  for (const auto& a : del->addresses)
    j.begin_object().field("chain", std::string(to_string(a.chain))).field("address", a.address).end_object();
  j.end_array();
  clean_up(x, owner, docs, j);
  j.end_object();
  http_response r;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  if (o.replay) r.headers.emplace_back("Idempotent-Replayed", "true");
  x->finish(std::move(r));
}

// Admin, or the owner with a fresh credential; false after answering.
bool may_delete(exchange& x, const std::string& owner) {
  if (x.who->role_ == role::admin) return true;
  if (x.who->subject != owner) return x.fail({404, "not-found", "no such owner", "", {}}), false;
  std::int64_t now_s = x.svc.clk.now_us() / 1'000'000;
  if (x.who->issued_at_s == 0 || now_s - x.who->issued_at_s > owner_deletion_fresh_s)
    return x.fail({403, "fresh-credential-required",
                   "deleting your account needs a credential issued within the last " +
                       std::to_string(owner_deletion_fresh_s / 60) + " minutes; sign in again",
                   "", {}}), false;
  return true;
}

// DELETE /v1/owners/{owner} with an Idempotency-Key.
void on_delete_owner(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin)) return;
  std::string owner = x->segments.size() >= 3 ? decode_segment(x->segments[2]) : std::string();
  delete_owner_cmd c;
  c.owner = owner;
  if (auto e = validate_body(c)) return x->fail({400, "invalid-field", "owner: " + e->message, "owner", {}});
  if (!may_delete(*x, owner)) return;
  auto key = x->req.header("idempotency-key");
  if (key.empty() || key.size() > key_bytes_max)
    return x->fail({400, "idempotency-key-missing", "a deletion needs an Idempotency-Key header of 1 to 255 bytes", "", {}});
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  std::vector<document_uploaded> docs;
  if (auto st = owners::owner_documents(x->svc.ledger.storage(), owner, docs); !st) return x->fail_status(st, fault::ledger);
  for (const auto& d : docs) c.documents.push_back(d.id);
  if (c.documents.size() > owner_deletion_documents_max)
    return x->fail({409, "owner-too-large",
                    "the owner holds " + std::to_string(c.documents.size()) + " documents; one deletion removes at most " +
                        std::to_string(owner_deletion_documents_max) + "; delete some documents first",
                    "", {}});
  submit_single(x, command{x->who->subject, std::string(key), x->request_id, c},
                     [x, owner, docs = std::move(docs)](const outcome& o) { deleted(x, o, owner, docs); });
}

}  // namespace

namespace owners {

status owner_documents(const store& st, const std::string& owner, std::vector<document_uploaded>& out) {
  std::string prefix = ledger::keys::owner_documents_prefix(owner), after;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> rows;
    if (auto s = st.scan_state(prefix, after, scan_page, rows); !s) return s;
    for (const auto& [k, v] : rows) {
      if (k.size() != prefix.size() + 8) continue;
      std::string rec;
      document_uploaded d;
      if (auto s = st.read_state(ledger::keys::document(id_at_end(k)), rec); !s) return s;
      if (auto s = decode(rec, d); !s) return s;
      out.push_back(std::move(d));
      if (out.size() > documents_per_owner_max) return status::corruption("more documents than an owner may hold");
    }
    if (rows.size() < scan_page) return status::ok();
    after = rows.back().first;
  }
}


std::string random_key() {
  unsigned char r[16];
  LEDGER_ASSERT(RAND_bytes(r, sizeof r) == 1, "the system's random source failed");
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : r) s += {digits[c >> 4], digits[c & 15]};
  return s;
}

status finish_owner_deletions(const store& st, const payout_keys& keys, std::size_t& destroyed) {
  destroyed = 0;
  std::string after;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> rows;
    if (auto s = st.scan_state("O", after, scan_page, rows); !s) return s;
    for (const auto& [k, v] : rows) {
      bool had_key = false;
      auto err = keys.destroy(std::string_view(k).substr(1), had_key);
      if (err != key_error::none && err != key_error::no_master_key)
        return status::unavailable("data key destruction failed: " + std::string(to_string(err)));
      if (had_key) ++destroyed;
    }
    if (rows.size() < scan_page) return status::ok();
    after = rows.back().first;
  }
}

}  // namespace owners

void add_owner_routes(router& r) { r.add("DELETE", "/v1/owners/{owner}", "delete_owner", &on_delete_owner); }

}  // namespace ledger::api
