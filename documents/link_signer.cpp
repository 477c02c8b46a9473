#include "documents/link_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <fstream>
#include <iterator>

namespace ledger::documents {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> link_signer::load(const std::string& path, link_signer& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read " + path;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() == 32) {
    out.key_ = bytes;
    return std::nullopt;
  }
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.pop_back();
  if (bytes.size() != 64) return "the key must be 32 bytes, raw or as 64 hex digits";
  std::string key;
  for (std::size_t i = 0; i < 64; i += 2) {
    int hi = hex_digit(bytes[i]), lo = hex_digit(bytes[i + 1]);
    if (hi < 0 || lo < 0) return "the key must be 32 bytes, raw or as 64 hex digits";
    key.push_back(static_cast<char>(hi * 16 + lo));
  }
  out.key_ = key;
  return std::nullopt;
}

std::string link_signer::sign(std::uint64_t document_id, std::int64_t expires_s) const {
  std::string msg = "ledger document link v1\n" + std::to_string(document_id) + "\n" + std::to_string(expires_s);
  unsigned char md[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), md, &len);
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) {
    s.push_back(digits[md[i] >> 4]);
    s.push_back(digits[md[i] & 15]);
  }
  return s;
}

bool link_signer::verify(std::uint64_t document_id, std::int64_t expires_s, std::string_view signature) const {
  if (key_.empty()) return false;
  std::string want = sign(document_id, expires_s);
  return signature.size() == want.size() && CRYPTO_memcmp(want.data(), signature.data(), want.size()) == 0;
}

}  // namespace ledger::documents
