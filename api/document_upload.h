// An upload's content as it arrives, piece by piece (docs/documents.md,
// "Streamed uploads"): counted against the limit, hashed (SHA-256), its
// media type sniffed by libmagic from the first sniff_prefix_bytes, scanned
// by clamd through one INSTREAM connection fed as the pieces come, and kept
// in an encrypted spool file (documents/upload_spool.h) until the upload is
// accepted. Nothing reaches the blob store here.
//
// Memory: the sniff prefix and one piece, whatever the file's size.
// Not thread-safe: one request's thread at a time. Internal to api/.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "api/document_settings.h"
#include "api/problem.h"
#include "documents/clamd.h"
#include "documents/upload_spool.h"

namespace ledger::api::docs {

inline constexpr std::size_t sniff_prefix_bytes = 64 * 1024;

class upload_sink {
 public:
  // `declared`: the part's or request's Content-Type (bare), "" if none.
  upload_sink(const document_settings& s, std::string declared);
  ~upload_sink();
  upload_sink(const upload_sink&) = delete;
  upload_sink& operator=(const upload_sink&) = delete;

  // The next bytes of the content; a problem when the upload is refused
  // (too large, type not allowed, scanner or disk unavailable).
  std::optional<problem> add(std::string_view bytes);
  // After the last byte: the media type (if not yet), clamd's verdict
  // (infected: 422), the spool finished, the hash final.
  std::optional<problem> end();

  // After end():
  const std::string& media_type() const { return media_type_; }
  const std::string& sha256_hex() const { return sha256_; }
  std::uint64_t size() const { return size_; }
  const documents::upload_spool& spool() const { return *spool_; }
  // Operating errors met on the way, for the request log ("" if none).
  const std::string& log_text() const { return log_; }

 private:
  std::optional<problem> start();
  std::optional<problem> pass_on(std::string_view bytes);

  const document_settings& s_;
  std::string declared_;
  std::string prefix_;  // the first bytes, until the media type is known
  bool started_ = false;
  std::uint64_t size_ = 0;
  EVP_MD_CTX* sha_ = nullptr;
  std::unique_ptr<documents::clamd_stream> scan_;
  std::unique_ptr<documents::upload_spool> spool_;
  std::string media_type_, sha256_, log_;
};

}  // namespace ledger::api::docs
