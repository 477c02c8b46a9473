// Assets, wallets and system accounts: registering and listing assets,
// opening, reading, listing, freezing, unfreezing and closing wallets, and
// opening system accounts.
#include "api/commands.h"
#include "api/exchange.h"
#include "api/request_parse.h"
#include "api/routes.h"
#include "base/json_out.h"
#include "schemas/codec.h"

namespace ledger::api {

namespace {

void parse_register_asset(state_reads&, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  register_asset_cmd c;
  c.code = r.text("code", true, asset_code_bytes_max);
  c.scale = static_cast<std::uint8_t>(r.integer("scale", true, 0, scale_max));
  int scale = r.ok() ? c.scale : -1;
  c.min_amount = r.amount("min_amount", false, scale);
  if (c.min_amount == 0) c.min_amount = 1;
  c.max_amount = r.amount("max_amount", false, scale);
  if (c.max_amount == 0) c.max_amount = amount_limit;
  for (char ch : c.code)
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')) {
      r.fail("code", "may contain only A-Z, 0-9, '_' and '-'");
      break;
    }
  if (c.max_amount < c.min_amount) r.fail("max_amount", "must not be below min_amount");
  out = std::move(c);
}

// One item of open_wallet's "assets"; false after recording an error in `r`.
bool read_wallet_asset(state_reads& s, field_reader& r, const principal& p, simdjson::dom::element item,
                       const std::string& prefix, wallet_asset& w) {
  simdjson::dom::object o;
  if (item.get_object().get(o)) {
    r.fail(prefix, "must be an object");
    return false;
  }
  field_reader ir(o, prefix);
  int scale = ir.asset("asset", [&](std::string_view code) { return s.asset_scale(code); }, w.asset);
  w.overdraft_limit = ir.amount("overdraft_limit", false, scale, true);
  // Credit is the ledger operator's to grant, never the user's.
  if (w.overdraft_limit > 0 && p.role_ != role::admin)
    ir.fail("overdraft_limit", "only an admin may grant an overdraft", "forbidden", 403);
  w.daily_debit_limit = ir.amount("daily_debit_limit", false, scale, true);
  if (auto e = ir.finish()) {
    r.fail(e->field, e->detail, e->type, static_cast<int>(e->http_status));
    return false;
  }
  return true;
}

void parse_open_wallet(state_reads& s, field_reader& r, const principal& p, std::uint64_t, command_body& out) {
  open_account_cmd c;
  c.kind = account_kind::user;
  std::string owner = r.text("owner", false, owner_bytes_max);
  if (p.role_ == role::user && !owner.empty() && owner != p.subject) r.fail("owner", "a user opens wallets for itself only");
  if (p.role_ != role::user && owner.empty()) r.fail("owner", "is required");
  c.owner = owner.empty() ? p.subject : owner;
  if (auto arr = r.array("assets", true, wallet_assets_max)) {
    if (arr->size() == 0) r.fail("assets", "a wallet needs at least one asset");
    std::size_t i = 0;
    for (auto item : *arr) {
      wallet_asset w;
      if (!read_wallet_asset(s, r, p, item, "assets[" + std::to_string(i++) + "]", w)) break;
      c.assets.push_back(std::move(w));
    }
  }
  out = std::move(c);
}

void parse_open_system_account(state_reads&, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  out = open_account_cmd{account_kind::system, r.text("name", true, owner_bytes_max), {}};
}

void parse_freeze(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  out = freeze_account_cmd{id_or_path(r, "wallet_id", path_id)};
}

void parse_unfreeze(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  out = unfreeze_account_cmd{id_or_path(r, "wallet_id", path_id)};
}

void parse_close(state_reads&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
  out = close_account_cmd{id_or_path(r, "wallet_id", path_id)};
}

void wallet_json(json_out& j, state_reads& s, const account_record& a) {
  j.begin_object().field("id", a.id).field("owner", a.owner).field("status", to_string(a.status));
  j.key("balances").begin_array();
  for (const auto& b : a.balances) {
    j.begin_object()
        .field("asset", b.asset)
        .field("posted", s.format(b.posted(), b.asset))
        .field("held", s.format(b.debits_pending, b.asset))
        .field("incoming", s.format(b.credits_pending, b.asset))
        .field("available", s.format(b.available(), b.asset))
        .field("overdraft_limit", s.format(b.overdraft_limit, b.asset))
        // The seed's names for the same figures (docs/api.md, "Balances").
        .field("total", s.format(b.posted(), b.asset))
        .field("pending_incoming", s.format(b.credits_pending, b.asset))
        .field("pending_outgoing", s.format(b.debits_pending, b.asset));
    if (b.daily_debit_limit > 0) j.field("daily_debit_limit", s.format(b.daily_debit_limit, b.asset));
    j.end_object();
  }
  j.end_array().end_object();
}

void on_get_wallet(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  auto& s = x->svc.state;
  if (auto p = s.owned(*x->who, id, "")) return x->fail(*p);
  std::optional<account_record> a;
  if (auto st = s.read_account(id, a); !st) return x->fail_status(st, fault::ledger);
  if (!a || a->kind != account_kind::user)
    return x->fail({404, "not-found", "wallet " + std::to_string(id) + " not found", "", {}});
  json_out j;
  wallet_json(j, s, *a);
  http_response r;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(x->svc.ledger.head().seq));
  x->finish(std::move(r));
}

struct wallet_page {
  std::string owner;
  std::size_t limit = 50;
  std::uint64_t after = 0;
};

// Reads owner, limit and after; false after answering.
bool read_wallet_page(exchange& x, wallet_page& page) {
  std::size_t page_max = x.svc.config.page_size_max;
  for (const auto& [k, v] : x.query) {
    if (k == "owner") {
      page.owner = v;
    } else if (k == "limit") {
      auto n = parse_id(v);
      if (!n || *n > page_max)
        return x.fail({400, "invalid-field", "limit must be 1 to " + std::to_string(page_max), "limit", {}}), false;
      page.limit = *n;
    } else if (k == "after") {
      auto n = parse_id(v);
      if (!n) return x.fail({400, "invalid-field", "after must be a wallet id", "after", {}}), false;
      page.after = *n;
    } else {
      return x.fail({400, "unknown-field", "unknown query parameter", k, {}}), false;
    }
  }
  if (x.who->role_ == role::user) {
    if (!page.owner.empty() && page.owner != x.who->subject)
      return x.fail({404, "not-found", "no such owner", "owner", {}}), false;
    page.owner = x.who->subject;
  } else if (page.owner.empty()) {
    return x.fail({400, "invalid-field", "is required", "owner", {}}), false;
  }
  return true;
}

void on_list_wallets(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  wallet_page page;
  if (!read_wallet_page(*x, page)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  std::string start = page.after ? keys::owner_index(page.owner, page.after) : std::string();
  if (auto st = x->svc.ledger.storage().scan_state(keys::owner_prefix(page.owner), start, page.limit + 1, rows); !st)
    return x->fail_status(st, fault::ledger);
  json_out j;
  j.begin_object().key("wallets").begin_array();
  std::uint64_t last = 0;
  for (std::size_t i = 0; i < rows.size() && i < page.limit; ++i) {
    auto id = keys::owner_index_account(rows[i].first);
    if (auto a = x->svc.state.account(id)) wallet_json(j, x->svc.state, *a);
    last = id;
  }
  j.end_array();
  if (rows.size() > page.limit) j.field("next_after", last);
  j.end_object();
  http_response r;
  r.body = j.take();
  x->finish(std::move(r));
}

void on_list_assets(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(any_role)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  if (auto st = x->svc.ledger.storage().scan_state(keys::asset_prefix(), {}, 10'000, rows); !st)
    return x->fail_status(st, fault::ledger);
  json_out j;
  j.begin_object().key("assets").begin_array();
  for (const auto& [k, v] : rows) {
    asset_record a;
    if (!decode(v, a)) continue;
    j.begin_object()
        .field("code", a.code)
        .field("scale", static_cast<int>(a.scale))
        .field("min_amount", format_amount(a.min_amount, a.scale))
        .field("max_amount", format_amount(a.max_amount, a.scale))
        .end_object();
  }
  j.end_array().end_object();
  http_response r;
  r.body = j.take();
  x->finish(std::move(r));
}

}  // namespace

void add_wallet_routes(router& r) {
  add_command(r, "/v1/assets", {"register_asset", 201, role_admin, parse_register_asset, no_check});
  r.add("GET", "/v1/assets", "list_assets", &on_list_assets);
  add_command(r, "/v1/wallets", {"open_wallet", 201, role_user | role_admin, parse_open_wallet, no_check});
  r.add("GET", "/v1/wallets", "list_wallets", &on_list_wallets);
  r.add("GET", "/v1/wallets/{id}", "get_wallet", &on_get_wallet);
  add_command(r, "/v1/wallets/{id}/freeze", {"freeze_wallet", 200, role_admin, parse_freeze, no_check});
  add_command(r, "/v1/wallets/{id}/unfreeze", {"unfreeze_wallet", 200, role_admin, parse_unfreeze, no_check});
  add_command(r, "/v1/wallets/{id}/close", {"close_wallet", 200, role_admin, parse_close, no_check});
  add_command(r, "/v1/system-accounts",
              {"open_system_account", 201, role_admin, parse_open_system_account, no_check});
}

}  // namespace ledger::api
