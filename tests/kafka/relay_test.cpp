// The outbox relay (engine journal -> events topic) and the events topic read
// back as a journal (event_reader), on librdkafka's mock cluster, with a real
// engine on RocksDB as the journal. Records written "by hand" follow the
// format of schemas/kafka_records.md independently of the relay's code.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "engine/chain.h"
#include "engine/journal_source.h"
#include "kafka/event_reader.h"
#include "kafka/relay.h"
#include "tests/engine/harness.h"
#include "tests/kafka/mock_cluster.h"

namespace {

using namespace ledger;
using ledger::testing::engine_harness;
using steady = std::chrono::steady_clock;

// A history of accepted and rejected events: an asset, system accounts, two
// wallets, a deposit, `transfers` transfers (submitted in groups, so engine
// batches hold several events) and one rejected overdraft.
void make_history(engine_harness& h, int transfers, const std::string& owner = "alice") {
  h.setup_basics();
  auto a = h.open_wallet(owner);
  auto b = h.open_wallet(owner + "-friend");
  h.fund(a, 1'000'000);
  std::vector<std::vector<command>> groups(1);
  for (int i = 0; i < transfers; ++i) {
    if (groups.back().size() == 25) groups.emplace_back();
    std::string key = owner + "-t" + std::to_string(i);
    groups.back().push_back(command{"tester", key, "req-" + key, transfer_cmd{a, b, "USD", 1 + i % 7, 0, key, ""}});
  }
  for (const auto& o : h.run_groups(std::move(groups))) engine_harness::must(o);
  auto rejected = h.run(transfer_cmd{b, a, "USD", 1'000'000'000, 0, "too much", ""});
  REQUIRE_FALSE(rejected.accepted());
}

std::vector<journal_entry> journal_of(engine& e) {
  std::vector<journal_entry> all, part;
  for (;;) {
    REQUIRE(e.storage().read_journal(all.size() + 1, 1000, part));
    if (part.empty()) return all;
    for (auto& p : part) all.push_back(std::move(p));
  }
}

// "" when `got` equals journal[from - 1 ...] entry for entry (seq, bytes,
// chain), else the first difference.
std::string differs(const std::vector<journal_entry>& got, const std::vector<journal_entry>& journal,
                    std::uint64_t from = 1) {
  if (got.size() != journal.size() - (from - 1))
    return "got " + std::to_string(got.size()) + " entries, expected " + std::to_string(journal.size() - (from - 1));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& want = journal[from - 1 + i];
    if (got[i].seq != want.seq) return "entry " + std::to_string(i) + " has seq " + std::to_string(got[i].seq);
    if (got[i].event_bytes != want.event_bytes) return "seq " + std::to_string(want.seq) + ": bytes differ";
    if (got[i].chain != want.chain) return "seq " + std::to_string(want.seq) + ": chain differs";
  }
  return "";
}

// Reads from `from` until `last_seq` (or 10 s pass), each read checked.
std::vector<journal_entry> read_until(kafka::event_reader& r, std::uint64_t from, std::uint64_t last_seq,
                                      std::size_t max = 1000) {
  std::vector<journal_entry> all, got;
  auto deadline = steady::now() + std::chrono::seconds(10);
  while (from <= last_seq && steady::now() < deadline) {
    auto s = r.read(from, max, got);
    INFO(s.to_string());
    REQUIRE(s);
    REQUIRE(got.size() <= max);
    for (auto& e : got) all.push_back(std::move(e));
    from += got.size();
  }
  return all;
}

struct raw_record {
  std::string key, value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A record exactly as schemas/kafka_records.md describes it.
raw_record record_of(const journal_entry& e) {
  std::string seq = kafka::be64(e.seq);
  return raw_record{seq,
                    encode_journal_record(e.event_bytes, e.chain),
                    {{"seq", seq}, {"chain", std::string(e.chain.begin(), e.chain.end())}, {"format", "1"}}};
}

std::int64_t high_watermark(const kafka::options& o) {
  kafka::handle p;
  REQUIRE(kafka::make_producer(o, {}, p));
  std::int64_t low = 0, high = 0;
  REQUIRE(kafka::watermarks(p.get(), o.events_topic, 0, 5000, low, high));
  return high;
}

// Appends records to partition 0 of the events topic, and checks they landed.
void produce_raw(const kafka::options& o, const std::vector<raw_record>& records) {
  std::int64_t before = high_watermark(o);
  kafka::handle p;
  REQUIRE(kafka::make_producer(o, {}, p));
  for (const auto& r : records) {
    rd_kafka_headers_t* hs = rd_kafka_headers_new(r.headers.size());
    for (const auto& [name, value] : r.headers)
      rd_kafka_header_add(hs, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    auto err = rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(o.events_topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(r.key.data(), r.key.size()),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                                 RD_KAFKA_V_HEADERS(hs), RD_KAFKA_V_END);
    if (err) rd_kafka_headers_destroy(hs);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  REQUIRE(rd_kafka_flush(p.get(), 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(high_watermark(o) == before + static_cast<std::int64_t>(records.size()));
}

std::unique_ptr<kafka::event_reader> open_reader(const kafka::options& o, int request_timeout_ms = 5000) {
  kafka::event_reader_options ro;
  ro.request_timeout_ms = request_timeout_ms;
  std::unique_ptr<kafka::event_reader> r;
  REQUIRE(kafka::event_reader::open(o, ro, r));
  return r;
}

kafka::relay_options quick(std::size_t batch_events_max = 5000) {
  kafka::relay_options ro;
  ro.batch_events_max = batch_events_max;
  ro.idle_wait_ms = 20;
  ro.retry_min_ms = 20;
  ro.retry_max_ms = 200;
  ro.delivery_timeout_ms = 1500;
  return ro;
}

// A separate one-partition events topic on the cluster, for one case.
kafka::options with_topic(testing::mock_cluster& mc, kafka::options o, const std::string& topic) {
  o.events_topic = topic;
  REQUIRE(rd_kafka_mock_topic_create(mc.get(), topic.c_str(), 1, 3) == RD_KAFKA_RESP_ERR_NO_ERROR);
  return o;
}

}  // namespace

// A mock cluster with the ledger's topics, and an engine to fill a journal.
struct relay_env {
  testing::mock_cluster mc;
  kafka::options o = ready(mc);
  engine_harness h;
  static kafka::options ready(testing::mock_cluster& c) {
    auto opts = c.options();
    c.create_topics(opts);
    return opts;
  }
};

TEST_CASE_FIXTURE(relay_env, "relay: publishes the whole journal; event_reader returns it and its head") {
  make_history(h, 300);
  const std::uint64_t first_head = h.eng().head().seq;
  REQUIRE(first_head > 300);

  kafka::relay r(o, engine_journal(h.eng()), quick(64));
  r.start();
  REQUIRE(r.wait_for(first_head, 15'000));
  // Events committed while the relay runs follow.
  auto w = h.open_wallet("carol");
  h.fund(w, 500);
  h.fund(w, 700);
  const auto head = h.eng().head();
  REQUIRE(head.seq == first_head + 3);
  REQUIRE(r.wait_for(head.seq, 10'000));
  r.stop();

  auto st = r.stats();
  CHECK(st.published_seq == head.seq);
  CHECK(st.published == head.seq);
  CHECK(st.failures == 0);
  CHECK(st.healthy);
  CHECK(high_watermark(o) == static_cast<std::int64_t>(head.seq));  // one record per event, none twice

  auto journal = journal_of(h.eng());
  REQUIRE(journal.size() == head.seq);
  auto reader = open_reader(o);
  auto got = read_until(*reader, 1, head.seq, 100);
  CHECK(differs(got, journal) == "");

  auto th = reader->head();
  CHECK(th.seq == head.seq);
  CHECK(th.chain == head.chain);
  CHECK(th.log_ts_us == head.log_ts_us);
  event last;
  REQUIRE(decode_event(journal.back().event_bytes, last));
  CHECK(th.input_pos == last.input_pos);

  // Nothing after the head: an empty read, and wait_for times out.
  std::vector<journal_entry> none;
  REQUIRE(reader->read(head.seq + 1, 10, none));
  CHECK(none.empty());
  CHECK(reader->wait_for(head.seq, 0));
  CHECK_FALSE(reader->wait_for(head.seq + 1, 200));

  // The reader as a journal_source.
  auto src = reader->source();
  REQUIRE(src.read(head.seq - 4, 3, got));
  REQUIRE(got.size() == 3);
  CHECK(got[0].seq == head.seq - 4);
  CHECK(got[2].event_bytes == journal[head.seq - 3].event_bytes);
  CHECK(src.head().seq == head.seq);
}

TEST_CASE_FIXTURE(relay_env, "relay: after a crash it resumes from the topic's last seq; a duplicate is read once") {
  make_history(h, 100);
  const auto journal = journal_of(h.eng());
  const std::uint64_t n = journal.size();

  {
    kafka::relay r1(o, engine_journal(h.eng()), quick(7));
    std::size_t published = 0;
    REQUIRE(r1.step(published));
    CHECK(published == 7);
    REQUIRE(r1.step(published));
    CHECK(published == 7);
    CHECK(r1.stats().published_seq == 14);
    CHECK(high_watermark(o) == 14);
  }  // the relay "crashes" here
  // Its last record was written but its acknowledgement lost: a retry
  // publishes it once more.
  produce_raw(o, {record_of(journal[13])});
  REQUIRE(high_watermark(o) == 15);

  kafka::relay r2(o, engine_journal(h.eng()), quick(1000));
  std::size_t published = 0;
  REQUIRE(r2.step(published));
  CHECK(published == n - 14);  // from seq 15: nothing republished, nothing skipped
  CHECK(r2.stats().published_seq == n);
  CHECK(high_watermark(o) == static_cast<std::int64_t>(n + 1));
  REQUIRE(r2.step(published));
  CHECK(published == 0);

  auto reader = open_reader(o);
  CHECK(differs(read_until(*reader, 1, n), journal) == "");
  // Reading across the duplicate in small steps returns each seq once.
  auto around = read_until(*reader, 12, 17, 2);
  CHECK(differs(around, std::vector<journal_entry>(journal.begin(), journal.begin() + 17), 12) == "");
}

TEST_CASE("event_reader: a missing seq and malformed records are errors naming them") {
  testing::mock_cluster mc;
  auto base = mc.options();
  mc.create_topics(base);
  engine_harness h;
  make_history(h, 5);
  const auto journal = journal_of(h.eng());
  REQUIRE(journal.size() >= 6);

  SUBCASE("a gap") {
    auto o = with_topic(mc, base, "gap.events");
    produce_raw(o, {record_of(journal[0]), record_of(journal[1]), record_of(journal[3])});
    auto reader = open_reader(o);
    std::vector<journal_entry> got;
    REQUIRE(reader->read(1, 10, got));
    REQUIRE(got.size() == 2);
    CHECK(got[0].seq == 1);
    CHECK(got[1].seq == 2);
    auto s = reader->read(3, 10, got);
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("seq 3 is missing") != std::string::npos);
    CHECK(s.message().find("offset 2") != std::string::npos);
    CHECK(got.empty());
    // The error stays (the topic does not change), and a seek finds it too.
    CHECK(reader->read(3, 10, got).error_code() == status::code::corruption);
    REQUIRE(reader->read(1, 10, got));
    CHECK(got.size() == 2);
    auto fresh = open_reader(o);
    s = fresh->read(3, 10, got);
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("seq 3 is missing") != std::string::npos);
    // Seq 4 itself is there.
    REQUIRE(fresh->read(4, 10, got));
    REQUIRE(got.size() == 1);
    CHECK(got[0].event_bytes == journal[3].event_bytes);
  }

  SUBCASE("a topic whose first seq is gone (retention)") {
    auto o = with_topic(mc, base, "late.events");
    produce_raw(o, {record_of(journal[2]), record_of(journal[3])});
    auto reader = open_reader(o);
    std::vector<journal_entry> got;
    auto s = reader->read(1, 10, got);
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("seq 1 is not in") != std::string::npos);
    REQUIRE(reader->read(3, 10, got));
    CHECK(got.size() == 2);
  }

  SUBCASE("malformed records") {
    struct bad_case {
      std::string name;
      raw_record second;  // written at offset 1, after a good seq 1
      std::string says;
    };
    auto r2 = record_of(journal[1]);
    std::vector<bad_case> cases;
    {
      auto r = r2;
      r.value.resize(r.value.size() - 40);  // the chain and some event bytes cut off
      cases.push_back({"truncated.events", r, "offset 1"});
    }
    {
      auto r = r2;
      r.value[0] = 9;  // an event version nobody knows
      cases.push_back({"version.events", r, "does not decode"});
    }
    {
      auto r = r2;
      r.headers.erase(r.headers.begin() + 1);  // no chain header
      cases.push_back({"nochain.events", r, "chain header"});
    }
    {
      auto r = r2;
      r.headers[0].second = kafka::be64(7);  // seq header differs from the key
      cases.push_back({"seqhdr.events", r, "seq header"});
    }
    {
      auto r = record_of(journal[2]);  // seq 3's event under key and header 2
      r.key = r.headers[0].second = kafka::be64(2);
      cases.push_back({"mislabelled.events", r, "the event is seq 3"});
    }
    {
      auto r = r2;
      r.headers[2].second = "2";
      cases.push_back({"format.events", r, "format header"});
    }
    {
      // A self-consistent record whose chain hash does not follow seq 1: an
      // event altered by someone who rehashed it alone.
      event ev;
      REQUIRE(decode_event(journal[1].event_bytes, ev));
      ev.request_id = "forged";
      journal_entry forged{2, encode_event(ev), {}};
      forged.chain = chain_next(hash256{}, forged.event_bytes);
      cases.push_back({"forged.events", record_of(forged), "chain hash of seq 2 does not follow seq 1"});
    }
    for (const auto& c : cases) {
      INFO(c.name);
      auto o = with_topic(mc, base, c.name);
      produce_raw(o, {record_of(journal[0]), c.second, record_of(journal[2])});
      auto reader = open_reader(o);
      std::vector<journal_entry> got;
      REQUIRE(reader->read(1, 10, got));  // what comes before the bad record
      REQUIRE(got.size() == 1);
      CHECK(got[0].seq == 1);
      auto s = reader->read(2, 10, got);
      INFO(s.to_string());
      CHECK(s.error_code() == status::code::corruption);
      CHECK(s.message().find("offset 1") != std::string::npos);
      CHECK(s.message().find(c.says) != std::string::npos);
      CHECK(got.empty());
    }
  }

  SUBCASE("a topic with more than one partition") {
    auto o = base;
    o.events_topic = "four.events";
    REQUIRE(rd_kafka_mock_topic_create(mc.get(), o.events_topic.c_str(), 4, 3) == RD_KAFKA_RESP_ERR_NO_ERROR);
    auto reader = open_reader(o);
    std::vector<journal_entry> got;
    CHECK(reader->read(1, 10, got).error_code() == status::code::invalid_argument);
  }
}

TEST_CASE_FIXTURE(relay_env, "event_reader: seeks to any seq, also across duplicates") {
  make_history(h, 60);
  const auto journal = journal_of(h.eng());
  const std::uint64_t n = journal.size() - 5;  // the last five come later
  REQUIRE(n > 50);

  // seqs 1..n with what crashed relays leave: 10 twice, 19-20 again after
  // 20, 30 four times, n twice.
  std::vector<raw_record> records;
  for (std::uint64_t seq = 1; seq <= n; ++seq) {
    records.push_back(record_of(journal[seq - 1]));
    if (seq == 10) records.push_back(record_of(journal[9]));
    if (seq == 20) {
      records.push_back(record_of(journal[18]));
      records.push_back(record_of(journal[19]));
    }
    if (seq == 30)
      for (int i = 0; i < 3; ++i) records.push_back(record_of(journal[29]));
    if (seq == n) records.push_back(record_of(journal[n - 1]));
  }
  produce_raw(o, records);
  REQUIRE(high_watermark(o) == static_cast<std::int64_t>(n + 7));

  auto reader = open_reader(o);
  auto prefix = std::vector<journal_entry>(journal.begin(), journal.begin() + static_cast<std::ptrdiff_t>(n));
  for (std::uint64_t k : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{10}, std::uint64_t{11},
                          std::uint64_t{19}, std::uint64_t{20}, std::uint64_t{21}, std::uint64_t{30},
                          std::uint64_t{31}, std::uint64_t{45}, n - 1, n, std::uint64_t{5}, std::uint64_t{1}}) {
    INFO("from seq " << k);
    std::vector<journal_entry> got;
    REQUIRE(reader->read(k, 3, got));
    REQUIRE_FALSE(got.empty());
    CHECK(got.front().seq == k);
    CHECK(got.size() == std::min<std::uint64_t>(3, n - k + 1));
    CHECK(differs(read_until(*reader, k, n), prefix, k) == "");
  }

  // Past the end: nothing yet; then the rest arrives and a read continues.
  std::vector<journal_entry> got;
  REQUIRE(reader->read(n + 1, 10, got));
  CHECK(got.empty());
  CHECK_FALSE(reader->wait_for(n + 1, 150));
  std::vector<raw_record> rest;
  for (std::uint64_t seq = n + 1; seq <= journal.size(); ++seq) rest.push_back(record_of(journal[seq - 1]));
  produce_raw(o, rest);
  CHECK(reader->wait_for(journal.size(), 5000));
  CHECK(differs(read_until(*reader, n + 1, journal.size()), journal, n + 1) == "");
}

TEST_CASE_FIXTURE(relay_env, "relay: brokers down fails a round in bounded time; it completes the topic when they are back") {
  make_history(h, 40);

  kafka::relay r(o, engine_journal(h.eng()), quick(20));
  std::size_t published = 0;
  REQUIRE(r.step(published));
  REQUIRE(published == 20);

  mc.all_brokers(false);
  auto t0 = steady::now();
  auto s = r.step(published);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  MESSAGE("a round with brokers down failed after " << ms << " ms: " << s.to_string());
  CHECK_FALSE(s);
  CHECK(s.retryable());
  CHECK(published == 0);
  CHECK(ms < 1500 + 1000 + 1000);  // delivery_timeout_ms + grace + slack
  // The next round must resume from the topic, which is down too.
  t0 = steady::now();
  CHECK_FALSE(r.step(published));
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  CHECK(ms < 1500 + 1000 + 1000);
  auto st = r.stats();
  CHECK(st.published_seq == 20);
  CHECK(st.failures == 2);
  CHECK_FALSE(st.healthy);
  CHECK_FALSE(st.last_error.empty());

  // A reader fails in bounded time too, and closes while the brokers are down.
  t0 = steady::now();
  {
    auto down_reader = open_reader(o, 1000);
    std::vector<journal_entry> got;
    auto rs = down_reader->read(1, 10, got);
    CHECK(rs.error_code() == status::code::unavailable);
    CHECK(got.empty());
    CHECK_FALSE(down_reader->wait_for(1, 300));
  }
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  MESSAGE("a reader with brokers down failed and closed after " << ms << " ms");
  CHECK(ms < 5000);

  // The ledger goes on meanwhile.
  auto w = h.open_wallet("dave");
  h.fund(w, 42);
  const auto head = h.eng().head();

  // The relay's thread retries, backing off, until the brokers are back.
  r.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(r.stats().published_seq == 20);
  mc.all_brokers(true);
  REQUIRE(r.wait_for(head.seq, 15'000));
  r.stop();
  st = r.stats();
  REQUIRE(st.published_seq == head.seq);
  CHECK(st.healthy);

  auto records = high_watermark(o);
  MESSAGE("events topic holds " << records << " records for " << head.seq << " events");
  CHECK(records >= static_cast<std::int64_t>(head.seq));
  auto journal = journal_of(h.eng());
  auto reader = open_reader(o);
  CHECK(differs(read_until(*reader, 1, head.seq), journal) == "");
  CHECK(reader->head().seq == head.seq);
}

TEST_CASE("relay: refuses a topic that holds another ledger's events") {
  testing::mock_cluster mc;
  auto o = mc.options();
  mc.create_topics(o);
  engine_harness mine, other;
  make_history(mine, 10, "alice");
  make_history(other, 10, "mallory");

  kafka::relay theirs(o, engine_journal(other.eng()), quick());
  std::size_t published = 0;
  REQUIRE(theirs.step(published));
  REQUIRE(published == other.eng().head().seq);

  kafka::relay r(o, engine_journal(mine.eng()), quick());
  auto s = r.step(published);
  CHECK(s.error_code() == status::code::corruption);
  CHECK(s.message().find("differs from the journal") != std::string::npos);
  CHECK(published == 0);
  CHECK_FALSE(r.stats().healthy);
  CHECK(high_watermark(o) == static_cast<std::int64_t>(other.eng().head().seq));
}
