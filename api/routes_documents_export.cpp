// GET /v1/documents/export (docs/documents.md, "Export"): every document of
// the caller as one ZIP, plus manifest.json, streamed with bounded memory.
//
// The export is a command first (export_documents through the log): the
// single writer allows one per owner per hour of log time, and a refusal is
// answered 429 with Retry-After from the last export's log time. Once the
// event is durable, a producer thread writes the ZIP with libarchive
// (Debian's libarchive; entries stored, not deflated: documents are PDFs and
// images, already compressed) into a bounded queue that the connection
// drains as HTTP/1.1 chunks. Each document is read twice, streaming: first
// decrypted and hashed to check its SHA-256 and GCM tag, then, only when
// both match, decrypted again into the ZIP; so no byte of an unverified
// document is sent, and memory never holds more than a few 64 KiB chunks.
// A document that fails the check is listed in the manifest with an error
// and no file.
//
// Limits: exports_at_once_max producer threads at once (503 beyond);
// export_queue_pieces_max pieces of at most 64 KiB queued per export.
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "api/commands.h"
#include "api/documents_common.h"
#include "api/owner_routes_common.h"
#include "api/routes.h"
#include "documents/blob_crypto.h"
#include "engine/state.h"
#include "schemas/codec.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

using namespace docs;

constexpr std::size_t exports_at_once_max = 2;
constexpr std::size_t export_queue_pieces_max = 8;
constexpr std::size_t export_block_bytes = 64 * 1024;
constexpr std::size_t zip_name_bytes_max = 120;

std::atomic<std::size_t> exports_running{0};

struct export_item {
  document_uploaded doc;
  std::string file_name;  // plain, as uploaded ("" when unreadable)
  std::string path;       // inside the ZIP; "" when the document failed its check
  std::string error;
};

// A user's file name made safe as a ZIP path component: no separators,
// control or reserved characters, no leading dots (no "..", no hidden
// files), at most zip_name_bytes_max bytes cut on a UTF-8 boundary.
std::string safe_name(std::string_view plain, std::uint64_t id) {
  std::string s;
  for (unsigned char c : plain) {
    bool bad = c < 0x20 || c == 0x7f || std::string_view("/\\:*?\"<>|").find(static_cast<char>(c)) != std::string_view::npos;
    s.push_back(bad ? '_' : static_cast<char>(c));
  }
  while (!s.empty() && (s.front() == '.' || s.front() == ' ')) s.erase(0, 1);
  if (s.size() > zip_name_bytes_max) {
    std::size_t cut = zip_name_bytes_max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
  }
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "document-" + std::to_string(id) : s;
}

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

// "<category>/<name>", made unique (case-insensitively, for the file
// systems it is unpacked on) with " (2)", " (3)"... before the extension.
std::string unique_path(std::map<std::string, int>& taken, std::string_view category, const std::string& name) {
  std::string base = std::string(category) + "/" + name;
  for (int n = 1;; ++n) {
    std::string candidate = base;
    if (n > 1) {
      auto dot = name.rfind('.');
      std::string stem = dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
      std::string ext = dot == std::string::npos || dot == 0 ? "" : name.substr(dot);
      candidate = std::string(category) + "/" + stem + " (" + std::to_string(n) + ")" + ext;
    }
    if (taken.emplace(lower(candidate), 1).second) return candidate;
  }
}

std::string sha256_hex_of(EVP_MD_CTX* md) {
  unsigned char out[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md, out, &len);
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) s += {digits[out[i] >> 4], digits[out[i] & 15]};
  return s;
}

// The producer (its own thread) and the connection meet in a bounded queue.
class zip_stream final : public body_stream, public std::enable_shared_from_this<zip_stream> {
 public:
  zip_stream(documents::blob_store& store, std::string data_key, std::string owner, std::vector<export_item> items,
             std::int64_t at_us, std::shared_ptr<void> slot)
      : store_(store), data_key_(std::move(data_key)), owner_(std::move(owner)), items_(std::move(items)),
        at_us_(at_us), slot_(std::move(slot)) {}

  void start(std::function<void()> wake) override {
    wake_ = std::move(wake);
    std::thread([self = shared_from_this()] { self->produce(); }).detach();
  }

  bool pull(std::vector<std::string>& out) override {
    std::lock_guard lock(mu_);
    for (; !queue_.empty(); queue_.pop_front()) out.push_back(chunk(queue_.front()));
    space_.notify_all();
    if (!done_) return true;
    // A failed export ends without the last chunk: the client sees a
    // truncated transfer, never a ZIP that looks whole.
    if (ok_) out.emplace_back("0\r\n\r\n");
    return false;
  }

  void stop() override {
    std::lock_guard lock(mu_);
    stopped_ = true;
    space_.notify_all();
  }

 private:
  static std::string chunk(const std::string& data) {
    char head[24];
    std::snprintf(head, sizeof head, "%zx\r\n", data.size());
    return head + data + "\r\n";
  }

  static la_ssize_t on_write(struct archive*, void* self, const void* data, std::size_t n) {
    return static_cast<zip_stream*>(self)->push(static_cast<const char*>(data), n) ? static_cast<la_ssize_t>(n) : -1;
  }

  // Waits for room; false once the connection is gone.
  bool push(const char* data, std::size_t n) {
    {
      std::unique_lock lock(mu_);
      space_.wait(lock, [&] { return stopped_ || queue_.size() < export_queue_pieces_max; });
      if (stopped_) return false;
      queue_.emplace_back(data, n);
    }
    wake_();
    return true;
  }

  void produce() {
    bool ok = write_zip();
    {
      std::lock_guard lock(mu_);
      done_ = true;
      ok_ = ok;
    }
    wake_();
  }

  bool write_zip();
  bool check(export_item& item);
  bool add_file(struct archive* a, const export_item& item);
  std::string manifest() const;

  documents::blob_store& store_;
  const std::string data_key_, owner_;
  std::vector<export_item> items_;
  const std::int64_t at_us_;
  std::shared_ptr<void> slot_;  // one of exports_at_once_max, released with the stream
  std::function<void()> wake_;
  std::mutex mu_;
  std::condition_variable space_;
  std::deque<std::string> queue_;  // protected by mu_
  bool done_ = false, ok_ = false, stopped_ = false;  // protected by mu_
};

// First pass: the content's GCM tag and SHA-256, streaming; false when the
// document must be left out (the manifest says why).
bool zip_stream::check(export_item& item) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
  std::uint64_t size = 0;
  auto st = documents::stream_blob(store_, item.doc.blob_id, data_key_, owner_, [&](std::string_view p) {
    size += p.size();
    return EVP_DigestUpdate(md.get(), p.data(), p.size()) == 1;
  });
  if (!st) item.error = st.error_code() == status::code::not_found ? "content missing" : "content failed authentication";
  else if (size != item.doc.size_bytes || sha256_hex_of(md.get()) != item.doc.content_sha256)
    item.error = "content hash differs from the recorded one";
  return item.error.empty();
}

// Second pass: the verified content into the archive.
bool zip_stream::add_file(struct archive* a, const export_item& item) {
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), &archive_entry_free);
  archive_entry_set_pathname_utf8(e.get(), item.path.c_str());
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(item.doc.size_bytes));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0600);
  archive_entry_set_mtime(e.get(), item.doc.created_at_us / 1'000'000, 0);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) return false;
  auto st = documents::stream_blob(store_, item.doc.blob_id, data_key_, owner_, [&](std::string_view p) {
    return archive_write_data(a, p.data(), p.size()) == static_cast<la_ssize_t>(p.size());
  });
  return st.is_ok() && archive_write_finish_entry(a) == ARCHIVE_OK;
}

std::string zip_stream::manifest() const {
  json_out j;
  j.begin_object().field("owner", owner_).field("exported_at", format_rfc3339_us(at_us_));
  j.field("document_count", static_cast<std::uint64_t>(items_.size())).key("documents").begin_array();
  for (const auto& it : items_) {
    const auto& d = it.doc;
    j.begin_object().field("id", d.id).field("category", to_string(d.category));
    if (it.file_name.empty()) j.key("file_name").raw("null");
    else j.field("file_name", it.file_name);
    j.field("media_type", d.media_type).field("size_bytes", d.size_bytes).field("sha256", d.content_sha256);
    j.field("created", format_rfc3339_us(d.created_at_us));
    if (d.group != 0) j.field("group", d.group);
    if (it.path.empty()) j.field("error", it.error);
    else j.field("path", it.path);
    j.end_object();
  }
  j.end_array().end_object();
  return j.take();
}

bool zip_stream::write_zip() {
  std::unique_ptr<struct archive, decltype(&archive_write_free)> a(archive_write_new(), &archive_write_free);
  if (!a || archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
      archive_write_set_options(a.get(), "zip:compression=store") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), static_cast<int>(export_block_bytes)) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      archive_write_open(a.get(), this, nullptr, &zip_stream::on_write, nullptr) != ARCHIVE_OK)
    return false;
  for (auto& item : items_) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return false;
    }
    std::string path = item.path;
    item.path.clear();
    if (!check(item)) continue;
    item.path = std::move(path);
    if (!add_file(a.get(), item)) return false;
  }
  std::string m = manifest();
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), &archive_entry_free);
  archive_entry_set_pathname_utf8(e.get(), "manifest.json");
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(m.size()));
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0600);
  archive_entry_set_mtime(e.get(), at_us_ / 1'000'000, 0);
  return archive_write_header(a.get(), e.get()) == ARCHIVE_OK &&
         archive_write_data(a.get(), m.data(), m.size()) == static_cast<la_ssize_t>(m.size()) &&
         archive_write_close(a.get()) == ARCHIVE_OK;
}

// The items of the export: plain names decrypted, paths made unique.
std::vector<export_item> export_items(const payout_keys& keys, std::vector<document_uploaded>&& docs) {
  std::vector<export_item> items;
  std::map<std::string, int> taken{{"manifest.json", 1}};
  for (auto& d : docs) {
    export_item it;
    if (keys.decrypt(d.owner, file_name_context, "file_name", d.file_name, it.file_name) != key_error::none)
      it.file_name.clear();
    it.path = unique_path(taken, to_string(d.category), safe_name(it.file_name, d.id));
    it.doc = std::move(d);
    items.push_back(std::move(it));
  }
  return items;
}

// 429 with Retry-After from the last export's log time (committed state).
void too_soon(const exchange_ptr& x, const outcome& o) {
  std::string v;
  std::int64_t retry_s = export_interval_us / 1'000'000;
  if (x->svc.ledger.storage().read_state(ledger::keys::owner_last_export(x->who->subject), v).is_ok() && v.size() == 8) {
    std::int64_t left_us = static_cast<std::int64_t>(get_key_u64(v)) + export_interval_us - o.log_ts_us;
    retry_s = std::max<std::int64_t>(1, (left_us + 999'999) / 1'000'000);
  }
  x->fail({429, "export-too-soon", "one export per hour; the next one is possible in " + std::to_string(retry_s) + " s", "",
           {{"Retry-After", std::to_string(retry_s)}}});
}

void exported(const exchange_ptr& x, const outcome& o, std::string data_key, std::vector<document_uploaded> docs,
              std::shared_ptr<void> slot) {
  if (!o.error.is_ok()) return x->fail_status(o.error, fault::ledger);
  if (o.result == event_status::rejected && o.reason == reason::export_too_soon) return too_soon(x, o);
  if (o.result == event_status::rejected) {
    return x->fail({409, "export-refused", o.detail.empty() ? std::string(to_string(o.reason)) : o.detail, "", {}});
  }
  http_response r;
  r.content_type = "application/zip";
  r.headers.emplace_back("Transfer-Encoding", "chunked");
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"documents-export.zip\"");
  r.headers.emplace_back("Cache-Control", "private, no-store");
  r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
  r.stream = std::make_shared<zip_stream>(*x->svc.config.documents.store, std::move(data_key), x->who->subject,
                                          export_items(*x->svc.config.payment_keys, std::move(docs)), o.log_ts_us,
                                          std::move(slot));
  x->finish(std::move(r));
}

// GET /v1/documents/export
void on_export(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user)) return;
  if (!settings_or_fail(*x)) return;
  if (x->svc.draining) return x->fail({503, "shutting-down", "the ledger is shutting down", "", {{"Retry-After", "1"}}});
  const std::string& owner = x->who->subject;
  std::vector<document_uploaded> docs;
  if (auto st = owners::owner_documents(x->svc.ledger.storage(), owner, docs); !st) return x->fail_status(st, fault::ledger);
  std::string data_key;
  if (!docs.empty()) {
    auto err = x->svc.config.payment_keys->data_key(owner, false, data_key);
    if (err == key_error::destroyed) return x->fail({409, "data-key-destroyed", "the owner's data key was destroyed", "", {}});
    if (err != key_error::none) return x->fail({503, "documents-unavailable", std::string(to_string(err)), "", {{"Retry-After", "5"}}});
  }
  if (exports_running.fetch_add(1) >= exports_at_once_max) {
    exports_running.fetch_sub(1);
    return x->fail({503, "exports-busy", "too many exports at once; retry shortly", "", {{"Retry-After", "30"}}});
  }
  std::shared_ptr<void> slot(nullptr, [](void*) { exports_running.fetch_sub(1); });
  std::uint64_t total = 0;
  for (const auto& d : docs) total += d.size_bytes;
  export_documents_cmd c{owner, docs.size(), total};
  submit_single(x, command{owner, "export-" + owners::random_key(), x->request_id, c},
                     [x, data_key, docs = std::move(docs), slot](const outcome& o) mutable {
                       exported(x, o, std::move(data_key), std::move(docs), std::move(slot));
                     });
}

}  // namespace

void add_document_export_routes(router& r) { r.add("GET", "/v1/documents/export", "export_documents", &on_export); }

}  // namespace ledger::api
