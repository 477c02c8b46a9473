#include "tools/documents_side.h"

#include <cstdio>
#include <filesystem>
#include <unordered_set>

#include "documents/s3_blob_store.h"
#include "engine/state.h"

namespace ledger::tools {

namespace {

[[noreturn]] void die_documents(const std::string& m) {
  std::fprintf(stderr, "ledgerd: documents: %s\n", m.c_str());
  std::exit(2);
}

}  // namespace

std::unique_ptr<documents::blob_store> open_s3_store(const config& cfg) {
  status s;
  auto store = documents::s3_blob_store::make(cfg.s3, s);
  if (!s) die_documents(s.to_string());
  // Wrong credentials, bucket or trust anchors: a start-up error, not a
  // failure of the first upload.
  if (s = store->check_access(); !s) die_documents("S3 store " + cfg.s3.endpoint + " bucket " + cfg.s3.bucket + ": " + s.to_string());
  return store;
}

status referenced_blobs(const store& st, std::unordered_set<std::string>& out) {
  std::string after;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> rows;
    if (auto s = st.scan_state("D", after, 1000, rows); !s) return s;
    for (const auto& [k, v] : rows) {
      document_uploaded d;
      if (k.size() != 9 || !decode(v, d)) continue;
      out.insert(d.blob_id);
      if (!d.thumbnail_blob_id.empty()) out.insert(d.thumbnail_blob_id);
    }
    if (rows.size() < 1000) return status::ok();
    after = rows.back().first;
  }
}

documents_side::documents_side(const config& cfg, const store& st)
    : store_(st), sweep_grace_s_(cfg.documents_sweep_grace_s), sweep_interval_ms_(cfg.documents_sweep_interval_ms) {
  std::string dir = cfg.documents_dir.empty() ? (std::filesystem::path(cfg.data_dir) / "documents").string() : cfg.documents_dir;
  status s;
  if (cfg.blob_backend == "s3") {
    blobs_ = open_s3_store(cfg);
    spool_store_ = documents::make_local_blob_store(dir, s);
  } else {
    blobs_ = documents::make_local_blob_store(dir, s);
  }
  if (!s) die_documents(s.to_string());
  if (!cfg.document_link_key_file.empty())
    if (auto e = documents::link_signer::load(cfg.document_link_key_file, links_)) die_documents("--document-link-key-file: " + *e);
  settings_.store = blobs_.get();
  settings_.spool_dir = (std::filesystem::path(dir) / "tmp").string();
  settings_.uploads_max = cfg.uploads_max_concurrent;
  settings_.uploads_in_flight = &uploads_in_flight_;
  settings_.exit_after_blob_commit = cfg.test_exit_after_blob_commit;
  settings_.links = &links_;
  settings_.upload_bytes_max = cfg.upload_max_bytes;
  settings_.scan_disabled = cfg.clamd_socket == "off";
  if (cfg.blob_backend == "s3" && cfg.s3.provider_encryption) {
    auto* s3 = static_cast<documents::s3_blob_store*>(blobs_.get());
    settings_.presigned_content_url = [s3](std::string_view blob_id, std::int64_t now_s) {
      return s3->presigned_get_url(blob_id, presigned_content_ttl_s, now_s);
    };
  }
  if (!cfg.clamd_socket.empty() && !settings_.scan_disabled) {
    scanner_ = std::make_unique<documents::clamd_scanner>(cfg.clamd_socket);
    settings_.scanner = scanner_.get();
  }
  thread_ = std::thread([this] { run(); });
}

documents_side::~documents_side() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void documents_side::run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    l.unlock();
    std::unordered_set<std::string> live;
    documents::sweep_report rep;
    status s = referenced_blobs(store_, live);
    // Never sweep on a partial view of what is referenced.
    if (s) s = documents::sweep_orphans(*blobs_, [&](std::string_view id) { return live.count(std::string(id)) > 0; },
                                        sweep_grace_s_, sweep_entries_max, rep);
    // Spools beside an S3 store: only temporaries there, never a blob to judge.
    if (s && spool_store_) s = documents::sweep_orphans(*spool_store_, [](std::string_view) { return true; }, sweep_grace_s_,
                                                        sweep_entries_max, rep);
    if (!s) std::fprintf(stderr, "ledgerd: documents: sweep: %s\n", s.to_string().c_str());
    else if (rep.orphans_removed + rep.temporaries_removed > 0)
      std::fprintf(stderr, "ledgerd: documents: sweep removed %zu orphan blobs, %zu temporary files\n", rep.orphans_removed,
                   rep.temporaries_removed);
    l.lock();
    wake_.wait_for(l, std::chrono::milliseconds(sweep_interval_ms_), [this] { return stop_; });
  }
}

}  // namespace ledger::tools
