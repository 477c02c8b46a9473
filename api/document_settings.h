// What the document routes (api/routes_documents.cpp) need: the blob store,
// the link signer, the limits. Owned by the process that serves the API.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "documents/blob_store.h"
#include "documents/clamd.h"
#include "documents/link_signer.h"

namespace ledger::api {

struct document_settings {
  documents::blob_store* store = nullptr;        // null: the document routes answer 503
  const documents::link_signer* links = nullptr; // null or unconfigured: /link answers 503
  std::size_t upload_bytes_max = 25u << 20;      // the content; the transport allows the same
  std::int64_t link_ttl_s = 300;                 // signed links' life (at most link_ttl_s_max)
  std::size_t page_max = 100;                    // documents per list page
  std::size_t list_scan_max = 2000;              // index entries read for one page
  std::size_t file_name_bytes_max = 255;
  // Virus scanning before an upload is accepted: through clamd, failing
  // closed (503) when it cannot answer; skipped only when explicitly
  // disabled. Neither set: uploads answer 503.
  const documents::clamd_scanner* scanner = nullptr;
  bool scan_disabled = false;
  // Streamed uploads (docs/documents.md): where uploads wait, encrypted,
  // while they are checked (local disk; the store's tmp/ for the local
  // backend, so the sweeper removes what a crash leaves); at most
  // uploads_max at once (503 beyond), counted in *uploads_in_flight.
  std::string spool_dir;
  std::size_t uploads_max = 8;
  std::atomic<std::size_t>* uploads_in_flight = nullptr;
  // Thumbnails (documents/thumbnail.h): the original's largest side and
  // pixel count, checked on its header before decoding.
  int thumbnail_side_max_px = 20'000;
  std::uint64_t thumbnail_pixels_max = 100'000'000;
  // Tests only (a hidden flag): the process exits at once after an upload's
  // blobs are committed and before its command is appended, as a crash there.
  bool exit_after_blob_commit = false;
  // Provider-side encryption (S3 with --s3-provider-encryption): content
  // answers 307 to this presigned URL of the blob (at `now_s`) instead of
  // streaming it. Empty: the ledger decrypts and streams.
  std::function<std::string(std::string_view blob_id, std::int64_t now_s)> presigned_content_url;
};

}  // namespace ledger::api
