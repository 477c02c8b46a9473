// ledgerd's read-model commands: migrate, verify-read-models,
// rebuild-read-models and project. They read the journal of a running (or
// stopped) ledger through a RocksDB follower, or the events topic with
// --log=kafka.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "api/ops.h"
#include "api/server.h"
#include "kafka/event_reader.h"
#include "projections/maintenance.h"
#include "projections/metrics.h"
#include "projections/migrations.h"
#include "projections/reconcile.h"
#include "projections/retention.h"
#include "schemas/time.h"

#include <pqxx/nontransaction>
#include "tools/ledgerd.h"

namespace ledger::tools {

namespace {

// The journal of a running (or stopped) ledger, read through a RocksDB
// follower that catches up with the primary on demand.
struct follower_journal {
  std::unique_ptr<store> st;
  std::string dir;
  std::mutex mu;

  explicit follower_journal(const config& cfg) {
    dir = (std::filesystem::path(cfg.data_dir) / "followers" / ("f-" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir);
    if (auto s = store::open_follower(store_path(cfg), dir, st); !s) die("opening the journal: " + s.to_string());
  }
  ~follower_journal() {
    st.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  bool wait_for(std::uint64_t seq, int timeout_ms) {
    for (int waited = 0;; waited += 50) {
      {
        std::lock_guard lock(mu);
        (void)st->catch_up();
        if (st->head().seq >= seq) return true;
      }
      if (waited >= timeout_ms) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  journal_source source() {
    return journal_source{
        [this](std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) {
          std::lock_guard lock(mu);
          return st->read_journal(from, max, out);
        },
        [this](std::uint64_t seq, int timeout_ms) { return wait_for(seq, timeout_ms); },
        [this] {
          std::lock_guard lock(mu);
          (void)st->catch_up();
          return st->head();
        },
        st->genesis()};
  }
};

// Where the commands read the journal from: the local store's, or the events topic.
struct journal_input {
  std::unique_ptr<follower_journal> local;
  std::unique_ptr<kafka::event_reader> topic;
  journal_source source;
  std::string description;

  explicit journal_input(const config& cfg) {
    if (cfg.log == "kafka") {
      if (auto s = kafka::event_reader::open(cfg.kafka, topic); !s)
        die("reading " + cfg.kafka.events_topic + ": " + s.to_string());
      source = topic->source();
      description = "topic " + cfg.kafka.events_topic;
    } else {
      local = std::make_unique<follower_journal>(cfg);
      source = local->source();
      description = store_path(cfg);
    }
  }
};

int run_migrate(const config& cfg) {
  projections::migrate_result r;
  if (auto s = projections::migrate(cfg.pg_conninfo, cfg.pg_schema, r); !s) die(s.to_string());
  std::printf("schema %s: version %d -> %d\n", cfg.pg_schema.c_str(), r.version_before, r.version_after);
  return 0;
}

// Applies the retention settings (projections/retention.h) at the
// projection's last log time and says what it removed.
int run_retention(const config& cfg) {
  projections::migrate_result m;
  if (auto s = projections::migrate(cfg.pg_conninfo, cfg.pg_schema, m); !s) die(s.to_string());
  projections::retention_report r;
  if (auto s = projections::apply_retention(cfg.pg_conninfo, cfg.pg_schema, 0, r); !s) die(s.to_string());
  if (r.reference_us == 0) return std::printf("retention: no projection checkpoint yet; nothing to do\n"), 0;
  for (const auto& p : r.archived) std::printf("archived %s\n", p.c_str());
  for (const auto& p : r.dropped) std::printf("dropped %s\n", p.c_str());
  for (const auto& p : r.money_dropped) std::printf("dropped %s\n", p.c_str());
  std::printf("retention at %s: %zu activity month(s) archived, %zu dropped; %zu money history partition(s) "
              "dropped; %llu ended session(s) deleted\n",
              format_rfc3339_us(r.reference_us).c_str(), r.archived.size(), r.dropped.size(), r.money_dropped.size(),
              static_cast<unsigned long long>(r.sessions_deleted));
  return 0;
}

int run_verify(const config& cfg, journal_input& in) {
  projections::verify_report r;
  if (auto s = projections::verify_read_models(in.source, cfg.pg_conninfo, cfg.pg_schema, "read_models", r); !s)
    die(s.to_string());
  for (const auto& d : r.drifts)
    std::printf("drift wallet=%llu asset=%s %s: read model %s, engine %s\n", static_cast<unsigned long long>(d.wallet_id),
                d.asset.c_str(), d.what.c_str(), d.read_model.c_str(), d.engine.c_str());
  for (const auto& d : r.dead_letters)
    std::printf("dead letter seq=%llu command=%s: %s\n", static_cast<unsigned long long>(d.seq), d.command.c_str(),
                d.error.c_str());
  std::printf("verified %zu balances at seq %llu: %zu drift(s), %zu dead letter(s)\n", r.balances_compared,
              static_cast<unsigned long long>(r.checkpoint_seq), r.drifts.size(), r.dead_letters.size());
  return r.clean() ? 0 : 1;
}

// Matches a provider report with the read models' deposits; exit 1 when
// anything does not match (the JSON says what).
int run_reconcile(const config& cfg) {
  projections::migrate_result m;
  if (auto s = projections::migrate(cfg.pg_conninfo, cfg.pg_schema, m); !s) die(s.to_string());
  std::ifstream in(cfg.reconcile_report, std::ios::binary);
  if (!in) die("cannot read the report " + cfg.reconcile_report);
  std::string report((std::istreambuf_iterator<char>(in)), {});
  std::string json;
  try {
    pqxx::connection c(cfg.pg_conninfo);
    {
      pqxx::nontransaction n(c);
      n.exec("SET search_path TO " + c.quote_name(cfg.pg_schema));
    }
    if (auto s = projections::reconcile(c, cfg.reconcile_account, cfg.reconcile_format, report, json); !s)
      die(s.to_string());
  } catch (const std::exception& e) {
    die(std::string("reconcile: ") + e.what());
  }
  std::printf("%s\n", json.c_str());
  return json.find("\"missing_in_ledger\":0,\"missing_at_provider\":0,\"amount_mismatch\":0,\"status_mismatch\":0") ==
                 std::string::npos
             ? 1
             : 0;
}

int run_rebuild(const config& cfg, journal_input& in) {
  projections::rebuild_report r;
  if (auto s = projections::rebuild_read_models(in.source, cfg.pg_conninfo, cfg.pg_schema, "read_models", r); !s)
    die(s.to_string());
  std::printf("rebuilt %s: %llu events, now at seq %llu\n", cfg.pg_schema.c_str(), static_cast<unsigned long long>(r.events),
              static_cast<unsigned long long>(r.projected_seq));
  return 0;
}

api::ops_probes projector_probes(const projections::projector& p) {
  return api::ops_probes{
      [&p] {
        // Codes and the seq only: the error text (PostgreSQL's) is in the projector's log.
        auto st = p.stats();
        if (st.healthy) return status::ok();
        if (st.stuck_seq != 0) return status::unavailable("projection-stuck seq=" + std::to_string(st.stuck_seq));
        return status::unavailable("projection-failing");
      },
      [] { return std::string("projector"); },
      [&p] {
        auto st = p.stats();
        ledger_head head;
        head.seq = st.projected_seq;
        head.log_ts_us = st.projected_log_ts_us;
        return projections::projection_metrics(p, head);
      }};
}

// project: follow the journal until SIGTERM/SIGINT.
int run_project(const config& cfg, journal_input& in) {
  block_signals();
  projections::projector_options po;
  po.conninfo = cfg.pg_conninfo;
  po.schema = cfg.pg_schema;
  po.write_connections = static_cast<std::size_t>(cfg.projection_writers);
  projections::projector p(in.source, po);
  p.start();
  // Operations endpoints only when asked for (--listen): a projector beside
  // a ledgerd on the same host would otherwise take its port.
  std::unique_ptr<api::ops_handler> ops;
  std::unique_ptr<api::server> srv;
  std::thread io;
  if (cfg.listen_set) {
    ops = std::make_unique<api::ops_handler>(projector_probes(p));
    srv = std::make_unique<api::server>(*ops, server_config_of(cfg));
    if (auto s = srv->listen(); !s) die(s.to_string());
    io = std::thread([&srv] { srv->run(); });
    write_port_file(cfg, srv->port());
  }
  std::fprintf(stderr, "ledgerd project: following %s into schema %s\n", in.description.c_str(), cfg.pg_schema.c_str());
  wait_for_signal();
  p.stop();
  if (srv) {
    srv->stop();
    io.join();
  }
  std::fprintf(stderr, "ledgerd project: stopped at seq %llu\n", static_cast<unsigned long long>(p.stats().projected_seq));
  return 0;
}

}  // namespace

int run_tool(const config& cfg) {
  if (cfg.command == "migrate") return run_migrate(cfg);
  if (cfg.command == "reconcile") return run_reconcile(cfg);
  if (cfg.command == "retention") return run_retention(cfg);
  journal_input in(cfg);
  if (cfg.command == "verify-read-models") return run_verify(cfg, in);
  if (cfg.command == "rebuild-read-models") return run_rebuild(cfg, in);
  return run_project(cfg, in);
}

}  // namespace ledger::tools
