// The S3-compatible blob store (docs/documents.md#the-s3-compatible-backend):
// the same contract as the local backend (documents/blob_store.h), over
// HTTP or HTTPS with SigV4-signed requests (documents/sigv4.h).
//
// Keys: PREFIX "blobs/" <64 hex> for blobs (the same ids as the local
// store: SHA-256 of the stored bytes), PREFIX "tmp/" <32 hex> for a large
// blob while it is uploaded.
//
// Durability: commit() returns only after the object store answered 200 to
// the request that makes the blob whole under its final key. A blob of at
// most part_bytes is buffered and sent as one PUT; a larger one is sent as a
// multipart upload to a temporary key in parts of part_bytes (so a writer
// holds at most part_bytes), completed, copied to its final key, and the
// temporary object deleted. A crash leaves either nothing, a temporary
// object (list() reports it, the sweeper removes it), or an incomplete
// multipart upload, which S3 never lists: a bucket lifecycle rule
// (AbortIncompleteMultipartUpload) removes those.
//
// Reads: open() asks for the size (HEAD); read() fetches ranged GETs of
// read_chunk_bytes, so a reader holds at most that.
//
// Limits: every request has timeout_ms for connect, TLS handshake, write
// and read together; response bodies are bounded (errors 64 KiB, lists
// 8 MiB); at most 10,000 parts.
//
// Threads: the store may be called from any thread (each call, writer and
// reader has its own connection); writers and readers are single-threaded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "documents/blob_store.h"
#include "documents/sigv4.h"

namespace ledger::documents {

struct s3_settings {
  std::string endpoint;  // http://HOST[:PORT] or https://HOST[:PORT], no path
  std::string bucket;
  std::string region = "us-east-1";
  std::string prefix = "documents/";  // key prefix; "" or ending in '/'
  s3_credentials credentials;
  bool virtual_host = false;  // BUCKET.HOST instead of HOST/BUCKET
  std::string ca_file;        // PEM trust anchors for https ("": the system's)
  // Objects stored with S3 server-side encryption (x-amz-server-side-encryption: AES256).
  bool provider_encryption = false;
  std::int64_t timeout_ms = 30'000;
  std::size_t part_bytes = 5u << 20;        // S3's smallest part (except the last)
  std::size_t read_chunk_bytes = 1u << 20;  // one ranged GET
};

// What is wrong with `s`, naming the setting; nullopt when usable.
std::optional<std::string> check_s3_settings(const s3_settings& s);

// Where a request for `key` goes: the host to connect to and its port, the
// Host header, and the URI-encoded path (path-style: /BUCKET/KEY;
// virtual-host: /KEY on BUCKET.HOST).
struct s3_target {
  bool tls = false;
  std::string connect_host;
  std::string port;
  std::string host_header;
  std::string path;
};
s3_target s3_target_of(const s3_settings& s, std::string_view key);

class s3_blob_store final : public blob_store {
 public:
  // Checks the settings and loads the TLS trust anchors; contacts nothing.
  static std::unique_ptr<s3_blob_store> make(const s3_settings& s, status& st);
  ~s3_blob_store() override;

  status create(std::unique_ptr<blob_writer>& out) override;
  status open(std::string_view id, std::unique_ptr<blob_reader>& out) override;
  status remove(std::string_view id) override;
  status list(std::size_t max, const std::function<bool(const blob_entry&)>& each) override;
  status remove_temporary(const blob_entry& e) override;
  bool provider_encrypts() const override { return settings().provider_encryption; }

  // Reachability, the bucket and the credentials: a signed HEAD of the bucket.
  status check_access();
  // A presigned GET URL of blob `id`, valid `expires_s` from `now_s`.
  std::string presigned_get_url(std::string_view id, std::int64_t expires_s, std::int64_t now_s) const;
  std::string key_of(std::string_view id) const { return settings().prefix + "blobs/" + std::string(id); }
  const s3_settings& settings() const;

  struct impl;

 private:
  explicit s3_blob_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace ledger::documents
