#include "tools/audit/source.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/chain.h"
#include "engine/engine.h"
#include "kafka/event_reader.h"
#include <cstdlib>
#include <limits>

namespace ledger::audit {

namespace {

namespace fs = std::filesystem;

constexpr int follow_poll_ms = 50;

// The secondary instance's own files: a private directory under $TMPDIR,
// removed on close, so the data directory itself is never written.
class private_dir {
 public:
  static status make(std::unique_ptr<private_dir>& out) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/ledgerctl-follower-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return status::io_error("cannot create a directory like " + pattern);
    out.reset(new private_dir(pattern));
    return status::ok();
  }
  ~private_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& str() const { return path_; }

 private:
  explicit private_dir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

class data_dir_source final : public source {
 public:
  data_dir_source(std::string dir, std::unique_ptr<private_dir> follower_dir, std::unique_ptr<store> st)
      : dir_(std::move(dir)), follower_dir_(std::move(follower_dir)), store_(std::move(st)) {}
  ~data_dir_source() override { store_.reset(); }
  status read(std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) override {
    return store_->read_journal(from, max, out);
  }
  status head(ledger_head& out) override {
    if (auto s = store_->catch_up(); !s) return s;
    out = store_->head();
    return status::ok();
  }
  status checkpoints(std::vector<checkpoint>& out) override { return store_->load_checkpoints(out); }
  bool wait_past(std::uint64_t seq, int timeout_ms) override {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      ledger_head h;
      if (head(h) && h.seq > seq) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(follow_poll_ms));
    }
  }
  bool random_access() const override { return true; }
  std::vector<std::pair<std::uint64_t, std::string>> snapshots() const override {
    std::vector<std::pair<std::uint64_t, std::string>> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(dir_) / "snapshots", ec))
      if (auto seq = snapshot_seq_of(e.path().filename().string()); seq != 0) out.emplace_back(seq, e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string ledger_id() const override { return store_->ledger_id(); }
  std::string describe() const override { return "data directory " + dir_; }

 private:
  std::string dir_;
  // Declared before store_ so the follower's files outlive it.
  std::unique_ptr<private_dir> follower_dir_;
  std::unique_ptr<store> store_;
};

class archive_source final : public source {
 public:
  archive_source(std::string path, std::unique_ptr<archive_reader> r) : path_(std::move(path)), reader_(std::move(r)) {}
  status read(std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) override {
    return reader_->read(from, max, out);
  }
  status head(ledger_head& out) override {
    const auto& m = reader_->info();
    out = ledger_head{};
    out.seq = m.last_seq;
    out.log_ts_us = m.last_log_ts_us;
    return status::ok();
  }
  status checkpoints(std::vector<checkpoint>& out) override {
    out = reader_->info().checkpoints;
    return status::ok();
  }
  bool wait_past(std::uint64_t, int) override { return false; }
  bool random_access() const override { return false; }
  archive_reader* archive() override { return reader_.get(); }
  std::string ledger_id() const override { return reader_->info().ledger_id; }
  std::string describe() const override { return "archive " + path_; }

 private:
  std::string path_;
  std::unique_ptr<archive_reader> reader_;
};

class kafka_source final : public source {
 public:
  kafka_source(std::string topic, std::string ledger_id, std::unique_ptr<kafka::event_reader> r)
      : topic_(std::move(topic)), ledger_id_(std::move(ledger_id)), reader_(std::move(r)) {}
  status read(std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) override {
    return reader_->read(from, max, out);
  }
  status head(ledger_head& out) override {
    out = reader_->head();
    return status::ok();
  }
  // The topic carries events only; checkpoints stay in the engine's store.
  status checkpoints(std::vector<checkpoint>& out) override {
    out.clear();
    return status::ok();
  }
  bool wait_past(std::uint64_t seq, int timeout_ms) override { return reader_->wait_for(seq + 1, timeout_ms); }
  bool random_access() const override { return true; }
  std::string ledger_id() const override { return ledger_id_; }
  std::string describe() const override { return "Kafka topic " + topic_; }

 private:
  std::string topic_;
  std::string ledger_id_;
  std::unique_ptr<kafka::event_reader> reader_;
};

class store_source final : public source {
 public:
  store_source(const store& st, std::function<ledger_head()> head, std::string snapshot_dir)
      : st_(st), head_(std::move(head)), snapshot_dir_(std::move(snapshot_dir)) {}
  status read(std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) override {
    std::uint64_t last = head_().seq;
    if (from == 0) from = 1;
    if (from > last) {
      out.clear();
      return status::ok();
    }
    return st_.read_journal(from, static_cast<std::size_t>(std::min<std::uint64_t>(max, last - from + 1)), out);
  }
  status head(ledger_head& out) override {
    out = head_();
    return status::ok();
  }
  status checkpoints(std::vector<checkpoint>& out) override { return st_.load_checkpoints(out); }
  bool wait_past(std::uint64_t, int) override { return false; }
  bool random_access() const override { return true; }
  std::vector<std::pair<std::uint64_t, std::string>> snapshots() const override {
    std::vector<std::pair<std::uint64_t, std::string>> out;
    if (snapshot_dir_.empty()) return out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(snapshot_dir_, ec))
      if (auto seq = snapshot_seq_of(e.path().filename().string()); seq != 0) out.emplace_back(seq, e.path().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string ledger_id() const override { return st_.ledger_id(); }
  std::string describe() const override { return "the running ledger's store"; }

 private:
  const store& st_;
  std::function<ledger_head()> head_;
  std::string snapshot_dir_;
};

// The log time of event `seq` of a random-access source.
status log_time_of(source& src, std::uint64_t seq, std::int64_t& ts_us) {
  std::vector<journal_entry> one;
  if (auto s = src.read(seq, 1, one); !s) return s;
  if (one.empty() || one[0].seq != seq) return status::not_found("event " + std::to_string(seq) + " is not in the journal");
  event e;
  if (auto s = decode_event(one[0].event_bytes, e); !s) return status::corruption("event " + std::to_string(seq) + ": " + s.message());
  ts_us = e.log_ts_us;
  return status::ok();
}

}  // namespace

status open_data_dir(const std::string& data_dir, std::unique_ptr<source>& out) {
  auto path = (fs::path(data_dir) / "ledger").string();
  std::error_code ec;
  if (!fs::exists(fs::path(path) / "CURRENT", ec)) return status::not_found("no ledger in data directory " + data_dir);
  std::unique_ptr<private_dir> follower;
  if (auto s = private_dir::make(follower); !s) return s;
  std::unique_ptr<store> st;
  if (auto s = store::open_follower(path, follower->str(), st); !s) return s;
  out = std::make_unique<data_dir_source>(data_dir, std::move(follower), std::move(st));
  return status::ok();
}

status open_archive(const std::string& path, std::unique_ptr<source>& out) {
  std::unique_ptr<archive_reader> r;
  if (auto s = archive_reader::open(path, r); !s) return s;
  out = std::make_unique<archive_source>(path, std::move(r));
  return status::ok();
}

std::unique_ptr<source> open_store(const store& st, std::function<ledger_head()> head, std::string snapshot_dir) {
  return std::make_unique<store_source>(st, std::move(head), std::move(snapshot_dir));
}

status open_kafka(const std::string& brokers, const std::string& topic, const std::string& ledger_id,
                  const std::vector<std::pair<std::string, std::string>>& extra, std::unique_ptr<source>& out) {
  kafka::options o;
  o.brokers = brokers;
  o.events_topic = topic;
  o.ledger_id = ledger_id;
  o.extra = extra;
  std::unique_ptr<kafka::event_reader> r;
  if (auto s = kafka::event_reader::open(o, r); !s) return s;
  out = std::make_unique<kafka_source>(topic, ledger_id, std::move(r));
  return status::ok();
}

ledger_head genesis_head(const source& src) {
  ledger_head h;
  h.chain = genesis_chain(src.ledger_id());
  return h;
}

status seq_at_or_after(source& src, std::int64_t ts_us, std::uint64_t& out) {
  ledger_head h;
  if (auto s = src.head(h); !s) return s;
  if (!src.random_access()) {
    // Forward scan; the caller reads on from `out`.
    std::vector<journal_entry> batch;
    for (std::uint64_t next = 1;;) {
      if (auto s = src.read(next, 1, batch); !s) return s;
      if (batch.empty()) return (out = h.seq + 1), status::ok();
      event e;
      if (auto s = decode_event(batch[0].event_bytes, e); !s) return s;
      if (e.log_ts_us >= ts_us) return (out = batch[0].seq), status::ok();
      next = batch[0].seq + 1;
    }
  }
  std::uint64_t lo = 1, hi = h.seq + 1;  // answer in [lo, hi]
  while (lo < hi) {
    std::uint64_t mid = lo + (hi - lo) / 2;
    std::int64_t t = 0;
    if (auto s = log_time_of(src, mid, t); !s) return s;
    if (t >= ts_us) hi = mid;
    else lo = mid + 1;
  }
  out = lo;
  return status::ok();
}

status seq_at_or_before(source& src, std::int64_t ts_us, std::uint64_t& out) {
  if (ts_us == std::numeric_limits<std::int64_t>::max()) {
    ledger_head h;
    if (auto s = src.head(h); !s) return s;
    return (out = h.seq), status::ok();
  }
  std::uint64_t after = 0;
  if (auto s = seq_at_or_after(src, ts_us + 1, after); !s) return s;
  out = after - 1;
  return status::ok();
}

}  // namespace ledger::audit
