#include "documents/blob_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>

namespace ledger::documents {

namespace {

constexpr std::string_view magic = "ldoc1";
constexpr std::size_t nonce_bytes = 12, tag_bytes = 16;

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string hmac(std::string_view key, std::string_view msg) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string content_key(std::string_view data_key) { return hmac(data_key, "ledger document content key v1"); }
std::string nonce_key(std::string_view data_key) { return hmac(data_key, "ledger document nonce key v1"); }
std::string aad_of(std::string_view owner) { return "ledger document\n" + std::string(owner); }

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

bool init(EVP_CIPHER_CTX* c, bool enc, std::string_view key, std::string_view nonce, std::string_view aad) {
  int n = 0;
  return EVP_CipherInit_ex(c, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, enc ? 1 : 0) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
         EVP_CipherInit_ex(c, nullptr, nullptr, u8(key), u8(nonce), enc ? 1 : 0) == 1 &&
         EVP_CipherUpdate(c, nullptr, &n, u8(aad), static_cast<int>(aad.size())) == 1;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) {
    s.push_back(digits[md[i] >> 4]);
    s.push_back(digits[md[i] & 15]);
  }
  return s;
}

namespace {

// The provider encrypts (docs/documents.md, provider-side encryption): the
// content is the blob, named by its own SHA-256.
status store_plain(blob_store& store, const piece_source& next, std::string& blob_id, std::uint64_t& size) {
  std::unique_ptr<blob_writer> w;
  if (auto st = store.create(w); !st) return st;
  for (std::string piece;;) {
    if (auto st = next(piece); !st) return st;
    if (piece.empty()) return w->commit(blob_id);
    size += piece.size();
    if (auto st = w->write(piece); !st) return st;
  }
}

status read_plain(blob_reader& r, std::size_t plaintext_max, std::string& plaintext) {
  if (r.size() > plaintext_max) return status::invalid_argument("blob larger than allowed");
  plaintext.clear();
  plaintext.reserve(static_cast<std::size_t>(r.size()));
  for (std::string piece;;) {
    if (auto st = r.read(blob_chunk_bytes, piece); !st) return st;
    if (piece.empty()) return status::ok();
    plaintext += piece;
    if (plaintext.size() > r.size()) return status::corruption("blob grew while read");
  }
}

}  // namespace

status seal_blob(blob_store& store, std::string_view data_key, std::string_view owner, std::string_view nonce_input,
                 std::string_view plaintext, std::string& blob_id) {
  std::size_t at = 0;
  std::uint64_t size = 0;
  auto next = [&](std::string& out) {
    out.assign(plaintext.substr(std::min(at, plaintext.size()), blob_chunk_bytes));
    at += out.size();
    return status::ok();
  };
  return seal_blob_stream(store, data_key, owner, nonce_input, next, blob_id, size);
}

status seal_blob_stream(blob_store& store, std::string_view data_key, std::string_view owner, std::string_view nonce_input,
                        const piece_source& next, std::string& blob_id, std::uint64_t& size) {
  size = 0;
  if (store.provider_encrypts()) return store_plain(store, next, blob_id, size);
  std::string nonce = hmac(nonce_key(data_key), nonce_input).substr(0, nonce_bytes);
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c || !init(c.get(), true, content_key(data_key), nonce, aad_of(owner))) return status::unavailable("cipher setup failed");
  std::unique_ptr<blob_writer> w;
  if (auto st = store.create(w); !st) return st;
  if (auto st = w->write(std::string(magic) + nonce); !st) return st;
  std::string out, piece;
  for (;;) {
    if (auto st = next(piece); !st) return st;
    if (piece.empty()) break;
    size += piece.size();
    out.resize(piece.size() + 16);
    int n = 0;
    if (EVP_CipherUpdate(c.get(), reinterpret_cast<unsigned char*>(out.data()), &n, u8(piece), static_cast<int>(piece.size())) != 1)
      return status::unavailable("encryption failed");
    if (auto st = w->write(std::string_view(out.data(), static_cast<std::size_t>(n))); !st) return st;
  }
  int n = 0;
  unsigned char tag[tag_bytes];
  out.resize(16);
  if (EVP_CipherFinal_ex(c.get(), reinterpret_cast<unsigned char*>(out.data()), &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, tag) != 1)
    return status::unavailable("encryption failed");
  if (auto st = w->write(std::string_view(reinterpret_cast<char*>(tag), tag_bytes)); !st) return st;
  return w->commit(blob_id);
}

status open_blob(blob_store& store, std::string_view id, std::string_view data_key, std::string_view owner,
                 std::size_t plaintext_max, std::string& plaintext) {
  std::unique_ptr<blob_reader> r;
  if (auto st = store.open(id, r); !st) return st;
  if (store.provider_encrypts()) return read_plain(*r, plaintext_max, plaintext);
  if (r->size() < blob_overhead_bytes) return status::corruption("blob too short");
  if (r->size() - blob_overhead_bytes > plaintext_max) return status::invalid_argument("blob larger than allowed");
  std::string all;
  all.reserve(static_cast<std::size_t>(r->size()));
  for (std::string piece;;) {
    if (auto st = r->read(blob_chunk_bytes, piece); !st) return st;
    if (piece.empty()) break;
    all += piece;
    if (all.size() > r->size()) return status::corruption("blob grew while read");
  }
  if (all.size() < blob_overhead_bytes || all.compare(0, magic.size(), magic) != 0) return status::corruption("not a document blob");
  std::string_view v(all);
  auto nonce = v.substr(magic.size(), nonce_bytes);
  auto body = v.substr(magic.size() + nonce_bytes, v.size() - blob_overhead_bytes);
  std::string tag(v.substr(v.size() - tag_bytes));
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c || !init(c.get(), false, content_key(data_key), nonce, aad_of(owner))) return status::unavailable("cipher setup failed");
  plaintext.assign(body.size(), '\0');
  std::size_t done = 0;
  for (std::size_t at = 0; at < body.size(); at += blob_chunk_bytes) {
    auto piece = body.substr(at, blob_chunk_bytes);
    int n = 0;
    if (EVP_CipherUpdate(c.get(), reinterpret_cast<unsigned char*>(plaintext.data() + done), &n, u8(piece),
                         static_cast<int>(piece.size())) != 1)
      return status::corruption("decryption failed");
    done += static_cast<std::size_t>(n);
  }
  int n = 0;
  unsigned char fin[16];
  if (EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, tag.data()) != 1 || EVP_CipherFinal_ex(c.get(), fin, &n) != 1) {
    plaintext.clear();
    return status::corruption("blob failed authentication");
  }
  return status::ok();
}

}  // namespace ledger::documents

namespace ledger::documents {

namespace {

// Decrypts ciphertext pieces as they come, holding back the last tag_bytes
// (the tag ends the blob, and its start is not known before the end).
class blob_decryptor {
 public:
  blob_decryptor(EVP_CIPHER_CTX* c, const std::function<bool(std::string_view)>& each) : c_(c), each_(each) {}

  status feed(std::string_view bytes) {
    held_.append(bytes.data(), bytes.size());
    if (held_.size() <= tag_bytes) return status::ok();
    std::size_t n_in = held_.size() - tag_bytes;
    out_.resize(n_in + 16);
    int n = 0;
    if (EVP_CipherUpdate(c_, reinterpret_cast<unsigned char*>(out_.data()), &n, u8(held_), static_cast<int>(n_in)) != 1)
      return status::corruption("decryption failed");
    held_.erase(0, n_in);
    if (n > 0 && !each_(std::string_view(out_.data(), static_cast<std::size_t>(n)))) return status::invalid_argument("stopped");
    return status::ok();
  }

  status finish() {
    unsigned char fin[16];
    int n = 0;
    if (held_.size() != tag_bytes || EVP_CIPHER_CTX_ctrl(c_, EVP_CTRL_GCM_SET_TAG, tag_bytes, held_.data()) != 1 ||
        EVP_CipherFinal_ex(c_, fin, &n) != 1)
      return status::corruption("blob failed authentication");
    return status::ok();
  }

 private:
  EVP_CIPHER_CTX* c_;
  const std::function<bool(std::string_view)>& each_;
  std::string held_, out_;
};

}  // namespace

status stream_blob(blob_store& store, std::string_view id, std::string_view data_key, std::string_view owner,
                   const std::function<bool(std::string_view piece)>& each) {
  std::unique_ptr<blob_reader> r;
  if (auto st = store.open(id, r); !st) return st;
  if (r->size() < blob_overhead_bytes) return status::corruption("blob too short");
  std::string head;
  while (head.size() < magic.size() + nonce_bytes) {
    std::string piece;
    if (auto st = r->read(magic.size() + nonce_bytes - head.size(), piece); !st) return st;
    if (piece.empty()) return status::corruption("blob too short");
    head += piece;
  }
  if (head.compare(0, magic.size(), magic) != 0) return status::corruption("not a document blob");
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!c || !init(c.get(), false, content_key(data_key), std::string_view(head).substr(magic.size()), aad_of(owner)))
    return status::unavailable("cipher setup failed");
  blob_decryptor dec(c.get(), each);
  std::uint64_t read_bytes = head.size();
  for (std::string piece;;) {
    if (auto st = r->read(blob_chunk_bytes, piece); !st) return st;
    if (piece.empty()) break;
    read_bytes += piece.size();
    if (read_bytes > r->size()) return status::corruption("blob grew while read");
    if (auto st = dec.feed(piece); !st) return st;
  }
  return dec.finish();
}

}  // namespace ledger::documents
