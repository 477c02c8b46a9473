#include "projections/queries.h"
#include "schemas/time.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <vector>

#include <pqxx/pqxx>

#include "base/json_out.h"
#include "projections/query_pool.h"
#include "schemas/commands.h"

namespace ledger::projections {

namespace {


// Read-only, and REPEATABLE READ so that the several statements behind one
// answer (a statement's balances and entries) see one snapshot.
using read_snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

constexpr std::uint64_t id_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

constexpr std::array<std::string_view, 7> transaction_types = {"deposit", "withdrawal", "settlement", "transfer",
                                                               "hold",    "capture",    "reversal"};
constexpr std::array<std::string_view, 8> transaction_statuses = {"completed", "pending", "settled",  "failed",
                                                                  "captured",  "voided",  "expired",  "reversed"};

struct time_arg {
  std::int64_t us = 0;
  std::string text;  // normalized, UTC
};

status parse_time(std::string_view field, std::string_view s, time_arg& out) {
  auto us = parse_rfc3339_us(s);
  if (!us)
    return status::invalid_argument(std::string(field) +
                                    " must be an RFC 3339 date-time such as 2026-01-01T10:00:00Z");
  out.us = *us;
  out.text = format_rfc3339_us(*us);
  return status::ok();
}

// ---- inputs --------------------------------------------------------------

status check_id(std::uint64_t id, std::string_view field) {
  if (id == 0 || id > id_max)
    return status::invalid_argument(std::string(field) + " must be 1 to " + std::to_string(id_max));
  return status::ok();
}

status check_text(std::string_view field, std::string_view v, std::size_t bytes_max) {
  if (v.empty() || v.size() > bytes_max)
    return status::invalid_argument(std::string(field) + " must be 1 to " + std::to_string(bytes_max) + " bytes");
  return status::ok();
}

template <std::size_t N>
status check_one_of(std::string_view field, std::string_view v, const std::array<std::string_view, N>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return status::ok();
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return status::invalid_argument(std::string(field) + " must be one of " + list);
}

// Cursor grammar: the decimal transaction_id of the previous page's last row.
bool parse_cursor(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 19 || s[0] == '0') return false;
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v > id_max) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

// ---- SQL and JSON pieces -------------------------------------------------

// Times leave PostgreSQL already in their JSON form, whatever the session's TimeZone.
std::string ts(std::string_view column) {
  return "to_char(" + std::string(column) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

// Amounts are cast to text in SQL: numeric reaches JSON digit for digit.
const std::string& transaction_select() {
  static const std::string sql =
      "SELECT t.transaction_id, t.type, t.status, t.asset, t.amount::text AS amount, t.fee::text AS fee, "
      "t.from_wallet_id, t.to_wallet_id, t.provider, t.reference, t.description, t.metadata::text AS metadata, "
      "t.related_id, t.reversed_by, t.principal, t.request_id, " + ts("t.created_at") + " AS created_at, " +
      ts("t.updated_at") + " AS updated_at, t.updated_seq, h.kind AS hold_kind, h.status AS hold_status, " +
      ts("h.expires_at") + " AS hold_expires_at, h.posted_amount::text AS hold_posted_amount, "
      "h.resolved_seq AS hold_resolved_seq, " + ts("h.resolved_at") + " AS hold_resolved_at "
      "FROM transactions t LEFT JOIN holds h ON h.hold_id = t.transaction_id";
  return sql;
}

// True when one of the user's wallets is the transaction's from or to wallet.
// Only user wallets: a user id may equal a system account's name.
std::string visible_to(std::string_view owner_param) {
  return "EXISTS (SELECT 1 FROM wallets w WHERE w.kind = 'user' AND w.owner = " + std::string(owner_param) +
         " AND w.wallet_id IN (t.from_wallet_id, t.to_wallet_id))";
}

void put_text(json_out& j, std::string_view k, const pqxx::field& f) {
  j.key(k);
  if (f.is_null()) j.null();
  else j.str(std::string_view(f.c_str(), f.size()));
}

void put_int(json_out& j, std::string_view k, const pqxx::field& f) {
  j.key(k);
  if (f.is_null()) j.null();
  else j.num(f.as<std::int64_t>());
}

// Whether `viewer` (a user; nullopt: a role that sees everything) issued the
// command behind row `r`. The request's own fields (principal, request id,
// reference, description, metadata) belong to whoever sent it; the other party of a
// transfer, or the owner of a wallet a service deposited into, does not see
// them (queries.h, "A user's side").
bool issued_by(const pqxx::row& r, const std::optional<std::string>& viewer) {
  return !viewer || std::string_view(r["principal"].c_str(), r["principal"].size()) == *viewer;
}

// put_text, or null when the field is not the viewer's to see.
void put_own_text(json_out& j, std::string_view k, const pqxx::field& f, bool own) {
  if (own) return put_text(j, k, f);
  j.key(k).null();
}

// The keys of a <transaction>, inside an object the caller opened, as
// `viewer` may see them.
void write_transaction_fields(json_out& j, const pqxx::row& r, const std::optional<std::string>& viewer) {
  const bool own = issued_by(r, viewer);
  put_int(j, "transaction_id", r["transaction_id"]);
  for (const char* k : {"type", "status", "asset", "amount", "fee"}) put_text(j, k, r[k]);
  put_int(j, "from_wallet_id", r["from_wallet_id"]);
  put_int(j, "to_wallet_id", r["to_wallet_id"]);
  put_text(j, "provider", r["provider"]);
  put_own_text(j, "reference", r["reference"], own);
  put_own_text(j, "description", r["description"], own);
  // jsonb's text form is valid JSON, so it goes in as it is.
  j.key("metadata");
  if (!own || r["metadata"].is_null()) j.null();
  else j.raw(std::string_view(r["metadata"].c_str(), r["metadata"].size()));
  put_int(j, "related_id", r["related_id"]);
  put_int(j, "reversed_by", r["reversed_by"]);
  put_own_text(j, "principal", r["principal"], own);
  put_own_text(j, "request_id", r["request_id"], own);
  put_text(j, "created_at", r["created_at"]);
  put_text(j, "updated_at", r["updated_at"]);
  put_int(j, "updated_seq", r["updated_seq"]);
  j.key("hold");
  if (r["hold_kind"].is_null()) {
    j.null();
  } else {
    j.begin_object();
    put_text(j, "kind", r["hold_kind"]);
    put_text(j, "status", r["hold_status"]);
    put_text(j, "expires_at", r["hold_expires_at"]);
    put_text(j, "posted_amount", r["hold_posted_amount"]);
    put_int(j, "resolved_seq", r["hold_resolved_seq"]);
    put_text(j, "resolved_at", r["hold_resolved_at"]);
    j.end_object();
  }
}

void write_transaction(json_out& j, const pqxx::row& r, const std::optional<std::string>& viewer) {
  j.begin_object();
  write_transaction_fields(j, r, viewer);
  j.end_object();
}

// Whether the wallet exists and holds the asset, and a zero at the asset's
// scale ("0.00") for balances before the first change.
const char* wallet_asset_columns =
    "EXISTS (SELECT 1 FROM wallets WHERE wallet_id = $1) AS wallet_exists, "
    "EXISTS (SELECT 1 FROM balances WHERE wallet_id = $1 AND asset = $2) AS holds_asset, "
    "round(0::numeric, coalesce((SELECT scale FROM assets WHERE code = $2), 0)::int)::text AS zero";

// The balance after the latest change before (or at) a time, as a LATERAL
// join yielding posted, held, incoming, seq and at. This is the latest
// balance_history row, read from postings directly: balance_history is a
// view with DISTINCT ON (wallet_id, asset, seq), through which PostgreSQL
// cannot push a condition on the time, so the view would read every
// posting of the wallet in the asset. The last leg of the latest event
// carries the balance after it (the view picks the same leg), and
// postings_wallet_time serves the backward scan.
std::string balance_as_of(std::string_view time_op, std::string_view time_param) {
  return "LEFT JOIN LATERAL (SELECT posted_after AS posted, held_after AS held, incoming_after AS incoming, seq, "
         "created_at AS at FROM postings WHERE wallet_id = $1 AND asset = $2 AND created_at " +
         std::string(time_op) + " " + std::string(time_param) +
         "::timestamptz ORDER BY created_at DESC, seq DESC, leg DESC LIMIT 1)";
}

status wallet_asset_status(const pqxx::row& r, std::uint64_t wallet_id, std::string_view asset) {
  if (!r["wallet_exists"].as<bool>()) return status::not_found("wallet " + std::to_string(wallet_id) + " not found");
  if (!r["holds_asset"].as<bool>())
    return status::not_found("wallet " + std::to_string(wallet_id) + " does not hold " + std::string(asset));
  return status::ok();
}

// ---- statement -----------------------------------------------------------

// "opening", "closing", "totals" and "entries" of a statement; `head` holds
// the balances, `entries` the posted legs with their window totals.
void write_statement_body(json_out& j, const pqxx::row& head, const pqxx::result& entries,
                          const std::optional<std::string>& viewer) {
  const std::string zero = head["zero"].c_str();
  auto or_zero = [&](const pqxx::field& f) { return f.is_null() ? zero : std::string(f.c_str()); };
  for (const char* side : {"opening", "closing"}) {
    const std::string s(side);
    j.key(s).begin_object().field("posted", or_zero(head[s]));
    put_int(j, "seq", head[s + "_seq"]);
    put_text(j, "at", head[s + "_at"]);
    j.end_object();
  }
  j.key("totals").begin_object();
  j.field("debits", entries.empty() ? zero : or_zero(entries[0]["debits"]));
  j.field("credits", entries.empty() ? zero : or_zero(entries[0]["credits"]));
  j.field("entries", static_cast<std::uint64_t>(entries.size())).end_object();
  j.key("entries").begin_array();
  for (const auto& e : entries) {
    j.begin_object();
    put_int(j, "seq", e["seq"]);
    put_int(j, "leg", e["leg"]);
    put_int(j, "transaction_id", e["transaction_id"]);
    put_text(j, "type", e["type"]);
    // The reference is its issuer's (a leg with no transaction row has none).
    put_own_text(j, "reference", e["reference"], !viewer || (!e["principal"].is_null() && issued_by(e, viewer)));
    for (const char* k : {"at", "amount", "posted_after"}) put_text(j, k, e[k]);
    j.end_object();
  }
  j.end_array();
}

// ---- history -------------------------------------------------------------

// Appends "AND column <op> $n" for each set filter; validates as it goes.
status history_where(const history_filters& f, const std::optional<std::string>& viewer,
                     std::vector<std::string>& params, std::string& where) {
  auto add = [&](std::string_view column_op, std::string value) {
    params.push_back(std::move(value));
    where += " AND " + std::string(column_op) + " $" + std::to_string(params.size());
  };
  if (f.type) {
    if (auto s = check_one_of("type", *f.type, transaction_types); !s) return s;
    add("type =", *f.type);
  }
  if (f.status) {
    if (auto s = check_one_of("status", *f.status, transaction_statuses); !s) return s;
    add("status =", *f.status);
  }
  if (f.asset) {
    if (auto s = check_text("asset", *f.asset, asset_code_bytes_max); !s) return s;
    add("asset =", *f.asset);
  }
  if (f.reference) {
    if (auto s = check_text("reference", *f.reference, reference_bytes_max); !s) return s;
    add("reference =", *f.reference);
    // A user finds its own references only: matching another party's would
    // tell the user what that party wrote.
    if (viewer) add("principal =", *viewer);
  }
  time_arg from, to;
  if (f.from) {
    if (auto s = parse_time("from", *f.from, from); !s) return s;
    add("created_at >=", from.text);
    where += "::timestamptz";
  }
  if (f.to) {
    if (auto s = parse_time("to", *f.to, to); !s) return s;
    add("created_at <", to.text);
    where += "::timestamptz";
  }
  if (f.from && f.to && from.us >= to.us) return status::invalid_argument("from must be before to");
  return status::ok();
}

}  // namespace

status history(pqxx::connection& conn, std::uint64_t wallet_id, const history_filters& filters,
               std::string_view cursor, int limit, std::string& out_json, const std::optional<std::string>& viewer) {
  out_json.clear();
  if (auto s = check_id(wallet_id, "wallet_id"); !s) return s;
  if (limit < 1 || limit > history_limit_max)
    return status::invalid_argument("limit must be 1 to " + std::to_string(history_limit_max));
  if (viewer)
    if (auto s = check_text("owner", *viewer, owner_bytes_max); !s) return s;
  std::int64_t before = std::numeric_limits<std::int64_t>::max();
  if (!cursor.empty() && !parse_cursor(cursor, before))
    return status::invalid_argument("cursor must be a next_cursor returned by an earlier page");
  std::vector<std::string> params = {std::to_string(wallet_id), std::to_string(before), std::to_string(limit + 1)};
  std::string where;
  if (auto s = history_where(filters, viewer, params, where); !s) return s;

  // One ordered index scan per side (transactions_from / transactions_to),
  // each stopping after limit + 1 rows, merged: an OR over both columns
  // would read and sort every transaction of the wallet. The extra row
  // says whether another page exists.
  auto side = [&](const char* column) {
    return "(SELECT transaction_id FROM transactions WHERE " + std::string(column) +
           " = $1 AND transaction_id < $2" + where + " ORDER BY transaction_id DESC LIMIT $3)";
  };
  const std::string sql = "WITH page AS (" + side("from_wallet_id") + " UNION " + side("to_wallet_id") + ") " +
                          transaction_select() +
                          " WHERE t.transaction_id IN (SELECT transaction_id FROM page)"
                          " ORDER BY t.transaction_id DESC LIMIT $3";
  try {
    read_snapshot tx(conn);
    if (tx.exec_params("SELECT 1 FROM wallets WHERE wallet_id = $1", params[0]).empty())
      return status::not_found("wallet " + params[0] + " not found");
    const pqxx::result r = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    tx.commit();

    const auto shown = std::min<std::size_t>(r.size(), static_cast<std::size_t>(limit));
    json_out j;
    j.begin_object().field("wallet_id", wallet_id).key("transactions").begin_array();
    for (std::size_t i = 0; i < shown; ++i) write_transaction(j, r[static_cast<pqxx::result::size_type>(i)], viewer);
    j.end_array();
    if (r.size() > shown)
      j.field("next_cursor", std::string(r[static_cast<pqxx::result::size_type>(shown - 1)]["transaction_id"].c_str()));
    j.end_object();
    out_json = j.take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("history");
  }
}

status transaction_detail(pqxx::connection& conn, std::uint64_t transaction_id, std::string& out_json,
                          const std::optional<std::string>& visible_to_owner) {
  out_json.clear();
  if (auto s = check_id(transaction_id, "transaction_id"); !s) return s;
  if (visible_to_owner)
    if (auto s = check_text("owner", *visible_to_owner, owner_bytes_max); !s) return s;
  const std::string id = std::to_string(transaction_id);
  const std::string owner = visible_to_owner.value_or("");
  try {
    read_snapshot tx(conn);
    const pqxx::result t = visible_to_owner
        ? tx.exec_params(transaction_select() + " WHERE t.transaction_id = $1 AND " + visible_to("$2"), id, owner)
        : tx.exec_params(transaction_select() + " WHERE t.transaction_id = $1", id);
    if (t.empty()) return status::not_found("transaction " + id + " not found");

    // postings has no index on transaction_id. A transaction's legs come
    // from the event that created it (seq = transaction_id) and, for holds
    // and withdrawals, the event that released them (the hold's
    // resolved_seq, also the row's updated_seq); captures, settlements and
    // reversals are transactions of their own. So the primary key finds
    // them all without scanning the table.
    const pqxx::row row = t[0];
    const std::string updated = row["updated_seq"].c_str();
    const std::string resolved = row["hold_resolved_seq"].is_null() ? id : row["hold_resolved_seq"].c_str();
    std::string sql = "SELECT seq, leg, wallet_id, asset, kind, amount::text AS amount, "
                      "posted_after::text AS posted_after, held_after::text AS held_after, "
                      "incoming_after::text AS incoming_after, " + ts("created_at") + " AS created_at "
                      "FROM postings WHERE seq IN ($1, $2, $3) AND transaction_id = $1";
    if (visible_to_owner) sql += " AND wallet_id IN (SELECT wallet_id FROM wallets WHERE kind = 'user' AND owner = $4)";
    sql += " ORDER BY seq, leg LIMIT " + std::to_string(transaction_postings_max + 1);
    const pqxx::result p = visible_to_owner ? tx.exec_params(sql, id, updated, resolved, owner)
                                            : tx.exec_params(sql, id, updated, resolved);
    tx.commit();

    json_out j;
    j.begin_object();
    write_transaction_fields(j, row, visible_to_owner);
    j.key("postings").begin_array();
    const auto shown = std::min<std::size_t>(p.size(), transaction_postings_max);
    for (std::size_t i = 0; i < shown; ++i) {
      const pqxx::row leg = p[static_cast<pqxx::result::size_type>(i)];
      j.begin_object();
      put_int(j, "seq", leg["seq"]);
      put_int(j, "leg", leg["leg"]);
      put_int(j, "wallet_id", leg["wallet_id"]);
      for (const char* k : {"asset", "kind", "amount", "posted_after", "held_after", "incoming_after", "created_at"})
        put_text(j, k, leg[k]);
      j.end_object();
    }
    j.end_array().field("postings_truncated", p.size() > shown).end_object();
    out_json = j.take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("transaction_detail");
  }
}

status statement(pqxx::connection& conn, std::uint64_t wallet_id, std::string_view asset, std::string_view from,
                 std::string_view to, std::string& out_json, const std::optional<std::string>& viewer) {
  out_json.clear();
  if (auto s = check_id(wallet_id, "wallet_id"); !s) return s;
  if (auto s = check_text("asset", asset, asset_code_bytes_max); !s) return s;
  time_arg from_t, to_t;
  if (auto s = parse_time("from", from, from_t); !s) return s;
  if (auto s = parse_time("to", to, to_t); !s) return s;
  if (from_t.us >= to_t.us) return status::invalid_argument("from must be before to");
  if (viewer)
    if (auto s = check_text("owner", *viewer, owner_bytes_max); !s) return s;
  const std::string wallet = std::to_string(wallet_id), code(asset);

  const std::string head_sql = std::string("SELECT ") + wallet_asset_columns +
                               ", o.posted::text AS opening, o.seq AS opening_seq, " + ts("o.at") + " AS opening_at" +
                               ", c.posted::text AS closing, c.seq AS closing_seq, " + ts("c.at") + " AS closing_at" +
                               " FROM (SELECT 1) AS one " + balance_as_of("<", "$3") + " o ON true " +
                               balance_as_of("<", "$4") + " c ON true";
  // The limit applies before the totals, so an oversized period costs one
  // row more than the maximum, not a scan of everything in it. Ordering by
  // created_at first follows postings_wallet_time (wallet_id, asset,
  // created_at, seq) and stops at the limit; log time and seq grow together.
  const std::string entries_sql =
      "SELECT e.seq, e.leg, e.transaction_id, t.type, t.reference, t.principal, " + ts("e.created_at") + " AS at, "
      "e.amount::text AS amount, e.posted_after::text AS posted_after, "
      "(sum(-e.amount) FILTER (WHERE e.amount < 0) OVER ())::text AS debits, "
      "(sum(e.amount) FILTER (WHERE e.amount > 0) OVER ())::text AS credits "
      "FROM (SELECT seq, leg, transaction_id, created_at, amount, posted_after FROM postings "
      "      WHERE wallet_id = $1 AND asset = $2 AND kind = 'posted' "
      "      AND created_at >= $3::timestamptz AND created_at < $4::timestamptz "
      "      ORDER BY created_at, seq, leg LIMIT $5) AS e "
      "LEFT JOIN transactions t ON t.transaction_id = e.transaction_id ORDER BY e.seq, e.leg";
  try {
    read_snapshot tx(conn);
    const pqxx::row head = tx.exec_params1(head_sql, wallet, code, from_t.text, to_t.text);
    if (auto s = wallet_asset_status(head, wallet_id, asset); !s) return s;
    const pqxx::result r =
        tx.exec_params(entries_sql, wallet, code, from_t.text, to_t.text, std::to_string(statement_entries_max + 1));
    tx.commit();
    if (r.size() > statement_entries_max)
      return status::invalid_argument("the statement has more than " + std::to_string(statement_entries_max) +
                                      " entries; narrow the period");

    json_out j;
    j.begin_object().field("wallet_id", wallet_id).field("asset", asset);
    j.field("from", from_t.text).field("to", to_t.text);
    write_statement_body(j, head, r, viewer);
    j.end_object();
    out_json = j.take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("statement");
  }
}

status balance_at(pqxx::connection& conn, std::uint64_t wallet_id, std::string_view asset, std::string_view at,
                  std::string& out_json) {
  out_json.clear();
  if (auto s = check_id(wallet_id, "wallet_id"); !s) return s;
  if (auto s = check_text("asset", asset, asset_code_bytes_max); !s) return s;
  time_arg at_t;
  if (auto s = parse_time("at", at, at_t); !s) return s;
  const std::string wallet = std::to_string(wallet_id), code(asset);
  const std::string sql = std::string("SELECT ") + wallet_asset_columns +
                          ", b.posted::text AS posted, b.held::text AS held, b.incoming::text AS incoming, b.seq, " +
                          ts("b.at") + " AS changed_at FROM (SELECT 1) AS one " + balance_as_of("<=", "$3") +
                          " b ON true";
  try {
    read_snapshot tx(conn);
    const pqxx::row r = tx.exec_params1(sql, wallet, code, at_t.text);
    tx.commit();
    if (auto s = wallet_asset_status(r, wallet_id, asset); !s) return s;
    const std::string zero = r["zero"].c_str();
    const bool none = r["seq"].is_null();
    json_out j;
    j.begin_object().field("wallet_id", wallet_id).field("asset", asset).field("at", at_t.text);
    for (const char* k : {"posted", "held", "incoming"}) j.field(k, none ? zero : std::string(r[k].c_str()));
    // The seed's names for the same figures (docs/read-models.md, "Balances").
    j.field("total", none ? zero : std::string(r["posted"].c_str()));
    j.field("pending_incoming", none ? zero : std::string(r["incoming"].c_str()));
    j.field("pending_outgoing", none ? zero : std::string(r["held"].c_str()));
    j.field("seq", none ? std::int64_t{0} : r["seq"].as<std::int64_t>());
    put_text(j, "changed_at", r["changed_at"]);
    j.end_object();
    out_json = j.take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("balance_at");
  }
}

status by_reference(pqxx::connection& conn, std::string_view reference, std::string& out_json,
                    const std::optional<std::string>& visible_to_owner) {
  out_json.clear();
  if (auto s = check_text("reference", reference, reference_bytes_max); !s) return s;
  if (visible_to_owner)
    if (auto s = check_text("owner", *visible_to_owner, owner_bytes_max); !s) return s;
  const std::string ref(reference);
  std::string sql = transaction_select() + " WHERE t.reference = $1";
  // A user finds only what it sent itself (t.principal), and only where it
  // touches its wallets: another party's reference finds nothing, exactly
  // as a reference nobody used.
  if (visible_to_owner) sql += " AND t.principal = $2 AND " + visible_to("$2");
  sql += " ORDER BY t.transaction_id DESC LIMIT " + std::to_string(by_reference_max + 1);
  try {
    read_snapshot tx(conn);
    const pqxx::result r = visible_to_owner ? tx.exec_params(sql, ref, *visible_to_owner) : tx.exec_params(sql, ref);
    tx.commit();
    const auto shown = std::min<std::size_t>(r.size(), by_reference_max);
    json_out j;
    j.begin_object().field("reference", reference).key("transactions").begin_array();
    for (std::size_t i = 0; i < shown; ++i)
      write_transaction(j, r[static_cast<pqxx::result::size_type>(i)], visible_to_owner);
    j.end_array().field("truncated", r.size() > shown).end_object();
    out_json = j.take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("by_reference");
  }
}

status wallet_owner(pqxx::connection& conn, std::uint64_t wallet_id, std::optional<std::string>& owner) {
  owner.reset();
  if (auto s = check_id(wallet_id, "wallet_id"); !s) return s;
  try {
    read_snapshot tx(conn);
    const pqxx::result r =
        tx.exec_params("SELECT owner FROM wallets WHERE wallet_id = $1 AND kind = 'user'", std::to_string(wallet_id));
    tx.commit();
    if (!r.empty()) owner = r[0][0].c_str();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("wallet_owner");
  }
}

status projection_position(pqxx::connection& conn, std::string_view projection, projection_position_info& out,
                           std::string& out_json) {
  out = {};
  out_json.clear();
  if (auto s = check_text("projection", projection, projection_name_bytes_max); !s) return s;
  const std::string name(projection);
  try {
    read_snapshot tx(conn);
    const pqxx::result r = tx.exec_params("SELECT last_seq, " + ts("last_at") + " AS last_at, " + ts("updated_at") +
                                              " AS updated_at FROM projection_checkpoints WHERE projection = $1",
                                          name);
    tx.commit();
    if (r.empty()) return status::not_found("projection " + name + " has no checkpoint yet");
    out.last_seq = r[0]["last_seq"].as<std::uint64_t>();
    if (!r[0]["last_at"].is_null()) out.last_at = r[0]["last_at"].c_str();
    json_out j;
    j.begin_object().field("projection", projection).field("last_seq", out.last_seq);
    put_text(j, "last_at", r[0]["last_at"]);
    put_text(j, "updated_at", r[0]["updated_at"]);
    j.end_object();
    out_json = j.take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("projection_position");
  }
}

}  // namespace ledger::projections
