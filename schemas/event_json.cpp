#include "schemas/event_json.h"

#include "base/hex.h"
#include "base/json_out.h"

#include <algorithm>
#include <charconv>

#include "schemas/time.h"

namespace ledger {

namespace {

std::string_view kind_name(account_kind k) { return k == account_kind::system ? "system" : "user"; }
std::string_view kind_name(pending_kind k) { return k == pending_kind::withdrawal ? "withdrawal" : "hold"; }

// A small append-only writer: keys are written by the caller's order, so the
// output is deterministic and byte-identical on every channel.
class writer_json {
 public:
  explicit writer_json(std::string& out) : out_(out) {}
  void open(char c) { sep(); out_ += c; first_ = true; }
  void close(char c) { out_ += c; first_ = false; }
  // Keys are literals of this file: nothing to escape. Three appends: a
  // stack buffer assembled first measured slower (its copies compiled to
  // `rep movs`, which costs more than the appends it saves).
  void key(std::string_view k) {
    sep();
    out_ += '"';
    out_ += k;
    out_.append("\":", 2);
    first_ = true;
  }
  void str(std::string_view k, std::string_view v) { quoted(k, [&] { append_json_escaped(out_, v); }); }
  void num(std::string_view k, std::int64_t v) { key(k); first_ = false; integer(v); }
  void unum(std::string_view k, std::uint64_t v) { key(k); first_ = false; integer(v); }
  // Digits, signs, times and hex need no escaping: written in place.
  void amount(std::string_view k, amount_t v) { quoted(k, [&] { append_decimal(out_, v); }); }
  void time(std::string_view k, std::int64_t us) { quoted(k, [&] { append_rfc3339_us(out_, us); }); }
  void hash(std::string_view k, const hash256& h) { quoted(k, [&] { append_hex_lower(out_, h.data(), h.size()); }); }
  void element(std::uint64_t v) { sep(); integer(v); }
  void element(std::string_view v) {
    sep();
    out_ += '"';
    append_json_escaped(out_, v);
    out_ += '"';
  }

 private:
  void sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  template <class Append>
  void quoted(std::string_view k, const Append& append) {
    key(k);
    first_ = false;
    out_ += '"';
    append();
    out_ += '"';
  }
  template <class T>
  void integer(T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, static_cast<std::size_t>(r.ptr - buf));
  }
  std::string& out_;
  bool first_ = true;
};

struct effect_json {
  writer_json& w;
  const event_json_view* view = nullptr;
  void operator()(const asset_registered& v) {
    w.str("effect", "asset_registered");
    w.str("asset", v.code);
    w.num("scale", v.scale);
    w.amount("min_amount", v.min_amount);
    w.amount("max_amount", v.max_amount);
  }
  void operator()(const account_opened& v) {
    w.str("effect", "account_opened");
    w.unum("account", v.id);
    w.str("kind", kind_name(v.kind));
    w.str("owner", v.owner);
    w.key("assets");
    w.open('[');
    for (const auto& a : v.assets) {
      w.open('{');
      w.str("asset", a.asset);
      w.amount("overdraft_limit", a.overdraft_limit);
      w.amount("daily_debit_limit", a.daily_debit_limit);
      w.close('}');
    }
    w.close(']');
  }
  void operator()(const account_status_changed& v) {
    w.str("effect", "account_status_changed");
    w.unum("account", v.id);
    w.str("from", to_string(v.from));
    w.str("to", to_string(v.to));
  }
  void operator()(const balance_changed& v) {
    w.str("effect", "balance_changed");
    w.unum("account", v.account);
    w.str("asset", v.asset);
    w.amount("d_debits_posted", v.d_debits_posted);
    w.amount("d_credits_posted", v.d_credits_posted);
    w.amount("d_debits_pending", v.d_debits_pending);
    w.amount("d_credits_pending", v.d_credits_pending);
    if (view && std::binary_search(view->balances_withheld.begin(), view->balances_withheld.end(), v.account)) return;
    w.amount("posted_after", v.posted_after);
    w.amount("debits_pending_after", v.debits_pending_after);
    w.amount("credits_pending_after", v.credits_pending_after);
    // Seed 003's names for the same figures (docs/exchange.md, "Balances").
    w.amount("total_after", v.posted_after);
    w.amount("pending_incoming_after", v.credits_pending_after);
    w.amount("pending_outgoing_after", v.debits_pending_after);
  }
  void operator()(const daily_usage& v) {
    w.str("effect", "daily_usage");
    w.unum("account", v.account);
    w.str("asset", v.asset);
    w.num("day", v.day);
    w.amount("used_after", v.used_after);
  }
  void operator()(const pending_opened& v) {
    w.str("effect", "pending_opened");
    w.unum("pending", v.id);
    w.str("kind", kind_name(v.kind));
    w.unum("debit_account", v.debit_account);
    w.unum("credit_account", v.credit_account);
    w.str("asset", v.asset);
    w.amount("amount", v.amount);
    if (v.expires_at_us != 0) w.time("expires_at", v.expires_at_us);
  }
  void operator()(const pending_closed& v) {
    w.str("effect", "pending_closed");
    w.unum("pending", v.id);
    w.str("resolution", to_string(v.resolution));
    w.amount("posted_amount", v.posted_amount);
  }
  void operator()(const transaction_recorded& v) {
    w.str("effect", "transaction_recorded");
    w.unum("transaction", v.id);
    w.str("kind", to_string(v.kind));
    if (v.reverses != 0) w.unum("reverses", v.reverses);
  }
  void operator()(const challenge_issued& v) {
    w.str("effect", "challenge_issued");
    w.str("nonce", v.nonce);
    w.str("chain", to_string(v.chain));
    w.str("network", v.network);
    w.str("address", v.address);
    w.str("domain", v.domain);
    w.str("uri", v.uri);
    w.time("issued_at", v.issued_at_us);
    w.time("expires_at", v.expires_at_us);
  }
  void operator()(const challenge_closed& v) {
    w.str("effect", "challenge_closed");
    w.str("nonce", v.nonce);
    w.str("resolution", "expired");
  }
  void operator()(const session_opened& v) {
    w.str("effect", "session_opened");
    w.unum("session", v.id);
    w.str("owner", v.owner);
    w.str("chain", to_string(v.chain));
    w.str("network", v.network);
    w.str("address", v.address);
    // The token's hash only: the token itself never enters the ledger.
    hash256 h{};
    std::copy_n(v.token_hash.begin(), std::min(v.token_hash.size(), h.size()), h.begin());
    w.str("token_sha256", to_hex(h));
    w.str("nonce", v.nonce);
    w.time("expires_at", v.expires_at_us);
  }
  void operator()(const session_closed& v) {
    w.str("effect", "session_closed");
    w.unum("session", v.id);
    w.str("resolution", to_string(v.resolution));
  }
  void operator()(const wallet_connected& v) {
    w.str("effect", "wallet_connected");
    w.str("chain", to_string(v.chain));
    w.str("address", v.address);
    w.str("owner", v.owner);
  }
  void operator()(const wallet_disconnected& v) {
    w.str("effect", "wallet_disconnected");
    w.str("chain", to_string(v.chain));
    w.str("address", v.address);
    w.str("owner", v.owner);
  }
  void operator()(const fee_schedule_changed& v) {
    w.str("effect", "fee_schedule_changed");
    w.str("asset", v.asset);
    w.str("kind", to_string(v.kind));
    if (v.removed) return w.str("change", "removed");
    w.str("change", "set");
    w.amount("fixed", v.fixed);
    w.unum("basis_points", v.basis_points);
    w.amount("minimum", v.minimum);
    w.amount("maximum", v.maximum);
  }
  void operator()(const money_tx_opened& v) {
    w.str("effect", "money_tx_opened");
    w.unum("transaction", v.id);
    w.str("kind", to_string(v.kind));
    w.str("status", to_string(v.status));
    w.unum("debit_account", v.debit_account);
    w.unum("credit_account", v.credit_account);
    w.str("asset", v.asset);
    w.amount("amount", v.amount);
    w.amount("fee", v.fee);
    if (!v.provider.empty()) w.str("provider", v.provider);
    w.str("reference", v.reference);
    w.str("owner", v.owner);
    w.str("description", v.description);
    if (v.refund_of != 0) w.unum("refund_of", v.refund_of);
  }
  void operator()(const money_tx_changed& v) {
    w.str("effect", "money_tx_changed");
    w.unum("transaction", v.id);
    w.str("kind", to_string(v.kind));
    w.str("from", to_string(v.from));
    w.str("to", to_string(v.to));
    if (!v.reason.empty()) w.str("reason", v.reason);
  }
  void operator()(const payout_destination_registered& v) {
    // Ciphertext only: the details are readable through the API, with the owner's key.
    w.str("effect", "payout_destination_registered");
    w.unum("destination", v.id);
    w.unum("wallet", v.wallet);
    w.str("owner", v.owner);
    w.str("account_name", v.account_name);
    w.str("bank_id", v.bank_id);
    w.str("account_number", v.account_number);
    w.str("sender_details", v.sender_details);
    w.str("receiver_details", v.receiver_details);
  }
  void operator()(const document_uploaded& v) {
    // Metadata only: the file name is ciphertext, the content is not here.
    w.str("effect", "document_uploaded");
    // The name the event streams' readers subscribe to.
    w.str("topic", "wallet.document.uploaded");
    w.unum("document", v.id);
    w.str("owner", v.owner);
    if (v.group != 0) w.unum("group", v.group);
    w.str("category", to_string(v.category));
    w.str("file_name", v.file_name);
    w.str("media_type", v.media_type);
    w.unum("size_bytes", v.size_bytes);
    w.str("content_sha256", v.content_sha256);
    w.str("blob_id", v.blob_id);
    if (!v.thumbnail_blob_id.empty()) w.str("thumbnail_blob_id", v.thumbnail_blob_id);
    w.str("key_id", v.key_id);
  }
  void operator()(const document_deleted& v) {
    w.str("effect", "document_deleted");
    w.str("topic", "wallet.document.deleted");
    w.unum("document", v.id);
    w.str("owner", v.owner);
    if (v.group != 0) w.unum("group", v.group);
  }
  void operator()(const group_members_set& v) {
    w.str("effect", "group_members_set");
    w.unum("group", v.group);
    w.key("members");
    w.open('[');
    for (const auto& m : v.members) w.element(std::string_view(m));
    w.close(']');
  }
  // Exchange and tiers: amounts in minor units like every effect; rates
  // as rate_e18 (the rate times 10^18), exact.
  void operator()(const rate_set& v) {
    w.str("effect", "rate_set");
    w.str("from_asset", v.from_asset);
    w.str("to_asset", v.to_asset);
    w.amount("rate_e18", v.rate_e18);
    w.unum("fee_bps", v.fee_bps);
    w.unum("quote_ttl_s", v.quote_ttl_s);
    w.num("valid_from_us", v.valid_from_us);
    w.num("valid_until_us", v.valid_until_us);
  }
  void operator()(const quote_issued& v) {
    w.str("effect", "quote_issued");
    w.unum("quote", v.id);
    w.str("owner", v.owner);
    w.str("from_asset", v.from_asset);
    w.str("to_asset", v.to_asset);
    w.str("side", to_string(v.side));
    w.amount("rate_e18", v.rate_e18);
    w.unum("fee_bps", v.fee_bps);
    w.amount("from_amount", v.from_amount);
    w.amount("fee", v.fee);
    w.amount("to_amount", v.to_amount);
    w.num("expires_at_us", v.expires_at_us);
  }
  void operator()(const quote_used& v) {
    w.str("effect", "quote_used");
    w.unum("quote", v.id);
    w.unum("exchange", v.exchange);
    w.unum("wallet", v.wallet);
    w.unum("to_wallet", v.to_wallet);
    w.str("from_asset", v.from_asset);
    w.str("to_asset", v.to_asset);
    w.amount("rate_e18", v.rate_e18);
    w.amount("from_amount", v.from_amount);
    w.amount("fee", v.fee);
    w.amount("to_amount", v.to_amount);
  }
  void operator()(const fx_limit_set& v) {
    w.str("effect", "fx_limit_set");
    w.str("asset", v.asset);
    w.amount("overdraft", v.overdraft);
  }
  void operator()(const owner_tier_set& v) {
    w.str("effect", "owner_tier_set");
    w.str("owner", v.owner);
    w.str("tier", to_string(v.tier));
  }
  void operator()(const tier_limits_set& v) {
    w.str("effect", "tier_limits_set");
    w.str("tier", to_string(v.tier));
    w.str("asset", v.asset);
    w.amount("per_transaction", v.per_transaction);
    w.amount("daily", v.daily);
    w.amount("monthly", v.monthly);
  }
  void operator()(const monthly_usage& v) {
    w.str("effect", "monthly_usage");
    w.unum("account", v.account);
    w.str("asset", v.asset);
    w.num("month", v.month);
    w.amount("used_after", v.used_after);
  }
  void operator()(const auth_failed& v) {
    w.str("effect", "auth_failed");
    w.str("chain", to_string(v.chain));
    w.str("network", v.network);
    w.str("address", v.address);
    w.str("client", v.client);
    w.str("check", v.check);
  }
  void operator()(const payment_request_opened& v) {
    w.str("effect", "payment_request_opened");
    w.unum("payment_request", v.id);
    w.str("requester", v.requester);
    w.unum("wallet", v.wallet);
    w.str("payer", v.payer);
    w.str("asset", v.asset);
    w.amount("amount", v.amount);
    w.str("note", v.note);
    w.time("expires_at", v.expires_at_us);
  }
  void operator()(const payment_request_closed& v) {
    w.str("effect", "payment_request_closed");
    w.unum("payment_request", v.id);
    w.str("status", to_string(v.status));
    if (v.transaction_id != 0) w.unum("transaction", v.transaction_id);
    if (v.payer_wallet != 0) w.unum("payer_wallet", v.payer_wallet);
    if (!v.reason.empty()) w.str("reason", v.reason);
  }
  void operator()(const documents_exported& v) {
    w.str("effect", "documents_exported");
    w.str("owner", v.owner);
    w.unum("document_count", v.document_count);
    w.unum("total_bytes", v.total_bytes);
    w.time("at", v.at_us);
  }
  void operator()(const owner_deleted& v) {
    w.str("effect", "owner_deleted");
    w.str("owner", v.owner);
    for (auto [name, ids] : {std::pair{"wallets", &v.wallets}, {"sessions", &v.sessions}, {"documents", &v.documents}}) {
      w.key(name);
      w.open('[');
      for (auto id : *ids) w.element(id);
      w.close(']');
    }
    w.time("at", v.at_us);
    w.key("addresses");
    w.open('[');
    for (const auto& a : v.addresses) {
      w.open('{');
      w.str("chain", to_string(a.chain));
      w.str("address", a.address);
      w.close('}');
    }
    w.close(']');
    for (auto [name, ids] : {std::pair{"groups", &v.groups}, {"payment_requests", &v.payment_requests}}) {
      w.key(name);
      w.open('[');
      for (auto id : *ids) w.element(id);
      w.close(']');
    }
  }
  void operator()(const quotes_forgotten& v) {
    w.str("effect", "quotes_forgotten");
    w.key("quotes");
    w.open('[');
    for (auto id : v.ids) w.element(id);
    w.close(']');
  }
};

void add_accounts(const effect& fx, std::vector<std::uint64_t>& out) {
  if (auto* o = std::get_if<account_opened>(&fx)) out.push_back(o->id);
  else if (auto* s = std::get_if<account_status_changed>(&fx)) out.push_back(s->id);
  else if (auto* b = std::get_if<balance_changed>(&fx)) out.push_back(b->account);
  else if (auto* d = std::get_if<daily_usage>(&fx)) out.push_back(d->account);
  else if (auto* p = std::get_if<pending_opened>(&fx)) {
    out.push_back(p->debit_account);
    out.push_back(p->credit_account);
  } else if (auto* m = std::get_if<money_tx_opened>(&fx)) {
    out.push_back(m->debit_account);
    out.push_back(m->credit_account);
  } else if (auto* pd = std::get_if<payout_destination_registered>(&fx)) {
    out.push_back(pd->wallet);
  } else if (auto* qu = std::get_if<quote_used>(&fx)) {
    out.push_back(qu->wallet);
    if (qu->to_wallet != qu->wallet) out.push_back(qu->to_wallet);
  } else if (auto* mu = std::get_if<monthly_usage>(&fx)) {
    out.push_back(mu->account);
  } else if (auto* pr = std::get_if<payment_request_opened>(&fx)) {
    out.push_back(pr->wallet);
  }
}

}  // namespace

std::string_view event_type_name(const event& e) {
  auto t = event_command_type(e);
  return t == command_type::none ? std::string_view("system") : to_string(t);
}

namespace {

void sorted_accounts(const event& e, std::vector<std::uint64_t>& out) {
  out.clear();
  for (const auto& fx : e.effects) add_accounts(fx, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

}  // namespace

std::vector<std::uint64_t> event_accounts(const event& e) {
  std::vector<std::uint64_t> out;
  sorted_accounts(e, out);
  return out;
}

std::vector<std::string> event_assets(const event& e) {
  std::vector<std::string> out;
  for (const auto& fx : e.effects) {
    if (auto* a = std::get_if<asset_registered>(&fx)) out.push_back(a->code);
    else if (auto* b = std::get_if<balance_changed>(&fx)) out.push_back(b->asset);
    else if (auto* p = std::get_if<pending_opened>(&fx)) out.push_back(p->asset);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string event_to_json(const event& e, const hash256& chain) { return event_to_json(e, chain, event_json_view{}); }

std::string event_to_json(const event& e, const hash256& chain, const event_json_view& view) {
  std::string out;
  out.reserve(512);
  append_event_json(out, e, chain, view);
  return out;
}

void append_event_json(std::string& out, const event& e, const hash256& chain, const event_json_view& view) {
  writer_json w(out);
  w.open('{');
  w.unum("seq", e.seq);
  w.time("log_time", e.log_ts_us);
  w.str("type", event_type_name(e));
  w.str("status", e.status == event_status::accepted ? "accepted" : "rejected");
  w.str("reason", to_string(e.reason));
  if (!e.detail.empty()) w.str("detail", e.detail);
  w.str("principal", e.principal);
  w.str("idempotency_key", e.idempotency_key);
  w.str("request_id", e.request_id);
  w.key("accounts");
  w.open('[');
  // The ids in a buffer of this thread's, not a vector per event.
  thread_local std::vector<std::uint64_t> ids;
  sorted_accounts(e, ids);
  for (auto id : ids) w.element(id);
  w.close(']');
  w.key("effects");
  w.open('[');
  for (const auto& fx : e.effects) {
    w.open('{');
    std::visit(effect_json{w, &view}, fx);
    w.close('}');
  }
  w.close(']');
  w.hash("payload_hash", e.payload_hash);
  w.hash("chain", chain);
  if (view.redacted) {
    w.key("redacted");
    out += "true";
  }
  w.close('}');
}

std::string_view event_csv_header() {
  return "seq,log_time,type,status,reason,principal,idempotency_key,request_id,transaction,account,asset,"
         "d_posted,posted_after,d_held,held_after,d_incoming,incoming_after\r\n";
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_event_csv(std::string& out, const event& e) {
  std::string prefix = std::to_string(e.seq) + ',' + format_rfc3339_us(e.log_ts_us) + ',';
  prefix += event_type_name(e);
  prefix += ',';
  prefix += e.status == event_status::accepted ? "accepted," : "rejected,";
  prefix += to_string(e.reason);
  for (auto s : {&e.principal, &e.idempotency_key, &e.request_id}) {
    prefix += ',';
    append_csv_field(prefix, *s);
  }
  prefix += ',';
  for (const auto& fx : e.effects)
    if (auto* t = std::get_if<transaction_recorded>(&fx)) prefix += std::to_string(t->id);
  bool any = false;
  for (const auto& fx : e.effects) {
    auto* b = std::get_if<balance_changed>(&fx);
    if (!b) continue;
    any = true;
    out += prefix;
    out += ',' + std::to_string(b->account) + ',';
    append_csv_field(out, b->asset);
    for (amount_t v : {b->d_credits_posted - b->d_debits_posted, b->posted_after, b->d_debits_pending,
                       b->debits_pending_after, b->d_credits_pending, b->credits_pending_after}) {
      out += ',';
      append_decimal(out, v);
    }
    out += "\r\n";
  }
  if (!any) out += prefix + ",,,,,,,\r\n";
}

void append_json_escaped(std::string& out, std::string_view s) { json_out::escape_into(out, s); }

}  // namespace ledger
