#include "kafka/relay.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "engine/chain.h"

namespace ledger::kafka {

namespace {

using steady = std::chrono::steady_clock;

// How long past delivery_timeout_ms a round waits for the delivery reports
// librdkafka owes it (they arrive a little after the timeout fires).
constexpr int ack_grace_ms = 1000;
// One wait on the producer's queue, so a round notices its deadline.
constexpr int ack_poll_ms = 100;

static_assert(sizeof(std::uintptr_t) >= sizeof(std::uint64_t), "a seq travels as a message's opaque pointer");

int ms_left(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

struct queue_deleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct event_deleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};

}  // namespace

relay::relay(options kafka_options, journal_source source, relay_options ro)
    : options_(std::move(kafka_options)), source_(std::move(source)), ro_(ro) {
  LEDGER_ASSERT(ro_.batch_events_max > 0, "relay batch_events_max");
  LEDGER_ASSERT(ro_.retry_min_ms > 0 && ro_.retry_max_ms >= ro_.retry_min_ms, "relay retry bounds");
  LEDGER_ASSERT(ro_.delivery_timeout_ms > 0 && ro_.idle_wait_ms >= 0, "relay timeouts");
  LEDGER_ASSERT(source_.read && source_.wait_for && source_.head, "relay journal source");
}

relay::~relay() { stop(); }

void relay::start() {
  LEDGER_ASSERT(!thread_.joinable(), "relay started twice");
  thread_ = std::thread([this] { run(); });
}

void relay::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

relay_stats relay::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

bool relay::wait_for(std::uint64_t seq, int timeout_ms) const {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, std::chrono::milliseconds(timeout_ms), [&] { return stats_.published_seq >= seq; });
}

void relay::run() {
  int backoff_ms = ro_.retry_min_ms;
  for (;;) {
    std::uint64_t next_seq = 0;
    {
      std::lock_guard lk(mu_);
      if (stopping_) return;
      next_seq = stats_.published_seq + 1;
    }
    std::size_t published = 0;
    if (auto s = step(published); !s) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(backoff_ms), [&] { return stopping_; });
      backoff_ms = std::min(backoff_ms * 2, ro_.retry_max_ms);
      continue;
    }
    backoff_ms = ro_.retry_min_ms;
    // Caught up: wait for the journal to grow (bounded, so stop() is seen).
    if (published == 0) source_.wait_for(next_seq, ro_.idle_wait_ms);
  }
}

status relay::step(std::size_t& published) {
  std::lock_guard round(round_mu_);
  published = 0;
  if (!resumed_)
    if (auto s = resume(); !s) return failed(s);
  std::vector<journal_entry> batch;
  if (auto s = source_.read(cursor_seq_ + 1, ro_.batch_events_max, batch); !s) return failed(s);
  if (batch.size() > ro_.batch_events_max) batch.resize(ro_.batch_events_max);
  if (!batch.empty()) {
    if (auto s = check_batch(batch); !s) return failed(s);
    status s = produce(batch);
    if (s) s = await_acks(batch);
    if (!s) {
      // Nothing the producer still holds can be trusted to land in order
      // after this: start over from what the topic holds.
      drop_producer();
      resumed_ = false;
      return failed(s);
    }
    published = batch.size();
  }
  std::lock_guard lk(mu_);
  stats_.healthy = true;
  return status::ok();
}

status relay::failed(status s) {
  resumed_ = false;
  std::lock_guard lk(mu_);
  stats_.failures++;
  stats_.last_error = s.to_string();
  stats_.healthy = false;
  return s;
}

status relay::resume() {
  if (!reader_) {
    event_reader_options ero;
    ero.request_timeout_ms = ro_.delivery_timeout_ms;
    ero.read_events_max = 1;
    ero.buffer_kbytes = 1024;
    if (auto s = event_reader::open(options_, ero, reader_); !s) return s;
  }
  journal_entry last;
  if (auto s = reader_->last(last); !s) return s;
  if (last.seq != 0) {
    // The topic's last record must be the journal's event at that seq:
    // otherwise the topic belongs to another ledger (or one was altered).
    std::vector<journal_entry> mine;
    if (auto s = source_.read(last.seq, 1, mine); !s) return s;
    if (mine.empty() || mine[0].seq != last.seq)
      return status::corruption("events topic " + options_.events_topic + " holds seq " + std::to_string(last.seq) +
                                ", which the journal does not (its head is " + std::to_string(source_.head().seq) +
                                "): is it another ledger's topic?");
    if (mine[0].chain != last.chain || mine[0].event_bytes != last.event_bytes)
      return status::corruption("seq " + std::to_string(last.seq) + " in events topic " + options_.events_topic +
                                " differs from the journal's");
  }
  cursor_seq_ = last.seq;
  cursor_chain_ = last.seq == 0 ? source_.genesis : last.chain;  // an empty topic follows the genesis
  resumed_ = true;
  std::lock_guard lk(mu_);
  stats_.published_seq = std::max(stats_.published_seq, cursor_seq_);
  cv_.notify_all();
  return status::ok();
}

// The relay publishes nothing it cannot vouch for: each event must follow the
// last published one, by seq and by chain hash.
status relay::check_batch(const std::vector<journal_entry>& batch) const {
  std::uint64_t expect = cursor_seq_ + 1;
  const hash256* prev = &cursor_chain_;
  for (const auto& e : batch) {
    if (e.seq != expect)
      return status::corruption("the journal returned seq " + std::to_string(e.seq) + " where seq " +
                                std::to_string(expect) + " was expected");
    if (chain_next(*prev, e.event_bytes) != e.chain)
      return status::corruption("journal seq " + std::to_string(e.seq) + ": its chain hash does not follow seq " +
                                std::to_string(e.seq - 1));
    prev = &e.chain;
    ++expect;
  }
  return status::ok();
}

status relay::produce(const std::vector<journal_entry>& batch) {
  if (!producer_) {
    settings base = {
        // Delivery reports come as events on the main queue (await_acks).
        {"enabled_events", std::to_string(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR)},
        {"delivery.timeout.ms", std::to_string(ro_.delivery_timeout_ms)},
        {"request.timeout.ms", std::to_string(std::min(ro_.delivery_timeout_ms, 30'000))},
        {"linger.ms", "5"},
        {"queue.buffering.max.messages", std::to_string(std::max<std::size_t>(ro_.batch_events_max, 100'000))},
        {"reconnect.backoff.max.ms", "1000"},
        {"allow.auto.create.topics", "false"},
    };
    if (auto s = make_producer(options_, base, producer_); !s) return s;
  }
  const char* topic = options_.events_topic.c_str();
  for (const auto& e : batch) {
    std::string key = be64(e.seq);
    std::string value = encode_journal_record(e.event_bytes, e.chain);
    auto err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
        RD_KAFKA_V_HEADER("seq", key.data(), static_cast<ssize_t>(key.size())),
        RD_KAFKA_V_HEADER("chain", e.chain.data(), static_cast<ssize_t>(e.chain.size())),
        RD_KAFKA_V_HEADER("format", "1", 1),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(e.seq))), RD_KAFKA_V_END);
    if (err) return error_status(err, "publishing seq " + std::to_string(e.seq) + " to " + options_.events_topic);
  }
  return status::ok();
}

status relay::await_acks(const std::vector<journal_entry>& batch) {
  std::unique_ptr<rd_kafka_queue_t, queue_deleter> q(rd_kafka_queue_get_main(producer_.get()));
  const std::uint64_t first = batch.front().seq, last = batch.back().seq;
  std::uint64_t expect = first;
  auto deadline = steady::now() + std::chrono::milliseconds(ro_.delivery_timeout_ms + ack_grace_ms);
  while (expect <= last) {
    std::unique_ptr<rd_kafka_event_t, event_deleter> ev(rd_kafka_queue_poll(q.get(), std::min(ms_left(deadline), ack_poll_ms)));
    if (!ev) {
      if (ms_left(deadline) == 0)
        return status::unavailable("events topic " + options_.events_topic + ": no acknowledgement of seq " +
                                   std::to_string(expect) + " within " +
                                   std::to_string(ro_.delivery_timeout_ms + ack_grace_ms) + " ms");
      continue;
    }
    if (rd_kafka_event_type(ev.get()) == RD_KAFKA_EVENT_ERROR) {
      // Other errors are transient: librdkafka retries until the message
      // times out, which a delivery report then says.
      if (rd_kafka_event_error_is_fatal(ev.get()))
        return status::unavailable("events producer: " + std::string(rd_kafka_event_error_string(ev.get())));
      continue;
    }
    if (rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_DR) continue;
    std::uint64_t acked = expect;
    while (const rd_kafka_message_t* m = rd_kafka_event_message_next(ev.get())) {
      auto seq = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private));
      if (m->err) return error_status(m->err, "publishing seq " + std::to_string(seq) + " to " + options_.events_topic);
      if (seq != expect)
        return status::unavailable("events topic " + options_.events_topic + ": seq " + std::to_string(seq) +
                                   " was acknowledged where seq " + std::to_string(expect) + " was expected");
      cursor_seq_ = seq;
      cursor_chain_ = batch[seq - first].chain;
      ++expect;
    }
    if (expect > acked) {
      std::lock_guard lk(mu_);
      stats_.published_seq = std::max(stats_.published_seq, expect - 1);
      stats_.published += expect - acked;
      cv_.notify_all();
    }
  }
  return status::ok();
}

void relay::drop_producer() {
  if (!producer_) return;
  // Fail what is queued or in flight now rather than wait for it.
  rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  producer_.reset();
}

}  // namespace ledger::kafka
