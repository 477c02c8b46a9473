// Shared pieces of the end-to-end tests: reading JSON responses, and a
// ledger_env that starts one ledgerd, registers USD, opens the
// "clearing:stripe" provider account and offers request helpers with
// tokens for a few principals.
//
// Ids are deterministic on a fresh ledgerd: ledgerd opens "payouts" (id 1,
// seq 1) and "fee_revenue" (id 2, seq 2) itself; ledger_env then registers
// USD (seq 3) and opens clearing:stripe (account 3, seq 4). Wallets opened
// afterwards get ids 4, 5, ... in order.
#pragma once

#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/jwt.h"
#include "tests/api/http_client.h"
#include "tests/api/ledgerd_process.h"

namespace ledger::e2e {

// A parsed JSON document, read by JSON Pointer ("/balances/0/posted").
class json {
 public:
  explicit json(std::string_view text)
      : parser_(std::make_unique<simdjson::dom::parser>()), text_(text) {
    valid_ = !parser_->parse(text_).get(root_);
  }
  bool valid() const { return valid_; }
  bool has(std::string_view ptr) const {
    simdjson::dom::element e;
    return valid_ && !root_.at_pointer(ptr).get(e);
  }
  // "<missing>" / "<not a string>" make a failed comparison readable.
  std::string str(std::string_view ptr) const {
    simdjson::dom::element e;
    if (!valid_ || root_.at_pointer(ptr).get(e)) return "<missing " + std::string(ptr) + ">";
    std::string_view s;
    if (e.get_string().get(s)) return "<not a string: " + simdjson::minify(e) + ">";
    return std::string(s);
  }
  std::uint64_t u64(std::string_view ptr) const {
    simdjson::dom::element e;
    std::uint64_t v = 0;
    if (!valid_ || root_.at_pointer(ptr).get(e) || e.get_uint64().get(v)) return UINT64_MAX;
    return v;
  }
  int boolean(std::string_view ptr) const {  // 1, 0, or -1 if absent
    simdjson::dom::element e;
    bool v = false;
    if (!valid_ || root_.at_pointer(ptr).get(e) || e.get_bool().get(v)) return -1;
    return v ? 1 : 0;
  }
  std::size_t size(std::string_view ptr) const {
    simdjson::dom::element e;
    if (!valid_ || root_.at_pointer(ptr).get(e)) return 0;
    simdjson::dom::array a;
    if (!e.get_array().get(a)) return a.size();
    simdjson::dom::object o;
    if (!e.get_object().get(o)) return o.size();
    return 0;
  }
  // The value at `ptr` as minified JSON ("" if absent).
  std::string raw(std::string_view ptr) const {
    simdjson::dom::element e;
    if (!valid_ || root_.at_pointer(ptr).get(e)) return "";
    return simdjson::minify(e);
  }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;  // owns the tape root_ points into
  simdjson::padded_string text_;
  simdjson::dom::element root_;
  bool valid_ = false;
};

// Special values for ledger_env::post's key argument.
inline const std::string auto_key = "\x01" "auto";  // a fresh unique key
inline const std::string no_key = "\x01" "none";    // no Idempotency-Key header

struct snapshot {
  std::uint64_t seq = 0;
  std::vector<std::string> wallets;  // GET bodies, as admin
  bool operator==(const snapshot&) const = default;
};

inline std::string to_string(const snapshot& s) {
  std::string out = "seq " + std::to_string(s.seq);
  for (const auto& w : s.wallets) out += "\n  " + w;
  return out;
}

// A service token bound (claims "providers", "accounts") to the providers
// the tests use and to every account id a test ledger reaches (1..200), so
// tests of other things are not refused by the binding rules.
inline std::string bound_service_token(std::string_view subject) {
  std::string claims = claims_json(subject, "service");
  claims.pop_back();
  claims += R"(,"providers":["stripe","demo","adyen","paypal"],"accounts":[)";
  for (int i = 1; i <= 200; ++i) claims += (i > 1 ? "," : "") + std::to_string(i);
  claims += "]}";
  return api::sign_hs256(test_hs256_secret, claims);
}

class ledger_env {
 public:
  explicit ledger_env(ledgerd_options options = {}, bool setup = true) : proc(std::move(options)) {
    proc.start();
    http = proc.client();
    admin = proc.token("root", "admin");
    service = bound_service_token("psp");
    auditor = proc.token("audit", "auditor");
    alice = proc.token("alice", "user");
    bob = proc.token("bob", "user");
    if (!setup) return;
    auto r = post("/v1/assets", admin, R"({"code":"USD","scale":2})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    r = post("/v1/system-accounts", admin, R"({"name":"clearing:stripe"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    REQUIRE(json(r.body).u64("/account_id") == 3);
    REQUIRE(json(r.body).u64("/seq") == 4);
  }

  std::string next_key() { return "key-" + std::to_string(++keys_); }

  response call(const request& r) { return http.send(r); }

  response get(std::string_view target, std::string_view token, header_list extra = {}) {
    request r;
    r.target = std::string(target);
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + std::string(token));
    for (auto& h : extra) r.headers.push_back(std::move(h));
    return http.send(r);
  }

  response post(std::string_view target, std::string_view token, std::string_view body, std::string key = auto_key,
                header_list extra = {}) {
    request r;
    r.method = "POST";
    r.target = std::string(target);
    r.body = std::string(body);
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + std::string(token));
    if (!body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    if (key == auto_key) key = next_key();
    if (key != no_key) r.headers.emplace_back("Idempotency-Key", key);
    for (auto& h : extra) r.headers.push_back(std::move(h));
    return http.send(r);
  }

  // The journal head from the operations listener's /readyz.
  std::uint64_t seq() {
    http_client ops(proc.ops_port());
    auto r = ops.send(request{"GET", "/readyz", {}, ""});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json(r.body).u64("/seq");
  }
  // GET on the operations listener (metrics, detailed readiness).
  response ops_get(std::string_view target) {
    http_client ops(proc.ops_port());
    return ops.send(request{"GET", std::string(target), {}, ""});
  }

  // A wallet as the admin sees it.
  std::string wallet(std::uint64_t id) {
    auto r = get("/v1/wallets/" + std::to_string(id), admin);
    CHECK_MESSAGE(r.status == 200, r.body);
    return r.body;
  }
  // "posted" of the wallet's first (or named) asset.
  std::string posted(std::uint64_t id, std::string_view field = "posted") {
    return json(wallet(id)).str("/balances/0/" + std::string(field));
  }

  // Opens a wallet (as admin for `owner`) holding `assets_json` (default USD).
  std::uint64_t open_wallet(std::string_view owner, std::string_view assets_json = R"([{"asset":"USD"}])") {
    auto r = post("/v1/wallets", admin, R"({"owner":")" + std::string(owner) + R"(","assets":)" + std::string(assets_json) + "}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json(r.body).u64("/wallet_id");
  }

  void deposit(std::uint64_t wallet_id, std::string_view amount, std::string_view asset = "USD") {
    auto r = post("/v1/deposits", service,
                  R"({"wallet_id":)" + std::to_string(wallet_id) + R"(,"asset":")" + std::string(asset) +
                      R"(","amount":")" + std::string(amount) + R"(","provider":"stripe"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }

  snapshot snap(const std::vector<std::uint64_t>& wallets) {
    snapshot s;
    s.seq = seq();
    for (auto id : wallets) s.wallets.push_back(wallet(id));
    return s;
  }

  ledgerd_process proc;
  http_client http{0};
  std::string admin, service, auditor, alice, bob;

 private:
  std::uint64_t keys_ = 0;
};

// The exact body of a problem answered before the engine (no seq).
inline std::string problem_body(std::string_view slug, std::string_view title, unsigned status, std::string_view detail,
                                std::string_view instance, std::string_view request_id, std::string_view field = {}) {
  std::string s = R"({"type":"/problems/)" + std::string(slug) + R"(","title":")" + std::string(title) +
                  R"(","status":)" + std::to_string(status) + R"(,"detail":")" + std::string(detail) +
                  R"(","instance":")" + std::string(instance) + R"(","request_id":")" + std::string(request_id) + "\"";
  if (!field.empty()) s += R"(,"field":")" + std::string(field) + "\"";
  return s + "}";
}

// ---- expected bodies, built exactly as the API writes them ----

// One entry of a command response's "balances".
inline std::string bal(std::uint64_t account, std::string_view posted, std::string_view held = "0.00",
                       std::string_view incoming = "0.00", std::string_view asset = "USD") {
  return R"({"account_id":)" + std::to_string(account) + R"(,"asset":")" + std::string(asset) + R"(","posted":")" +
         std::string(posted) + R"(","held":")" + std::string(held) + R"(","incoming":")" + std::string(incoming) +
         R"(","total":")" + std::string(posted) + R"(","pending_incoming":")" + std::string(incoming) +
         R"(","pending_outgoing":")" + std::string(held) + "\"}";
}

// An accepted command's body; `ids` is e.g. `,"transaction_id":7`.
inline std::string accepted_body(std::string_view command, std::uint64_t seq, std::string_view ids,
                                 const std::vector<std::string>& balances = {}) {
  std::string s = R"({"outcome":"accepted","command":")" + std::string(command) + R"(","seq":)" + std::to_string(seq) +
                  std::string(ids) + R"(,"balances":[)";
  for (std::size_t i = 0; i < balances.size(); ++i) s += (i ? "," : "") + balances[i];
  return s + "]}";
}

inline std::string slug(std::string_view reason) {
  std::string s(reason);
  for (auto& c : s)
    if (c == '_') c = '-';
  return s;
}

// A business rejection's body (422, recorded at `seq`).
inline std::string rejected_body(std::string_view reason, std::string_view detail, std::string_view instance,
                                 std::string_view request_id, std::uint64_t seq,
                                 std::string_view title = "Command rejected") {
  return R"({"type":"/problems/)" + slug(reason) + R"(","title":")" + std::string(title) +
         R"(","status":422,"detail":")" + std::string(detail) + R"(","instance":")" + std::string(instance) +
         R"(","request_id":")" + std::string(request_id) + R"(","outcome":"rejected","reason":")" +
         std::string(reason) + R"(","seq":)" + std::to_string(seq) + "}";
}

// One entry of a wallet's "balances" (GET).
inline std::string wbal(std::string_view asset, std::string_view posted, std::string_view held,
                        std::string_view incoming, std::string_view available, std::string_view overdraft,
                        std::string_view daily = {}) {
  std::string s = R"({"asset":")" + std::string(asset) + R"(","posted":")" + std::string(posted) + R"(","held":")" +
                  std::string(held) + R"(","incoming":")" + std::string(incoming) + R"(","available":")" +
                  std::string(available) + R"(","overdraft_limit":")" + std::string(overdraft) + R"(","total":")" +
                  std::string(posted) + R"(","pending_incoming":")" + std::string(incoming) +
                  R"(","pending_outgoing":")" + std::string(held) + "\"";
  if (!daily.empty()) s += R"(,"daily_debit_limit":")" + std::string(daily) + "\"";
  return s + "}";
}

inline std::string wallet_body(std::uint64_t id, std::string_view owner, std::string_view status,
                               const std::vector<std::string>& balances) {
  std::string s = R"({"id":)" + std::to_string(id) + R"(,"owner":")" + std::string(owner) + R"(","status":")" +
                  std::string(status) + R"(","balances":[)";
  for (std::size_t i = 0; i < balances.size(); ++i) s += (i ? "," : "") + balances[i];
  return s + "]}";
}

// A USD wallet's GET body with nothing held or incoming and no overdraft.
inline std::string usd_wallet(std::uint64_t id, std::string_view owner, std::string_view posted,
                              std::string_view status = "active") {
  return wallet_body(id, owner, status, {wbal("USD", posted, "0.00", "0.00", posted, "0.00")});
}

// Checks what every command response carries: the status, Ledger-Seq equal
// to the body's seq, the echoed request id; returns the seq.
inline std::uint64_t check_command(const response& r, unsigned status) {
  CHECK_MESSAGE(r.status == status, r.body);
  json j(r.body);
  CHECK(j.valid());
  auto seq = j.u64("/seq");
  CHECK(r.header("Ledger-Seq") == std::to_string(seq));
  CHECK_FALSE(r.header("X-Request-ID").empty());
  if (j.has("/request_id")) CHECK(j.str("/request_id") == r.header("X-Request-ID"));
  return seq;
}

// `s` percent-encoded for a query parameter or a path segment (RFC 3986
// unreserved characters kept).
inline std::string pct(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_') out.push_back(char(c));
    else out += {'%', hex[c >> 4], hex[c & 15]};
  }
  return out;
}

// PUT /v1/document-groups/{group}/members as admin; `members_json` is a
// JSON array of principals.
inline response put_group_members(ledger_env& env, std::uint64_t group, const std::string& members_json) {
  request r;
  r.method = "PUT";
  r.target = "/v1/document-groups/" + std::to_string(group) + "/members";
  r.body = R"({"members":)" + members_json + "}";
  r.headers.emplace_back("Authorization", "Bearer " + env.admin);
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Idempotency-Key", env.next_key());
  return env.call(r);
}

}  // namespace ledger::e2e

namespace doctest {
template <>
struct StringMaker<ledger::e2e::snapshot> {
  static String convert(const ledger::e2e::snapshot& s) { return ledger::e2e::to_string(s).c_str(); }
};
}  // namespace doctest
