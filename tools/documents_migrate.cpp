// ledgerd documents-migrate-to-s3 (docs/documents.md#migrating-to-s3): every
// blob of the local store into the S3 store, each read back and its SHA-256
// compared with its id. Safe to run while ledgerd serves on the local store
// (blobs are immutable; new uploads after the listing are picked up by the
// next run) and to rerun until it reports no failures.
#include <cstdio>
#include <filesystem>

#include "documents/blob_migrate.h"
#include "tools/documents_side.h"

namespace ledger::tools {

// Blobs one run copies at most (the local store's listing bound).
inline constexpr std::size_t migrate_blobs_max = 100'000'000;

int run_documents_migrate(const config& cfg) {
  std::string dir = cfg.documents_dir.empty() ? (std::filesystem::path(cfg.data_dir) / "documents").string() : cfg.documents_dir;
  if (!std::filesystem::is_directory(dir + "/blobs")) {
    std::fprintf(stderr, "ledgerd: documents-migrate-to-s3: %s holds no blob store (no blobs/ directory)\n", dir.c_str());
    return 2;
  }
  status s;
  auto local = documents::make_local_blob_store(dir, s);
  if (!s) {
    std::fprintf(stderr, "ledgerd: documents-migrate-to-s3: %s\n", s.to_string().c_str());
    return 2;
  }
  auto s3 = open_s3_store(cfg);
  documents::migrate_report rep;
  s = documents::migrate_blobs(*local, *s3, migrate_blobs_max, rep, [](const std::string& id, const status& why) {
    std::fprintf(stderr, "ledgerd: documents-migrate-to-s3: blob %s: %s\n", id.c_str(), why.to_string().c_str());
  });
  std::printf("{\"copied\":%zu,\"already_there\":%zu,\"failed\":%zu}\n", rep.copied, rep.already_there, rep.failed);
  if (!s) {
    std::fprintf(stderr, "ledgerd: documents-migrate-to-s3: listing %s: %s\n", dir.c_str(), s.to_string().c_str());
    return 1;
  }
  return rep.failed == 0 ? 0 : 1;
}

}  // namespace ledger::tools
