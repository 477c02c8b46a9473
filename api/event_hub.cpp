#include "api/event_hub.h"

#include <chrono>
#include <deque>
#include <functional>

#include "base/prometheus.h"

namespace ledger::api {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::size_t read_chunk_events = 1024;  // events read from the store per step
constexpr int commit_wait_ms = 50;               // also how soon stalls and new subscribers are seen

struct decoded {
  event e;
  hash256 chain{};
  std::string whole;  // the whole rendering, made by the first reader who sees it whole (hub thread)
};

status read_decoded(const store& st, std::uint64_t from, std::uint64_t to, std::vector<decoded>& out) {
  out.clear();
  if (from > to) return status::ok();
  std::vector<journal_entry> raw;
  if (auto s = st.read_journal(from, static_cast<std::size_t>(to - from + 1), raw); !s) return s;
  for (auto& j : raw) {
    if (j.seq > to) break;
    decoded d;
    if (auto s = decode_event(j.event_bytes, d.e); !s) return s;
    d.chain = j.chain;
    out.push_back(std::move(d));
  }
  return status::ok();
}

}  // namespace

// One subscription: a body_stream for the transport, fed by the hub thread.
class event_hub::subscriber final : public body_stream {
 public:
  subscriber(event_hub& hub, std::uint64_t id, std::uint64_t after, event_filter f, event_channel ch)
      : id_(id), filter_(std::move(f)), channel_(ch), hub_(&hub), cursor_(after) {}

  void start(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
    if (channel_ == event_channel::sse) queue_.push_back(": events after seq " + std::to_string(cursor_) + "\n\n");
    if (!queue_.empty()) wake_();
  }

  bool pull(std::vector<std::string>& out) override {
    std::lock_guard lock(mu_);
    std::uint64_t events = queued_events_;
    for (auto& piece : queue_) out.push_back(std::move(piece));
    queue_.clear();
    queued_events_ = 0;
    full_since_.reset();
    if (hub_) hub_->sent_ += events;
    if (!ended_) return true;
    if (channel_ == event_channel::sse && !end_reason_.empty())
      out.push_back("event: cutoff\ndata: {\"resume_after_seq\":" + std::to_string(cursor_) + ",\"reason\":\"" +
                    end_reason_ + "\"}\n\n");
    return false;
  }

  void stop() override {
    std::lock_guard lock(mu_);
    stopped_ = true;
    ended_ = true;
  }

  std::string close_reason() const override {
    std::lock_guard lock(mu_);
    if (end_reason_.empty()) return {};
    return end_reason_ + "; resume_after_seq=" + std::to_string(cursor_);
  }

  // --- hub thread ---

  std::uint64_t cursor() const {
    std::lock_guard lock(mu_);
    return cursor_;
  }
  bool finished() const {
    std::lock_guard lock(mu_);
    return stopped_ || ended_;
  }
  bool gone() const {
    std::lock_guard lock(mu_);
    return stopped_;
  }
  std::uint64_t id() const { return id_; }

  // Hands over the events after the cursor, in order, while the queue has
  // room; false when it filled up before the end of `batch`.
  bool offer(std::vector<decoded>& batch, const owner_lookup& owners, const member_lookup& members, std::size_t queue_max) {
    std::unique_lock lock(mu_);
    if (ended_) return true;
    bool added = false, room = true;
    for (auto& d : batch) {
      if (d.e.seq <= cursor_) continue;
      if (queued_events_ >= queue_max) {
        room = false;
        if (!full_since_) full_since_ = steady::now();
        break;
      }
      if (auto json = view_event(d.e, d.chain, filter_, owners, &d.whole, members)) {
        queue_.push_back(channel_ == event_channel::sse ? "id: " + std::to_string(d.e.seq) + "\ndata: " + *json + "\n\n"
                                                        : std::move(*json));
        queued_events_++;
        added = true;
      }
      cursor_ = d.e.seq;
    }
    if (added && wake_) wake_();
    return room;
  }

  // Ends the stream after what is queued, with a reason and the resume position.
  void end(std::string reason) {
    std::lock_guard lock(mu_);
    if (ended_) return;
    ended_ = true;
    end_reason_ = std::move(reason);
    if (wake_) wake_();
  }

  bool stalled_for(steady::duration d) const {
    std::lock_guard lock(mu_);
    return full_since_ && steady::now() - *full_since_ >= d;
  }

  void detach() {
    std::lock_guard lock(mu_);
    hub_ = nullptr;
  }

 private:
  const std::uint64_t id_;
  const event_filter filter_;
  const event_channel channel_;
  mutable std::mutex mu_;
  event_hub* hub_;  // null once the hub is gone; protected by mu_
  std::function<void()> wake_;
  std::deque<std::string> queue_;  // rendered, not yet pulled
  std::size_t queued_events_ = 0;
  std::uint64_t cursor_;  // the last seq handed over or skipped
  std::optional<steady::time_point> full_since_;
  bool ended_ = false, stopped_ = false;
  std::string end_reason_;
};

event_hub::event_hub(backend& b, event_hub_settings s) : backend_(b), settings_(s) {}

event_hub::~event_hub() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& s : subs_) {
    s->end("server stopping");
    s->detach();
  }
}

std::shared_ptr<body_stream> event_hub::subscribe(std::uint64_t after_seq, event_filter f, event_channel ch) {
  std::lock_guard lock(mu_);
  std::erase_if(subs_, [](const std::shared_ptr<subscriber>& s) { return s->gone(); });
  if (subs_.size() >= settings_.subscribers_max) {
    refused_++;
    return nullptr;
  }
  auto s = std::make_shared<subscriber>(*this, next_id_++, after_seq, std::move(f), ch);
  subs_.push_back(s);
  subscribed_++;
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  wake_.notify_all();
  return s;
}

std::vector<std::shared_ptr<event_hub::subscriber>> event_hub::live_subscribers() {
  std::lock_guard lock(mu_);
  std::erase_if(subs_, [](const std::shared_ptr<subscriber>& s) { return s->gone(); });
  return subs_;
}

void event_hub::run() {
  owners_.emplace(backend_.storage());
  std::uint64_t head = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stop_) return;
      if (subs_.empty()) wake_.wait(lock, [this] { return stop_ || !subs_.empty(); });
      if (stop_) return;
    }
    head = backend_.head().seq;
    if (serve_all(head)) continue;
    auto until = steady::now() + std::chrono::milliseconds(commit_wait_ms);
    // A failed engine answers at once: wait out the rest here rather than spin.
    if (!backend_.wait_for_seq(head + 1, commit_wait_ms)) {
      std::unique_lock lock(mu_);
      wake_.wait_until(lock, until, [this] { return stop_; });
    }
  }
}

bool event_hub::serve_all(std::uint64_t head) {
  auto subs = live_subscribers();
  const store& st = backend_.storage();
  member_lookup members = group_members_of(st);
  // The newest range, read once for every subscriber that is caught up.
  std::uint64_t low = head;
  for (const auto& s : subs)
    if (!s->finished()) low = std::min(low, s->cursor());
  std::vector<decoded> batch, own;
  std::uint64_t batch_from = low + 1, batch_to = std::min(head, low + read_chunk_events);
  if (auto s = read_decoded(st, batch_from, batch_to, batch); !s) return false;  // retried on the next wake
  bool more = batch_to < head;
  auto stall = std::chrono::milliseconds(settings_.stall_ms);
  for (const auto& s : subs) {
    if (s->finished()) continue;
    if (s->stalled_for(stall)) {
      s->end("slow consumer");
      cutoffs_++;
      continue;
    }
    std::uint64_t c = s->cursor();
    if (c >= head) continue;
    std::vector<decoded>* src = &batch;
    if (c + 1 < batch_from || c >= batch_to) {  // not covered by the shared range
      if (!read_decoded(st, c + 1, std::min(head, c + read_chunk_events), own)) continue;
      src = &own;
    }
    if (s->offer(*src, std::ref(*owners_), members, settings_.queue_events_max) && s->cursor() < head) more = true;
  }
  return more;
}

std::string event_hub::metrics() const {
  using namespace prometheus;
  std::string out;
  std::uint64_t head = backend_.head().seq;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> lags;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : subs_)
      if (!s->finished()) lags.emplace_back(s->id(), head - std::min(head, s->cursor()));
  }
  out += gauge("ledger_events_subscribers", "Open event stream subscriptions (SSE and WebSocket).", double(lags.size()));
  out += counter("ledger_events_subscriptions_total", "Event stream subscriptions opened.", subscribed_.load());
  out += counter("ledger_events_subscriptions_refused_total", "Subscriptions refused at the subscriber limit.",
                 refused_.load());
  out += counter("ledger_events_sent_total", "Events handed to subscribers' connections.", sent_.load());
  out += counter("ledger_events_cutoffs_total", "Subscribers cut off as slow consumers.", cutoffs_.load());
  out += header("ledger_events_subscriber_lag_events", "Events committed and not yet handed to the subscriber.", "gauge");
  for (auto [id, lag] : lags)
    out += "ledger_events_subscriber_lag_events{subscriber=\"" + std::to_string(id) + "\"} " + std::to_string(lag) + "\n";
  return out;
}

}  // namespace ledger::api
