// Where an upload's bytes wait, on local disk and never in plain text, while
// they arrive and are checked (media type, virus scan): a temporary file
// encrypted with AES-256-GCM under a random key and nonce that live only in
// this object's memory. Once the upload is accepted, the caller reads the
// plaintext back piece by piece (to seal the final blob, documents/blob_crypto.h,
// whose nonce needs the content's hash, known only at the end; and to make
// a thumbnail) and drops the spool, which removes the file.
//
// Why a spool rather than encrypting straight into the final blob: the
// final blob's nonce is derived from the request and the content hash, so a
// retry stores the same bytes and two different contents never share a
// nonce under the owner's key (docs/documents.md, "Storage and encryption").
// A crash leaves an unreadable temporary file (its key died with the
// process), removed by the orphan sweeper.
//
// Memory: one piece (blob_chunk_bytes) per reader or writer. Not
// thread-safe; one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "schemas/base.h"

namespace ledger::documents {

class spool_reader {
 public:
  virtual ~spool_reader() = default;
  // The next piece of plaintext into `out` (at most blob_chunk_bytes), empty
  // at the end; corruption when the file was altered (checked at the end:
  // the caller commits nothing before it saw the end).
  virtual status next(std::string& out) = 0;
};

class upload_spool {
 public:
  // A new spool file in `dir` (which must exist): "spool-" + random hex.
  static status create(const std::string& dir, std::unique_ptr<upload_spool>& out);
  virtual ~upload_spool() = default;
  virtual status write(std::string_view plaintext) = 0;
  // No more writes; readers may open.
  virtual status finish() = 0;
  virtual status open_reader(std::unique_ptr<spool_reader>& out) const = 0;
  virtual std::uint64_t size() const = 0;
};

}  // namespace ledger::documents
