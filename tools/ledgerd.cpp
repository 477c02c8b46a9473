// ledgerd: the ledger serving HTTP. Embedded mode: API, engine and embedded
// command log in one process, state in RocksDB under --data-dir.
//
// Shutdown (SIGTERM or SIGINT): stop accepting connections, refuse new
// commands, let the engine apply and commit everything already accepted,
// answer those requests, then exit. No acknowledged command is lost: an
// acknowledgement is only sent after its batch is durable anyway.
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "api/server.h"
#include "projections/maintenance.h"
#include "projections/migrations.h"
#include "tools/read_models_adapter.h"
#include "tools/system_clock.h"

using namespace ledger;

namespace {

struct config {
  std::string data_dir = "data";
  std::string listen = "127.0.0.1:8080";
  std::string port_file;
  int io_threads = 2;
  std::size_t batch_max = 8190;
  std::size_t queue_max = 1u << 16;
  std::size_t connections_max = 1024;
  std::size_t body_max_bytes = 1u << 20;
  int read_timeout_ms = 15'000;
  int write_timeout_ms = 15'000;
  int shutdown_timeout_ms = 10'000;
  int min_seq_wait_ms = 2'000;
  std::vector<std::string> cors_origins;
  std::string jwt_issuer = "ledger";
  std::string jwt_audience = "ledger-api";
  std::string hs256_secret;
  std::string es256_public_key;
  bool dev = false;
  bool quiet = false;
  bool sync = true;
  std::string command = "serve";
  std::string pg_conninfo;  // secret: environment or file only
  std::string pg_schema = "ledger";
};

const char* usage_text = R"(usage: ledgerd [command] [options]

Commands:
  serve                 (default) serve the ledger over HTTP: API, engine and
                        command log in one process, state in RocksDB under the
                        data directory, read models projected to PostgreSQL
                        when one is configured
  migrate               apply the read models' schema migrations and exit
  project               run only the projector, following a running ledger's
                        journal (for a separate projector process)
  verify-read-models    compare every balance in PostgreSQL with the engine's
                        state at the projection's checkpoint; exit 1 on drift
  rebuild-read-models   project the journal from seq 1 into new tables while
                        the current ones serve, then swap them in

Options (each also read from the environment variable shown; flags win):
  --data-dir DIR            LEDGER_DATA_DIR        state directory [data]
  --listen HOST:PORT        LEDGER_LISTEN          [127.0.0.1:8080]; port 0 picks a free one
  --port-file FILE          LEDGER_PORT_FILE       write the bound port here once listening
  --io-threads N            LEDGER_IO_THREADS      HTTP threads [2]
  --batch-max N             LEDGER_BATCH_MAX       commands per engine batch [8190]
  --queue-max N             LEDGER_QUEUE_MAX       commands waiting for the engine [65536]
  --connections-max N       LEDGER_CONNECTIONS_MAX open connections [1024]
  --body-max-bytes N        LEDGER_BODY_MAX_BYTES  request body limit [1048576]
  --read-timeout-ms N       LEDGER_READ_TIMEOUT_MS a whole request or an idle connection [15000]
  --write-timeout-ms N      LEDGER_WRITE_TIMEOUT_MS [15000]
  --shutdown-timeout-ms N   LEDGER_SHUTDOWN_TIMEOUT_MS wait for in-flight requests [10000]
  --cors-origins A,B        LEDGER_CORS_ORIGINS    allowed browser origins [none]
  --jwt-issuer S            LEDGER_JWT_ISSUER      required "iss" [ledger]
  --jwt-audience S          LEDGER_JWT_AUDIENCE    required "aud" [ledger-api]
  --dev                     LEDGER_DEV=1           development: without keys, make a random
                                                   HS256 secret and print an admin token;
                                                   register USD and a "demo" provider
  --quiet                   LEDGER_QUIET=1         no request logs
  --pg-schema S             LEDGER_PG_SCHEMA       PostgreSQL schema of the read models [ledger]
  --min-seq-wait-ms N       LEDGER_MIN_SEQ_WAIT_MS how long a read with min_seq waits for the
                                                   projection before answering 503 [2000]
  --help

Secrets (environment or files only, never flags):
  LEDGER_JWT_HS256_SECRET or LEDGER_JWT_HS256_SECRET_FILE   HS256 key (32+ bytes)
  LEDGER_JWT_ES256_PUBLIC_KEY_FILE                          ES256 public key (PEM)
  LEDGER_PG_CONNINFO or LEDGER_PG_CONNINFO_FILE             PostgreSQL for the read models
                                                            (libpq conninfo); none: no read models
Without --dev, ledgerd refuses to start unless a JWT key is configured.
)";

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ledgerd: %s\n", msg.c_str());
  std::exit(2);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::uint64_t to_number(const std::string& name, const std::string& v, std::uint64_t min, std::uint64_t max) {
  std::uint64_t n = 0;
  try {
    std::size_t used = 0;
    n = std::stoull(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
  } catch (...) {
    die(name + ": not a number: " + v);
  }
  if (n < min || n > max) die(name + ": must be between " + std::to_string(min) + " and " + std::to_string(max));
  return n;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

config parse(int argc, char** argv) {
  config c;
  struct option_def {
    const char* flag;
    const char* env;
    std::function<void(const std::string&)> set;
  };
  std::vector<option_def> defs = {
      {"--data-dir", "LEDGER_DATA_DIR", [&](const std::string& v) { c.data_dir = v; }},
      {"--listen", "LEDGER_LISTEN", [&](const std::string& v) { c.listen = v; }},
      {"--port-file", "LEDGER_PORT_FILE", [&](const std::string& v) { c.port_file = v; }},
      {"--io-threads", "LEDGER_IO_THREADS", [&](const std::string& v) { c.io_threads = int(to_number("--io-threads", v, 1, 64)); }},
      {"--batch-max", "LEDGER_BATCH_MAX", [&](const std::string& v) { c.batch_max = to_number("--batch-max", v, 1, 1u << 16); }},
      {"--queue-max", "LEDGER_QUEUE_MAX", [&](const std::string& v) { c.queue_max = to_number("--queue-max", v, 1, 1u << 24); }},
      {"--connections-max", "LEDGER_CONNECTIONS_MAX", [&](const std::string& v) { c.connections_max = to_number("--connections-max", v, 1, 1u << 20); }},
      {"--body-max-bytes", "LEDGER_BODY_MAX_BYTES", [&](const std::string& v) { c.body_max_bytes = to_number("--body-max-bytes", v, 1024, 64u << 20); }},
      {"--read-timeout-ms", "LEDGER_READ_TIMEOUT_MS", [&](const std::string& v) { c.read_timeout_ms = int(to_number("--read-timeout-ms", v, 10, 3'600'000)); }},
      {"--write-timeout-ms", "LEDGER_WRITE_TIMEOUT_MS", [&](const std::string& v) { c.write_timeout_ms = int(to_number("--write-timeout-ms", v, 10, 3'600'000)); }},
      {"--shutdown-timeout-ms", "LEDGER_SHUTDOWN_TIMEOUT_MS", [&](const std::string& v) { c.shutdown_timeout_ms = int(to_number("--shutdown-timeout-ms", v, 0, 3'600'000)); }},
      {"--cors-origins", "LEDGER_CORS_ORIGINS", [&](const std::string& v) { c.cors_origins = split_list(v); }},
      {"--jwt-issuer", "LEDGER_JWT_ISSUER", [&](const std::string& v) { c.jwt_issuer = v; }},
      {"--jwt-audience", "LEDGER_JWT_AUDIENCE", [&](const std::string& v) { c.jwt_audience = v; }},
      {"--pg-schema", "LEDGER_PG_SCHEMA", [&](const std::string& v) { c.pg_schema = v; }},
      {"--min-seq-wait-ms", "LEDGER_MIN_SEQ_WAIT_MS", [&](const std::string& v) { c.min_seq_wait_ms = int(to_number("--min-seq-wait-ms", v, 0, 60'000)); }},
  };
  for (auto& d : defs)
    if (const char* v = std::getenv(d.env); v && *v) d.set(v);
  if (const char* v = std::getenv("LEDGER_DEV"); v && std::string(v) == "1") c.dev = true;
  if (const char* v = std::getenv("LEDGER_QUIET"); v && std::string(v) == "1") c.quiet = true;
  int first = 1;
  if (argc > 1 && argv[1][0] != '-') {
    c.command = argv[1];
    first = 2;
    static const char* commands[] = {"serve", "migrate", "project", "verify-read-models", "rebuild-read-models"};
    if (std::find(std::begin(commands), std::end(commands), c.command) == std::end(commands))
      die("unknown command " + c.command + " (see --help)");
  }
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    }
    if (a == "--dev") { c.dev = true; continue; }
    if (a == "--quiet") { c.quiet = true; continue; }
    if (a == "--unsafe-no-sync") { c.sync = false; continue; }  // benchmarks of the API alone; never in production
    std::string value;
    auto eq = a.find('=');
    std::string flag = a.substr(0, eq);
    bool found = false;
    for (auto& d : defs) {
      if (flag != d.flag) continue;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else {
        if (i + 1 >= argc) die(flag + " needs a value");
        value = argv[++i];
      }
      d.set(value);
      found = true;
    }
    if (!found) die("unknown option " + a + " (see --help)");
  }
  if (const char* v = std::getenv("LEDGER_JWT_HS256_SECRET"); v && *v) c.hs256_secret = v;
  if (const char* v = std::getenv("LEDGER_JWT_HS256_SECRET_FILE"); v && *v) c.hs256_secret = read_file(v);
  if (const char* v = std::getenv("LEDGER_JWT_ES256_PUBLIC_KEY_FILE"); v && *v) c.es256_public_key = read_file(v);
  if (const char* v = std::getenv("LEDGER_PG_CONNINFO"); v && *v) c.pg_conninfo = v;
  if (const char* v = std::getenv("LEDGER_PG_CONNINFO_FILE"); v && *v) c.pg_conninfo = read_file(v);
  return c;
}

std::string random_secret() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 64; ++i) s += hex[rd() & 15];
  return s;
}

// Opens what every ledger needs, idempotently: the payouts and fee revenue
// system accounts, and in dev mode a USD asset and a "demo" provider.
void ensure_defaults(engine& e, bool dev) {
  std::vector<command> cmds = {
      {"ledgerd", "setup:payouts", "", open_account_cmd{account_kind::system, "payouts", {}}},
      {"ledgerd", "setup:fee_revenue", "", open_account_cmd{account_kind::system, "fee_revenue", {}}},
  };
  if (dev) {
    cmds.push_back({"ledgerd", "setup:asset:USD", "", register_asset_cmd{"USD", 2, 1, amount_limit}});
    cmds.push_back({"ledgerd", "setup:clearing:demo", "", open_account_cmd{account_kind::system, "clearing:demo", {}}});
  }
  std::promise<std::vector<outcome>> p;
  auto f = p.get_future();
  if (e.submit(std::move(cmds), [&p](std::vector<outcome>&& o) { p.set_value(std::move(o)); }) != append_result::ok)
    die("could not submit the default accounts");
  for (const auto& o : f.get())
    if (!o.error.is_ok() || (o.result == event_status::rejected && o.reason != reason::asset_exists &&
                             o.reason != reason::account_exists))
      die("setting up default accounts failed: " + std::string(to_string(o.reason)) + " " + o.error.to_string());
}

std::string store_path(const config& cfg) { return (std::filesystem::path(cfg.data_dir) / "ledger").string(); }

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
  projections::journal_source source() {
    return projections::journal_source{
        [this](std::uint64_t from, std::size_t max, std::vector<journal_entry>& out) {
          std::lock_guard lock(mu);
          return st->read_journal(from, max, out);
        },
        [this](std::uint64_t seq, int timeout_ms) {
          for (int waited = 0;; waited += 50) {
            {
              std::lock_guard lock(mu);
              (void)st->catch_up();
              if (st->head().seq >= seq) return true;
            }
            if (waited >= timeout_ms) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        },
        [this] {
          std::lock_guard lock(mu);
          (void)st->catch_up();
          return st->head();
        }};
  }
};



int run_tool(const config& cfg) {
  if (cfg.pg_conninfo.empty()) die("no PostgreSQL configured: set LEDGER_PG_CONNINFO or LEDGER_PG_CONNINFO_FILE");
  if (cfg.command == "migrate") {
    projections::migrate_result r;
    if (auto s = projections::migrate(cfg.pg_conninfo, cfg.pg_schema, r); !s) die(s.to_string());
    std::printf("schema %s: version %d -> %d\n", cfg.pg_schema.c_str(), r.version_before, r.version_after);
    return 0;
  }
  follower_journal journal(cfg);
  if (cfg.command == "verify-read-models") {
    projections::verify_report r;
    if (auto s = projections::verify_read_models(journal.source(), cfg.pg_conninfo, cfg.pg_schema, "read_models", r); !s)
      die(s.to_string());
    for (const auto& d : r.drifts)
      std::printf("drift wallet=%llu asset=%s %s: read model %s, engine %s\n", static_cast<unsigned long long>(d.wallet_id),
                  d.asset.c_str(), d.what.c_str(), d.read_model.c_str(), d.engine.c_str());
    std::printf("verified %zu balances at seq %llu: %zu drift(s)\n", r.balances_compared,
                static_cast<unsigned long long>(r.checkpoint_seq), r.drifts.size());
    return r.drifts.empty() ? 0 : 1;
  }
  if (cfg.command == "rebuild-read-models") {
    projections::rebuild_report r;
    if (auto s = projections::rebuild_read_models(journal.source(), cfg.pg_conninfo, cfg.pg_schema, "read_models", r); !s)
      die(s.to_string());
    std::printf("rebuilt %s: %llu events, now at seq %llu\n", cfg.pg_schema.c_str(),
                static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.projected_seq));
    return 0;
  }
  // project: follow the journal until SIGTERM/SIGINT.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  projections::projector_options po;
  po.conninfo = cfg.pg_conninfo;
  po.schema = cfg.pg_schema;
  projections::projector p(journal.source(), po);
  p.start();
  std::fprintf(stderr, "ledgerd project: following %s into schema %s\n", store_path(cfg).c_str(), cfg.pg_schema.c_str());
  int sig = 0;
  sigwait(&signals, &sig);
  p.stop();
  std::fprintf(stderr, "ledgerd project: stopped at seq %llu\n", static_cast<unsigned long long>(p.stats().projected_seq));
  return 0;
}

std::string projection_metrics(const projections::projector& p, const engine& e) {
  auto st = p.stats();
  auto head = e.head();
  std::uint64_t lag = head.seq > st.projected_seq ? head.seq - st.projected_seq : 0;
  double lag_s = lag == 0 ? 0.0 : double(head.log_ts_us - st.projected_log_ts_us) / 1e6;
  std::string out;
  out += "# HELP ledger_projection_seq Last event projected into PostgreSQL.\n# TYPE ledger_projection_seq gauge\n";
  out += "ledger_projection_seq " + std::to_string(st.projected_seq) + "\n";
  out += "# HELP ledger_projection_lag_events Events committed but not yet projected.\n# TYPE ledger_projection_lag_events gauge\n";
  out += "ledger_projection_lag_events " + std::to_string(lag) + "\n";
  out += "# HELP ledger_projection_lag_seconds Log time between the journal head and the last projected event.\n";
  out += "# TYPE ledger_projection_lag_seconds gauge\n";
  out += "ledger_projection_lag_seconds " + std::to_string(lag_s < 0 ? 0 : lag_s) + "\n";
  out += "# HELP ledger_projection_failures_total Failed projection batches (retried).\n# TYPE ledger_projection_failures_total counter\n";
  out += "ledger_projection_failures_total " + std::to_string(st.failures) + "\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  if (cfg.command != "serve") return run_tool(cfg);

  // Signals are taken by one thread with sigwait; block them everywhere first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string dev_token;
  if (cfg.hs256_secret.empty() && cfg.es256_public_key.empty()) {
    if (!cfg.dev)
      die("no JWT key configured: set LEDGER_JWT_HS256_SECRET(_FILE) or LEDGER_JWT_ES256_PUBLIC_KEY_FILE (or use --dev)");
    cfg.hs256_secret = random_secret();
  }
  api::jwt_config jc;
  jc.hs256_secret = cfg.hs256_secret;
  jc.es256_public_key_pem = cfg.es256_public_key;
  jc.issuer = cfg.jwt_issuer;
  jc.audience = cfg.jwt_audience;
  std::unique_ptr<api::jwt_verifier> jwt;
  if (auto err = api::jwt_verifier::create(jc, jwt)) die("JWT configuration: " + *err);

  auto colon = cfg.listen.rfind(':');
  if (colon == std::string::npos) die("--listen must be HOST:PORT");
  api::server_config sc;
  sc.address = cfg.listen.substr(0, colon);
  sc.port = static_cast<unsigned short>(to_number("--listen port", cfg.listen.substr(colon + 1), 0, 65535));
  sc.io_threads = cfg.io_threads;
  sc.connections_max = cfg.connections_max;
  sc.body_bytes_max = cfg.body_max_bytes;
  sc.read_timeout_ms = cfg.read_timeout_ms;
  sc.write_timeout_ms = cfg.write_timeout_ms;

  system_clock_source clk;
  engine_options eo;
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  eo.store.path = store_path(cfg);
  eo.store.sync = cfg.sync;
  eo.batch_commands_max = cfg.batch_max;
  eo.queue_commands_max = cfg.queue_max;
  eo.clk = &clk;
  std::unique_ptr<engine> eng;
  if (auto s = engine::open(eo, eng); !s) die("opening the ledger at " + eo.store.path + ": " + s.to_string());
  ensure_defaults(*eng, cfg.dev);

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
    proj = std::make_unique<projections::projector>(projections::engine_journal(*eng), po);
    proj->start();
  }

  std::unique_ptr<projections::query_pool> pool;
  std::unique_ptr<read_models_adapter> reads;
  if (proj) {
    projections::query_pool_options qo;
    qo.conninfo = cfg.pg_conninfo;
    qo.schema = cfg.pg_schema;
    pool = std::make_unique<projections::query_pool>(qo);
    reads = std::make_unique<read_models_adapter>(*pool, *proj, cfg.min_seq_wait_ms);
  }

  api::metrics m;
  if (proj) m.add_source([&proj, &eng] { return projection_metrics(*proj, *eng); });
  api::logger log;
  log.set_enabled(!cfg.quiet);
  api::service_config svc_cfg;
  svc_cfg.cors_origins = cfg.cors_origins;
  svc_cfg.reads = reads.get();
  std::unique_ptr<api::server> srv;
  svc_cfg.dispatch = [&srv](std::function<void()> f) { srv->dispatcher()(std::move(f)); };
  api::service svc(*eng, *jwt, svc_cfg, m, log, clk);
  srv = std::make_unique<api::server>(svc, sc);
  if (auto s = srv->listen(); !s) die(s.to_string());

  if (!cfg.port_file.empty()) {
    std::string tmp = cfg.port_file + ".tmp";
    std::ofstream(tmp) << srv->port() << "\n";
    std::filesystem::rename(tmp, cfg.port_file, ec);
  }
  std::fprintf(stderr, "ledgerd: serving http://%s:%u (data in %s, journal at seq %llu)\n", sc.address.c_str(),
               srv->port(), eo.store.path.c_str(), static_cast<unsigned long long>(eng->head().seq));
  if (cfg.dev) {
    auto now_s = clk.now_us() / 1'000'000;
    std::string claims = "{\"sub\":\"dev-admin\",\"role\":\"admin\",\"iss\":\"" + cfg.jwt_issuer + "\",\"aud\":\"" +
                         cfg.jwt_audience + "\",\"iat\":" + std::to_string(now_s) +
                         ",\"exp\":" + std::to_string(now_s + 86'400) + "}";
    dev_token = api::sign_hs256(cfg.hs256_secret, claims);
    std::fprintf(stderr,
                 "ledgerd: development mode; an admin token valid for 24 hours:\n\n"
                 "  export TOKEN=%s\n\n"
                 "  curl -s -X POST http://%s:%u/v1/wallets -H \"Authorization: Bearer $TOKEN\" \\\n"
                 "       -H 'Content-Type: application/json' -H 'Idempotency-Key: open-alice' \\\n"
                 "       -d '{\"owner\":\"alice\",\"assets\":[{\"asset\":\"USD\"}]}'\n\n"
                 "  curl -s -X POST http://%s:%u/v1/deposits -H \"Authorization: Bearer $TOKEN\" \\\n"
                 "       -H 'Content-Type: application/json' -H 'Idempotency-Key: dep-1' \\\n"
                 "       -d '{\"wallet_id\":WALLET_ID,\"asset\":\"USD\",\"amount\":\"25.00\",\"provider\":\"demo\"}'\n\n",
                 dev_token.c_str(), sc.address.c_str(), srv->port(), sc.address.c_str(), srv->port());
  }
  std::fflush(stderr);

  std::atomic<bool> run_returned{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "ledgerd: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    srv->stop_accepting();
    svc.begin_drain();
    // Applies and commits everything accepted; its completions answer the
    // waiting requests through the still-running I/O threads.
    eng->stop();
    for (int waited = 0; svc.in_flight() > 0 && waited < cfg.shutdown_timeout_ms; waited += 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Every response is built; let the connections write them, then end.
    srv->drain();
    for (int waited = 0; !run_returned.load() && waited < cfg.shutdown_timeout_ms; waited += 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!run_returned.load()) srv->stop();  // a client that will not read: give up on it
  });
  srv->run();
  run_returned = true;
  signal_thread.join();
  if (pool) pool->stop();
  if (proj) proj->stop();
  auto head = eng->head();
  eng.reset();
  std::fprintf(stderr, "ledgerd: stopped at seq %llu\n", static_cast<unsigned long long>(head.seq));
  return 0;
}
