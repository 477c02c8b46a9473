#include "kafka/event_reader.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine/chain.h"

namespace ledger::kafka {

namespace {

using steady = std::chrono::steady_clock;

int ms_left(steady::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

steady::time_point after_ms(int ms) { return steady::now() + std::chrono::milliseconds(ms); }

std::string_view view_of(const void* p, std::size_t n) {
  return n == 0 ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
}

}  // namespace

event_reader::event_reader(const options& o, const event_reader_options& ro) : options_(o), ro_(ro) {}

event_reader::~event_reader() = default;

status event_reader::open(const options& o, std::unique_ptr<event_reader>& out) {
  return open(o, event_reader_options{}, out);
}

status event_reader::open(const options& o, const event_reader_options& ro, std::unique_ptr<event_reader>& out) {
  LEDGER_ASSERT(ro.poll_ms >= 0 && ro.request_timeout_ms > 0 && ro.fetch_wait_ms > 0, "event_reader timeouts");
  LEDGER_ASSERT(ro.read_events_max > 0 && ro.buffer_kbytes > 0, "event_reader limits");
  std::unique_ptr<event_reader> r(new event_reader(o, ro));
  // librdkafka only assigns partitions in a consumer that has a group id,
  // but this one never joins the group nor commits: the caller owns the
  // position. auto.offset.reset=error, so that an offset deleted under the
  // reader is reported instead of silently replaced by another one.
  settings base = {
      {"group.id", "ledger-events-reader" + (o.instance_id.empty() ? std::string() : "-" + o.instance_id)},
      {"auto.offset.reset", "error"},
      {"allow.auto.create.topics", "false"},
      {"queued.max.messages.kbytes", std::to_string(ro.buffer_kbytes)},
      {"queued.min.messages", std::to_string(ro.read_events_max)},
      // A re-assignment (a seek, a probe) waits for the fetch in flight, which
      // the broker holds up to this long when the reader is at the end.
      {"fetch.wait.max.ms", std::to_string(ro.fetch_wait_ms)},
      {"fetch.error.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "1000"},
      // Bounds each request to the brokers: a watermark query sent to a
      // broker that is down waits this long, whatever its own timeout says.
      {"socket.timeout.ms", std::to_string(std::max(ro.request_timeout_ms, 10))},
  };
  if (auto s = make_consumer(o, base, r->consumer_); !s) return s;
  // Errors and logs come through rd_kafka_consumer_poll too.
  rd_kafka_poll_set_consumer(r->consumer_.get());
  out = std::move(r);
  return status::ok();
}

status event_reader::corrupt(std::int64_t offset, const std::string& what) const {
  return status::corruption("events topic " + options_.events_topic + " offset " + std::to_string(offset) + ": " +
                            what);
}

status event_reader::check_topic(int timeout_ms) {
  if (topic_checked_) return status::ok();
  int partitions = 0;
  if (auto s = topic_partitions(consumer_.get(), options_.events_topic, timeout_ms, partitions); !s)
    return s;
  if (partitions != 1)
    return status::invalid_argument("events topic " + options_.events_topic + " has " + std::to_string(partitions) +
                                    " partitions; the ledger's total order needs exactly one");
  topic_checked_ = true;
  return status::ok();
}

status event_reader::assign_at(std::int64_t offset) {
  partition_list list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), options_.events_topic.c_str(), 0)->offset = offset;
  // A new assignment also drops what was fetched for the old one (librdkafka
  // versions its fetches), so no stale record follows it.
  if (auto err = rd_kafka_assign(consumer_.get(), list.get()); err) {
    consumer_offset_ = -1;
    return error_status(err, "assigning " + options_.events_topic);
  }
  consumer_offset_ = offset;
  return status::ok();
}

status event_reader::poll(int timeout_ms, message& out) {
  out.reset();
  auto deadline = after_ms(timeout_ms);
  for (;;) {
    message m(rd_kafka_consumer_poll(consumer_.get(), ms_left(deadline)));
    if (!m) return status::ok();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (m->err) {
      // Client-wide errors (a broker connection lost) are reported for
      // information: librdkafka reconnects by itself. Partition errors are
      // the reader's to handle.
      if (m->rkt == nullptr && !rd_kafka_fatal_error(consumer_.get(), nullptr, 0)) {
        if (ms_left(deadline) == 0) return status::ok();
        continue;
      }
      return status::unavailable("reading events topic " + options_.events_topic + " at offset " +
                                 std::to_string(m->offset) + ": " + rd_kafka_message_errstr(m.get()));
    }
    if (m->partition != 0 || options_.events_topic != rd_kafka_topic_name(m->rkt)) continue;
    out = std::move(m);
    return status::ok();
  }
}

status event_reader::probe(std::int64_t offset, int timeout_ms, journal_entry& e, std::int64_t& found_offset) {
  if (auto s = assign_at(offset); !s) return s;
  auto deadline = after_ms(timeout_ms);
  for (;;) {
    message m;
    if (auto s = poll(ms_left(deadline), m); !s) {
      consumer_offset_ = -1;
      return s;
    }
    if (!m) {
      consumer_offset_ = -1;
      return status::unavailable("events topic " + options_.events_topic + ": no record at offset " +
                                 std::to_string(offset) + " within " + std::to_string(timeout_ms) + " ms");
    }
    if (m->offset < offset) continue;
    found_offset = m->offset;
    consumer_offset_ = m->offset + 1;
    return decode(m.get(), e);
  }
}

status event_reader::locate(std::uint64_t from_seq) {
  if (auto s = check_topic(ro_.request_timeout_ms); !s) return s;
  std::int64_t low = 0, high = 0;
  if (auto s = query_watermarks(ro_.request_timeout_ms, low, high); !s) return s;
  known_high_ = std::max(known_high_, high);
  next_seq_ = from_seq;
  next_offset_ = high;
  // The predecessor of seq 1 is the genesis chain; any other is unknown
  // until a read returns it.
  prev_chain_known_ = from_seq == 1;
  prev_chain_ = genesis_chain(options_.ledger_id);
  if (high <= low) return status::ok();

  journal_entry e;
  std::int64_t found = 0;
  if (auto s = probe(low, ro_.request_timeout_ms, e, found); !s) return s;
  if (e.seq >= from_seq) {
    next_offset_ = found;
    if (e.seq == from_seq) return status::ok();
    return status::corruption("seq " + std::to_string(from_seq) + " is not in events topic " +
                              options_.events_topic + ": its first record (offset " + std::to_string(found) +
                              ") holds seq " + std::to_string(e.seq));
  }
  // Invariant: the record at lo has a seq below from_seq; hi is high or a
  // record with a seq at or above it. The answer is hi once they touch.
  std::int64_t lo = found, hi = high;
  auto narrow = [&](std::int64_t f, std::uint64_t seq) {
    if (f >= hi) lo = hi - 1;  // nothing in [probe, hi)
    else if (seq < from_seq) lo = f;
    else hi = f;
  };
  // Without duplicates, seqs are consecutive from the first record, so the
  // first guess is exact.
  if (from_seq - e.seq < static_cast<std::uint64_t>(high - found)) {
    std::int64_t guess = found + static_cast<std::int64_t>(from_seq - e.seq);
    if (auto s = probe(guess, ro_.request_timeout_ms, e, found); !s) return s;
    if (e.seq == from_seq) {
      next_offset_ = found;
      return status::ok();
    }
    narrow(found, e.seq);
  }
  while (hi - lo > 1) {
    std::int64_t mid = lo + (hi - lo) / 2;
    if (auto s = probe(mid, ro_.request_timeout_ms, e, found); !s) return s;
    narrow(found, e.seq);
  }
  next_offset_ = hi;
  return status::ok();
}

status event_reader::decode(const rd_kafka_message_t* m, journal_entry& out) const {
  auto key = view_of(m->key, m->key_len);
  auto seq = from_be64(key);
  if (!seq) return corrupt(m->offset, "the key is not an 8-byte seq");
  auto seq_header = header(m, "seq");
  if (!seq_header || *seq_header != key) return corrupt(m->offset, "the seq header is missing or differs from the key");
  auto chain_header = header(m, "chain");
  if (!chain_header || chain_header->size() != 32) return corrupt(m->offset, "the chain header is missing or not 32 bytes");
  auto format = header(m, "format");
  if (!format || *format != "1") return corrupt(m->offset, "the format header is missing or not \"1\"");
  std::string_view event_bytes;
  hash256 chain{};
  if (auto s = split_journal_record(view_of(m->payload, m->len), event_bytes, chain); !s)
    return corrupt(m->offset, s.message());
  if (std::memcmp(chain.data(), chain_header->data(), chain.size()) != 0)
    return corrupt(m->offset, "the chain header differs from the value's chain hash");
  event ev;
  if (auto s = decode_event(event_bytes, ev); !s) return corrupt(m->offset, "the event does not decode: " + s.message());
  if (ev.seq != *seq)
    return corrupt(m->offset, "the key says seq " + std::to_string(*seq) + " but the event is seq " + std::to_string(ev.seq));
  out.seq = *seq;
  out.event_bytes.assign(event_bytes);
  out.chain = chain;
  return status::ok();
}

status event_reader::read(std::uint64_t from_seq, std::size_t max, std::vector<journal_entry>& out) {
  out.clear();
  if (from_seq == 0) from_seq = 1;
  max = std::min(max, ro_.read_events_max);
  if (max == 0) return status::ok();
  if (from_seq != next_seq_ || next_offset_ < 0) {
    if (auto s = locate(from_seq); !s) {
      next_seq_ = 0;
      return s;
    }
  }
  if (consumer_offset_ != next_offset_)
    if (auto s = assign_at(next_offset_); !s) return s;
  // Records below the high watermark are there: wait for them as long as a
  // request may take. Past it, wait poll_ms for new ones, and only while
  // there is nothing to return.
  auto poll_deadline = after_ms(ro_.poll_ms);
  auto fetch_deadline = after_ms(ro_.request_timeout_ms);
  while (out.size() < max) {
    bool expected = next_offset_ < high_watermark();
    int wait_ms = expected ? ms_left(fetch_deadline) : out.empty() ? ms_left(poll_deadline) : 0;
    message m;
    if (auto s = poll(wait_ms, m); !s) {
      consumer_offset_ = -1;
      return out.empty() ? s : status::ok();
    }
    if (!m && expected && out.empty()) {
      consumer_offset_ = -1;
      return status::unavailable("events topic " + options_.events_topic + ": offset " + std::to_string(next_offset_) +
                                 " was not delivered within " + std::to_string(ro_.request_timeout_ms) + " ms");
    }
    if (!m) break;
    if (m->offset < next_offset_) continue;  // fetched before a re-assignment
    consumer_offset_ = m->offset + 1;
    known_high_ = std::max(known_high_, m->offset + 1);
    journal_entry e;
    status bad = decode(m.get(), e);
    if (bad && e.seq < next_seq_) {  // a duplicate
      next_offset_ = m->offset + 1;
      continue;
    }
    if (bad && e.seq > next_seq_)
      bad = corrupt(m->offset, "seq " + std::to_string(next_seq_) + " is missing: this record holds seq " +
                                   std::to_string(e.seq));
    if (bad && prev_chain_known_ && chain_next(prev_chain_, e.event_bytes) != e.chain)
      bad = corrupt(m->offset, "the chain hash of seq " + std::to_string(e.seq) + " does not follow seq " +
                                   std::to_string(e.seq - 1));
    if (!bad) {
      // next_offset_ stays at this record, so the next read meets it again.
      consumer_offset_ = -1;
      return out.empty() ? bad : status::ok();
    }
    next_offset_ = m->offset + 1;
    ++next_seq_;
    prev_chain_ = e.chain;
    prev_chain_known_ = true;
    seen_seq_ = std::max(seen_seq_, e.seq);
    out.push_back(std::move(e));
  }
  return status::ok();
}

// Not kafka::watermarks: rd_kafka_query_watermark_offsets ignores its timeout
// while the partition leader is down, up to librdkafka 2.3 (its issue
// #2588), and can then block until the broker is back. ListOffsets through
// rd_kafka_offsets_for_times keeps its timeout; timestamps -2 and -1 ask for
// the earliest and the latest offset.
status event_reader::query_watermarks(int timeout_ms, std::int64_t& low, std::int64_t& high) {
  auto deadline = after_ms(timeout_ms);
  std::int64_t found[2] = {0, 0};
  const std::int64_t which[2] = {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END};
  for (int i = 0; i < 2; ++i) {
    partition_list list(rd_kafka_topic_partition_list_new(1));
    auto* p = rd_kafka_topic_partition_list_add(list.get(), options_.events_topic.c_str(), 0);
    p->offset = which[i];
    auto err = rd_kafka_offsets_for_times(consumer_.get(), list.get(), std::max(ms_left(deadline), 1));
    if (!err) err = p->err;
    if (err) return error_status(err, "offsets of " + options_.events_topic);
    if (p->offset < 0) return status::unavailable("offsets of " + options_.events_topic + ": none returned");
    found[i] = p->offset;
  }
  low = found[0];
  high = found[1];
  return status::ok();
}

std::int64_t event_reader::high_watermark() {
  // The consumer learns the high watermark from each fetch response.
  std::int64_t low = 0, high = -1;
  if (rd_kafka_get_watermark_offsets(consumer_.get(), options_.events_topic.c_str(), 0, &low, &high) ==
      RD_KAFKA_RESP_ERR_NO_ERROR)
    known_high_ = std::max(known_high_, high);
  return known_high_;
}

status event_reader::last(journal_entry& out) { return last_within(ro_.request_timeout_ms, out); }

status event_reader::last_within(int timeout_ms, journal_entry& out) {
  out = journal_entry{};
  auto deadline = after_ms(timeout_ms);
  if (auto s = check_topic(timeout_ms); !s) return s;
  std::int64_t low = 0, high = 0;
  if (auto s = query_watermarks(std::max(ms_left(deadline), 1), low, high); !s) return s;
  known_high_ = std::max(known_high_, high);
  if (high <= low) return status::ok();
  std::int64_t found = 0;
  if (auto s = probe(high - 1, std::max(ms_left(deadline), 1), out, found); !s) return s;
  seen_seq_ = std::max(seen_seq_, out.seq);
  return status::ok();
}

bool event_reader::wait_for(std::uint64_t seq, int timeout_ms) {
  if (seq <= seen_seq_) return true;
  auto deadline = after_ms(timeout_ms);
  for (;;) {
    journal_entry e;
    if (last_within(std::max(ms_left(deadline), 1), e) && e.seq >= seq) return true;
    int left = ms_left(deadline);
    if (left == 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, std::max(ro_.poll_ms, 1))));
  }
}

ledger_head event_reader::head() {
  journal_entry e;
  if (!last(e)) return last_head_;
  if (e.seq == 0) return last_head_ = ledger_head{0, genesis_chain(options_.ledger_id), 0, 0};
  event ev;
  if (!decode_event(e.event_bytes, ev)) return last_head_;  // decode() already checked it
  last_head_ = ledger_head{e.seq, e.chain, ev.log_ts_us, ev.input_pos};
  return last_head_;
}

journal_source event_reader::source() {
  return journal_source{
      [this](std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) { return read(from, max, out); },
      [this](std::uint64_t seq, int timeout_ms) { return wait_for(seq, timeout_ms); }, [this] { return head(); },
      genesis_chain(options_.ledger_id)};
}

}  // namespace ledger::kafka
