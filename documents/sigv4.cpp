// SigV4 as AWS specifies it: canonical request, string to sign, a key
// derived by four HMACs (date, region, service, "aws4_request"), the
// signature over the string to sign. Only OpenSSL's primitives are used.
#include "documents/sigv4.h"
#include "base/hex.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace ledger::documents {

namespace {

std::string hmac(std::string_view key, std::string_view msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Leading and trailing blanks dropped, inner runs of blanks folded to one.
std::string trim_value(std::string_view v) {
  std::string out;
  bool blank = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      blank = !out.empty();
      continue;
    }
    if (blank) out.push_back(' ');
    blank = false;
    out.push_back(c);
  }
  return out;
}

struct canonical_parts {
  std::string request;
  std::string signed_headers;
};

std::string canonical_query(std::vector<std::pair<std::string, std::string>> q) {
  for (auto& [k, v] : q) {
    k = uri_encode(k, false);
    v = uri_encode(v, false);
  }
  std::sort(q.begin(), q.end());
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

canonical_parts canonicalize(const sigv4_request& r, const std::string& query) {
  std::vector<std::pair<std::string, std::string>> h;
  for (const auto& [k, v] : r.headers) h.emplace_back(lower(k), trim_value(v));
  std::sort(h.begin(), h.end());
  canonical_parts p;
  std::string headers;
  for (const auto& [k, v] : h) {
    headers += k + ":" + v + "\n";
    if (!p.signed_headers.empty()) p.signed_headers.push_back(';');
    p.signed_headers += k;
  }
  p.request = r.method + "\n" + r.path + "\n" + query + "\n" + headers + "\n" + p.signed_headers + "\n" + r.payload_sha256;
  return p;
}

std::string scope_of(std::string_view date, std::string_view region) {
  return std::string(date.substr(0, 8)) + "/" + std::string(region) + "/s3/aws4_request";
}

std::string signature(const s3_credentials& c, std::string_view region, std::string_view date,
                      const std::string& canonical_request) {
  std::string to_sign = "AWS4-HMAC-SHA256\n" + std::string(date) + "\n" + scope_of(date, region) + "\n" +
                        sha256_hex_of(canonical_request);
  std::string k = hmac("AWS4" + c.secret_key, date.substr(0, 8));
  k = hmac(k, region);
  k = hmac(k, "s3");
  k = hmac(k, "aws4_request");
  std::string sig = hmac(k, to_sign);
  return hex_lower(reinterpret_cast<const unsigned char*>(sig.data()), sig.size());
}

}  // namespace

std::string amz_date(std::int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool plain = std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (plain) out.push_back(static_cast<char>(c));
    else out += {'%', digits[c >> 4], digits[c & 15]};
  }
  return out;
}

std::string sha256_hex_of(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return hex_lower(md, len);
}

std::string sigv4_authorization(const sigv4_request& r, const s3_credentials& c, std::string_view region,
                                std::string_view date, std::string* canonical) {
  canonical_parts p = canonicalize(r, canonical_query(r.query));
  if (canonical) *canonical = p.request;
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + scope_of(date, region) +
         ",SignedHeaders=" + p.signed_headers + ",Signature=" + signature(c, region, date, p.request);
}

std::string sigv4_presign_query(const sigv4_request& r, const s3_credentials& c, std::string_view region,
                                std::string_view date, std::int64_t expires_s) {
  auto q = r.query;
  std::string signed_headers = canonicalize(r, "").signed_headers;
  q.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  q.emplace_back("X-Amz-Credential", c.access_key + "/" + scope_of(date, region));
  q.emplace_back("X-Amz-Date", std::string(date));
  q.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  q.emplace_back("X-Amz-SignedHeaders", signed_headers);
  std::string query = canonical_query(q);
  canonical_parts p = canonicalize(r, query);
  return query + "&X-Amz-Signature=" + signature(c, region, date, p.request);
}

}  // namespace ledger::documents
