#include "projections/projector.h"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>
#include <simdjson.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include "engine/chain.h"
#include "projections/migrations.h"

namespace ledger::projections {

namespace {

constexpr std::size_t values_per_statement_max = 1000;

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

// Metadata is JSON when it came through the API; a programmatic caller could
// have sent anything, and one bad value must not stop the projection.
std::string json_or_wrapped(const std::string& metadata) {
  if (metadata.empty()) return {};
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parser.parse(metadata).get(doc)) return metadata;
  std::string wrapped = "{\"unparsed\":\"";
  for (char c : metadata) {
    if (c == '"' || c == '\\') wrapped += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    wrapped += c;
  }
  return wrapped + "\"}";
}


struct balance_row {
  bool is_system = false;
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

// Everything one batch writes, built in memory before the transaction opens.
struct batch_rows {
  std::vector<std::string> assets, wallets, holds, transactions, postings, audit;
  std::vector<std::pair<std::uint64_t, std::pair<std::string, std::uint64_t>>> wallet_status;  // id -> (status, seq)
  std::vector<status_update> hold_updates, tx_updates;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> reversals;  // reversal id -> original id
  std::map<std::pair<std::uint64_t, std::string>, balance_row> balances;
  std::map<std::tuple<std::string, std::uint64_t, std::string>, daily_row> daily;
};

}  // namespace

struct projector::impl {
  std::unique_ptr<pqxx::connection> conn;
  std::uint64_t last_seq = 0;
  hash256 last_chain{};
  std::int64_t last_ts = 0;
  std::unordered_map<std::string, int> scales;
  std::set<std::uint64_t> system_accounts;

  std::string amount(amount_t v, const std::string& asset) {
    auto it = scales.find(asset);
    LEDGER_ASSERT(it != scales.end(), "an event uses an asset no earlier event registered");
    return format_amount(v, it->second);
  }

  status connect(const projector_options& o);
  status build(const event& e, const journal_entry& je, batch_rows& rows);
  void write(pqxx::work& tx, batch_rows& rows, const projector_options& o);
};

long long projection_lock_key(const std::string& schema) {
  // FNV-1a of the schema name, in a range of its own.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : schema) h = (h ^ c) * 1099511628211ull;
  return static_cast<long long>((h & 0x0000ffffffffffffull) | 0x6c70000000000000ull);
}

status projector::impl::connect(const projector_options& o) {
  conn = std::make_unique<pqxx::connection>(o.conninfo);
  {
    pqxx::nontransaction n(*conn);
    n.exec("SET search_path TO " + conn->quote_name(o.schema));
    // The checkpoint commits with the rows it describes, so a commit lost in
    // a database crash is simply projected again: no need to wait for the
    // database's WAL flush on every batch.
    n.exec("SET synchronous_commit = off");
  }
  if (o.migrate_on_connect) {
    migrate_result mr;
    if (auto s = migrate(*conn, o.schema, mr); !s) return s;
  }
  pqxx::read_transaction tx(*conn);
  auto r = tx.exec_params("SELECT last_seq, chain_hash, coalesce(extract(epoch from last_at) * 1000000, 0)::bigint "
                          "FROM projection_checkpoints WHERE projection = $1",
                          o.name);
  last_seq = 0;
  last_chain = hash256{};
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
  std::string at = timestamp(e.log_ts_us);
  rows.audit.push_back(line()
                           .num(e.seq)
                           .text(at)
                           .text(to_string(event_command_type(e)))
                           .text(e.status == event_status::accepted ? "accepted" : "rejected")
                           .opt(e.reason == reason::none ? std::string_view{} : to_string(e.reason))
                           .opt(e.detail)
                           .text(e.principal)
                           .text(e.idempotency_key)
                           .text(e.request_id)
                           .text(hex_bytea(je.chain))
                           .take());
  if (e.status != event_status::accepted) return status::ok();

  command_body body;
  bool have_body = !e.body.empty() && decode_body(e.body, body).is_ok();

  // The transaction (or hold) the event's legs belong to.
  std::uint64_t tx_id = 0;
  const pending_closed* closed = nullptr;
  for (const auto& fx : e.effects) {
    if (auto* t = std::get_if<transaction_recorded>(&fx)) tx_id = t->id;
    if (auto* p = std::get_if<pending_opened>(&fx); p && !tx_id) tx_id = p->id;
    if (auto* c = std::get_if<pending_closed>(&fx)) closed = c;
  }
  if (!tx_id && closed) tx_id = closed->id;

  int leg = 0;
  std::uint64_t debit_account = 0, credit_account = 0;  // of the posted legs, for captures and settlements
  std::string leg_asset;
  for (const auto& fx : e.effects) {
    if (auto* a = std::get_if<asset_registered>(&fx)) {
      scales[a->code] = a->scale;
      rows.assets.push_back(line()
                                .text(a->code)
                                .num(a->scale)
                                .text(format_amount(a->min_amount, a->scale))
                                .text(format_amount(a->max_amount, a->scale))
                                .num(e.seq)
                                .text(at)
                                .take());
    } else if (auto* o = std::get_if<account_opened>(&fx)) {
      bool sys = o->kind == account_kind::system;
      if (sys) system_accounts.insert(o->id);
      rows.wallets.push_back(
          line().num(o->id).text(sys ? "system" : "user").text(o->owner).text("active").num(e.seq).text(at).num(e.seq).take());
      for (const auto& wa : o->assets) {
        auto& b = rows.balances[{o->id, wa.asset}];
        b.overdraft = amount(wa.overdraft_limit, wa.asset);
        if (wa.daily_debit_limit > 0) b.daily_limit = amount(wa.daily_debit_limit, wa.asset);
        b.seq = e.seq;
        b.at = e.log_ts_us;
      }
    } else if (auto* s = std::get_if<account_status_changed>(&fx)) {
      rows.wallet_status.push_back({s->id, {std::string(to_string(s->to)), e.seq}});
    } else if (auto* b = std::get_if<balance_changed>(&fx)) {
      amount_t posted = b->d_credits_posted - b->d_debits_posted;
      amount_t pending = b->d_credits_pending - b->d_debits_pending;
      auto after = [&](line& l) {
        l.text(amount(b->posted_after, b->asset))
            .text(amount(b->debits_pending_after, b->asset))
            .text(amount(b->credits_pending_after, b->asset))
            .text(at);
      };
      for (auto [kind, amt] : {std::pair{"posted", posted}, std::pair{"pending", pending}}) {
        if (amt == 0) continue;
        line l;
        l.num(e.seq).num(static_cast<std::uint64_t>(leg++)).opt_num(tx_id).num(b->account).text(b->asset).text(kind).text(
            amount(amt, b->asset));
        after(l);
        rows.postings.push_back(l.take());
      }
      auto& bal = rows.balances[{b->account, b->asset}];
      bal.is_system = system_accounts.count(b->account) > 0;
      bal.posted = amount(b->posted_after, b->asset);
      bal.held = amount(b->debits_pending_after, b->asset);
      bal.incoming = amount(b->credits_pending_after, b->asset);
      bal.seq = e.seq;
      bal.at = e.log_ts_us;
      if (b->d_debits_posted != 0 || b->d_credits_posted != 0) {
        auto& d = rows.daily[{day_of(e.log_ts_us), b->account, b->asset}];
        d.asset = b->asset;
        d.debits += b->d_debits_posted;
        d.credits += b->d_credits_posted;
        d.postings++;
        if (b->d_debits_posted > 0) debit_account = b->account;
        if (b->d_credits_posted > 0 && !credit_account) credit_account = b->account;
        leg_asset = b->asset;
      }
    } else if (auto* p = std::get_if<pending_opened>(&fx)) {
      bool hold = p->kind == pending_kind::hold;
      line h;
      h.num(p->id).text(hold ? "hold" : "withdrawal").num(p->debit_account).num(p->credit_account).text(p->asset).text(
          amount(p->amount, p->asset));
      if (p->expires_at_us > 0) h.text(timestamp(p->expires_at_us)); else h.null();
      h.text("open").text("0").text(at).null().null();
      rows.holds.push_back(h.take());
      std::string reference, metadata;
      if (auto* c = have_body ? std::get_if<hold_cmd>(&body) : nullptr) reference = c->reference, metadata = c->metadata;
      if (auto* c = have_body ? std::get_if<withdraw_cmd>(&body) : nullptr) reference = c->reference, metadata = c->metadata;
      rows.transactions.push_back(line()
                                      .num(p->id)
                                      .text(hold ? "hold" : "withdrawal")
                                      .text("pending")
                                      .text(p->asset)
                                      .text(amount(p->amount, p->asset))
                                      .text("0")
                                      .num(p->debit_account)
                                      .num(p->credit_account)
                                      .null()
                                      .opt(reference)
                                      .opt(json_or_wrapped(metadata))
                                      .null()
                                      .null()
                                      .text(e.principal)
                                      .opt(e.request_id)
                                      .text(at)
                                      .num(e.seq)
                                      .text(at)
                                      .take());
    } else if (auto* c = std::get_if<pending_closed>(&fx)) {
      std::string st(to_string(c->resolution));
      rows.hold_updates.push_back({c->id, st, {}, e.seq, e.log_ts_us});
      rows.tx_updates.push_back({c->id, st, {}, e.seq, e.log_ts_us});
    }
  }

  for (const auto& fx : e.effects) {
    auto* t = std::get_if<transaction_recorded>(&fx);
    if (!t) continue;
    line l;
    l.num(t->id);
    auto common_tail = [&](line& x, std::uint64_t related, const std::string& reference, const std::string& metadata,
                           const std::string& provider) {
      (void)provider;
      x.opt(reference).opt(json_or_wrapped(metadata)).opt_num(related).null().text(e.principal).opt(e.request_id).text(at).num(e.seq).text(at);
    };
    switch (t->kind) {
      case tx_kind::deposit: {
        const auto& c = std::get<deposit_cmd>(body);
        l.text("deposit").text("completed").text(c.asset).text(amount(c.amount, c.asset)).text("0").num(debit_account).num(c.wallet).text(c.provider);
        common_tail(l, 0, c.reference, c.metadata, c.provider);
        break;
      }
      case tx_kind::transfer: {
        const auto& c = std::get<transfer_cmd>(body);
        l.text("transfer").text("completed").text(c.asset).text(amount(c.amount, c.asset)).text(amount(c.fee, c.asset)).num(c.from).num(c.to).null();
        common_tail(l, 0, c.reference, c.metadata, {});
        break;
      }
      case tx_kind::capture:
      case tx_kind::withdrawal: {
        LEDGER_ASSERT(closed != nullptr, "a capture or settlement without its pending");
        bool cap = t->kind == tx_kind::capture;
        l.text(cap ? "capture" : "settlement").text("completed").text(leg_asset).text(amount(closed->posted_amount, leg_asset)).text("0")
            .num(debit_account).num(credit_account).null();
        common_tail(l, closed->id, {}, {}, {});
        break;
      }
      case tx_kind::reversal: {
        // Asset, amount and parties are copied from the original after the
        // COPY (it may be in this very batch).
        std::string reason_text;
        if (auto* c = have_body ? std::get_if<reverse_cmd>(&body) : nullptr) reason_text = c->reason;
        l.text("reversal").text("completed").text(leg_asset).text("0").text("0").null().null().null();
        common_tail(l, t->reverses, reason_text, {}, {});
        rows.reversals.push_back({t->id, t->reverses});
        break;
      }
    }
    rows.transactions.push_back(l.take());
  }
  return status::ok();
}

void projector::impl::write(pqxx::work& tx, batch_rows& rows, const projector_options& o) {
  // COPY with lines this file escaped itself. libpqxx 6.4 keeps raw lines
  // private in stream_to; tablewriter still offers them (deprecated there).
  auto copy = [&](const char* table, std::vector<std::string> cols, std::vector<std::string>& lines) {
    if (lines.empty()) return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pqxx::tablewriter w(tx, table, cols.begin(), cols.end());
#pragma GCC diagnostic pop
    for (auto& l : lines) w.write_raw_line(l);
    w.complete();
  };
  copy("assets", {"code", "scale", "min_amount", "max_amount", "registered_seq", "registered_at"}, rows.assets);
  copy("wallets", {"wallet_id", "kind", "owner", "status", "opened_seq", "opened_at", "updated_seq"}, rows.wallets);
  copy("holds", {"hold_id", "kind", "wallet_id", "to_account_id", "asset", "amount", "expires_at", "status",
                 "posted_amount", "created_at", "resolved_seq", "resolved_at"},
       rows.holds);
  copy("transactions", {"transaction_id", "type", "status", "asset", "amount", "fee", "from_wallet_id", "to_wallet_id",
                        "provider", "reference", "metadata", "related_id", "reversed_by", "principal", "request_id",
                        "created_at", "updated_seq", "updated_at"},
       rows.transactions);
  copy("postings", {"seq", "leg", "transaction_id", "wallet_id", "asset", "kind", "amount", "posted_after", "held_after",
                    "incoming_after", "created_at"},
       rows.postings);
  copy("audit_log", {"seq", "at", "command", "outcome", "reason", "detail", "principal", "idempotency_key", "request_id",
                     "chain_hash"},
       rows.audit);

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
  for (const auto& [rev, orig] : rows.reversals) {
    tx.exec("UPDATE transactions r SET asset = o.asset, amount = o.amount, fee = o.fee, from_wallet_id = o.to_wallet_id, "
            "to_wallet_id = o.from_wallet_id FROM transactions o WHERE r.transaction_id = " + std::to_string(rev) +
            " AND o.transaction_id = " + std::to_string(orig));
    tx.exec("UPDATE transactions SET status = 'reversed', reversed_by = " + std::to_string(rev) +
            ", updated_seq = " + std::to_string(rev) + " WHERE transaction_id = " + std::to_string(orig));
  }

  // Balances: the last value of each (wallet, asset) in the batch.
  std::vector<std::string> values;
  for (const auto& [k, b] : rows.balances)
    values.push_back("(" + std::to_string(k.first) + "," + tx.quote(k.second) + "," + (b.is_system ? "true" : "false") +
                     "," + b.posted + "," + b.held + "," + b.incoming + "," + b.overdraft + "," +
                     (b.daily_limit.empty() ? "NULL" : b.daily_limit) + "," + std::to_string(b.seq) + "," +
                     tx.quote(timestamp(b.at)) + ")");
  for (std::size_t i = 0; i < values.size(); i += values_per_statement_max) {
    std::string sql =
        "INSERT INTO balances (wallet_id, asset, is_system, posted, held, incoming, overdraft_limit, daily_debit_limit, "
        "updated_seq, updated_at) VALUES ";
    for (std::size_t j = i; j < values.size() && j < i + values_per_statement_max; ++j) sql += (j > i ? "," : "") + values[j];
    sql += " ON CONFLICT (wallet_id, asset) DO UPDATE SET posted = EXCLUDED.posted, held = EXCLUDED.held, "
           "incoming = EXCLUDED.incoming, updated_seq = EXCLUDED.updated_seq, updated_at = EXCLUDED.updated_at";
    tx.exec(sql);
  }
  values.clear();
  for (const auto& [k, d] : rows.daily)
    values.push_back("(" + tx.quote(std::get<0>(k)) + "::date," + std::to_string(std::get<1>(k)) + "," +
                     tx.quote(std::get<2>(k)) + "," + amount(d.debits, d.asset) + "," + amount(d.credits, d.asset) + "," +
                     std::to_string(d.postings) + ")");
  for (std::size_t i = 0; i < values.size(); i += values_per_statement_max) {
    std::string sql = "INSERT INTO daily_wallet_totals (day, wallet_id, asset, debits, credits, postings) VALUES ";
    for (std::size_t j = i; j < values.size() && j < i + values_per_statement_max; ++j) sql += (j > i ? "," : "") + values[j];
    sql += " ON CONFLICT (day, wallet_id, asset) DO UPDATE SET debits = daily_wallet_totals.debits + EXCLUDED.debits, "
           "credits = daily_wallet_totals.credits + EXCLUDED.credits, "
           "postings = daily_wallet_totals.postings + EXCLUDED.postings";
    tx.exec(sql);
  }
  (void)o;
}

projector::projector(journal_source source, projector_options options)
    : source_(std::move(source)), options_(std::move(options)), impl_(std::make_unique<impl>()) {}

projector::~projector() { stop(); }

void projector::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void projector::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

status projector::step(std::size_t& projected) {
  projected = 0;
  bool reconnect = false;
  status result;
  try {
    if (!impl_->conn) {
      if (auto s = impl_->connect(options_); !s) {
        impl_->conn.reset();
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
    }
  } catch (const pqxx::broken_connection& e) {
    reconnect = true;
    result = status::unavailable(std::string("read models: database unreachable: ") + e.what());
  } catch (const std::exception& e) {
    // The transaction rolled back; reconnect and re-read the checkpoint so
    // in-memory state (asset scales) matches what is committed.
    reconnect = true;
    result = status::io_error(std::string("read models: batch failed: ") + e.what());
  }
  if (reconnect) impl_->conn.reset();
  return result;
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
  std::vector<journal_entry> entries;
  if (auto s = source_.read(impl_->last_seq + 1, options_.batch_events_max, entries); !s) return s;
  if (entries.empty()) {
    std::lock_guard lock(mu_);
    stats_.healthy = true;
    stats_.last_error.clear();
    return status::ok();
  }
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
    if (auto s = decode_event(je.event_bytes, e); !s) return fail(s);
    if (auto s = impl_->build(e, je, rows); !s) return fail(s);
    chain = je.chain;
    seq = je.seq;
    ts = e.log_ts_us;
  }

  impl_->write(tx, rows, options_);
  tx.exec_params(
      "INSERT INTO projection_checkpoints (projection, last_seq, chain_hash, last_at, updated_at) "
      "VALUES ($1, $2, $3, $4::timestamptz, now()) ON CONFLICT (projection) DO UPDATE SET last_seq = EXCLUDED.last_seq, "
      "chain_hash = EXCLUDED.chain_hash, last_at = EXCLUDED.last_at, updated_at = now()",
      options_.name, static_cast<long long>(seq), pqxx::binarystring(chain.data(), chain.size()), timestamp(ts));
  tx.commit();

  impl_->last_seq = seq;
  impl_->last_chain = chain;
  impl_->last_ts = ts;
  projected = entries.size();
  {
    std::lock_guard lock(mu_);
    stats_.projected_seq = seq;
    stats_.projected_log_ts_us = ts;
    stats_.batches++;
    stats_.events += entries.size();
    stats_.healthy = true;
    stats_.last_error.clear();
  }
  progressed_.notify_all();
  return status::ok();
}

status projector::catch_up() {
  for (;;) {
    std::size_t n = 0;
    if (auto s = step(n); !s) return s;
    if (n == 0 && impl_->last_seq >= source_.head().seq) return status::ok();
  }
}

void projector::run() {
  int backoff_ms = options_.retry_min_ms;
  while (!stopping_) {
    std::size_t n = 0;
    auto s = step(n);
    if (!s) {
      {
        std::lock_guard lock(mu_);
        stats_.failures++;
        stats_.healthy = false;
        stats_.last_error = s.to_string();
      }
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
