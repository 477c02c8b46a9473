// The audit archive: a portable, signed copy of a ledger's journal.
//
// Format (docs/auditors.md): a POSIX tar (pax) stream compressed with zstd,
// written and read with libarchive (which compresses through libzstd). Its
// members, in this order:
//   manifest.json            the manifest (below), UTF-8 JSON
//   manifest.sig             the Ed25519 signature of manifest.json's bytes (64 bytes)
//   journal/<20-digit seq>   journal segments: the store's journal batch record
//                            (engine/store.h) of up to segment_events_max events,
//                            starting at that seq, in seq order
// The manifest names the ledger (ledger_id: the id bound into the chain's
// genesis, engine/chain.h; empty for a ledger created without one), the
// first and last seq, the chain hash of the last event, the checkpoints
// (seq, chain, state digest) known up to the last seq, and the signer's
// public key. The chain ties every event to the signed chain head, so the
// signature covers the whole journal.
//
// Limits: a member may hold at most member_bytes_max bytes; a manifest at
// most manifest_bytes_max, with at most checkpoints_max checkpoints.
// Thread: an archive_writer or archive_reader is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/store.h"

namespace ledger::audit {

inline constexpr std::size_t segment_events_max = 4096;
inline constexpr std::size_t member_bytes_max = 256u << 20;
inline constexpr std::size_t manifest_bytes_max = 4u << 20;
inline constexpr std::size_t checkpoints_max = 10'000;
inline constexpr int archive_format_version = 1;

struct manifest {
  int version = archive_format_version;
  std::string ledger_id;  // the predecessor of seq 1 is genesis_chain(ledger_id)
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::string chain_head;       // hex chain hash of last_seq
  std::int64_t last_log_ts_us = 0;
  std::vector<checkpoint> checkpoints;
  std::string public_key;  // hex raw Ed25519 public key of the signer
};

// "journal/" and the 20-digit first seq of a segment.
std::string segment_name(std::uint64_t first_seq);

std::string encode_manifest(const manifest& m);
status decode_manifest(std::string_view json, manifest& out);

class archive_writer {
 public:
  // Creates `path` (through a temporary file renamed by finish()).
  static status open(const std::string& path, std::unique_ptr<archive_writer>& out);
  ~archive_writer();
  archive_writer(const archive_writer&) = delete;
  archive_writer& operator=(const archive_writer&) = delete;
  status add(const std::string& name, std::string_view bytes);
  // Closes the stream and moves the archive into place.
  status finish();

 private:
  archive_writer() = default;
  void* a_ = nullptr;  // struct archive*
  std::string path_, tmp_;
  bool finished_ = false;
};

class archive_reader {
 public:
  // Opens `path` and reads the manifest and its signature (not verified).
  static status open(const std::string& path, std::unique_ptr<archive_reader>& out);
  ~archive_reader();
  archive_reader(const archive_reader&) = delete;
  archive_reader& operator=(const archive_reader&) = delete;

  const manifest& info() const { return manifest_; }
  const std::string& manifest_bytes() const { return manifest_bytes_; }
  const std::string& signature() const { return signature_; }

  // Events from `from_seq`, at most `max`, forward only: a from_seq below
  // what was already returned is invalid_argument. Empty at the end. A
  // damaged or truncated stream is `corruption`, naming the seq it reached.
  status read(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out);

 private:
  archive_reader() = default;
  // Reads the next member; false at the end of the archive.
  status next_member(std::string& name, std::string& bytes, bool& found);
  status next_segment();
  void* a_ = nullptr;  // struct archive*
  manifest manifest_;
  std::string manifest_bytes_, signature_;
  std::vector<journal_entry> segment_;
  std::size_t segment_pos_ = 0;
  std::uint64_t next_seq_ = 1;  // the seq the next event read should have
  bool ended_ = false;
};

}  // namespace ledger::audit
