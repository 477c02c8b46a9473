// Wallet documents, the writing side (docs/documents.md): uploads and group
// membership. An upload is checked (size, media type sniffed from the bytes
// by libmagic), its content encrypted under the owner's data key and stored
// as a blob, durably, before the upload_document command is appended: the
// blob first, then the event, so a crash between the two leaves an orphan
// blob for the sweeper, never an event without its blob. The file name is
// encrypted before the command too; nothing in the log is plain text but the
// metadata the ledger needs.
#include "api/documents_common.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "documents/blob_crypto.h"
#include "documents/media_type.h"
#include "schemas/session_validate.h"

namespace ledger::api {

namespace {

using namespace docs;

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

// Submits one command; `done` gets its outcome on an I/O thread.
void submit_one(const exchange_ptr& x, command cmd, std::function<void(const outcome&)> done) {
  auto result = x->svc.ledger.submit({std::move(cmd)}, [x, done = std::move(done)](std::vector<outcome>&& outs) {
    x->svc.dispatch([done, o = std::move(outs.at(0))] { done(o); });
  });
  if (result == append_result::ok) return;
  if (result == append_result::full)
    return x->fail({503, "overloaded", "the command queue is full; retry shortly", "", {{"Retry-After", "1"}}});
  x->fail({503, "unavailable", "the ledger is not accepting commands", "", {{"Retry-After", "5"}}});
}

// A rejection or an operating error answered; false when accepted.
bool answer_unaccepted(const exchange_ptr& x, const outcome& o) {
  if (!o.error.is_ok()) return x->fail_status(o.error, fault::ledger), true;
  if (o.result != event_status::rejected) return false;
  http_response r;
  r.status = rejection_status;
  r.content_type = "application/problem+json";
  r.body = rejection_body(o, x->origin());
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  if (o.replay) r.headers.emplace_back("Idempotent-Replayed", "true");
  x->finish(std::move(r));
  return true;
}

// A file name as people write them: 1 to 255 bytes, no control characters,
// no path separators (it is shown and used as a download name).
std::optional<problem> check_file_name(std::string_view v, std::size_t max) {
  if (v.empty() || v.size() > max)
    return problem{400, "invalid-field", "file_name must be 1 to " + std::to_string(max) + " bytes", "file_name", {}};
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
      return problem{400, "invalid-field", "file_name must not contain control characters or path separators", "file_name", {}};
  return std::nullopt;
}

// category, file_name and group from the query into `c` (file name still plain).
std::optional<problem> read_upload_query(exchange& x, const document_settings& s, upload_document_cmd& c, std::string& name) {
  auto cat = query_value(x, "category");
  if (cat.empty()) return problem{400, "invalid-field", "category is required", "category", {}};
  if (!parse_document_category(cat, c.category))
    return problem{400, "invalid-field", "category must be passport, visa, ticket, insurance, health or other", "category", {}};
  name = std::string(query_value(x, "file_name"));
  if (auto p = check_file_name(name, s.file_name_bytes_max)) return p;
  if (auto g = query_value(x, "group"); !g.empty()) {
    auto id = parse_id(g);
    if (!id) return problem{400, "invalid-field", "group must be a positive integer", "group", {}};
    c.group = *id;
  }
  return std::nullopt;
}

// The content's media type from its bytes; a precise 415 when it is not
// allowed or the declared Content-Type says otherwise.
std::optional<problem> check_media_type(exchange& x, std::string_view content, std::string& sniffed) {
  if (auto st = documents::sniff_media_type(content, sniffed); !st)
    return problem{503, "documents-unavailable", "the media type could not be determined", "", {{"Retry-After", "5"}}};
  if (!documents::allowed_media_type(sniffed))
    return problem{415, "unsupported-media-type",
                   "the content is " + sniffed + "; allowed: " + std::string(documents::allowed_media_types_text()), "", {}};
  std::string declared = documents::bare_media_type(x.req.header("content-type"));
  if (!declared.empty() && declared != "application/octet-stream" && declared != sniffed)
    return problem{415, "media-type-mismatch", "Content-Type says " + declared + " but the content is " + sniffed, "", {}};
  return std::nullopt;
}

// Virus scanning (clamd INSTREAM); false after answering.
bool scan_clean(exchange& x, const document_settings& s, std::string_view content) {
  if (s.scan_disabled) return true;
  if (!s.scanner)
    return x.fail({503, "virus-scanner-unavailable",
                   "no virus scanner is configured (--clamd-socket PATH; --clamd-socket off uploads unscanned)", "", {}}), false;
  documents::scan_result r;
  if (auto st = s.scanner->scan(content, r); !st) {
    x.log_error(st);
    return x.fail({503, "virus-scanner-unavailable", "the virus scanner did not answer; retry later", "", {{"Retry-After", "5"}}}), false;
  }
  if (r.infected) return x.fail({422, "infected-content", "the content is infected: " + r.signature, "", {}}), false;
  return true;
}

void uploaded(const exchange_ptr& x, const outcome& o, document_uploaded d) {
  if (answer_unaccepted(x, o)) {
    // A rejected upload names no blob: remove it (a retry stores it again).
    if (o.error.is_ok()) (void)x->svc.config.documents.store->remove(d.blob_id);
    return;
  }
  d.id = o.seq;
  d.created_at_us = o.log_ts_us;
  json_out j;
  document_json(j, *x->svc.config.payment_keys, d);
  http_response r;
  r.status = 201;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  r.headers.emplace_back("Location", "/v1/documents/" + std::to_string(o.seq));
  if (o.replay) r.headers.emplace_back("Idempotent-Replayed", "true");
  x->finish(std::move(r));
}

// Encrypts the file name and the content (blob first, durable) into `c`.
bool seal(exchange& x, const std::string& key, const std::string& name, std::string_view content, upload_document_cmd& c) {
  const payout_keys& keys = *x.svc.config.payment_keys;
  std::string data_key;
  auto err = keys.data_key(c.owner, true, data_key);
  if (err == key_error::none) err = keys.wrapping_key_id(c.owner, c.key_id);
  if (err == key_error::none) err = keys.encrypt(c.owner, file_name_context, "file_name", name, c.file_name);
  if (err == key_error::destroyed)
    return x.fail({409, "data-key-destroyed", "the owner's data key was destroyed (crypto-shredding); no document can be stored", "", {}}), false;
  if (err != key_error::none) return x.fail({503, "documents-unavailable", std::string(to_string(err)), "", {{"Retry-After", "5"}}}), false;
  c.content_sha256 = documents::sha256_hex(content);
  c.size_bytes = content.size();
  // Everything that makes the payload: a retry with the same request stores
  // the same bytes (so the same blob and command), another request others.
  std::string nonce_input = x.who->subject + '\n' + key + '\n' + c.content_sha256 + '\n' +
                            std::string(to_string(c.category)) + '\n' + std::to_string(c.group) + '\n' + name;
  if (auto st = documents::seal_blob(*x.svc.config.documents.store, data_key, c.owner, nonce_input, content, c.blob_id); !st)
    return x.fail_status(st, fault::ledger), false;
  return true;
}

// POST /v1/documents?category=&file_name=[&group=] with the file as the body.
void on_upload(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user)) return;
  const document_settings* s = settings_or_fail(*x);
  if (!s) return;
  upload_document_cmd c;
  c.owner = x->who->subject;
  std::string name;
  if (auto p = read_upload_query(*x, *s, c, name)) return x->fail(*p);
  std::string key = idempotency_key(*x);
  if (key.empty()) return;
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  std::string_view content = x->req.body;
  if (content.empty()) return x->fail({400, "empty-document", "the request body (the file) is empty", "", {}});
  if (content.size() > s->upload_bytes_max)
    return x->fail({413, "body-too-large", "the document exceeds " + std::to_string(s->upload_bytes_max) + " bytes", "", {}});
  if (auto p = check_media_type(*x, content, c.media_type)) return x->fail(*p);
  if (!scan_clean(*x, *s, content)) return;
  if (!seal(*x, key, name, content, c)) return;
  document_uploaded d{0, c.owner, c.group, c.category, c.file_name, c.media_type, c.size_bytes, c.content_sha256,
                      c.blob_id, c.thumbnail_blob_id, c.key_id, 0};
  submit_one(x, command{x->who->subject, key, x->request_id, c}, [x, d](const outcome& o) { uploaded(x, o, d); });
}

// PUT /v1/document-groups/{id}/members {"members": [...]} (admin, service):
// replaces the group's members.
void on_set_members(const exchange_ptr& x, std::uint64_t group) {
  if (!x->authenticate(role_admin | role_service)) return;
  simdjson::dom::object obj;
  if (!x->require_json(true)) return;
  if (auto p = parse_object(x->req.body, obj))
    return x->fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
  field_reader r(obj);
  set_group_members_cmd c;
  c.group = group;
  if (auto arr = r.array("members", true, group_members_max)) {
    for (auto el : *arr) {
      std::string_view m;
      if (el.get_string().get(m) || m.empty() || m.size() > owner_bytes_max) {
        r.fail("members", "every member must be a string of 1 to 128 bytes");
        break;
      }
      c.members.emplace_back(m);
    }
  }
  if (auto p = r.finish()) return x->fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field, {}});
  if (auto e = validate_body(c)) return x->fail({400, "invalid-field", e->field + ": " + e->message, e->field, {}});
  std::string key = idempotency_key(*x);
  if (key.empty()) return;
  submit_one(x, command{x->who->subject, key, x->request_id, c}, [x, c](const outcome& o) {
    if (answer_unaccepted(x, o)) return;
    json_out j;
    j.begin_object().field("group", c.group).key("members").begin_array();
    for (const auto& m : c.members) j.str(m);
    j.end_array().end_object();
    http_response res;
    res.body = j.take();
    res.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
    x->finish(std::move(res));
  });
}

}  // namespace

void add_document_read_routes(router& r);

void add_document_routes(router& r) {
  r.add("POST", "/v1/documents", "upload_document", &on_upload);
  r.add("PUT", "/v1/document-groups/{id}/members", "set_document_group_members", &on_set_members);
  add_document_read_routes(r);
}

}  // namespace ledger::api
