#include "tests/engine/power_loss_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace ledger::testing {

namespace {

rocksdb::IOStatus injected() { return rocksdb::IOStatus::IOError("power_loss_fs: injected failure"); }

// Counts the bytes it was given and logs each sync that returned.
class tracked_file : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  tracked_file(std::unique_ptr<rocksdb::FSWritableFile>&& target, power_loss_fs& fs, std::string path,
               std::uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), path_(std::move(path)), size_(size) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    auto s = target()->Append(data, options, dbg);
    if (s.ok()) size_ += data.size();
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    auto s = target()->Append(data, options, info, dbg);
    if (s.ok()) size_ += data.size();
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    auto s = target()->PositionedAppend(data, offset, options, dbg);
    if (s.ok()) size_ = std::max<std::uint64_t>(size_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    auto s = target()->PositionedAppend(data, offset, options, info, dbg);
    if (s.ok()) size_ = std::max<std::uint64_t>(size_, offset + data.size());
    return s;
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    auto s = target()->Truncate(size, options, dbg);
    if (s.ok()) {
      size_ = size;
      fs_.log_line("trunc\t" + path_ + "\t" + std::to_string(size));
    }
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    return synced(target()->Sync(options, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (fs_.should_fail()) return injected();
    return synced(target()->Fsync(options, dbg));
  }

 private:
  rocksdb::IOStatus synced(rocksdb::IOStatus s) {
    if (s.ok()) fs_.log_line("sync\t" + path_ + "\t" + std::to_string(size_));
    return s;
  }

  power_loss_fs& fs_;
  std::string path_;
  std::uint64_t size_;
};

std::uint64_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

}  // namespace

power_loss_fs::power_loss_fs(const std::string& side_log) : FileSystemWrapper(rocksdb::FileSystem::Default()) {
  fd_ = ::open(side_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("power_loss_fs: cannot open " + side_log);
}

power_loss_fs::~power_loss_fs() {
  if (fd_ >= 0) ::close(fd_);
}

void power_loss_fs::log_line(const std::string& line) {
  std::string l = line + "\n";
  // One write(2) per line on O_APPEND: lines from several threads never mix.
  if (::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::abort();
}

void power_loss_fs::fail_after(std::uint64_t n) {
  failed_ = false;
  countdown_ = n;
}

bool power_loss_fs::should_fail() {
  if (failed_.load()) return true;
  auto left = countdown_.load();
  while (left > 0) {
    if (countdown_.compare_exchange_weak(left, left - 1)) {
      if (left == 1) {
        failed_ = true;
        return true;
      }
      return false;
    }
  }
  return false;
}

rocksdb::IOStatus power_loss_fs::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 rocksdb::IODebugContext* dbg) {
  if (should_fail()) return injected();
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->NewWritableFile(fname, options, &file, dbg);
  if (!s.ok()) return s;
  log_line("create\t" + fname);
  *result = std::make_unique<tracked_file>(std::move(file), *this, fname, 0);
  return s;
}

rocksdb::IOStatus power_loss_fs::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                    rocksdb::IODebugContext* dbg) {
  if (should_fail()) return injected();
  std::uint64_t size = file_size_or_zero(fname);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReopenWritableFile(fname, options, &file, dbg);
  if (!s.ok()) return s;
  log_line("reopen\t" + fname + "\t" + std::to_string(size));
  *result = std::make_unique<tracked_file>(std::move(file), *this, fname, size);
  return s;
}

rocksdb::IOStatus power_loss_fs::ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                                   const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  if (should_fail()) return injected();
  std::unique_ptr<rocksdb::FSWritableFile> file;
  auto s = target()->ReuseWritableFile(fname, old_fname, options, &file, dbg);
  if (!s.ok()) return s;
  log_line("rename\t" + old_fname + "\t" + fname);
  log_line("create\t" + fname);
  *result = std::make_unique<tracked_file>(std::move(file), *this, fname, 0);
  return s;
}

rocksdb::IOStatus power_loss_fs::RenameFile(const std::string& src, const std::string& target_name,
                                            const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  if (should_fail()) return injected();
  auto s = target()->RenameFile(src, target_name, options, dbg);
  if (s.ok()) log_line("rename\t" + src + "\t" + target_name);
  return s;
}

rocksdb::IOStatus power_loss_fs::DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                                            rocksdb::IODebugContext* dbg) {
  if (should_fail()) return injected();
  auto s = target()->DeleteFile(fname, options, dbg);
  if (s.ok()) log_line("delete\t" + fname);
  return s;
}

rocksdb::IOStatus power_loss_fs::Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& options,
                                          rocksdb::IODebugContext* dbg) {
  if (should_fail()) return injected();
  auto s = target()->Truncate(fname, size, options, dbg);
  if (s.ok()) log_line("trunc\t" + fname + "\t" + std::to_string(size));
  return s;
}

std::uint64_t drop_unsynced_writes(const std::string& side_log) {
  std::map<std::string, std::uint64_t> synced;
  std::ifstream in(side_log);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string op, a, b;
    std::getline(fields, op, '\t');
    std::getline(fields, a, '\t');
    std::getline(fields, b, '\t');
    if (op == "create") {
      synced[a] = 0;
    } else if (op == "reopen") {
      synced.try_emplace(a, std::stoull(b));  // content from before this log counts as synced
    } else if (op == "sync") {
      synced[a] = std::stoull(b);
    } else if (op == "trunc") {
      if (auto it = synced.find(a); it != synced.end()) it->second = std::min<std::uint64_t>(it->second, std::stoull(b));
    } else if (op == "rename") {
      auto it = synced.find(a);
      if (it != synced.end()) {
        synced[b] = it->second;
        synced.erase(a);
      } else {
        synced.erase(b);
      }
    } else if (op == "delete") {
      synced.erase(a);
    }
  }
  in.close();
  std::uint64_t dropped = 0;
  for (const auto& [path, length] : synced) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec || size <= length) continue;
    std::filesystem::resize_file(path, length);
    dropped += size - length;
  }
  std::filesystem::remove(side_log);
  return dropped;
}

}  // namespace ledger::testing
