// Copying every blob from one store to another (docs/documents.md: ledgerd
// documents-migrate-to-s3), verified: after each copy the blob is read back
// from the target and its SHA-256 compared with its id. Idempotent and
// resumable: a blob the target already holds with the right hash counts as
// already there and is not copied again; one held with a wrong hash is
// copied again. Memory: one chunk of blob_chunk_bytes at a time, plus the
// target writer's own bound.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "documents/blob_store.h"

namespace ledger::documents {

struct migrate_report {
  std::size_t copied = 0, already_there = 0, failed = 0;
};

// Every blob of `from` (at most `max`) into `to`; temporary files are
// skipped. `on_failure` hears each blob that failed and why; the run goes
// on with the next. Returns an error only when `from` cannot be listed.
status migrate_blobs(blob_store& from, blob_store& to, std::size_t max, migrate_report& out,
                     const std::function<void(const std::string& id, const status& why)>& on_failure);

// The SHA-256 of blob `id` in `store`, read in chunks; `hex` receives it.
status blob_sha256(blob_store& store, std::string_view id, std::string& hex);

}  // namespace ledger::documents
