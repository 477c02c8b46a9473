// Wallet documents, the writing side (docs/documents.md): uploads and group
// membership. An upload is checked (size, media type sniffed from the bytes
// by libmagic), its content encrypted under the owner's data key and stored
// as a blob, durably, before the upload_document command is appended: the
// blob first, then the event, so a crash between the two leaves an orphan
// blob for the sweeper, never an event without its blob. The file name is
// encrypted before the command too; nothing in the log is plain text but the
// metadata the ledger needs.
#include "api/commands.h"
#include "api/document_upload.h"
#include "api/documents_common.h"
#include "api/multipart.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "documents/blob_crypto.h"
#include "documents/media_type.h"
#include "documents/thumbnail.h"
#include "schemas/session_validate.h"

namespace ledger::api {

namespace {

using namespace docs;

// A thumbnail is 200x200 at most: far below this.
inline constexpr std::size_t thumbnail_bytes_max = 4u << 20;

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

void uploaded(const exchange_ptr& x, const outcome& o, document_uploaded d) {
  if (answer_unaccepted(x, o)) {
    // A rejected upload names no blob: remove them (a retry stores them again).
    if (o.error.is_ok()) {
      (void)x->svc.config.documents.store->remove(d.blob_id);
      if (!d.thumbnail_blob_id.empty()) (void)x->svc.config.documents.store->remove(d.thumbnail_blob_id);
    }
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

// category, file_name and group as sent (query parameters, or form parts).
struct upload_fields {
  std::string category, file_name, group;
};

// The fields checked into `c` (the file name still plain, in `name`).
std::optional<problem> check_upload_fields(const upload_fields& f, const document_settings& s, upload_document_cmd& c,
                                           std::string& name) {
  if (f.category.empty()) return problem{400, "invalid-field", "category is required", "category", {}};
  if (!parse_document_category(f.category, c.category))
    return problem{400, "invalid-field", "category must be passport, visa, ticket, insurance, health or other", "category", {}};
  name = f.file_name;
  if (auto p = check_file_name(name, s.file_name_bytes_max)) return p;
  if (!f.group.empty()) {
    auto id = parse_id(f.group);
    if (!id) return problem{400, "invalid-field", "group must be a positive integer", "group", {}};
    c.group = *id;
  }
  return std::nullopt;
}

// A request body the transport did not stream (in-process callers): one piece.
class whole_body final : public body_source {
 public:
  explicit whole_body(std::string b) : body_(std::move(b)) {}
  void read(std::function<void(const piece&)> done) override {
    piece p;
    p.bytes = sent_ ? std::string_view() : std::string_view(body_);
    p.last = true;
    sent_ = true;
    done(p);
  }

 private:
  std::string body_;
  bool sent_ = false;
};

// One of the at most uploads_max uploads in progress, released on destruction.
class upload_slot {
 public:
  upload_slot(std::atomic<std::size_t>* count, std::size_t max) {
    if (!count) {
      held_ = true;
    } else if (count->fetch_add(1) < max) {
      count_ = count;
      held_ = true;
    } else {
      count->fetch_sub(1);
    }
  }
  ~upload_slot() {
    if (count_) count_->fetch_sub(1);
  }
  upload_slot(const upload_slot&) = delete;
  upload_slot& operator=(const upload_slot&) = delete;
  bool held() const { return held_; }

 private:
  std::atomic<std::size_t>* count_ = nullptr;
  bool held_ = false;
};

inline constexpr std::size_t form_field_bytes_max = 1024;
inline constexpr std::string_view sink_refused = "\x01";  // the sink's problem is in refused_

// One upload from its header to its answer: the body pulled piece by piece
// (raw, or the file part of a multipart form) into an upload_sink; at the
// end the thumbnail, the blobs (durable), then the command.
class upload_job : public std::enable_shared_from_this<upload_job> {
 public:
  upload_job(exchange_ptr x, const document_settings& s, upload_fields f, std::string key)
      : x_(std::move(x)), s_(s), f_(std::move(f)), key_(std::move(key)), slot_(s.uploads_in_flight, s.uploads_max) {
    c_.owner = x_->who->subject;
  }
  bool admitted() const { return slot_.held(); }

  // `boundary` set: a multipart/form-data body; else the body is the file.
  void start(const std::optional<std::string>& boundary, const std::string& content_type) {
    if (!x_->req.body_in) x_->req.body_in = std::make_shared<whole_body>(std::move(x_->req.body));
    if (!boundary) sink_ = std::make_unique<upload_sink>(s_, content_type);
    else form_ = std::make_unique<multipart_reader>(*boundary, form_events());
    pump();
  }

 private:
  void pump() {
    auto self = shared_from_this();
    x_->req.body_in->read([self](const body_source::piece& p) { self->on_piece(p); });
  }

  void on_piece(const body_source::piece& p) {
    if (p.error) {
      if (p.timed_out) return x_->fail({408, "upload-timeout", p.error, "", {}});
      return x_->fail({400, "request-body-incomplete", p.error, "", {}});
    }
    if (form_) {
      if (auto e = form_->feed(p.bytes); !e.empty()) return fail_form(e);
    } else if (auto pr = sink_->add(p.bytes)) {
      return fail_sink(*pr);
    }
    if (!p.last) return pump();
    finish();
  }

  void fail_sink(const problem& p) {
    if (sink_ && !sink_->log_text().empty()) x_->log_error(status::unavailable(sink_->log_text()));
    x_->fail(p);
  }
  void fail_form(const std::string& e) {
    if (e == sink_refused && refused_) return fail_sink(*refused_);
    x_->fail({400, "malformed-multipart", e, "", {}});
  }

  multipart_reader::events form_events();
  std::string begin_part(const multipart_part& part);
  void finish();
  std::optional<problem> make_thumbnail(std::string& out);
  bool seal(const std::string& thumbnail);

  exchange_ptr x_;
  const document_settings& s_;
  upload_fields f_;
  std::string key_, name_;
  upload_document_cmd c_;
  upload_slot slot_;
  std::unique_ptr<upload_sink> sink_;
  std::unique_ptr<multipart_reader> form_;
  std::optional<problem> refused_;  // the sink's refusal inside a form
  upload_fields parts_;            // the form's field parts
  std::string* field_ = nullptr;   // the field part being read, or null for the file
  std::string part_file_name_;     // the file part's filename
  bool in_file_ = false, seen_[3] = {false, false, false};
};

multipart_reader::events upload_job::form_events() {
  multipart_reader::events ev;
  ev.begin = [this](const multipart_part& part) { return begin_part(part); };
  ev.data = [this](std::string_view bytes) -> std::string {
    if (in_file_) {
      if ((refused_ = sink_->add(bytes))) return std::string(sink_refused);
      return "";
    }
    if (field_->size() + bytes.size() > form_field_bytes_max)
      return "a form field part exceeds " + std::to_string(form_field_bytes_max) + " bytes";
    field_->append(bytes);
    return "";
  };
  ev.end = [this] { return in_file_ = false, std::string(); };
  return ev;
}

std::string upload_job::begin_part(const multipart_part& part) {
  if (part.name == "file") {
    if (sink_) return "more than one file part";
    in_file_ = true;
    // Old browsers send a whole path: its last segment is the name.
    part_file_name_ = part.filename.substr(part.filename.find_last_of("/\\") + 1);
    sink_ = std::make_unique<upload_sink>(s_, documents::bare_media_type(part.content_type));
    return "";
  }
  static constexpr std::string_view names[] = {"category", "file_name", "group"};
  std::string* fields[] = {&parts_.category, &parts_.file_name, &parts_.group};
  for (std::size_t i = 0; i < 3; ++i) {
    if (part.name != names[i]) continue;
    if (seen_[i]) return "two " + part.name + " parts";
    seen_[i] = true;
    field_ = fields[i];
    return "";
  }
  return "unknown part \"" + part.name.substr(0, 64) + "\"; expected file, category, file_name or group";
}

// The body is whole: fields, verdict, thumbnail, blobs, then the command.
void upload_job::finish() {
  if (form_) {
    if (auto e = form_->finish(); !e.empty()) return fail_form(e);
    if (!sink_) return x_->fail({400, "malformed-multipart", "the form has no file part", "file", {}});
    // The query's values win; the parts fill what it lacks; the file's own
    // name is the last resort for file_name.
    if (f_.category.empty()) f_.category = parts_.category;
    if (f_.group.empty()) f_.group = parts_.group;
    if (f_.file_name.empty()) f_.file_name = parts_.file_name.empty() ? part_file_name_ : parts_.file_name;
  }
  if (auto p = sink_->end()) return fail_sink(*p);
  if (auto p = check_upload_fields(f_, s_, c_, name_)) return x_->fail(*p);
  c_.media_type = sink_->media_type();
  std::string thumbnail;
  if (auto p = make_thumbnail(thumbnail)) return x_->fail(*p);
  if (!seal(thumbnail)) return;
  // Tests only: a crash after the blobs are durable and before the event.
  if (s_.exit_after_blob_commit) std::_Exit(86);
  document_uploaded d{0, c_.owner, c_.group, c_.category, c_.file_name, c_.media_type, c_.size_bytes, c_.content_sha256,
                      c_.blob_id, c_.thumbnail_blob_id, c_.key_id, 0};
  auto x = x_;
  submit_single(x, command{x->who->subject, key_, x->request_id, c_}, [x, d](const outcome& o) { uploaded(x, o, d); });
}

// A JPEG's or PNG's thumbnail from the spool; a 422 for a decompression
// bomb; an image libvips cannot decode is stored without one.
std::optional<problem> upload_job::make_thumbnail(std::string& out) {
  if (!documents::thumbnail_supported(c_.media_type)) return std::nullopt;
  documents::thumbnail_limits lim;
  lim.side_max_px = s_.thumbnail_side_max_px;
  lim.pixels_max = s_.thumbnail_pixels_max;
  std::vector<std::unique_ptr<documents::spool_reader>> readers;  // alive while libvips reads
  auto open = [&](documents::piece_source& src) {
    std::unique_ptr<documents::spool_reader> r;
    if (auto st = sink_->spool().open_reader(r); !st) return st;
    auto* raw = r.get();
    readers.push_back(std::move(r));
    src = [raw](std::string& piece) { return raw->next(piece); };
    return status::ok();
  };
  std::string detail;
  auto made = documents::make_thumbnail(open, c_.media_type, lim, out, detail);
  if (made == documents::thumbnail_outcome::too_large) return problem{422, "image-too-large", detail, "", {}};
  if (made == documents::thumbnail_outcome::unreadable) {
    x_->log_error(status::invalid_argument("no thumbnail: " + detail));
    out.clear();
  }
  return std::nullopt;
}

// Encrypts the file name, then the content from the spool and the
// thumbnail into blobs (durable) named in `c_`.
bool upload_job::seal(const std::string& thumbnail) {
  const payout_keys& keys = *x_->svc.config.payment_keys;
  std::string data_key;
  auto err = keys.data_key(c_.owner, true, data_key);
  if (err == key_error::none) err = keys.wrapping_key_id(c_.owner, c_.key_id);
  if (err == key_error::none) err = keys.encrypt(c_.owner, file_name_context, "file_name", name_, c_.file_name);
  if (err == key_error::destroyed)
    return x_->fail({409, "data-key-destroyed", "the owner's data key was destroyed (crypto-shredding); no document can be stored", "", {}}), false;
  if (err != key_error::none) return x_->fail({503, "documents-unavailable", std::string(to_string(err)), "", {{"Retry-After", "5"}}}), false;
  c_.content_sha256 = sink_->sha256_hex();
  c_.size_bytes = sink_->size();
  // Everything that makes the payload, the content's hash included: a retry
  // of the same request stores the same bytes (so the same blob and
  // command), any other request, or other content, another nonce.
  std::string nonce_input = x_->who->subject + '\n' + key_ + '\n' + c_.content_sha256 + '\n' +
                            std::string(to_string(c_.category)) + '\n' + std::to_string(c_.group) + '\n' + name_;
  std::unique_ptr<documents::spool_reader> r;
  status st = sink_->spool().open_reader(r);
  std::uint64_t sealed = 0;
  if (st)
    st = documents::seal_blob_stream(*s_.store, data_key, c_.owner, nonce_input,
                                     [&](std::string& piece) { return r->next(piece); }, c_.blob_id, sealed);
  if (st && sealed != c_.size_bytes) st = status::corruption("the spool gave back another size than was written");
  if (st && !thumbnail.empty())
    st = documents::seal_blob(*s_.store, data_key, c_.owner, nonce_input + "\nthumbnail", thumbnail, c_.thumbnail_blob_id);
  if (!st) return x_->fail_status(st, fault::ledger), false;
  return true;
}

// POST /v1/documents: the file as the body with category, file_name and
// group in the query, or a multipart/form-data form with a file part.
void on_upload(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user)) return;
  const document_settings* s = settings_or_fail(*x);
  if (!s) return;
  upload_fields f{std::string(query_value(*x, "category")), std::string(query_value(*x, "file_name")),
                  std::string(query_value(*x, "group"))};
  std::string type = documents::bare_media_type(x->req.header("content-type"));
  std::optional<std::string> boundary;
  if (type == "multipart/form-data") {
    std::string why;
    if (!(boundary = multipart_boundary(x->req.header("content-type"), why)))
      return x->fail({400, "malformed-multipart", why, "", {}});
  } else {
    upload_document_cmd probe;
    std::string name;
    if (auto p = check_upload_fields(f, *s, probe, name)) return x->fail(*p);
  }
  std::string key = idempotency_key(*x);
  if (key.empty()) return;
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  auto job = std::make_shared<upload_job>(x, *s, std::move(f), std::move(key));
  if (!job->admitted())
    return x->fail({503, "uploads-busy", std::to_string(s->uploads_max) + " uploads are in progress; retry shortly", "",
                    {{"Retry-After", "1"}}});
  job->start(boundary, type);
}

// GET /v1/documents/{id}/thumbnail: as the content, for JPEG and PNG
// documents that have one (404 otherwise).
void on_thumbnail(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin)) return;
  if (!settings_or_fail(*x)) return;
  auto d = readable_document(*x, id);
  if (!d) return;
  if (d->thumbnail_blob_id.empty()) return x->fail({404, "not-found", "the document has no thumbnail", "", {}});
  const payout_keys& keys = *x->svc.config.payment_keys;
  std::string data_key, plain;
  auto err = keys.data_key(d->owner, false, data_key);
  if (err == key_error::destroyed) return x->fail({410, "not-found", "the document's key was destroyed", "", {}});
  if (err != key_error::none) return x->fail({503, "documents-unavailable", std::string(to_string(err)), "", {{"Retry-After", "5"}}});
  auto st = documents::open_blob(*x->svc.config.documents.store, d->thumbnail_blob_id, data_key, d->owner, thumbnail_bytes_max, plain);
  if (!st) return x->fail_status(st.error_code() == status::code::not_found ? status::corruption("thumbnail blob missing") : st, fault::ledger);
  http_response r;
  r.content_type = d->media_type;
  r.body = std::move(plain);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "private, no-store");
  x->finish(std::move(r));
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
  submit_single(x, command{x->who->subject, key, x->request_id, c}, [x, c](const outcome& o) {
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
  r.add("GET", "/v1/documents/{id}/thumbnail", "get_document_thumbnail", &on_thumbnail);
}

}  // namespace ledger::api
