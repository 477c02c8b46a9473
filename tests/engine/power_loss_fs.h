// A RocksDB file system for crash tests that makes kill -9 behave like a
// power loss.
//
// kill -9 keeps the page cache: every write() the process made survives it,
// synced or not, so a test that only kills the process never sees a store
// lose what it did not sync. This wrapper records, in a side log next to the
// data, how many bytes of each file were synced (Sync/Fsync returned), which
// files were created, renamed and deleted. After the kill,
// drop_unsynced_writes() reads that log and truncates every file to its last
// synced length, as a power loss would leave it. RangeSync (sync_file_range)
// is not counted: it makes no data durable with its metadata.
//
// The side log is written with plain write(2) on an O_APPEND descriptor, one
// line per operation, after the operation returned: it survives the kill as
// the page cache does, and an operation whose line is missing is treated as
// not done (a sync that never returned may be lost; that is a legal power
// loss outcome).
//
// The same file system can also fail in process: fail_after(n) makes the
// n-th write, sync, rename or delete from now on (and every one after) fail
// with an I/O error without touching the disk, so a seeded simulation can
// stop the store at any point of a batch, close it, drop unsynced writes and
// reopen.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <rocksdb/file_system.h>

namespace ledger::testing {

class power_loss_fs : public rocksdb::FileSystemWrapper {
 public:
  // `side_log` is created or appended to.
  explicit power_loss_fs(const std::string& side_log);
  ~power_loss_fs() override;

  const char* Name() const override { return "power_loss_fs"; }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;

  // In-process faults: the n-th mutating operation from now on fails, and
  // every one after it (n >= 1). 0 disarms.
  void fail_after(std::uint64_t n);
  bool failed() const { return failed_.load(); }

  // Used by the files it hands out.
  bool should_fail();
  void log_line(const std::string& line);

 private:
  int fd_ = -1;
  std::atomic<std::uint64_t> countdown_{0};
  std::atomic<bool> failed_{false};
};

// After the writer was killed: truncates every file the side log names to
// its last synced length (0 for a file created and never synced) and removes
// the side log. Returns how many bytes were dropped in all.
std::uint64_t drop_unsynced_writes(const std::string& side_log);

}  // namespace ledger::testing
