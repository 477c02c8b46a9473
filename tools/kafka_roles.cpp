// ledgerd's Kafka modes: the engine (single writer behind a consumer group,
// with the outbox relay) and the stateless API instance.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "api/ops.h"
#include "api/problem.h"
#include "base/prometheus.h"
#include "engine/replica.h"
#include "kafka/engine_log.h"
#include "kafka/event_reader.h"
#include "kafka/relay.h"
#include "kafka/submitter.h"
#include "tools/ledgerd.h"
#include "tools/system_clock.h"

namespace ledger::tools {

namespace {

// Exit status of a fenced engine: EX_TEMPFAIL, restart it (as a standby).
constexpr int exit_fenced = 75;

void log_line(const std::string& s) {
  std::fprintf(stderr, "ledgerd: %s\n", s.c_str());
  std::fflush(stderr);
}

void create_topics_or_die(const config& cfg) {
  if (!cfg.kafka_create_topics) return;
  for (int attempt = 1;; ++attempt) {
    status s = kafka::create_topics(cfg.kafka, 10'000);
    if (s) return;
    if (attempt == 30) die("creating the Kafka topics: " + s.to_string());
    log_line("creating the Kafka topics: " + s.to_string() + "; retrying");
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

using prometheus::counter;
using prometheus::gauge;

// Reads ahead of a waiting request: the API instance's reads wait (bounded)
// until the replica holds what this instance has acknowledged.
class kafka_backend final : public api::backend {
 public:
  kafka_backend(kafka::submitter& sub, replica& rep, int read_wait_ms) : sub_(sub), rep_(rep), read_wait_ms_(read_wait_ms) {}

  append_result submit(std::vector<command>&& commands, completion done) override {
    return sub_.submit(std::move(commands), std::move(done));
  }
  status health() const override {
    if (!sub_.brokers_up()) return status::unavailable("the Kafka brokers are unreachable");
    return status::ok();
  }
  ledger_head head() const override { return rep_.head(); }
  std::uint64_t known_seq() const override { return std::max(sub_.last_seq(), rep_.head().seq); }
  const store& storage() const override {
    if (auto seq = sub_.last_seq(); rep_.head().seq < seq) rep_.wait_for_seq(seq, read_wait_ms_);
    return rep_.storage();
  }
  // The replica's commit signal: the event streams follow what it has applied.
  bool wait_for_seq(std::uint64_t seq, int timeout_ms) const override { return rep_.wait_for_seq(seq, timeout_ms); }
  std::string metrics() const override {
    auto st = sub_.stats();
    auto head = rep_.head();
    std::string out;
    out += gauge("ledger_kafka_brokers_up", "1 while the Kafka brokers are reachable.", st.brokers_up ? 1 : 0);
    out += gauge("ledger_kafka_requests_waiting", "Commands produced and waiting for their outcome.", double(st.in_flight));
    out += counter("ledger_kafka_commands_produced_total", "Records produced to the commands topic.", st.produced);
    out += counter("ledger_kafka_replies_total", "Outcomes received for waiting requests.", st.replies);
    out += counter("ledger_kafka_delivery_failures_total", "Records the commands topic did not take.", st.delivery_failures);
    out += counter("ledger_kafka_timeouts_total", "Requests answered 503 for want of an outcome in time.", st.timeouts);
    out += gauge("ledger_replica_seq", "Last event applied to this instance's replica.", double(head.seq));
    out += gauge("ledger_replica_lag_events", "Acknowledged events the replica has not applied yet.",
                 double(sub_.last_seq() > head.seq ? sub_.last_seq() - head.seq : 0));
    return out;
  }

 private:
  kafka::submitter& sub_;
  replica& rep_;
  int read_wait_ms_;
};

// Follows the events topic into the replica.
class replica_feed {
 public:
  replica_feed(kafka::event_reader& reader, replica& rep) : reader_(reader), rep_(rep) {
    thread_ = std::thread([this] { run(); });
  }
  ~replica_feed() {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    std::vector<journal_entry> batch;
    int backoff_ms = 100;
    std::string last_error;
    while (!stop_.load()) {
      status s = reader_.read(rep_.head().seq + 1, 5'000, batch);
      if (s && !batch.empty()) s = rep_.apply(batch);
      if (!s) {
        if (s.message() != last_error) log_line("replica: " + s.to_string() + "; retrying");
        last_error = s.message();
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min(backoff_ms * 2, 5'000);
        continue;
      }
      backoff_ms = 100;
      last_error.clear();
    }
  }
  kafka::event_reader& reader_;
  replica& rep_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

int run_kafka_serve(config& cfg) {
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  create_topics_or_die(cfg);
  std::unique_ptr<kafka::submitter> sub;
  if (auto s = kafka::submitter::open(cfg.kafka, {cfg.queue_max}, sub); !s) die("Kafka: " + s.to_string());
  std::unique_ptr<replica> rep;
  store_options so;
  so.path = (std::filesystem::path(cfg.data_dir) / "replica").string();
  so.sync = false;  // a replica is rebuilt from the events topic if lost
  so.ledger_id = cfg.ledger_id;
  if (auto s = replica::open(so, rep); !s) die("opening the replica at " + so.path + ": " + s.to_string());
  std::unique_ptr<kafka::event_reader> reader;
  if (auto s = kafka::event_reader::open(cfg.kafka, reader); !s) die("reading " + cfg.kafka.events_topic + ": " + s.to_string());
  auto feed = std::make_unique<replica_feed>(*reader, *rep);
  kafka_backend backend(*sub, *rep, cfg.min_seq_wait_ms);

  // The system accounts, through the log like any command (replays when
  // another instance did it first); retried until an engine answers.
  std::atomic<bool> stopping{false};
  std::thread defaults([&] {
    for (int attempt = 0; !stopping.load(); ++attempt) {
      status s = ensure_defaults([&](std::vector<command>&& c, completion d) { return backend.submit(std::move(c), std::move(d)); },
                                 cfg.dev, cfg.webhooks);
      if (s) return;
      if (attempt % 10 == 0) log_line("registering the default accounts: " + s.to_string() + "; retrying");
      for (int i = 0; i < 20 && !stopping.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  serve_hooks hooks;
  hooks.description = "Kafka API instance " + cfg.kafka.instance_id + ", brokers " + cfg.kafka.brokers + ", replica in " + so.path;
  hooks.drain_backend = [&] {
    // Outcomes of accepted commands still arrive; wait for them (bounded).
    for (int waited = 0; sub->stats().in_flight > 0 && waited < cfg.kafka.request_timeout_ms; waited += 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  serve_api(cfg, backend, hooks);
  stopping = true;
  defaults.join();
  sub->stop();
  feed.reset();
  log_line("stopped; replica at seq " + std::to_string(rep->head().seq));
  return 0;
}

// The Kafka engine's operations endpoints: active or standby, and its metrics.
static api::ops_probes engine_probes(engine& e, kafka::engine_log& log, kafka::relay& relay, std::string data_dir) {
  auto* eng = &e;
  auto* lg = &log;
  auto* rl = &relay;
  return api::ops_probes{
      [eng, lg] {
        // Codes only: the failure's text is in the log (run_kafka_engine).
        if (eng->failed()) return status::unavailable("engine-failed: " + std::string(api::reason_code(eng->failure())));
        if (lg->role() != kafka::engine_role::active) return status::unavailable("standby");
        return status::ok();
      },
      [lg] { return std::string(kafka::to_string(lg->role())); },
      [eng, lg, rl, data_dir] {
        auto ls = lg->stats();
        auto rs = rl->stats();
        std::string out = engine_metrics(*eng) + disk_metrics(data_dir);
        out += gauge("ledger_engine_active", "1 while this engine holds the ledger's partition.",
                     ls.role == kafka::engine_role::active ? 1 : 0);
        out += counter("ledger_kafka_records_total", "Records consumed from the commands topic.", ls.records);
        out += counter("ledger_kafka_bad_records_total", "Undecodable command records (answered with an error).", ls.bad_records);
        out += counter("ledger_kafka_followed_total", "Records applied as a warm standby.", ls.followed);
        if (ls.lag_records >= 0)
          out += gauge("ledger_kafka_lag_records", "Records in the ledger's partition this engine has not read yet.",
                       double(ls.lag_records));
        out += counter("ledger_kafka_replies_total", "Outcomes produced to the replies topic.", ls.replies);
        out += counter("ledger_kafka_reply_failures_total", "Outcomes that could not be produced.", ls.reply_failures);
        out += gauge("ledger_relay_published_seq", "Last event published to the events topic.", double(rs.published_seq));
        out += counter("ledger_relay_failures_total", "Failed relay rounds (retried).", rs.failures);
        return out;
      }};
}

// The engine's settings in Kafka mode: the commands topic is its log.
static engine_options kafka_engine_options(const config& cfg, system_clock_source& clk, kafka::engine_log& log) {
  engine_options eo;
  eo.store.path = store_path(cfg);
  eo.store.ledger_id = cfg.ledger_id;  // check_kafka set it
  eo.store.sync = cfg.sync;
  eo.batch_commands_max = cfg.batch_max;
  eo.snapshot_every_events = cfg.snapshot_every;
  eo.snapshots_retained_max = cfg.snapshot_retain;
  eo.snapshot_keep_every_events = cfg.snapshot_keep_every;
  eo.snapshot_dir = (std::filesystem::path(cfg.data_dir) / "snapshots").string();
  eo.clk = &clk;
  eo.log = &log;
  return eo;
}

int run_kafka_engine(config& cfg) {
  block_signals();
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  create_topics_or_die(cfg);

  std::mutex mu;
  std::condition_variable cv;
  bool signalled = false, activated = false, fenced = false;
  auto notify = [&](auto set) {
    {
      std::lock_guard lock(mu);
      set();
    }
    cv.notify_all();
  };

  kafka::engine_log_options lo;
  lo.on_active = [&](std::int64_t from_offset) {
    log_line("engine " + cfg.kafka.instance_id + ": active, reading " + cfg.kafka.commands_topic + " from offset " +
             std::to_string(from_offset));
    notify([&] { activated = true; });
  };
  lo.on_fenced = [&](const std::string& why) {
    log_line("engine " + cfg.kafka.instance_id + ": fenced: " + why);
    notify([&] { fenced = true; });
  };
  std::unique_ptr<kafka::engine_log> log;
  if (auto s = kafka::engine_log::open(cfg.kafka, lo, log); !s) die("Kafka: " + s.to_string());

  system_clock_source clk;
  engine_options eo = kafka_engine_options(cfg, clk, *log);
  std::unique_ptr<engine> eng;
  if (auto s = engine::open(eo, eng); !s) die("opening the ledger at " + eo.store.path + ": " + s.to_string());
  log_line("engine " + cfg.kafka.instance_id + ": standby in group " + cfg.kafka.group + " (journal at seq " +
           std::to_string(eng->head().seq) + "); following the ledger's partition until the group assigns it");

  // The outbox relay publishes only what this engine released, and only
  // while it is the active one.
  kafka::relay relay(cfg.kafka, engine_journal(*eng));
  bool relay_started = false;

  api::ops_handler ops(engine_probes(*eng, *log, relay, cfg.data_dir));
  auto sc = server_config_of(cfg);
  api::server srv(ops, sc);
  if (auto s = srv.listen(); !s) die(s.to_string());
  std::thread io([&srv] { srv.run(); });
  write_port_file(cfg, srv.port());
  std::thread signals([&] {
    int sig = wait_for_signal();
    log_line(std::string(sig == SIGTERM ? "SIGTERM" : "SIGINT") + ": stopping");
    notify([&] { signalled = true; });
  });
  signals.detach();

  {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return signalled || fenced || (activated && !relay_started); });
      if (signalled || fenced || eng->failed()) break;
      if (activated && !relay_started) {
        relay_started = true;
        relay.start();
      }
    }
  }
  int code = 0;
  if (fenced || log->role() == kafka::engine_role::fenced) {
    code = exit_fenced;
  } else if (eng->failed()) {
    log_line("engine stopped: " + eng->failure().to_string());
    code = 1;
  }
  relay.stop();
  eng->stop();
  srv.stop();
  io.join();
  auto head = eng->head();
  eng.reset();
  log.reset();  // leaves the consumer group: a standby takes over at once
  log_line("engine " + cfg.kafka.instance_id + ": stopped at seq " + std::to_string(head.seq) +
           (code == exit_fenced ? " (fenced: restart me as a standby)" : ""));
  std::fflush(stderr);
  std::_Exit(code);  // the signal thread is parked in sigwait
}

}  // namespace ledger::tools
