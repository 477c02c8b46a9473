// The migration copies blob by blob and checks each one by reading it back:
// a copy is trusted only once the target's bytes hash to the blob's id.
#include "documents/blob_migrate.h"


#include <memory>
#include <vector>

#include "documents/blob_crypto.h"

namespace ledger::documents {

namespace {

status copy_blob(blob_store& from, blob_store& to, const std::string& id) {
  std::unique_ptr<blob_reader> r;
  if (auto st = from.open(id, r); !st) return st;
  std::unique_ptr<blob_writer> w;
  if (auto st = to.create(w); !st) return st;
  for (std::string piece;;) {
    if (auto st = r->read(blob_chunk_bytes, piece); !st) return st;
    if (piece.empty()) break;
    if (auto st = w->write(piece); !st) return st;
  }
  std::string stored;
  if (auto st = w->commit(stored); !st) return st;
  if (stored != id) return status::corruption("the source's bytes hash to " + stored);
  return status::ok();
}

}  // namespace

status blob_sha256(blob_store& store, std::string_view id, std::string& out) {
  std::unique_ptr<blob_reader> r;
  if (auto st = store.open(id, r); !st) return st;
  blob_hasher sha;
  for (std::string piece;;) {
    if (auto st = r->read(blob_chunk_bytes, piece); !st) return st;
    if (piece.empty()) break;
    sha.update(piece);
  }
  out = sha.finish();
  return status::ok();
}

status migrate_blobs(blob_store& from, blob_store& to, std::size_t max, migrate_report& out,
                     const std::function<void(const std::string& id, const status& why)>& on_failure) {
  // Copied while listed: only the target changes meanwhile.
  return from.list(max, [&](const blob_entry& e) {
    if (e.id.empty()) return true;
    std::string there;
    if (auto have = blob_sha256(to, e.id, there); have && there == e.id) {
      ++out.already_there;
      return true;
    }
    // The source is checked first, so a damaged local blob is reported
    // and never copied under another name.
    status s = blob_sha256(from, e.id, there);
    if (s && there != e.id) s = status::corruption("the source's bytes hash to " + there);
    if (s) s = copy_blob(from, to, e.id);
    if (s) s = blob_sha256(to, e.id, there);
    if (s && there != e.id) s = status::corruption("read back from the target, the blob hashes to " + there);
    if (s) {
      ++out.copied;
    } else {
      ++out.failed;
      on_failure(e.id, s);
    }
    return true;
  });
}

}  // namespace ledger::documents
