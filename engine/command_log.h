// The command log: the one ordered input of the engine.
//
// Producers append commands; the engine's writer takes them in order. Each
// appended command gets a position (gap-free, increasing) and a log time
// stamp. The embedded log below keeps commands in a bounded in-memory queue
// between the API and the writer: a command is durable once the writer has
// committed its event, and only then is its completion called. The Kafka
// adapter implements the same interface on a topic (positions are offsets,
// stamps the record timestamps).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "engine/clock.h"
#include "engine/machine.h"
#include "engine/outcome.h"

namespace ledger {

// Called once per appended submission, on the writer thread, after the batch
// holding its events is durable (or with an operating error). Must not block.
using completion = std::function<void(std::vector<outcome>&&)>;

struct log_entry {
  std::uint64_t first_position = 0;  // position of commands[0]; the rest follow
  std::int64_t timestamp_us = 0;
  std::vector<command> commands;
  completion done;  // may be empty (commands read back from a shared log)
};

enum class append_result { ok, full, too_large, closed };

class command_log {
 public:
  virtual ~command_log() = default;
  // Any thread. Never blocks: a full log answers `full`.
  virtual append_result append(std::vector<command>&& commands, completion done) = 0;
  // Writer thread. Moves entries holding up to about `max_commands` commands
  // into `out` (whole entries), waiting up to `wait_ms` for the first one.
  virtual void take(std::vector<log_entry>& out, std::size_t max_commands, int wait_ms) = 0;
  // Stops accepting appends; take() still drains what was accepted.
  virtual void close() = 0;
  // Tells the log where the engine resumed, so positions continue after it.
  virtual void resume_after(std::uint64_t position) = 0;
  // Called after a batch is durable and before any of its completions: the
  // log may refuse the release (a Kafka engine that lost its partition to
  // another is fenced). On an error the engine calls no completion of the
  // batch and stops: nothing it decided from then on leaves the process.
  // `head` is the committed head (its input_pos the batch's last position).
  virtual status before_release(const ledger_head& head) {
    (void)head;
    return status::ok();
  }
};

// Bounded, in-process command log. Thread-safe.
class embedded_log final : public command_log {
 public:
  embedded_log(clock& clk, std::size_t capacity_commands) : clock_(clk), capacity_(capacity_commands) {}

  append_result append(std::vector<command>&& commands, completion done) override;
  void take(std::vector<log_entry>& out, std::size_t max_commands, int wait_ms) override;
  void close() override;
  void resume_after(std::uint64_t position) override;
  std::size_t depth() const;

 private:
  clock& clock_;
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Protected by mu_.
  std::deque<log_entry> queue_;
  std::size_t queued_commands_ = 0;
  std::uint64_t next_position_ = 1;
  std::int64_t last_stamp_us_ = 0;
  bool closed_ = false;
};

}  // namespace ledger
