// Where ledgerctl reads a journal from: a data directory (read-only, beside
// a running ledgerd), an exported archive, or the Kafka events topic.
//
// A data directory is opened as a RocksDB secondary instance whose own files
// live in a private temporary directory, so nothing in the data directory is
// written; refresh() catches up with ledgerd's latest commit. An archive is
// read forward only. The Kafka topic is read through kafka::event_reader.
//
// Thread: one thread uses a source at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/journal_source.h"
#include "tools/audit/archive.h"

namespace ledger::audit {

class source {
 public:
  virtual ~source() = default;
  // Committed events from `from_seq`, at most `max`, in seq order; empty at the end.
  virtual status read(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out) = 0;
  // The last event known now (re-read: a live data directory grows).
  virtual status head(ledger_head& out) = 0;
  // Checkpoints (seq, chain, digest), ascending.
  virtual status checkpoints(std::vector<checkpoint>& out) = 0;
  // Waits up to timeout_ms for events past `seq`; true when there are.
  virtual bool wait_past(std::uint64_t seq, int timeout_ms) = 0;
  // Reads can start anywhere (false: forward only, as in an archive).
  virtual bool random_access() const = 0;
  // Retained snapshots (data directories only): directory of each, by seq.
  virtual std::vector<std::pair<std::uint64_t, std::string>> snapshots() const { return {}; }
  // The ledger id bound into the chain (empty: the zero genesis).
  virtual std::string ledger_id() const = 0;
  // The archive, when the source is one.
  virtual archive_reader* archive() { return nullptr; }
  virtual std::string describe() const = 0;
};

status open_data_dir(const std::string& data_dir, std::unique_ptr<source>& out);
status open_archive(const std::string& path, std::unique_ptr<source>& out);
// The journal of a store this process already has open (ledgerd's engine or
// Kafka replica), up to `head()` (what is released; never a batch past it),
// with the retained snapshots in `snapshot_dir` (empty: none). The store
// and `head` must outlive the source.
std::unique_ptr<source> open_store(const store& st, std::function<ledger_head()> head, std::string snapshot_dir);
// `brokers` host:port list; librdkafka settings in `extra` (e.g. test.mock.*).
status open_kafka(const std::string& brokers, const std::string& topic, const std::string& ledger_id,
                  const std::vector<std::pair<std::string, std::string>>& extra, std::unique_ptr<source>& out);
// Where a fold from the start begins: seq 0 with the source's genesis chain.
ledger_head genesis_head(const source& src);

// The first seq whose log time is at or after `ts_us` (head.seq + 1 when
// none), by binary search on a random-access source, by a forward scan on an
// archive (which then cannot be read again before that seq).
status seq_at_or_after(source& src, std::int64_t ts_us, std::uint64_t& out);
// The last seq whose log time is at or before `ts_us` (0 when none).
status seq_at_or_before(source& src, std::int64_t ts_us, std::uint64_t& out);

}  // namespace ledger::audit
