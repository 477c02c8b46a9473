// Commands per second and latency through the Kafka path (librdkafka's mock
// cluster), beside the embedded log, in the same run.
//
// Kafka path: a kafka::submitter (the API side, instance "bench") produces
// each submission as one record to the commands topic of a 3-broker mock
// cluster running in this process; an engine whose command log is a
// kafka::engine_log consumes it, applies and commits it (RocksDB, WAL synced
// per engine batch, as in production) and produces the outcomes to the
// replies topic, where
// the submitter hands them to the caller. Latency is from submit() to that
// completion. Embedded path: the same engine code with its in-process log
// (engine::submit), a fresh store, the same number of wallets, the same
// closed loop and concurrency.
//
// Workloads, each a closed loop of --concurrency submissions in flight for
// --duration-s seconds: transfers between two random wallets (each with a
// unique idempotency key), first one command per submission ("single"),
// then --batch-commands per submission ("batch"). Every outcome must be
// accepted; errors are counted and the first few printed.
//
// What differs on a real cluster (printed by the program as well):
// - Network: here every hop is loopback inside one process. On a real
//   cluster a command crosses the network four times (API -> leader of the
//   commands partition, leader -> engine, engine -> leader of a replies
//   partition, leader -> API), and with acks=all each produce also waits until
//   min.insync.replicas (2) replicas have fetched it from the leader: that
//   replication round trip is typically 1-5 ms within a zone. Expect every
//   Kafka-path latency to grow by several milliseconds; throughput of a
//   closed loop falls with it unless concurrency (or batching) grows.
// - Broker durability: by default Kafka does not fsync per produce; it
//   relies on replication to the in-sync replicas (log.flush.* settings
//   change that, at a large cost). The mock keeps everything in memory and
//   does no disk I/O at all. The engine's own RocksDB commit (WAL fsync per
//   batch) is real in both paths.
// - The mock runs in this process on the same 2 cores as the engine, the
//   submitter and the load generator; real brokers have their own machines.
//   It does not emulate follower replication for acks=all, and it holds an
//   empty fetch for the whole fetch.wait.max.ms even when data arrives
//   meanwhile (a real broker answers as soon as fetch.min.bytes is there),
//   so this program lowers fetch.wait.max.ms (--fetch-wait-ms) for its
//   clients; with the default of 500 ms every idle moment of the closed loop
//   would cost up to half a second.
// - Mock partition limits: a mock partition keeps at most 100,000 message
//   sets or 5 MiB and drops the oldest beyond that. A consumer that has not
//   yet read what was dropped skips it (offset reset to earliest), which
//   would make the engine miss commands. The closed loop keeps the engine at
//   most --concurrency records behind the head, so only records it already
//   consumed are dropped; in addition the program stops producing once the
//   commands partition holds --records-max records (default 90,000) and
//   says so, so the message-set limit is never reached.
//
// usage: kafka_bench [--wallets N] [--concurrency C] [--duration-s D]
//                    [--batch-commands B] [--fetch-wait-ms W] [--records-max R]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "kafka/client.h"
#include "kafka/engine_log.h"
#include "kafka/records.h"
#include "kafka/submitter.h"
#include "tests/kafka/mock_cluster.h"
#include "tests/support/temp_dir.h"
#include "tools/system_clock.h"

using namespace ledger;

namespace {

constexpr const char* real_cluster_note[] = {
    "What differs on a real cluster:",
    "- Network: here every hop is loopback inside one process. On a real cluster a command crosses",
    "  the network four times (API -> commands leader -> engine -> replies leader -> API), and",
    "  acks=all makes each produce wait until",
    "  min.insync.replicas (2) replicas have it: typically 1-5 ms within a zone. Expect Kafka-path",
    "  latencies several milliseconds higher, and closed-loop throughput lower unless concurrency",
    "  or batching grows.",
    "- Broker durability: Kafka does not fsync per produce by default; it relies on replication.",
    "  The mock keeps everything in memory (no disk I/O). The engine's RocksDB commit (WAL fsync",
    "  per batch) is real in both paths.",
    "- The mock runs in this process on the same cores as the engine, the submitter and the load",
    "  generator; it does not emulate follower replication, and it holds an empty fetch for the",
    "  whole fetch.wait.max.ms (a real broker answers when data arrives), hence --fetch-wait-ms.",
    "- Mock partition limits: at most 100,000 message sets or 5 MiB per partition, oldest dropped.",
    "  The closed loop keeps the engine at most --concurrency records behind, so only consumed",
    "  records are dropped; production stops at --records-max records in the commands partition.",
};

struct args {
  std::uint64_t wallets = 10'000;
  int concurrency = 64;
  double duration_s = 10;
  std::size_t batch_commands = 100;
  int fetch_wait_ms = 1;
  std::uint64_t records_max = 90'000;
};

constexpr std::size_t setup_chunk_commands = 500;
constexpr amount_t deposit_minor = 100'000'000;  // 1,000,000.00 USD per wallet: transfers never run dry
constexpr int wait_slot_ms = 60'000;              // a submission is answered (or times out) well within this
constexpr int drain_ms = 30'000;
constexpr std::size_t error_samples_max = 5;
// Records the batch phase may need, kept free of the single phase's budget.
constexpr std::uint64_t batch_records_reserve = 10'000;

using submit_fn = std::function<append_result(std::vector<command>&&, completion)>;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string describe(const outcome& o) {
  if (!o.error.is_ok()) return "error " + o.error.to_string();
  return "rejected " + std::string(to_string(o.reason)) + (o.detail.empty() ? "" : " (" + o.detail + ")");
}

// ---------------------------------------------------------------- workload

// Transfers between two distinct random wallets, each with a fresh key.
class transfer_source {
 public:
  transfer_source(const std::vector<std::uint64_t>& wallets, std::string prefix, std::uint64_t seed)
      : wallets_(wallets), prefix_(std::move(prefix)), rng_(seed), pick_(0, wallets.size() - 1) {}

  std::vector<command> next(std::size_t n) {
    std::vector<command> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto a = pick_(rng_), b = pick_(rng_);
      if (a == b) b = (b + 1) % wallets_.size();
      out.push_back(command{"bench", prefix_ + std::to_string(next_key_++), "",
                            transfer_cmd{wallets_[a], wallets_[b], "USD", 1 + amount_t(next_key_ % 1000), 0, "", ""}});
    }
    return out;
  }

 private:
  const std::vector<std::uint64_t>& wallets_;
  std::string prefix_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<std::size_t> pick_;
  std::uint64_t next_key_ = 0;
};

// ---------------------------------------------------------------- closed loop

struct phase_result {
  std::string name;
  std::size_t per_submission = 1;
  std::uint64_t submissions = 0;
  std::uint64_t completed = 0;  // commands answered
  std::uint64_t accepted = 0;
  std::uint64_t errors = 0;     // answered, but not accepted
  std::uint64_t refused = 0;    // submit() did not take the submission
  std::uint64_t unanswered = 0; // still waiting after the drain
  bool capped = false;          // stopped early at the record budget
  double seconds = 0;
  std::vector<std::int64_t> latency_ns;  // per submission, submit() to completion
  std::vector<std::string> error_samples;
  double per_s() const { return seconds > 0 ? double(completed) / seconds : 0; }
};

// Shared with the completions, which may in theory outlive a drain timeout.
struct loop_state {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::int64_t last_done_ns = 0;
  phase_result r;  // latency_ns, completed, accepted, errors, error_samples under mu
};

void on_done(loop_state& st, std::int64_t start_ns, std::vector<outcome>&& outs) {
  const std::int64_t t = now_ns();
  std::uint64_t ok = 0;
  for (const auto& o : outs) ok += o.accepted();
  std::lock_guard lock(st.mu);
  st.r.latency_ns.push_back(t - start_ns);
  st.r.completed += outs.size();
  st.r.accepted += ok;
  st.r.errors += outs.size() - ok;
  for (const auto& o : outs)
    if (!o.accepted() && st.r.error_samples.size() < error_samples_max) st.r.error_samples.push_back(describe(o));
  st.last_done_ns = t;
  --st.in_flight;
  st.cv.notify_one();
}

// Keeps `concurrency` submissions of `per_submission` transfers in flight
// for `duration_s` (or until `submissions_max`), then waits for the rest.
phase_result closed_loop(const submit_fn& submit, transfer_source& src, std::string name, int concurrency,
                         std::size_t per_submission, double duration_s, std::uint64_t submissions_max) {
  auto st = std::make_shared<loop_state>();
  st->r.name = std::move(name);
  st->r.per_submission = per_submission;
  st->r.latency_ns.reserve(1u << 20);
  const std::int64_t t0 = now_ns();
  const std::int64_t deadline = t0 + std::int64_t(duration_s * 1e9);
  std::uint64_t submissions = 0, refused = 0;
  bool capped = false;
  for (;;) {
    {
      std::unique_lock lock(st->mu);
      if (!st->cv.wait_for(lock, std::chrono::milliseconds(wait_slot_ms), [&] { return st->in_flight < concurrency; })) {
        std::fprintf(stderr, "%s: no submission answered for %d ms\n", st->r.name.c_str(), wait_slot_ms);
        break;
      }
    }
    if (now_ns() >= deadline) break;
    if (submissions >= submissions_max) {
      capped = true;
      break;
    }
    auto cmds = src.next(per_submission);
    {
      std::lock_guard lock(st->mu);
      ++st->in_flight;
    }
    const std::int64_t start = now_ns();
    auto res = submit(std::move(cmds), [st, start](std::vector<outcome>&& outs) { on_done(*st, start, std::move(outs)); });
    if (res != append_result::ok) {
      // Not taken, so not applied: count it and go on with fresh keys.
      std::lock_guard lock(st->mu);
      --st->in_flight;
      ++refused;
      if (st->r.error_samples.size() < error_samples_max)
        st->r.error_samples.push_back("submit refused (" + std::to_string(int(res)) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    ++submissions;
  }
  std::unique_lock lock(st->mu);
  st->cv.wait_for(lock, std::chrono::milliseconds(drain_ms), [&] { return st->in_flight == 0; });
  phase_result r = st->r;  // a copy: a late completion may still touch st
  r.submissions = submissions;
  r.refused = refused;
  r.capped = capped;
  r.unanswered = std::uint64_t(st->in_flight);
  r.seconds = double(std::max(st->last_done_ns, t0 + 1) - t0) / 1e9;
  return r;
}

// ---------------------------------------------------------------- setup

// Submits each chunk, `depth` in flight, and returns every outcome in order.
std::vector<outcome> run_all(const submit_fn& submit, const std::vector<std::vector<command>>& chunks, int depth) {
  struct state {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    std::size_t done = 0;
    std::vector<std::vector<outcome>> outs;
  };
  auto st = std::make_shared<state>();
  st->outs.resize(chunks.size());
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    {
      std::unique_lock lock(st->mu);
      st->cv.wait(lock, [&] { return st->in_flight < depth; });
      ++st->in_flight;
    }
    auto done = [st, i](std::vector<outcome>&& o) {
      std::lock_guard lock(st->mu);
      st->outs[i] = std::move(o);
      --st->in_flight;
      ++st->done;
      st->cv.notify_one();
    };
    for (int attempt = 0;; ++attempt) {
      auto copy = chunks[i];  // engine::submit consumes its argument even when it refuses
      if (submit(std::move(copy), done) == append_result::ok) break;
      if (attempt > 10'000) throw std::runtime_error("setup: submissions refused");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::unique_lock lock(st->mu);
  if (!st->cv.wait_for(lock, std::chrono::milliseconds(drain_ms), [&] { return st->done == chunks.size(); }))
    throw std::runtime_error("setup: outcomes did not arrive");
  std::vector<outcome> all;
  for (auto& v : st->outs)
    for (auto& o : v) all.push_back(std::move(o));
  return all;
}

std::vector<std::vector<command>> chunked(std::vector<command>&& all) {
  std::vector<std::vector<command>> out;
  for (std::size_t i = 0; i < all.size(); i += setup_chunk_commands) {
    auto end = all.begin() + long(std::min(all.size(), i + setup_chunk_commands));
    out.emplace_back(std::make_move_iterator(all.begin() + long(i)), std::make_move_iterator(end));
  }
  return out;
}

void must_accept(const std::vector<outcome>& outs, const char* what) {
  for (const auto& o : outs)
    if (!o.accepted()) throw std::runtime_error(std::string(what) + ": " + describe(o));
}

// Registers USD (scale 2), opens clearing:bench and `n` funded wallets;
// returns the wallets' account ids.
std::vector<std::uint64_t> setup_ledger(const submit_fn& submit, std::uint64_t n, double& seconds) {
  const std::int64_t t0 = now_ns();
  std::vector<std::vector<command>> first(1);
  first[0].push_back(command{"bench", "asset-usd", "", register_asset_cmd{"USD", 2, 1, amount_limit}});
  first[0].push_back(command{"bench", "clearing", "", open_account_cmd{account_kind::system, "clearing:bench", {}}});
  must_accept(run_all(submit, first, 1), "registering USD and clearing:bench");

  std::vector<command> opens;
  for (std::uint64_t i = 0; i < n; ++i)
    opens.push_back(command{"bench", "open-" + std::to_string(i), "",
                            open_account_cmd{account_kind::user, "user-" + std::to_string(i), {{"USD", 0, 0}}}});
  auto opened = run_all(submit, chunked(std::move(opens)), 8);
  must_accept(opened, "opening wallets");
  std::vector<std::uint64_t> ids;
  for (const auto& o : opened) ids.push_back(o.account_id);

  std::vector<command> deposits;
  for (std::uint64_t i = 0; i < n; ++i)
    deposits.push_back(command{"bench", "fund-" + std::to_string(i), "", deposit_cmd{ids[i], "USD", deposit_minor, "bench", "", ""}});
  must_accept(run_all(submit, chunked(std::move(deposits)), 8), "funding wallets");
  seconds = double(now_ns() - t0) / 1e9;
  return ids;
}

// ---------------------------------------------------------------- the two paths

struct path_result {
  double setup_seconds = 0;
  phase_result single, batch;
  std::vector<std::string> notes;
  bool mismatch = false;
};

std::unique_ptr<engine> open_engine(const std::string& dir, ledger::clock& clk, command_log* log) {
  engine_options eo;
  eo.store.path = dir + "/ledger";
  eo.store.sync = true;  // as in production: WAL synced per engine batch
  eo.clk = &clk;
  eo.log = log;
  std::unique_ptr<engine> e;
  if (auto s = engine::open(eo, e); !s) throw std::runtime_error("engine open failed: " + s.to_string());
  return e;
}

void run_phases(const submit_fn& submit, const std::vector<std::uint64_t>& wallets, const args& a, const char* path,
                std::uint64_t single_records_max, const std::function<std::uint64_t()>& records_left, path_result& out) {
  transfer_source single_src(wallets, std::string(path) + "-s", 11);
  out.single = closed_loop(submit, single_src, std::string(path) + " single", a.concurrency, 1, a.duration_s, single_records_max);
  transfer_source batch_src(wallets, std::string(path) + "-b", 12);
  out.batch = closed_loop(submit, batch_src, std::string(path) + " batch", a.concurrency, a.batch_commands, a.duration_s,
                          records_left());
}

path_result run_kafka(const args& a) {
  path_result out;
  testing::mock_cluster mc(3);
  kafka::options o = mc.options("bench");
  o.commands_partitions = 1;
  o.replies_partitions = 4;
  o.extra.emplace_back("fetch.wait.max.ms", std::to_string(a.fetch_wait_ms));
  mc.create_topics(o);  // commands 1, events 1, replies 4 partitions; 3 replicas each

  testing::temp_dir dir("ledger-kafka-bench");
  system_clock_source clk;
  std::unique_ptr<kafka::engine_log> log;
  if (auto s = kafka::engine_log::open(o, {}, log); !s) throw std::runtime_error("engine log: " + s.to_string());
  auto e = open_engine(dir.str(), clk, log.get());
  const std::int64_t t0 = now_ns();
  while (log->role() != kafka::engine_role::active) {
    if (now_ns() - t0 > 60'000'000'000) throw std::runtime_error("the engine did not become active within 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::printf("kafka: engine active after %.2f s (mock cluster %s, store in %s)\n", double(now_ns() - t0) / 1e9,
              mc.bootstraps().c_str(), dir.str().c_str());
  std::unique_ptr<kafka::submitter> sub;
  if (auto s = kafka::submitter::open(o, {}, sub); !s) throw std::runtime_error("submitter: " + s.to_string());

  submit_fn submit = [&sub](std::vector<command>&& c, completion d) { return sub->submit(std::move(c), std::move(d)); };
  auto wallets = setup_ledger(submit, a.wallets, out.setup_seconds);
  auto records_left = [&] {
    auto produced = sub->stats().produced;
    return produced >= a.records_max ? 0 : a.records_max - produced;
  };
  auto single_max = records_left() > batch_records_reserve ? records_left() - batch_records_reserve : 0;
  run_phases(submit, wallets, a, "kafka", single_max, records_left, out);

  auto ss = sub->stats();
  auto ls = log->stats();
  auto es = e->stats();
  char line[512];
  std::snprintf(line, sizeof line,
                "kafka: commands-topic records produced=%llu (+%llu claim) consumed=%llu bad=%llu; replies produced=%llu "
                "received=%llu stray=%llu; timeouts=%llu delivery_failures=%llu reply_failures=%llu; "
                "engine batches=%llu mean_batch=%.1f",
                (unsigned long long)ss.produced, (unsigned long long)ls.claims, (unsigned long long)ls.records,
                (unsigned long long)ls.bad_records,
                (unsigned long long)ls.replies, (unsigned long long)ss.replies, (unsigned long long)ss.stray_replies,
                (unsigned long long)ss.timeouts, (unsigned long long)ss.delivery_failures,
                (unsigned long long)ls.reply_failures, (unsigned long long)es.batches,
                double(es.commands) / double(std::max<std::uint64_t>(1, es.batches)));
  out.notes.push_back(line);
  // Every record produced must have been consumed and answered: nothing
  // dropped by the mock's partition limits before the engine read it.
  // (The engine also reads its own claim record.)
  if (ls.records != ss.produced + ls.claims || ls.bad_records != 0 || ss.replies != ss.produced) {
    out.notes.push_back("kafka: MISMATCH: the engine did not consume and answer every record produced");
    out.mismatch = true;
  } else {
    out.notes.push_back("kafka: the engine consumed and answered every record produced (none dropped unread)");
  }
  sub->stop();
  e->stop();
  return out;
}

path_result run_embedded(const args& a) {
  path_result out;
  testing::temp_dir dir("ledger-embedded-bench");
  system_clock_source clk;
  auto e = open_engine(dir.str(), clk, nullptr);
  submit_fn submit = [&e](std::vector<command>&& c, completion d) { return e->submit(std::move(c), std::move(d)); };
  auto wallets = setup_ledger(submit, a.wallets, out.setup_seconds);
  const std::uint64_t unlimited = ~0ull;
  run_phases(submit, wallets, a, "embedded", unlimited, [] { return ~0ull; }, out);
  auto es = e->stats();
  char line[256];
  std::snprintf(line, sizeof line, "embedded: engine batches=%llu mean_batch=%.1f (store in %s)",
                (unsigned long long)es.batches, double(es.commands) / double(std::max<std::uint64_t>(1, es.batches)),
                dir.str().c_str());
  out.notes.push_back(line);
  e->stop();
  return out;
}

// ---------------------------------------------------------------- report

struct percentiles {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

percentiles percentiles_of(std::vector<std::int64_t> v) {
  percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return double(v[std::min(v.size() - 1, std::size_t(q * double(v.size())))]) / 1e6; };
  p.p50_ms = at(0.50);
  p.p90_ms = at(0.90);
  p.p99_ms = at(0.99);
  p.max_ms = double(v.back()) / 1e6;
  return p;
}

void print_phase(const phase_result& r) {
  std::printf("%-15s submissions=%llu commands=%llu accepted=%llu errors=%llu refused=%llu unanswered=%llu "
              "seconds=%.2f commands_per_s=%.0f%s\n",
              r.name.c_str(), (unsigned long long)r.submissions, (unsigned long long)r.completed,
              (unsigned long long)r.accepted, (unsigned long long)r.errors, (unsigned long long)r.refused,
              (unsigned long long)r.unanswered, r.seconds, r.per_s(),
              r.capped ? " (stopped early at the commands-partition record budget)" : "");
  for (const auto& e : r.error_samples) std::printf("    %s\n", e.c_str());
}

void print_row(const phase_result& r, const char* label) {
  auto p = percentiles_of(r.latency_ns);
  std::printf("| %-34s | %10.0f | %7.2f | %7.2f | %7.2f | %8.2f |\n", label, r.per_s(), p.p50_ms, p.p90_ms, p.p99_ms,
              p.max_ms);
}

void print_table(const args& a, const path_result& k, const path_result& m) {
  std::string batch = std::to_string(a.batch_commands) + " commands/submission";
  std::printf("\n| path | commands/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n");
  print_row(k.single, "Kafka (mock), 1 command/submission");
  print_row(m.single, "embedded, 1 command/submission");
  print_row(k.batch, ("Kafka (mock), " + batch).c_str());
  print_row(m.batch, ("embedded, " + batch).c_str());
  auto ratio = [](double x, double y) { return y > 0 ? x / y : 0; };
  auto ks = percentiles_of(k.single.latency_ns), ms = percentiles_of(m.single.latency_ns);
  auto kb = percentiles_of(k.batch.latency_ns), mb = percentiles_of(m.batch.latency_ns);
  std::printf("\nKafka / embedded: single commands/s %.2fx, p50 %.1fx, p99 %.1fx; batch commands/s %.2fx, p50 %.1fx, p99 %.1fx\n",
              ratio(k.single.per_s(), m.single.per_s()), ratio(ks.p50_ms, ms.p50_ms), ratio(ks.p99_ms, ms.p99_ms),
              ratio(k.batch.per_s(), m.batch.per_s()), ratio(kb.p50_ms, mb.p50_ms), ratio(kb.p99_ms, mb.p99_ms));
  std::printf("(latency: submit() to completion, per submission; a batch submission's latency covers all its commands)\n");
}

std::string first_line_of(const char* path, const char* prefix = "") {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "?";
}

void print_machine(const args& a) {
  auto cpu = first_line_of("/proc/cpuinfo", "model name");
  auto colon = cpu.find(':');
  std::printf("machine: nproc=%ld cpu=%s loadavg_before=\"%s\"\n", sysconf(_SC_NPROCESSORS_ONLN),
              colon == std::string::npos ? cpu.c_str() : cpu.substr(colon + 2).c_str(), first_line_of("/proc/loadavg").c_str());
  std::printf("parameters: wallets=%llu concurrency=%d duration_s=%.1f batch_commands=%zu fetch_wait_ms=%d "
              "records_max=%llu; topics commands=1 events=1 replies=4 partitions, 3 mock brokers; WAL synced per batch\n",
              (unsigned long long)a.wallets, a.concurrency, a.duration_s, a.batch_commands, a.fetch_wait_ms,
              (unsigned long long)a.records_max);
  std::fflush(stdout);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: kafka_bench [--wallets N] [--concurrency C] [--duration-s D] [--batch-commands B] "
               "[--fetch-wait-ms W] [--records-max R]\n");
  std::exit(2);
}

args parse(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (f == "--wallets") a.wallets = std::stoull(v);
    else if (f == "--concurrency") a.concurrency = std::stoi(v);
    else if (f == "--duration-s") a.duration_s = std::stod(v);
    else if (f == "--batch-commands") a.batch_commands = std::stoul(v);
    else if (f == "--fetch-wait-ms") a.fetch_wait_ms = std::stoi(v);
    else if (f == "--records-max") a.records_max = std::stoull(v);
    else usage();
  }
  if (a.wallets < 2 || a.concurrency < 1 || a.concurrency > 65'536 || a.duration_s <= 0 || a.batch_commands < 1 ||
      a.batch_commands > kafka::submission_commands_max || a.fetch_wait_ms < 0 || a.records_max > 100'000)
    usage();
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  args a = parse(argc, argv);
  print_machine(a);
  path_result k, m;
  try {
    k = run_kafka(a);
    std::printf("kafka: setup (asset, clearing account, %llu wallets opened and funded) took %.2f s\n",
                (unsigned long long)a.wallets, k.setup_seconds);
    print_phase(k.single);
    print_phase(k.batch);
    for (const auto& n : k.notes) std::printf("%s\n", n.c_str());
    std::fflush(stdout);
    m = run_embedded(a);
    std::printf("embedded: setup took %.2f s\n", m.setup_seconds);
    print_phase(m.single);
    print_phase(m.batch);
    for (const auto& n : m.notes) std::printf("%s\n", n.c_str());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "kafka_bench: %s\n", ex.what());
    return 1;
  }
  print_table(a, k, m);
  std::printf("loadavg_after=\"%s\"\n\n", first_line_of("/proc/loadavg").c_str());
  for (const char* line : real_cluster_note) std::printf("%s\n", line);
  std::uint64_t bad = 0;
  for (const auto* r : {&k.single, &k.batch, &m.single, &m.batch}) bad += r->errors + r->refused + r->unanswered;
  return bad == 0 && !k.mismatch ? 0 : 1;
}
