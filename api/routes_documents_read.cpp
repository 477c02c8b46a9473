// Wallet documents, the reading side (docs/documents.md): list, get,
// content, signed links, delete. Reads go to committed state (the engine's
// RocksDB snapshot); a user sees its own documents and those of the groups
// it is a member of; every other document is answered as a missing one.
// Only the owner (or an admin) deletes.
#include <algorithm>
#include <ctime>

#include "api/documents_common.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "documents/blob_crypto.h"
#include "engine/state.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

using namespace docs;

std::uint64_t be64_at(std::string_view key, std::size_t at) {
  std::uint64_t v = 0;
  for (unsigned char c : key.substr(at, 8)) v = (v << 8) | c;
  return v;
}

// Ids after `after` from one index (the id is the last 8 bytes of each key).
// When the index has more than `max`, `cutoff` is lowered to the last id
// read: ids beyond it from other indexes wait for the next page.
status scan_ids(const store& st, const std::string& prefix, std::uint64_t after, std::size_t max,
                std::vector<std::uint64_t>& out, std::uint64_t& cutoff) {
  std::string start = after ? prefix + std::string(8, '\0') : std::string();
  if (after) for (int i = 0; i < 8; ++i) start[prefix.size() + static_cast<std::size_t>(i)] = static_cast<char>((after >> (56 - 8 * i)) & 0xff);
  std::vector<std::pair<std::string, std::string>> rows;
  if (auto s = st.scan_state(prefix, start, max, rows); !s) return s;
  for (const auto& [k, v] : rows)
    if (k.size() == prefix.size() + 8) out.push_back(be64_at(k, prefix.size()));
  if (rows.size() == max && !rows.empty()) cutoff = std::min(cutoff, be64_at(rows.back().first, prefix.size()));
  return status::ok();
}

// The groups the caller is a member of (bounded by groups_per_member_max).
status member_groups(const store& st, const std::string& member, std::vector<std::uint64_t>& out) {
  std::uint64_t unused = UINT64_MAX;
  return scan_ids(st, ledger::keys::member_groups_prefix(member), 0, groups_per_member_max + 1, out, unused);
}

struct list_query {
  std::uint64_t group = 0, after = 0;
  bool by_category = false;
  document_category category = document_category::other;
  std::size_t limit = 50;
};

std::optional<problem> read_list_query(const exchange& x, const document_settings& s, list_query& q) {
  if (auto g = query_value(x, "group"); !g.empty()) {
    auto id = parse_id(g);
    if (!id) return problem{400, "invalid-field", "group must be a positive integer", "group", {}};
    q.group = *id;
  }
  if (auto c = query_value(x, "category"); !c.empty()) {
    if (!parse_document_category(c, q.category))
      return problem{400, "invalid-field", "category must be passport, visa, ticket, insurance, health or other", "category", {}};
    q.by_category = true;
  }
  if (auto a = query_value(x, "after"); !a.empty()) {
    auto id = parse_id(a);
    if (!id) return problem{400, "invalid-field", "after must be a positive integer (a document id)", "after", {}};
    q.after = *id;
  }
  if (auto l = query_value(x, "limit"); !l.empty()) {
    auto n = parse_id(l);
    if (!n || *n > s.page_max) return problem{400, "invalid-field", "limit must be 1 to " + std::to_string(s.page_max), "limit", {}};
    q.limit = static_cast<std::size_t>(*n);
  }
  return std::nullopt;
}

// Candidate ids after q.after, ascending, from the caller's own index and
// its groups' (each source read for at most scan_max entries); `cutoff`:
// the last id every source was read up to (UINT64_MAX: all were read whole).
status candidates(const exchange& x, const document_settings& s, const list_query& q, std::vector<std::uint64_t>& ids,
                  std::uint64_t& cutoff) {
  const store& st = x.svc.ledger.storage();
  const std::string& me = x.who->subject;
  cutoff = UINT64_MAX;
  if (auto r = scan_ids(st, ledger::keys::owner_documents_prefix(me), q.after, s.list_scan_max, ids, cutoff); !r) return r;
  std::vector<std::uint64_t> groups;
  if (auto r = member_groups(st, me, groups); !r) return r;
  for (auto g : groups) {
    if (q.group != 0 && g != q.group) continue;
    if (auto r = scan_ids(st, ledger::keys::group_documents_prefix(g), q.after, s.list_scan_max, ids, cutoff); !r) return r;
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  ids.erase(std::upper_bound(ids.begin(), ids.end(), cutoff), ids.end());
  return status::ok();
}

void respond(exchange& x, unsigned code, std::string body) {
  http_response r;
  r.status = code;
  r.body = std::move(body);
  r.headers.emplace_back("Ledger-Seq", std::to_string(x.svc.ledger.head().seq));
  x.finish(std::move(r));
}

// GET /v1/documents[?group=&category=&after=&limit=]
void on_list(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user)) return;
  const document_settings* s = settings_or_fail(*x);
  if (!s) return;
  list_query q;
  if (auto p = read_list_query(*x, *s, q)) return x->fail(*p);
  std::vector<std::uint64_t> ids;
  std::uint64_t cutoff = 0;
  if (auto st = candidates(*x, *s, q, ids, cutoff); !st) return x->fail_status(st, fault::ledger);
  json_out j;
  j.begin_object().key("documents").begin_array();
  std::size_t n = 0;
  std::uint64_t last = 0;
  for (auto id : ids) {
    if (n == q.limit) break;
    last = id;
    std::string v;
    document_uploaded d;
    if (!x->svc.ledger.storage().read_state(ledger::keys::document(id), v) || !decode(v, d)) continue;
    if ((q.group != 0 && d.group != q.group) || (q.by_category && d.category != q.category)) continue;
    if (!may_read(x->svc, *x->who, d)) continue;
    document_json(j, *x->svc.config.payment_keys, d);
    ++n;
  }
  j.end_array();
  // More may follow when the page filled, or when a source was cut at scan_max.
  if (n == q.limit) j.field("next_after", last);
  else if (cutoff != UINT64_MAX) j.field("next_after", cutoff);
  j.end_object();
  respond(*x, 200, j.take());
}

// GET /v1/documents/{id}
void on_get(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin)) return;
  if (!settings_or_fail(*x)) return;
  auto d = readable_document(*x, id);
  if (!d) return;
  json_out j;
  document_json(j, *x->svc.config.payment_keys, *d);
  respond(*x, 200, j.take());
}

// RFC 6266/8187: the decrypted name, percent-encoded, as the download name.
std::string content_disposition(const payout_keys& keys, const document_uploaded& d) {
  std::string name;
  if (keys.decrypt(d.owner, file_name_context, "file_name", d.file_name, name) != key_error::none)
    name = "document-" + std::to_string(d.id);
  static const char* hex = "0123456789ABCDEF";
  std::string enc;
  for (unsigned char c : name) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    if (plain) enc.push_back(static_cast<char>(c));
    else enc += {'%', hex[c >> 4], hex[c & 15]};
  }
  return "attachment; filename*=UTF-8''" + enc;
}

// Provider-side encryption: the object store serves the content.
void redirect_to(exchange& x, const std::string& url) {
  http_response r;
  r.status = 307;
  r.headers.emplace_back("Location", url);
  r.headers.emplace_back("Cache-Control", "private, no-store");
  x.finish(std::move(r));
}

// The plain content of `d`, checked against its recorded hash.
void send_content(exchange& x, const document_uploaded& d) {
  const payout_keys& keys = *x.svc.config.payment_keys;
  std::string data_key;
  auto err = keys.data_key(d.owner, false, data_key);
  if (err == key_error::destroyed) return x.fail({410, "not-found", "the document's key was destroyed", "", {}});
  if (err != key_error::none) return x.fail({503, "documents-unavailable", std::string(to_string(err)), "", {{"Retry-After", "5"}}});
  if (const auto& presign = x.svc.config.documents.presigned_content_url) return redirect_to(x, presign(d.blob_id, x.svc.clk.now_us() / 1'000'000));
  std::string plain;
  auto st = documents::open_blob(*x.svc.config.documents.store, d.blob_id, data_key, d.owner,
                                 static_cast<std::size_t>(d.size_bytes), plain);
  if (st && documents::sha256_hex(plain) != d.content_sha256) st = status::corruption("content hash differs from the recorded one");
  if (!st) return x.fail_status(st.error_code() == status::code::not_found ? status::corruption("blob missing") : st, fault::ledger);
  http_response r;
  r.content_type = d.media_type;
  r.body = std::move(plain);
  r.headers.emplace_back("Content-Disposition", content_disposition(keys, d));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "private, no-store");
  r.headers.emplace_back("Digest", "sha-256=" + d.content_sha256);
  x.finish(std::move(r));
}

// A signed link's query (expires, signature); nullopt after answering 403.
bool link_valid(exchange& x, std::uint64_t id) {
  const auto* links = x.svc.config.documents.links;
  auto exp = query_value(x, "expires");
  auto sig = query_value(x, "signature");
  std::int64_t expires = 0;
  for (char c : exp) expires = (c >= '0' && c <= '9' && expires < (INT64_MAX / 10 - 9)) ? expires * 10 + (c - '0') : -1;
  if (!links || !links->configured() || exp.empty() || expires <= 0 || !links->verify(id, expires, sig))
    return x.fail({403, "link-invalid", "the link's signature does not match", "signature", {}}), false;
  if (expires <= x.svc.clk.now_us() / 1'000'000)
    return x.fail({403, "link-expired", "the link expired; ask for a new one", "expires", {}}), false;
  return true;
}

// GET /v1/documents/{id}/content: with a bearer token, or a signed link's
// expires and signature (no token: the link is the credential).
void on_content(const exchange_ptr& x, std::uint64_t id) {
  bool signed_link = !query_value(*x, "signature").empty() && !x->req.has_header("authorization");
  if (!signed_link && !x->authenticate(role_user | role_admin)) return;
  if (!settings_or_fail(*x)) return;
  if (signed_link) {
    if (!link_valid(*x, id)) return;
    std::string v;
    document_uploaded d;
    // Deleted since the link was made: gone.
    if (!x->svc.ledger.storage().read_state(ledger::keys::document(id), v) || !decode(v, d))
      return x->fail({404, "not-found", "no such document", "", {}});
    return send_content(*x, d);
  }
  auto d = readable_document(*x, id);
  if (d) send_content(*x, *d);
}

// GET /v1/documents/{id}/link: a URL for the content, signed, short-lived.
void on_link(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin)) return;
  const document_settings* s = settings_or_fail(*x);
  if (!s) return;
  if (!s->links || !s->links->configured())
    return x->fail({503, "documents-unavailable", "no link signing key is configured (--document-link-key-file)", "", {}});
  auto d = readable_document(*x, id);
  if (!d) return;
  std::int64_t expires = x->svc.clk.now_us() / 1'000'000 + s->link_ttl_s;
  std::string url = "/v1/documents/" + std::to_string(id) + "/content?expires=" + std::to_string(expires) +
                    "&signature=" + s->links->sign(id, expires);
  json_out j;
  j.begin_object().field("url", url).field("expires_at", format_rfc3339_us(expires * 1'000'000)).end_object();
  respond(*x, 200, j.take());
}

// After the deletion is durable: the blobs go (a failure leaves orphans the
// sweeper removes).
void deleted(const exchange_ptr& x, const outcome& o, const document_uploaded& d) {
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
  auto* store = x->svc.config.documents.store;
  (void)store->remove(d.blob_id);
  if (!d.thumbnail_blob_id.empty()) (void)store->remove(d.thumbnail_blob_id);
  json_out j;
  j.begin_object().field("id", d.id).field("deleted", true).end_object();
  r.body = j.take();
  x->finish(std::move(r));
}

// DELETE /v1/documents/{id}: the owner or an admin; group members may not.
void on_delete(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin)) return;
  if (!settings_or_fail(*x)) return;
  auto d = readable_document(*x, id);
  if (!d) return;
  if (x->who->role_ == role::user && d->owner != x->who->subject)
    return x->fail({403, "forbidden", "only the document's owner may delete it; group members may read it", "", {}});
  auto key = x->req.header("idempotency-key");
  std::string idem = key.empty() ? "delete-document-" + std::to_string(id) : std::string(key);
  if (idem.size() > key_bytes_max) return x->fail({400, "idempotency-key-invalid", "Idempotency-Key must be 1 to 255 printable ASCII characters", "", {}});
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  command cmd{x->who->subject, idem, x->request_id, delete_document_cmd{id, d->owner}};
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, doc = *d](std::vector<outcome>&& outs) {
    x->svc.dispatch([x, doc, o = std::move(outs.at(0))] { deleted(x, o, doc); });
  });
  if (result == append_result::ok) return;
  x->fail({503, "unavailable", "the ledger is not accepting commands", "", {{"Retry-After", "1"}}});
}

}  // namespace

void add_document_read_routes(router& r) {
  r.add("GET", "/v1/documents", "list_documents", &on_list);
  r.add("GET", "/v1/documents/{id}", "get_document", &on_get);
  r.add("DELETE", "/v1/documents/{id}", "delete_document", &on_delete);
  r.add("GET", "/v1/documents/{id}/content", "get_document_content", &on_content);
  r.add("GET", "/v1/documents/{id}/link", "get_document_link", &on_link);
}

}  // namespace ledger::api
