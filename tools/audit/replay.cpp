#include "tools/audit/replay.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iterator>
#include <mutex>
#include <thread>

#include "engine/chain.h"
#include "engine/rebuild.h"

namespace ledger::audit {

namespace {

constexpr std::size_t walk_page_records = 65'536;

status at_seq(std::uint64_t seq, const std::string& what) {
  return status::corruption("seq " + std::to_string(seq) + ": " + what);
}

}  // namespace

// The reading half: reads, checks order and chain, decodes, hands over.
class event_stream::impl {
 public:
  impl(source& src, const ledger_head& start, std::uint64_t seq_max, bool check_chain)
      : src_(src), next_(start.seq + 1), prev_(start.chain), seq_max_(seq_max), check_chain_(check_chain) {}

  void run() {
    std::vector<journal_entry> raw;
    while (next_ <= seq_max_) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(fold_batch_events, seq_max_ - next_ + 1));
      if (status s = src_.read(next_, n, raw); !s) return finish(at_seq(next_, s.message()));
      if (raw.empty()) break;
      std::vector<decoded_event> batch = recycled();
      status bad = check(raw, batch);
      if (!push(std::move(batch)) || !bad) return finish(bad);
    }
    finish(status::ok());
  }

  // `out` holds the caller's finished batch: it goes back to the reader,
  // which decodes the next batches over it rather than allocating anew.
  bool pop(std::vector<decoded_event>& out) {
    std::unique_lock lock(mu_);
    if (!out.empty() && free_.size() < fold_queue_batches) free_.push_back(std::move(out));
    out.clear();
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return true;
  }
  void stop() {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  status error() {
    std::lock_guard lock(mu_);
    return error_;
  }
  std::thread thread;

 private:
  // A batch the caller gave back, or a new one.
  std::vector<decoded_event> recycled() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return {};
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  // Checks and decodes into `out` (over the events it holds); stops at the
  // first bad event, `out` then holding the good ones before it.
  status check(const std::vector<journal_entry>& raw, std::vector<decoded_event>& out) {
    out.resize(raw.size());
    std::size_t good = 0;
    status s = check_into(raw, out, good);
    out.resize(good);
    return s;
  }
  status check_into(const std::vector<journal_entry>& raw, std::vector<decoded_event>& out, std::size_t& good) {
    for (const auto& je : raw) {
      if (je.seq != next_)
        return at_seq(next_, "missing: the journal goes on at seq " + std::to_string(je.seq) + " (deleted or reordered events)");
      if (check_chain_ && chain_next(prev_, je.event_bytes) != je.chain)
        return at_seq(next_, "chain hash mismatch: the event, its chain hash or its predecessor was altered");
      decoded_event& d = out[good];
      if (auto s = decode_event(je.event_bytes, d.e); !s) return at_seq(next_, "the event does not decode: " + s.message());
      if (d.e.seq != je.seq) return at_seq(next_, "the event carries seq " + std::to_string(d.e.seq));
      d.chain = je.chain;
      ++good;
      prev_ = je.chain;
      ++next_;
    }
    return status::ok();
  }
  bool push(std::vector<decoded_event>&& batch) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < fold_queue_batches || stop_; });
    if (stop_) return false;
    if (!batch.empty()) queue_.push_back(std::move(batch));
    cv_.notify_all();
    return true;
  }
  void finish(status s) {
    std::lock_guard lock(mu_);
    if (error_.is_ok()) error_ = std::move(s);
    done_ = true;
    cv_.notify_all();
  }

  source& src_;
  std::uint64_t next_;
  hash256 prev_;
  std::uint64_t seq_max_;
  bool check_chain_;
  // Protected by mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<decoded_event>> queue_;
  std::vector<std::vector<decoded_event>> free_;  // batches given back, for reuse
  bool done_ = false, stop_ = false;
  status error_;
};

namespace {

// Applies one checked event; `stop` when it lies past the time bound.
status apply_entry(ledger_state& state, const decoded_event& d, const fold_bound& bound, const fold_hook& hook,
                   fold_result& out, bool& stop) {
  const event& e = d.e;
  if (e.log_ts_us > bound.log_ts_max_us) {
    stop = true;
    return status::ok();
  }
  if (out.head.seq != 0 && e.log_ts_us < out.head.log_ts_us) return at_seq(e.seq, "log time goes backwards");
  if (auto s = check_event(state, e); !s) return at_seq(e.seq, s.message());
  state.apply(e);
  out.head = ledger_head{e.seq, d.chain, e.log_ts_us, e.input_pos};
  ++out.events;
  if (hook) return hook(e, d.chain);
  return status::ok();
}

}  // namespace

std::optional<std::string> hash_kv::get(std::string_view key) {
  const record* r = map_.find(key);
  if (!r || !r->live) return std::nullopt;
  return std::string(r->value_view());
}

void hash_kv::put(std::string_view key, std::string_view value) {
  auto [r, created] = map_.insert(key);
  if (created) added_.push_back(r);
  map_.set(*r, value);  // a rewritten record reuses its buffer: most puts rewrite one
}

void hash_kv::del(std::string_view key) {
  if (record* r = map_.find(key)) map_.kill(*r);
}

void hash_kv::sort_added() {
  auto by_key = [](const record* a, const record* b) { return a->key < b->key; };
  std::sort(added_.begin(), added_.end(), by_key);
  std::vector<const record*> merged;
  merged.reserve(sorted_.size() + added_.size());
  std::merge(sorted_.begin(), sorted_.end(), added_.begin(), added_.end(), std::back_inserter(merged), by_key);
  sorted_ = std::move(merged);
  added_.clear();
}

void hash_kv::walk(const std::function<void(std::string_view, std::string_view)>& fn) {
  if (!added_.empty()) sort_added();
  for (const record* r : sorted_)
    if (r->live) fn(r->key, r->value_view());
}

std::optional<std::string> overlay_kv::get(std::string_view key) {
  if (auto it = overlay_.find(key); it != overlay_.end()) return it->second;
  std::string v;
  if (base_.read_state(key, v)) return v;
  return std::nullopt;
}

status overlay_kv::walk(const std::function<void(std::string_view, std::string_view)>& fn) const {
  auto ov = overlay_.begin();
  std::vector<std::pair<std::string, std::string>> page;
  std::string after;
  auto emit_overlay_below = [&](const std::string* bound) {
    for (; ov != overlay_.end() && (!bound || ov->first < *bound); ++ov)
      if (ov->second) fn(ov->first, *ov->second);
  };
  for (;;) {
    if (auto s = base_.scan_state("", after, walk_page_records, page); !s) return s;
    if (page.empty()) break;
    for (const auto& [k, v] : page) {
      emit_overlay_below(&k);
      if (ov != overlay_.end() && ov->first == k) {
        if (ov->second) fn(k, *ov->second);  // changed after the snapshot, or deleted
        ++ov;
      } else {
        fn(k, v);
      }
    }
    after = page.back().first;
  }
  emit_overlay_below(nullptr);
  return status::ok();
}

event_stream::event_stream(source& src, const ledger_head& start, std::uint64_t seq_max, bool check_chain)
    : impl_(std::make_unique<impl>(src, start, seq_max, check_chain)) {
  impl_->thread = std::thread([p = impl_.get()] { p->run(); });
}

event_stream::~event_stream() {
  impl_->stop();
  impl_->thread.join();
}

bool event_stream::next(std::vector<decoded_event>& out) { return impl_->pop(out); }
status event_stream::error() { return impl_->error(); }

status fold(source& src, ledger_state& state, const ledger_head& start, const fold_bound& bound, progress* prog,
            const fold_hook& after_event, fold_result& out) {
  out = fold_result{};
  out.head = start;
  status result;
  bool stop = false;
  {
    event_stream stream(src, start, bound.seq_max, true);
    std::vector<decoded_event> batch;
    while (!stop && result && stream.next(batch)) {
      for (const auto& d : batch) {
        result = apply_entry(state, d, bound, after_event, out, stop);
        if (!result || stop) break;
      }
      if (prog) prog->update(out.head.seq);
    }
    if (result && !stop) result = stream.error();
  }
  state.flush();
  return result;
}

std::string state_summary::major(amount_t minor, const std::string& asset) const {
  auto it = scales.find(asset);
  return format_amount(minor, it == scales.end() ? 0 : it->second);
}

status summarize(const std::function<status(const std::function<void(std::string_view, std::string_view)>&)>& walk,
                 state_summary& out) {
  out = state_summary{};
  digest_builder d;
  status bad;
  auto s = walk([&](std::string_view k, std::string_view v) {
    d.add(k, v);
    if (k.empty() || !bad.is_ok()) return;
    if (k[0] == 'w') {
      account_record a;
      if (auto st = decode(v, a); !st) {
        bad = status::corruption("account record: " + st.message());
        return;
      }
      for (const auto& b : a.balances) out.balances.push_back(balance_row{a.id, a.kind, a.status, a.owner, b});
    } else if (k[0] == 'a') {
      asset_record a;
      if (auto st = decode(v, a); !st) bad = status::corruption("asset record: " + st.message());
      else out.scales[a.code] = a.scale;
    } else if (k[0] == 'p') {
      pending_record p;
      if (auto st = decode(v, p); !st) bad = status::corruption("pending record: " + st.message());
      else out.open_holds.push_back(p);
    }
  });
  if (!s) return s;
  if (!bad) return bad;
  out.digest = d.finish();
  return status::ok();
}

}  // namespace ledger::audit
