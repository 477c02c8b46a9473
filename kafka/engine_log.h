// The commands topic as the engine's command log (the Kafka adapter of
// engine/command_log.h).
//
// Ownership: every engine process joins the consumer group `options.group`
// and subscribes to the commands topic; the one the group assigns the
// ledger's partition is active, the others wait as standbys (cooperative
// rebalancing, so a standby joining does not disturb the active one). A
// standby is warm: it reads the partition outside the group and applies it
// to its own store, answering nobody, keeping recent outcomes to send if it
// takes over. On
// assignment the active engine reads from the position in ITS OWN store
// (head.input_pos), never from the group's committed offset: the consumed
// offset is stored in the same RocksDB batch as the state it produced, so a
// restart resumes exactly once without Kafka commits or transactions.
//
// Fencing: the log's order decides. An engine that becomes active appends a
// claim record to the partition; it answers the records it reads until it
// reads another engine's claim after its own, and stops there (as it does
// when the group revokes or loses its partition). A zombie that wakes up
// after its successor claimed the ledger reads that claim before any later
// command, so it never acts on one; what it decided from earlier records the
// successor decides identically (the engine is deterministic). No offset
// commits, generations or transactions are involved. A fenced engine leaves
// the group; ledgerd exits 75 for a restart as a standby.
//
// Positions: offset * position_stride + index + 1 (kafka/records.h).
// Stamps: the record timestamp (set the commands topic to LogAppendTime so
// the brokers stamp it; the engine never lets time run backwards).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <deque>
#include <optional>

#include "engine/command_log.h"
#include "kafka/client.h"

namespace ledger::kafka {

enum class engine_role { standby, active, fenced };
std::string_view to_string(engine_role r);

struct engine_log_stats {
  engine_role role = engine_role::standby;
  std::uint64_t records = 0;          // consumed
  std::uint64_t bad_records = 0;      // undecodable, answered with an error
  std::uint64_t replies = 0;          // produced
  std::uint64_t reply_failures = 0;   // not delivered (the API times out; retry is safe)
  std::uint64_t assignments = 0;
  std::uint64_t claims = 0;           // claim records appended
  std::uint64_t followed = 0;         // records read as a warm standby
  std::int64_t lag_records = -1;      // records in the partition not yet read (-1: unknown yet)
  std::string fence_reason;
};

struct engine_log_options {
  // Called (on the engine's writer thread) when this engine becomes active,
  // with the offset it reads from; and when it is fenced.
  std::function<void(std::int64_t from_offset)> on_active;
  std::function<void(const std::string& why)> on_fenced;
  int max_poll_interval_ms = 30'000;
  // A warm standby applies the partition while it waits (answering nobody),
  // so a takeover only has the last few records to catch up.
  bool follow = true;
  // Test seam: runs in before_release(), e.g. to hold a batch there.
  std::function<void()> before_release_hook;
};

class engine_log final : public command_log {
 public:
  static status open(const options& o, engine_log_options lo, std::unique_ptr<engine_log>& out);
  ~engine_log() override;

  // The engine process does not append: commands arrive through the topic.
  append_result append(std::vector<command>&&, completion) override { return append_result::closed; }
  void take(std::vector<log_entry>& out, std::size_t max_commands, int wait_ms) override;
  void close() override;
  void resume_after(std::uint64_t position) override;
  status before_release(const ledger_head& head) override;

  engine_role role() const { return role_.load(); }
  engine_log_stats stats() const;

 private:
  engine_log() = default;
  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void fence(const std::string& why);
  // Turns one consumed record into an entry (or answers it with an error).
  std::optional<log_entry> entry_of(rd_kafka_message_t* m, bool standby);
  // One consumed record into `out` (or held, or skipped); false: stop reading.
  bool accept(message& m, bool standby, std::vector<log_entry>& out, std::size_t& taken, std::size_t max_commands);
  void send_unsent();
  void reply(const std::string& to, std::string_view corr, std::vector<outcome>&& outs);
  void append_claim();

  options o_;
  engine_log_options lo_;
  handle consumer_;
  handle producer_;  // replies
  handle follower_;  // a standby's reader of the partition (no group, no commits)
  bool following_ = false;  // writer thread
  std::atomic<engine_role> role_{engine_role::standby};
  std::atomic<bool> closed_{false};
  std::int64_t next_offset_ = 0;  // writer thread (and the rebalance callback, which runs on it)
  std::atomic<std::int64_t> read_offset_{0};  // next_offset_ for other threads (stats)
  std::optional<log_entry> held_;  // taken from the topic, did not fit the last batch
  bool left_group_ = false;        // writer thread
  bool claim_pending_ = false;     // writer thread: active, our claim not yet appended
  bool claimed_ = false;           // writer thread: our claim read back from the log
  std::string claim_id_;

  struct unsent_reply {
    std::int64_t ts_ms;
    std::string to, corr;
    std::vector<outcome> outs;
  };
  static constexpr std::size_t unsent_max = 65'536;

  mutable std::mutex mu_;
  engine_log_stats stats_;  // protected by mu_ (role kept in role_)
  std::deque<unsent_reply> unsent_;  // protected by mu_: outcomes decided as a standby
};

}  // namespace ledger::kafka
