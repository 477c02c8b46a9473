#include "kafka/engine_log.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>

#include "kafka/records.h"

namespace ledger::kafka {

namespace {
std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace


std::string_view to_string(engine_role r) {
  switch (r) {
    case engine_role::standby: return "standby";
    case engine_role::active: return "active";
    case engine_role::fenced: return "fenced";
  }
  return "?";
}

status engine_log::open(const options& o, engine_log_options lo, std::unique_ptr<engine_log>& out) {
  std::unique_ptr<engine_log> l(new engine_log());
  l->o_ = o;
  l->lo_ = std::move(lo);
  int session = o.session_timeout_ms;
  int poll_interval = std::max(l->lo_.max_poll_interval_ms, session);
  settings cs = {{"group.id", o.group},
                 {"partition.assignment.strategy", "cooperative-sticky"},
                 {"session.timeout.ms", std::to_string(session)},
                 {"heartbeat.interval.ms", std::to_string(std::max(100, session / 3))},
                 {"max.poll.interval.ms", std::to_string(poll_interval)},
                 {"enable.auto.commit", "false"},
                 {"enable.auto.offset.store", "false"},
                 {"auto.offset.reset", "earliest"},
                 {"allow.auto.create.topics", "false"}};
  auto* self = l.get();
  if (auto s = make_client(RD_KAFKA_CONSUMER, o, cs,
                           [self](rd_kafka_conf_t* conf) {
                             rd_kafka_conf_set_rebalance_cb(conf, &engine_log::rebalance_cb);
                             rd_kafka_conf_set_opaque(conf, self);
                           },
                           l->consumer_);
      !s)
    return s;
  rd_kafka_t* rk = l->consumer_.get();
  rd_kafka_poll_set_consumer(rk);
  if (auto s = make_producer(o, {{"linger.ms", "1"}}, l->producer_); !s) return s;
  if (l->lo_.follow)
    if (auto s = make_consumer(o, {{"group.id", o.group + "-follow-" + o.instance_id}, {"allow.auto.create.topics", "false"}},
                               l->follower_);
        !s)
      return s;
  partition_list topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), o.commands_topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto e = rd_kafka_subscribe(rk, topics.get())) return error_status(e, "subscribing to " + o.commands_topic);
  out = std::move(l);
  return status::ok();
}

engine_log::~engine_log() {
  closed_ = true;
  if (producer_) rd_kafka_flush(producer_.get(), 2000);
  // consumer_ leaves the group on destruction (rd_kafka_consumer_close).
}

void engine_log::rebalance_cb(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<engine_log*>(opaque)->on_rebalance(err, parts);
}

void engine_log::on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  rd_kafka_t* rk = consumer_.get();
  bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  rd_kafka_topic_partition_t* ours = nullptr;
  for (int i = 0; i < parts->cnt; ++i)
    if (o_.commands_topic == parts->elems[i].topic && parts->elems[i].partition == o_.ledger_partition)
      ours = &parts->elems[i];

  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    bool become_active = ours && role_.load() == engine_role::standby && !closed_.load();
    if (ours) ours->offset = next_offset_;  // where this engine is (its store, or as far as it followed)
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
    else
      rd_kafka_assign(rk, parts);
    if (become_active) {
      role_ = engine_role::active;
      claim_pending_ = true;  // appended by the next take(), outside this callback
      {
        std::lock_guard lock(mu_);
        stats_.assignments++;
      }
      if (lo_.on_active) lo_.on_active(next_offset_);
    }
    return;
  }
  // Revoked or lost: if the ledger's partition goes, so does the right to
  // write. (On close, leaving the group is no news.)
  if (ours && role_.load() == engine_role::active && !closed_.load())
    fence(rd_kafka_assignment_lost(rk) ? "the ledger's partition was lost (dropped from the group)"
                                       : "the ledger's partition was reassigned to another engine");
  if (cooperative)
    rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
  else
    rd_kafka_assign(rk, nullptr);
}

void engine_log::fence(const std::string& why) {
  if (role_.exchange(engine_role::fenced) == engine_role::fenced) return;
  {
    std::lock_guard lock(mu_);
    stats_.fence_reason = why;
  }
  if (lo_.on_fenced) lo_.on_fenced(why);
}

void engine_log::resume_after(std::uint64_t position) {
  next_offset_ = position == 0 ? 0 : offset_of(position) + 1;
  read_offset_ = next_offset_;
}

void engine_log::close() { closed_ = true; }

std::optional<log_entry> engine_log::entry_of(rd_kafka_message_t* m, bool standby) {
  log_entry e;
  e.first_position = position_of(m->offset, 0);
  rd_kafka_timestamp_type_t tstype;
  std::int64_t ts_ms = rd_kafka_message_timestamp(m, &tstype);
  e.timestamp_us = ts_ms < 0 ? 0 : ts_ms * 1000;
  auto to = header(m, header_reply_to);
  auto corr = header(m, header_corr);
  std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  status s = decode_submission(payload, e.commands);
  if (!s) {
    {
      std::lock_guard lock(mu_);
      stats_.bad_records++;
    }
    if (to && corr && !standby) {
      std::vector<outcome> outs(1);
      outs[0].error = status::invalid_argument("record at offset " + std::to_string(m->offset) + ": " + s.message());
      reply(std::string(*to), *corr, std::move(outs));
    }
    return std::nullopt;
  }
  // Reply to records someone may still wait for: an engine catching up
  // from an old position does not answer history.
  bool recent = ts_ms >= 0 && ts_ms * 1000 >= now_us() - 2 * std::int64_t(o_.request_timeout_ms) * 1000;
  if (to && corr && recent && !standby)
    e.done = [this, to = std::string(*to), corr = std::string(*corr)](std::vector<outcome>&& outs) {
      reply(to, corr, std::move(outs));
    };
  // A standby keeps the outcomes of recent records: should it take over,
  // the requests may still be waiting (the old owner may have died before
  // answering), so it answers them then. Duplicates are dropped by the API.
  if (to && corr && recent && standby)
    e.done = [this, ts_ms, to = std::string(*to), corr = std::string(*corr)](std::vector<outcome>&& outs) {
      std::lock_guard lock(mu_);
      if (unsent_.size() == unsent_max) unsent_.pop_front();
      unsent_.push_back({ts_ms, to, corr, std::move(outs)});
    };
  return e;
}

void engine_log::take(std::vector<log_entry>& out, std::size_t max_commands, int wait_ms) {
  rd_kafka_poll(producer_.get(), 0);  // delivery reports
  if (closed_.load()) return;
  if (role_.load() == engine_role::fenced) {
    // A fenced engine must not hold the partition (librdkafka would rejoin
    // the group on the next poll): leave, so the next engine gets it at once.
    if (!left_group_) {
      left_group_ = true;
      rd_kafka_unsubscribe(consumer_.get());
      if (following_) rd_kafka_assign(follower_.get(), nullptr);
      following_ = false;
    }
    message m(rd_kafka_consumer_poll(consumer_.get(), wait_ms));  // serves the revoke
    return;
  }
  std::size_t taken = 0;
  if (held_) {
    taken += held_->commands.size();
    out.push_back(std::move(*held_));
    held_.reset();
  }
  int timeout = taken ? 0 : wait_ms;

  if (role_.load() == engine_role::standby) {
    // Serve the group first: an assignment makes this engine active. (With
    // no partition assigned, the group consumer returns no records.)
    message m(rd_kafka_consumer_poll(consumer_.get(), follower_ ? 0 : timeout));
    if (m && role_.load() == engine_role::active) accept(m, false, out, taken, max_commands);
    if (role_.load() == engine_role::standby && follower_) {
      // A warm standby applies the partition as it grows, answering nobody.
      if (!following_) {
        partition_list at(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(at.get(), o_.commands_topic.c_str(), o_.ledger_partition)->offset = next_offset_;
        following_ = rd_kafka_assign(follower_.get(), at.get()) == RD_KAFKA_RESP_ERR_NO_ERROR;
      }
      for (int polled = 0; following_ && polled < 100'000 && taken < max_commands; ++polled) {
        message f(rd_kafka_consumer_poll(follower_.get(), timeout));
        timeout = 0;
        if (!f || role_.load() != engine_role::standby) break;
        if (!accept(f, true, out, taken, max_commands)) break;
      }
      return;
    }
    if (role_.load() != engine_role::active) return;
  }

  // Active.
  if (following_) {
    rd_kafka_assign(follower_.get(), nullptr);
    following_ = false;
  }
  if (claim_pending_) append_claim();
  if (!claim_pending_) send_unsent();
  for (int polled = 0; polled < 100'000 && taken < max_commands; ++polled) {
    message m(rd_kafka_consumer_poll(consumer_.get(), timeout));
    timeout = 0;
    if (!m || role_.load() != engine_role::active) break;
    if (!accept(m, false, out, taken, max_commands)) break;
  }
}

bool engine_log::accept(message& m, bool standby, std::vector<log_entry>& out, std::size_t& taken,
                        std::size_t max_commands) {
  if (m->err) return true;  // transient consumer errors are retried by librdkafka
  {
    std::lock_guard lock(mu_);
    stats_.records++;
    if (standby) stats_.followed++;
  }
  if (m->partition != o_.ledger_partition || o_.commands_topic != rd_kafka_topic_name(m->rkt)) return true;
  if (m->offset < next_offset_) return true;  // already applied (a refetch after a seek)
  if (auto claim = header(m.get(), header_claim)) {
    // Ownership is decided by the log's order: after our own claim, a claim
    // by anyone else means another engine owns every record from there on.
    // Stop before it; everything read so far stays ours.
    if (!standby && *claim == claim_id_) {
      claimed_ = true;
    } else if (!standby && claimed_) {
      fence("another engine claimed the ledger at offset " + std::to_string(m->offset) + " (" + std::string(*claim) + ")");
      return false;
    }
    next_offset_ = m->offset + 1;
    read_offset_ = next_offset_;
    return true;
  }
  next_offset_ = m->offset + 1;
  read_offset_ = next_offset_;
  auto e = entry_of(m.get(), standby);
  if (!e) return true;
  if (taken > 0 && taken + e->commands.size() > max_commands) {
    held_ = std::move(e);
    return false;
  }
  taken += e->commands.size();
  out.push_back(std::move(*e));
  return taken < max_commands;
}

void engine_log::send_unsent() {
  std::deque<unsent_reply> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(unsent_);
  }
  std::int64_t oldest_ms = now_us() / 1000 - 2 * std::int64_t(o_.request_timeout_ms);
  for (auto& u : batch)
    if (u.ts_ms >= oldest_ms) reply(u.to, u.corr, std::move(u.outs));
}

void engine_log::append_claim() {
  // A fresh id per activation: earlier claims of this same engine are
  // someone else's as far as the order goes.
  std::random_device rd;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  claim_id_ = o_.instance_id + "/" + buf;
  std::string value = "claim";
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(o_.commands_topic.c_str()), RD_KAFKA_V_PARTITION(o_.ledger_partition),
      RD_KAFKA_V_KEY(o_.ledger.data(), o_.ledger.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
      RD_KAFKA_V_HEADER(header_claim, claim_id_.data(), static_cast<ssize_t>(claim_id_.size())),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (!err) err = rd_kafka_flush(producer_.get(), 10'000);
  if (err) return;  // retried by the next take(); meanwhile records are applied, replies go out as before
  claim_pending_ = false;
  std::lock_guard lock(mu_);
  stats_.claims++;
}

status engine_log::before_release(const ledger_head&) {
  // Every record this engine read precedes any other engine's claim (take()
  // stops at one), so whatever it decided from them is its own to release,
  // even after it was fenced. Nothing to refuse; the hook is a test seam.
  if (lo_.before_release_hook) lo_.before_release_hook();
  return status::ok();
}

void engine_log::reply(const std::string& to, std::string_view corr, std::vector<outcome>&& outs) {
  std::string value = encode_reply(outs);
  rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_.get(), RD_KAFKA_V_TOPIC(o_.replies_topic.c_str()), RD_KAFKA_V_KEY(to.data(), to.size()),
      RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_HEADER(header_corr, corr.data(), static_cast<ssize_t>(corr.size())),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  std::lock_guard lock(mu_);
  if (err)
    stats_.reply_failures++;
  else
    stats_.replies++;
}

engine_log_stats engine_log::stats() const {
  engine_log_stats s;
  {
    std::lock_guard lock(mu_);
    s = stats_;
  }
  s.role = role_.load();
  // The high watermark librdkafka last saw for the reader in use (cached:
  // no request to the brokers), against what was read.
  rd_kafka_t* reader = s.role == engine_role::standby && follower_ ? follower_.get() : consumer_.get();
  std::int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(reader, o_.commands_topic.c_str(), o_.ledger_partition, &low, &high) ==
          RD_KAFKA_RESP_ERR_NO_ERROR &&
      high >= 0)
    s.lag_records = std::max<std::int64_t>(0, high - read_offset_.load());
  return s;
}

}  // namespace ledger::kafka
