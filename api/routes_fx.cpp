// Exchange between assets and limit tiers (docs/exchange.md, docs/api.md
// "Exchange"): rates (admin or a service, the rate feed), quotes and
// exchanges (users on their own wallets, or an admin), the house FX
// account's limits, owner tiers and tier limits (admin).
#include "api/commands.h"
#include "api/fx_json.h"
#include "api/routes.h"
#include "schemas/codec.h"
#include "schemas/time.h"

namespace ledger::api {

std::string rate_text(amount_t rate_e18) {
  std::string t = format_amount(rate_e18, rate_scale);
  while (!t.empty() && t.back() == '0') t.pop_back();
  if (!t.empty() && t.back() == '.') t.pop_back();
  return t;
}

void quote_fields(json_out& j, state_reads& s, const quote_issued& q) {
  j.field("quote_id", q.id)
      .field("from_asset", q.from_asset)
      .field("to_asset", q.to_asset)
      .field("side", to_string(q.side))
      .field("rate", rate_text(q.rate_e18))
      .field("fee_bps", q.fee_bps)
      .field("from_amount", s.format(q.from_amount, q.from_asset))
      .field("fee", s.format(q.fee, q.from_asset))
      .field("net_amount", s.format(q.from_amount - q.fee, q.from_asset))
      .field("to_amount", s.format(q.to_amount, q.to_asset))
      .field("expires_at", format_rfc3339_us(q.expires_at_us));
}

namespace {

constexpr std::size_t rates_listed_max = 4096;
constexpr std::size_t tier_limits_listed_max = ledger_assets_max * 4;  // four tiers

// An RFC 3339 time field; `fallback` when absent and not required.
std::int64_t time_field(field_reader& r, std::string_view name, bool required, std::int64_t fallback) {
  std::string at = r.text(name, required, 64);
  if (!r.ok() || at.empty()) return fallback;
  if (auto us = parse_rfc3339_us(at)) return *us;
  r.fail(name, "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z");
  return fallback;
}

// A registered asset code; its scale, or -1 after failing.
int asset_field(state_reads& s, field_reader& r, std::string_view name, std::string& out) {
  return r.asset(name, [&](std::string_view code) { return s.asset_scale(code); }, out);
}

void parse_rate(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  set_rate_cmd c;
  asset_field(s, r, "from_asset", c.from_asset);
  asset_field(s, r, "to_asset", c.to_asset);
  if (r.ok() && c.from_asset == c.to_asset) r.fail("to_asset", "must differ from from_asset");
  c.rate_e18 = r.amount("rate", true, rate_scale);
  if (r.ok() && c.rate_e18 == 0) r.fail("rate", "must be positive");
  c.fee_bps = static_cast<std::uint32_t>(r.integer("fee_bps", false, 0, fx_fee_bps_max));
  c.quote_ttl_s = static_cast<std::uint32_t>(r.integer("quote_ttl_s", false, 1, quote_ttl_s_max));
  if (c.quote_ttl_s == 0) c.quote_ttl_s = 30;
  c.valid_from_us = time_field(r, "valid_from", false, 0);
  c.valid_until_us = time_field(r, "valid_until", true, 0);
  if (r.ok() && c.valid_until_us <= c.valid_from_us) r.fail("valid_until", "must be after valid_from");
  out = std::move(c);
}

void parse_quote(state_reads& s, field_reader& r, const principal& p, std::uint64_t, command_body& out) {
  quote_cmd c;
  c.owner = p.subject;
  int from_scale = asset_field(s, r, "from_asset", c.from_asset);
  int to_scale = asset_field(s, r, "to_asset", c.to_asset);
  if (r.ok() && c.from_asset == c.to_asset) r.fail("to_asset", "must differ from from_asset");
  std::string side = r.text("side", true, 8);
  if (r.ok() && side != "sell" && side != "buy") r.fail("side", "must be sell or buy");
  c.side = side == "buy" ? fx_side::buy : fx_side::sell;
  // Sell: the amount is what the wallet gives; buy: what it receives.
  c.amount = r.amount("amount", true, c.side == fx_side::buy ? to_scale : from_scale);
  out = std::move(c);
}

void parse_exchange(state_reads&, field_reader& r, const principal& p, std::uint64_t, command_body& out) {
  exchange_cmd c;
  c.owner = p.subject;
  c.quote_id = r.id("quote_id");
  c.wallet = r.id("wallet_id");
  c.to_wallet = r.id("to_wallet_id", false);
  out = std::move(c);
}

// A user exchanges on its own wallets only.
std::optional<problem> own_exchange(state_reads& s, const principal& p, const command_body& b) {
  const auto& c = std::get<exchange_cmd>(b);
  if (auto e = s.owned(p, c.wallet, "wallet_id")) return e;
  if (c.to_wallet != 0) return s.owned(p, c.to_wallet, "to_wallet_id");
  return std::nullopt;
}

void parse_fx_limit(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  set_fx_limit_cmd c;
  int scale = asset_field(s, r, "asset", c.asset);
  c.overdraft = r.amount("overdraft", true, scale, true);
  out = std::move(c);
}

std::optional<owner_tier> tier_of(std::string_view t) {
  if (t == "none") return owner_tier::none;
  if (t == "basic") return owner_tier::basic;
  if (t == "enhanced") return owner_tier::enhanced;
  if (t == "full") return owner_tier::full;
  return std::nullopt;
}

owner_tier tier_field(field_reader& r) {
  std::string t = r.text("tier", true, 16);
  auto tier = tier_of(t);
  if (r.ok() && !tier) r.fail("tier", "must be none, basic, enhanced or full");
  return tier.value_or(owner_tier::none);
}

void parse_owner_tier(state_reads&, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  set_owner_tier_cmd c;
  c.owner = r.text("owner", true, owner_bytes_max);
  c.tier = tier_field(r);
  out = std::move(c);
}

void parse_tier_limits(state_reads& s, field_reader& r, const principal&, std::uint64_t, command_body& out) {
  set_tier_limits_cmd c;
  c.tier = tier_field(r);
  int scale = asset_field(s, r, "asset", c.asset);
  c.per_transaction = r.amount("per_transaction", false, scale, true);
  c.daily = r.amount("daily", false, scale, true);
  c.monthly = r.amount("monthly", false, scale, true);
  out = std::move(c);
}

void send_json(exchange& x, json_out& j) {
  http_response r;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(x.svc.ledger.head().seq));
  x.finish(std::move(r));
}

// GET /v1/rates: every rate set, by pair, with its validity window.
void on_list_rates(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(any_role)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  if (auto st = x->svc.ledger.storage().scan_state(keys::rate_prefix(), {}, rates_listed_max, rows); !st)
    return x->fail_status(st, fault::ledger);
  json_out j;
  j.begin_object().key("rates").begin_array();
  for (const auto& [k, v] : rows) {
    rate_record rr;
    if (!decode(v, rr)) continue;
    j.begin_object()
        .field("from_asset", rr.from_asset)
        .field("to_asset", rr.to_asset)
        .field("rate", rate_text(rr.rate_e18))
        .field("fee_bps", rr.fee_bps)
        .field("quote_ttl_s", rr.quote_ttl_s)
        .field("valid_from", format_rfc3339_us(rr.valid_from_us))
        .field("valid_until", format_rfc3339_us(rr.valid_until_us))
        .end_object();
  }
  j.end_array().end_object();
  send_json(*x, j);
}

// GET /v1/quotes/{id}: the quote's terms and whether it was spent. A user
// sees its own quotes only (anything else is 404, so ids cannot be probed).
void on_get_quote(const exchange_ptr& x, std::uint64_t id) {
  if (!x->authenticate(role_user | role_admin | role_auditor)) return;
  std::string v;
  auto st = x->svc.ledger.storage().read_state(keys::quote(id), v);
  quote_record q;
  bool found = st.is_ok() && decode(v, q).is_ok();
  if (!st.is_ok() && st.error_code() != status::code::not_found) return x->fail_status(st, fault::ledger);
  if (!found || (x->who->role_ == role::user && q.q.owner != x->who->subject))
    return x->fail({404, "not-found", "quote " + std::to_string(id) + " not found", "", {}});
  json_out j;
  j.begin_object();
  quote_fields(j, x->svc.state, q.q);
  j.field("owner", q.q.owner).field("status", q.used_by != 0 ? "used" : "open");
  if (q.used_by != 0) j.field("exchange_id", q.used_by);
  j.end_object();
  send_json(*x, j);
}

// GET /v1/tier-limits: every tier's limits, by tier then asset.
void on_list_tier_limits(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_auditor)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  if (auto st = x->svc.ledger.storage().scan_state(keys::tier_limits_prefix(), {}, tier_limits_listed_max, rows); !st)
    return x->fail_status(st, fault::ledger);
  auto& s = x->svc.state;
  json_out j;
  j.begin_object().key("tier_limits").begin_array();
  for (const auto& [k, v] : rows) {
    tier_limits_record t;
    if (!decode(v, t)) continue;
    j.begin_object()
        .field("tier", to_string(t.tier))
        .field("asset", t.asset)
        .field("per_transaction", s.format(t.per_transaction, t.asset))
        .field("daily", s.format(t.daily, t.asset))
        .field("monthly", s.format(t.monthly, t.asset))
        .end_object();
  }
  j.end_array().end_object();
  send_json(*x, j);
}

// The house FX account's overdraft limit in every asset that has one
// (docs/exchange.md, "The house FX account's limit"); assets without one
// are held at zero.
void on_list_fx_limits(const exchange_ptr& x, std::uint64_t) {
  if (!x->authenticate(role_admin | role_auditor)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  if (auto st = x->svc.ledger.storage().scan_state(keys::fx_limit_prefix(), {}, ledger_assets_max, rows); !st)
    return x->fail_status(st, fault::ledger);
  const std::string prefix = keys::fx_limit_prefix();
  json_out j;
  j.begin_object().key("fx_limits").begin_array();
  for (const auto& [k, v] : rows) {
    reader rd(v);
    amount_t overdraft = rd.amount();
    if (!rd.ok() || !rd.at_end() || k.size() <= prefix.size()) continue;
    std::string asset = k.substr(prefix.size());
    j.begin_object().field("asset", asset).field("overdraft", x->svc.state.format(overdraft, asset)).end_object();
  }
  j.end_array().end_object();
  send_json(*x, j);
}

}  // namespace

void add_fx_routes(router& r) {
  add_command(r, "/v1/rates", {"set_rate", 200, role_admin | role_service, parse_rate, no_check});
  r.add("GET", "/v1/rates", "list_rates", &on_list_rates);
  add_command(r, "/v1/quotes", {"quote", 201, role_user | role_admin, parse_quote, no_check});
  r.add("GET", "/v1/quotes/{id}", "get_quote", &on_get_quote);
  add_command(r, "/v1/exchanges", {"exchange", 201, role_user | role_admin, parse_exchange, own_exchange});
  add_command(r, "/v1/fx-limits", {"set_fx_limit", 200, role_admin, parse_fx_limit, no_check});
  r.add("GET", "/v1/fx-limits", "list_fx_limits", &on_list_fx_limits);
  add_command(r, "/v1/owner-tiers", {"set_owner_tier", 200, role_admin, parse_owner_tier, no_check});
  add_command(r, "/v1/tier-limits", {"set_tier_limits", 200, role_admin, parse_tier_limits, no_check});
  r.add("GET", "/v1/tier-limits", "list_tier_limits", &on_list_tier_limits);
}

}  // namespace ledger::api
