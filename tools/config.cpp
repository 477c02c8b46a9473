#include "tools/config.h"

#include "engine/chain.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace ledger::tools {

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
  retention             archive and drop old activity_log months, drop money
                        history months past seven years and delete ended
                        sessions, as retention_settings say (at the
                        projection's last log time); the journal is untouched
  engine                (--log=kafka) the single writer: consumes the commands
                        topic as a member of the engines' consumer group
                        (active, or standby until the group assigns it the
                        ledger's partition), publishes the journal to the
                        events topic; serves /healthz, /readyz, /metrics on
                        --listen. Exits 75 when fenced (restart it).
  backup                write a consistent, verified copy of the ledger at
                        --data-dir (running or stopped) to --to DIR as
                        DIR/seq-<head seq>/ with a manifest.json (seq, chain
                        hash, state digest); keeps the newest --keep
  restore               check the backup --from DIR (a backup, or the newest
                        under a directory of backups) against its manifest,
                        rebuild its state from its journal (skip: --quick),
                        and copy it to --data-dir, which must hold no ledger
  reconcile             match a payment provider's report (--report FILE, CSV;
                        --format stripe-payments|generic) with the deposits
                        from the webhook account --account NAME in the read
                        models; keeps the result there; prints it as JSON;
                        exit 1 when anything does not match
  documents-migrate-to-s3 copy every document blob from the local store
                        (--documents-dir) to the S3 store (--s3-*), reading
                        each back and comparing its SHA-256; blobs already
                        there are skipped (rerun to resume); prints the counts;
                        exit 1 when any failed
  probe URL             GET URL (http://host:port/path); exit 0 on 200 within
                        2 seconds, else 1 (container health checks)

With --log=kafka: serve runs a stateless API instance (commands through the
commands topic, outcomes from the replies topic, reads from a local replica
of the events topic under --data-dir); project, verify-read-models and
rebuild-read-models read the events topic instead of a local journal.

Options (each also read from the environment variable shown; flags win):
  --data-dir DIR            LEDGER_DATA_DIR        state directory [data]
  --to DIR                                         backup: the directory of backups
  --keep N                  LEDGER_BACKUP_KEEP     backup: newest backups kept under --to [7]
  --from DIR                                       restore: a backup, or a directory of them
  --quick                                          restore: check head and digest only, do not
                                                   rebuild the state from the journal
  --account NAME, --report FILE, --format F        reconcile: the webhook account, the provider's
                                                   CSV report, its format [stripe-payments]
  --listen HOST:PORT        LEDGER_LISTEN          [127.0.0.1:8080]; port 0 picks a free one
  --port-file FILE          LEDGER_PORT_FILE       write the bound port here once listening
  --ops-listen HOST:PORT    LEDGER_OPS_LISTEN      serve: the operations listener (/metrics,
                                                   detailed /readyz, /healthz); keep it internal
                                                   [127.0.0.1:9090]; port 0 picks a free one
  --ops-port-file FILE      LEDGER_OPS_PORT_FILE   write the operations port here once listening
  --io-threads N            LEDGER_IO_THREADS      HTTP threads [2]
  --batch-max N             LEDGER_BATCH_MAX       commands per engine batch [8190]
  --queue-max N             LEDGER_QUEUE_MAX       commands waiting for the engine [65536]
  --ledger-id ID            LEDGER_ID              the ledger's identity, bound into the hash chain's
                                                   genesis; 1-64 of [A-Za-z0-9._:-]. A new data
                                                   directory gets a random one; Kafka mode: the
                                                   same on every instance [embedded: random;
                                                   Kafka: ledger]
  --snapshot-every N        LEDGER_SNAPSHOT_EVERY  retain a state snapshot (and checkpoint) every N events
                                                   under DATA_DIR/snapshots, for ledgerctl audit state; 0: none [1000000]
  --snapshot-retain N       LEDGER_SNAPSHOT_RETAIN the newest N snapshots are kept; 0: all. ledgerctl
                                                   audit state folds from the newest one at or before
                                                   the point, so older points cost more once theirs
                                                   are gone; each pins up to one state's size [16]
  --snapshot-keep-every N   LEDGER_SNAPSHOT_KEEP_EVERY older than the newest --snapshot-retain, keep the
                                                   oldest snapshot at or past each multiple of N events,
                                                   so any point has one at most about N +
                                                   --snapshot-every events before it; 0: none [0]
  --connections-max N       LEDGER_CONNECTIONS_MAX open connections [1024]
  --body-max-bytes N        LEDGER_BODY_MAX_BYTES  request body limit [1048576]
  --read-timeout-ms N       LEDGER_READ_TIMEOUT_MS a whole request or an idle connection [15000]
  --write-timeout-ms N      LEDGER_WRITE_TIMEOUT_MS [15000]
  --shutdown-timeout-ms N   LEDGER_SHUTDOWN_TIMEOUT_MS wait for in-flight requests [10000]
  --cors-origins A,B        LEDGER_CORS_ORIGINS    allowed browser origins [none]
  --jwt-issuer S            LEDGER_JWT_ISSUER      required "iss" [ledger]
  --jwt-audience S          LEDGER_JWT_AUDIENCE    required "aud" [ledger-api]
  --jwt-max-token-age-s N   LEDGER_JWT_MAX_TOKEN_AGE_S longest token life (exp - iat) accepted [86400]
  --rate-limit C:P:A:W      LEDGER_RATE_LIMITS (spec,spec) class C (auth, commands, reads, other):
                            P requests per principal and A per client address per W seconds
                            (repeatable; 0 turns a bucket off) [auth:20:20:60 commands:3000:6000:60
                            reads:6000:12000:60 other:600:1200:60]
  --trusted-proxies A,B     LEDGER_TRUSTED_PROXIES addresses or CIDR blocks whose X-Forwarded-For
                            names the client [none]
  --webhook-account SPEC    LEDGER_WEBHOOK_ACCOUNTS (spec;spec) a payment provider's webhook
                            endpoint: NAME,PROVIDER,SECRETS_FILE[,NOTIFICATION_URL] with
                            PROVIDER stripe or square, one secret per line in the file (two
                            while rotating; re-read on SIGHUP), the URL Square signs (square
                            only); deposits come from clearing:NAME (repeatable) [none]
  --webhook-tolerance-s N   LEDGER_WEBHOOK_TOLERANCE_S Stripe signature timestamps accepted this
                            far from now, either way [300]
  --master-key-file ID,PATH                        a master key for payment details (32 bytes, raw
                            or 64 hex digits); repeatable, the last one wraps new data keys [none:
                            payout details, documents and payment-request notes answer 503;
                            --dev: DATA_DIR/dev-master-key, made once]
  --key-store-dir DIR       LEDGER_KEY_STORE_DIR   wrapped data keys, outside the journal (shared
                            by every API instance in Kafka mode) [DATA_DIR/keys]
  --documents-dir DIR       LEDGER_DOCUMENTS_DIR   document blobs (encrypted, content-addressed)
                            [DATA_DIR/documents]
  --document-link-key-file PATH LEDGER_DOCUMENT_LINK_KEY_FILE the HMAC-SHA256 key of signed
                            download links (32 bytes, raw or 64 hex digits; never the JWT key)
                            [none: /v1/documents/{id}/link answers 503]
  --upload-max-bytes N      LEDGER_UPLOAD_MAX_BYTES a document's largest size [26214400]
  --clamd-socket PATH|off   LEDGER_CLAMD_SOCKET    scan uploads with clamd (INSTREAM) at this unix
                            socket, failing closed; "off" uploads unscanned [none: uploads 503]
  --uploads-max-concurrent N LEDGER_UPLOADS_MAX_CONCURRENT uploads streamed at once; beyond, 503
                            uploads-busy with Retry-After [8]
  --upload-idle-timeout-ms N LEDGER_UPLOAD_IDLE_TIMEOUT_MS an upload's body must keep arriving:
                            at most this long without a byte [30000]
  --upload-deadline-ms N    LEDGER_UPLOAD_DEADLINE_MS an upload's whole body within this [600000]
  --blob-backend local|s3   LEDGER_BLOB_BACKEND    where document blobs live [local]
  --s3-endpoint URL         LEDGER_S3_ENDPOINT     http(s)://HOST[:PORT] of the S3-compatible store
  --s3-bucket NAME          LEDGER_S3_BUCKET       its bucket
  --s3-region NAME          LEDGER_S3_REGION       the SigV4 region [us-east-1]
  --s3-prefix PREFIX        LEDGER_S3_PREFIX       key prefix, "" or ending in '/' [documents/]
  --s3-access-key-file PATH LEDGER_S3_ACCESS_KEY_FILE the access key id (a file: never on the
                            command line)
  --s3-secret-key-file PATH LEDGER_S3_SECRET_KEY_FILE the secret access key
  --s3-addressing path|virtual LEDGER_S3_ADDRESSING HOST/BUCKET/KEY or BUCKET.HOST/KEY [path]
  --s3-ca-file PATH         LEDGER_S3_CA_FILE      PEM trust anchors for https [the system's]
  --s3-timeout-ms N         LEDGER_S3_TIMEOUT_MS   each S3 request, connect to answer [30000]
  --s3-provider-encryption                         store blobs with S3 server-side encryption
                            (AES256) instead of the ledger's AES-256-GCM; content answers 307 to
                            a presigned URL (see docs/documents.md for what this gives up)
  --redis-url URL           LEDGER_REDIS_URL       redis://[USER@]HOST[:PORT][/DB]: share the rate
                            limits of every instance there; unreachable: limited routes 503 [none]
  --redis-timeout-ms N      LEDGER_REDIS_TIMEOUT_MS connect and each call [250]
  --dev                     LEDGER_DEV=1           development: make a random HS256 secret and
                                                   print an admin token; register USD and a
                                                   "demo" provider. Refuses a configured JWT key
                                                   and any address but loopback
  --quiet                   LEDGER_QUIET=1         no request logs
  --auth-domains A,B        LEDGER_AUTH_DOMAINS    domains wallet sign-in challenges may name [any ASCII domain]
  --auth-challenge-ttl-s N  LEDGER_AUTH_CHALLENGE_TTL_S sign-in challenge expiry, log time [300]
  --auth-session-default-s N LEDGER_AUTH_SESSION_DEFAULT_S wallet session life when not asked [86400]
  --auth-session-min-s N    LEDGER_AUTH_SESSION_MIN_S shortest wallet session a client may ask [3600]
  --auth-session-max-s N    LEDGER_AUTH_SESSION_MAX_S longest wallet session a client may ask [31536000]
  --pg-schema S             LEDGER_PG_SCHEMA       PostgreSQL schema of the read models [ledger]
  --projection-writers N    LEDGER_PROJECTION_WRITERS  connections writing each projector batch, 1 or 2 [1]
  --min-seq-wait-ms N       LEDGER_MIN_SEQ_WAIT_MS how long a read with min_seq waits for the
                                                   projection before answering 503 [2000]
  --min-seq-waiters-max N   LEDGER_MIN_SEQ_WAITERS_MAX reads waiting for min_seq at once (they
                                                   hold no query worker); beyond: 503 [256]
  --events-page-max N       LEDGER_EVENTS_PAGE_MAX events per GET /v1/events page [1000]
  --events-subscribers-max N LEDGER_EVENTS_SUBSCRIBERS_MAX open event streams (SSE, WebSocket);
                                                   beyond: 503 [256]
  --events-queue-max N      LEDGER_EVENTS_QUEUE_MAX events queued per subscriber [1024]
  --events-stall-ms N       LEDGER_EVENTS_STALL_MS a subscriber whose queue stays full this long
                                                   is cut off with its resume position [5000]
  --audit-signing-key FILE  LEDGER_AUDIT_SIGNING_KEY the Ed25519 audit signing key (PEM); its
                                                   public key is served at /v1/audit/public-key
  --log embedded|kafka      LEDGER_LOG             the command log [embedded]
  --check-config                                   parse and validate flags, environment and
                                                   secrets, print a summary, exit (0 or 2)
  --benchmark-mode          LEDGER_BENCHMARK_MODE=1 allow settings that are unsafe in production
                                                   (--unsafe-no-sync); says so at start
  --unsafe-no-sync                                 (with --benchmark-mode only) commit without
                                                   syncing the WAL: an acknowledged command can
                                                   be lost in a crash. Never in production

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
  LEDGER_JWT_KEYS_FILE                                      JWK Set: keys chosen by the token's kid
  LEDGER_JWT_DENIED_JTI_FILE                                revoked token ids, one per line
                                                            (SIGHUP re-reads every JWT file)
  LEDGER_REDIS_PASSWORD or LEDGER_REDIS_PASSWORD_FILE       Redis AUTH password
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

struct option_def {
  const char* flag;
  const char* env;
  std::function<void(const std::string&)> set;
};

// Every option with a value: its flag, its environment variable, its setter.
// One --webhook-account (or LEDGER_WEBHOOK_ACCOUNTS item), its secrets read now.
void add_webhook_account(config& c, const std::string& spec) {
  api::webhook_account a;
  if (auto e = api::parse_webhook_account(spec, a)) die("--webhook-account: " + *e);
  for (const auto& other : c.webhooks.accounts)
    if (other.name == a.name) die("--webhook-account: the name " + a.name + " is given twice");
  c.webhooks.accounts.push_back(std::move(a));
}

// The options of the newer features (backup and restore, reconciliation,
// webhooks, wallet sign-in, event streams and auditors).
void add_master_key(config& c, const std::string& spec) {
  api::master_key k;
  if (auto e = api::load_master_key(spec, k)) die("--master-key-file: " + *e);
  for (const auto& m : c.master_keys)
    if (m.id == k.id) die("--master-key-file: key id " + k.id + " given twice");
  c.master_keys.push_back(std::move(k));
}

std::vector<option_def> feature_option_defs(config& c) {
  return {
      {"--to", "", [&](const std::string& v) { c.backup_to = v; }},
      {"--keep", "LEDGER_BACKUP_KEEP", [&](const std::string& v) { c.backup_keep = to_number("--keep", v, 1, 10'000); }},
      {"--from", "", [&](const std::string& v) { c.restore_from = v; }},
      {"--account", "", [&](const std::string& v) { c.reconcile_account = v; }},
      {"--report", "", [&](const std::string& v) { c.reconcile_report = v; }},
      {"--format", "", [&](const std::string& v) { c.reconcile_format = v; }},
      {"--webhook-account", "", [&](const std::string& v) { add_webhook_account(c, v); }},
      {"--webhook-tolerance-s", "LEDGER_WEBHOOK_TOLERANCE_S", [&](const std::string& v) {
         c.webhooks.tolerance_s = std::int64_t(to_number("--webhook-tolerance-s", v, 1, 3600)); }},
      {"--auth-domains", "LEDGER_AUTH_DOMAINS", [&](const std::string& v) { c.wallet_auth.domains = split_list(v); }},
      {"--auth-challenge-ttl-s", "LEDGER_AUTH_CHALLENGE_TTL_S", [&](const std::string& v) {
         c.wallet_auth.challenge_ttl_s = std::int64_t(to_number("--auth-challenge-ttl-s", v, 1, 86'400)); }},
      {"--auth-session-default-s", "LEDGER_AUTH_SESSION_DEFAULT_S", [&](const std::string& v) {
         c.wallet_auth.session_default_s = std::int64_t(to_number("--auth-session-default-s", v, 1, 366 * 86'400)); }},
      {"--auth-session-min-s", "LEDGER_AUTH_SESSION_MIN_S", [&](const std::string& v) {
         c.wallet_auth.session_min_s = std::int64_t(to_number("--auth-session-min-s", v, 1, 366 * 86'400)); }},
      {"--auth-session-max-s", "LEDGER_AUTH_SESSION_MAX_S", [&](const std::string& v) {
         c.wallet_auth.session_max_s = std::int64_t(to_number("--auth-session-max-s", v, 1, 366 * 86'400)); }},
      {"--events-page-max", "LEDGER_EVENTS_PAGE_MAX", [&](const std::string& v) { c.events_page_max = to_number("--events-page-max", v, 1, 100'000); }},
      {"--events-subscribers-max", "LEDGER_EVENTS_SUBSCRIBERS_MAX", [&](const std::string& v) { c.events_subscribers_max = to_number("--events-subscribers-max", v, 1, 100'000); }},
      {"--events-queue-max", "LEDGER_EVENTS_QUEUE_MAX", [&](const std::string& v) { c.events_queue_max = to_number("--events-queue-max", v, 1, 1u << 20); }},
      {"--events-stall-ms", "LEDGER_EVENTS_STALL_MS", [&](const std::string& v) { c.events_stall_ms = int(to_number("--events-stall-ms", v, 10, 3'600'000)); }},
      {"--audit-signing-key", "LEDGER_AUDIT_SIGNING_KEY", [&](const std::string& v) { c.audit_signing_key = v; }},
      {"--master-key-file", "", [&](const std::string& v) { add_master_key(c, v); }},
      {"--key-store-dir", "LEDGER_KEY_STORE_DIR", [&](const std::string& v) { c.key_store_dir = v; }},
      {"--documents-dir", "LEDGER_DOCUMENTS_DIR", [&](const std::string& v) { c.documents_dir = v; }},
      {"--document-link-key-file", "LEDGER_DOCUMENT_LINK_KEY_FILE", [&](const std::string& v) { c.document_link_key_file = v; }},
      {"--clamd-socket", "LEDGER_CLAMD_SOCKET", [&](const std::string& v) { c.clamd_socket = v; }},
      {"--upload-max-bytes", "LEDGER_UPLOAD_MAX_BYTES", [&](const std::string& v) { c.upload_max_bytes = to_number("--upload-max-bytes", v, 1, 1u << 30); }},
      {"--uploads-max-concurrent", "LEDGER_UPLOADS_MAX_CONCURRENT", [&](const std::string& v) { c.uploads_max_concurrent = to_number("--uploads-max-concurrent", v, 1, 10'000); }},
      {"--upload-idle-timeout-ms", "LEDGER_UPLOAD_IDLE_TIMEOUT_MS", [&](const std::string& v) { c.upload_idle_timeout_ms = int(to_number("--upload-idle-timeout-ms", v, 10, 3'600'000)); }},
      {"--upload-deadline-ms", "LEDGER_UPLOAD_DEADLINE_MS", [&](const std::string& v) { c.upload_deadline_ms = int(to_number("--upload-deadline-ms", v, 10, 86'400'000)); }},
      {"--documents-sweep-grace-s", "", [&](const std::string& v) { c.documents_sweep_grace_s = std::int64_t(to_number("--documents-sweep-grace-s", v, 0, 86'400 * 30)); }},
      {"--documents-sweep-interval-ms", "", [&](const std::string& v) { c.documents_sweep_interval_ms = std::int64_t(to_number("--documents-sweep-interval-ms", v, 10, 86'400'000)); }},
      {"--blob-backend", "LEDGER_BLOB_BACKEND", [&](const std::string& v) {
         if (v != "local" && v != "s3") die("--blob-backend: must be local or s3, not " + v);
         c.blob_backend = v; }},
      {"--s3-endpoint", "LEDGER_S3_ENDPOINT", [&](const std::string& v) { c.s3.endpoint = v; }},
      {"--s3-bucket", "LEDGER_S3_BUCKET", [&](const std::string& v) { c.s3.bucket = v; }},
      {"--s3-region", "LEDGER_S3_REGION", [&](const std::string& v) { c.s3.region = v; }},
      {"--s3-prefix", "LEDGER_S3_PREFIX", [&](const std::string& v) { c.s3.prefix = v; }},
      {"--s3-access-key-file", "LEDGER_S3_ACCESS_KEY_FILE", [&](const std::string& v) { c.s3_access_key_file = v; }},
      {"--s3-secret-key-file", "LEDGER_S3_SECRET_KEY_FILE", [&](const std::string& v) { c.s3_secret_key_file = v; }},
      {"--s3-addressing", "LEDGER_S3_ADDRESSING", [&](const std::string& v) {
         if (v != "path" && v != "virtual") die("--s3-addressing: must be path or virtual, not " + v);
         c.s3.virtual_host = v == "virtual"; }},
      {"--s3-ca-file", "LEDGER_S3_CA_FILE", [&](const std::string& v) { c.s3.ca_file = v; }},
      {"--s3-timeout-ms", "LEDGER_S3_TIMEOUT_MS", [&](const std::string& v) { c.s3.timeout_ms = std::int64_t(to_number("--s3-timeout-ms", v, 100, 600'000)); }},
  };
}

std::vector<option_def> option_defs(config& c) {
  std::vector<option_def> defs = {
      {"--data-dir", "LEDGER_DATA_DIR", [&](const std::string& v) { c.data_dir = v; }},
      {"--listen", "LEDGER_LISTEN", [&](const std::string& v) { c.listen = v; c.listen_set = true; }},
      {"--port-file", "LEDGER_PORT_FILE", [&](const std::string& v) { c.port_file = v; }},
      {"--ops-listen", "LEDGER_OPS_LISTEN", [&](const std::string& v) { c.ops_listen = v; c.ops_listen_set = true; }},
      {"--ops-port-file", "LEDGER_OPS_PORT_FILE", [&](const std::string& v) { c.ops_port_file = v; }},
      {"--io-threads", "LEDGER_IO_THREADS", [&](const std::string& v) { c.io_threads = int(to_number("--io-threads", v, 1, 64)); }},
      {"--batch-max", "LEDGER_BATCH_MAX", [&](const std::string& v) { c.batch_max = to_number("--batch-max", v, 1, 1u << 16); }},
      {"--queue-max", "LEDGER_QUEUE_MAX", [&](const std::string& v) { c.queue_max = to_number("--queue-max", v, 1, 1u << 24); }},
      {"--ledger-id", "LEDGER_ID", [&](const std::string& v) {
         if (auto why = ledger_id_problem(v); !why.empty()) die("--ledger-id " + why);
         c.ledger_id = v;
       }},
      {"--snapshot-retain", "LEDGER_SNAPSHOT_RETAIN", [&](const std::string& v) { c.snapshot_retain = to_number("--snapshot-retain", v, 0, 1u << 20); }},
      {"--snapshot-keep-every", "LEDGER_SNAPSHOT_KEEP_EVERY", [&](const std::string& v) { c.snapshot_keep_every = to_number("--snapshot-keep-every", v, 0, 1ull << 40); }},
      {"--snapshot-every", "LEDGER_SNAPSHOT_EVERY", [&](const std::string& v) { c.snapshot_every = to_number("--snapshot-every", v, 0, 1ull << 40); }},
      {"--connections-max", "LEDGER_CONNECTIONS_MAX", [&](const std::string& v) { c.connections_max = to_number("--connections-max", v, 1, 1u << 20); }},
      {"--body-max-bytes", "LEDGER_BODY_MAX_BYTES", [&](const std::string& v) { c.body_max_bytes = to_number("--body-max-bytes", v, 1024, 64u << 20); }},
      {"--read-timeout-ms", "LEDGER_READ_TIMEOUT_MS", [&](const std::string& v) { c.read_timeout_ms = int(to_number("--read-timeout-ms", v, 10, 3'600'000)); }},
      {"--write-timeout-ms", "LEDGER_WRITE_TIMEOUT_MS", [&](const std::string& v) { c.write_timeout_ms = int(to_number("--write-timeout-ms", v, 10, 3'600'000)); }},
      {"--shutdown-timeout-ms", "LEDGER_SHUTDOWN_TIMEOUT_MS", [&](const std::string& v) { c.shutdown_timeout_ms = int(to_number("--shutdown-timeout-ms", v, 0, 3'600'000)); }},
      {"--cors-origins", "LEDGER_CORS_ORIGINS", [&](const std::string& v) { c.cors_origins = split_list(v); }},
      {"--jwt-issuer", "LEDGER_JWT_ISSUER", [&](const std::string& v) { c.jwt_issuer = v; }},
      {"--jwt-audience", "LEDGER_JWT_AUDIENCE", [&](const std::string& v) { c.jwt_audience = v; }},
      {"--jwt-max-token-age-s", "LEDGER_JWT_MAX_TOKEN_AGE_S", [&](const std::string& v) {
         c.jwt_max_token_age_s = std::int64_t(to_number("--jwt-max-token-age-s", v, 60, 31 * 86'400)); }},
      {"--rate-limit", "", [&](const std::string& v) { if (auto e = c.rate_limits.set(v)) die("--rate-limit: " + *e); }},
      {"--trusted-proxies", "LEDGER_TRUSTED_PROXIES", [&](const std::string& v) { c.rate_limits.trusted_proxies = split_list(v); }},
      {"--redis-url", "LEDGER_REDIS_URL", [&](const std::string& v) { c.redis_url = v; }},
      {"--redis-timeout-ms", "LEDGER_REDIS_TIMEOUT_MS", [&](const std::string& v) { c.redis_timeout_ms = int(to_number("--redis-timeout-ms", v, 10, 10'000)); }},
      {"--pg-schema", "LEDGER_PG_SCHEMA", [&](const std::string& v) { c.pg_schema = v; }},
      {"--projection-writers", "LEDGER_PROJECTION_WRITERS",
       [&](const std::string& v) { c.projection_writers = static_cast<int>(to_number("--projection-writers", v, 1, 2)); }},
      {"--min-seq-wait-ms", "LEDGER_MIN_SEQ_WAIT_MS", [&](const std::string& v) { c.min_seq_wait_ms = int(to_number("--min-seq-wait-ms", v, 0, 60'000)); }},
      {"--min-seq-waiters-max", "LEDGER_MIN_SEQ_WAITERS_MAX", [&](const std::string& v) {
         c.min_seq_waiters_max = std::size_t(to_number("--min-seq-waiters-max", v, 1, 65'536)); }},
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
  auto more = feature_option_defs(c);
  defs.insert(defs.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return defs;
}

void check_kafka(config& c) {
  if (c.kafka.brokers.empty()) die("--log=kafka needs --kafka-brokers (or LEDGER_KAFKA_BROKERS)");
  if (c.ledger_id.empty()) c.ledger_id = c.kafka.ledger;
  c.kafka.ledger_id = c.ledger_id;
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

// Whether HOST (of HOST:PORT; "[::1]" bracketed or not) is a loopback address.
bool loopback_host(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  unsigned char v4[4], v6[16];
  if (::inet_pton(AF_INET, host.c_str(), v4) == 1) return v4[0] == 127;
  if (::inet_pton(AF_INET6, host.c_str(), v6) == 1) {
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(std::begin(v6), std::end(v6), std::begin(one));
  }
  return false;
}

std::string host_of(const std::string& hostport) { return hostport.substr(0, hostport.rfind(':')); }

// Development mode prints an admin token signed with its key and opens a
// demo provider: it must never see a real key nor be reachable from
// elsewhere.
void check_dev(const config& c) {
  if (!c.dev) return;
  if (!c.hs256_secret.empty() || !c.es256_public_key.empty())
    die("development mode refuses a configured JWT key (LEDGER_JWT_HS256_SECRET(_FILE) or "
        "LEDGER_JWT_ES256_PUBLIC_KEY_FILE): it makes a random key and prints an admin token signed with it. "
        "Unset the key, or run without --dev / LEDGER_DEV");
  for (const auto* listen : {&c.listen, &c.ops_listen})
    if (!loopback_host(host_of(*listen)))
      die("development mode listens on loopback only (127.0.0.1, ::1 or localhost), not " + *listen);
}

void check_benchmark(const config& c) {
  if (!c.sync && !c.benchmark_mode)
    die("--unsafe-no-sync needs --benchmark-mode: it acknowledges commands before they are durable, so a crash "
        "loses acknowledged money movements; never use it outside a benchmark");
}

// A secret from a file: its first line, without the line end.
std::string secret_line(const std::string& flag, const std::string& path) {
  if (path.empty()) die(flag + " is needed with the S3 blob backend");
  std::string v = read_file(path);
  if (auto nl = v.find_first_of("\r\n"); nl != std::string::npos) v.resize(nl);
  if (v.empty()) die(flag + ": " + path + " is empty");
  return v;
}

void check_s3(config& c) {
  bool migrate = c.command == "documents-migrate-to-s3";
  if (c.s3.provider_encryption && c.blob_backend != "s3") die("--s3-provider-encryption needs --blob-backend s3");
  if (c.blob_backend != "s3" && !migrate) return;
  if (c.s3.endpoint.empty() || c.s3.bucket.empty()) die("the S3 blob backend needs --s3-endpoint and --s3-bucket");
  if (migrate && c.s3.provider_encryption)
    die("documents-migrate-to-s3 copies the ledger-encrypted blobs as they are; --s3-provider-encryption stores "
        "content unencrypted by the ledger, so the two cannot be mixed");
  c.s3.credentials.access_key = secret_line("--s3-access-key-file", c.s3_access_key_file);
  c.s3.credentials.secret_key = secret_line("--s3-secret-key-file", c.s3_secret_key_file);
  if (auto e = documents::check_s3_settings(c.s3)) die(*e);
  if (!c.s3.ca_file.empty() && c.s3.endpoint.rfind("https://", 0) != 0) die("--s3-ca-file needs an https:// --s3-endpoint");
}

void print_summary(const config& c) {
  std::printf("ledgerd: configuration ok: %s log=%s listen=%s data-dir=%s", c.command.c_str(), c.log.c_str(),
              c.listen.c_str(), c.data_dir.c_str());
  if (c.log == "kafka")
    std::printf(" brokers=%s instance=%s group=%s topics=%s,%s,%s", c.kafka.brokers.c_str(), c.kafka.instance_id.c_str(),
                c.kafka.group.c_str(), c.kafka.commands_topic.c_str(), c.kafka.events_topic.c_str(),
                c.kafka.replies_topic.c_str());
  std::printf(" read-models=%s\n", c.pg_conninfo.empty() ? "off" : "on");
}

// Everything a start would refuse, checked before anything is opened (and
// all that --check-config checks).
void validate(config& c) {
  bool kafka = c.log == "kafka";
  if (c.command == "engine" && !kafka) die("the engine command runs the Kafka engine: add --log=kafka");
  check_dev(c);
  check_benchmark(c);
  if (c.benchmark_mode)
    std::fprintf(stderr, "ledgerd: benchmark mode%s\n",
                 c.sync ? "" : ": the WAL is not synced; a crash loses acknowledged commands");
  if (kafka) check_kafka(c);
  if (auto e = c.rate_limits.validate()) die(*e);
  check_s3(c);
  if (auto e = c.wallet_auth.validate()) die("wallet sign-in: " + *e);
  if (!c.redis_url.empty()) {
    api::redis_settings rs;
    if (auto e = api::parse_redis_url(c.redis_url, rs)) die(*e);
  }
  if (c.command == "serve" && (!c.jwt_files.keys_file.empty() || !c.jwt_files.denied_jti_file.empty())) {
    api::jwt_config jc;
    if (auto e = jwt_config_of(c, jc)) die("JWT configuration: " + *e);
    std::unique_ptr<api::jwt_verifier> check;
    if (auto e = api::jwt_verifier::create(jc, check)) die("JWT configuration: " + *e);
  }
  if (c.command == "serve" && c.hs256_secret.empty() && c.es256_public_key.empty() && c.jwt_files.keys_file.empty() && !c.dev)
    die("no JWT key configured: set LEDGER_JWT_HS256_SECRET(_FILE) or LEDGER_JWT_ES256_PUBLIC_KEY_FILE (or use --dev)");
  if (c.command == "serve" && !c.hs256_secret.empty() && c.hs256_secret.size() < 32)
    die("the HS256 secret must be at least 32 bytes");
  if (c.command == "reconcile" && (c.reconcile_account.empty() || c.reconcile_report.empty()))
    die("reconcile needs --account NAME and --report FILE");
  if (c.command == "reconcile" && c.reconcile_format != "stripe-payments" && c.reconcile_format != "generic")
    die("--format must be stripe-payments or generic");
  bool needs_pg = c.command == "reconcile" || c.command == "migrate" || c.command == "project" || c.command == "verify-read-models" ||
                  c.command == "rebuild-read-models" || c.command == "retention";
  if (c.command == "backup" && c.backup_to.empty()) die("backup needs --to DIR (the directory of backups)");
  if (c.command == "restore" && c.restore_from.empty()) die("restore needs --from DIR (a backup or a directory of them)");
  if (needs_pg && c.pg_conninfo.empty())
    die("no PostgreSQL configured: set LEDGER_PG_CONNINFO or LEDGER_PG_CONNINFO_FILE");
  (void)server_config_of(c);  // --listen must be HOST:PORT
  (void)ops_server_config_of(c);
  if (c.check_config) {
    print_summary(c);
    std::exit(0);
  }
}

void read_environment(config& c, std::vector<option_def>& defs) {
  for (auto& d : defs)
    if (const char* v = *d.env ? std::getenv(d.env) : nullptr; v && *v) d.set(v);
  if (const char* v = std::getenv("LEDGER_KAFKA_OPTIONS"); v && *v)
    for (const auto& kv : split_list(v)) c.kafka.extra.push_back(key_value("LEDGER_KAFKA_OPTIONS", kv));
  if (const char* v = std::getenv("LEDGER_KAFKA_CREATE_TOPICS"); v && std::string(v) == "1") c.kafka_create_topics = true;
  if (const char* v = std::getenv("LEDGER_DEV"); v && std::string(v) == "1") c.dev = true;
  if (const char* v = std::getenv("LEDGER_QUIET"); v && std::string(v) == "1") c.quiet = true;
  if (const char* v = std::getenv("LEDGER_BENCHMARK_MODE"); v && std::string(v) == "1") c.benchmark_mode = true;
  if (const char* v = std::getenv("LEDGER_RATE_LIMITS"); v && *v)
    for (const auto& spec : split_list(v))
      if (auto e = c.rate_limits.set(spec)) die("LEDGER_RATE_LIMITS: " + *e);
  // Specs hold commas, so the environment's list is ';'-separated.
  if (const char* v = std::getenv("LEDGER_WEBHOOK_ACCOUNTS"); v && *v) {
    std::string list = v;
    for (std::size_t start = 0; start <= list.size();) {
      auto end = list.find(';', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) add_webhook_account(c, list.substr(start, end - start));
      start = end + 1;
    }
  }
}

// The command (and probe's URL); returns the index of the first option.
int read_command(config& c, int argc, char** argv) {
  if (argc <= 1 || argv[1][0] == '-') return 1;
  c.command = argv[1];
  static const char* commands[] = {"serve",  "migrate", "project", "verify-read-models", "rebuild-read-models", "retention",
                                   "engine", "probe", "backup", "restore", "reconcile",
                                   "documents-migrate-to-s3"};
  if (std::find(std::begin(commands), std::end(commands), c.command) == std::end(commands))
    die("unknown command " + c.command + " (see --help)");
  if (c.command != "probe") return 2;
  if (argc < 3 || argv[2][0] == '-') die("probe needs a URL: ledgerd probe http://127.0.0.1:8080/readyz");
  c.probe_url = argv[2];
  return 3;
}

// A flag without a value; false if `a` is not one.
bool read_switch(config& c, const std::string& a) {
  if (a == "--help" || a == "-h") {
    std::fputs(usage_text, stdout);
    std::exit(0);
  }
  if (a == "--dev") c.dev = true;
  else if (a == "--benchmark-mode") c.benchmark_mode = true;
  else if (a == "--check-config") c.check_config = true;
  else if (a == "--kafka-create-topics") c.kafka_create_topics = true;
  else if (a == "--quiet") c.quiet = true;
  else if (a == "--quick") c.restore_quick = true;
  else if (a == "--unsafe-no-sync") c.sync = false;  // refused without --benchmark-mode (validate)
  else if (a == "--test-exit-after-blob-commit") c.test_exit_after_blob_commit = true;  // tests only; not in --help
  else if (a == "--s3-provider-encryption") c.s3.provider_encryption = true;
  else return false;
  return true;
}

void read_arguments(config& c, int argc, char** argv, std::vector<option_def>& defs) {
  for (int i = read_command(c, argc, argv); i < argc; ++i) {
    std::string a = argv[i];
    if (read_switch(c, a)) continue;
    auto eq = a.find('=');
    std::string flag = a.substr(0, eq);
    auto d = std::find_if(defs.begin(), defs.end(), [&](const option_def& o) { return flag == o.flag; });
    if (d == defs.end()) die("unknown option " + a + " (see --help)");
    if (eq != std::string::npos) {
      d->set(a.substr(eq + 1));
    } else {
      if (i + 1 >= argc) die(flag + " needs a value");
      d->set(argv[++i]);
    }
  }
}

void read_secrets(config& c) {
  if (const char* v = std::getenv("LEDGER_JWT_HS256_SECRET"); v && *v) c.hs256_secret = v;
  if (const char* v = std::getenv("LEDGER_JWT_HS256_SECRET_FILE"); v && *v) {
    c.hs256_secret = read_file(v);
    c.jwt_files.hs256_secret_file = v;
  }
  if (const char* v = std::getenv("LEDGER_JWT_ES256_PUBLIC_KEY_FILE"); v && *v) {
    c.es256_public_key = read_file(v);
    c.jwt_files.es256_public_key_file = v;
  }
  if (const char* v = std::getenv("LEDGER_JWT_KEYS_FILE"); v && *v) c.jwt_files.keys_file = v;
  if (const char* v = std::getenv("LEDGER_JWT_DENIED_JTI_FILE"); v && *v) c.jwt_files.denied_jti_file = v;
  if (const char* v = std::getenv("LEDGER_REDIS_PASSWORD"); v && *v) c.redis_password = v;
  if (const char* v = std::getenv("LEDGER_REDIS_PASSWORD_FILE"); v && *v) c.redis_password = read_file(v);
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
}

}  // namespace

std::optional<std::string> jwt_config_of(const config& cfg, api::jwt_config& out) {
  api::jwt_config jc;
  jc.hs256_secret = cfg.hs256_secret;
  jc.es256_public_key_pem = cfg.es256_public_key;
  jc.issuer = cfg.jwt_issuer;
  jc.audience = cfg.jwt_audience;
  jc.max_token_age_s = cfg.jwt_max_token_age_s;
  if (auto e = api::load_jwt_files(cfg.jwt_files, jc)) return e;
  out = std::move(jc);
  return std::nullopt;
}

config parse(int argc, char** argv) {
  config c;
  auto defs = option_defs(c);
  read_environment(c, defs);
  read_arguments(c, argc, argv, defs);
  read_secrets(c);
  validate(c);
  return c;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ledgerd: %s\n", msg.c_str());
  std::exit(2);
}

std::string store_path(const config& cfg) { return (std::filesystem::path(cfg.data_dir) / "ledger").string(); }

std::string store_ledger_id(const config& cfg) {
  if (!cfg.ledger_id.empty()) return cfg.ledger_id;
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(store_path(cfg)) / "CURRENT", ec)) return {};
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) die("no randomness for a new ledger id");
  std::string id = "ldg-";
  static const char* digits = "0123456789abcdef";
  for (unsigned char b : bytes) id += {digits[b >> 4], digits[b & 15]};
  return id;
}

namespace {

void set_address(api::server_config& sc, const std::string& flag, const std::string& hostport) {
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) die(flag + " must be HOST:PORT");
  sc.address = hostport.substr(0, colon);
  if (sc.address.size() >= 2 && sc.address.front() == '[' && sc.address.back() == ']')
    sc.address = sc.address.substr(1, sc.address.size() - 2);
  sc.port = static_cast<unsigned short>(to_number(flag + " port", hostport.substr(colon + 1), 0, 65535));
}

}  // namespace

api::server_config ops_server_config_of(const config& cfg) {
  api::server_config sc;
  set_address(sc, "--ops-listen", cfg.ops_listen);
  sc.io_threads = 1;
  sc.connections_max = 64;
  sc.body_bytes_max = 16 * 1024;
  return sc;
}

api::server_config server_config_of(const config& cfg) {
  api::server_config sc;
  set_address(sc, "--listen", cfg.listen);
  sc.io_threads = cfg.io_threads;
  sc.connections_max = cfg.connections_max;
  sc.body_bytes_max = cfg.body_max_bytes;
  sc.read_timeout_ms = cfg.read_timeout_ms;
  sc.write_timeout_ms = cfg.write_timeout_ms;
  // Uploads stream under their own limit (the file plus a multipart form's
  // boundaries and part headers); every other body keeps body_max_bytes.
  std::size_t upload_body_max = cfg.upload_max_bytes + upload_form_overhead_bytes;
  sc.streamed_body_max = [upload_body_max](std::string_view method, std::string_view target) -> std::size_t {
    std::string_view path = target.substr(0, target.find('?'));
    return method == "POST" && path == "/v1/documents" ? upload_body_max : 0;
  };
  sc.streamed_idle_timeout_ms = cfg.upload_idle_timeout_ms;
  sc.streamed_deadline_ms = cfg.upload_deadline_ms;
  return sc;
}

}  // namespace ledger::tools
