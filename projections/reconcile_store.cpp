// The database half of reconciliation (projections/reconcile.h): import a
// parsed report into a temporary table, classify it against the ledger's
// deposits in SQL, keep the outcome.
#include <pqxx/pqxx>

#include "base/json_out.h"
#include "engine/chain.h"
#include "projections/query_pool.h"
#include "projections/reconcile.h"

namespace ledger::projections {

namespace {

constexpr std::size_t items_shown_max = 1000;
constexpr const char* outcomes[] = {"matched", "missing_in_ledger", "missing_at_provider", "amount_mismatch",
                                    "status_mismatch"};

// Report rows against the ledger's deposits from clearing:<account> ($2).
constexpr const char* classify_rows_sql = R"(
INSERT INTO reconciliation_items (reconciliation_id, item, outcome, reference, report_line, report_amount,
                                  report_currency, report_status, transaction_id, ledger_amount, ledger_asset)
SELECT $1, row_number() OVER (ORDER BY r.line), CASE
         WHEN t.transaction_id IS NULL THEN CASE WHEN r.status = 'paid' THEN 'missing_in_ledger' ELSE 'matched' END
         WHEN r.status <> 'paid' THEN 'status_mismatch'
         WHEN r.amount <> t.amount OR r.currency <> t.asset THEN 'amount_mismatch'
         ELSE 'matched' END,
       r.reference, r.line, r.amount, r.currency, r.status, t.transaction_id, t.amount, t.asset
FROM pg_temp.report_rows r
LEFT JOIN transactions t ON t.type = 'deposit' AND t.provider = $2 AND t.reference = r.reference)";

// Deposits inside the report's window that no row names.
constexpr const char* missing_at_provider_sql = R"(
INSERT INTO reconciliation_items (reconciliation_id, item, outcome, reference, transaction_id, ledger_amount, ledger_asset)
SELECT $1, $3 + row_number() OVER (ORDER BY t.transaction_id), 'missing_at_provider', coalesce(t.reference, ''),
       t.transaction_id, t.amount, t.asset
FROM transactions t
WHERE t.type = 'deposit' AND t.provider = $2 AND t.created_at BETWEEN $4::timestamptz AND $5::timestamptz
  AND NOT EXISTS (SELECT 1 FROM pg_temp.report_rows r WHERE r.reference = t.reference))";

constexpr const char* count_sql = R"(
UPDATE reconciliations SET
  matched = (SELECT count(*) FROM reconciliation_items WHERE reconciliation_id = $1 AND outcome = 'matched'),
  missing_in_ledger = (SELECT count(*) FROM reconciliation_items WHERE reconciliation_id = $1 AND outcome = 'missing_in_ledger'),
  missing_at_provider = (SELECT count(*) FROM reconciliation_items WHERE reconciliation_id = $1 AND outcome = 'missing_at_provider'),
  amount_mismatch = (SELECT count(*) FROM reconciliation_items WHERE reconciliation_id = $1 AND outcome = 'amount_mismatch'),
  status_mismatch = (SELECT count(*) FROM reconciliation_items WHERE reconciliation_id = $1 AND outcome = 'status_mismatch')
WHERE reconciliation_id = $1)";

void text_or_null(json_out& j, std::string_view key, const pqxx::field& f) {
  j.key(key);
  if (f.is_null()) j.null();
  else j.str(std::string_view(f.c_str(), f.size()));
}

void render(pqxx::work& tx, std::uint64_t id, std::string_view outcome, bool existing, std::string& out) {
  auto s = tx.exec_params(
      "SELECT reconciliation_id, account, report_sha256, report_format, report_rows, "
      "to_char(window_from, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), to_char(window_to, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
      "matched, missing_in_ledger, missing_at_provider, amount_mismatch, status_mismatch, projected_seq, "
      "to_char(imported_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM reconciliations WHERE reconciliation_id = $1",
      id);
  json_out j;
  const auto& r = s[0];
  j.begin_object().field("reconciliation_id", r[0].as<std::uint64_t>()).field("existing", existing);
  j.field("account", r[1].c_str()).field("report_sha256", r[2].c_str()).field("format", r[3].c_str());
  j.field("report_rows", r[4].as<std::uint64_t>());
  text_or_null(j, "window_from", r[5]);
  text_or_null(j, "window_to", r[6]);
  j.key("counts").begin_object();
  for (int i = 0; i < 5; ++i) j.field(outcomes[i], r[7 + i].as<std::uint64_t>());
  j.end_object().field("projected_seq", r[12].as<std::uint64_t>()).field("imported_at", r[13].c_str());
  auto items = tx.exec_params(
      "SELECT item, outcome, reference, report_line, report_amount::text, report_currency, report_status, "
      "transaction_id, ledger_amount::text, ledger_asset FROM reconciliation_items WHERE reconciliation_id = $1 "
      "AND (outcome = $2 OR ($2 = '' AND outcome <> 'matched')) ORDER BY item LIMIT $3",
      id, std::string(outcome), items_shown_max + 1);
  j.key("items").begin_array();
  for (std::size_t i = 0; i < std::min<std::size_t>(items.size(), items_shown_max); ++i) {
    const auto& it = items[i];
    j.begin_object().field("item", it[0].as<std::uint64_t>()).field("outcome", it[1].c_str()).field("reference", it[2].c_str());
    const char* names[] = {"report_line", "report_amount", "report_currency", "report_status", "transaction_id",
                           "ledger_amount", "ledger_asset"};
    for (int k = 0; k < 7; ++k) {
      if (k == 0 || k == 4) {
        j.key(names[k]);
        if (it[3 + k].is_null()) j.null();
        else j.num(it[3 + k].as<std::uint64_t>());
      } else {
        text_or_null(j, names[k], it[3 + k]);
      }
    }
    j.end_object();
  }
  j.end_array().field("truncated", items.size() > items_shown_max).end_object();
  out = j.take();
}

std::uint64_t projected_seq(pqxx::work& tx) {
  auto r = tx.exec("SELECT coalesce(max(last_seq), 0) FROM projection_checkpoints WHERE projection = 'read_models'");
  return r[0][0].as<std::uint64_t>();
}

void stage(pqxx::work& tx, const std::vector<report_row>& rows) {
  tx.exec("CREATE TEMP TABLE report_rows (line integer, reference text, amount numeric, currency text, "
          "status text, created timestamptz) ON COMMIT DROP");
  pqxx::stream_to st(tx, "report_rows", std::vector<std::string>{"line", "reference", "amount", "currency", "status", "created"});
  for (const auto& r : rows)
    st << std::make_tuple(static_cast<long>(r.line), r.reference, r.amount, r.currency, r.status, r.created);
  st.complete();
}

// A new reconciliation's id, or 0 when this report was imported before
// (then `existing` holds that one's id).
std::uint64_t insert_header(pqxx::work& tx, std::string_view account, std::string_view format,
                            const std::string& digest, std::size_t rows, std::uint64_t& existing) {
  auto window = tx.exec("SELECT min(created)::text, max(created)::text FROM pg_temp.report_rows")[0];
  auto inserted = tx.exec_params(
      "INSERT INTO reconciliations (account, report_sha256, report_format, report_rows, window_from, window_to, "
      "projected_seq) VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7) "
      "ON CONFLICT (account, report_sha256) DO NOTHING RETURNING reconciliation_id",
      std::string(account), digest, std::string(format), static_cast<long>(rows), window[0].c_str(),
      window[1].c_str(), projected_seq(tx));
  if (!inserted.empty()) return inserted[0][0].as<std::uint64_t>();
  existing = tx.exec_params1("SELECT reconciliation_id FROM reconciliations WHERE account = $1 AND report_sha256 = $2",
                             std::string(account), digest)[0]
                 .as<std::uint64_t>();
  return 0;
}

}  // namespace

status reconcile(pqxx::connection& c, std::string_view account, std::string_view format, std::string_view report_bytes,
                 std::string& out_json) {
  out_json.clear();
  std::vector<report_row> rows;
  if (auto s = parse_report(report_bytes, format, rows); !s) return s;
  if (account.empty() || account.size() > 64) return status::invalid_argument("account must be 1 to 64 characters");
  std::string digest = to_hex(sha256(report_bytes));
  try {
    pqxx::work tx(c);
    tx.exec("SET LOCAL TIME ZONE 'UTC'");
    stage(tx, rows);
    std::uint64_t existing = 0;
    std::uint64_t id = insert_header(tx, account, format, digest, rows.size(), existing);
    if (id == 0) {
      render(tx, existing, "", true, out_json);
      tx.commit();
      return status::ok();
    }
    auto window = tx.exec_params1("SELECT window_from::text, window_to::text FROM reconciliations WHERE reconciliation_id = $1", id);
    tx.exec_params(classify_rows_sql, id, std::string(account));
    tx.exec_params(missing_at_provider_sql, id, std::string(account), static_cast<long>(rows.size()), window[0].c_str(),
                   window[1].c_str());
    tx.exec_params(count_sql, id);
    render(tx, id, "", false, out_json);
    tx.commit();
    return status::ok();
  } catch (const pqxx::data_exception& e) {
    out_json.clear();
    return status::invalid_argument(std::string("report: a value PostgreSQL cannot read (") + e.what() + ")");
  } catch (...) {
    out_json.clear();
    return status_from_current_exception("reconcile");
  }
}

status reconciliation(pqxx::connection& c, std::uint64_t id, std::string_view outcome, std::string& out_json) {
  out_json.clear();
  bool known = outcome.empty();
  for (auto o : outcomes) known |= outcome == o;
  if (!known)
    return status::invalid_argument(
        "outcome must be matched, missing_in_ledger, missing_at_provider, amount_mismatch or status_mismatch");
  try {
    pqxx::work tx(c);
    if (tx.exec_params("SELECT 1 FROM reconciliations WHERE reconciliation_id = $1", id).empty())
      return status::not_found("reconciliation " + std::to_string(id) + " not found");
    render(tx, id, outcome, true, out_json);
    tx.commit();
    return status::ok();
  } catch (...) {
    out_json.clear();
    return status_from_current_exception("reconciliation");
  }
}

}  // namespace ledger::projections
