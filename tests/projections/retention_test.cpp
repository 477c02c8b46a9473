// Retention of the read models (projections/retention.h) on a real
// PostgreSQL holding three years of synthetic monthly activity_log
// partitions (made by the projector's own partition function) and ended
// and active wallet sessions: exactly the months past 90 days are archived,
// exactly the archived months past 2 years are dropped, rows move with
// their partitions, ended sessions past 30 days go, a second run does
// nothing, and settings changed in retention_settings are obeyed.
#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "projections/activity.h"
#include "projections/migrations.h"
#include "projections/retention.h"
#include "schemas/time.h"
#include "tests/support/pg_instance.h"

using namespace ledger;
using namespace ledger::projections;
using namespace ledger::testing;

namespace {

pg_instance& retention_pg() {
  static pg_instance pg(disposable_pg_options());
  return pg;
}

std::int64_t at(const std::string& t) { return *parse_rfc3339_us(t); }

long long count(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction n(c);
  return n.exec(sql)[0][0].as<long long>();
}

// 2024-01 .. 2026-12, each month a partition with 3 rows; sessions ended
// 40 and 10 days before the reference, and one active.
void fill(pqxx::connection& c) {
  pqxx::work tx(c);
  std::uint64_t seq = 0;
  for (int y = 2024; y <= 2026; ++y)
    for (int m = 1; m <= 12; ++m) {
      char day[32];
      std::snprintf(day, sizeof day, "%04d-%02d-10T12:00:00Z", y, m);
      ensure_activity_partition(tx, at(day));
      for (int i = 0; i < 3; ++i)
        tx.exec("INSERT INTO activity_log (at, seq, idx, owner, action, principal) VALUES (" +
                tx.quote(std::string(day)) + "::timestamptz + interval '" + std::to_string(i) + " hours', " +
                std::to_string(++seq) + ", 1, 'alice', 'sign_in', 'alice')");
    }
  auto session = [&](int id, const char* status, const char* closed) {
    tx.exec(std::string("INSERT INTO wallet_sessions (session_id, owner, chain, network, address, status, opened_at, "
                        "expires_at, closed_seq, closed_at) VALUES (") +
            std::to_string(id) + ", 'alice', 'ethereum', '1', '0xabc', '" + status +
            "', '2026-10-01T00:00:00Z', '2027-01-01T00:00:00Z', " + (closed ? "1, '" + std::string(closed) + "'" : "NULL, NULL") + ")");
  };
  session(1, "revoked", "2026-11-05T00:00:00Z");  // 40 days before the reference
  session(2, "expired", "2026-12-05T00:00:00Z");  // 10 days before
  session(3, "active", nullptr);
  tx.commit();
}

}  // namespace

TEST_CASE("retention archives and drops whole months and deletes ended sessions, by log time") {
  auto conninfo = retention_pg().create_database("retention_years");
  pqxx::connection c(conninfo);
  migrate_result mr;
  REQUIRE(migrate(c, "ledger", mr).is_ok());
  {
    pqxx::nontransaction n(c);
    n.exec("SET search_path TO ledger");
  }
  fill(c);
  REQUIRE(count(c, "SELECT count(*) FROM activity_log") == 36 * 3);

  retention_report r;
  REQUIRE(apply_retention(c, "ledger", at("2026-12-15T00:00:00Z"), r).is_ok());
  // Archive: months ending on or before 2026-09-16 (90 days back): 2024-01 .. 2026-08.
  CHECK(r.archived.size() == 32);
  CHECK(r.archived.front() == "activity_log_p202401");
  CHECK(r.archived.back() == "activity_log_p202608");
  // Drop: archived months ending on or before 2024-12-15 (730 days back): 2024-01 .. 2024-11.
  CHECK(r.dropped.size() == 11);
  CHECK(r.dropped.back() == "activity_log_p202411");
  CHECK(count(c, "SELECT count(*) FROM activity_log") == 4 * 3);
  CHECK(count(c, "SELECT count(*) FROM activity_log_archive") == 21 * 3);
  CHECK(count(c, "SELECT count(*) FROM activity_log WHERE at < '2026-09-01T00:00:00Z'") == 0);
  CHECK(count(c, "SELECT count(*) FROM pg_class WHERE relname = 'activity_log_p202411'") == 0);
  CHECK(count(c, "SELECT count(*) FROM pg_class WHERE relname = 'activity_log_p202412'") == 1);
  CHECK(r.sessions_deleted == 1);
  CHECK(count(c, "SELECT count(*) FROM wallet_sessions WHERE session_id = 1") == 0);
  CHECK(count(c, "SELECT count(*) FROM wallet_sessions") == 2);

  // A second run at the same time finds nothing more to do.
  REQUIRE(apply_retention(c, "ledger", at("2026-12-15T00:00:00Z"), r).is_ok());
  CHECK(r.archived.empty());
  CHECK(r.dropped.empty());
  CHECK(r.sessions_deleted == 0);

  // Settings are read from the table: keep activity 30 days, delete after 400.
  {
    pqxx::work tx(c);
    tx.exec("UPDATE retention_settings SET days = 30 WHERE name = 'activity_archive_after_days'");
    tx.exec("UPDATE retention_settings SET days = 400 WHERE name = 'activity_delete_after_days'");
    tx.commit();
  }
  REQUIRE(apply_retention(c, "ledger", at("2026-12-15T00:00:00Z"), r).is_ok());
  CHECK(r.archived == std::vector<std::string>{"activity_log_p202609", "activity_log_p202610"});
  // 400 days back is 2025-11-10: months ending on or before it, 2024-12 .. 2025-10.
  CHECK(r.dropped.size() == 11);
  CHECK(count(c, "SELECT count(*) FROM activity_log") == 2 * 3);
}

TEST_CASE("retention without a projection checkpoint does nothing") {
  auto conninfo = retention_pg().create_database("retention_empty");
  pqxx::connection c(conninfo);
  migrate_result mr;
  REQUIRE(migrate(c, "ledger", mr).is_ok());
  {
    pqxx::nontransaction n(c);
    n.exec("SET search_path TO ledger");
  }
  fill(c);
  retention_report r;
  REQUIRE(apply_retention(c, "ledger", 0, r).is_ok());
  CHECK(r.reference_us == 0);
  CHECK(r.archived.empty());
  CHECK(count(c, "SELECT count(*) FROM activity_log") == 36 * 3);
}
