#include "tools/audit/signing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

namespace ledger::audit {

namespace {

EVP_PKEY* as_pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

std::string hex_of(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(digits[p[i] >> 4]);
    s.push_back(digits[p[i] & 15]);
  }
  return s;
}

bool unhex(std::string_view hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<unsigned char>(hi * 16 + lo));
  }
  return true;
}

// A public key from PEM or raw hex; nullptr when it is neither an Ed25519 key.
EVP_PKEY* parse_public(std::string_view text) {
  std::string trimmed(text);
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' || trimmed.back() == ' ')) trimmed.pop_back();
  std::vector<unsigned char> raw;
  if (trimmed.size() == 64 && unhex(trimmed, raw))
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  BIO* bio = BIO_new_mem_buf(trimmed.data(), static_cast<int>(trimmed.size()));
  if (!bio) return nullptr;
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (k && EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return nullptr;
  }
  return k;
}

std::string raw_public_hex(EVP_PKEY* k) {
  unsigned char raw[32];
  std::size_t n = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1) return {};
  return hex_of(raw, n);
}

}  // namespace

status signing_key::load(const std::string& path, std::unique_ptr<signing_key>& out) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return status::not_found("cannot open the signing key " + path);
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!k) return status::invalid_argument(path + " is not a PEM private key");
  if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(k);
    return status::invalid_argument(path + " is not an Ed25519 key");
  }
  out.reset(new signing_key(k));
  return status::ok();
}

status signing_key::generate(const std::string& path) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY* k = nullptr;
  bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &k) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return status::io_error("Ed25519 key generation failed");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    EVP_PKEY_free(k);
    return status::invalid_argument("cannot create " + path + " (it must not exist yet)");
  }
  FILE* f = ::fdopen(fd, "w");
  ok = f && PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (f) ok = (std::fclose(f) == 0) && ok;
  EVP_PKEY_free(k);
  return ok ? status::ok() : status::io_error("writing " + path);
}

signing_key::~signing_key() { EVP_PKEY_free(as_pkey(pkey_)); }

status signing_key::sign(std::string_view message, std::string& signature) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char sig[64];
  std::size_t n = sizeof sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, as_pkey(pkey_)) == 1 &&
            EVP_DigestSign(ctx, sig, &n, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return status::io_error("signing failed");
  signature.assign(reinterpret_cast<const char*>(sig), n);
  return status::ok();
}

std::string signing_key::public_key_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (bio && PEM_write_bio_PUBKEY(bio, as_pkey(pkey_)) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::string signing_key::public_key_hex() const { return raw_public_hex(as_pkey(pkey_)); }

status verify_signature(std::string_view public_key, std::string_view message, std::string_view signature) {
  EVP_PKEY* k = parse_public(public_key);
  if (!k) return status::invalid_argument("the public key is neither an Ed25519 PEM key nor 64 hex digits");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, k) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(k);
  return ok ? status::ok() : status::corruption("the manifest signature does not verify with this public key");
}

status public_key_hex_of(std::string_view public_key, std::string& hex) {
  EVP_PKEY* k = parse_public(public_key);
  if (!k) return status::invalid_argument("the public key is neither an Ed25519 PEM key nor 64 hex digits");
  hex = raw_public_hex(k);
  EVP_PKEY_free(k);
  return status::ok();
}

}  // namespace ledger::audit
