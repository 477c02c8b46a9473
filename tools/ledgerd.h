// The pieces ledgerd's commands share: serving the API, signals, the
// default accounts, and each command's entry point (see ledgerd.cpp for
// which file holds what).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/backend.h"
#include "api/server.h"
#include "api/service.h"
#include "projections/projector.h"
#include "engine/journal_source.h"
#include "kafka/client.h"
#include "tools/config.h"

namespace ledger::tools {


// Writes the bound port to --port-file (atomically), if one was given.
void write_port_file(const config& cfg, unsigned short port);
// Registers the system accounts (and dev's USD asset and demo provider)
// through `submit`, idempotently (retries are replays).
status ensure_defaults(const std::function<append_result(std::vector<command>&&, completion)>& submit, bool dev,
                       const api::webhook_settings& webhooks);
// Blocks SIGINT/SIGTERM (and ignores SIGPIPE) in every thread started after;
// wait_for_signal() takes one.
void block_signals();
int wait_for_signal(bool with_hup = false);  // with_hup: SIGHUP returns too

// What differs between the embedded API and a Kafka API instance.
struct serve_hooks {
  std::string description;                             // for the start-up line
  const projections::projector* projector = nullptr;  // in this process, if any
  std::vector<std::function<std::string()>> metrics;   // further metric lines
  std::function<void()> drain_backend;                 // on SIGTERM, after new commands stop
  std::function<void()> reload;                        // on SIGHUP (serve_api sets it)
};
// Serves the HTTP API over `backend` until SIGTERM/SIGINT, then drains.
int serve_api(config& cfg, api::backend& backend, const serve_hooks& hooks);

// The embedded ledger: API, engine, embedded log and projector (serve.cpp).
int run_embedded_serve(config& cfg);
// migrate, project, verify-read-models, rebuild-read-models (tool_commands.cpp).
int run_tool(const config& cfg);
// The data directory's file system as Prometheus gauges:
// ledger_disk_bytes{kind="total"|"available"} (statvfs; nothing on error).
std::string disk_metrics(const std::string& data_dir);
// backup --to DIR and restore --from DIR (backup.cpp).
int run_backup(const config& cfg);
int run_restore(const config& cfg);
// GET url; 0 on a 200 answer within two seconds (probe.cpp).
int run_probe(const std::string& url);

// Kafka modes (kafka_roles.cpp).
int run_kafka_engine(config& cfg);
int run_kafka_serve(config& cfg);

}  // namespace ledger::tools
