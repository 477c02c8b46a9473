// ledgerd: the ledger serving HTTP. Embedded mode: API, engine and embedded
// command log in one process, state in RocksDB under --data-dir.
//
// Shutdown (SIGTERM or SIGINT): stop accepting connections, refuse new
// commands, let the engine apply and commit everything already accepted,
// answer those requests, then exit. No acknowledged command is lost: an
// acknowledgement is only sent after its batch is durable anyway.
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

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

#include "api/ops.h"
#include "api/server.h"
#include "kafka/event_reader.h"
#include "tools/ledgerd.h"
#include "projections/maintenance.h"
#include "projections/migrations.h"
#include "tools/read_models_adapter.h"
#include "tools/system_clock.h"

using namespace ledger;
using namespace ledger::tools;

namespace {

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
  engine                (--log=kafka) the single writer: consumes the commands
                        topic as a member of the engines' consumer group
                        (active, or standby until the group assigns it the
                        ledger's partition), publishes the journal to the
                        events topic; serves /healthz, /readyz, /metrics on
                        --listen. Exits 75 when fenced (restart it).
  probe URL             GET URL (http://host:port/path); exit 0 on 200 within
                        2 seconds, else 1 (container health checks)

With --log=kafka: serve runs a stateless API instance (commands through the
commands topic, outcomes from the replies topic, reads from a local replica
of the events topic under --data-dir); project, verify-read-models and
rebuild-read-models read the events topic instead of a local journal.

Options (each also read from the environment variable shown; flags win):
  --data-dir DIR            LEDGER_DATA_DIR        state directory [data]
  --listen HOST:PORT        LEDGER_LISTEN          [127.0.0.1:8080]; port 0 picks a free one
  --port-file FILE          LEDGER_PORT_FILE       write the bound port here once listening
  --io-threads N            LEDGER_IO_THREADS      HTTP threads [2]
  --batch-max N             LEDGER_BATCH_MAX       commands per engine batch [8190]
  --queue-max N             LEDGER_QUEUE_MAX       commands waiting for the engine [65536]
  --snapshot-every N        LEDGER_SNAPSHOT_EVERY  retain a state snapshot (and checkpoint) every N events
                                                   under DATA_DIR/snapshots, for ledgerctl audit state; 0: none [1000000]
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
  --log embedded|kafka      LEDGER_LOG             the command log [embedded]
  --check-config                                   parse and validate flags, environment and
                                                   secrets, print a summary, exit (0 or 2)

Kafka (with --log=kafka):
  --kafka-brokers LIST            LEDGER_KAFKA_BROKERS             bootstrap servers (required)
  --kafka-commands-topic NAME     LEDGER_KAFKA_COMMANDS_TOPIC      [ledger.commands]
  --kafka-events-topic NAME       LEDGER_KAFKA_EVENTS_TOPIC        [ledger.events]
  --kafka-replies-topic NAME      LEDGER_KAFKA_REPLIES_TOPIC       [ledger.replies]
  --kafka-ledger-partition N      LEDGER_KAFKA_LEDGER_PARTITION    the ledger's commands partition [0]
  --kafka-commands-partitions N   LEDGER_KAFKA_COMMANDS_PARTITIONS created with [1]
  --kafka-replies-partitions N    LEDGER_KAFKA_REPLIES_PARTITIONS  created with [4]
  --kafka-replication-factor N    LEDGER_KAFKA_REPLICATION_FACTOR  created with [3]
  --kafka-min-insync-replicas N   LEDGER_KAFKA_MIN_INSYNC_REPLICAS created with [2]
  --kafka-retention-ms N          LEDGER_KAFKA_RETENTION_MS        commands and events; -1 forever [-1]
  --kafka-replies-retention-ms N  LEDGER_KAFKA_REPLIES_RETENTION_MS [3600000]
  --kafka-group NAME              LEDGER_KAFKA_GROUP               the engines' consumer group [ledger-engine]
  --kafka-instance-id ID          LEDGER_KAFKA_INSTANCE_ID         this process [host name]
  --kafka-session-timeout-ms N    LEDGER_KAFKA_SESSION_TIMEOUT_MS  engine failover time [6000]
  --kafka-request-timeout-ms N    LEDGER_KAFKA_REQUEST_TIMEOUT_MS  longest wait for an outcome [10000]
  --kafka-create-topics           LEDGER_KAFKA_CREATE_TOPICS=1     create missing topics at start
  --kafka-option KEY=VALUE        LEDGER_KAFKA_OPTIONS (k=v,k=v)   raw librdkafka setting (repeatable)
  --help

Secrets (environment or files only, never flags):
  LEDGER_JWT_HS256_SECRET or LEDGER_JWT_HS256_SECRET_FILE   HS256 key (32+ bytes)
  LEDGER_JWT_ES256_PUBLIC_KEY_FILE                          ES256 public key (PEM)
  LEDGER_PG_CONNINFO or LEDGER_PG_CONNINFO_FILE             PostgreSQL for the read models
                                                            (libpq conninfo); none: no read models
  LEDGER_KAFKA_OPTIONS_FILE                                 librdkafka settings with secrets
                                                            (sasl.password=...), KEY=VALUE per line
Without --dev, ledgerd refuses to start unless a JWT key is configured.
)";


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

// Kafka topic, group and instance names: Kafka's legal characters.
std::string topic_name(const std::string& name, const std::string& v) {
  if (v.empty() || v.size() > 249) die(name + ": 1 to 249 characters");
  for (char ch : v)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-')
      die(name + ": only letters, digits, '.', '_' and '-' are allowed: " + v);
  return v;
}

std::int64_t retention(const std::string& name, const std::string& v) {
  if (v == "-1") return -1;
  return static_cast<std::int64_t>(to_number(name, v, 60'000, std::uint64_t(1) << 50));
}

std::pair<std::string, std::string> key_value(const std::string& name, const std::string& v) {
  auto eq = v.find('=');
  if (eq == std::string::npos || eq == 0) die(name + ": expected KEY=VALUE, got " + v);
  return {v.substr(0, eq), v.substr(eq + 1)};
}

// Everything a start would refuse, checked before anything is opened (and
// all that --check-config checks).
void validate(config& c) {
  bool kafka = c.log == "kafka";
  if (c.command == "engine" && !kafka) die("the engine command runs the Kafka engine: add --log=kafka");
  if (kafka) {
    if (c.kafka.brokers.empty()) die("--log=kafka needs --kafka-brokers (or LEDGER_KAFKA_BROKERS)");
    if (c.kafka.instance_id.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      c.kafka.instance_id = topic_name("the host name (set --kafka-instance-id)", host);
    }
    if (c.kafka.min_insync_replicas > c.kafka.replication_factor)
      die("--kafka-min-insync-replicas cannot exceed --kafka-replication-factor");
    if (c.kafka.ledger_partition >= c.kafka.commands_partitions)
      die("--kafka-ledger-partition must be below --kafka-commands-partitions");
    if (c.kafka.events_topic == c.kafka.commands_topic || c.kafka.events_topic == c.kafka.replies_topic ||
        c.kafka.commands_topic == c.kafka.replies_topic)
      die("the commands, events and replies topics must be three different topics");
    rd_kafka_conf_t* conf = nullptr;
    if (auto s = kafka::make_conf(c.kafka, {}, conf); !s) die(s.message());
    rd_kafka_conf_destroy(conf);
  }
  if (c.command == "serve" && c.hs256_secret.empty() && c.es256_public_key.empty() && !c.dev)
    die("no JWT key configured: set LEDGER_JWT_HS256_SECRET(_FILE) or LEDGER_JWT_ES256_PUBLIC_KEY_FILE (or use --dev)");
  if (c.command == "serve" && !c.hs256_secret.empty() && c.hs256_secret.size() < 32)
    die("the HS256 secret must be at least 32 bytes");
  bool needs_pg = c.command == "migrate" || c.command == "project" || c.command == "verify-read-models" ||
                  c.command == "rebuild-read-models";
  if (needs_pg && c.pg_conninfo.empty())
    die("no PostgreSQL configured: set LEDGER_PG_CONNINFO or LEDGER_PG_CONNINFO_FILE");
  (void)server_config_of(c);  // --listen must be HOST:PORT
  if (c.check_config) {
    std::printf("ledgerd: configuration ok: %s log=%s listen=%s data-dir=%s", c.command.c_str(), c.log.c_str(),
                c.listen.c_str(), c.data_dir.c_str());
    if (kafka)
      std::printf(" brokers=%s instance=%s group=%s topics=%s,%s,%s", c.kafka.brokers.c_str(), c.kafka.instance_id.c_str(),
                  c.kafka.group.c_str(), c.kafka.commands_topic.c_str(), c.kafka.events_topic.c_str(),
                  c.kafka.replies_topic.c_str());
    std::printf(" read-models=%s\n", c.pg_conninfo.empty() ? "off" : "on");
    std::exit(0);
  }
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
      {"--listen", "LEDGER_LISTEN", [&](const std::string& v) { c.listen = v; c.listen_set = true; }},
      {"--port-file", "LEDGER_PORT_FILE", [&](const std::string& v) { c.port_file = v; }},
      {"--io-threads", "LEDGER_IO_THREADS", [&](const std::string& v) { c.io_threads = int(to_number("--io-threads", v, 1, 64)); }},
      {"--batch-max", "LEDGER_BATCH_MAX", [&](const std::string& v) { c.batch_max = to_number("--batch-max", v, 1, 1u << 16); }},
      {"--queue-max", "LEDGER_QUEUE_MAX", [&](const std::string& v) { c.queue_max = to_number("--queue-max", v, 1, 1u << 24); }},
      {"--snapshot-every", "LEDGER_SNAPSHOT_EVERY", [&](const std::string& v) { c.snapshot_every = to_number("--snapshot-every", v, 0, 1ull << 40); }},
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
      {"--log", "LEDGER_LOG", [&](const std::string& v) {
         if (v != "embedded" && v != "kafka") die("--log: must be embedded or kafka, not " + v);
         c.log = v;
       }},
      {"--kafka-brokers", "LEDGER_KAFKA_BROKERS", [&](const std::string& v) { c.kafka.brokers = v; }},
      {"--kafka-commands-topic", "LEDGER_KAFKA_COMMANDS_TOPIC", [&](const std::string& v) { c.kafka.commands_topic = topic_name("--kafka-commands-topic", v); }},
      {"--kafka-events-topic", "LEDGER_KAFKA_EVENTS_TOPIC", [&](const std::string& v) { c.kafka.events_topic = topic_name("--kafka-events-topic", v); }},
      {"--kafka-replies-topic", "LEDGER_KAFKA_REPLIES_TOPIC", [&](const std::string& v) { c.kafka.replies_topic = topic_name("--kafka-replies-topic", v); }},
      {"--kafka-ledger-partition", "LEDGER_KAFKA_LEDGER_PARTITION", [&](const std::string& v) { c.kafka.ledger_partition = int(to_number("--kafka-ledger-partition", v, 0, 100'000)); }},
      {"--kafka-commands-partitions", "LEDGER_KAFKA_COMMANDS_PARTITIONS", [&](const std::string& v) { c.kafka.commands_partitions = int(to_number("--kafka-commands-partitions", v, 1, 100'000)); }},
      {"--kafka-replies-partitions", "LEDGER_KAFKA_REPLIES_PARTITIONS", [&](const std::string& v) { c.kafka.replies_partitions = int(to_number("--kafka-replies-partitions", v, 1, 100'000)); }},
      {"--kafka-replication-factor", "LEDGER_KAFKA_REPLICATION_FACTOR", [&](const std::string& v) { c.kafka.replication_factor = int(to_number("--kafka-replication-factor", v, 1, 100)); }},
      {"--kafka-min-insync-replicas", "LEDGER_KAFKA_MIN_INSYNC_REPLICAS", [&](const std::string& v) { c.kafka.min_insync_replicas = int(to_number("--kafka-min-insync-replicas", v, 1, 100)); }},
      {"--kafka-retention-ms", "LEDGER_KAFKA_RETENTION_MS", [&](const std::string& v) { c.kafka.retention_ms = retention("--kafka-retention-ms", v); }},
      {"--kafka-replies-retention-ms", "LEDGER_KAFKA_REPLIES_RETENTION_MS", [&](const std::string& v) { c.kafka.replies_retention_ms = retention("--kafka-replies-retention-ms", v); }},
      {"--kafka-group", "LEDGER_KAFKA_GROUP", [&](const std::string& v) { c.kafka.group = topic_name("--kafka-group", v); }},
      {"--kafka-instance-id", "LEDGER_KAFKA_INSTANCE_ID", [&](const std::string& v) { c.kafka.instance_id = topic_name("--kafka-instance-id", v); }},
      {"--kafka-session-timeout-ms", "LEDGER_KAFKA_SESSION_TIMEOUT_MS", [&](const std::string& v) { c.kafka.session_timeout_ms = int(to_number("--kafka-session-timeout-ms", v, 1000, 3'600'000)); }},
      {"--kafka-request-timeout-ms", "LEDGER_KAFKA_REQUEST_TIMEOUT_MS", [&](const std::string& v) { c.kafka.request_timeout_ms = int(to_number("--kafka-request-timeout-ms", v, 100, 300'000)); }},
      {"--kafka-option", "", [&](const std::string& v) { c.kafka.extra.push_back(key_value("--kafka-option", v)); }},
  };
  for (auto& d : defs)
    if (const char* v = *d.env ? std::getenv(d.env) : nullptr; v && *v) d.set(v);
  if (const char* v = std::getenv("LEDGER_KAFKA_OPTIONS"); v && *v)
    for (const auto& kv : split_list(v)) c.kafka.extra.push_back(key_value("LEDGER_KAFKA_OPTIONS", kv));
  if (const char* v = std::getenv("LEDGER_KAFKA_CREATE_TOPICS"); v && std::string(v) == "1") c.kafka_create_topics = true;
  if (const char* v = std::getenv("LEDGER_DEV"); v && std::string(v) == "1") c.dev = true;
  if (const char* v = std::getenv("LEDGER_QUIET"); v && std::string(v) == "1") c.quiet = true;
  int first = 1;
  if (argc > 1 && argv[1][0] != '-') {
    c.command = argv[1];
    first = 2;
    static const char* commands[] = {"serve",  "migrate", "project", "verify-read-models", "rebuild-read-models",
                                     "engine", "probe"};
    if (std::find(std::begin(commands), std::end(commands), c.command) == std::end(commands))
      die("unknown command " + c.command + " (see --help)");
    if (c.command == "probe") {
      if (argc < 3 || argv[2][0] == '-') die("probe needs a URL: ledgerd probe http://127.0.0.1:8080/readyz");
      c.probe_url = argv[2];
      first = 3;
    }
  }
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    }
    if (a == "--dev") { c.dev = true; continue; }
    if (a == "--check-config") { c.check_config = true; continue; }
    if (a == "--kafka-create-topics") { c.kafka_create_topics = true; continue; }
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
  // librdkafka settings that hold secrets (sasl.password, ssl.key.password):
  // one KEY=VALUE per line; blank lines and # comments ignored.
  if (const char* v = std::getenv("LEDGER_KAFKA_OPTIONS_FILE"); v && *v) {
    std::stringstream lines(read_file(v));
    std::string line;
    while (std::getline(lines, line)) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      c.kafka.extra.push_back(key_value("LEDGER_KAFKA_OPTIONS_FILE", line));
    }
  }
  validate(c);
  return c;
}

std::string random_secret() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 64; ++i) s += hex[rd() & 15];
  return s;
}

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
  journal_source source() {
    return journal_source{
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

std::string projection_metrics(const projections::projector& p, const ledger_head& head) {
  auto st = p.stats();
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

int run_tool(const config& cfg) {
  if (cfg.command == "migrate") {
    projections::migrate_result r;
    if (auto s = projections::migrate(cfg.pg_conninfo, cfg.pg_schema, r); !s) die(s.to_string());
    std::printf("schema %s: version %d -> %d\n", cfg.pg_schema.c_str(), r.version_before, r.version_after);
    return 0;
  }
  // The journal: the local store's, or the events topic.
  std::unique_ptr<follower_journal> local;
  std::unique_ptr<kafka::event_reader> topic;
  journal_source source;
  if (cfg.log == "kafka") {
    if (auto s = kafka::event_reader::open(cfg.kafka, topic); !s) die("reading " + cfg.kafka.events_topic + ": " + s.to_string());
    source = topic->source();
  } else {
    local = std::make_unique<follower_journal>(cfg);
    source = local->source();
  }
  const std::string from = cfg.log == "kafka" ? "topic " + cfg.kafka.events_topic : store_path(cfg);
  if (cfg.command == "verify-read-models") {
    projections::verify_report r;
    if (auto s = projections::verify_read_models(source, cfg.pg_conninfo, cfg.pg_schema, "read_models", r); !s)
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
    if (auto s = projections::rebuild_read_models(source, cfg.pg_conninfo, cfg.pg_schema, "read_models", r); !s)
      die(s.to_string());
    std::printf("rebuilt %s: %llu events, now at seq %llu\n", cfg.pg_schema.c_str(),
                static_cast<unsigned long long>(r.events), static_cast<unsigned long long>(r.projected_seq));
    return 0;
  }
  // project: follow the journal until SIGTERM/SIGINT.
  block_signals();
  projections::projector_options po;
  po.conninfo = cfg.pg_conninfo;
  po.schema = cfg.pg_schema;
  projections::projector p(source, po);
  p.start();
  // Operations endpoints only when asked for (--listen): a projector beside
  // a ledgerd on the same host would otherwise take its port.
  std::unique_ptr<api::ops_handler> ops;
  std::unique_ptr<api::server> srv;
  std::thread io;
  if (cfg.listen_set) {
    ops = std::make_unique<api::ops_handler>(api::ops_probes{
        [&p] {
          auto st = p.stats();
          return st.healthy ? status::ok() : status::unavailable("projection failing: " + st.last_error);
        },
        [] { return std::string("projector"); },
        [&p] {
          auto st = p.stats();
          ledger_head head;
          head.seq = st.projected_seq;
          head.log_ts_us = st.projected_log_ts_us;
          return projection_metrics(p, head);
        }});
    srv = std::make_unique<api::server>(*ops, server_config_of(cfg));
    if (auto s = srv->listen(); !s) die(s.to_string());
    io = std::thread([&srv] { srv->run(); });
    write_port_file(cfg, srv->port());
  }
  std::fprintf(stderr, "ledgerd project: following %s into schema %s\n", from.c_str(), cfg.pg_schema.c_str());
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

namespace ledger::tools {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ledgerd: %s\n", msg.c_str());
  std::exit(2);
}

std::string store_path(const config& cfg) { return (std::filesystem::path(cfg.data_dir) / "ledger").string(); }

api::server_config server_config_of(const config& cfg) {
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
  return sc;
}

void write_port_file(const config& cfg, unsigned short port) {
  if (cfg.port_file.empty()) return;
  std::error_code ec;
  std::string tmp = cfg.port_file + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::filesystem::rename(tmp, cfg.port_file, ec);
}

void block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int wait_for_signal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

status ensure_defaults(const std::function<append_result(std::vector<command>&&, completion)>& submit, bool dev) {
  std::vector<command> cmds = {
      {"ledgerd", "setup:payouts", "", open_account_cmd{account_kind::system, "payouts", {}}},
      {"ledgerd", "setup:fee_revenue", "", open_account_cmd{account_kind::system, "fee_revenue", {}}},
  };
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

std::unique_ptr<api::jwt_verifier> make_jwt(config& cfg) {
  if (cfg.hs256_secret.empty() && cfg.es256_public_key.empty()) cfg.hs256_secret = random_secret();  // --dev
  api::jwt_config jc;
  jc.hs256_secret = cfg.hs256_secret;
  jc.es256_public_key_pem = cfg.es256_public_key;
  jc.issuer = cfg.jwt_issuer;
  jc.audience = cfg.jwt_audience;
  std::unique_ptr<api::jwt_verifier> jwt;
  if (auto err = api::jwt_verifier::create(jc, jwt)) die("JWT configuration: " + *err);
  return jwt;
}

int serve_api(config& cfg, api::backend& backend, const serve_hooks& hooks) {
  auto jwt = make_jwt(cfg);
  auto sc = server_config_of(cfg);
  system_clock_source clk;

  // History reads from PostgreSQL, when configured.
  std::unique_ptr<projections::query_pool> pool;
  std::unique_ptr<read_models_adapter> reads;
  if (!cfg.pg_conninfo.empty()) {
    projections::query_pool_options qo;
    qo.conninfo = cfg.pg_conninfo;
    qo.schema = cfg.pg_schema;
    pool = std::make_unique<projections::query_pool>(qo);
    reads = std::make_unique<read_models_adapter>(*pool, hooks.projector, cfg.min_seq_wait_ms);
  }

  api::metrics m;
  for (const auto& source : hooks.metrics) m.add_source(source);
  api::logger log;
  log.set_enabled(!cfg.quiet);
  api::service_config svc_cfg;
  svc_cfg.cors_origins = cfg.cors_origins;
  svc_cfg.reads = reads.get();
  std::unique_ptr<api::server> srv;
  svc_cfg.dispatch = [&srv](std::function<void()> f) { srv->dispatcher()(std::move(f)); };
  api::service svc(backend, *jwt, svc_cfg, m, log, clk);
  srv = std::make_unique<api::server>(svc, sc);
  if (auto s = srv->listen(); !s) die(s.to_string());

  write_port_file(cfg, srv->port());
  std::fprintf(stderr, "ledgerd: serving http://%s:%u (%s, journal at seq %llu)\n", sc.address.c_str(), srv->port(),
               hooks.description.c_str(), static_cast<unsigned long long>(backend.head().seq));
  if (cfg.dev) {
    auto now_s = clk.now_us() / 1'000'000;
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
                 dev_token.c_str(), sc.address.c_str(), srv->port(), sc.address.c_str(), srv->port());
  }
  std::fflush(stderr);

  std::atomic<bool> run_returned{false};
  std::thread signal_thread([&] {
    int sig = wait_for_signal();
    std::fprintf(stderr, "ledgerd: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    srv->stop_accepting();
    svc.begin_drain();
    // Answers every command already accepted (embedded: applies and commits
    // them; Kafka: waits for their outcomes, bounded by the request timeout).
    if (hooks.drain_backend) hooks.drain_backend();
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
  return 0;
}

}  // namespace ledger::tools

namespace {

// The embedded ledger: API, engine, embedded log and projector in one process.
int run_embedded_serve(config& cfg) {
  system_clock_source clk;
  engine_options eo;
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  eo.store.path = store_path(cfg);
  eo.store.sync = cfg.sync;
  eo.batch_commands_max = cfg.batch_max;
  eo.queue_commands_max = cfg.queue_max;
  eo.snapshot_every_events = cfg.snapshot_every;
  eo.snapshot_dir = (std::filesystem::path(cfg.data_dir) / "snapshots").string();
  eo.clk = &clk;
  std::unique_ptr<engine> eng;
  if (auto s = engine::open(eo, eng); !s) die("opening the ledger at " + eo.store.path + ": " + s.to_string());
  if (auto s = ensure_defaults([&](std::vector<command>&& c, completion d) { return eng->submit(std::move(c), std::move(d)); },
                               cfg.dev);
      !s)
    die(s.to_string());

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
    proj = std::make_unique<projections::projector>(engine_journal(*eng), po);
    proj->start();
  }

  api::engine_backend backend(*eng);
  serve_hooks hooks;
  hooks.description = "data in " + eo.store.path;
  hooks.projector = proj.get();
  if (proj) hooks.metrics.push_back([&proj, &eng] { return projection_metrics(*proj, eng->head()); });
  hooks.drain_backend = [&eng] { eng->stop(); };
  serve_api(cfg, backend, hooks);
  if (proj) proj->stop();
  auto head = eng->head();
  eng.reset();
  std::fprintf(stderr, "ledgerd: stopped at seq %llu\n", static_cast<unsigned long long>(head.seq));
  return 0;
}

// GET url; 0 on a 200 answer within two seconds.
int run_probe(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) die("probe: only http:// URLs: " + url);
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    std::fprintf(stderr, "probe: cannot resolve %s\n", host.c_str());
    return 1;
  }
  int fd = ::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK, res->ai_protocol);
  int rc = fd < 0 ? -1 : ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (fd < 0 || (rc != 0 && errno != EINPROGRESS)) {
    std::fprintf(stderr, "probe: cannot connect to %s\n", hostport.c_str());
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fd, events, 0};
    return left > 0 && ::poll(&p, 1, int(left)) == 1 && !(p.revents & (POLLERR | POLLNVAL));
  };
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + hostport + "\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    if (!wait(POLLOUT)) break;
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += std::size_t(n);
  }
  std::string answer;
  char buf[512];
  while (sent == req.size() && answer.find("\r\n") == std::string::npos && wait(POLLIN)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, std::size_t(n));
  }
  ::close(fd);
  std::string line = answer.substr(0, answer.find("\r\n"));
  std::printf("%s\n", line.empty() ? "probe: no answer" : line.c_str());
  return line.rfind("HTTP/1.1 200", 0) == 0 || line.rfind("HTTP/1.0 200", 0) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  if (cfg.command == "probe") return run_probe(cfg.probe_url);
  if (cfg.command == "engine") return run_kafka_engine(cfg);
  if (cfg.command != "serve") return run_tool(cfg);
  // Signals are taken by one thread with sigwait; block them everywhere first.
  block_signals();
  if (cfg.log == "kafka") return run_kafka_serve(cfg);
  return run_embedded_serve(cfg);
}
