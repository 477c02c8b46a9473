// The local backend: POSIX files, fsync before rename, directory fsync
// after, so an acknowledged blob survives a power loss.
#include "documents/blob_store.h"
#include "base/hex.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace ledger::documents {

namespace {

namespace fs = std::filesystem;

status errno_status(const std::string& what) { return status::io_error(what + ": " + std::strerror(errno)); }

status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? status::ok() : errno_status("fsync " + dir);
}

class local_writer final : public blob_writer {
 public:
  local_writer(std::string root, std::string tmp_path, int fd) : root_(std::move(root)), tmp_(std::move(tmp_path)), fd_(fd) {}
  ~local_writer() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  status write(std::string_view bytes) override {
    sha_.update(bytes);
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errno_status("write " + tmp_);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return status::ok();
  }
  status commit(std::string& id) override {
    id = sha_.finish();
    if (::fsync(fd_) != 0) return errno_status("fsync " + tmp_);
    ::close(fd_);
    fd_ = -1;
    std::string dir = root_ + "/blobs/" + id.substr(0, 2);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_status("mkdir " + dir);
    if (::rename(tmp_.c_str(), (dir + "/" + id).c_str()) != 0) return errno_status("rename " + tmp_);
    committed_ = true;
    if (auto st = sync_dir(dir); !st) return st;
    return sync_dir(root_ + "/blobs");
  }

 private:
  std::string root_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
  blob_hasher sha_;
};

class local_reader final : public blob_reader {
 public:
  local_reader(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~local_reader() override { ::close(fd_); }
  status read(std::size_t max, std::string& out) override {
    out.resize(max);
    for (;;) {
      ssize_t n = ::read(fd_, out.data(), max);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_status("read blob");
      out.resize(static_cast<std::size_t>(n));
      return status::ok();
    }
  }
  std::uint64_t size() const override { return size_; }

 private:
  int fd_;
  std::uint64_t size_;
};

class local_store final : public blob_store {
 public:
  explicit local_store(std::string root) : root_(std::move(root)) {}

  status create(std::unique_ptr<blob_writer>& out) override {
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) return status::unavailable("no randomness for a temporary name");
    std::string tmp = root_ + "/tmp/" + hex_lower(rnd, sizeof rnd);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno_status("create " + tmp);
    out = std::make_unique<local_writer>(root_, tmp, fd);
    return status::ok();
  }
  status open(std::string_view id, std::unique_ptr<blob_reader>& out) override {
    if (!valid_blob_id(id)) return status::invalid_argument("not a blob id");
    std::string path = path_of(id);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? status::not_found("no such blob") : errno_status("open blob");
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
      ::close(fd);
      return errno_status("stat blob");
    }
    out = std::make_unique<local_reader>(fd, static_cast<std::uint64_t>(sb.st_size));
    return status::ok();
  }
  status remove(std::string_view id) override {
    if (!valid_blob_id(id)) return status::invalid_argument("not a blob id");
    if (::unlink(path_of(id).c_str()) != 0 && errno != ENOENT) return errno_status("remove blob");
    return sync_dir(root_ + "/blobs/" + std::string(id.substr(0, 2)));
  }
  status list(std::size_t max, const std::function<bool(const blob_entry&)>& each) override;
  status remove_temporary(const blob_entry& e) override {
    if (e.path.rfind(root_ + "/tmp/", 0) != 0) return status::invalid_argument("not a temporary file of this store");
    if (::unlink(e.path.c_str()) != 0 && errno != ENOENT) return errno_status("remove temporary");
    return status::ok();
  }

 private:
  std::string path_of(std::string_view id) const {
    return root_ + "/blobs/" + std::string(id.substr(0, 2)) + "/" + std::string(id);
  }
  std::string root_;
};

std::int64_t age_of(const fs::directory_entry& e) {
  struct stat sb {};
  if (::stat(e.path().c_str(), &sb) != 0) return 0;
  return static_cast<std::int64_t>(std::time(nullptr)) - static_cast<std::int64_t>(sb.st_mtime);
}

status local_store::list(std::size_t max, const std::function<bool(const blob_entry&)>& each) {
  std::error_code ec;
  std::size_t n = 0;
  for (const auto& t : fs::directory_iterator(root_ + "/tmp", ec)) {
    if (n++ >= max || !each(blob_entry{"", t.path().string(), age_of(t)})) return status::ok();
  }
  if (ec) return status::io_error("list " + root_ + "/tmp: " + ec.message());
  for (const auto& d : fs::directory_iterator(root_ + "/blobs", ec)) {
    if (!d.is_directory()) continue;
    for (const auto& b : fs::directory_iterator(d.path(), ec)) {
      std::string name = b.path().filename().string();
      if (!valid_blob_id(name)) continue;
      if (n++ >= max || !each(blob_entry{name, b.path().string(), age_of(b)})) return status::ok();
    }
  }
  return ec ? status::io_error("list blobs: " + ec.message()) : status::ok();
}

}  // namespace

blob_hasher::blob_hasher() : ctx_(EVP_MD_CTX_new()) {
  LEDGER_ASSERT(ctx_ != nullptr, "EVP_MD_CTX_new failed");
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

blob_hasher::~blob_hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void blob_hasher::update(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string blob_hasher::finish() {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  return hex_lower(md, len);
}

bool valid_blob_id(std::string_view id) {
  if (id.size() != blob_id_hex_bytes) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::unique_ptr<blob_store> make_local_blob_store(const std::string& root, status& st) {
  std::error_code ec;
  for (const char* sub : {"/tmp", "/blobs"}) {
    fs::create_directories(root + sub, ec);
    if (ec) {
      st = status::io_error("create " + root + sub + ": " + ec.message());
      return nullptr;
    }
  }
  st = status::ok();
  return std::make_unique<local_store>(root);
}

status sweep_orphans(blob_store& store, const std::function<bool(std::string_view id)>& referenced,
                     std::int64_t grace_s, std::size_t max, sweep_report& out) {
  status failed = status::ok();
  auto st = store.list(max, [&](const blob_entry& e) {
    if (e.age_s < grace_s) return true;
    if (e.id.empty()) {
      if (auto s = store.remove_temporary(e); s) ++out.temporaries_removed;
      else failed = s;
      return true;
    }
    ++out.blobs_seen;
    if (referenced(e.id)) return true;
    if (auto s = store.remove(e.id); s) ++out.orphans_removed;
    else failed = s;
    return true;
  });
  return st ? failed : st;
}

}  // namespace ledger::documents
