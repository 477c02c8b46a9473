// Retention of the read models (projections/retention.h) on a real
// PostgreSQL holding three years of synthetic monthly activity_log
// partitions and nine years of money history partitions (made by the
// projector's own partition functions), and ended and active wallet
// sessions: exactly the activity months past 90 days are archived, exactly
// the archived months past 2 years are dropped, exactly the money months
// past 7 years are dropped in every money table, rows move with their
// partitions, ended sessions past 30 days go, a second run does nothing,
// and settings changed in retention_settings are obeyed. Also the upgrade
// of a filled version 9 schema to partitioned money history.
#include <doctest/doctest.h>

#include <memory>
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

// A new database with every migration applied, the session on its schema.
std::unique_ptr<pqxx::connection> migrated_database(const std::string& name) {
  auto c = std::make_unique<pqxx::connection>(retention_pg().create_database(name));
  migrate_result mr;
  REQUIRE(migrate(*c, "ledger", mr).is_ok());
  pqxx::nontransaction n(*c);
  n.exec("SET search_path TO ledger");
  return c;
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
  auto conn = migrated_database("retention_years");
  pqxx::connection& c = *conn;
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
  auto conn = migrated_database("retention_empty");
  pqxx::connection& c = *conn;
  fill(c);
  retention_report r;
  REQUIRE(apply_retention(c, "ledger", 0, r).is_ok());
  CHECK(r.reference_us == 0);
  CHECK(r.archived.empty());
  CHECK(count(c, "SELECT count(*) FROM activity_log") == 36 * 3);
}

namespace {

// One row in each money history table for every month from 2018-01 to
// 2026-12 (108 months), made through the partition function the projector
// uses; ids are the month's number.
void fill_money_history(pqxx::connection& c) {
  pqxx::work tx(c);
  tx.exec(
      "SELECT ensure_money_partitions(m::date) FROM generate_series('2018-01-01'::date, '2026-12-01'::date, "
      "interval '1 month') m");
  tx.exec(
      "CREATE TEMP TABLE months AS SELECT row_number() OVER (ORDER BY m) AS id, m + interval '9 days 12 hours' AS at "
      "FROM generate_series('2018-01-01'::timestamptz AT TIME ZONE 'UTC', '2026-12-01', interval '1 month') m");
  tx.exec(
      "INSERT INTO transactions (transaction_id, type, status, asset, amount, principal, created_at, updated_seq, "
      "updated_at) SELECT id, 'deposit', 'completed', 'USD', 1, 'alice', at AT TIME ZONE 'UTC', id, at AT TIME ZONE "
      "'UTC' FROM months");
  tx.exec(
      "INSERT INTO postings (seq, leg, wallet_id, asset, kind, amount, posted_after, held_after, incoming_after, "
      "created_at) SELECT id, 0, 1, 'USD', 'posted', 1, id, 0, 0, at AT TIME ZONE 'UTC' FROM months");
  tx.exec(
      "INSERT INTO holds (hold_id, kind, wallet_id, to_account_id, asset, amount, status, created_at) "
      "SELECT id, 'hold', 1, 2, 'USD', 1, 'voided', at AT TIME ZONE 'UTC' FROM months");
  tx.exec(
      "INSERT INTO audit_log (seq, at, command, outcome, principal, idempotency_key, request_id, chain_hash) "
      "SELECT id, at AT TIME ZONE 'UTC', 'deposit', 'accepted', 'alice', 'k' || id, 'r', '\\x00' FROM months");
  tx.exec("INSERT INTO daily_wallet_totals (day, wallet_id, asset) SELECT at::date, 1, 'USD' FROM months");
  tx.exec(
      "INSERT INTO payment_requests (request_id, requester, wallet_id, payer, asset, amount, note, status, "
      "expires_at, created_at) SELECT id, 'alice', 1, 'bob', 'USD', 1, '', 'expired', at AT TIME ZONE 'UTC', "
      "at AT TIME ZONE 'UTC' FROM months");
  tx.commit();
}

}  // namespace

TEST_CASE("retention drops the money history's months older than seven years, in every table at once") {
  auto conn = migrated_database("retention_money");
  pqxx::connection& c = *conn;
  fill_money_history(c);
  for (const char* t : money_history_tables) {
    CAPTURE(t);
    REQUIRE(count(c, std::string("SELECT count(*) FROM ") + t) == 108);
    // Rows sit in their month's partition, not anywhere else.
    CHECK(count(c, std::string("SELECT count(*) FROM ") + t + "_p201803") == 1);
  }

  retention_report r;
  REQUIRE(apply_retention(c, "ledger", at("2026-12-15T00:00:00Z"), r).is_ok());
  // 2,557 days before 2026-12-15 is 2019-12-15: months ending on or before
  // it are 2018-01 .. 2019-11, 23 of them, in each of the six tables.
  CHECK(r.money_dropped.size() == 23 * 6);
  for (const char* t : money_history_tables) {
    CAPTURE(t);
    CHECK(count(c, std::string("SELECT count(*) FROM ") + t) == 108 - 23);
    CHECK(count(c, std::string("SELECT count(*) FROM pg_class WHERE relname = '") + t + "_p201911'") == 0);
    CHECK(count(c, std::string("SELECT count(*) FROM pg_class WHERE relname = '") + t + "_p201912'") == 1);
  }
  CHECK(count(c, "SELECT min(transaction_id) FROM transactions") == 24);
  // Lookups by id still find the rows kept.
  CHECK(count(c, "SELECT count(*) FROM transactions WHERE transaction_id = 100") == 1);

  REQUIRE(apply_retention(c, "ledger", at("2026-12-15T00:00:00Z"), r).is_ok());
  CHECK(r.money_dropped.empty());

  // A shorter setting is obeyed: keep 365 days, so months ending on or
  // before 2025-12-15 go too (2019-12 .. 2025-11, 72 more each).
  {
    pqxx::work tx(c);
    tx.exec("UPDATE retention_settings SET days = 365 WHERE name = 'money_history_keep_days'");
    tx.commit();
  }
  REQUIRE(apply_retention(c, "ledger", at("2026-12-15T00:00:00Z"), r).is_ok());
  CHECK(r.money_dropped.size() == 72 * 6);
  CHECK(count(c, "SELECT count(*) FROM postings") == 13);
}

TEST_CASE("the upgrade to partitioned money history keeps every row, its checks and its views") {
  auto conninfo = retention_pg().create_database("retention_upgrade");
  pqxx::connection c(conninfo);
  migrate_result mr;
  REQUIRE(migrate(c, "ledger", mr, 9).is_ok());
  REQUIRE(mr.version_after == 9);
  {
    pqxx::work tx(c);
    for (int i = 0; i < 3; ++i) {
      std::string when = i == 0 ? "'2025-03-05T10:00:00Z'" : i == 1 ? "'2025-03-31T23:59:59Z'" : "'2026-01-01T00:00:00Z'";
      std::string id = std::to_string(10 + i);
      tx.exec("INSERT INTO transactions (transaction_id, type, status, asset, amount, principal, description, "
              "created_at, updated_seq, updated_at) VALUES (" + id + ", 'deposit', 'completed', 'USD', 1.00, 'alice', "
              "'rent', " + when + ", " + id + ", " + when + ")");
      tx.exec("INSERT INTO postings (seq, leg, wallet_id, asset, kind, amount, posted_after, held_after, "
              "incoming_after, created_at) VALUES (" + id + ", 0, 1, 'USD', 'posted', 1.00, " + std::to_string(i + 1) +
              ", 0, 0, " + when + ")");
      tx.exec("INSERT INTO daily_wallet_totals (day, wallet_id, asset, credits, postings) VALUES ((" + when +
              "::timestamptz AT TIME ZONE 'UTC')::date, 1, 'USD', 1, 1)");
    }
    tx.commit();
  }
  REQUIRE(migrate(c, "ledger", mr).is_ok());
  CHECK(mr.version_before == 9);
  CHECK(mr.version_after == known_schema_version());
  CHECK(count(c, "SELECT count(*) FROM transactions WHERE description = 'rent'") == 3);
  // Split by month of UTC log time: the last second of March stays in March.
  CHECK(count(c, "SELECT count(*) FROM transactions_p202503") == 2);
  CHECK(count(c, "SELECT count(*) FROM transactions_p202601") == 1);
  CHECK(count(c, "SELECT count(*) FROM postings_p202503") == 2);
  CHECK(count(c, "SELECT count(*) FROM daily_wallet_totals_p202601") == 1);
  CHECK(count(c, "SELECT count(*) FROM balance_history WHERE wallet_id = 1") == 3);
  CHECK(count(c, "SELECT sum(credits)::bigint FROM daily_asset_totals") == 3);
  // The checks came along: a negative amount is still refused.
  pqxx::work tx(c);
  CHECK_THROWS(tx.exec("INSERT INTO transactions (transaction_id, type, status, asset, amount, principal, created_at, "
                       "updated_seq, updated_at) VALUES (99, 'deposit', 'completed', 'USD', -1, 'alice', "
                       "'2025-03-02T00:00:00Z', 99, '2025-03-02T00:00:00Z')"));
}
