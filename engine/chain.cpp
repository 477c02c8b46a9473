#include "engine/chain.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "schemas/base.h"

namespace ledger {

hash256 sha256(std::string_view bytes) {
  hash256 h;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), h.data());
  return h;
}

hash256 chain_next(const hash256& previous, std::string_view event_bytes) {
  // One-shot over a single buffer is markedly faster than EVP streaming for
  // records of a few hundred bytes, which is all events are.
  thread_local std::string buf;
  buf.assign(reinterpret_cast<const char*>(previous.data()), previous.size());
  buf.append(event_bytes);
  return sha256(buf);
}

hash256 genesis_chain(std::string_view ledger_id) {
  if (ledger_id.empty()) return hash256{};
  std::string framed = "ledger-genesis/v1\n";
  framed.append(ledger_id);
  return sha256(framed);
}

std::string ledger_id_problem(std::string_view id) {
  if (id.empty()) return "must not be empty";
  if (id.size() > ledger_id_bytes_max) return "must be at most " + std::to_string(ledger_id_bytes_max) + " bytes";
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-';
    if (!ok) return "may hold only letters, digits and . _ : -";
  }
  return {};
}

digest_builder::digest_builder() : ctx_(EVP_MD_CTX_new()) {
  LEDGER_ASSERT(ctx_ != nullptr, "EVP_MD_CTX_new failed");
  LEDGER_ASSERT(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) == 1, "sha256 init");
}

digest_builder::~digest_builder() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void digest_builder::add(std::string_view key, std::string_view value) {
  auto* c = static_cast<EVP_MD_CTX*>(ctx_);
  auto frame = [&](std::string_view s) {
    unsigned char len[4];
    for (int i = 0; i < 4; ++i) len[i] = static_cast<unsigned char>((s.size() >> (8 * i)) & 0xff);
    EVP_DigestUpdate(c, len, sizeof len);
    EVP_DigestUpdate(c, s.data(), s.size());
  };
  frame(key);
  frame(value);
}

hash256 digest_builder::finish() {
  hash256 h;
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h.data(), &n);
  LEDGER_ASSERT_EQ(n, h.size(), "sha256 length");
  return h;
}

}  // namespace ledger
