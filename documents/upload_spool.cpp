// The spool file: ciphertext only; the tag, key and nonce stay in memory.
// No fsync: a spool never outlives its process's upload.
#include "documents/upload_spool.h"
#include "base/hex.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "documents/blob_crypto.h"

namespace ledger::documents {

namespace {

constexpr std::size_t key_bytes = 32, nonce_bytes = 12, tag_bytes = 16;
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

status errno_status(const std::string& what) { return status::io_error(what + ": " + std::strerror(errno)); }

cipher_ctx cipher(bool enc, const unsigned char* key, const unsigned char* nonce) {
  cipher_ctx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (c && EVP_CipherInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key, nonce, enc ? 1 : 0) == 1) return c;
  return cipher_ctx(nullptr, &EVP_CIPHER_CTX_free);
}

class file_reader final : public spool_reader {
 public:
  file_reader(int fd, std::uint64_t size, cipher_ctx c, const unsigned char* tag)
      : fd_(fd), size_(size), c_(std::move(c)) {
    std::memcpy(tag_, tag, tag_bytes);
  }
  ~file_reader() override { ::close(fd_); }
  status next(std::string& out) override {
    out.clear();
    if (at_ >= size_) return done_ ? status::ok() : verify();
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(blob_chunk_bytes, size_ - at_));
    in_.resize(want);
    ssize_t n = ::pread(fd_, in_.data(), want, static_cast<off_t>(at_));
    if (n < 0 && errno == EINTR) return next(out);
    if (n <= 0) return n == 0 ? status::corruption("spool shorter than written") : errno_status("read spool");
    at_ += static_cast<std::uint64_t>(n);
    out.resize(static_cast<std::size_t>(n) + 16);
    int m = 0;
    if (EVP_CipherUpdate(c_.get(), reinterpret_cast<unsigned char*>(out.data()), &m,
                         reinterpret_cast<const unsigned char*>(in_.data()), static_cast<int>(n)) != 1)
      return status::corruption("spool decryption failed");
    out.resize(static_cast<std::size_t>(m));
    return status::ok();
  }

 private:
  status verify() {
    done_ = true;
    unsigned char fin[16];
    int m = 0;
    if (EVP_CIPHER_CTX_ctrl(c_.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, tag_) != 1 || EVP_CipherFinal_ex(c_.get(), fin, &m) != 1)
      return status::corruption("the spool file failed authentication");
    return status::ok();
  }
  int fd_;
  std::uint64_t size_, at_ = 0;
  cipher_ctx c_;
  unsigned char tag_[tag_bytes];
  std::string in_;
  bool done_ = false;
};

class file_spool final : public upload_spool {
 public:
  file_spool(std::string path, int fd, cipher_ctx c, const unsigned char* key, const unsigned char* nonce)
      : path_(std::move(path)), fd_(fd), c_(std::move(c)) {
    std::memcpy(key_, key, key_bytes);
    std::memcpy(nonce_, nonce, nonce_bytes);
  }
  ~file_spool() override {
    ::close(fd_);
    ::unlink(path_.c_str());
    OPENSSL_cleanse(key_, sizeof key_);
  }
  status write(std::string_view bytes) override {
    if (finished_) return status::invalid_argument("spool already finished");
    out_.resize(bytes.size() + 16);
    int n = 0;
    if (EVP_CipherUpdate(c_.get(), reinterpret_cast<unsigned char*>(out_.data()), &n,
                         reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1)
      return status::unavailable("spool encryption failed");
    for (std::string_view left(out_.data(), static_cast<std::size_t>(n)); !left.empty();) {
      ssize_t w = ::write(fd_, left.data(), left.size());
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return errno_status("write " + path_);
      left.remove_prefix(static_cast<std::size_t>(w));
    }
    size_ += bytes.size();
    return status::ok();
  }
  status finish() override {
    int n = 0;
    unsigned char fin[16];
    if (EVP_CipherFinal_ex(c_.get(), fin, &n) != 1 || EVP_CIPHER_CTX_ctrl(c_.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, tag_) != 1)
      return status::unavailable("spool encryption failed");
    finished_ = true;
    return status::ok();
  }
  status open_reader(std::unique_ptr<spool_reader>& out) const override {
    if (!finished_) return status::invalid_argument("spool not finished");
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("open " + path_);
    auto c = cipher(false, key_, nonce_);
    if (!c) {
      ::close(fd);
      return status::unavailable("spool cipher setup failed");
    }
    out = std::make_unique<file_reader>(fd, size_, std::move(c), tag_);
    return status::ok();
  }
  std::uint64_t size() const override { return size_; }

 private:
  unsigned char key_[key_bytes]{}, nonce_[nonce_bytes]{};
  std::string path_;
  int fd_;
  cipher_ctx c_;
  std::string out_;
  std::uint64_t size_ = 0;
  unsigned char tag_[tag_bytes]{};
  bool finished_ = false;
};

}  // namespace

status upload_spool::create(const std::string& dir, std::unique_ptr<upload_spool>& out) {
  unsigned char key[key_bytes], nonce[nonce_bytes], name[16];
  if (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(nonce, sizeof nonce) != 1 || RAND_bytes(name, sizeof name) != 1)
    return status::unavailable("no randomness for a spool");
  std::string path = dir + "/spool-" + hex_lower(name, sizeof name);
  auto c = cipher(true, key, nonce);
  if (!c) return status::unavailable("spool cipher setup failed");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("create " + path);
  out = std::make_unique<file_spool>(path, fd, std::move(c), key, nonce);
  OPENSSL_cleanse(key, sizeof key);
  return status::ok();
}

}  // namespace ledger::documents
