#include "projections/migrations.h"

#include <pqxx/pqxx>

#include "projections/migrations_embedded.h"

namespace ledger::projections {

namespace {
// Any fixed number works; it only has to be the same for every instance.
constexpr long long migration_lock_key = 0x6c65646765720001;  // "ledger" 1
}  // namespace

int known_schema_version() {
  int v = 0;
  for (const auto& m : embedded::migrations) v = m.version > v ? m.version : v;
  return v;
}

status migrate(pqxx::connection& conn, const std::string& schema, migrate_result& out, int up_to_version) {
  try {
    pqxx::work tx(conn);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key) + ")");
    // Under the lock, so instances starting together do not race to create it.
    tx.exec("CREATE SCHEMA IF NOT EXISTS " + conn.quote_name(schema));
    tx.exec("SET search_path TO " + conn.quote_name(schema));
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    auto r = tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
    out.version_before = r[0][0].as<int>();
    if (out.version_before > known_schema_version())
      return status::invalid_argument("the database schema is at version " + std::to_string(out.version_before) +
                                      ", newer than this ledgerd knows (" + std::to_string(known_schema_version()) +
                                      "); upgrade ledgerd");
    for (const auto& m : embedded::migrations) {
      if (m.version <= out.version_before || (up_to_version > 0 && m.version > up_to_version)) continue;
      tx.exec(std::string(m.sql));
      tx.exec("INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version) + ", " +
              tx.quote(std::string(m.name)) + ")");
    }
    tx.commit();
    int target = up_to_version > 0 && up_to_version < known_schema_version() ? up_to_version : known_schema_version();
    out.version_after = target > out.version_before ? target : out.version_before;
    return status::ok();
  } catch (const pqxx::broken_connection& e) {
    return status::unavailable(std::string("migrations: database unreachable: ") + e.what());
  } catch (const std::exception& e) {
    return status::io_error(std::string("migrations failed: ") + e.what());
  }
}

status migrate(const std::string& conninfo, const std::string& schema, migrate_result& out) {
  try {
    pqxx::connection conn(conninfo);
    return migrate(conn, schema, out);
  } catch (const std::exception& e) {
    return status::unavailable(std::string("migrations: cannot connect: ") + e.what());
  }
}

}  // namespace ledger::projections
