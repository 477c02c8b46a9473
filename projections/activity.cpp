#include "projections/activity.h"

#include <charconv>
#include <functional>
#include <limits>

#include "base/json_out.h"
#include "projections/pg_text.h"
#include "projections/query_pool.h"
#include "schemas/commands.h"
#include "schemas/fx_commands.h"
#include "schemas/money.h"
#include "schemas/time.h"

namespace ledger::projections {

namespace {

constexpr std::size_t rows_per_statement_max = 500;
constexpr std::int64_t us_per_s = 1'000'000;

std::string clean(std::string_view s) {
  bool exact = true;
  return pg_text(s, exact);
}

std::string details_of(std::initializer_list<std::pair<const char*, std::string>> kv) {
  json_out j;
  j.begin_object();
  for (const auto& [k, v] : kv) j.field(k, clean(v));
  return j.end_object().take();
}

void add(activity_rows& rows, const event& e, int idx, std::string action, std::string owner, std::string owner_from,
         std::uint64_t subject, std::string details) {
  activity_row r;
  r.at_us = e.log_ts_us;
  r.seq = e.seq;
  r.idx = idx;
  r.owner = std::move(owner);
  r.owner_from = std::move(owner_from);
  r.action = std::move(action);
  r.principal = e.principal;
  r.subject_id = subject;
  r.details = std::move(details);
  rows.activity.push_back(std::move(r));
}

// The session, wallet and admin effects: one activity row each (or none).
void build_account_activity(const event& e, int idx, const effect& fx, activity_rows& rows) {
  if (auto* o = std::get_if<session_opened>(&fx)) {
    add(rows, e, idx, "sign_in", o->owner, "", o->id, details_of({{"chain", std::string(to_string(o->chain))}, {"address", o->address}}));
  } else if (auto* c = std::get_if<session_closed>(&fx); c && c->resolution == session_resolution::revoked) {
    add(rows, e, idx, "session_revoked", "", "session", c->id, "{}");
  } else if (auto* f = std::get_if<auth_failed>(&fx)) {
    add(rows, e, idx, "sign_in_failed", "", "connection", 0,
        details_of({{"chain", std::string(to_string(f->chain))}, {"address", f->address}, {"client", f->client}, {"check", f->check}}));
    rows.activity.back().chain = to_string(f->chain);
    rows.activity.back().address = f->address;
  } else if (auto* w = std::get_if<wallet_connected>(&fx)) {
    add(rows, e, idx, "wallet_linked", w->owner, "", 0, details_of({{"chain", std::string(to_string(w->chain))}, {"address", w->address}}));
  } else if (auto* d = std::get_if<wallet_disconnected>(&fx)) {
    add(rows, e, idx, "wallet_unlinked", d->owner, "", 0, details_of({{"chain", std::string(to_string(d->chain))}, {"address", d->address}}));
  } else if (auto* a = std::get_if<account_opened>(&fx); a && a->kind == account_kind::user) {
    json_out j;
    j.begin_object().key("assets").begin_array();
    for (const auto& wa : a->assets)
      j.begin_object().field("asset", wa.asset).field("overdraft_limit", to_decimal(wa.overdraft_limit))
          .field("daily_debit_limit", to_decimal(wa.daily_debit_limit)).end_object();
    add(rows, e, idx, "wallet_opened", a->owner, "", a->id, j.end_array().end_object().take());
  } else if (auto* s = std::get_if<account_status_changed>(&fx)) {
    const char* action = s->to == account_status::frozen ? "wallet_frozen"
                         : s->to == account_status::closed ? "wallet_closed" : "wallet_unfrozen";
    add(rows, e, idx, action, "", "wallet", s->id, "{}");
  } else if (auto* fs = std::get_if<fee_schedule_changed>(&fx)) {
    add(rows, e, idx, fs->removed ? "fee_schedule_removed" : "fee_schedule_set", "", "", 0,
        details_of({{"asset", fs->asset}, {"kind", std::string(to_string(fs->kind))}}));
  } else if (auto* p = std::get_if<payout_destination_registered>(&fx)) {
    add(rows, e, idx, "payout_destination_registered", p->owner, "", p->wallet, "{}");
  } else if (auto* x = std::get_if<documents_exported>(&fx)) {
    add(rows, e, idx, "documents_exported", x->owner, "", 0,
        details_of({{"document_count", std::to_string(x->document_count)}, {"total_bytes", std::to_string(x->total_bytes)}}));
  } else if (auto* od = std::get_if<owner_deleted>(&fx)) {
    add(rows, e, idx, "owner_deleted", od->owner, "", 0,
        details_of({{"wallets", std::to_string(od->wallets.size())}, {"sessions", std::to_string(od->sessions.size())},
                    {"documents", std::to_string(od->documents.size())},
                    {"addresses", std::to_string(od->addresses.size())}, {"groups", std::to_string(od->groups.size())},
                    {"payment_requests", std::to_string(od->payment_requests.size())}}));
    rows.notes_erased.insert(rows.notes_erased.end(), od->payment_requests.begin(), od->payment_requests.end());
  }
}

// Rates, the FX account's limits, tiers and tier limits (admin or rate-feed
// actions): one row each; a tier change belongs to the owner it changes.
bool build_limit_activity(const event& e, int idx, const effect& fx,
                          const std::function<std::string(amount_t, const std::string&)>& amount, activity_rows& rows) {
  if (auto* r = std::get_if<rate_set>(&fx)) {
    add(rows, e, idx, "rate_set", "", "", 0,
        details_of({{"from_asset", r->from_asset}, {"to_asset", r->to_asset}, {"rate", format_amount(r->rate_e18, 18)},
                    {"fee_bps", std::to_string(r->fee_bps)}, {"valid_from", format_rfc3339_us(r->valid_from_us)},
                    {"valid_until", format_rfc3339_us(r->valid_until_us)}}));
  } else if (auto* l = std::get_if<fx_limit_set>(&fx)) {
    add(rows, e, idx, "fx_limit_set", "", "", 0, details_of({{"asset", l->asset}, {"overdraft", amount(l->overdraft, l->asset)}}));
  } else if (auto* t = std::get_if<owner_tier_set>(&fx)) {
    add(rows, e, idx, "tier_set", t->owner, "", 0, details_of({{"tier", std::string(to_string(t->tier))}}));
  } else if (auto* tl = std::get_if<tier_limits_set>(&fx)) {
    add(rows, e, idx, "tier_limits_set", "", "", 0,
        details_of({{"tier", std::string(to_string(tl->tier))}, {"asset", tl->asset},
                    {"per_transaction", amount(tl->per_transaction, tl->asset)}, {"daily", amount(tl->daily, tl->asset)},
                    {"monthly", amount(tl->monthly, tl->asset)}}));
  } else {
    return false;
  }
  return true;
}

// Who closed a request without money: the payer declines, the requester cancels.
std::string closer_of(const event& e) {
  command_body body;
  if (e.body.empty() || !decode_body(e.body, body)) return {};
  if (auto* d = std::get_if<decline_payment_request_cmd>(&body)) return d->payer;
  if (auto* c = std::get_if<cancel_payment_request_cmd>(&body)) return c->requester;
  return {};
}

}  // namespace

void build_activity(const event& e, const std::function<std::string(amount_t, const std::string&)>& amount,
                    activity_rows& rows) {
  int idx = 0;
  for (const auto& fx : e.effects) {
    ++idx;
    if (auto* o = std::get_if<payment_request_opened>(&fx)) {
      rows.opened.push_back({*o, amount(o->amount, o->asset), e.log_ts_us});
      add(rows, e, idx, "payment_request_created", o->requester, "", o->id,
          details_of({{"payer", o->payer}, {"asset", o->asset}, {"amount", rows.opened.back().amount}}));
    } else if (auto* c = std::get_if<payment_request_closed>(&fx)) {
      rows.closed.push_back({*c, e.seq, e.log_ts_us});
      if (c->status == payment_request_status::declined || c->status == payment_request_status::cancelled)
        add(rows, e, idx, "payment_request_" + std::string(to_string(c->status)), closer_of(e), "", c->id, "{}");
    } else if (!build_limit_activity(e, idx, fx, amount, rows)) {
      build_account_activity(e, idx, fx, rows);
    }
  }
}

void ensure_activity_partition(pqxx::work& tx, std::int64_t at_us) {
  std::string day = format_rfc3339_us(at_us);  // "2026-11-30T..."
  int year = std::stoi(day.substr(0, 4)), month = std::stoi(day.substr(5, 2));
  int next_year = month == 12 ? year + 1 : year, next_month = month == 12 ? 1 : month + 1;
  char name[48], from[32], to[32];
  std::snprintf(name, sizeof name, "activity_log_p%04d%02d", year, month);
  std::snprintf(from, sizeof from, "%04d-%02d-01", year, month);
  std::snprintf(to, sizeof to, "%04d-%02d-01", next_year, next_month);
  tx.exec(std::string("CREATE TABLE IF NOT EXISTS ") + name + " PARTITION OF activity_log FOR VALUES FROM ('" + from +
          " 00:00:00+00') TO ('" + to + " 00:00:00+00')");
}

namespace {

std::string ts(pqxx::work& tx, std::int64_t us) { return tx.quote(format_rfc3339_us(us)) + "::timestamptz"; }
std::string id_or_null(std::uint64_t v) { return v ? std::to_string(v) : "NULL"; }

std::string owner_expr(pqxx::work& tx, const activity_row& r) {
  if (r.owner_from == "session")
    return "(SELECT owner FROM wallet_sessions WHERE session_id = " + std::to_string(r.subject_id) + ")";
  if (r.owner_from == "wallet")
    return "(SELECT owner FROM wallets WHERE kind = 'user' AND wallet_id = " + std::to_string(r.subject_id) + ")";
  if (r.owner_from == "connection")
    return "(SELECT owner FROM wallet_connections WHERE chain = " + tx.quote(r.chain) + " AND address = " +
           tx.quote(clean(r.address)) + " AND disconnected_seq IS NULL ORDER BY connected_seq DESC LIMIT 1)";
  return r.owner.empty() ? "NULL" : tx.quote(clean(r.owner));
}

void write_requests(pqxx::work& tx, const activity_rows& rows) {
  for (std::size_t i = 0; i < rows.opened.size(); i += rows_per_statement_max) {
    std::string sql = "INSERT INTO payment_requests (request_id, requester, wallet_id, payer, asset, amount, note, "
                      "status, expires_at, created_at) VALUES ";
    for (std::size_t j = i; j < rows.opened.size() && j < i + rows_per_statement_max; ++j) {
      const auto& r = rows.opened[j];
      const auto& o = r.opened;
      sql += (j == i ? "(" : ",(") + std::to_string(o.id) + "," + tx.quote(clean(o.requester)) + "," +
             std::to_string(o.wallet) + "," + tx.quote(clean(o.payer)) + "," + tx.quote(o.asset) + "," +
             tx.quote(r.amount) + "::numeric," + tx.quote(clean(o.note)) + ",'pending'," + ts(tx, o.expires_at_us) +
             "," + ts(tx, r.at_us) + ")";
    }
    tx.exec(sql);
  }
  for (const auto& c : rows.closed)
    tx.exec("UPDATE payment_requests SET status = " + tx.quote(std::string(to_string(c.closed.status))) +
            ", closed_seq = " + std::to_string(c.seq) + ", closed_at = " + ts(tx, c.at_us) +
            ", transaction_id = " + id_or_null(c.closed.transaction_id) +
            ", payer_wallet_id = " + id_or_null(c.closed.payer_wallet) + ", reason = " +
            (c.closed.reason.empty() ? std::string("NULL") : tx.quote(clean(c.closed.reason))) +
            " WHERE request_id = " + std::to_string(c.closed.id));
  for (auto id : rows.notes_erased)
    tx.exec("UPDATE payment_requests SET note = '' WHERE request_id = " + std::to_string(id));
}

}  // namespace

void write_activity(pqxx::work& tx, activity_rows& rows) {
  write_requests(tx, rows);
  std::set<std::string> months;
  for (const auto& r : rows.activity)
    if (months.insert(format_rfc3339_us(r.at_us).substr(0, 7)).second) ensure_activity_partition(tx, r.at_us);
  for (std::size_t i = 0; i < rows.activity.size(); i += rows_per_statement_max) {
    std::string sql = "INSERT INTO activity_log (at, seq, idx, owner, action, principal, subject_id, details) VALUES ";
    for (std::size_t j = i; j < rows.activity.size() && j < i + rows_per_statement_max; ++j) {
      const auto& r = rows.activity[j];
      sql += (j == i ? "(" : ",(") + ts(tx, r.at_us) + "," + std::to_string(r.seq) + "," + std::to_string(r.idx) + "," +
             owner_expr(tx, r) + "," + tx.quote(r.action) + "," + tx.quote(clean(r.principal)) + "," +
             id_or_null(r.subject_id) + "," + tx.quote(r.details) + "::jsonb)";
    }
    tx.exec(sql);
  }
}

// --- queries -----------------------------------------------------------------

namespace {

using read_snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

std::string time_col(const char* col) {
  return std::string("(extract(epoch from ") + col + ") * 1000000)::bigint";
}

void time_field(json_out& j, const char* key, const pqxx::field& f) {
  if (f.is_null()) j.key(key).null();
  else j.field(key, format_rfc3339_us(f.as<std::int64_t>()));
}

void id_field(json_out& j, const char* key, const pqxx::field& f) {
  if (f.is_null()) j.key(key).null();
  else j.field(key, f.as<std::uint64_t>());
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && out > 0 &&
         out <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

void write_request(json_out& j, const pqxx::row& r, const private_text_writer& reveal) {
  auto text = [&](std::string_view field, std::string_view author, const pqxx::field& f) {
    if (reveal) reveal(j, field, author, f.c_str());
    else j.field(field, f.c_str());
  };
  j.begin_object()
      .field("id", r[0].as<std::uint64_t>())
      .field("requester", r[1].c_str())
      .field("wallet_id", r[2].as<std::uint64_t>())
      .field("payer", r[3].c_str())
      .field("asset", r[4].c_str())
      .field("amount", r[5].c_str());
  text("note", r[1].c_str(), r[6]);
  j.field("status", r[7].c_str());
  time_field(j, "expires_at", r[8]);
  time_field(j, "created_at", r[9]);
  time_field(j, "closed_at", r[10]);
  id_field(j, "transaction_id", r[11]);
  id_field(j, "payer_wallet_id", r[12]);
  // A declined request's reason is the payer's; any other, the requester's.
  if (r[13].is_null()) j.key("reason").null();
  else text("reason", std::string_view(r[7].c_str()) == "declined" ? r[3].c_str() : r[1].c_str(), r[13]);
  j.end_object();
}

}  // namespace

status list_payment_requests(pqxx::connection& c, const std::string& owner, const std::string& role,
                             const std::string& status_filter, const std::string& cursor, int limit,
                             std::string& out_json, const private_text_writer& reveal) {
  out_json.clear();
  if (role != "requester" && role != "payer") return status::invalid_argument("role must be requester or payer");
  if (!status_filter.empty() && status_filter != "pending" && status_filter != "paid" && status_filter != "declined" &&
      status_filter != "expired" && status_filter != "cancelled")
    return status::invalid_argument("status must be one of pending, paid, declined, expired, cancelled");
  if (limit < 1 || limit > payment_request_page_max)
    return status::invalid_argument("limit must be 1 to " + std::to_string(payment_request_page_max));
  std::uint64_t below = 0;
  if (!cursor.empty() && !parse_u64(cursor, below)) return status::invalid_argument("cursor must be a request id");
  if (owner.empty() || owner.size() > owner_bytes_max) return status::invalid_argument("owner must be 1 to 128 bytes");
  std::string sql = "SELECT request_id, requester, wallet_id, payer, asset, amount::text, note, status, " +
                    time_col("expires_at") + ", " + time_col("created_at") + ", " + time_col("closed_at") +
                    ", transaction_id, payer_wallet_id, reason FROM payment_requests WHERE " + role +
                    " = $1 AND ($2 = '' OR status = $2) AND ($3 = 0 OR request_id < $3) ORDER BY request_id DESC LIMIT " +
                    std::to_string(limit + 1);
  try {
    read_snapshot tx(c);
    auto r = tx.exec_params(sql, owner, status_filter, static_cast<std::int64_t>(below));
    tx.commit();
    json_out j;
    j.begin_object().key("payment_requests").begin_array();
    std::size_t shown = std::min<std::size_t>(r.size(), static_cast<std::size_t>(limit));
    for (std::size_t i = 0; i < shown; ++i) write_request(j, r[static_cast<pqxx::result::size_type>(i)], reveal);
    j.end_array();
    if (r.size() > shown) j.field("next_cursor", std::to_string(r[static_cast<pqxx::result::size_type>(shown - 1)][0].as<std::uint64_t>()));
    out_json = j.end_object().take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("list_payment_requests");
  }
}

namespace {

// "seq.idx" of the last row shown.
bool parse_activity_cursor(const std::string& s, std::uint64_t& seq, std::uint64_t& idx) {
  auto dot = s.find('.');
  if (dot == std::string::npos) return false;
  return parse_u64(std::string_view(s).substr(0, dot), seq) && parse_u64(std::string_view(s).substr(dot + 1), idx);
}

status time_bound(const char* field, const std::string& s, std::int64_t fallback, std::int64_t& out) {
  if (s.empty()) return out = fallback, status::ok();
  auto us = parse_rfc3339_us(s);
  if (!us) return status::invalid_argument(std::string(field) + " must be an RFC 3339 date-time such as 2026-01-01T10:00:00Z");
  out = *us;
  return status::ok();
}

}  // namespace

status list_activity(pqxx::connection& c, const std::string& owner, const std::string& from, const std::string& to,
                     const std::string& cursor, int limit, std::string& out_json) {
  out_json.clear();
  std::int64_t from_us = 0, to_us = 0;
  if (auto s = time_bound("from", from, 0, from_us); !s) return s;
  if (auto s = time_bound("to", to, 253402300799LL * us_per_s, to_us); !s) return s;
  if (from_us >= to_us) return status::invalid_argument("from must be before to");
  if (limit < 1 || limit > activity_page_max) return status::invalid_argument("limit must be 1 to " + std::to_string(activity_page_max));
  std::uint64_t seq = 0, idx = 0;
  if (!cursor.empty() && !parse_activity_cursor(cursor, seq, idx)) return status::invalid_argument("cursor must be seq.idx from next_cursor");
  if (owner.size() > owner_bytes_max) return status::invalid_argument("owner must be at most 128 bytes");
  std::string sql = "SELECT " + time_col("at") + ", seq, idx, owner, action, principal, subject_id, details::text "
                    "FROM activity_log WHERE at >= $1::timestamptz AND at < $2::timestamptz AND ($3 = '' OR owner = $3) "
                    "AND (seq, idx) > ($4::bigint, $5::integer) ORDER BY seq, idx LIMIT " + std::to_string(limit + 1);
  try {
    read_snapshot tx(c);
    auto r = tx.exec_params(sql, format_rfc3339_us(from_us), format_rfc3339_us(to_us), owner,
                            static_cast<std::int64_t>(seq), static_cast<int>(idx));
    tx.commit();
    json_out j;
    j.begin_object().key("activity").begin_array();
    std::size_t shown = std::min<std::size_t>(r.size(), static_cast<std::size_t>(limit));
    for (std::size_t i = 0; i < shown; ++i) {
      const auto& row = r[static_cast<pqxx::result::size_type>(i)];
      j.begin_object();
      time_field(j, "at", row[0]);
      j.field("seq", row[1].as<std::uint64_t>()).field("action", row[4].c_str());
      if (row[3].is_null()) j.key("owner").null();
      else j.field("owner", row[3].c_str());
      j.field("principal", row[5].c_str());
      id_field(j, "subject_id", row[6]);
      j.key("details").raw(row[7].c_str()).end_object();
    }
    j.end_array();
    if (r.size() > shown) {
      const auto& last = r[static_cast<pqxx::result::size_type>(shown - 1)];
      j.field("next_cursor", std::string(last[1].c_str()) + "." + last[2].c_str());
    }
    out_json = j.end_object().take();
    return status::ok();
  } catch (...) {
    return status_from_current_exception("list_activity");
  }
}

}  // namespace ledger::projections
