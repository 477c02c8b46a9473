// ledgerd serve in embedded mode (API, engine, embedded command log and
// projector in one process), and the HTTP API serving and draining that
// the Kafka API instance shares.
//
// Shutdown (SIGTERM or SIGINT): stop accepting connections, refuse new
// commands, let the engine apply and commit everything already accepted,
// answer those requests, then exit. No acknowledged command is lost: an
// acknowledgement is only sent after its batch is durable anyway.
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "api/ops.h"
#include "api/problem.h"
#include "api/server.h"
#include "base/hex.h"
#include "base/prometheus.h"
#include "projections/metrics.h"
#include "projections/migrations.h"
#include "tools/audit/signing.h"
#include "tools/audit_reads_adapter.h"
#include "tools/documents_side.h"
#include "api/owner_routes_common.h"
#include "tools/ledgerd.h"
#include "tools/read_models_adapter.h"
#include "tools/system_clock.h"

namespace ledger::tools {

namespace {

std::string random_secret() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 64; ++i) s += hex[rd() & 15];
  return s;
}

std::unique_ptr<api::jwt_verifier> make_jwt(config& cfg) {
  if (cfg.hs256_secret.empty() && cfg.es256_public_key.empty()) cfg.hs256_secret = random_secret();  // --dev
  api::jwt_config jc;
  if (auto err = jwt_config_of(cfg, jc)) die("JWT configuration: " + *err);
  std::unique_ptr<api::jwt_verifier> jwt;
  if (auto err = api::jwt_verifier::create(jc, jwt)) die("JWT configuration: " + *err);
  return jwt;
}

void print_dev_banner(const config& cfg, const std::string& address, unsigned short port, std::int64_t now_s) {
  std::string claims = "{\"sub\":\"dev-admin\",\"role\":\"admin\",\"iss\":\"" + cfg.jwt_issuer + "\",\"aud\":\"" +
                       cfg.jwt_audience + "\",\"iat\":" + std::to_string(now_s) +
                       ",\"exp\":" + std::to_string(now_s + 86'400) + "}";
  std::string dev_token = api::sign_hs256(cfg.hs256_secret, claims);
  std::fprintf(stderr,
               "ledgerd: development mode; an admin token valid for 24 hours:\n\n"
               "  export TOKEN=%s\n\n"
               "  curl -s -X POST http://%s:%u/v1/wallets -H \"Authorization: Bearer $TOKEN\" \\\n"
               "       -H 'Content-Type: application/json' -H 'Idempotency-Key: open-alice' \\\n"
               "       -d '{\"owner\":\"alice\",\"assets\":[{\"asset\":\"USD\"}]}'\n\n"
               "  curl -s -X POST http://%s:%u/v1/deposits -H \"Authorization: Bearer $TOKEN\" \\\n"
               "       -H 'Content-Type: application/json' -H 'Idempotency-Key: dep-1' \\\n"
               "       -d '{\"wallet_id\":WALLET_ID,\"asset\":\"USD\",\"amount\":\"25.00\",\"provider\":\"demo\"}'\n\n",
               dev_token.c_str(), address.c_str(), port, address.c_str(), port);
}

// History reads from PostgreSQL, when configured.
struct read_side {
  std::unique_ptr<projections::query_pool> pool;
  std::unique_ptr<read_models_adapter> reads;

  read_side(const config& cfg, const projections::projector* proj) {
    if (cfg.pg_conninfo.empty()) return;
    projections::query_pool_options qo;
    qo.conninfo = cfg.pg_conninfo;
    qo.schema = cfg.pg_schema;
    pool = std::make_unique<projections::query_pool>(qo);
    reads = std::make_unique<read_models_adapter>(*pool, proj, cfg.min_seq_wait_ms, cfg.min_seq_waiters_max);
  }
  ~read_side() { stop(); }
  // Answers the reads still waiting for min_seq, then lets the queued ones
  // finish. Idempotent.
  void stop() {
    if (reads) reads->stop();
    if (pool) pool->stop();
  }
};

// On SIGTERM/SIGINT: stop accepting, refuse new commands, answer those
// accepted, let the connections write their responses, then end run().
void drain_on_signal(const config& cfg, api::server& srv, api::service& svc, const serve_hooks& hooks,
                     const std::atomic<bool>& run_returned) {
  int sig = 0;
  while ((sig = wait_for_signal(true)) == SIGHUP)
    if (hooks.reload) hooks.reload();
  std::fprintf(stderr, "ledgerd: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  srv.stop_accepting();
  svc.begin_drain();
  // Answers every command already accepted (embedded: applies and commits
  // them; Kafka: waits for their outcomes, bounded by the request timeout).
  if (hooks.drain_backend) hooks.drain_backend();
  for (int waited = 0; svc.in_flight() > 0 && waited < cfg.shutdown_timeout_ms; waited += 10)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Every response is built; let the connections write them, then end.
  srv.drain();
  for (int waited = 0; !run_returned.load() && waited < cfg.shutdown_timeout_ms; waited += 10)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!run_returned.load()) srv.stop();  // a client that will not read: give up on it
}

void write_file_atomically(const std::string& path, unsigned short port) {
  if (path.empty()) return;
  std::error_code ec;
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::filesystem::rename(tmp, path, ec);
}

// Detailed readiness and metrics of an API process, for its operations listener.
// The read models are reported (a projection stuck on one seq names it) but
// do not make the ledger unready: commands do not depend on them.
api::ops_probes api_probes(api::backend& b, const api::service& svc, const api::metrics& m,
                           const api::read_models* reads) {
  return api::ops_probes{
      [&b, &svc] {
        if (auto h = b.health(); !h) return status::unavailable(std::string(api::reason_code(h)));
        if (svc.draining()) return status::unavailable("draining");
        return status::ok();
      },
      [] { return std::string("api"); },
      [&b, &svc, &m] { return m.render(b, svc.in_flight()); },
      [&b, &svc, reads](json_out& j) {
        j.field("engine", b.health().is_ok() ? "ok" : "failed").field("draining", svc.draining()).field("seq", b.head().seq);
        if (reads)
          if (auto rm = reads->health(); !rm.is_ok()) j.field("read_models", rm.message());
      }};
}

// serve's operations listener (--ops-listen): metrics and detailed readiness,
// off the public address. A default address that is taken only costs the
// listener (with a warning); a configured one must bind.
class ops_endpoint {
 public:
  ops_endpoint(const config& cfg, api::ops_probes probes) : handler_(std::move(probes)) {
    srv_ = std::make_unique<api::server>(handler_, ops_server_config_of(cfg));
    if (auto s = srv_->listen(); !s) {
      if (cfg.ops_listen_set) die("the operations listener: " + s.to_string());
      std::fprintf(stderr, "ledgerd: no operations listener (%s); set --ops-listen\n", s.to_string().c_str());
      srv_.reset();
      return;
    }
    write_file_atomically(cfg.ops_port_file, srv_->port());
    std::fprintf(stderr, "ledgerd: operations (metrics, readiness) on http://%s:%u\n",
                 ops_server_config_of(cfg).address.c_str(), srv_->port());
    io_ = std::thread([this] { srv_->run(); });
  }
  ~ops_endpoint() {
    if (!srv_) return;
    srv_->stop();
    io_.join();
  }

 private:
  api::ops_handler handler_;
  std::unique_ptr<api::server> srv_;
  std::thread io_;
};

// The public half of --audit-signing-key, or empty; a key that does not
// load stops the start (a misconfigured key must not look like no key).
std::string audit_public_key(const config& cfg) {
  if (cfg.audit_signing_key.empty()) return {};
  std::unique_ptr<audit::signing_key> key;
  if (auto s = audit::signing_key::load(cfg.audit_signing_key, key); !s) die("--audit-signing-key: " + s.to_string());
  return key->public_key_pem();
}

}  // namespace

std::string disk_metrics(const std::string& data_dir) {
  struct statvfs fs {};
  if (::statvfs(data_dir.c_str(), &fs) != 0) return {};
  auto bytes = [&](fsblkcnt_t blocks) { return prometheus::number(double(blocks) * double(fs.f_frsize)); };
  return prometheus::header("ledger_disk_bytes", "The data directory's file system: total and available bytes.", "gauge") +
         "ledger_disk_bytes{kind=\"total\"} " + bytes(fs.f_blocks) + "\n" + "ledger_disk_bytes{kind=\"available\"} " +
         bytes(fs.f_bavail) + "\n";
}

void write_port_file(const config& cfg, unsigned short port) { write_file_atomically(cfg.port_file, port); }

void block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // serve re-reads its JWT keys on it; others ignore it
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_signal(bool with_hup) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (with_hup) sigaddset(&signals, SIGHUP);
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

status ensure_defaults(const std::function<append_result(std::vector<command>&&, completion)>& submit, bool dev,
                       const api::webhook_settings& webhooks) {
  std::vector<command> cmds = {
      {"ledgerd", "setup:payouts", "", open_account_cmd{account_kind::system, "payouts", {}}},
      {"ledgerd", "setup:fee_revenue", "", open_account_cmd{account_kind::system, "fee_revenue", {}}},
  };
  // Each webhook account deposits from its own clearing account.
  for (const auto& a : webhooks.accounts)
    cmds.push_back({"ledgerd", "setup:clearing:" + a.name, "", open_account_cmd{account_kind::system, "clearing:" + a.name, {}}});
  if (dev) {
    cmds.push_back({"ledgerd", "setup:asset:USD", "", register_asset_cmd{"USD", 2, 1, amount_limit}});
    cmds.push_back({"ledgerd", "setup:clearing:demo", "", open_account_cmd{account_kind::system, "clearing:demo", {}}});
  }
  auto p = std::make_shared<std::promise<std::vector<outcome>>>();
  auto f = p->get_future();
  if (submit(std::move(cmds), [p](std::vector<outcome>&& o) { p->set_value(std::move(o)); }) != append_result::ok)
    return status::unavailable("could not submit the default accounts");
  for (const auto& o : f.get()) {
    if (!o.error.is_ok()) return o.error;
    if (o.result == event_status::rejected && o.reason != reason::asset_exists && o.reason != reason::account_exists)
      return status::invalid_argument("setting up default accounts failed: " + std::string(to_string(o.reason)));
  }
  return status::ok();
}

// The in-process limiter, or the Redis one when --redis-url is set.
// Owner deletions a crash interrupted between their event and the API's
// clean-up: the data keys are destroyed now (blobs go with the orphan sweeper).
void finish_owner_deletions(const store& st, const api::payout_keys& keys, api::logger& log) {
  std::size_t n = 0;
  if (auto s = api::owners::finish_owner_deletions(st, keys, n); !s) die("finishing owner deletions: " + s.to_string());
  if (n > 0) log.write("info", "finished owner deletions", {{"keys_destroyed", std::to_string(n)}});
}

std::unique_ptr<api::limiter> make_limiter(const config& cfg, clock& clk, api::logger& log) {
  if (cfg.redis_url.empty()) return std::make_unique<api::local_limiter>(clk);
  api::redis_settings rs;
  (void)api::parse_redis_url(cfg.redis_url, rs);  // validated with the configuration
  rs.password = cfg.redis_password;
  rs.timeout_ms = cfg.redis_timeout_ms;
  rs.on_state_change = [&log](const std::string& what) { log.write("warn", "rate limiter", {{"detail", what}}); };
  return std::make_unique<api::redis_limiter>(std::move(rs));
}

namespace {
// The key store lives beside the RocksDB directory, not in it: its files are
// destroyed one by one (crypto-shredding), never compacted or backed up with
// the journal.
// --dev without --master-key-file: a master key of its own in the data
// directory (64 hex digits, created once with mode 0600), so payout
// details, documents and payment-request notes work out of the box. Not for
// production: the key sits beside the data it protects.
void add_dev_master_key(config& cfg) {
  if (!cfg.dev || !cfg.master_keys.empty()) return;
  auto path = (std::filesystem::path(cfg.data_dir) / "dev-master-key").string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) die("development master key: the system's random source failed");
    std::string text = hex_lower(raw, sizeof raw) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) die("development master key: cannot write " + path);
  } else if (errno != EEXIST) {
    die("development master key: cannot create " + path + ": " + std::strerror(errno));
  }
  api::master_key k;
  if (auto err = api::load_master_key("dev," + path, k)) die("development master key: " + *err);
  cfg.master_keys.push_back(std::move(k));
  std::fprintf(stderr, "ledgerd: development mode; master key for payment details, documents and notes: %s "
                       "(not for production)\n", path.c_str());
}

std::string key_store_dir(const config& cfg) {
  return cfg.key_store_dir.empty() ? (std::filesystem::path(cfg.data_dir) / "keys").string() : cfg.key_store_dir;
}
void add_metric_sources(api::metrics& m, const config& cfg, api::limiter& limits, api::webhook_registry& webhooks,
                        read_side& reads) {
  m.add_source([&limits] { return limits.render_metrics(); });
  m.add_source([&webhooks] { return webhooks.render_metrics(); });
  m.add_source([&cfg] { return disk_metrics(cfg.data_dir); });
  if (reads.reads)
    m.add_source([&reads] {
      return prometheus::gauge("ledger_read_min_seq_waiters", "History reads waiting for their min_seq (no query worker held).",
                               double(reads.reads->waiting()));
    });
}

}  // namespace

int serve_api(config& cfg, api::backend& backend, const serve_hooks& given_hooks) {
  auto jwt = make_jwt(cfg);
  serve_hooks hooks = given_hooks;
  // SIGHUP: the JWT key files again; requests in progress keep the old keys.
  api::webhook_registry webhooks(cfg.webhooks);
  hooks.reload = [&cfg, &jwt, &webhooks] {
    if (auto err = webhooks.reload())
      std::fprintf(stderr, "ledgerd: SIGHUP: webhook secrets kept where a file does not load: %s\n", err->c_str());
    api::jwt_config jc;
    auto err = jwt_config_of(cfg, jc);
    if (!err) err = jwt->reload(jc);
    std::fprintf(stderr, "ledgerd: SIGHUP: %s%s\n", err ? "JWT keys kept, the new ones do not load: " : "JWT keys reloaded",
                 err ? err->c_str() : "");
  };
  auto sc = server_config_of(cfg);
  system_clock_source clk;
  read_side reads(cfg, hooks.projector);

  api::metrics m;
  for (const auto& source : hooks.metrics) m.add_source(source);
  api::logger log;
  log.set_enabled(!cfg.quiet);
  auto limits = make_limiter(cfg, clk, log);
  add_metric_sources(m, cfg, *limits, webhooks, reads);
  api::service_config svc_cfg;
  svc_cfg.cors_origins = cfg.cors_origins;
  svc_cfg.reads = reads.reads.get();
  svc_cfg.limits = limits.get();
  svc_cfg.rate_limits = cfg.rate_limits;
  svc_cfg.webhooks = &webhooks;
  svc_cfg.events_page_max = cfg.events_page_max;
  svc_cfg.events = {cfg.events_subscribers_max, cfg.events_queue_max, cfg.events_stall_ms};
  audit_reads_adapter audit(backend, (std::filesystem::path(cfg.data_dir) / "snapshots").string());
  svc_cfg.audit = &audit;
  svc_cfg.audit_public_key_pem = audit_public_key(cfg);
  svc_cfg.wallet_auth = cfg.wallet_auth;
  add_dev_master_key(cfg);
  api::payout_keys payment_keys(cfg.master_keys, key_store_dir(cfg));
  svc_cfg.payment_keys = &payment_keys;
  documents_side documents(cfg, backend.storage());
  svc_cfg.documents = documents.settings();
  finish_owner_deletions(backend.storage(), payment_keys, log);
  std::unique_ptr<api::server> srv;
  svc_cfg.dispatch = [&srv](std::function<void()> f) { srv->dispatcher()(std::move(f)); };
  api::service svc(backend, *jwt, svc_cfg, m, log, clk);
  srv = std::make_unique<api::server>(svc, sc);
  if (auto s = srv->listen(); !s) die(s.to_string());
  ops_endpoint ops(cfg, api_probes(backend, svc, m, reads.reads.get()));

  std::fprintf(stderr, "ledgerd: serving http://%s:%u (%s, journal at seq %llu)\n", sc.address.c_str(), srv->port(),
               hooks.description.c_str(), static_cast<unsigned long long>(backend.head().seq));
  if (cfg.dev) print_dev_banner(cfg, sc.address, srv->port(), clk.now_us() / 1'000'000);
  std::fflush(stderr);
  // Last: whoever waits for the port file (scripts, tests) finds the banner
  // and its token already written.
  write_port_file(cfg, srv->port());

  std::atomic<bool> run_returned{false};
  std::thread signal_thread([&] { drain_on_signal(cfg, *srv, svc, hooks, run_returned); });
  srv->run();
  run_returned = true;
  signal_thread.join();
  // While the server still exists: late answers are posted to its stopped
  // I/O threads, not to a destroyed one.
  reads.stop();
  return 0;
}

// The embedded ledger: API, engine, embedded log and projector in one process.
int run_embedded_serve(config& cfg) {
  system_clock_source clk;
  engine_options eo;
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  eo.store.path = store_path(cfg);
  eo.store.ledger_id = store_ledger_id(cfg);
  eo.store.sync = cfg.sync;
  eo.batch_commands_max = cfg.batch_max;
  eo.queue_commands_max = cfg.queue_max;
  eo.snapshot_every_events = cfg.snapshot_every;
  eo.snapshots_retained_max = cfg.snapshot_retain;
  eo.snapshot_keep_every_events = cfg.snapshot_keep_every;
  eo.snapshot_dir = (std::filesystem::path(cfg.data_dir) / "snapshots").string();
  eo.clk = &clk;
  std::unique_ptr<engine> eng;
  if (auto s = engine::open(eo, eng); !s) die("opening the ledger at " + eo.store.path + ": " + s.to_string());
  auto submit = [&](std::vector<command>&& c, completion d) { return eng->submit(std::move(c), std::move(d)); };
  if (auto s = ensure_defaults(submit, cfg.dev, cfg.webhooks); !s) die(s.to_string());

  // Read models: migrated at start when reachable; the projector retries on
  // its own when PostgreSQL is not there yet.
  std::unique_ptr<projections::projector> proj;
  if (!cfg.pg_conninfo.empty()) {
    projections::migrate_result mr;
    if (auto s = projections::migrate(cfg.pg_conninfo, cfg.pg_schema, mr); !s)
      std::fprintf(stderr, "ledgerd: read models not migrated yet (%s); the projector will retry\n", s.to_string().c_str());
    projections::projector_options po;
    po.conninfo = cfg.pg_conninfo;
    po.schema = cfg.pg_schema;
    po.write_connections = static_cast<std::size_t>(cfg.projection_writers);
    proj = std::make_unique<projections::projector>(engine_journal(*eng), po);
    proj->start();
  }

  api::engine_backend backend(*eng);
  serve_hooks hooks;
  hooks.description = "data in " + eo.store.path;
  hooks.projector = proj.get();
  if (proj) hooks.metrics.push_back([&proj, &eng] { return projections::projection_metrics(*proj, eng->head()); });
  hooks.drain_backend = [&eng] { eng->stop(); };
  serve_api(cfg, backend, hooks);
  if (proj) proj->stop();
  auto head = eng->head();
  eng.reset();
  std::fprintf(stderr, "ledgerd: stopped at seq %llu\n", static_cast<unsigned long long>(head.seq));
  return 0;
}

}  // namespace ledger::tools
