// Retention of the read models (docs/read-models.md, "Retention"), with
// seed 003's defaults in the retention_settings table: ended wallet sessions
// are deleted 30 days after they end; activity_log months are archived
// (detached into activity_log_archive) once entirely older than 90 days and
// dropped once entirely older than 2 years (730 days); money history
// (money_history_tables, partitioned by month the same way) is kept 7 years
// (2,557 days): its months are dropped once entirely older.
//
// Whole partitions are detached or dropped, never rows deleted from them.
// The journal is never rewritten: everything removed here can be rebuilt
// by rebuild-read-models (and is removed again by the next run).
//
// Time is log time: the reference is `now_us`, or (0) the last_at of the
// read models' projection checkpoint, so the same journal always gives the
// same result. One transaction: a failure changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "schemas/base.h"

namespace ledger::projections {

// The money history's tables, partitioned by month (schemas/sql/0010).
inline constexpr const char* money_history_tables[] = {"transactions", "postings", "holds", "audit_log",
                                                        "daily_wallet_totals", "payment_requests"};

struct retention_report {
  std::int64_t reference_us = 0;  // 0: no checkpoint yet, nothing done
  std::vector<std::string> archived;  // partitions moved to activity_log_archive
  std::vector<std::string> dropped;   // archived partitions dropped
  std::vector<std::string> money_dropped;  // money history months dropped (money_history_keep_days)
  std::uint64_t sessions_deleted = 0;
};

// On an open connection whose search_path is the read models' schema.
status apply_retention(pqxx::connection& c, const std::string& schema, std::int64_t now_us, retention_report& out);
// Connects first (conninfo, schema).
status apply_retention(const std::string& conninfo, const std::string& schema, std::int64_t now_us,
                       retention_report& out);

}  // namespace ledger::projections
