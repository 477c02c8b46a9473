#include "projections/retention.h"

#include <cstdio>
#include <map>

#include "projections/query_pool.h"
#include "schemas/time.h"

namespace ledger::projections {

namespace {

constexpr std::int64_t day_us = 86'400'000'000;

std::map<std::string, int> read_settings(pqxx::work& tx) {
  std::map<std::string, int> s = {{"sessions_after_end_days", 30},
                                  {"activity_archive_after_days", 90},
                                  {"activity_delete_after_days", 730},
                                  {"money_history_keep_days", 2557}};
  for (const auto& row : tx.exec("SELECT name, days FROM retention_settings")) s[row[0].c_str()] = row[1].as<int>();
  return s;
}

// "<table>_pYYYYMM" -> the month's bounds ("YYYY-MM-01", next month); false for other names.
bool month_bounds(const std::string& table, const std::string& name, std::string& from, std::string& to,
                  std::int64_t& to_us) {
  std::string prefix = table + "_p";
  if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) return false;
  int y = 0, m = 0;
  char tail = 0;
  if (std::sscanf(name.c_str() + prefix.size(), "%4d%2d%c", &y, &m, &tail) != 2 || m < 1 || m > 12) return false;
  int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
  char a[32], b[32];
  std::snprintf(a, sizeof a, "%04d-%02d-01", y, m);
  std::snprintf(b, sizeof b, "%04d-%02d-01", ny, nm);
  from = a;
  to = b;
  auto us = parse_rfc3339_us(to + "T00:00:00Z");
  if (!us) return false;
  to_us = *us;
  return true;
}

std::vector<std::string> partitions_of(pqxx::work& tx, const std::string& schema, const char* parent) {
  std::vector<std::string> out;
  auto r = tx.exec_params(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
      "JOIN pg_namespace n ON n.oid = p.relnamespace WHERE p.relname = $1 AND n.nspname = $2 ORDER BY c.relname",
      std::string(parent), schema);
  for (const auto& row : r) out.emplace_back(row[0].c_str());
  return out;
}

// Moves months entirely before `archive_before_us` to the archive, then
// drops archived months entirely before `drop_before_us`.
void partitions(pqxx::work& tx, const std::string& schema, std::int64_t archive_before_us, std::int64_t drop_before_us,
                retention_report& out) {
  std::string from, to;
  std::int64_t to_us = 0;
  for (const auto& p : partitions_of(tx, schema, "activity_log")) {
    if (!month_bounds("activity_log", p, from, to, to_us) || to_us > archive_before_us) continue;
    tx.exec("ALTER TABLE activity_log DETACH PARTITION " + tx.quote_name(p));
    tx.exec("ALTER TABLE activity_log_archive ATTACH PARTITION " + tx.quote_name(p) + " FOR VALUES FROM ('" + from +
            " 00:00:00+00') TO ('" + to + " 00:00:00+00')");
    out.archived.push_back(p);
  }
  for (const auto& p : partitions_of(tx, schema, "activity_log_archive")) {
    if (!month_bounds("activity_log", p, from, to, to_us) || to_us > drop_before_us) continue;
    tx.exec("DROP TABLE " + tx.quote_name(p));
    out.dropped.push_back(p);
  }
}

// Drops the money history's months entirely before `drop_before_us`
// (schemas/sql/0010): whole partitions, the same months in every table.
void money_partitions(pqxx::work& tx, const std::string& schema, std::int64_t drop_before_us, retention_report& out) {
  std::string from, to;
  std::int64_t to_us = 0;
  for (const char* table : money_history_tables)
    for (const auto& p : partitions_of(tx, schema, table)) {
      if (!month_bounds(table, p, from, to, to_us) || to_us > drop_before_us) continue;
      tx.exec("DROP TABLE " + tx.quote_name(p));
      out.money_dropped.push_back(p);
    }
}

}  // namespace

status apply_retention(pqxx::connection& c, const std::string& schema, std::int64_t now_us, retention_report& out) {
  out = {};
  try {
    pqxx::work tx(c);
    if (now_us == 0) {
      auto r = tx.exec("SELECT (extract(epoch from last_at) * 1000000)::bigint FROM projection_checkpoints "
                       "WHERE projection = 'read_models'");
      if (r.empty() || r[0][0].is_null()) return status::ok();
      now_us = r[0][0].as<std::int64_t>();
    }
    out.reference_us = now_us;
    auto s = read_settings(tx);
    partitions(tx, schema, now_us - s["activity_archive_after_days"] * day_us,
               now_us - s["activity_delete_after_days"] * day_us, out);
    money_partitions(tx, schema, now_us - s["money_history_keep_days"] * day_us, out);
    auto del = tx.exec_params("DELETE FROM wallet_sessions WHERE status <> 'active' AND closed_at < $1::timestamptz",
                              format_rfc3339_us(now_us - s["sessions_after_end_days"] * day_us));
    out.sessions_deleted = del.affected_rows();
    tx.commit();
    return status::ok();
  } catch (...) {
    out = {};
    return status_from_current_exception("retention");
  }
}

status apply_retention(const std::string& conninfo, const std::string& schema, std::int64_t now_us,
                       retention_report& out) {
  try {
    pqxx::connection c(conninfo);
    {
      pqxx::nontransaction n(c);
      n.exec("SET search_path TO " + c.quote_name(schema));
    }
    return apply_retention(c, schema, now_us, out);
  } catch (...) {
    return status_from_current_exception("retention");
  }
}

}  // namespace ledger::projections
