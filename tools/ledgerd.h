// ledgerd's configuration and the pieces its commands share (ledgerd.cpp:
// parsing and the embedded modes; kafka_roles.cpp: the Kafka modes).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/backend.h"
#include "api/server.h"
#include "projections/projector.h"
#include "engine/journal_source.h"
#include "kafka/client.h"

namespace ledger::tools {

struct config {
  std::string data_dir = "data";
  std::string listen = "127.0.0.1:8080";
  bool listen_set = false;  // --listen or LEDGER_LISTEN given
  std::string port_file;
  int io_threads = 2;
  std::size_t batch_max = 8190;
  std::size_t queue_max = 1u << 16;
  std::uint64_t snapshot_every = 1'000'000;  // engine_options::snapshot_every_events
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
  bool check_config = false;
  std::string command = "serve";
  std::string probe_url;  // probe's argument
  std::string pg_conninfo;  // secret: environment or file only
  std::string pg_schema = "ledger";
  // The command log: "embedded" (in this process) or "kafka".
  std::string log = "embedded";
  kafka::options kafka;
  bool kafka_create_topics = false;
};

[[noreturn]] void die(const std::string& msg);
std::string store_path(const config& cfg);
api::server_config server_config_of(const config& cfg);
// Writes the bound port to --port-file (atomically), if one was given.
void write_port_file(const config& cfg, unsigned short port);
// Registers the system accounts (and dev's USD asset and demo provider)
// through `submit`, idempotently (retries are replays).
status ensure_defaults(const std::function<append_result(std::vector<command>&&, completion)>& submit, bool dev);
// Blocks SIGINT/SIGTERM (and ignores SIGPIPE) in every thread started after;
// wait_for_signal() takes one.
void block_signals();
int wait_for_signal();

// What differs between the embedded API and a Kafka API instance.
struct serve_hooks {
  std::string description;                             // for the start-up line
  const projections::projector* projector = nullptr;  // in this process, if any
  std::vector<std::function<std::string()>> metrics;   // further metric lines
  std::function<void()> drain_backend;                 // on SIGTERM, after new commands stop
};
// Serves the HTTP API over `backend` until SIGTERM/SIGINT, then drains.
int serve_api(config& cfg, api::backend& backend, const serve_hooks& hooks);

// Kafka modes (kafka_roles.cpp).
int run_kafka_engine(config& cfg);
int run_kafka_serve(config& cfg);

}  // namespace ledger::tools
