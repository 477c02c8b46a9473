#include "api/payout_keys.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "schemas/base.h"

namespace ledger::api {

namespace {

constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;
constexpr std::size_t key_file_bytes_max = 512;
constexpr std::string_view tombstone_word = "destroyed";

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), u8(bytes), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), u8(text), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[32];
  unsigned int len = 0;
  LEDGER_ASSERT(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), u8(data), data.size(), out, &len) != nullptr,
                "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

// AES-256-GCM: nonce || ciphertext || tag.
std::string seal(std::string_view key, std::string_view nonce, std::string_view aad, std::string_view plaintext) {
  cipher_ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(nonce);
  out.resize(nonce_bytes + plaintext.size() + tag_bytes);
  int len = 0;
  auto* ct = reinterpret_cast<unsigned char*>(out.data()) + nonce_bytes;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key), u8(nonce)) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), ct, &len, u8(plaintext), static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, ct + plaintext.size()) == 1;
  LEDGER_ASSERT(ok, "AES-256-GCM encryption failed");
  return out;
}

// nullopt when the bytes do not authenticate.
std::optional<std::string> unseal(std::string_view key, std::string_view aad, std::string_view sealed) {
  if (sealed.size() < nonce_bytes + tag_bytes) return std::nullopt;
  std::string_view nonce = sealed.substr(0, nonce_bytes);
  std::string_view ct = sealed.substr(nonce_bytes, sealed.size() - nonce_bytes - tag_bytes);
  std::string tag(sealed.substr(sealed.size() - tag_bytes));
  cipher_ctx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(ct.size(), '\0');
  int len = 0;
  auto* pt = reinterpret_cast<unsigned char*>(out.data());
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key), u8(nonce)) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), pt, &len, u8(ct), static_cast<int>(ct.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), pt + len, &len) == 1;
  if (!ok) return std::nullopt;
  return out;
}

std::string hex_of(std::string_view bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

bool sync_fd_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Writes `text` to a new temporary file in `dir`, synced; its path, or "".
std::string write_temp(const std::string& dir, const std::string& text) {
  unsigned char r[8];
  LEDGER_ASSERT(RAND_bytes(r, sizeof r) == 1, "the system's random source failed");
  std::string tmp = dir + "/.tmp-" + hex_of(std::string_view(reinterpret_cast<char*>(r), sizeof r));
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) return {};
  }
  ::chmod(tmp.c_str(), 0600);
  if (!sync_fd_path(tmp, O_RDONLY)) return {};
  return tmp;
}

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > master_key_id_bytes_max) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

std::optional<std::string> decode_key_text(std::string text) {
  if (text.size() == data_key_bytes) return text;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() != 2 * data_key_bytes) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned v = 0;
    if (std::sscanf(text.substr(i, 2).c_str(), "%2x", &v) != 1 || !std::isxdigit(static_cast<unsigned char>(text[i])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 1])))
      return std::nullopt;
    out.push_back(static_cast<char>(v));
  }
  return out;
}

}  // namespace

std::optional<std::string> load_master_key(std::string_view spec, master_key& out) {
  auto comma = spec.find(',');
  if (comma == std::string_view::npos) return "expected ID,PATH";
  out.id = std::string(spec.substr(0, comma));
  std::string path(spec.substr(comma + 1));
  if (!valid_key_id(out.id)) return "the key id must be 1 to 32 of A-Z a-z 0-9 _ -";
  std::ifstream f(path, std::ios::binary);
  if (!f) return "cannot read " + path;
  std::string text(key_file_bytes_max + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(f.gcount()));
  auto key = decode_key_text(text);
  if (!key) return path + ": a master key is 32 bytes, raw or as 64 hex digits";
  out.key = std::move(*key);
  return std::nullopt;
}

std::string_view to_string(key_error e) {
  switch (e) {
    case key_error::none: return "none";
    case key_error::no_master_key: return "no master key is configured (--master-key-file)";
    case key_error::destroyed: return "the owner's data key was destroyed (crypto-shredding)";
    case key_error::unknown_master_key: return "the owner's data key is wrapped by a master key this process does not have";
    case key_error::corrupt: return "a key or ciphertext failed authentication";
    case key_error::io: return "the key store could not be read or written";
  }
  return "unknown";
}

payout_keys::payout_keys(std::vector<master_key> masters, std::string dir) : masters_(std::move(masters)), dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  ::chmod(dir_.c_str(), 0700);
}

const std::string& payout_keys::current_key_id() const {
  static const std::string none;
  return masters_.empty() ? none : masters_.back().id;
}

const master_key* payout_keys::find(std::string_view id) const {
  for (const auto& m : masters_)
    if (m.id == id) return &m;
  return nullptr;
}

std::string payout_keys::path_of(std::string_view owner) const { return dir_ + "/" + hex_of(owner) + ".key"; }

key_error payout_keys::read_file(const std::string& path, std::string& key_id, std::string& wrapped) const {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return ec ? key_error::io : key_error::none;  // no key yet
  std::ifstream f(path, std::ios::binary);
  if (!f) return key_error::io;
  std::string text(key_file_bytes_max + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(f.gcount()));
  std::istringstream in(text);
  std::string version, b64;
  in >> version >> key_id >> b64;
  if (version != "v1" || key_id.empty()) return key_error::corrupt;
  if (key_id == tombstone_word) return key_error::destroyed;
  auto bytes = unbase64(b64);
  if (!bytes) return key_error::corrupt;
  wrapped = std::move(*bytes);
  return key_error::none;
}

std::string payout_keys::wrap(std::string_view owner, const master_key& m, const std::string& data_key) const {
  unsigned char nonce[nonce_bytes];
  LEDGER_ASSERT(RAND_bytes(nonce, sizeof nonce) == 1, "the system's random source failed");
  std::string aad = "ledger data key v1\n" + m.id + "\n" + std::string(owner);
  return "v1 " + m.id + " " +
         base64(seal(m.key, std::string_view(reinterpret_cast<char*>(nonce), nonce_bytes), aad, data_key)) + "\n";
}

key_error payout_keys::unwrap(std::string_view owner, const std::string& key_id, const std::string& wrapped,
                              std::string& out) const {
  const master_key* m = find(key_id);
  if (!m) return key_error::unknown_master_key;
  auto key = unseal(m->key, "ledger data key v1\n" + key_id + "\n" + std::string(owner), wrapped);
  if (!key || key->size() != data_key_bytes) return key_error::corrupt;
  out = std::move(*key);
  return key_error::none;
}

key_error payout_keys::data_key(std::string_view owner, bool create, std::string& out) const {
  if (masters_.empty()) return key_error::no_master_key;
  std::string path = path_of(owner), key_id, wrapped;
  for (int attempt = 0; attempt < 2; ++attempt) {
    key_id.clear();
    auto e = read_file(path, key_id, wrapped);
    if (e != key_error::none) return e;
    if (!key_id.empty()) return unwrap(owner, key_id, wrapped, out);
    if (!create) return key_error::destroyed;  // never had one: nothing is readable either
    std::string fresh(data_key_bytes, '\0');
    LEDGER_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), data_key_bytes) == 1,
                  "the system's random source failed");
    std::string tmp = write_temp(dir_, wrap(owner, masters_.back(), fresh));
    if (tmp.empty()) return key_error::io;
    // link(2) fails if another process created the owner's key first: then use theirs.
    int rc = ::link(tmp.c_str(), path.c_str());
    ::unlink(tmp.c_str());
    if (rc == 0) {
      if (!sync_fd_path(dir_, O_RDONLY | O_DIRECTORY)) return key_error::io;
      out = std::move(fresh);
      return key_error::none;
    }
    if (errno != EEXIST) return key_error::io;
  }
  return key_error::io;
}

key_error payout_keys::wrapping_key_id(std::string_view owner, std::string& out) const {
  std::string wrapped;
  out.clear();
  return read_file(path_of(owner), out, wrapped);
}

key_error payout_keys::encrypt(std::string_view owner, std::string_view context, std::string_view field,
                               std::string_view plaintext, std::string& out) const {
  std::string dk;
  if (auto e = data_key(owner, true, dk); e != key_error::none) return e;
  std::string enc_key = hmac(dk, "ledger payout enc v1");
  std::string nonce_key = hmac(dk, "ledger payout nonce v1");
  std::string aad = "ledger payout v1\n" + std::string(owner) + "\n" + std::string(context) + "\n" + std::string(field);
  std::string nonce = hmac(nonce_key, aad + "\n" + std::string(plaintext)).substr(0, nonce_bytes);
  out = std::string(field_ciphertext_prefix) + base64(seal(enc_key, nonce, aad, plaintext));
  return key_error::none;
}

key_error payout_keys::decrypt(std::string_view owner, std::string_view context, std::string_view field,
                               std::string_view ciphertext, std::string& out) const {
  if (ciphertext.substr(0, field_ciphertext_prefix.size()) != field_ciphertext_prefix) return key_error::corrupt;
  auto sealed = unbase64(ciphertext.substr(field_ciphertext_prefix.size()));
  if (!sealed) return key_error::corrupt;
  std::string dk;
  if (auto e = data_key(owner, false, dk); e != key_error::none) return e;
  std::string aad = "ledger payout v1\n" + std::string(owner) + "\n" + std::string(context) + "\n" + std::string(field);
  auto pt = unseal(hmac(dk, "ledger payout enc v1"), aad, *sealed);
  if (!pt) return key_error::corrupt;
  out = std::move(*pt);
  return key_error::none;
}

key_error payout_keys::rotate(rotate_report& out) const {
  out = rotate_report{};
  if (masters_.empty()) return key_error::no_master_key;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() < 5 || name.substr(name.size() - 4) != ".key" || name[0] == '.') continue;
    std::string hex = name.substr(0, name.size() - 4), owner;
    if (hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    for (std::size_t i = 0; i < hex.size(); i += 2) owner.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    std::string key_id, wrapped, dk;
    auto e = read_file(entry.path().string(), key_id, wrapped);
    if (e == key_error::destroyed) {
      ++out.destroyed;
      continue;
    }
    if (e != key_error::none) return e;
    if (key_id == masters_.back().id) {
      ++out.current;
      continue;
    }
    if (auto u = unwrap(owner, key_id, wrapped, dk); u != key_error::none) return u;
    std::string tmp = write_temp(dir_, wrap(owner, masters_.back(), dk));
    if (tmp.empty() || std::rename(tmp.c_str(), entry.path().c_str()) != 0) return key_error::io;
    ++out.rewrapped;
  }
  if (ec) return key_error::io;
  return sync_fd_path(dir_, O_RDONLY | O_DIRECTORY) ? key_error::none : key_error::io;
}

key_error payout_keys::destroy(std::string_view owner, bool& destroyed) const {
  std::string path = path_of(owner), key_id, wrapped;
  auto e = read_file(path, key_id, wrapped);
  destroyed = e == key_error::none && !key_id.empty();
  if (e == key_error::destroyed) return key_error::none;
  std::string tmp = write_temp(dir_, "v1 " + std::string(tombstone_word) + "\n");
  if (tmp.empty() || std::rename(tmp.c_str(), path.c_str()) != 0) return key_error::io;
  return sync_fd_path(dir_, O_RDONLY | O_DIRECTORY) ? key_error::none : key_error::io;
}

std::string mask_last4(std::string_view plaintext) {
  // By characters, not bytes: a UTF-8 sequence is kept whole.
  std::size_t start = plaintext.size(), chars = 0;
  while (start > 0 && chars < 4) {
    --start;
    if ((static_cast<unsigned char>(plaintext[start]) & 0xc0) != 0x80) ++chars;
  }
  if (start == 0) return std::string(chars, '*');
  return std::string(4, '*') + std::string(plaintext.substr(start));
}

}  // namespace ledger::api
