// ledgerd: the ledger serving HTTP, and its operator commands. The pieces:
// config.cpp (flags, environment, secrets, validation, --help), serve.cpp
// (embedded mode and API serving), kafka_roles.cpp (the Kafka modes),
// tool_commands.cpp (migrate, project, verify and rebuild the read models),
// backup.cpp (backup and restore), probe.cpp (health checks).
#include "tools/documents_side.h"
#include "tools/ledgerd.h"

using namespace ledger::tools;

int main(int argc, char** argv) {
  config cfg = parse(argc, argv);
  if (cfg.command == "probe") return run_probe(cfg.probe_url);
  if (cfg.command == "engine") return run_kafka_engine(cfg);
  if (cfg.command == "backup") return run_backup(cfg);
  if (cfg.command == "restore") return run_restore(cfg);
  if (cfg.command == "documents-migrate-to-s3") return run_documents_migrate(cfg);
  if (cfg.command != "serve") return run_tool(cfg);
  // Signals are taken by one thread with sigwait; block them everywhere first.
  block_signals();
  if (cfg.log == "kafka") return run_kafka_serve(cfg);
  return run_embedded_serve(cfg);
}
