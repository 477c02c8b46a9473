// ledgerd's wallet-document side (docs/documents.md): the blob store (local,
// under DATA_DIR/documents, or S3 with --blob-backend s3), the link signing
// key, and the orphan sweeper, a thread that every
// --documents-sweep-interval-ms (10 minutes) removes blobs no live document
// names and leftover temporary files (upload spools included), once older
// than --documents-sweep-grace-s (an hour, so an upload between its blob and
// its event is never touched).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "api/document_settings.h"
#include "engine/store.h"
#include "tools/config.h"

namespace ledger::tools {

inline constexpr std::size_t sweep_entries_max = 1'000'000;
// Life of the presigned URL content answers with --s3-provider-encryption.
inline constexpr std::int64_t presigned_content_ttl_s = 60;

class documents_side {
 public:
  // Dies on an unusable directory or link key file (a start-up error).
  documents_side(const config& cfg, const store& st);
  ~documents_side();
  api::document_settings settings() const { return settings_; }

 private:
  void run();

  const store& store_;
  std::unique_ptr<documents::blob_store> blobs_;
  // With the S3 backend, upload spools still live on local disk, in this
  // local store's tmp/, which the sweeper clears of what a crash leaves.
  std::unique_ptr<documents::blob_store> spool_store_;
  documents::link_signer links_;
  std::unique_ptr<documents::clamd_scanner> scanner_;
  std::atomic<std::size_t> uploads_in_flight_{0};
  std::int64_t sweep_grace_s_, sweep_interval_ms_;
  api::document_settings settings_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // protected by mu_
  std::thread thread_;
};

// The S3 store of cfg, its bucket reached with its credentials; dies
// otherwise (a start-up error).
std::unique_ptr<documents::blob_store> open_s3_store(const config& cfg);

// Every blob id live documents name (document records scanned in pages).
status referenced_blobs(const store& st, std::unordered_set<std::string>& out);

// ledgerd documents-migrate-to-s3 (tools/documents_migrate.cpp): prints
// {"copied":N,"already_there":N,"failed":N}; exit 0 when none failed, 1
// otherwise, 2 when the local store cannot be opened.
int run_documents_migrate(const config& cfg);

}  // namespace ledger::tools
