// Blob storage for wallet documents (docs/documents.md): an interface and
// the local file-system backend. Blobs are opaque bytes (the documents layer
// encrypts before writing, see documents/blob_crypto.h) named by the SHA-256
// of those bytes (64 lower-case hex digits): content-addressed, so a blob id
// recorded in an event also proves the stored bytes.
//
// Durability (local backend): a blob is written to a temporary name in the
// store's tmp/ directory, fsynced, renamed to blobs/<2 hex>/<64 hex>, and the
// directory is fsynced, before commit() returns. A crash leaves either no
// blob or the whole blob, plus possibly a temporary file the sweeper removes.
//
// Threads: every method may be called from any thread; writers and readers
// are single-threaded objects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "schemas/base.h"

namespace ledger::documents {

inline constexpr std::size_t blob_id_hex_bytes = 64;

// True for 64 lower-case hex digits.
bool valid_blob_id(std::string_view id);

// SHA-256 over bytes given in pieces: how every backend names a blob.
class blob_hasher {
 public:
  blob_hasher();
  ~blob_hasher();
  blob_hasher(const blob_hasher&) = delete;
  blob_hasher& operator=(const blob_hasher&) = delete;
  void update(std::string_view bytes);
  // The blob id of everything given (blob_id_hex_bytes hex digits); once.
  std::string finish();

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
};

class blob_writer {
 public:
  // Dropping a writer that was not committed removes what it wrote.
  virtual ~blob_writer() = default;
  virtual status write(std::string_view bytes) = 0;
  // Makes the blob durable under the SHA-256 of every byte written; `id`
  // receives it. Writing the same bytes twice gives the same blob, once.
  virtual status commit(std::string& id) = 0;
};

class blob_reader {
 public:
  virtual ~blob_reader() = default;
  // Up to `max` bytes into `out` (replaced); empty at the end.
  virtual status read(std::size_t max, std::string& out) = 0;
  virtual std::uint64_t size() const = 0;
};

struct blob_entry {
  std::string id;          // a blob, or "" for a leftover temporary file
  std::string path;        // for the sweeper's log; never parsed
  std::int64_t age_s = 0;  // since its last modification
};

class blob_store {
 public:
  virtual ~blob_store() = default;
  virtual status create(std::unique_ptr<blob_writer>& out) = 0;
  // not_found when there is no such blob.
  virtual status open(std::string_view id, std::unique_ptr<blob_reader>& out) = 0;
  // Removing a missing blob is fine (deletes are retried by the sweeper).
  virtual status remove(std::string_view id) = 0;
  // Every blob and leftover temporary file, at most `max`; stops early when
  // `each` returns false.
  virtual status list(std::size_t max, const std::function<bool(const blob_entry&)>& each) = 0;
  // Removes a leftover temporary file listed by list().
  virtual status remove_temporary(const blob_entry& e) = 0;
  // True when the storage provider encrypts what it stores (S3 with
  // --s3-provider-encryption): seal_blob and open_blob then store and read
  // the content as is, instead of the ledger's AES-256-GCM.
  virtual bool provider_encrypts() const { return false; }
};

// The local backend under `root` (created if missing, with tmp/ and blobs/).
std::unique_ptr<blob_store> make_local_blob_store(const std::string& root, status& st);

// The orphan sweeper: removes blobs no live document names (`referenced`
// says which are) and temporary files, both only when older than
// `grace_s`, so an upload between its blob and its event is never touched.
struct sweep_report {
  std::size_t blobs_seen = 0, orphans_removed = 0, temporaries_removed = 0;
};
status sweep_orphans(blob_store& store, const std::function<bool(std::string_view id)>& referenced,
                     std::int64_t grace_s, std::size_t max, sweep_report& out);

}  // namespace ledger::documents
