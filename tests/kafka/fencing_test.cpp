// Engine failover and fencing, in this process: two engines on the Kafka log
// (separate stores, one consumer group) and an API-side submitter, on the
// mock cluster. The active engine is stalled between its durable commit and
// its release (a test hook at the seam the log owns); the group moves the
// partition to the standby, which answers; when the stalled engine wakes up
// its release is refused and it says nothing.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

#include "engine/engine.h"
#include "kafka/engine_log.h"
#include "kafka/submitter.h"
#include "tests/kafka/mock_cluster.h"
#include "tests/support/temp_dir.h"
#include "tools/system_clock.h"

using namespace ledger;
using namespace std::chrono_literals;

namespace {

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds deadline = 30s) {
  for (auto until = std::chrono::steady_clock::now() + deadline; std::chrono::steady_clock::now() < until;) {
    if (p()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return p();
}

// A gate the test opens and closes: while closed, the engine's release
// waits in it (the writer or committer thread stalls, as on a dead disk).
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  bool someone_waiting = false;
  void pass() {
    std::unique_lock lock(mu);
    if (!closed) return;
    someone_waiting = true;
    cv.notify_all();
    cv.wait(lock, [&] { return !closed; });
    someone_waiting = false;
  }
  void set(bool c) {
    {
      std::lock_guard lock(mu);
      closed = c;
    }
    cv.notify_all();
  }
  bool waiting() {
    std::lock_guard lock(mu);
    return someone_waiting;
  }
};

struct node {
  testing::temp_dir dir;
  system_clock_source clk;
  gate release_gate;
  std::unique_ptr<kafka::engine_log> log;
  std::unique_ptr<engine> eng;

  explicit node(const kafka::options& o) {
    kafka::engine_log_options lo;
    lo.max_poll_interval_ms = o.session_timeout_ms;  // a stall this long drops it from the group
    lo.before_release_hook = [this] { release_gate.pass(); };
    REQUIRE(kafka::engine_log::open(o, lo, log));
    engine_options eo;
    eo.store.path = (dir.path() / "ledger").string();
    eo.clk = &clk;
    eo.log = log.get();
    REQUIRE(engine::open(eo, eng));
  }
  bool active() const { return log->role() == kafka::engine_role::active; }
};

std::vector<outcome> run(kafka::submitter& s, std::vector<command> cmds, std::chrono::milliseconds deadline = 20s) {
  auto p = std::make_shared<std::promise<std::vector<outcome>>>();
  auto f = p->get_future();
  REQUIRE(s.submit(std::move(cmds), [p](std::vector<outcome>&& o) { p->set_value(std::move(o)); }) == append_result::ok);
  REQUIRE(f.wait_for(deadline) == std::future_status::ready);
  return f.get();
}

// The mock cluster with the ledger's topics, and an API-side submitter.
struct cluster {
  testing::mock_cluster mc;
  kafka::options o;
  std::unique_ptr<kafka::submitter> api;
  explicit cluster(int session_timeout_ms = 0, int request_timeout_ms = 0) : o(mc.options()) {
    if (session_timeout_ms) o.session_timeout_ms = session_timeout_ms;
    if (request_timeout_ms) o.request_timeout_ms = request_timeout_ms;
    mc.create_topics(o);
    auto api_opts = o;
    api_opts.instance_id = "api-test";
    REQUIRE(kafka::submitter::open(api_opts, {}, api));
  }
  // Registers USD, opens clearing:psp and alice's wallet (outcomes 0-2).
  std::vector<outcome> setup() {
    auto outs = run(*api, {{"t", "usd", "", register_asset_cmd{"USD", 2, 1, amount_limit}},
                           {"t", "clearing", "", open_account_cmd{account_kind::system, "clearing:psp", {}}},
                           {"t", "alice", "", open_account_cmd{account_kind::user, "alice", {{"USD", 0, 0}}}}});
    REQUIRE(outs.size() == 3);
    for (const auto& out : outs) REQUIRE_MESSAGE(out.accepted(), (out.error.to_string() + " " + out.detail));
    return outs;
  }
};

}  // namespace

TEST_CASE("fencing: a stalled engine loses the ledger; it never applies what follows the next engine's claim") {
  cluster c(6'000, 90'000);  // sessions above the mock's 3 s initial rebalance delay
  auto& o = c.o;
  auto& api = c.api;
  node stalled(o);
  REQUIRE(eventually([&] { return stalled.active(); }));
  auto setup = c.setup();
  std::uint64_t alice = setup[2].account_id;
  CHECK(stalled.log->stats().claims == 1);

  // The engine decides a deposit, makes it durable, and stalls before
  // releasing it: its writer thread is blocked, it stops polling the group.
  stalled.release_gate.set(true);
  auto p = std::make_shared<std::promise<std::vector<outcome>>>();
  auto answer = p->get_future();
  REQUIRE(api->submit({{"t", "dep-1", "", deposit_cmd{alice, "USD", 1000, "psp", "ref-1", ""}}},
                      [p](std::vector<outcome>&& outs) { p->set_value(std::move(outs)); }) == append_result::ok);
  REQUIRE(eventually([&] { return stalled.release_gate.waiting(); }));
  const std::uint64_t dep_seq = setup[2].seq + 1;
  CHECK(stalled.eng->storage().head().seq == dep_seq);  // durable in its store, not released
  CHECK(stalled.eng->head().seq == dep_seq - 1);

  // Past its poll interval librdkafka takes it out of the group; the next
  // engine (a fresh store) gets the partition, appends its claim, applies
  // the log from the start and answers the waiting request.
  node next(o);
  REQUIRE(eventually([&] { return next.active(); }, 40s));
  REQUIRE(answer.wait_for(40s) == std::future_status::ready);
  auto outs = answer.get();
  REQUIRE(outs.size() == 1);
  CHECK_MESSAGE(outs[0].accepted(), outs[0].error.to_string());
  CHECK(outs[0].seq == dep_seq);

  // The stalled engine wakes up. What it decided came before the claim, so
  // it may still release it (the same outcome: the writer is deterministic),
  // but it learns that it lost the ledger and stops.
  stalled.release_gate.set(false);
  REQUIRE(eventually([&] { return stalled.log->role() == kafka::engine_role::fenced; }));
  INFO("fenced because: ", stalled.log->stats().fence_reason);
  journal_entry mine, theirs;
  REQUIRE(stalled.eng->storage().read_event(dep_seq, mine));
  REQUIRE(next.eng->storage().read_event(dep_seq, theirs));
  CHECK(mine.event_bytes == theirs.event_bytes);
  CHECK(mine.chain == theirs.chain);

  // Commands after the claim are the new owner's alone.
  auto replies = stalled.log->stats().replies;
  auto more = run(*api, {{"t", "dep-2", "", deposit_cmd{alice, "USD", 250, "psp", "ref-2", ""}}});
  REQUIRE(more.size() == 1);
  CHECK(more[0].accepted());
  CHECK(more[0].seq == dep_seq + 1);
  bool found = false;
  for (const auto& b : more[0].balances)
    if (b.account == alice) {
      CHECK(b.posted_after == 1250);
      found = true;
    }
  CHECK(found);
  CHECK(next.eng->head().seq == dep_seq + 1);
  CHECK(stalled.eng->storage().head().seq == dep_seq);  // never applied it
  CHECK(stalled.log->stats().replies == replies);
  api->stop();
}

TEST_CASE("fencing: the log's order decides: an engine stops at another engine's claim, even one it was not told about") {
  cluster c(0, 60'000);
  auto& o = c.o;
  auto& api = c.api;
  node a(o);
  REQUIRE(eventually([&] { return a.active(); }));
  std::uint64_t alice = c.setup()[2].account_id;
  const auto head = a.eng->head().seq;

  // A split brain: some other engine believes it owns the ledger and claims
  // it (written by hand here), while the group still says `a`.
  kafka::handle p;
  REQUIRE(kafka::make_producer(o, {}, p));
  std::string claim = "rogue/1", value = "claim";
  REQUIRE(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(o.commands_topic.c_str()), RD_KAFKA_V_PARTITION(0),
                            RD_KAFKA_V_VALUE(value.data(), value.size()),
                            RD_KAFKA_V_HEADER("claim", claim.data(), static_cast<ssize_t>(claim.size())),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_flush(p.get(), 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  auto late = std::make_shared<std::promise<std::vector<outcome>>>();
  auto answer = late->get_future();
  REQUIRE(api->submit({{"t", "dep-1", "", deposit_cmd{alice, "USD", 500, "psp", "ref-1", ""}}},
                      [late](std::vector<outcome>&& outs) { late->set_value(std::move(outs)); }) == append_result::ok);

  REQUIRE(eventually([&] { return a.log->role() == kafka::engine_role::fenced; }));
  CHECK(a.log->stats().fence_reason.find("rogue/1") != std::string::npos);
  CHECK(a.eng->storage().head().seq == head);  // the deposit after the claim was not applied

  // The next engine claims after the rogue one; the rogue claim lies before
  // its own, so it applies the deposit and answers.
  node b(o);
  REQUIRE(eventually([&] { return b.active(); }, 40s));
  REQUIRE(answer.wait_for(40s) == std::future_status::ready);
  auto outs = answer.get();
  CHECK(outs.at(0).accepted());
  CHECK(outs.at(0).seq == head + 1);
  CHECK(a.eng->storage().head().seq == head);
  api->stop();
}

TEST_CASE("fencing: records are decoded strictly; a bad record is answered with an error and skipped") {
  cluster c;
  auto& o = c.o;
  node one(o);
  REQUIRE(eventually([&] { return one.active(); }));
  // A record from a foreign producer with a reply-to header and garbage.
  kafka::handle p;
  REQUIRE(kafka::make_producer(o, {}, p));
  std::string corr = kafka::be64(7), garbage = "\x09not a submission";
  std::string to = "someone";
  REQUIRE(rd_kafka_producev(p.get(), RD_KAFKA_V_TOPIC(o.commands_topic.c_str()), RD_KAFKA_V_PARTITION(0),
                            RD_KAFKA_V_VALUE(garbage.data(), garbage.size()),
                            RD_KAFKA_V_HEADER("reply-to", to.data(), static_cast<ssize_t>(to.size())),
                            RD_KAFKA_V_HEADER("corr", corr.data(), 8), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_flush(p.get(), 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(eventually([&] { return one.log->stats().bad_records == 1; }));
  CHECK(one.eng->head().seq == 0);  // nothing applied
  // A good command after it is applied normally.
  auto& api = c.api;
  auto outs = run(*api, {{"t", "usd", "", register_asset_cmd{"USD", 2, 1, amount_limit}}});
  CHECK(outs.at(0).accepted());
  CHECK(outs.at(0).seq == 1);
  api->stop();
}

// Kafka API keys, for the mock's fault injection.
constexpr std::int16_t api_produce = 0;

TEST_CASE("faults: produce errors injected by the mock are retried by the idempotent producer; the command lands once") {
  cluster c;
  auto& mc = c.mc;
  auto& api = c.api;
  node one(c.o);
  REQUIRE(eventually([&] { return one.active(); }));
  std::uint64_t alice = c.setup()[2].account_id;
  auto records_before = one.log->stats().records;

  // The brokers refuse the next produce requests (not enough in-sync
  // replicas, then a leader change): retriable, so the producer retries.
  rd_kafka_mock_push_request_errors(mc.get(), api_produce, 3, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  auto outs = run(*api, {{"t", "dep-1", "", deposit_cmd{alice, "USD", 700, "psp", "r1", ""}}});
  REQUIRE(outs.size() == 1);
  CHECK(outs[0].accepted());
  CHECK_FALSE(outs[0].replay);
  CHECK(one.log->stats().records == records_before + 1);  // one record: no duplicate from the retries
  CHECK(outs[0].balances.size() == 2);

  api->stop();
}

TEST_CASE("warm standby: it applies the partition while it waits, answers nobody, and takes over where it is") {
  cluster c(0, 60'000);
  auto& o = c.o;
  auto& api = c.api;
  auto a = std::make_unique<node>(o);
  REQUIRE(eventually([&] { return a->active(); }));
  std::uint64_t alice = c.setup()[2].account_id;

  node b(o);
  for (int i = 0; i < 20; ++i) {
    auto outs = run(*api, {{"t", "dep-" + std::to_string(i), "", deposit_cmd{alice, "USD", 100, "psp", "", ""}}});
    REQUIRE(outs.at(0).accepted());
  }
  const auto head = a->eng->head().seq;
  REQUIRE(eventually([&] { return b.eng->head().seq == head; }));
  CHECK(b.log->role() == kafka::engine_role::standby);
  CHECK(b.log->stats().followed >= 20);
  CHECK(b.log->stats().replies == 0);
  CHECK(eventually([&] { return b.log->stats().lag_records == 0; }));
  // The same journal, event for event.
  journal_entry ja, jb;
  REQUIRE(a->eng->storage().read_event(head, ja));
  REQUIRE(b.eng->storage().read_event(head, jb));
  CHECK(ja.event_bytes == jb.event_bytes);
  CHECK(ja.chain == jb.chain);

  // The active engine stops (and leaves the group): the standby takes over
  // from where it already is.
  a.reset();
  REQUIRE(eventually([&] { return b.active(); }, 40s));
  auto outs = run(*api, {{"t", "dep-after", "", deposit_cmd{alice, "USD", 5, "psp", "", ""}}});
  CHECK(outs.at(0).accepted());
  CHECK(outs.at(0).seq == head + 1);
  bool found = false;
  for (const auto& bal : outs.at(0).balances)
    if (bal.account == alice) {
      CHECK(bal.posted_after == 2005);
      found = true;
    }
  CHECK(found);
  api->stop();
}
