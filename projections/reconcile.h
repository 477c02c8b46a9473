// Reconciliation: a payment provider's report (CSV) matched against the
// ledger's deposits from that provider account, by the provider's reference
// and amount. Results are kept in the read models (reconciliations,
// reconciliation_items; schemas/sql/0004_reconciliations.sql) under the
// report's identity (account + SHA-256 of its bytes): the same report
// imported twice is one reconciliation.
//
// Outcomes per report row: matched (the ledger has the deposit at that
// amount and asset, or the provider says it failed and the ledger has none),
// missing_in_ledger (paid at the provider, no deposit here), amount_mismatch,
// status_mismatch (the ledger credited what the provider reports as failed
// or refunded); and per ledger deposit from that account inside the report's
// time window that no row names: missing_at_provider.
//
// Formats (the CSV's header row names the columns):
//   stripe-payments  Stripe's payments export: "PaymentIntent ID", "Amount"
//                    (major units), "Currency", "Status", "Created date (UTC)"
//   generic          reference, amount (major units), currency, status, created
// Limits: report_bytes_max bytes, report_rows_max rows, 64 columns, fields of
// at most 1,024 bytes. Bad input is invalid_argument naming the line and
// column, and nothing is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// libpqxx 6 declares pqxx::connection as an alias of a template.
#include <pqxx/connection>

#include "schemas/base.h"

namespace ledger::projections {

inline constexpr std::size_t report_bytes_max = 64u << 20;
inline constexpr std::size_t report_rows_max = 1'000'000;

struct report_row {
  std::size_t line = 0;
  std::string reference;
  std::string amount;    // decimal, major units
  std::string currency;  // upper case
  std::string status;    // paid, failed, refunded, or the provider's word in lower case
  std::string created;   // as the report writes it (UTC)
};

status parse_report(std::string_view csv, std::string_view format, std::vector<report_row>& out);

// Imports a parsed report for `account` (or finds the same report imported
// before) and answers the reconciliation as JSON (summary and the items that
// are not matched, at most 1,000). Tables through the connection's
// search_path; one transaction.
status reconcile(pqxx::connection& c, std::string_view account, std::string_view format, std::string_view report_bytes,
                 std::string& out_json);

// A stored reconciliation as JSON: summary and its items (all outcomes, or
// one), at most 1,000. not_found when there is none.
status reconciliation(pqxx::connection& c, std::uint64_t id, std::string_view outcome, std::string& out_json);

}  // namespace ledger::projections
