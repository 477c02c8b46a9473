#include "kafka/submitter.h"

#include <chrono>
#include <random>

#include "kafka/records.h"

namespace ledger::kafka {

namespace {
constexpr int poll_ms = 10;
constexpr int probe_every_ms = 500;
}  // namespace

std::int64_t submitter::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

status submitter::open(const options& o, submitter_options so, std::unique_ptr<submitter>& out) {
  if (o.instance_id.empty()) return status::invalid_argument("kafka: an API instance needs an instance id");
  std::unique_ptr<submitter> s(new submitter());
  std::random_device rd;
  s->next_corr_ = (std::uint64_t(rd()) << 32 | rd()) >> 1;  // never wraps in practice
  s->o_ = o;
  s->so_ = so;
  int timeout = std::max(1000, o.request_timeout_ms);
  auto* self = s.get();
  if (auto st = make_client(RD_KAFKA_PRODUCER, o,
                            {{"enable.idempotence", "true"},
                             {"acks", "all"},
                             {"linger.ms", "1"},
                             {"message.timeout.ms", std::to_string(timeout)},
                             {"allow.auto.create.topics", "false"}},
                            [self](rd_kafka_conf_t* conf) {
                              rd_kafka_conf_set_dr_msg_cb(conf, &submitter::delivery_cb);
                              rd_kafka_conf_set_error_cb(conf, &submitter::error_cb);
                              rd_kafka_conf_set_opaque(conf, self);
                            },
                            s->producer_);
      !st)
    return st;

  if (auto st = make_consumer(o, {{"group.id", "ledger-api-" + o.instance_id}, {"allow.auto.create.topics", "false"}},
                              s->replies_);
      !st)
    return st;
  // Read every partition of the replies topic from its current end, known
  // before the first command leaves: no reply to this instance can be missed.
  int partitions = 0;
  if (auto st = topic_partitions(s->replies_.get(), o.replies_topic, timeout, partitions); !st) return st;
  partition_list assignment(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (auto st = watermarks(s->replies_.get(), o.replies_topic, p, timeout, low, high); !st) return st;
    rd_kafka_topic_partition_list_add(assignment.get(), o.replies_topic.c_str(), p)->offset = high;
  }
  if (auto e = rd_kafka_assign(s->replies_.get(), assignment.get())) return error_status(e, "reading " + o.replies_topic);
  s->thread_ = std::thread([p = s.get()] { p->run(); });
  out = std::move(s);
  return status::ok();
}

submitter::~submitter() { stop(); }

void submitter::stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable()) thread_.join();
    return;
  }
  if (thread_.joinable()) thread_.join();
  std::unordered_map<std::uint64_t, waiting> left;
  {
    std::lock_guard lock(mu_);
    left.swap(waiting_);
  }
  for (auto& [corr, w] : left) {
    std::vector<outcome> outs(w.commands);
    for (auto& o : outs) o.error = status::unavailable("the API instance is shutting down; the command may have been applied");
    w.done(std::move(outs));
  }
}

append_result submitter::submit(std::vector<command>&& commands, completion done) {
  if (commands.empty() || commands.size() > submission_commands_max) return append_result::too_large;
  if (stopping_.load() || !brokers_up_.load()) return append_result::closed;
  std::uint64_t corr = 0;
  {
    std::lock_guard lock(mu_);
    if (waiting_.size() >= so_.in_flight_max) return append_result::full;
    corr = next_corr_++;
    waiting_.emplace(corr, waiting{std::move(done), now_ms() + o_.request_timeout_ms, commands.size()});
  }
  std::string value = encode_submission(commands);
  std::string corr_bytes = be64(corr);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(o_.commands_topic.c_str()), RD_KAFKA_V_PARTITION(o_.ledger_partition),
      RD_KAFKA_V_KEY(o_.ledger.data(), o_.ledger.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
      RD_KAFKA_V_HEADER(header_reply_to, o_.instance_id.data(), static_cast<ssize_t>(o_.instance_id.size())),
      RD_KAFKA_V_HEADER(header_corr, corr_bytes.data(), static_cast<ssize_t>(corr_bytes.size())),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::uintptr_t>(corr))), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_END);
  if (err) {
    // Not queued: nothing can reach the engine, so the request may not wait.
    std::lock_guard lock(mu_);
    waiting_.erase(corr);
    return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? append_result::full : append_result::closed;
  }
  std::lock_guard lock(mu_);
  stats_.produced++;
  return append_result::ok;
}

void submitter::complete(std::uint64_t corr, const status& error) {
  waiting w;
  {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(corr);
    if (it == waiting_.end()) return;
    w = std::move(it->second);
    waiting_.erase(it);
  }
  std::vector<outcome> outs(w.commands);
  for (auto& o : outs) o.error = error;
  w.done(std::move(outs));
}

void submitter::delivery_cb(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* s = static_cast<submitter*>(opaque);
  if (!m->err) return;  // delivered: the outcome comes on the replies topic
  {
    std::lock_guard lock(s->mu_);
    s->stats_.delivery_failures++;
  }
  auto corr = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m->_private));
  s->complete(corr, status::unavailable(std::string("the commands topic did not take the command (") +
                                        rd_kafka_err2str(m->err) +
                                        "); it may still have been applied: retry with the same Idempotency-Key"));
}

void submitter::error_cb(rd_kafka_t*, int err, const char*, void* opaque) {
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) static_cast<submitter*>(opaque)->brokers_up_ = false;
}

void submitter::on_reply(rd_kafka_message_t* m) {
  std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  if (key != o_.instance_id) return;
  auto corr_h = header(m, header_corr);
  auto corr = corr_h ? from_be64(*corr_h) : std::nullopt;
  if (!corr) return;
  waiting w;
  {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(*corr);
    if (it == waiting_.end()) {
      stats_.stray_replies++;
      return;
    }
    w = std::move(it->second);
    waiting_.erase(it);
    stats_.replies++;
  }
  std::vector<outcome> outs;
  status s = decode_reply(std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0), outs);
  if (s && outs.size() == 1 && w.commands > 1 && !outs[0].error.is_ok()) {
    outs.resize(w.commands, outs[0]);  // the whole record was refused (undecodable)
  } else if (s && outs.size() != w.commands) {
    s = status::corruption("the reply holds " + std::to_string(outs.size()) + " outcomes for " +
                           std::to_string(w.commands) + " commands");
  }
  if (!s) {
    outs.assign(w.commands, outcome{});
    for (auto& o : outs) o.error = status::unavailable("unreadable reply from the engine: " + s.message());
  }
  std::uint64_t top = 0;
  for (const auto& o : outs)
    if (o.error.is_ok() && o.seq > top) top = o.seq;
  for (auto cur = last_seq_.load(); top > cur && !last_seq_.compare_exchange_weak(cur, top);) {
  }
  w.done(std::move(outs));
}

void submitter::run() {
  std::int64_t next_sweep = now_ms() + 50, next_probe = 0;
  while (!stopping_.load()) {
    rd_kafka_poll(producer_.get(), 0);
    for (int i = 0; i < 1000; ++i) {
      message m(rd_kafka_consumer_poll(replies_.get(), i == 0 ? poll_ms : 0));
      if (!m) break;
      if (!m->err) on_reply(m.get());
    }
    std::int64_t now = now_ms();
    if (now >= next_sweep) {
      next_sweep = now + 50;
      std::vector<std::uint64_t> expired;
      {
        std::lock_guard lock(mu_);
        for (const auto& [corr, w] : waiting_)
          if (w.deadline_ms <= now) expired.push_back(corr);
        stats_.timeouts += expired.size();
      }
      for (auto corr : expired)
        complete(corr, status::unavailable("no outcome within the request timeout; the command may still be applied: "
                                           "retry with the same Idempotency-Key"));
    }
    if (!brokers_up_.load() && now >= next_probe) {
      next_probe = now + probe_every_ms;
      const rd_kafka_metadata_t* md = nullptr;
      if (rd_kafka_metadata(producer_.get(), 0, nullptr, &md, 300) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        brokers_up_ = true;
      }
    }
  }
  rd_kafka_flush(producer_.get(), 1000);
}

submitter_stats submitter::stats() const {
  std::lock_guard lock(mu_);
  submitter_stats s = stats_;
  s.in_flight = waiting_.size();
  s.brokers_up = brokers_up_.load();
  return s;
}

}  // namespace ledger::kafka
