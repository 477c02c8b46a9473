// One connection to an S3-compatible endpoint (internal to the S3 blob
// store): signs each request with SigV4 (documents/sigv4.h), connects on
// first use (TLS with certificate and host-name verification for https),
// keeps the connection alive between requests, and reconnects once when a
// kept-alive connection turns out closed. Each request has a deadline of
// timeout_ms for connect, handshake, write and read; response bodies are
// bounded by the request's response_body_max.
//
// Threads: one thread at a time per connection; the TLS context is shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "documents/s3_blob_store.h"

namespace ledger::documents {

struct s3_http_request {
  std::string method;
  std::string key;  // the object key; "" for the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // besides host and x-amz-*; all signed
  std::string body;
  bool head = false;  // a HEAD: no body in the response
  std::size_t response_body_max = 64u << 10;
};

struct s3_http_response {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string header(std::string_view lower_name) const;
  // "403 SignatureDoesNotMatch: The request signature ..." from the error body.
  std::string describe() const;
};

// The TLS trust anchors (ca_file, or the system's), shared by connections.
class s3_tls;
std::shared_ptr<s3_tls> make_s3_tls(const s3_settings& s, status& st);

class s3_connection {
 public:
  s3_connection(const s3_settings& s, std::shared_ptr<s3_tls> tls);
  ~s3_connection();
  s3_connection(const s3_connection&) = delete;
  s3_connection& operator=(const s3_connection&) = delete;
  // Sends `req` (its body is moved out) and reads the answer, whatever its
  // status. An error status only for transport failures and timeouts.
  status send(s3_http_request& req, s3_http_response& out);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The text of every <tag>...</tag> in `xml`, entities decoded (enough for
// S3's flat answers: keys, dates, upload ids, error codes).
std::vector<std::string> xml_values(std::string_view xml, std::string_view tag);

}  // namespace ledger::documents
