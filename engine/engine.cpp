#include "engine/engine.h"

#include "engine/journal_source.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>

namespace ledger {

namespace {
constexpr std::size_t recent_samples_max = 1 << 16;
constexpr int take_wait_ms = 50;
}  // namespace

status engine::open(const engine_options& options, std::unique_ptr<engine>& out) {
  LEDGER_ASSERT(options.clk != nullptr, "engine needs a clock");
  LEDGER_ASSERT(options.batch_commands_max > 0 && options.queue_commands_max > 0, "limits must be positive");
  LEDGER_ASSERT(options.batch_events_max > command_events_max && options.batch_bytes_max > 0,
                "a batch must hold at least one command's events");
  std::unique_ptr<engine> e(new engine());
  e->options_ = options;
  if (auto s = store::open(options.store, e->store_); !s) return s;
  e->machine_ = std::make_unique<machine>(e->store_->writer_kv(),
                                          [st = e->store_.get()](std::uint64_t seq) { return st->writer_event(seq); },
                                          e->store_->head());
  if (auto s = e->store_->load(e->machine_->state()); !s) return s;
  e->committed_ = e->store_->head();
  e->store_->hold_reads_for_release();
  if (options.snapshot_every_events > 0)
    e->next_snapshot_seq_ = (e->committed_.seq / options.snapshot_every_events + 1) * options.snapshot_every_events;
  e->account_count_ = e->machine_->state().account_count();
  e->session_count_ = e->machine_->state().session_count();
  e->challenge_count_ = e->machine_->state().challenge_count();
  if (options.log) {
    e->log_ = options.log;
  } else {
    e->own_log_ = std::make_unique<embedded_log>(*options.clk, options.queue_commands_max);
    e->log_ = e->own_log_.get();
  }
  e->log_->resume_after(e->committed_.input_pos);
  e->committer_ = std::thread([p = e.get()] { p->run_committer(); });
  if (options.snapshot_every_events > 0 && !options.snapshot_dir.empty())
    e->snapshotter_ = std::thread([p = e.get()] { p->run_snapshotter(); });
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
  if (stop_called_.exchange(true)) {
    if (writer_.joinable()) writer_.join();
    if (committer_.joinable()) committer_.join();
    return;
  }
  // Close first, then say so: an append that succeeded did so before the
  // close, so the writer, which drains the log once more after it sees
  // stopping_, cannot miss it (and its completion) any more.
  log_->close();
  stopping_ = true;
  if (writer_.joinable()) writer_.join();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard lock(snapshot_mu_);
    snapshot_stop_ = true;
    snapshot_cv_.notify_all();
  }
  if (snapshotter_.joinable()) snapshotter_.join();
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

void engine::set_failure(status why) {
  {
    std::lock_guard lock(mu_);
    if (failure_.is_ok()) failure_ = std::move(why);
  }
  failed_ = true;
  committed_cv_.notify_all();
}

status engine::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
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
  for (;;) {
    auto job = std::make_unique<batch_job>();
    if (!carry_.empty()) {
      job->entries = std::move(carry_);
      carry_.clear();
    } else {
      log_->take(job->entries, options_.batch_commands_max, take_wait_ms);
    }
    if (job->entries.empty()) {
      if (!stopping_.load()) continue;
      // The log was closed before stopping_ was set: this take sees every
      // submission that was ever accepted.
      log_->take(job->entries, options_.batch_commands_max, 0);
      if (job->entries.empty()) break;
    }
    if (failed_.load()) {
      fail_all(job->entries, status::unavailable("the engine stopped: " + failure().message()));
      continue;
    }
    execute(*job);
    // One batch in flight at most: the previous must be written (and its
    // overlay dropped) before this one is sealed.
    wait_committer_idle();
    if (failed_.load()) {
      fail_all(job->entries, status::unavailable("the engine stopped: " + failure().message()));
      continue;
    }
    store_->drop_sealed();
    store_->seal(job->head);
    if (job->commands < options_.pipeline_commands_min) {
      // A small batch's commit is the fsync, not CPU: handing it to another
      // thread would only add a wake-up to every request's latency.
      commit(*job);
      store_->drop_sealed();
      continue;
    }
    {
      std::lock_guard lock(job_mu_);
      job_ = std::move(job);
      committer_busy_ = true;
    }
    job_cv_.notify_all();
  }
  wait_committer_idle();
  {
    std::lock_guard lock(job_mu_);
    committer_stop_ = true;
  }
  job_cv_.notify_all();
}

void engine::wait_committer_idle() {
  std::unique_lock lock(job_mu_);
  job_cv_.wait(lock, [&] { return !committer_busy_; });
}

void engine::fail_all(std::vector<log_entry>& entries, const status& why) {
  for (auto& e : entries) {
    if (!e.done) continue;
    std::vector<outcome> outs(e.commands.size());
    for (auto& o : outs) o.error = why;
    e.done(std::move(outs));
  }
}

void engine::execute(batch_job& job) {
  job.outcomes.resize(job.entries.size());
  job.replays.resize(job.entries.size());
  outcome last;
  event_sink sink = [&](const event& e, std::string_view bytes, const hash256& chain) {
    store_->add_event(e.seq, bytes, chain);
    last = outcome_of(e);
    ++job.events;
    job.event_bytes += bytes.size() + 36;  // as in the journal record
  };
  // Most commands carry a key never used before: reading all of the
  // batch's idempotency records in one MultiGet spares each command its own
  // RocksDB Get (and the miss's walk through memtables and filters).
  prefetch_keys_.clear();
  for (const auto& entry : job.entries)
    for (const auto& c : entry.commands)
      if (!c.idempotency_key.empty()) prefetch_keys_.push_back(keys::idempotency(c.principal, c.idempotency_key));
  store_->prefetch_state(prefetch_keys_);
  for (std::size_t i = 0; i < job.entries.size(); ++i) {
    auto& entry = job.entries[i];
    job.outcomes[i].resize(entry.commands.size());
    job.replays[i].resize(entry.commands.size());
    for (std::size_t j = 0; j < entry.commands.size(); ++j) {
      if (job.commands > 0 && batch_full(job)) {
        split_at(job, i, j);
        break;
      }
      auto r = machine_->execute(entry.commands[j], entry.timestamp_us, entry.first_position + j, sink);
      ++job.commands;
      if (r.replay) {
        ++job.replay_count;
        job.replays[i][j] = true;
        job.outcomes[i][j].seq = r.seq;
      } else {
        job.outcomes[i][j] = std::move(last);
      }
    }
  }
  machine_->flush();
  job.head = machine_->head();
  account_count_ = machine_->state().account_count();
  session_count_ = machine_->state().session_count();
  challenge_count_ = machine_->state().challenge_count();
}

bool engine::batch_full(const batch_job& job) const {
  return job.events + command_events_max > options_.batch_events_max ||
         job.event_bytes >= options_.batch_bytes_max;
}

namespace {
// The completion of a submission split across batches: each part fills its
// slice and the caller's completion runs once, when the last part has.
struct split_outcomes {
  completion done;
  std::vector<outcome> outs;
  std::size_t parts_left = 2;
};
completion part_of(std::shared_ptr<split_outcomes> acc, std::size_t offset) {
  return [acc = std::move(acc), offset](std::vector<outcome>&& outs) {
    for (std::size_t k = 0; k < outs.size(); ++k) acc->outs[offset + k] = std::move(outs[k]);
    if (--acc->parts_left == 0 && acc->done) acc->done(std::move(acc->outs));
  };
}
}  // namespace

void engine::split_at(batch_job& job, std::size_t i, std::size_t j) {
  std::size_t first_whole = i;
  if (j > 0) {
    // Entry i is cut in two: commands [0, j) stay in this batch.
    auto& entry = job.entries[i];
    log_entry rest;
    rest.first_position = entry.first_position + j;
    rest.timestamp_us = entry.timestamp_us;
    rest.commands.assign(std::make_move_iterator(entry.commands.begin() + static_cast<std::ptrdiff_t>(j)),
                         std::make_move_iterator(entry.commands.end()));
    auto acc = std::make_shared<split_outcomes>();
    acc->outs.resize(entry.commands.size());
    acc->done = std::move(entry.done);
    entry.commands.resize(j);
    entry.done = part_of(acc, 0);
    rest.done = part_of(acc, j);
    job.outcomes[i].resize(j);
    job.replays[i].resize(j);
    carry_.push_back(std::move(rest));
    first_whole = i + 1;
  }
  for (std::size_t k = first_whole; k < job.entries.size(); ++k) carry_.push_back(std::move(job.entries[k]));
  job.entries.resize(first_whole);
  job.outcomes.resize(first_whole);
  job.replays.resize(first_whole);
}

void engine::run_committer() {
  for (;;) {
    std::unique_ptr<batch_job> job;
    {
      std::unique_lock lock(job_mu_);
      job_cv_.wait(lock, [&] { return job_ != nullptr || committer_stop_; });
      if (!job_) return;
      job = std::move(job_);
    }
    commit(*job);
    {
      std::lock_guard lock(job_mu_);
      committer_busy_ = false;
    }
    job_cv_.notify_all();
  }
}

void engine::commit(batch_job& job) {
  std::int64_t t0 = options_.clk->monotonic_ns();
  status s = store_->commit_sealed();
  std::int64_t commit_ns = options_.clk->monotonic_ns() - t0;
  if (!s) {
    set_failure(status::unavailable("not durable: " + s.message()));
    fail_all(job.entries, failure());
    return;
  }
  if (auto gate = log_->before_release(job.head); !gate) {
    // Fenced: the batch is in this store, but another writer owns the log
    // now and will decide these commands itself. Answer nothing.
    set_failure(gate);
    return;
  }

  // Released: readers (the API, checkpoints) may see this batch now.
  store_->publish();

  // Replays are answered from the journal, now that anything they refer to
  // (even an event of this very batch) is committed.
  for (std::size_t i = 0; i < job.entries.size(); ++i)
    for (std::size_t j = 0; j < job.outcomes[i].size(); ++j) {
      if (!job.replays[i][j]) continue;
      auto& o = job.outcomes[i][j];
      journal_entry je;
      event ev;
      status rs = store_->read_event(o.seq, je);
      if (rs) rs = decode_event(je.event_bytes, ev);
      if (!rs) {
        o.error = rs;
        continue;
      }
      o = outcome_of(ev);
      o.replay = true;
    }

  {
    std::lock_guard lock(mu_);
    committed_ = job.head;
    stats_.batches++;
    stats_.commands += job.commands;
    stats_.events += job.events;
    stats_.replays += job.replay_count;
    auto commit_us = static_cast<std::uint32_t>(commit_ns / 1000);
    stats_.commit_seconds.observe(double(commit_ns) / 1e9);
    stats_.batch_commands.observe(double(job.commands));
    if (stats_.commit_us_recent.size() < recent_samples_max) {
      stats_.commit_us_recent.push_back(commit_us);
      stats_.batch_sizes_recent.push_back(static_cast<std::uint32_t>(job.commands));
    } else {
      stats_.commit_us_recent[recent_next_] = commit_us;
      stats_.batch_sizes_recent[recent_next_] = static_cast<std::uint32_t>(job.commands);
      recent_next_ = (recent_next_ + 1) % recent_samples_max;
    }
  }
  committed_cv_.notify_all();

  for (std::size_t i = 0; i < job.entries.size(); ++i)
    if (job.entries[i].done) job.entries[i].done(std::move(job.outcomes[i]));
  maybe_snapshot(job.head.seq);
}

std::string snapshot_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return "seq-" + std::string(20 - digits.size(), '0') + digits;
}

std::uint64_t snapshot_seq_of(std::string_view name) {
  if (name.size() != 24 || name.substr(0, 4) != "seq-") return 0;
  std::uint64_t v = 0;
  for (char c : name.substr(4)) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + std::uint64_t(c - '0');
  }
  return v;
}

void engine::maybe_snapshot(std::uint64_t seq) {
  const auto every = options_.snapshot_every_events;
  if (every == 0 || options_.snapshot_dir.empty() || seq < next_snapshot_seq_) return;
  next_snapshot_seq_ = (seq / every + 1) * every;
  std::lock_guard lock(snapshot_mu_);
  snapshot_wanted_ = true;
  snapshot_cv_.notify_all();
}

void engine::run_snapshotter() {
  for (;;) {
    {
      std::unique_lock lock(snapshot_mu_);
      snapshot_cv_.wait(lock, [&] { return snapshot_wanted_ || snapshot_stop_; });
      if (snapshot_stop_) return;
      snapshot_wanted_ = false;
    }
    auto s = write_snapshot();
    std::lock_guard lock(mu_);
    (s ? stats_.snapshots : stats_.snapshot_failures)++;
  }
}

status engine::write_snapshot() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options_.snapshot_dir, ec);
  // Written under a temporary name, then renamed after the head it holds,
  // so a reader never sees a half-written snapshot under a final name.
  auto tmp = fs::path(options_.snapshot_dir) / "tmp-snapshot";
  fs::remove_all(tmp, ec);
  auto s = store_->create_snapshot(tmp.string());
  std::unique_ptr<store> copy;
  ledger::checkpoint cp;
  if (s) s = store::open_read_only(tmp.string(), copy);
  if (s) s = copy->state_digest(cp);
  if (s) s = store_->save_checkpoint(cp);
  copy.reset();
  if (s) {
    fs::rename(tmp, fs::path(options_.snapshot_dir) / snapshot_name(cp.seq), ec);
    if (ec) s = status::io_error("renaming a snapshot: " + ec.message());
  }
  if (!s) {
    fs::remove_all(tmp, ec);
    return s;
  }
  std::vector<std::uint64_t> seqs;
  for (const auto& entry : fs::directory_iterator(options_.snapshot_dir, ec))
    if (auto seq = snapshot_seq_of(entry.path().filename().string()); seq != 0) seqs.push_back(seq);
  std::sort(seqs.begin(), seqs.end());
  for (auto seq : snapshots_to_remove(seqs, options_.snapshots_retained_max, options_.snapshot_keep_every_events))
    fs::remove_all(fs::path(options_.snapshot_dir) / snapshot_name(seq), ec);
  return status::ok();
}

std::vector<std::uint64_t> snapshots_to_remove(const std::vector<std::uint64_t>& seqs, std::size_t retained_max,
                                               std::uint64_t keep_every) {
  std::vector<std::uint64_t> out;
  if (retained_max == 0 || seqs.size() <= retained_max) return out;
  const std::size_t older = seqs.size() - retained_max;
  // The oldest snapshot of each stride stays: it bounds the distance from
  // any later point in that stride (and the start of the next) to a kept
  // snapshot, whatever the spacing the snapshotter achieved.
  std::uint64_t last_stride_kept = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t i = 0; i < older; ++i) {
    if (keep_every != 0 && seqs[i] / keep_every != last_stride_kept) {
      last_stride_kept = seqs[i] / keep_every;
      continue;
    }
    out.push_back(seqs[i]);
  }
  return out;
}

journal_source engine_journal(engine& e) {
  return journal_source{
      [&e](std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) {
        // Only what the engine released: a batch in the store whose release
        // was refused (a fenced engine) must not be read as committed.
        std::uint64_t head = e.head().seq;
        if (from == 0) from = 1;
        if (from > head) {
          out.clear();
          return status::ok();
        }
        return e.storage().read_journal(from, std::min<std::uint64_t>(max, head - from + 1), out);
      },
      [&e](std::uint64_t seq, int timeout_ms) { return e.wait_for_seq(seq, timeout_ms); },
      [&e] { return e.head(); }, e.storage().genesis()};
}

}  // namespace ledger
