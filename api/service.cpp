#include "api/service.h"

#include <charconv>
#include <ctime>
#include <random>

#include "api/json_out.h"
#include "api/request_json.h"
#include "engine/state.h"
#include "schemas/codec.h"
#include "schemas/time.h"

namespace ledger::api {

namespace {

constexpr unsigned role_user = 1, role_service = 2, role_admin = 4, role_auditor = 8;
constexpr unsigned any_role = role_user | role_service | role_admin | role_auditor;

unsigned bit(role r) {
  switch (r) {
    case role::user: return role_user;
    case role::service: return role_service;
    case role::admin: return role_admin;
    case role::auditor: return role_auditor;
  }
  return 0;
}

std::string slug_of(reason r) {
  std::string s(to_string(r));
  for (auto& c : s)
    if (c == '_') c = '-';
  return s;
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c == ':'))
      return false;
  return true;
}

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s(32, '0');
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    s[static_cast<std::size_t>(i)] = hex[(a >> (4 * i)) & 15];
    s[static_cast<std::size_t>(16 + i)] = hex[(b >> (4 * i)) & 15];
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Splits "/v1/wallets/12?x=1" into path segments and query pairs. Returns
// false for anything that is not a plain path (encoded or empty segments).
bool split_target(std::string_view target, std::vector<std::string_view>& segments,
                  std::vector<std::pair<std::string, std::string>>& query) {
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  while (!path.empty()) {
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    if (seg.empty() || seg.find('%') != std::string_view::npos) return false;
    segments.push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
    if (path.empty()) return false;  // trailing slash
  }
  if (q == std::string_view::npos) return true;
  std::string_view qs = target.substr(q + 1);
  while (!qs.empty()) {
    auto amp = qs.find('&');
    auto pair = qs.substr(0, amp);
    auto eq = pair.find('=');
    auto decode = [](std::string_view in, std::string& out) {
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '+') {
          out += ' ';
        } else if (in[i] == '%') {
          if (i + 2 >= in.size()) return false;
          int v = 0;
          auto r = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
          if (r.ec != std::errc() || r.ptr != in.data() + i + 3) return false;
          out += static_cast<char>(v);
          i += 2;
        } else {
          out += in[i];
        }
      }
      return true;
    };
    std::string k, v;
    if (!decode(pair.substr(0, eq), k) || (eq != std::string_view::npos && !decode(pair.substr(eq + 1), v))) return false;
    if (!k.empty()) query.emplace_back(std::move(k), std::move(v));
    if (amp == std::string_view::npos) break;
    qs.remove_prefix(amp + 1);
  }
  return true;
}

std::optional<std::uint64_t> parse_id(std::string_view s) {
  std::uint64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v == 0 || s[0] == '0') return std::nullopt;
  return v;
}

const char* title_of(std::string_view slug) {
  static const std::pair<const char*, const char*> titles[] = {
      {"malformed-json", "Malformed JSON"},
      {"invalid-field", "Invalid field"},
      {"unknown-field", "Unknown field"},
      {"unknown-asset", "Unknown asset"},
      {"body-too-large", "Request body too large"},
      {"unsupported-media-type", "Unsupported media type"},
      {"not-found", "Not found"},
      {"method-not-allowed", "Method not allowed"},
      {"unauthorized", "Unauthorized"},
      {"forbidden", "Forbidden"},
      {"idempotency-key-missing", "Idempotency-Key header required"},
      {"idempotency-key-invalid", "Idempotency-Key header invalid"},
      {"request-in-flight", "A request with this Idempotency-Key is in progress"},
      {"idempotency-conflict", "Idempotency-Key reused with another request body"},
      {"overloaded", "The ledger is busy; retry later"},
      {"unavailable", "The ledger is unavailable"},
      {"shutting-down", "The ledger is shutting down"},
  };
  for (const auto& [k, v] : titles)
    if (slug == k) return v;
  return "Command rejected";
}

}  // namespace

struct service::context {
  service* svc = nullptr;
  http_request req;
  responder done;
  std::string request_id;
  std::string route = "unmatched";
  std::vector<std::string_view> segments;
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<principal> who;
  std::int64_t start_ns = 0;
  std::vector<std::pair<std::string, std::string>> cors_headers;
  std::vector<std::string> keys_held;
};

using ctx_ptr = std::shared_ptr<service::context>;

struct problem_spec {
  unsigned status = 400;
  std::string slug;
  std::string detail;
  std::string field;
};

// Helpers the operations table uses; a friend of service.
struct service_access {
  service& s;

  std::optional<int> asset_scale(std::string_view code) {
    {
      std::shared_lock lock(s.assets_mu_);
      if (auto it = s.asset_scales_.find(std::string(code)); it != s.asset_scales_.end()) return it->second;
    }
    std::string v;
    asset_record a;
    if (!s.engine_.storage().read_state(keys::asset(code), v) || !decode(v, a)) return std::nullopt;
    std::unique_lock lock(s.assets_mu_);
    s.asset_scales_[a.code] = a.scale;
    return a.scale;
  }

  std::optional<account_record> account(std::uint64_t id) {
    std::string v;
    account_record a;
    if (id == 0 || !s.engine_.storage().read_state(keys::account(id), v) || !decode(v, a)) return std::nullopt;
    return a;
  }

  std::optional<pending_record> pending(std::uint64_t id) {
    std::string v;
    pending_record p;
    if (s.engine_.storage().read_state(keys::open_pending(id), v) && decode(v, p)) return p;
    if (s.engine_.storage().read_state(keys::closed_pending(id), v) && decode(v, p)) return p;
    return std::nullopt;
  }

  // A user may only act on wallets it owns; anything else looks like a
  // wallet that does not exist (404), so ids cannot be probed.
  std::optional<problem_spec> owned(const principal& p, std::uint64_t wallet, std::string_view field) {
    if (p.role_ != role::user) return std::nullopt;
    auto a = account(wallet);
    if (!a || a->kind != account_kind::user || a->owner != p.subject)
      return problem_spec{404, "not-found", "wallet " + std::to_string(wallet) + " not found", std::string(field)};
    return std::nullopt;
  }
};

// One kind of command the API accepts, by route or as a batch item.
struct service::operation {
  std::string_view type;
  unsigned success_status;
  unsigned roles;
  // Reads fields (and the path id, when routed by path) into a command body.
  void (*parse)(service_access&, field_reader&, const principal&, std::uint64_t path_id, command_body&);
  // Object-level authorization beyond the role.
  std::optional<problem_spec> (*authorize)(service_access&, const principal&, const command_body&);
};

namespace {

using op = service::operation;

std::optional<problem_spec> no_check(service_access&, const principal&, const command_body&) { return std::nullopt; }

std::uint64_t id_or_path(field_reader& r, std::string_view name, std::uint64_t path_id) {
  return path_id != 0 ? path_id : r.id(name);
}

const op operations[] = {
    {"register_asset", 201, role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t, command_body& out) {
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
     },
     no_check},
    {"open_wallet", 201, role_user | role_admin,
     [](service_access& a, field_reader& r, const principal& p, std::uint64_t, command_body& out) {
       open_account_cmd c;
       c.kind = account_kind::user;
       std::string owner = r.text("owner", false, owner_bytes_max);
       if (p.role_ == role::user && !owner.empty() && owner != p.subject)
         r.fail("owner", "a user opens wallets for itself only");
       if (p.role_ != role::user && owner.empty()) r.fail("owner", "is required");
       c.owner = owner.empty() ? p.subject : owner;
       if (auto arr = r.array("assets", true, wallet_assets_max)) {
         if (arr->size() == 0) r.fail("assets", "a wallet needs at least one asset");
         std::size_t i = 0;
         for (auto item : *arr) {
           simdjson::dom::object o;
           std::string prefix = "assets[" + std::to_string(i++) + "]";
           if (item.get_object().get(o)) {
             r.fail(prefix, "must be an object");
             break;
           }
           field_reader ir(o, prefix);
           wallet_asset w;
           int scale = ir.asset("asset", [&](std::string_view code) { return a.asset_scale(code); }, w.asset);
           w.overdraft_limit = ir.amount("overdraft_limit", false, scale, true);
           // Credit is the ledger operator's to grant, never the user's.
           if (w.overdraft_limit > 0 && p.role_ != role::admin)
             ir.fail("overdraft_limit", "only an admin may grant an overdraft", "forbidden", 403);
           w.daily_debit_limit = ir.amount("daily_debit_limit", false, scale, true);
           if (auto e = ir.finish()) {
             r.fail(e->field, e->detail, e->type, static_cast<int>(e->http_status));
             break;
           }
           c.assets.push_back(std::move(w));
         }
       }
       out = std::move(c);
     },
     no_check},
    {"open_system_account", 201, role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t, command_body& out) {
       out = open_account_cmd{account_kind::system, r.text("name", true, owner_bytes_max), {}};
     },
     no_check},
    {"deposit", 201, role_service | role_admin,
     [](service_access& a, field_reader& r, const principal&, std::uint64_t, command_body& out) {
       deposit_cmd c;
       c.wallet = r.id("wallet_id");
       int scale = r.asset("asset", [&](std::string_view code) { return a.asset_scale(code); }, c.asset);
       c.amount = r.amount("amount", true, scale);
       c.provider = r.text("provider", true, owner_bytes_max - 9);  // "clearing:" + provider is a name too
       c.reference = r.text("reference", false, reference_bytes_max);
       c.metadata = r.object_text("metadata", metadata_bytes_max);
       out = std::move(c);
     },
     no_check},
    {"withdraw", 201, role_user | role_admin,
     [](service_access& a, field_reader& r, const principal&, std::uint64_t, command_body& out) {
       withdraw_cmd c;
       c.wallet = r.id("wallet_id");
       int scale = r.asset("asset", [&](std::string_view code) { return a.asset_scale(code); }, c.asset);
       c.amount = r.amount("amount", true, scale);
       c.reference = r.text("reference", false, reference_bytes_max);
       c.metadata = r.object_text("metadata", metadata_bytes_max);
       out = std::move(c);
     },
     [](service_access& a, const principal& p, const command_body& b) {
       return a.owned(p, std::get<withdraw_cmd>(b).wallet, "wallet_id");
     }},
    {"settle_withdrawal", 200, role_service | role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       out = settle_withdrawal_cmd{id_or_path(r, "withdrawal_id", path_id)};
     },
     no_check},
    {"fail_withdrawal", 200, role_service | role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       fail_withdrawal_cmd c;
       c.withdrawal_id = id_or_path(r, "withdrawal_id", path_id);
       c.reason = r.text("reason", false, reference_bytes_max);
       out = std::move(c);
     },
     no_check},
    {"transfer", 201, role_user | role_admin,
     [](service_access& a, field_reader& r, const principal&, std::uint64_t, command_body& out) {
       transfer_cmd c;
       c.from = r.id("from_wallet_id");
       c.to = r.id("to_wallet_id");
       int scale = r.asset("asset", [&](std::string_view code) { return a.asset_scale(code); }, c.asset);
       c.amount = r.amount("amount", true, scale);
       c.fee = r.amount("fee", false, scale, true);
       c.reference = r.text("reference", false, reference_bytes_max);
       c.metadata = r.object_text("metadata", metadata_bytes_max);
       out = std::move(c);
     },
     [](service_access& a, const principal& p, const command_body& b) {
       return a.owned(p, std::get<transfer_cmd>(b).from, "from_wallet_id");
     }},
    {"hold", 201, role_user | role_service | role_admin,
     [](service_access& a, field_reader& r, const principal&, std::uint64_t, command_body& out) {
       hold_cmd c;
       c.wallet = r.id("wallet_id");
       c.to = r.id("to_account_id");
       int scale = r.asset("asset", [&](std::string_view code) { return a.asset_scale(code); }, c.asset);
       c.amount = r.amount("amount", true, scale);
       std::string at = r.text("expires_at", true, 64);
       if (r.ok()) {
         if (auto us = parse_rfc3339_us(at))
           c.expires_at_us = *us;
         else
           r.fail("expires_at", "must be an RFC 3339 date-time such as 2026-11-22T10:00:00Z");
       }
       c.reference = r.text("reference", false, reference_bytes_max);
       c.metadata = r.object_text("metadata", metadata_bytes_max);
       out = std::move(c);
     },
     [](service_access& a, const principal& p, const command_body& b) {
       return a.owned(p, std::get<hold_cmd>(b).wallet, "wallet_id");
     }},
    {"capture", 200, role_service | role_admin,
     [](service_access& a, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       capture_cmd c;
       c.hold_id = id_or_path(r, "hold_id", path_id);
       // The amount is in the hold's asset; an unknown hold is left for the
       // engine to reject (and record).
       auto p = r.ok() ? a.pending(c.hold_id) : std::nullopt;
       int scale = p ? a.asset_scale(p->asset).value_or(-1) : -1;
       if (!p) {
         // Still refuse an amount we cannot interpret.
         if (r.text("amount", false, 64).size() > 0 && r.ok()) r.fail("amount", "the hold does not exist", "not-found", 404);
       } else {
         c.amount = r.amount("amount", false, scale, true);  // "0" or absent: the whole hold
       }
       out = std::move(c);
     },
     no_check},
    {"void_hold", 200, role_service | role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       out = void_hold_cmd{id_or_path(r, "hold_id", path_id)};
     },
     no_check},
    {"reverse", 201, role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       reverse_cmd c;
       c.transaction_id = id_or_path(r, "transaction_id", path_id);
       c.reason = r.text("reason", false, reference_bytes_max);
       out = std::move(c);
     },
     no_check},
    {"freeze_wallet", 200, role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       out = freeze_account_cmd{id_or_path(r, "wallet_id", path_id)};
     },
     no_check},
    {"unfreeze_wallet", 200, role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       out = unfreeze_account_cmd{id_or_path(r, "wallet_id", path_id)};
     },
     no_check},
    {"close_wallet", 200, role_admin,
     [](service_access&, field_reader& r, const principal&, std::uint64_t path_id, command_body& out) {
       out = close_account_cmd{id_or_path(r, "wallet_id", path_id)};
     },
     no_check},
};

const op* find_operation(std::string_view type) {
  for (const auto& o : operations)
    if (o.type == type) return &o;
  return nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------
// The request pipeline. Kept in one class so each step is a short function.

class request_handler {
 public:
  request_handler(service& s, ctx_ptr c, const service_config& cfg, const jwt_verifier& jwt, backend& e, metrics& m,
                  logger& log, clock& clk, std::atomic<bool>& draining, std::atomic<std::size_t>& in_flight,
                  std::mutex& keys_mu, std::unordered_set<std::string>& keys)
      : s_(s), c_(std::move(c)), cfg_(cfg), jwt_(jwt), engine_(e), metrics_(m), log_(log), clock_(clk),
        draining_(draining), in_flight_(in_flight), keys_mu_(keys_mu), keys_(keys) {}

  void run();

 private:
  struct route {
    const char* method;
    std::vector<const char*> pattern;  // "{id}" matches a positive integer
    const char* name;
    void (request_handler::*handler)(std::uint64_t id);
    const char* op = nullptr;  // for command routes
  };
  static const std::vector<route>& routes();

 public:
  static std::vector<route_info> route_list() {
    std::vector<route_info> out;
    for (const auto& r : routes()) {
      std::string path;
      for (const char* seg : r.pattern) path += std::string("/") + seg;
      out.push_back({r.method, path, r.name});
    }
    return out;
  }

 private:

  void finish(http_response&& r);
  void fail(const problem_spec& p, std::vector<std::pair<std::string, std::string>> extra = {});
  bool authenticate(unsigned roles);
  bool json_content_type(bool body_required);

  void on_health(std::uint64_t);
  void on_ready(std::uint64_t);
  void on_metrics(std::uint64_t);
  void on_command(std::uint64_t id);
  void on_batch(std::uint64_t);
  void on_get_wallet(std::uint64_t id);
  void on_list_wallets(std::uint64_t);
  void on_list_assets(std::uint64_t);
  void on_history(std::uint64_t id);
  void on_statement(std::uint64_t id);
  void on_balance_at(std::uint64_t id);
  void on_transaction(std::uint64_t id);
  void on_find_transactions(std::uint64_t);
  // Shared by the read-model routes: query parameters, access, min_seq, run.
  void read(read_query::kind what, std::uint64_t id, std::initializer_list<const char*> allowed,
            std::initializer_list<const char*> required, bool wallet_scoped);

  bool reserve_keys(const std::vector<command>& cmds);
  void submit(std::vector<command> cmds, std::vector<const service::operation*> ops, bool batch);
  void respond_outcomes(const std::vector<const service::operation*>& ops, std::vector<outcome>&& outs, bool batch);
  std::pair<unsigned, std::string> outcome_body(const service::operation& op, const outcome& o, std::string& content_type);
  void balance_json(json_out& j, const balance_changed& b);
  void wallet_json(json_out& j, const account_record& a);
  std::string format(amount_t v, std::string_view asset);

  service& s_;
  ctx_ptr c_;
  const service_config& cfg_;
  const jwt_verifier& jwt_;
  backend& engine_;
  metrics& metrics_;
  logger& log_;
  clock& clock_;
  std::atomic<bool>& draining_;
  std::atomic<std::size_t>& in_flight_;
  std::mutex& keys_mu_;
  std::unordered_set<std::string>& keys_;
  const service::operation* op_ = nullptr;
};

const std::vector<request_handler::route>& request_handler::routes() {
  using h = request_handler;
  static const std::vector<route> r = {
      {"GET", {"healthz"}, "healthz", &h::on_health},
      {"GET", {"readyz"}, "readyz", &h::on_ready},
      {"GET", {"metrics"}, "metrics", &h::on_metrics},
      {"POST", {"v1", "assets"}, "register_asset", &h::on_command, "register_asset"},
      {"GET", {"v1", "assets"}, "list_assets", &h::on_list_assets},
      {"POST", {"v1", "wallets"}, "open_wallet", &h::on_command, "open_wallet"},
      {"GET", {"v1", "wallets"}, "list_wallets", &h::on_list_wallets},
      {"GET", {"v1", "wallets", "{id}"}, "get_wallet", &h::on_get_wallet},
      {"POST", {"v1", "wallets", "{id}", "freeze"}, "freeze_wallet", &h::on_command, "freeze_wallet"},
      {"POST", {"v1", "wallets", "{id}", "unfreeze"}, "unfreeze_wallet", &h::on_command, "unfreeze_wallet"},
      {"POST", {"v1", "wallets", "{id}", "close"}, "close_wallet", &h::on_command, "close_wallet"},
      {"POST", {"v1", "system-accounts"}, "open_system_account", &h::on_command, "open_system_account"},
      {"POST", {"v1", "deposits"}, "deposit", &h::on_command, "deposit"},
      {"POST", {"v1", "withdrawals"}, "withdraw", &h::on_command, "withdraw"},
      {"POST", {"v1", "withdrawals", "{id}", "settle"}, "settle_withdrawal", &h::on_command, "settle_withdrawal"},
      {"POST", {"v1", "withdrawals", "{id}", "fail"}, "fail_withdrawal", &h::on_command, "fail_withdrawal"},
      {"POST", {"v1", "transfers"}, "transfer", &h::on_command, "transfer"},
      {"POST", {"v1", "holds"}, "hold", &h::on_command, "hold"},
      {"POST", {"v1", "holds", "{id}", "capture"}, "capture", &h::on_command, "capture"},
      {"POST", {"v1", "holds", "{id}", "void"}, "void_hold", &h::on_command, "void_hold"},
      {"POST", {"v1", "transactions", "{id}", "reverse"}, "reverse", &h::on_command, "reverse"},
      {"POST", {"v1", "batch"}, "batch", &h::on_batch},
      {"GET", {"v1", "wallets", "{id}", "transactions"}, "wallet_history", &h::on_history},
      {"GET", {"v1", "wallets", "{id}", "statement"}, "wallet_statement", &h::on_statement},
      {"GET", {"v1", "wallets", "{id}", "balance-at"}, "wallet_balance_at", &h::on_balance_at},
      {"GET", {"v1", "transactions", "{id}"}, "get_transaction", &h::on_transaction},
      {"GET", {"v1", "transactions"}, "find_transactions", &h::on_find_transactions},
  };
  return r;
}

void request_handler::run() {
  auto& req = c_->req;
  if (auto origin = req.header("origin"); !origin.empty()) {
    for (const auto& allowed : cfg_.cors_origins)
      if (allowed == origin) {
        c_->cors_headers = {{"Access-Control-Allow-Origin", std::string(origin)},
                            {"Vary", "Origin"},
                            {"Access-Control-Expose-Headers", "Ledger-Seq, Idempotent-Replayed, X-Request-ID, Retry-After"}};
        break;
      }
  }
  if (!split_target(req.target, c_->segments, c_->query))
    return fail({404, "not-found", "no resource at this path"});

  const route* path_match = nullptr;
  std::uint64_t id = 0;
  std::string allow;
  for (const auto& r : routes()) {
    if (r.pattern.size() != c_->segments.size()) continue;
    bool ok = true;
    std::uint64_t rid = 0;
    for (std::size_t i = 0; i < r.pattern.size() && ok; ++i) {
      if (std::string_view(r.pattern[i]) == "{id}") {
        auto v = parse_id(c_->segments[i]);
        ok = v.has_value();
        rid = v.value_or(0);
      } else {
        ok = c_->segments[i] == r.pattern[i];
      }
    }
    if (!ok) continue;
    allow += allow.empty() ? r.method : std::string(", ") + r.method;
    if (req.method == r.method) {
      path_match = &r;
      id = rid;
    }
  }
  if (req.method == "OPTIONS" && !allow.empty()) {
    c_->route = "preflight";
    if (c_->cors_headers.empty()) return fail({403, "forbidden", "origin not allowed"});
    http_response r;
    r.status = 204;
    r.content_type.clear();
    r.headers = {{"Access-Control-Allow-Methods", allow + ", OPTIONS"},
                 {"Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID"},
                 {"Access-Control-Max-Age", "600"}};
    return finish(std::move(r));
  }
  if (!path_match) {
    if (allow.empty()) return fail({404, "not-found", "no resource at this path"});
    return fail({405, "method-not-allowed", req.method + " is not allowed here"}, {{"Allow", allow}});
  }
  c_->route = path_match->name;
  if (path_match->op) op_ = find_operation(path_match->op);
  (this->*(path_match->handler))(id);
}

void request_handler::finish(http_response&& r) {
  r.headers.emplace_back("X-Request-ID", c_->request_id);
  for (auto& h : c_->cors_headers) r.headers.push_back(h);
  if (!c_->keys_held.empty()) {
    std::lock_guard lock(keys_mu_);
    for (const auto& k : c_->keys_held) keys_.erase(k);
    c_->keys_held.clear();
  }
  double secs = double(clock_.monotonic_ns() - c_->start_ns) / 1e9;
  metrics_.record(c_->route, r.status, secs);
  log_.write("info", "request",
             {{"request_id", c_->request_id},
              {"method", c_->req.method},
              {"route", c_->route},
              {"status", std::to_string(r.status)},
              {"duration_ms", std::to_string(secs * 1000.0)},
              {"principal", c_->who ? c_->who->subject : ""},
              {"remote", c_->req.remote}});
  auto done = std::move(c_->done);
  in_flight_--;
  done(std::move(r));
}

void request_handler::fail(const problem_spec& p, std::vector<std::pair<std::string, std::string>> extra) {
  json_out j;
  j.begin_object()
      .field("type", "/problems/" + p.slug)
      .field("title", title_of(p.slug))
      .field("status", p.status)
      .field("detail", p.detail)
      .field("instance", c_->req.target.substr(0, c_->req.target.find('?')))
      .field("request_id", c_->request_id);
  if (!p.field.empty()) j.field("field", p.field);
  j.end_object();
  http_response r;
  r.status = p.status;
  r.content_type = "application/problem+json";
  r.body = j.take();
  r.headers = std::move(extra);
  finish(std::move(r));
}

bool request_handler::authenticate(unsigned roles) {
  auto h = c_->req.header("authorization");
  if (h.size() < 7 || lower(h.substr(0, 7)) != "bearer ") {
    fail({401, "unauthorized", "a bearer token is required"}, {{"WWW-Authenticate", "Bearer"}});
    return false;
  }
  auto v = jwt_.verify(h.substr(7), clock_.now_us() / 1'000'000);
  if (auto* e = std::get_if<jwt_error>(&v)) {
    fail({401, "unauthorized", "invalid token: " + e->reason}, {{"WWW-Authenticate", "Bearer error=\"invalid_token\""}});
    return false;
  }
  c_->who = std::get<principal>(v);
  if (!(bit(c_->who->role_) & roles)) {
    fail({403, "forbidden", "role " + std::string(to_string(c_->who->role_)) + " may not do this"});
    return false;
  }
  return true;
}

bool request_handler::json_content_type(bool body_required) {
  if (!body_required && c_->req.body.empty()) return true;
  auto ct = lower(c_->req.header("content-type"));
  auto semi = ct.find(';');
  std::string base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  if (base != "application/json") {
    fail({415, "unsupported-media-type", "Content-Type must be application/json"});
    return false;
  }
  return true;
}

void request_handler::on_health(std::uint64_t) {
  http_response r;
  r.body = "{\"status\":\"ok\"}";
  finish(std::move(r));
}

void request_handler::on_ready(std::uint64_t) {
  status health = engine_.health();
  bool ready = health.is_ok() && !draining_.load();
  http_response r;
  r.status = ready ? 200 : 503;
  json_out j;
  j.begin_object()
      .field("status", ready ? "ready" : "not_ready")
      .field("engine", health.is_ok() ? "ok" : "failed");
  if (!health.is_ok()) j.field("reason", health.message());
  j.field("draining", draining_.load()).field("seq", engine_.head().seq);
  // The read models' state is reported, but does not make the ledger
  // unready: commands do not depend on them.
  if (cfg_.reads)
    if (auto rm = cfg_.reads->health(); !rm.is_ok()) j.field("read_models", rm.message());
  j.end_object();
  r.body = j.take();
  finish(std::move(r));
}

void request_handler::on_metrics(std::uint64_t) {
  http_response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = metrics_.render(engine_, in_flight_.load());
  finish(std::move(r));
}

void request_handler::on_command(std::uint64_t id) {
  if (!authenticate(op_->roles) || !json_content_type(id == 0)) return;
  if (draining_) return fail({503, "shutting-down", "the ledger is shutting down"}, {{"Retry-After", "1"}});
  auto key = c_->req.header("idempotency-key");
  if (!c_->req.has_header("idempotency-key"))
    return fail({400, "idempotency-key-missing", "every command needs an Idempotency-Key header"});
  if (key.empty() || key.size() > key_bytes_max)
    return fail({400, "idempotency-key-invalid", "Idempotency-Key must be 1 to 255 characters"});
  for (unsigned char ch : key)
    if (ch < 0x21 || ch > 0x7e) return fail({400, "idempotency-key-invalid", "Idempotency-Key must be printable ASCII"});

  simdjson::dom::object obj;
  std::string empty_object = "{}";
  if (auto p = parse_object(c_->req.body.empty() ? empty_object : c_->req.body, obj))
    return fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field});
  service_access access{s_};
  field_reader reader(obj);
  command cmd{c_->who->subject, std::string(key), c_->request_id, {}};
  op_->parse(access, reader, *c_->who, id, cmd.body);
  if (auto p = reader.finish()) return fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field});
  if (auto p = op_->authorize(access, *c_->who, cmd.body)) return fail(*p);
  submit({std::move(cmd)}, {op_}, false);
}

void request_handler::on_batch(std::uint64_t) {
  if (!authenticate(any_role & ~role_auditor) || !json_content_type(true)) return;
  if (draining_) return fail({503, "shutting-down", "the ledger is shutting down"}, {{"Retry-After", "1"}});
  simdjson::dom::object obj;
  if (auto p = parse_object(c_->req.body, obj))
    return fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field});
  field_reader top(obj);
  auto items = top.array("commands", true, cfg_.batch_commands_max);
  if (auto p = top.finish()) return fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field});
  if (items->size() == 0) return fail({400, "invalid-field", "must hold at least one command", "commands"});

  service_access access{s_};
  std::vector<command> cmds;
  std::vector<const service::operation*> ops;
  std::unordered_set<std::string> keys;
  std::size_t i = 0;
  for (auto item : *items) {
    std::string prefix = "commands[" + std::to_string(i++) + "]";
    simdjson::dom::object o;
    if (item.get_object().get(o)) return fail({400, "invalid-field", "must be an object", prefix});
    field_reader r(o, prefix);
    std::string type = r.text("type", true, 64);
    std::string key = r.text("idempotency_key", true, key_bytes_max);
    if (!r.ok()) return fail({400, "invalid-field", r.finish()->detail, r.finish()->field});
    const auto* op = find_operation(type);
    if (!op) return fail({400, "invalid-field", "unknown command type " + type, prefix + ".type"});
    if (!(bit(c_->who->role_) & op->roles))
      return fail({403, "forbidden", "role " + std::string(to_string(c_->who->role_)) + " may not " + type, prefix});
    for (unsigned char ch : key)
      if (ch < 0x21 || ch > 0x7e)
        return fail({400, "invalid-field", "must be printable ASCII without spaces, like the header", prefix + ".idempotency_key"});
    if (!keys.insert(key).second) return fail({400, "invalid-field", "idempotency_key repeats within the batch", prefix + ".idempotency_key"});
    command cmd{c_->who->subject, key, c_->request_id, {}};
    op->parse(access, r, *c_->who, 0, cmd.body);
    if (auto p = r.finish()) return fail({static_cast<unsigned>(p->http_status), p->type, p->detail, p->field});
    if (auto p = op->authorize(access, *c_->who, cmd.body)) {
      p->field = prefix + "." + p->field;
      return fail(*p);
    }
    cmds.push_back(std::move(cmd));
    ops.push_back(op);
  }
  submit(std::move(cmds), std::move(ops), true);
}

bool request_handler::reserve_keys(const std::vector<command>& cmds) {
  std::lock_guard lock(keys_mu_);
  for (const auto& c : cmds)
    if (keys_.count(c.principal + '\0' + c.idempotency_key)) return false;
  for (const auto& c : cmds) {
    c_->keys_held.push_back(c.principal + '\0' + c.idempotency_key);
    keys_.insert(c_->keys_held.back());
  }
  return true;
}

void request_handler::submit(std::vector<command> cmds, std::vector<const service::operation*> ops, bool batch) {
  if (!reserve_keys(cmds))
    return fail({409, "request-in-flight", "a request with this Idempotency-Key is still being processed; retry later"},
                {{"Retry-After", "1"}});
  // The completion runs on the engine's writer thread: it only moves the
  // outcomes to an I/O thread, where the response is built.
  auto self = std::make_shared<request_handler>(*this);
  auto shared_ops = std::make_shared<std::vector<const service::operation*>>(std::move(ops));
  auto result = engine_.submit(std::move(cmds), [self, shared_ops, batch, dispatch = cfg_.dispatch](std::vector<outcome>&& outs) {
    auto work = [self, shared_ops, batch, o = std::move(outs)]() mutable {
      self->respond_outcomes(*shared_ops, std::move(o), batch);
    };
    if (dispatch)
      dispatch(std::move(work));
    else
      work();
  });
  switch (result) {
    case append_result::ok: return;
    case append_result::full:
      return fail({503, "overloaded", "the command queue is full; retry shortly"}, {{"Retry-After", "1"}});
    case append_result::too_large: return fail({413, "body-too-large", "more commands than the queue holds"});
    case append_result::closed: {
      auto why = engine_.health();
      return fail({503, "unavailable",
                   "the ledger is not accepting commands" + (why.is_ok() ? std::string() : ": " + why.message())},
                  {{"Retry-After", "5"}});
    }
  }
}

std::string request_handler::format(amount_t v, std::string_view asset) {
  service_access a{s_};
  return format_amount(v, a.asset_scale(asset).value_or(0));
}

void request_handler::balance_json(json_out& j, const balance_changed& b) {
  j.begin_object()
      .field("account_id", b.account)
      .field("asset", b.asset)
      .field("posted", format(b.posted_after, b.asset))
      .field("held", format(b.debits_pending_after, b.asset))
      .field("incoming", format(b.credits_pending_after, b.asset))
      .end_object();
}

std::pair<unsigned, std::string> request_handler::outcome_body(const service::operation& op, const outcome& o,
                                                               std::string& content_type) {
  json_out j;
  if (o.result == event_status::rejected) {
    content_type = "application/problem+json";
    // Every business rejection, the idempotency conflict included, is 422:
    // the request was understood and refused by the ledger's rules.
    unsigned status = 422;
    j.begin_object()
        .field("type", "/problems/" + slug_of(o.reason))
        .field("title", title_of(slug_of(o.reason)))
        .field("status", status)
        .field("detail", o.detail.empty() ? std::string(to_string(o.reason)) : o.detail)
        .field("instance", c_->req.target.substr(0, c_->req.target.find('?')))
        .field("request_id", c_->request_id)
        .field("outcome", "rejected")
        .field("reason", to_string(o.reason))
        .field("seq", o.seq)
        .end_object();
    return {status, j.take()};
  }
  content_type = "application/json";
  j.begin_object().field("outcome", "accepted").field("command", op.type).field("seq", o.seq);
  if (o.transaction_id) j.field("transaction_id", o.transaction_id);
  if (o.account_id) j.field(op.type == std::string_view("open_system_account") ? "account_id" : "wallet_id", o.account_id);
  if (o.pending_id) j.field(op.type == std::string_view("withdraw") ? "withdrawal_id" : "hold_id", o.pending_id);
  j.key("balances").begin_array();
  service_access access{s_};
  for (const auto& b : o.balances) {
    // A user sees its own balances only, not the counterparty's or the
    // system accounts' totals.
    if (c_->who && c_->who->role_ == role::user) {
      auto a = access.account(b.account);
      if (!a || a->kind != account_kind::user || a->owner != c_->who->subject) continue;
    }
    balance_json(j, b);
  }
  j.end_array().end_object();
  return {op.success_status, j.take()};
}

void request_handler::respond_outcomes(const std::vector<const service::operation*>& ops,
                                       std::vector<outcome>&& outs, bool batch) {
  for (const auto& o : outs)
    if (!o.error.is_ok()) {
      if (!batch || outs.size() == 1)
        return fail({503, "unavailable", o.error.message()}, {{"Retry-After", "1"}});
    }
  if (!batch) {
    const auto& o = outs.at(0);
    http_response r;
    auto [status, body] = outcome_body(*ops[0], o, r.content_type);
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Ledger-Seq", std::to_string(o.seq));
    if (o.replay) r.headers.emplace_back("Idempotent-Replayed", "true");
    return finish(std::move(r));
  }
  json_out j;
  std::uint64_t max_seq = 0;
  j.begin_object().key("results").begin_array();
  for (std::size_t i = 0; i < outs.size(); ++i) {
    const auto& o = outs[i];
    j.begin_object();
    if (!o.error.is_ok()) {
      j.field("status", 503).field("error", o.error.message()).end_object();
      continue;
    }
    std::string ct;
    auto [status, body] = outcome_body(*ops[i], o, ct);
    max_seq = std::max(max_seq, o.seq);
    j.field("status", status).field("replay", o.replay).key("body").raw(body).end_object();
  }
  j.end_array().end_object();
  http_response r;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(max_seq));
  finish(std::move(r));
}

void request_handler::wallet_json(json_out& j, const account_record& a) {
  j.begin_object().field("id", a.id).field("owner", a.owner).field("status", to_string(a.status));
  j.key("balances").begin_array();
  for (const auto& b : a.balances) {
    j.begin_object()
        .field("asset", b.asset)
        .field("posted", format(b.posted(), b.asset))
        .field("held", format(b.debits_pending, b.asset))
        .field("incoming", format(b.credits_pending, b.asset))
        .field("available", format(b.available(), b.asset))
        .field("overdraft_limit", format(b.overdraft_limit, b.asset));
    if (b.daily_debit_limit > 0) j.field("daily_debit_limit", format(b.daily_debit_limit, b.asset));
    j.end_object();
  }
  j.end_array().end_object();
}

void request_handler::on_get_wallet(std::uint64_t id) {
  if (!authenticate(role_user | role_admin | role_auditor)) return;
  service_access access{s_};
  if (auto p = access.owned(*c_->who, id, "")) return fail(*p);
  auto a = access.account(id);
  if (!a || a->kind != account_kind::user) return fail({404, "not-found", "wallet " + std::to_string(id) + " not found"});
  json_out j;
  wallet_json(j, *a);
  http_response r;
  r.body = j.take();
  r.headers.emplace_back("Ledger-Seq", std::to_string(engine_.head().seq));
  finish(std::move(r));
}

void request_handler::on_list_wallets(std::uint64_t) {
  if (!authenticate(role_user | role_admin | role_auditor)) return;
  std::string owner;
  std::size_t limit = 50;
  std::uint64_t after = 0;
  for (const auto& [k, v] : c_->query) {
    if (k == "owner") {
      owner = v;
    } else if (k == "limit") {
      auto n = parse_id(v);
      if (!n || *n > cfg_.page_size_max)
        return fail({400, "invalid-field", "limit must be 1 to " + std::to_string(cfg_.page_size_max), "limit"});
      limit = *n;
    } else if (k == "after") {
      auto n = parse_id(v);
      if (!n) return fail({400, "invalid-field", "after must be a wallet id", "after"});
      after = *n;
    } else {
      return fail({400, "unknown-field", "unknown query parameter", k});
    }
  }
  if (c_->who->role_ == role::user) {
    if (!owner.empty() && owner != c_->who->subject) return fail({404, "not-found", "no such owner", "owner"});
    owner = c_->who->subject;
  } else if (owner.empty()) {
    return fail({400, "invalid-field", "is required", "owner"});
  }
  std::vector<std::pair<std::string, std::string>> rows;
  std::string start = after ? keys::owner_index(owner, after) : std::string();
  if (auto st = engine_.storage().scan_state(keys::owner_prefix(owner), start, limit + 1, rows); !st)
    return fail({503, "unavailable", st.message()});
  service_access access{s_};
  json_out j;
  j.begin_object().key("wallets").begin_array();
  std::uint64_t last = 0;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) {
    auto id = get_key_u64(std::string_view(rows[i].first).substr(rows[i].first.size() - 8));
    if (auto a = access.account(id)) wallet_json(j, *a);
    last = id;
  }
  j.end_array();
  if (rows.size() > limit) j.field("next_after", last);
  j.end_object();
  http_response r;
  r.body = j.take();
  finish(std::move(r));
}

void request_handler::on_list_assets(std::uint64_t) {
  if (!authenticate(any_role)) return;
  std::vector<std::pair<std::string, std::string>> rows;
  if (auto st = engine_.storage().scan_state("a", {}, 10'000, rows); !st) return fail({503, "unavailable", st.message()});
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
  finish(std::move(r));
}

void request_handler::read(read_query::kind what, std::uint64_t id, std::initializer_list<const char*> allowed,
                           std::initializer_list<const char*> required, bool wallet_scoped) {
  if (!authenticate(role_user | role_admin | role_auditor)) return;
  read_query q;
  q.what = what;
  q.id = id;
  for (const auto& [k, v] : c_->query) {
    if (k == "min_seq") {
      auto n = parse_id(v);
      if (!n) return fail({400, "invalid-field", "must be a positive sequence number", "min_seq"});
      q.min_seq = *n;
      continue;
    }
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) return fail({400, "unknown-field", "unknown query parameter", k});
    if (v.size() > 256) return fail({400, "invalid-field", "longer than 256 bytes", k});
    if (!q.params.emplace(k, v).second) return fail({400, "invalid-field", "given twice", k});
  }
  for (const char* r : required)
    if (!q.params.count(r)) return fail({400, "invalid-field", "is required", r});
  if (c_->who->role_ == role::user) {
    q.visible_to_owner = c_->who->subject;
    service_access access{s_};
    if (wallet_scoped)
      if (auto p = access.owned(*c_->who, id, "")) return fail(*p);
  }
  if (!cfg_.reads) return fail({503, "unavailable", "no read models are configured (PostgreSQL)"}, {{"Retry-After", "5"}});
  auto self = std::make_shared<request_handler>(*this);
  bool accepted = cfg_.reads->run(std::move(q), [self, dispatch = cfg_.dispatch](const status& st, std::string json,
                                                                                 std::uint64_t projected) {
    auto work = [self, st, json = std::move(json), projected]() mutable {
      std::vector<std::pair<std::string, std::string>> h = {{"Ledger-Projection-Seq", std::to_string(projected)}};
      if (!st.is_ok()) {
        switch (st.error_code()) {
          case status::code::not_found: return self->fail({404, "not-found", st.message()}, std::move(h));
          case status::code::invalid_argument: return self->fail({400, "invalid-field", st.message()}, std::move(h));
          default:
            h.emplace_back("Retry-After", "1");
            return self->fail({503, "unavailable", st.message()}, std::move(h));
        }
      }
      http_response r;
      r.body = std::move(json);
      r.headers = std::move(h);
      self->finish(std::move(r));
    };
    if (dispatch)
      dispatch(std::move(work));
    else
      work();
  });
  if (!accepted) fail({503, "overloaded", "too many reads in progress; retry shortly"}, {{"Retry-After", "1"}});
}

void request_handler::on_history(std::uint64_t id) {
  read(read_query::kind::history, id, {"type", "status", "asset", "from", "to", "reference", "cursor", "limit"}, {}, true);
}
void request_handler::on_statement(std::uint64_t id) {
  read(read_query::kind::statement, id, {"asset", "from", "to"}, {"asset", "from", "to"}, true);
}
void request_handler::on_balance_at(std::uint64_t id) {
  read(read_query::kind::balance_at, id, {"asset", "at"}, {"asset", "at"}, true);
}
void request_handler::on_transaction(std::uint64_t id) { read(read_query::kind::transaction, id, {}, {}, false); }
void request_handler::on_find_transactions(std::uint64_t) {
  read(read_query::kind::by_reference, 0, {"reference"}, {"reference"}, false);
}

// ---------------------------------------------------------------------------

std::vector<route_info> route_table() { return request_handler::route_list(); }

service::service(backend& e, const jwt_verifier& jwt, service_config config, metrics& m, logger& log, clock& clk)
    : engine_(e), jwt_(jwt), config_(std::move(config)), metrics_(m), log_(log), clock_(clk) {}

service::~service() = default;

void service::handle(http_request&& req, responder done) {
  auto c = std::make_shared<context>();
  c->svc = this;
  c->start_ns = clock_.monotonic_ns();
  auto rid = req.header("x-request-id");
  c->request_id = sane_request_id(rid) ? std::string(rid) : new_request_id();
  c->req = std::move(req);
  c->done = std::move(done);
  in_flight_++;
  request_handler h(*this, c, config_, jwt_, engine_, metrics_, log_, clock_, draining_, in_flight_, keys_mu_,
                    keys_in_flight_);
  h.run();
}

}  // namespace ledger::api
