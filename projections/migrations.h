// Schema migrations of the PostgreSQL read models.
//
// The SQL lives in schemas/sql/NNNN_name.sql and is compiled into the binary.
// migrate() applies what the database lacks, in one transaction under an
// advisory lock, so several instances starting at once apply each migration
// exactly once. A database whose schema is newer than this binary knows is
// refused: an old binary must not write into a schema it does not understand.
#pragma once

#include <string>

#include <pqxx/connection>

#include "schemas/base.h"

namespace ledger::projections {

int known_schema_version();

struct migrate_result {
  int version_before = 0;
  int version_after = 0;
};

// Migrates the read models in PostgreSQL schema `schema`, creating it if
// needed, and leaves the session's search_path on it. `up_to_version` (0:
// every migration) stops earlier, so tests can fill an older schema and
// then check the upgrade.
status migrate(pqxx::connection& conn, const std::string& schema, migrate_result& out, int up_to_version = 0);
// Connects, migrates, disconnects.
status migrate(const std::string& conninfo, const std::string& schema, migrate_result& out);

}  // namespace ledger::projections
