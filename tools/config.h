// ledgerd's configuration: every flag, environment variable and secret
// file, parsed and validated before anything is opened. A value out of range
// or a combination that cannot work ends the process with exit status 2 and
// a message naming the setting (die()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/jwt_files.h"
#include "api/rate_limit.h"
#include "api/webhooks.h"
#include "api/payout_keys.h"
#include "api/wallet_auth_settings.h"
#include "api/server.h"
#include "kafka/client.h"
#include "documents/s3_blob_store.h"

namespace ledger::tools {

// What a multipart/form-data upload may add to the file's bytes (boundaries,
// part headers, the small field parts): the upload route's transport limit
// is --upload-max-bytes plus this.
inline constexpr std::size_t upload_form_overhead_bytes = 64 * 1024;

struct config {
  std::string data_dir = "data";
  std::string listen = "127.0.0.1:8080";
  bool listen_set = false;  // --listen or LEDGER_LISTEN given
  // The operations listener (metrics, detailed readiness) of serve.
  std::string ops_listen = "127.0.0.1:9090";
  bool ops_listen_set = false;  // given: failing to bind it is fatal
  std::string ops_port_file;
  std::string port_file;
  int io_threads = 2;
  std::size_t batch_max = 8190;
  std::size_t queue_max = 1u << 16;
  std::uint64_t snapshot_every = 1'000'000;  // engine_options::snapshot_every_events
  std::size_t snapshot_retain = 16;          // engine_options::snapshots_retained_max
  std::uint64_t snapshot_keep_every = 0;     // engine_options::snapshot_keep_every_events
  // Bound into the hash chain's genesis (engine/chain.h). Empty: a new
  // embedded store gets a random one, an existing one keeps its own; in
  // Kafka mode the ledger's name (kafka.ledger), shared by every instance.
  std::string ledger_id;
  std::size_t connections_max = 1024;
  std::size_t body_max_bytes = 1u << 20;
  int read_timeout_ms = 15'000;
  int write_timeout_ms = 15'000;
  int shutdown_timeout_ms = 10'000;
  int min_seq_wait_ms = 2'000;
  std::size_t min_seq_waiters_max = 256;  // reads waiting for min_seq at once; beyond: 503
  // Event pages and streams (api/event_hub.h).
  std::size_t events_page_max = 1000;
  std::size_t events_subscribers_max = 256;
  std::size_t events_queue_max = 1024;
  int events_stall_ms = 5'000;
  // The Ed25519 audit signing key (PEM, PKCS#8): its public key is served at
  // /v1/audit/public-key. Empty: none.
  std::string audit_signing_key;
  std::vector<std::string> cors_origins;
  std::string jwt_issuer = "ledger";
  std::string jwt_audience = "ledger-api";
  std::string hs256_secret;
  std::string es256_public_key;
  bool dev = false;
  bool quiet = false;
  bool sync = true;            // false: --unsafe-no-sync, only with benchmark_mode
  bool benchmark_mode = false;
  bool check_config = false;
  std::string command = "serve";
  std::string probe_url;  // probe's argument
  // backup and restore
  std::string backup_to;       // backup --to: the directory of backups
  std::size_t backup_keep = 7; // backup --keep: newest backups kept there
  std::string restore_from;    // restore --from: a backup, or a directory of them (newest)
  bool restore_quick = false;  // restore --quick: skip rebuilding from the journal
  // reconcile
  std::string reconcile_account;               // --account: the webhook account (provider clearing:NAME)
  std::string reconcile_report;                // --report: the CSV file
  std::string reconcile_format = "stripe-payments";
  std::string pg_conninfo;  // secret: environment or file only
  std::string pg_schema = "ledger";
  int projection_writers = 1;  // connections writing each projector batch (projector_options)
  // The command log: "embedded" (in this process) or "kafka".
  std::string log = "embedded";
  kafka::options kafka;
  bool kafka_create_topics = false;
  // Rate limits (api/rate_limit.h): in this process, or shared in Redis.
  api::rate_limit_settings rate_limits;
  // Wallet sign-in (api/routes_auth.cpp).
  api::wallet_auth_settings wallet_auth;
  // Envelope keys for payment details (api/payout_keys.h): master keys, the
  // last one current; the key store directory ("": DATA_DIR/keys).
  std::vector<api::master_key> master_keys;
  std::string key_store_dir;
  // Wallet documents (docs/documents.md): blob directory ("": DATA_DIR/documents),
  // the link signing key file ("": no signed links), the upload limit.
  std::string documents_dir;
  std::string document_link_key_file;
  std::size_t upload_max_bytes = 25u << 20;
  std::string clamd_socket;  // "off": uploads unscanned; "": uploads answer 503
  // Streamed uploads: at most this many at once; a piece within the idle
  // timeout, the whole body within the deadline.
  std::size_t uploads_max_concurrent = 8;
  int upload_idle_timeout_ms = 30'000;
  int upload_deadline_ms = 600'000;
  // The orphan sweeper's grace and period (hidden flags, for tests), and a
  // test-only crash right after an upload's blobs are committed.
  std::int64_t documents_sweep_grace_s = 3600;
  std::int64_t documents_sweep_interval_ms = 600'000;
  bool test_exit_after_blob_commit = false;
  // Where blobs live: "local" (documents_dir) or "s3" (docs/documents.md);
  // the S3 settings, keys read from the two files by validate().
  std::string blob_backend = "local";
  documents::s3_settings s3;
  std::string s3_access_key_file, s3_secret_key_file;
  std::string redis_url;       // empty: the in-process limiter
  int redis_timeout_ms = 250;
  std::string redis_password;  // secret: environment or file only
  // The JWT key files, read again on SIGHUP; the longest token life accepted.
  api::jwt_files jwt_files;
  std::int64_t jwt_max_token_age_s = 86'400;
  // Payment providers' webhook accounts (api/webhooks.h), secrets loaded.
  api::webhook_settings webhooks;
};

// The verifier's configuration: the keys read from cfg's files (dies on a
// bad file at start; returns the message for a reload).
std::optional<std::string> jwt_config_of(const config& cfg, api::jwt_config& out);

// Flags win over the environment; secrets come from the environment or
// files only. Prints --help and exits 0; with --check-config prints a
// summary and exits 0 once valid.
config parse(int argc, char** argv);

// Prints "ledgerd: <msg>" and exits with status 2 (a configuration error).
[[noreturn]] void die(const std::string& msg);
std::string store_path(const config& cfg);
// The ledger id to open the store at store_path(cfg) with (see config::ledger_id).
std::string store_ledger_id(const config& cfg);
api::server_config server_config_of(const config& cfg);
// The operations listener: one I/O thread, few connections, small bodies.
api::server_config ops_server_config_of(const config& cfg);

}  // namespace ledger::tools
