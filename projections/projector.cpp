#include "projections/projector.h"
#include "projections/activity.h"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "base/json_out.h"
#include "engine/chain.h"
#include "projections/migrations.h"
#include "projections/pg_text.h"

namespace ledger::projections {

namespace {

constexpr std::size_t values_per_statement_max = 1000;
// How long refused sign-ins stay in wallet_auth_failures, behind the newest
// (schemas/sql/0006_wallet_auth_failures.sql).
constexpr std::int64_t auth_failures_retention_us = 30LL * 86400 * 1000000;

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}


// COPY text format: backslash, tab, newline and carriage return escaped.
void copy_escape(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

// One COPY line, field by field.
class line {
 public:
  line& text(std::string_view s) { sep(); copy_escape(out_, s); return *this; }
  line& opt(std::string_view s) { return s.empty() ? null() : text(s); }
  line& num(std::uint64_t v) { sep(); out_ += std::to_string(v); return *this; }
  line& inum(std::int64_t v) { sep(); out_ += std::to_string(v); return *this; }
  line& opt_num(std::uint64_t v) { return v == 0 ? null() : num(v); }
  line& boolean(bool v) { sep(); out_ += v ? "t" : "f"; return *this; }
  line& null() { sep(); out_ += "\\N"; return *this; }
  std::string take() { return std::move(out_); }

 private:
  void sep() {
    if (!first_) out_ += '\t';
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
};

std::string timestamp(std::int64_t us) {
  std::int64_t secs = us / 1'000'000;
  std::int64_t frac = us % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(frac));
  return buf;
}

std::string day_of(std::int64_t us) { return timestamp(us).substr(0, 10); }

std::string hex_bytea(const hash256& h) { return "\\x" + to_hex(h); }

// bytea input ("\x0a1b...") for any bytes.
std::string hex_bytes(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// An event the projector cannot turn into rows (an unknown asset, a body it
// cannot decode): the batch fails, and the event is parked if it keeps failing.
struct unprojectable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct raw_field {
  std::uint64_t seq;
  std::string field;
  std::string bytes;
};

struct balance_row {
  bool is_system = false;
  bool opened = false;  // opened in this batch: the row carries its limits
  std::string posted = "0", held = "0", incoming = "0";
  std::string overdraft = "0", daily_limit;
  std::uint64_t seq = 0;
  std::int64_t at = 0;
};

struct daily_row {
  amount_t debits = 0, credits = 0;
  int postings = 0;
  std::string asset;
};

struct status_update {
  std::uint64_t id;
  std::string status;
  std::string posted;  // holds only
  std::uint64_t seq;
  std::int64_t at;
};

// COPY with lines this file escaped itself. libpqxx 6.4 keeps raw lines
// private in stream_to; tablewriter still offers them (deprecated there).
void copy_lines(pqxx::work& tx, const char* table, const std::vector<std::string>& cols,
                const std::vector<std::string>& lines) {
  if (lines.empty()) return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter w(tx, table, cols.begin(), cols.end());
#pragma GCC diagnostic pop
  for (const auto& l : lines) w.write_raw_line(l);
  w.complete();
}

// Per-connection staging tables for the set-based merges of balances and
// daily totals: COPY in, then one UPDATE and one INSERT each, instead of
// wide VALUES lists that PostgreSQL must parse and plan per 1,000 rows.
// Temporary, emptied at every commit or rollback: nothing outlives a batch.
constexpr const char* staging_sql =
    "CREATE TEMP TABLE IF NOT EXISTS stage_balances (wallet_id bigint, asset text, is_system boolean, "
    "posted numeric, held numeric, incoming numeric, overdraft_limit numeric, daily_debit_limit numeric, "
    "seq bigint, at timestamptz) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS stage_daily (day date, wallet_id bigint, asset text, debits numeric, "
    "credits numeric, postings integer) ON COMMIT DELETE ROWS";

// What building one event's rows shares between its effects.
struct event_scope {
  const event& e;
  std::string at;
  command_body body;
  bool have_body = false;
  std::uint64_t tx_id = 0;
  const pending_closed* closed = nullptr;
  // A transaction with a status opened or moved by this event.
  const money_tx_opened* money_opened = nullptr;
  const money_tx_changed* money_change = nullptr;
  amount_t first_credit = 0;  // of the first posted credit leg
  int leg = 0;
  // Of the posted legs, for captures and settlements.
  std::uint64_t debit_account = 0, credit_account = 0;
  std::string leg_asset;
};

// Everything one batch writes, built in memory before the transaction opens.
struct batch_rows {
  std::vector<std::string> assets, wallets, holds, transactions, postings, audit, raw, sessions, connections;
  std::vector<std::string> auth_failures;
  // Documents (schemas/sql/0007_documents.sql): new rows, deletions (id, seq, at), group member sets.
  std::vector<std::string> documents;
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::int64_t>> document_deletes;
  std::vector<std::pair<group_members_set, std::uint64_t>> group_sets;  // copies: events go before the write
  std::int64_t auth_failure_at_max = 0;  // log time of the newest auth failure in the batch
  // Later changes to session and connection rows: (id or "chain address", status or "", seq, at).
  std::vector<status_update> session_closes;
  std::vector<std::tuple<std::string, std::string, std::uint64_t, std::int64_t>> disconnects;
  std::set<std::pair<std::uint64_t, std::string>> raw_keys;
  std::vector<std::pair<std::uint64_t, std::pair<std::string, std::uint64_t>>> wallet_status;  // id -> (status, seq)
  std::vector<status_update> hold_updates, tx_updates;
  std::map<std::uint64_t, std::size_t> tx_update_at;  // id -> its entry in tx_updates (the last status wins)
  std::vector<std::pair<std::uint64_t, std::string>> descriptions;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> reversals;  // reversal id -> original id
  std::map<std::pair<std::uint64_t, std::string>, balance_row> balances;
  std::map<std::tuple<std::string, std::uint64_t, std::string>, daily_row> daily;
  activity_rows activity;  // payment requests and the activity log (projections/activity.h)
  std::set<std::string> months;  // "YYYY-MM" of every event: the money history partitions it writes into
};

// Several status changes of one row in a batch: the last one wins (one
// VALUES row per id, so the UPDATE is not ambiguous).
void update_tx(batch_rows& rows, status_update u) {
  auto [it, fresh] = rows.tx_update_at.emplace(u.id, rows.tx_updates.size());
  if (fresh) rows.tx_updates.push_back(std::move(u));
  else rows.tx_updates[it->second] = std::move(u);
}

}  // namespace

struct projector::impl {
  std::unique_ptr<pqxx::connection> conn;
  // The second writer when write_connections is 2 (postings and audit_log).
  std::unique_ptr<pqxx::connection> side;
  std::uint64_t last_seq = 0;
  hash256 genesis{};  // the source's predecessor of seq 1
  hash256 last_chain{};
  std::int64_t last_ts = 0;
  std::unordered_map<std::string, int> scales;
  std::set<std::uint64_t> system_accounts;

  // Failure isolation: while last_seq < isolate_until, batches hold one
  // event, so a failing event is found; failing_seq failed failing_attempts
  // times in a row.
  std::uint64_t isolate_until = 0;
  std::uint64_t failing_seq = 0;
  int failing_attempts = 0;
  std::uint64_t batch_end = 0;  // last seq of the batch being written

  std::string amount(amount_t v, const std::string& asset) {
    auto it = scales.find(asset);
    // Possible only if the event registering the asset was parked.
    if (it == scales.end()) throw unprojectable("asset " + asset + " is not in the read models");
    return format_amount(v, it->second);
  }
  // `s` as a column can hold it; the exact bytes to event_raw_fields otherwise.
  std::string safe_text(std::string_view s, std::uint64_t seq, const char* field, batch_rows& rows) {
    bool exact = true;
    std::string out = pg_text(s, exact);
    if (!exact) keep_raw(s, seq, field, rows);
    return out;
  }
  std::string safe_json(std::string_view s, std::uint64_t seq, const char* field, batch_rows& rows) {
    bool exact = true;
    std::string out = pg_json(s, exact);
    if (!exact) keep_raw(s, seq, field, rows);
    return out;
  }
  void keep_raw(std::string_view s, std::uint64_t seq, const char* field, batch_rows& rows) {
    if (!rows.raw_keys.insert({seq, field}).second) return;
    rows.raw.push_back(line().num(seq).text(field).text(hex_bytes(s)).take());
  }

  status connect(const projector_options& o);
  status build(const event& e, const journal_entry& je, batch_rows& rows);
  void build_effect(event_scope& x, const effect& fx, batch_rows& rows);
  void build_balance(event_scope& x, const balance_changed& b, batch_rows& rows);
  void build_pending(event_scope& x, const pending_opened& p, batch_rows& rows);
  void build_session_effect(event_scope& x, const effect& fx, batch_rows& rows);
  void build_document_effect(event_scope& x, const effect& fx, batch_rows& rows);
  void write_documents(pqxx::work& tx, const batch_rows& rows);
  void build_transaction(event_scope& x, const transaction_recorded& t, batch_rows& rows);
  void build_money_tx(event_scope& x, const money_tx_opened& m, batch_rows& rows);
  void build_completion(event_scope& x, const transaction_recorded& t, batch_rows& rows);
  void request_transfer(event_scope& x, line& l);
  const quote_used& exchange_columns(event_scope& x, line& l);
  std::string reversal_columns(event_scope& x, const transaction_recorded& t, line& l, batch_rows& rows);
  std::string exchange_metadata(const quote_used& q);
  void write(pqxx::work& tx, batch_rows& rows, const projector_options& o);
  void write_history(pqxx::work& tx, const batch_rows& rows);
  void write_batch(pqxx::work& tx, batch_rows& rows, const projector_options& o, std::uint64_t last);
  void write_balances(pqxx::work& tx, batch_rows& rows);
  void write_updates(pqxx::work& tx, batch_rows& rows);
};

long long projection_lock_key(const std::string& schema) {
  // FNV-1a of the schema name, in a range of its own.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : schema) h = (h ^ c) * 1099511628211ull;
  return static_cast<long long>((h & 0x0000ffffffffffffull) | 0x6c70000000000000ull);
}

// The session settings of every connection that writes batches.
void prepare_writer(pqxx::connection& c, const std::string& schema) {
  pqxx::nontransaction n(c);
  n.exec("SET search_path TO " + c.quote_name(schema));
  // The checkpoint commits with (or after) the rows it describes, so a
  // commit lost in a database crash is simply projected again: no need to
  // wait for the database's WAL flush on every batch.
  n.exec("SET synchronous_commit = off");
}

status projector::impl::connect(const projector_options& o) {
  side.reset();
  conn = std::make_unique<pqxx::connection>(o.conninfo);
  prepare_writer(*conn, o.schema);
  if (o.write_connections > 1) {
    side = std::make_unique<pqxx::connection>(o.conninfo);
    prepare_writer(*side, o.schema);
  }
  if (o.migrate_on_connect) {
    migrate_result mr;
    if (auto s = migrate(*conn, o.schema, mr); !s) return s;
  }
  {
    pqxx::nontransaction n(*conn);
    n.exec(staging_sql);
  }
  pqxx::read_transaction tx(*conn);
  auto r = tx.exec_params("SELECT last_seq, chain_hash, coalesce(extract(epoch from last_at) * 1000000, 0)::bigint "
                          "FROM projection_checkpoints WHERE projection = $1",
                          o.name);
  last_seq = 0;
  last_chain = genesis;
  last_ts = 0;
  if (!r.empty()) {
    last_seq = r[0][0].as<std::uint64_t>();
    pqxx::binarystring chain(r[0][1]);
    if (chain.size() != 32) return status::corruption("checkpoint chain hash is not 32 bytes");
    std::copy(chain.data(), chain.data() + 32, last_chain.begin());
    last_ts = r[0][2].as<std::int64_t>();
  }
  scales.clear();
  for (const auto& row : tx.exec("SELECT code, scale FROM assets")) scales[row[0].c_str()] = row[1].as<int>();
  system_accounts.clear();
  for (const auto& row : tx.exec("SELECT wallet_id FROM wallets WHERE kind = 'system'"))
    system_accounts.insert(row[0].as<std::uint64_t>());
  return status::ok();
}

status projector::impl::build(const event& e, const journal_entry& je, batch_rows& rows) {
  event_scope x{e, timestamp(e.log_ts_us)};
  rows.months.insert(x.at.substr(0, 7));
  rows.audit.push_back(line()
                           .num(e.seq)
                           .text(x.at)
                           .text(to_string(event_command_type(e)))
                           .text(e.status == event_status::accepted ? "accepted" : "rejected")
                           .opt(e.reason == reason::none ? std::string_view{} : to_string(e.reason))
                           .opt(safe_text(e.detail, e.seq, "audit_log.detail", rows))
                           .text(safe_text(e.principal, e.seq, "audit_log.principal", rows))
                           .text(safe_text(e.idempotency_key, e.seq, "audit_log.idempotency_key", rows))
                           .text(safe_text(e.request_id, e.seq, "audit_log.request_id", rows))
                           .text(hex_bytea(je.chain))
                           .take());
  if (e.status != event_status::accepted) return status::ok();
  x.have_body = !e.body.empty() && decode_body(e.body, x.body).is_ok();
  // The transaction (or hold) the event's legs belong to.
  for (const auto& fx : e.effects) {
    if (auto* t = std::get_if<transaction_recorded>(&fx)) x.tx_id = t->id;
    if (auto* p = std::get_if<pending_opened>(&fx); p && !x.tx_id) x.tx_id = p->id;
    if (auto* c = std::get_if<pending_closed>(&fx)) x.closed = c;
    if (auto* m = std::get_if<money_tx_opened>(&fx)) x.money_opened = m;
    if (auto* m = std::get_if<money_tx_changed>(&fx)) x.money_change = m;
  }
  if (!x.tx_id && x.closed) x.tx_id = x.closed->id;
  // Holds and releases of a payment or refund belong to it.
  if (!x.tx_id && x.money_opened) x.tx_id = x.money_opened->id;
  if (!x.tx_id && x.money_change) x.tx_id = x.money_change->id;
  for (const auto& fx : e.effects) build_effect(x, fx, rows);
  for (const auto& fx : e.effects)
    if (auto* t = std::get_if<transaction_recorded>(&fx)) build_transaction(x, *t, rows);
  build_activity(e, [this](amount_t v, const std::string& asset) { return amount(v, asset); }, rows.activity);
  return status::ok();
}

void projector::impl::build_effect(event_scope& x, const effect& fx, batch_rows& rows) {
  const event& e = x.e;
  if (auto* a = std::get_if<asset_registered>(&fx)) {
    scales[a->code] = a->scale;
    rows.assets.push_back(line()
                              .text(a->code)
                              .num(a->scale)
                              .text(format_amount(a->min_amount, a->scale))
                              .text(format_amount(a->max_amount, a->scale))
                              .num(e.seq)
                              .text(x.at)
                              .take());
  } else if (auto* o = std::get_if<account_opened>(&fx)) {
    bool sys = o->kind == account_kind::system;
    if (sys) system_accounts.insert(o->id);
    rows.wallets.push_back(line()
                               .num(o->id)
                               .text(sys ? "system" : "user")
                               .text(safe_text(o->owner, e.seq, "wallets.owner", rows))
                               .text("active")
                               .num(e.seq)
                               .text(x.at)
                               .num(e.seq)
                               .take());
    for (const auto& wa : o->assets) {
      auto& b = rows.balances[{o->id, wa.asset}];
      b.opened = true;
      b.posted = b.held = b.incoming = amount(0, wa.asset);
      b.overdraft = amount(wa.overdraft_limit, wa.asset);
      if (wa.daily_debit_limit > 0) b.daily_limit = amount(wa.daily_debit_limit, wa.asset);
      b.seq = e.seq;
      b.at = e.log_ts_us;
    }
  } else if (auto* s = std::get_if<account_status_changed>(&fx)) {
    rows.wallet_status.push_back({s->id, {std::string(to_string(s->to)), e.seq}});
  } else if (auto* b = std::get_if<balance_changed>(&fx)) {
    build_balance(x, *b, rows);
  } else if (auto* p = std::get_if<pending_opened>(&fx)) {
    build_pending(x, *p, rows);
  } else if (auto* c = std::get_if<pending_closed>(&fx)) {
    std::string st(to_string(c->resolution));
    rows.hold_updates.push_back({c->id, st, {}, e.seq, e.log_ts_us});
    // A cancelled withdrawal closes its pending as failed; the row says cancelled.
    if (x.money_change && x.money_change->to == money_status::cancelled) st = "cancelled";
    update_tx(rows, {c->id, st, {}, e.seq, e.log_ts_us});
  } else if (auto* m = std::get_if<money_tx_opened>(&fx)) {
    build_money_tx(x, *m, rows);
  } else if (auto* mc = std::get_if<money_tx_changed>(&fx)) {
    // A withdrawal's settlement and failure are its pending's resolution.
    bool by_pending = mc->kind == money_kind::withdrawal && mc->to != money_status::processing;
    if (!by_pending) update_tx(rows, {mc->id, std::string(to_string(mc->to)), {}, e.seq, e.log_ts_us});
  } else {
    build_session_effect(x, fx, rows);
    build_document_effect(x, fx, rows);
  }
}

// Documents and group members (schemas/sql/0007_documents.sql).
void projector::impl::build_document_effect(event_scope& x, const effect& fx, batch_rows& rows) {
  const event& e = x.e;
  if (auto* u = std::get_if<document_uploaded>(&fx)) {
    rows.documents.push_back(line()
                                 .num(u->id)
                                 .text(safe_text(u->owner, e.seq, "documents.owner", rows))
                                 .opt_num(u->group)
                                 .text(to_string(u->category))
                                 .text(u->file_name)
                                 .text(safe_text(u->media_type, e.seq, "documents.media_type", rows))
                                 .num(u->size_bytes)
                                 .text(u->content_sha256)
                                 .text(u->thumbnail_blob_id.empty() ? "f" : "t")
                                 .text(safe_text(u->key_id, e.seq, "documents.key_id", rows))
                                 .text(x.at)
                                 .take());
  } else if (auto* d = std::get_if<document_deleted>(&fx)) {
    rows.document_deletes.emplace_back(d->id, e.seq, e.log_ts_us);
  } else if (auto* g = std::get_if<group_members_set>(&fx)) {
    rows.group_sets.emplace_back(*g, e.seq);
  }
}

// After the COPY of new rows: deletions and membership changes, in event order.
void projector::impl::write_documents(pqxx::work& tx, const batch_rows& rows) {
  for (const auto& [id, seq, at] : rows.document_deletes)
    tx.exec("UPDATE documents SET deleted_seq = " + std::to_string(seq) + ", deleted_at = " + tx.quote(timestamp(at)) +
            "::timestamptz WHERE document_id = " + std::to_string(id));
  for (const auto& [g, seq] : rows.group_sets) {
    tx.exec("DELETE FROM document_group_members WHERE group_id = " + std::to_string(g.group));
    for (const auto& m : g.members) {
      bool exact = true;  // members are principals; a byte PostgreSQL refuses is replaced
      tx.exec("INSERT INTO document_group_members (group_id, member, set_seq) VALUES (" + std::to_string(g.group) + ", " +
              tx.quote(pg_text(m, exact)) + ", " + std::to_string(seq) + ") ON CONFLICT DO NOTHING");
    }
  }
}

// Wallet sessions and connections (schemas/sql/0003_wallet_sessions.sql).
void projector::impl::build_session_effect(event_scope& x, const effect& fx, batch_rows& rows) {
  const event& e = x.e;
  if (auto* o = std::get_if<session_opened>(&fx)) {
    rows.sessions.push_back(line()
                                .num(o->id)
                                .text(safe_text(o->owner, e.seq, "wallet_sessions.owner", rows))
                                .text(to_string(o->chain))
                                .text(safe_text(o->network, e.seq, "wallet_sessions.network", rows))
                                .text(safe_text(o->address, e.seq, "wallet_sessions.address", rows))
                                .text("active")
                                .text(x.at)
                                .text(timestamp(o->expires_at_us))
                                .take());
  } else if (auto* c = std::get_if<session_closed>(&fx)) {
    rows.session_closes.push_back({c->id, std::string(to_string(c->resolution)), {}, e.seq, e.log_ts_us});
  } else if (auto* w = std::get_if<wallet_connected>(&fx)) {
    rows.connections.push_back(line()
                                   .text(to_string(w->chain))
                                   .text(safe_text(w->address, e.seq, "wallet_connections.address", rows))
                                   .text(safe_text(w->owner, e.seq, "wallet_connections.owner", rows))
                                   .num(e.seq)
                                   .text(x.at)
                                   .take());
  } else if (auto* d = std::get_if<wallet_disconnected>(&fx)) {
    rows.disconnects.emplace_back(std::string(to_string(d->chain)), d->address, e.seq, e.log_ts_us);
  } else if (auto* f = std::get_if<auth_failed>(&fx)) {
    rows.auth_failures.push_back(line()
                                     .num(e.seq)
                                     .text(x.at)
                                     .text(to_string(f->chain))
                                     .text(safe_text(f->network, e.seq, "wallet_auth_failures.network", rows))
                                     .text(safe_text(f->address, e.seq, "wallet_auth_failures.address", rows))
                                     .text(safe_text(f->client, e.seq, "wallet_auth_failures.client", rows))
                                     .text(safe_text(f->check, e.seq, "wallet_auth_failures.reason", rows))
                                     .take());
    rows.auth_failure_at_max = std::max(rows.auth_failure_at_max, e.log_ts_us);
  }
}

void projector::impl::build_balance(event_scope& x, const balance_changed& b, batch_rows& rows) {
  const event& e = x.e;
  amount_t posted = b.d_credits_posted - b.d_debits_posted;
  amount_t pending = b.d_credits_pending - b.d_debits_pending;
  std::string posted_after = amount(b.posted_after, b.asset);
  std::string held_after = amount(b.debits_pending_after, b.asset);
  std::string incoming_after = amount(b.credits_pending_after, b.asset);
  for (auto [kind, amt] : {std::pair{"posted", posted}, std::pair{"pending", pending}}) {
    if (amt == 0) continue;
    rows.postings.push_back(line()
                                .num(e.seq)
                                .num(static_cast<std::uint64_t>(x.leg++))
                                .opt_num(x.tx_id)
                                .num(b.account)
                                .text(b.asset)
                                .text(kind)
                                .text(amount(amt, b.asset))
                                .text(posted_after)
                                .text(held_after)
                                .text(incoming_after)
                                .text(x.at)
                                .take());
  }
  auto& bal = rows.balances[{b.account, b.asset}];
  bal.is_system = system_accounts.count(b.account) > 0;
  bal.posted = std::move(posted_after);
  bal.held = std::move(held_after);
  bal.incoming = std::move(incoming_after);
  bal.seq = e.seq;
  bal.at = e.log_ts_us;
  if (b.d_debits_posted != 0 || b.d_credits_posted != 0) {
    auto& d = rows.daily[{day_of(e.log_ts_us), b.account, b.asset}];
    d.asset = b.asset;
    d.debits += b.d_debits_posted;
    d.credits += b.d_credits_posted;
    d.postings++;
    if (b.d_debits_posted > 0) x.debit_account = b.account;
    if (b.d_credits_posted > 0 && !x.credit_account) {
      x.credit_account = b.account;
      x.first_credit = b.d_credits_posted;
    }
    x.leg_asset = b.asset;
  }
}

void projector::impl::build_pending(event_scope& x, const pending_opened& p, batch_rows& rows) {
  const event& e = x.e;
  bool hold = p.kind == pending_kind::hold;
  std::string zero = amount(0, p.asset);
  line h;
  h.num(p.id).text(hold ? "hold" : "withdrawal").num(p.debit_account).num(p.credit_account).text(p.asset).text(
      amount(p.amount, p.asset));
  if (p.expires_at_us > 0) h.text(timestamp(p.expires_at_us)); else h.null();
  h.text("open").text(zero).text(x.at).null().null();
  rows.holds.push_back(h.take());
  std::string reference, metadata;
  if (auto* c = x.have_body ? std::get_if<hold_cmd>(&x.body) : nullptr) reference = c->reference, metadata = c->metadata;
  if (auto* c = x.have_body ? std::get_if<withdraw_cmd>(&x.body) : nullptr) reference = c->reference, metadata = c->metadata;
  rows.transactions.push_back(line()
                                  .num(p.id)
                                  .text(hold ? "hold" : "withdrawal")
                                  .text("pending")
                                  .text(p.asset)
                                  .text(amount(p.amount, p.asset))
                                  .text(zero)
                                  .num(p.debit_account)
                                  .num(p.credit_account)
                                  .null()
                                  .opt(safe_text(reference, e.seq, "transactions.reference", rows))
                                  .opt(safe_json(metadata, e.seq, "transactions.metadata", rows))
                                  .null()
                                  .null()
                                  .text(safe_text(e.principal, e.seq, "transactions.principal", rows))
                                  .opt(safe_text(e.request_id, e.seq, "transactions.request_id", rows))
                                  .text(x.at)
                                  .num(e.seq)
                                  .text(x.at)
                                  .take());
}

// A deposit, payment or refund with a status is one row from its opening;
// a withdrawal's row comes from its pending (build_pending).
void projector::impl::build_money_tx(event_scope& x, const money_tx_opened& m, batch_rows& rows) {
  if (m.kind == money_kind::withdrawal) {
    if (!m.description.empty()) rows.descriptions.push_back({m.id, m.description});
    return;
  }
  const event& e = x.e;
  rows.transactions.push_back(line()
                                  .num(m.id)
                                  .text(to_string(m.kind))
                                  .text(to_string(m.status))
                                  .text(m.asset)
                                  .text(amount(m.amount, m.asset))
                                  .text(amount(m.fee, m.asset))
                                  .num(m.debit_account)
                                  .num(m.credit_account)
                                  .opt(safe_text(m.provider, e.seq, "transactions.provider", rows))
                                  .opt(safe_text(m.reference, e.seq, "transactions.reference", rows))
                                  .opt(safe_json(m.metadata, e.seq, "transactions.metadata", rows))
                                  .opt_num(m.refund_of)
                                  .null()
                                  .text(safe_text(e.principal, e.seq, "transactions.principal", rows))
                                  .opt(safe_text(e.request_id, e.seq, "transactions.request_id", rows))
                                  .text(x.at)
                                  .num(e.seq)
                                  .text(x.at)
                                  .take());
  if (!m.description.empty())
    rows.descriptions.push_back({m.id, safe_text(m.description, e.seq, "transactions.description", rows)});
}

// The completion of a pending deposit, payment or refund: a settlement of
// the transaction it completed, like a withdrawal's.
void projector::impl::build_completion(event_scope& x, const transaction_recorded& t, batch_rows& rows) {
  const event& e = x.e;
  rows.transactions.push_back(line()
                                  .num(t.id)
                                  .text("settlement")
                                  .text("completed")
                                  .text(x.leg_asset)
                                  .text(amount(x.first_credit, x.leg_asset))
                                  .text(amount(0, x.leg_asset))
                                  .num(x.debit_account)
                                  .num(x.credit_account)
                                  .null()
                                  .null()
                                  .null()
                                  .num(x.money_change->id)
                                  .null()
                                  .text(safe_text(e.principal, e.seq, "transactions.principal", rows))
                                  .opt(safe_text(e.request_id, e.seq, "transactions.request_id", rows))
                                  .text(x.at)
                                  .num(e.seq)
                                  .text(x.at)
                                  .take());
}

// A paid payment request (projections/activity.h): a transfer whose parties
// and amounts are its legs (the payer's debit is amount + fee); its
// related_id is the request.
// A reversal's row: asset, amount, fee and parties are copied from the
// original after the COPY (it may be in this very batch). Returns the
// reason, which takes the reference's column.
std::string projector::impl::reversal_columns(event_scope& x, const transaction_recorded& t, line& l, batch_rows& rows) {
  std::string reason_text;
  if (auto* c = x.have_body ? std::get_if<reverse_cmd>(&x.body) : nullptr) reason_text = c->reason;
  l.text("reversal").text("completed").text(x.leg_asset).text("0").text("0").null().null().null();
  rows.reversals.push_back({t.id, t.reverses});
  return reason_text;
}

// An exchange's row is in the asset it paid (from_asset); the other side is
// in its metadata and its postings. Fills the columns up to the provider.
const quote_used& projector::impl::exchange_columns(event_scope& x, line& l) {
  const quote_used* q = nullptr;
  for (const auto& fx : x.e.effects)
    if (auto* u = std::get_if<quote_used>(&fx)) q = u;
  if (!q) throw unprojectable("an exchange without its quote");
  l.text("exchange").text("completed").text(q->from_asset).text(amount(q->from_amount, q->from_asset));
  l.text(amount(q->fee, q->from_asset)).num(q->wallet).num(q->to_wallet).null();
  return *q;
}

std::string projector::impl::exchange_metadata(const quote_used& q) {
  json_out meta;
  meta.begin_object()
      .field("quote_id", q.id)
      .field("to_asset", q.to_asset)
      .field("to_amount", amount(q.to_amount, q.to_asset))
      .field("rate", format_amount(q.rate_e18, rate_scale))
      .end_object();
  return meta.take();
}

void projector::impl::request_transfer(event_scope& x, line& l) {
  amount_t debited = 0;
  for (const auto& fx : x.e.effects)
    if (auto* b = std::get_if<balance_changed>(&fx); b && b->account == x.debit_account) debited = b->d_debits_posted;
  l.text("transfer").text("completed").text(x.leg_asset).text(amount(x.first_credit, x.leg_asset));
  l.text(amount(debited - x.first_credit, x.leg_asset)).num(x.debit_account).num(x.credit_account).null();
}

void projector::impl::build_transaction(event_scope& x, const transaction_recorded& t, batch_rows& rows) {
  const event& e = x.e;
  if (x.money_opened && x.money_opened->id == t.id) return;  // its row is the transaction's (build_money_tx)
  if (x.money_change && t.kind != tx_kind::withdrawal) return build_completion(x, t, rows);
  line l;
  l.num(t.id);
  auto tail = [&](std::uint64_t related, const std::string& reference, const std::string& metadata) {
    l.opt(safe_text(reference, e.seq, "transactions.reference", rows))
        .opt(safe_json(metadata, e.seq, "transactions.metadata", rows))
        .opt_num(related)
        .null()
        .text(safe_text(e.principal, e.seq, "transactions.principal", rows))
        .opt(safe_text(e.request_id, e.seq, "transactions.request_id", rows))
        .text(x.at)
        .num(e.seq)
        .text(x.at);
  };
  auto body = [&]<class C>() -> const C& {
    auto* c = x.have_body ? std::get_if<C>(&x.body) : nullptr;
    if (!c) throw unprojectable("a transaction event without its command body");
    return *c;
  };
  switch (t.kind) {
    case tx_kind::deposit: {
      const auto& c = body.operator()<deposit_cmd>();
      l.text("deposit").text("completed").text(c.asset).text(amount(c.amount, c.asset)).text(amount(0, c.asset));
      l.num(x.debit_account).num(c.wallet).text(safe_text(c.provider, e.seq, "transactions.provider", rows));
      tail(0, c.reference, c.metadata);
      break;
    }
    case tx_kind::transfer: {
      if (auto* pr = x.have_body ? std::get_if<pay_payment_request_cmd>(&x.body) : nullptr) {
        request_transfer(x, l);
        tail(pr->id, {}, {});
        break;
      }
      const auto& c = body.operator()<transfer_cmd>();
      l.text("transfer").text("completed").text(c.asset).text(amount(c.amount, c.asset)).text(amount(c.fee, c.asset));
      l.num(c.from).num(c.to).null();
      tail(0, c.reference, c.metadata);
      break;
    }
    case tx_kind::capture:
    case tx_kind::withdrawal: {
      if (!x.closed) throw unprojectable("a capture or settlement without its pending");
      bool cap = t.kind == tx_kind::capture;
      l.text(cap ? "capture" : "settlement").text("completed").text(x.leg_asset);
      l.text(amount(x.closed->posted_amount, x.leg_asset)).text(amount(0, x.leg_asset));
      l.num(x.debit_account).num(x.credit_account).null();
      tail(x.closed->id, {}, {});
      break;
    }
    case tx_kind::reversal:
      tail(t.reverses, reversal_columns(x, t, l, rows), {});
      break;
    case tx_kind::payment:
    case tx_kind::refund:
      throw unprojectable("a payment or refund posted without its transaction's status effect");
    case tx_kind::exchange: {
      const quote_used& q = exchange_columns(x, l);
      tail(q.id, {}, exchange_metadata(q));
      break;
    }
  }
  rows.transactions.push_back(l.take());
}

void projector::impl::write(pqxx::work& tx, batch_rows& rows, const projector_options& o) {
  // COPY with lines this file escaped itself. libpqxx 6.4 keeps raw lines
  // private in stream_to; tablewriter still offers them (deprecated there).
  auto copy = [&](const char* table, std::vector<std::string> cols, std::vector<std::string>& lines) {
    copy_lines(tx, table, cols, lines);
  };
  // Every money history table is partitioned by month (schemas/sql/0010):
  // each month of the batch gets its partitions before a row goes in.
  for (const auto& m : rows.months) tx.exec("SELECT ensure_money_partitions(" + tx.quote(m + "-01") + "::date)");
  copy("assets", {"code", "scale", "min_amount", "max_amount", "registered_seq", "registered_at"}, rows.assets);
  copy("wallets", {"wallet_id", "kind", "owner", "status", "opened_seq", "opened_at", "updated_seq"}, rows.wallets);
  copy("holds", {"hold_id", "kind", "wallet_id", "to_account_id", "asset", "amount", "expires_at", "status",
                 "posted_amount", "created_at", "resolved_seq", "resolved_at"},
       rows.holds);
  copy("transactions", {"transaction_id", "type", "status", "asset", "amount", "fee", "from_wallet_id", "to_wallet_id",
                        "provider", "reference", "metadata", "related_id", "reversed_by", "principal", "request_id",
                        "created_at", "updated_seq", "updated_at"},
       rows.transactions);
  if (!side) write_history(tx, rows);
  copy("event_raw_fields", {"seq", "field", "raw"}, rows.raw);
  copy("wallet_sessions", {"session_id", "owner", "chain", "network", "address", "status", "opened_at", "expires_at"},
       rows.sessions);
  copy("wallet_connections", {"chain", "address", "owner", "connected_seq", "connected_at"}, rows.connections);
  copy("wallet_auth_failures", {"seq", "at", "chain", "network", "address", "client", "reason"}, rows.auth_failures);
  copy("documents", {"document_id", "owner", "group_id", "category", "file_name_enc", "media_type", "size_bytes",
                     "content_sha256", "has_thumbnail", "key_id", "created_at"},
       rows.documents);
  write_documents(tx, rows);
  if (rows.auth_failure_at_max != 0) {
    // Retention by log time (deterministic, so a rebuild keeps the same rows).
    std::int64_t keep_from_us = rows.auth_failure_at_max - auth_failures_retention_us;
    tx.exec("DELETE FROM wallet_auth_failures WHERE at < " + tx.quote(timestamp(keep_from_us)) + "::timestamptz");
  }

  write_updates(tx, rows);
  write_balances(tx, rows);
  write_activity(tx, rows.activity);
  std::vector<std::string> lines;
  for (const auto& [k, d] : rows.daily)
    lines.push_back(line()
                        .text(std::get<0>(k))
                        .num(std::get<1>(k))
                        .text(std::get<2>(k))
                        .text(amount(d.debits, d.asset))
                        .text(amount(d.credits, d.asset))
                        .num(static_cast<std::uint64_t>(d.postings))
                        .take());
  if (!lines.empty()) {
    copy_lines(tx, "pg_temp.stage_daily", {"day", "wallet_id", "asset", "debits", "credits", "postings"}, lines);
    tx.exec("INSERT INTO daily_wallet_totals (day, wallet_id, asset, debits, credits, postings) "
            "SELECT day, wallet_id, asset, debits, credits, postings FROM pg_temp.stage_daily "
            "ON CONFLICT (day, wallet_id, asset) DO UPDATE SET debits = daily_wallet_totals.debits + EXCLUDED.debits, "
            "credits = daily_wallet_totals.credits + EXCLUDED.credits, "
            "postings = daily_wallet_totals.postings + EXCLUDED.postings");
  }
  (void)o;
}

// Postings and audit rows, on the second connection when there is one.
// Rows above the checkpoint can only be left by a crash or a failed batch
// between that connection's commit and the checkpoint's: deleted first, in
// the same transaction, so the batch's rows go in exactly once.
void projector::impl::write_history(pqxx::work& tx, const batch_rows& rows) {
  const std::string after = std::to_string(last_seq);
  tx.exec("DELETE FROM postings WHERE seq > " + after);
  tx.exec("DELETE FROM audit_log WHERE seq > " + after);
  copy_lines(tx, "postings",
             {"seq", "leg", "transaction_id", "wallet_id", "asset", "kind", "amount", "posted_after", "held_after",
              "incoming_after", "created_at"},
             rows.postings);
  copy_lines(tx, "audit_log",
             {"seq", "at", "command", "outcome", "reason", "detail", "principal", "idempotency_key", "request_id",
              "chain_hash"},
             rows.audit);
}

// Rows changed by later events: wallet statuses, resolved holds and
// withdrawals, reversed transactions.
void projector::impl::write_updates(pqxx::work& tx, batch_rows& rows) {
  for (const auto& [id, st] : rows.wallet_status)
    tx.exec("UPDATE wallets SET status = " + tx.quote(st.first) + ", updated_seq = " + std::to_string(st.second) +
            " WHERE wallet_id = " + std::to_string(id));
  // Pending resolutions, in chunks of VALUES.
  auto resolve = [&](const std::vector<status_update>& ups, const std::string& head, const std::string& tail) {
    for (std::size_t i = 0; i < ups.size(); i += values_per_statement_max) {
      std::string values;
      for (std::size_t j = i; j < ups.size() && j < i + values_per_statement_max; ++j) {
        if (!values.empty()) values += ',';
        values += "(" + std::to_string(ups[j].id) + "::bigint," + tx.quote(ups[j].status) + "," + std::to_string(ups[j].seq) +
                  "::bigint," + tx.quote(timestamp(ups[j].at)) + "::timestamptz)";
      }
      tx.exec(head + values + tail);
    }
  };
  resolve(rows.hold_updates,
          "UPDATE holds h SET status = v.status, resolved_seq = v.seq, resolved_at = v.at, "
          "posted_amount = coalesce((SELECT t.amount FROM transactions t WHERE t.related_id = h.hold_id AND t.type IN "
          "('capture','settlement') LIMIT 1), 0) FROM (VALUES ",
          ") AS v(id, status, seq, at) WHERE h.hold_id = v.id");
  resolve(rows.tx_updates,
          "UPDATE transactions t SET status = v.status, updated_seq = v.seq, updated_at = v.at FROM (VALUES ",
          ") AS v(id, status, seq, at) WHERE t.transaction_id = v.id");
  for (const auto& [id, text] : rows.descriptions)
    tx.exec("UPDATE transactions SET description = " + tx.quote(text) + " WHERE transaction_id = " + std::to_string(id));
  resolve(rows.session_closes,
          "UPDATE wallet_sessions s SET status = v.status, closed_seq = v.seq, closed_at = v.at FROM (VALUES ",
          ") AS v(id, status, seq, at) WHERE s.session_id = v.id");
  for (const auto& [chain, address, seq, at] : rows.disconnects)
    tx.exec("UPDATE wallet_connections SET disconnected_seq = " + std::to_string(seq) + ", disconnected_at = " +
            tx.quote(timestamp(at)) + " WHERE chain = " + tx.quote(chain) + " AND address = " + tx.quote(address) +
            " AND connected_seq < " + std::to_string(seq) + " AND disconnected_seq IS NULL");
  for (const auto& [rev, orig] : rows.reversals) {
    tx.exec("UPDATE transactions r SET asset = o.asset, amount = o.amount, fee = o.fee, from_wallet_id = o.to_wallet_id, "
            "to_wallet_id = o.from_wallet_id FROM transactions o WHERE r.transaction_id = " + std::to_string(rev) +
            " AND o.transaction_id = " + std::to_string(orig));
    tx.exec("UPDATE transactions SET status = 'reversed', reversed_by = " + std::to_string(rev) +
            ", updated_seq = " + std::to_string(rev) + " WHERE transaction_id = " + std::to_string(orig));
  }
}

// Balances: the last value of each (wallet, asset) in the batch. Rows that
// exist are updated in place and keep their limits; only rows new to the
// read models are inserted, with the limits their opening carried. (An
// upsert would check the row it proposes, limits and all, before finding
// the conflict: with limits it does not know, a legitimate overdraft
// failed the CHECK.)
void projector::impl::write_balances(pqxx::work& tx, batch_rows& rows) {
  if (rows.balances.empty()) return;
  std::vector<std::string> lines;
  lines.reserve(rows.balances.size());
  for (const auto& [k, b] : rows.balances)
    lines.push_back(line()
                        .num(k.first)
                        .text(k.second)
                        .boolean(b.is_system)
                        .text(b.posted)
                        .text(b.held)
                        .text(b.incoming)
                        .text(b.overdraft)
                        .opt(b.daily_limit)
                        .num(b.seq)
                        .text(timestamp(b.at))
                        .take());
  copy_lines(tx, "pg_temp.stage_balances",
             {"wallet_id", "asset", "is_system", "posted", "held", "incoming", "overdraft_limit", "daily_debit_limit",
              "seq", "at"},
             lines);
  tx.exec("UPDATE balances b SET posted = v.posted, held = v.held, incoming = v.incoming, updated_seq = v.seq, "
          "updated_at = v.at FROM pg_temp.stage_balances v WHERE b.wallet_id = v.wallet_id AND b.asset = v.asset");
  tx.exec("INSERT INTO balances (wallet_id, asset, is_system, posted, held, incoming, overdraft_limit, "
          "daily_debit_limit, updated_seq, updated_at) SELECT v.wallet_id, v.asset, v.is_system, v.posted, v.held, "
          "v.incoming, v.overdraft_limit, v.daily_debit_limit, v.seq, v.at FROM pg_temp.stage_balances v "
          "WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.wallet_id = v.wallet_id AND b.asset = v.asset)");
}

projector::projector(journal_source source, projector_options options)
    : source_(std::move(source)), options_(std::move(options)), impl_(std::make_unique<impl>()) {
  stats_.progress_steady_ns = steady_now_ns();
  impl_->genesis = source_.genesis;
}

projector::~projector() { stop(); }

void projector::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void projector::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

namespace {

// Errors tied to the rows written (data exceptions, constraint
// violations): retrying the same event gives the same answer.
bool data_sqlstate(const std::string& state) {
  return state.size() == 5 && (state.compare(0, 2, "22") == 0 || state.compare(0, 2, "23") == 0);
}

}  // namespace

status projector::step(std::size_t& projected) {
  projected = 0;
  bool reconnect = false;
  bool data_error = false;
  status result;
  try {
    if (!impl_->conn) {
      if (auto s = impl_->connect(options_); !s) {
        impl_->conn.reset();
        after_failure(s, false);
        return s;
      }
      std::lock_guard lock(mu_);
      stats_.projected_seq = impl_->last_seq;
      stats_.projected_log_ts_us = impl_->last_ts;
    }
    {
      // The transaction lives in this scope and ends (commit or rollback)
      // before the connection may be dropped below.
      pqxx::work tx(*impl_->conn);
      result = step_in(tx, projected, reconnect);
      data_error = result.error_code() == status::code::invalid_argument;
    }
  } catch (const pqxx::broken_connection& e) {
    reconnect = true;
    result = status::unavailable(std::string("read models: database unreachable: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    reconnect = true;
    data_error = data_sqlstate(e.sqlstate());
    std::string what = "read models: batch failed (SQLSTATE " + e.sqlstate() + "): " + e.what();
    result = data_error ? status::invalid_argument(what) : status::io_error(what);
  } catch (const std::exception& e) {
    // The transaction rolled back; reconnect and re-read the checkpoint so
    // in-memory state (asset scales) matches what is committed.
    reconnect = true;
    result = status::io_error(std::string("read models: batch failed: ") + e.what());
  }
  if (reconnect) impl_->conn.reset();
  if (!result) after_failure(result, data_error);
  return result;
}

void projector::after_failure(const status& s, bool data_error) {
  std::uint64_t seq = impl_->last_seq + 1;
  std::uint64_t failures = 0;
  {
    std::lock_guard lock(mu_);
    stats_.failures++;
    stats_.healthy = false;
    stats_.last_error = s.to_string();
    if (stats_.stuck_seq != seq) stats_.consecutive_failures = 0;
    stats_.stuck_seq = seq;
    failures = ++stats_.consecutive_failures;
  }
  // One line on the first failure at a seq, then at powers of two: the log
  // stays bounded however long the failure lasts.
  if ((failures & (failures - 1)) == 0)
    log("projection failing at seq " + std::to_string(seq) + " (the first of its batch; " + std::to_string(failures) +
        " attempt(s) in a row): " + s.to_string());
  if (!data_error) return;
  if (impl_->batch_end > seq) {
    // Somewhere in this batch: one event per batch until past it.
    impl_->isolate_until = impl_->batch_end;
    return;
  }
  impl_->failing_attempts = impl_->failing_seq == seq ? impl_->failing_attempts + 1 : 1;
  impl_->failing_seq = seq;
  if (impl_->failing_attempts < options_.event_attempts_max) return;
  if (auto p = park(seq, s.to_string()); !p) {
    log("parking seq " + std::to_string(seq) + " failed, will retry: " + p.to_string());
    return;
  }
  log("parked seq " + std::to_string(seq) + " in projection_dead_letters after " +
      std::to_string(impl_->failing_attempts) + " attempts: " + s.to_string());
}

// Records the event as parked and moves the checkpoint past it, in one
// transaction: the read models stay at an event boundary.
status projector::park(std::uint64_t seq, const std::string& why) {
  std::vector<journal_entry> one;
  if (auto s = source_.read(seq, 1, one); !s) return s;
  if (one.empty() || one[0].seq != seq) return status::unavailable("seq " + std::to_string(seq) + " is not in the journal");
  const auto& je = one[0];
  if (chain_next(impl_->last_chain, je.event_bytes) != je.chain)
    return status::corruption("chain hash mismatch at seq " + std::to_string(seq) + ": the journal was altered");
  event e;
  std::string command = decode_event(je.event_bytes, e).is_ok() ? std::string(to_string(event_command_type(e))) : "undecodable";
  try {
    if (!impl_->conn) {
      if (auto s = impl_->connect(options_); !s) return s;
    }
    pqxx::work tx(*impl_->conn);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(projection_lock_key(options_.schema)) + ")");
    auto cp = tx.exec_params("SELECT last_seq FROM projection_checkpoints WHERE projection = $1", options_.name);
    if ((cp.empty() ? 0 : cp[0][0].as<std::uint64_t>()) != impl_->last_seq) {
      impl_->conn.reset();
      return status::unavailable("the checkpoint moved; not parking");
    }
    // Postings and audit rows a second writer left above the checkpoint
    // (projector_options::write_connections): the parked event has none.
    tx.exec("DELETE FROM postings WHERE seq > " + std::to_string(impl_->last_seq));
    tx.exec("DELETE FROM audit_log WHERE seq > " + std::to_string(impl_->last_seq));
    bool ignored = false;
    tx.exec_params("INSERT INTO projection_dead_letters (projection, seq, command, error, attempts, chain_hash) "
                   "VALUES ($1, $2, $3, $4, $5, $6)",
                   options_.name, static_cast<long long>(seq), command, pg_text(why, ignored), impl_->failing_attempts,
                   pqxx::binarystring(je.chain.data(), je.chain.size()));
    std::int64_t ts = e.log_ts_us > 0 ? e.log_ts_us : impl_->last_ts;
    write_checkpoint(tx, seq, je.chain, ts);
    tx.commit();
    impl_->last_seq = seq;
    impl_->last_chain = je.chain;
    impl_->last_ts = ts;
  } catch (const std::exception& x) {
    impl_->conn.reset();
    return status::io_error(std::string("parking failed: ") + x.what());
  }
  impl_->failing_seq = 0;
  impl_->failing_attempts = 0;
  {
    std::lock_guard lock(mu_);
    stats_.dead_letters++;
    stats_.projected_seq = seq;
    stats_.projected_log_ts_us = impl_->last_ts;
    stats_.stuck_seq = 0;
    stats_.consecutive_failures = 0;
    stats_.progress_steady_ns = steady_now_ns();
  }
  progressed_.notify_all();
  return status::ok();
}

void projector::log(const std::string& line) const {
  if (options_.log) return options_.log(line);
  std::fprintf(stderr, "ledgerd projector [%s.%s]: %s\n", options_.schema.c_str(), options_.name.c_str(), line.c_str());
}

void projector::write_checkpoint(pqxx::work& tx, std::uint64_t seq, const hash256& chain, std::int64_t ts) {
  tx.exec_params(
      "INSERT INTO projection_checkpoints (projection, last_seq, chain_hash, last_at, updated_at) "
      "VALUES ($1, $2, $3, $4::timestamptz, now()) ON CONFLICT (projection) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
      "chain_hash = EXCLUDED.chain_hash, last_at = EXCLUDED.last_at, updated_at = now()",
      options_.name, static_cast<long long>(seq), pqxx::binarystring(chain.data(), chain.size()), timestamp(ts));
}

status projector::step_in(pqxx::work& tx, std::size_t& projected, bool& reconnect) {
  // Under the projection's lock, the checkpoint in the database is the
  // truth. Someone else may have moved it (a rebuild swapped the schema in);
  // then start again from it: reconnecting reloads the checkpoint, scales
  // and accounts.
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(projection_lock_key(options_.schema)) + ")");
  auto cp = tx.exec_params("SELECT last_seq FROM projection_checkpoints WHERE projection = $1", options_.name);
  std::uint64_t db_seq = cp.empty() ? 0 : cp[0][0].as<std::uint64_t>();
  if (db_seq != impl_->last_seq) {
    reconnect = true;
    return status::ok();
  }
  auto start_ns = steady_now_ns();
  std::size_t batch_max = impl_->last_seq < impl_->isolate_until ? 1 : options_.batch_events_max;
  std::vector<journal_entry> entries;
  if (auto s = source_.read(impl_->last_seq + 1, batch_max, entries); !s) return s;
  if (entries.empty()) {
    record_progress(0, {});
    return status::ok();
  }
  impl_->batch_end = entries.back().seq;
  batch_rows rows;
  hash256 chain = impl_->last_chain;
  std::uint64_t seq = impl_->last_seq;
  std::int64_t ts = impl_->last_ts;
  // Building rows updates the in-memory asset scales and system accounts;
  // on any failure the connection is dropped, and reconnecting reloads them
  // from what is committed.
  auto fail = [&](status s) {
    reconnect = true;
    return s;
  };
  for (const auto& je : entries) {
    if (je.seq != seq + 1) return fail(status::corruption("journal gap at seq " + std::to_string(seq + 1)));
    // Every link is checked: the read models only ever hold a verified journal.
    if (chain_next(chain, je.event_bytes) != je.chain)
      return fail(status::corruption("chain hash mismatch at seq " + std::to_string(je.seq) + ": the journal was altered"));
    event e;
    if (auto s = decode_event(je.event_bytes, e); !s)
      return fail(status::invalid_argument("seq " + std::to_string(je.seq) + ": cannot decode: " + s.to_string()));
    try {
      if (auto s = impl_->build(e, je, rows); !s) return fail(status::invalid_argument(s.to_string()));
    } catch (const std::exception& x) {
      // Data this projector cannot turn into rows (see unprojectable).
      return fail(status::invalid_argument("seq " + std::to_string(je.seq) + ": " + x.what()));
    }
    chain = je.chain;
    seq = je.seq;
    ts = e.log_ts_us;
  }

  auto built_ns = steady_now_ns();
  impl_->write_batch(tx, rows, options_, seq);
  write_checkpoint(tx, seq, chain, ts);
  auto written_ns = steady_now_ns();
  tx.commit();
  auto committed_ns = steady_now_ns();

  impl_->last_seq = seq;
  impl_->last_chain = chain;
  impl_->last_ts = ts;
  if (impl_->failing_seq != 0 && impl_->failing_seq <= seq) impl_->failing_seq = impl_->failing_attempts = 0;
  projected = entries.size();
  record_progress(entries.size(), {static_cast<std::uint64_t>(built_ns - start_ns),
                                   static_cast<std::uint64_t>(written_ns - built_ns),
                                   static_cast<std::uint64_t>(committed_ns - written_ns)});
  progressed_.notify_all();
  return status::ok();
}

// The batch's rows: on one connection, or postings and audit rows on the
// second one in parallel, committed before the caller commits `tx` with the
// checkpoint (see projector_options::write_connections).
void projector::impl::write_batch(pqxx::work& tx, batch_rows& rows, const projector_options& o, std::uint64_t last) {
  if (!side) return write(tx, rows, o);
  // The months' partitions first, committed: a partition created inside
  // either batch transaction would be invisible to (and block) the other.
  {
    pqxx::nontransaction n(*side);
    for (const auto& m : rows.months) n.exec("SELECT ensure_money_partitions(" + n.quote(m + "-01") + "::date)");
  }
  auto history = std::async(std::launch::async, [this, &rows] {
    pqxx::work side_tx(*side);
    write_history(side_tx, rows);
    side_tx.commit();
  });
  try {
    write(tx, rows, o);
  } catch (...) {
    history.wait();
    throw;
  }
  history.get();  // its failure fails the batch: the checkpoint does not move
  if (o.before_checkpoint_commit) o.before_checkpoint_commit(last);
}

void projector::record_progress(std::size_t events, std::array<std::uint64_t, 3> phase_ns) {
  std::lock_guard lock(mu_);
  if (events > 0) {
    stats_.projected_seq = impl_->last_seq;
    stats_.projected_log_ts_us = impl_->last_ts;
    stats_.batches++;
    stats_.events += events;
    stats_.build_ns += phase_ns[0];
    stats_.write_ns += phase_ns[1];
    stats_.commit_ns += phase_ns[2];
  }
  stats_.healthy = true;
  stats_.last_error.clear();
  stats_.stuck_seq = 0;
  stats_.consecutive_failures = 0;
  stats_.progress_steady_ns = steady_now_ns();
}

status projector::catch_up() {
  for (;;) {
    std::size_t n = 0;
    if (auto s = step(n); !s) {
      // A data error is retried here too (and the event parked after
      // event_attempts_max attempts): a rebuild must not stop at one event.
      if (s.error_code() == status::code::invalid_argument) continue;
      return s;
    }
    if (n == 0 && impl_->last_seq >= source_.head().seq) return status::ok();
  }
}

void projector::run() {
  int backoff_ms = options_.retry_min_ms;
  while (!stopping_) {
    std::size_t n = 0;
    auto s = step(n);
    if (!s) {
      // Wait out the backoff in short slices so stop() stays prompt.
      for (int waited = 0; waited < backoff_ms && !stopping_; waited += 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      backoff_ms = std::min(backoff_ms * 2, options_.retry_max_ms);
      continue;
    }
    backoff_ms = options_.retry_min_ms;
    if (n == 0) source_.wait_for(impl_->last_seq + 1, options_.idle_wait_ms);
  }
}

projector_stats projector::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool projector::wait_for(std::uint64_t seq, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return progressed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return stats_.projected_seq >= seq; });
}

}  // namespace ledger::projections

namespace ledger::projections {

status projection_health(const projector_stats& st) {
  if (st.healthy || (st.consecutive_failures == 0 && st.last_error.empty())) return status::ok();
  return status::unavailable("projection stuck at seq " + std::to_string(st.stuck_seq) + " after " +
                             std::to_string(st.consecutive_failures) + " failed attempt(s); the reason is in the log");
}

std::string projection_metrics(const projector_stats& st, const ledger_head& head) {
  std::uint64_t lag = head.seq > st.projected_seq ? head.seq - st.projected_seq : 0;
  // Behind: at least the log time between the head and the last projected
  // event, and at least the time since the projection last advanced (or last
  // found nothing to do), so a stuck projection's lag keeps growing.
  double lag_s = 0;
  if (lag > 0) {
    lag_s = double(head.log_ts_us - st.projected_log_ts_us) / 1e6;
    if (st.progress_steady_ns > 0) {
      auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch()).count();
      lag_s = std::max(lag_s, double(now_ns - st.progress_steady_ns) / 1e9);
    }
  }
  std::string out;
  auto gauge = [&](const char* name, const char* help, const char* type, const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + value + "\n";
  };
  gauge("ledger_projection_seq", "Last event projected into PostgreSQL.", "gauge", std::to_string(st.projected_seq));
  gauge("ledger_projection_lag_events", "Events committed but not yet projected.", "gauge", std::to_string(lag));
  gauge("ledger_projection_lag_seconds",
        "How far the projection is behind: the log time between the journal head and the last projected event, or the "
        "time since the projection last advanced, whichever is larger (0 when caught up).",
        "gauge", std::to_string(lag_s < 0 ? 0 : lag_s));
  gauge("ledger_projection_failures_total", "Failed projection batches (retried).", "counter", std::to_string(st.failures));
  gauge("ledger_projection_stuck_seq", "The seq the projection is failing on (0 when the last attempt succeeded).", "gauge",
        std::to_string(st.stuck_seq));
  gauge("ledger_projection_consecutive_failures", "Failed attempts in a row at ledger_projection_stuck_seq.", "gauge",
        std::to_string(st.consecutive_failures));
  gauge("ledger_projection_dead_letters_total", "Events parked in projection_dead_letters by this process.", "counter",
        std::to_string(st.dead_letters));
  return out;
}

}  // namespace ledger::projections
