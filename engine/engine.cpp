#include "engine/engine.h"

#include <chrono>

namespace ledger {

namespace {
constexpr std::size_t recent_samples_max = 1 << 16;
constexpr int take_wait_ms = 50;
}  // namespace

status engine::open(const engine_options& options, std::unique_ptr<engine>& out) {
  LEDGER_ASSERT(options.clk != nullptr, "engine needs a clock");
  LEDGER_ASSERT(options.batch_commands_max > 0 && options.queue_commands_max > 0, "limits must be positive");
  std::unique_ptr<engine> e(new engine());
  e->options_ = options;
  if (auto s = store::open(options.store, e->store_); !s) return s;
  e->machine_ = std::make_unique<machine>(e->store_->writer_kv(),
                                          [st = e->store_.get()](std::uint64_t seq) { return st->writer_event(seq); },
                                          e->store_->head());
  if (auto s = e->store_->load(e->machine_->state()); !s) return s;
  e->committed_ = e->store_->head();
  e->account_count_ = e->machine_->state().account_count();
  if (options.log) {
    e->log_ = options.log;
  } else {
    e->own_log_ = std::make_unique<embedded_log>(*options.clk, options.queue_commands_max);
    e->log_ = e->own_log_.get();
  }
  e->log_->resume_after(e->committed_.input_pos);
  e->writer_ = std::thread([p = e.get()] { p->run(); });
  out = std::move(e);
  return status::ok();
}

engine::~engine() { stop(); }

append_result engine::submit(std::vector<command> commands, completion done) {
  if (failed_.load()) return append_result::closed;
  // A submission is applied within one batch: bound it by the batch size.
  if (commands.size() > options_.batch_commands_max) return append_result::too_large;
  return log_->append(std::move(commands), std::move(done));
}

void engine::stop() {
  if (!log_) return;  // open() failed before the writer started
  if (stopping_.exchange(true)) {
    if (writer_.joinable()) writer_.join();
    return;
  }
  log_->close();
  if (writer_.joinable()) writer_.join();
  committed_cv_.notify_all();
}

ledger_head engine::head() const {
  std::lock_guard lock(mu_);
  return committed_;
}

bool engine::wait_for_seq(std::uint64_t seq, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return committed_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                [&] { return committed_.seq >= seq || failed_.load(); }) &&
         committed_.seq >= seq;
}

engine_stats engine::stats() const {
  std::lock_guard lock(mu_);
  engine_stats s = stats_;
  if (own_log_) s.queue_depth = own_log_->depth();
  return s;
}

status engine::checkpoint(ledger::checkpoint& out) {
  if (auto s = store_->state_digest(out); !s) return s;
  return store_->save_checkpoint(out);
}

void engine::run() {
  std::vector<log_entry> entries;
  for (;;) {
    entries.clear();
    log_->take(entries, options_.batch_commands_max, take_wait_ms);
    if (entries.empty()) {
      if (stopping_.load()) break;
      continue;
    }
    if (failed_.load()) {
      fail_all(entries, status::unavailable("the engine stopped after a store failure"));
      continue;
    }
    process(entries);
  }
}

void engine::fail_all(std::vector<log_entry>& entries, const status& why) {
  for (auto& e : entries) {
    if (!e.done) continue;
    std::vector<outcome> outs(e.commands.size());
    for (auto& o : outs) o.error = why;
    e.done(std::move(outs));
  }
}

void engine::process(std::vector<log_entry>& entries) {
  struct pending_outcome {
    outcome o;
    bool replay = false;
  };
  std::vector<std::vector<pending_outcome>> results(entries.size());
  std::uint64_t events = 0, commands = 0, replays = 0;
  outcome last;
  event_sink sink = [&](const event& e, std::string_view bytes, const hash256& chain) {
    store_->add_event(e.seq, bytes, chain);
    last = outcome_of(e);
    ++events;
  };

  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto& entry = entries[i];
    results[i].resize(entry.commands.size());
    for (std::size_t j = 0; j < entry.commands.size(); ++j) {
      auto r = machine_->execute(entry.commands[j], entry.timestamp_us, entry.first_position + j, sink);
      ++commands;
      if (r.replay) {
        ++replays;
        results[i][j].replay = true;
        results[i][j].o.seq = r.seq;
      } else {
        results[i][j].o = std::move(last);
      }
    }
  }
  machine_->flush();

  std::int64_t t0 = options_.clk->monotonic_ns();
  status s = store_->commit(machine_->head());
  std::int64_t commit_ns = options_.clk->monotonic_ns() - t0;
  if (!s) {
    failed_ = true;
    committed_cv_.notify_all();
    fail_all(entries, status::unavailable("not durable: " + s.message()));
    return;
  }

  // Replays are answered from the journal, now that anything they refer to
  // (even an event of this very batch) is committed.
  for (auto& per_entry : results)
    for (auto& r : per_entry) {
      if (!r.replay) continue;
      journal_entry je;
      event ev;
      status rs = store_->read_event(r.o.seq, je);
      if (rs) rs = decode_event(je.event_bytes, ev);
      if (!rs) {
        r.o.error = rs;
        continue;
      }
      r.o = outcome_of(ev);
      r.o.replay = true;
    }

  {
    std::lock_guard lock(mu_);
    committed_ = machine_->head();
    stats_.batches++;
    stats_.commands += commands;
    stats_.events += events;
    stats_.replays += replays;
    auto commit_us = static_cast<std::uint32_t>(commit_ns / 1000);
    stats_.commit_seconds.observe(double(commit_ns) / 1e9);
    stats_.batch_commands.observe(double(commands));
    if (stats_.commit_us_recent.size() < recent_samples_max) {
      stats_.commit_us_recent.push_back(commit_us);
      stats_.batch_sizes_recent.push_back(static_cast<std::uint32_t>(commands));
    } else {
      stats_.commit_us_recent[recent_next_] = commit_us;
      stats_.batch_sizes_recent[recent_next_] = static_cast<std::uint32_t>(commands);
      recent_next_ = (recent_next_ + 1) % recent_samples_max;
    }
  }
  account_count_ = machine_->state().account_count();
  committed_cv_.notify_all();

  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].done) continue;
    std::vector<outcome> outs;
    outs.reserve(results[i].size());
    for (auto& r : results[i]) outs.push_back(std::move(r.o));
    entries[i].done(std::move(outs));
  }
}

}  // namespace ledger
