// AWS Signature Version 4 for S3-compatible object stores
// (docs/documents.md#the-s3-compatible-backend): the Authorization header of
// a request and presigned URLs. HMAC-SHA256 and SHA-256 come from OpenSSL.
//
// The caller builds the request's canonical parts: the path already
// URI-encoded (S3 does not encode it twice), the query as raw names and
// values (encoded here), and every header to sign (names in any case, values
// trimmed here). Pure functions of their inputs, the time included, so tests
// check them against AWS's published examples.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ledger::documents {

struct s3_credentials {
  std::string access_key;
  std::string secret_key;
};

struct sigv4_request {
  std::string method;  // GET, PUT, ...
  std::string path;    // URI-encoded, starting with '/'
  std::vector<std::pair<std::string, std::string>> query;    // raw; order does not matter
  std::vector<std::pair<std::string, std::string>> headers;  // to sign; must include host
  std::string payload_sha256;  // 64 hex digits, or "UNSIGNED-PAYLOAD"
};

inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
inline constexpr std::int64_t presign_expires_s_max = 604800;  // S3's limit: 7 days

// "20130524T000000Z" for a Unix time in seconds.
std::string amz_date(std::int64_t unix_s);

// RFC 3986 unreserved characters kept, everything else %XX (upper case);
// '/' kept when `keep_slash` (object keys in paths).
std::string uri_encode(std::string_view s, bool keep_slash);

std::string sha256_hex_of(std::string_view bytes);

// The value of the Authorization header for `r` at `date` (amz_date form,
// which the caller also sends as x-amz-date). `canonical`, when given,
// receives the canonical request (for error messages and tests).
std::string sigv4_authorization(const sigv4_request& r, const s3_credentials& c, std::string_view region,
                                std::string_view date, std::string* canonical = nullptr);

// The query string (without '?') of a presigned URL for `r` (its headers:
// host only, normally; its payload: UNSIGNED-PAYLOAD), valid `expires_s`
// seconds (1 .. presign_expires_s_max) from `date`: r.query plus the
// X-Amz-* parameters, sorted and encoded, ending with X-Amz-Signature.
std::string sigv4_presign_query(const sigv4_request& r, const s3_credentials& c, std::string_view region,
                                std::string_view date, std::int64_t expires_s);

}  // namespace ledger::documents
