// Tests of the read-model queries (projections/queries.h) and the query pool
// (projections/query_pool.h) against a private PostgreSQL (pg_instance).
//
// Each test case gets a fresh database holding the read-model schema in
// schema "ledger" (as the projector creates it), filled with fixture rows
// written directly in SQL. Answers are checked by parsing the JSON.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>
#include <simdjson.h>

#include "projections/migrations.h"
#include "projections/queries.h"
#include "projections/query_pool.h"
#include "tests/support/pg_instance.h"

namespace {

namespace fs = std::filesystem;
namespace lp = ledger::projections;
using ledger::status;
using ledger::testing::pg_instance;
using ledger::testing::disposable_pg_options;
using ledger::testing::pg_instance_options;
using code = ledger::status::code;

// ---- servers and databases -------------------------------------------------

// One server for the query tests, started on first use, stopped at exit.
pg_instance& shared_server() {
  static pg_instance server(disposable_pg_options());
  return server;
}

// Tests fail fast instead of waiting for libpq's default (unbounded) connect.
std::string with_timeout(const std::string& conninfo) { return conninfo + " connect_timeout=5"; }

std::unique_ptr<pqxx::connection> connect_ledger(const std::string& conninfo) {
  auto c = std::make_unique<pqxx::connection>(with_timeout(conninfo));
  pqxx::nontransaction n(*c);
  n.exec("SET search_path TO ledger");
  return c;
}

void exec_sql(pqxx::connection& c, const std::string& sql) {
  pqxx::work w(c);
  w.exec(sql);
  w.commit();
}

// A new database with the read models in schema "ledger"; returns its conninfo.
std::string fresh_database(pg_instance& pg) {
  static int next = 0;
  const std::string conninfo = pg.create_database("queries_" + std::to_string(++next));
  // Every migration, as the projector applies them: the queries read
  // columns that later migrations add.
  lp::migrate_result m;
  auto s = lp::migrate(with_timeout(conninfo), "ledger", m);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  // The money history is partitioned by month: the months the fixtures
  // write into, made as the projector makes them before a batch.
  auto c = connect_ledger(conninfo);
  exec_sql(*c, "SELECT ensure_money_partitions(m::date) FROM generate_series('2025-12-01'::date, '2026-12-01', "
               "interval '1 month') m");
  return conninfo;
}

// ---- fixture ---------------------------------------------------------------
//
// Wallets: 1 system account "clearing"; 10 and 11 alice; 20 bob; 30 a user
// whose id is "clearing" too. All times are on 2026-01-01 (UTC).
//   100 deposit    USD 100.00  1 -> 10   10:00  ref dep-1 (metadata with escapes)
//   101 transfer   USD  25.00 10 -> 20   11:00  ref order-7
//   102 hold       USD  10.00 10 -> 1    12:00  ref order-7, captured by 103
//   103 capture    USD  10.00 10 -> 1    13:00  related 102
//   104 deposit    EUR  50.00  1 -> 10   14:00
//   105 transfer   USD   5.50 20 -> 10   15:00  ref refund-3
//   106 withdrawal USD  20.00 10 -> 1    16:00  pending, ref wd-1
//   107 transfer   USD   1.00 20 -> 30   17:00  ref order-7
// Wallet 10's USD balance: 100.00, 75.00, 75.00 (held 10), 65.00, 70.50,
// 70.50 (held 20). balance_history is a view over postings: the postings'
// *_after columns are the fixture's balance history.
const char* fixture_sql = R"sql(
INSERT INTO assets VALUES
  ('USD', 2, 0.01, 1000000.00, 1, '2026-01-01T09:00:00Z'),
  ('EUR', 2, 0.01, 1000000.00, 2, '2026-01-01T09:00:00Z');
INSERT INTO wallets VALUES
  (1,  'system', 'clearing', 'active', 3, '2026-01-01T09:00:00Z', 3),
  (10, 'user',   'alice',    'active', 4, '2026-01-01T09:00:00Z', 4),
  (11, 'user',   'alice',    'active', 5, '2026-01-01T09:00:00Z', 5),
  (20, 'user',   'bob',      'active', 6, '2026-01-01T09:00:00Z', 6),
  (30, 'user',   'clearing', 'active', 7, '2026-01-01T09:00:00Z', 7);
INSERT INTO balances (wallet_id, asset, is_system, posted, held, incoming, overdraft_limit, updated_seq, updated_at) VALUES
  (1,  'USD', true,  -90.00, 0, 20.00, 0, 106, '2026-01-01T16:00:00Z'),
  (1,  'EUR', true,  -50.00, 0, 0, 0,     104, '2026-01-01T14:00:00Z'),
  (10, 'USD', false,  70.50, 20.00, 0, 0, 106, '2026-01-01T16:00:00Z'),
  (10, 'EUR', false,  50.00, 0, 0, 0,     104, '2026-01-01T14:00:00Z'),
  (11, 'USD', false,   0.00, 0, 0, 0,     5,   '2026-01-01T09:00:00Z'),
  (20, 'USD', false,  18.50, 0, 0, 0,     107, '2026-01-01T17:00:00Z'),
  (30, 'USD', false,   1.00, 0, 0, 0,     107, '2026-01-01T17:00:00Z');
INSERT INTO transactions (transaction_id, type, status, asset, amount, fee, from_wallet_id, to_wallet_id,
                          provider, reference, metadata, related_id, reversed_by, principal, request_id,
                          created_at, updated_seq, updated_at) VALUES
  (100, 'deposit', 'completed', 'USD', 100.00, 0.00, 1, 10, 'bank', 'dep-1',
   '{"note": "say \"hi\"\nbye\\", "city": "Zürich"}', NULL, NULL, 'alice', 'req-100',
   '2026-01-01T10:00:00Z', 100, '2026-01-01T10:00:00Z'),
  (101, 'transfer', 'completed', 'USD', 25.00, 0.00, 10, 20, NULL, 'order-7', NULL, NULL, NULL, 'alice', NULL,
   '2026-01-01T11:00:00Z', 101, '2026-01-01T11:00:00Z'),
  (102, 'hold', 'captured', 'USD', 10.00, 0, 10, 1, NULL, 'order-7', NULL, NULL, NULL, 'alice', 'req-102',
   '2026-01-01T12:00:00Z', 103, '2026-01-01T13:00:00Z'),
  (103, 'capture', 'completed', 'USD', 10.00, 0, 10, 1, NULL, NULL, NULL, 102, NULL, 'merchant', NULL,
   '2026-01-01T13:00:00Z', 103, '2026-01-01T13:00:00Z'),
  (104, 'deposit', 'completed', 'EUR', 50.00, 0, 1, 10, 'bank', NULL, NULL, NULL, NULL, 'alice', NULL,
   '2026-01-01T14:00:00Z', 104, '2026-01-01T14:00:00Z'),
  (105, 'transfer', 'completed', 'USD', 5.50, 0, 20, 10, NULL, 'refund-3', NULL, NULL, NULL, 'bob', NULL,
   '2026-01-01T15:00:00Z', 105, '2026-01-01T15:00:00Z'),
  (106, 'withdrawal', 'pending', 'USD', 20.00, 0, 10, 1, NULL, 'wd-1', NULL, NULL, NULL, 'alice', NULL,
   '2026-01-01T16:00:00Z', 106, '2026-01-01T16:00:00Z'),
  (107, 'transfer', 'completed', 'USD', 1.00, 0, 20, 30, NULL, 'order-7', NULL, NULL, NULL, 'bob', NULL,
   '2026-01-01T17:00:00Z', 107, '2026-01-01T17:00:00Z');
INSERT INTO holds VALUES
  (102, 'hold', 10, 1, 'USD', 10.00, '2026-01-02T12:00:00Z', 'captured', 10.00, '2026-01-01T12:00:00Z',
   103, '2026-01-01T13:00:00Z'),
  (106, 'withdrawal', 10, 1, 'USD', 20.00, NULL, 'open', 0, '2026-01-01T16:00:00Z', NULL, NULL);
INSERT INTO postings VALUES
  (100, 0, 100, 1,  'USD', 'posted',   -100.00,  -100.00,   0.00,   0.00, '2026-01-01T10:00:00Z'),
  (100, 1, 100, 10, 'USD', 'posted',    100.00,   100.00,   0.00,   0.00, '2026-01-01T10:00:00Z'),
  (101, 0, 101, 10, 'USD', 'posted',    -25.00,    75.00,   0.00,   0.00, '2026-01-01T11:00:00Z'),
  (101, 1, 101, 20, 'USD', 'posted',     25.00,    25.00,   0.00,   0.00, '2026-01-01T11:00:00Z'),
  (102, 0, 102, 10, 'USD', 'pending',   -10.00,    75.00,  10.00,   0.00, '2026-01-01T12:00:00Z'),
  (102, 1, 102, 1,  'USD', 'pending',    10.00,  -100.00,   0.00,  10.00, '2026-01-01T12:00:00Z'),
  (103, 0, 103, 10, 'USD', 'posted',    -10.00,    65.00,   0.00,   0.00, '2026-01-01T13:00:00Z'),
  (103, 1, 103, 10, 'USD', 'pending',    10.00,    65.00,   0.00,   0.00, '2026-01-01T13:00:00Z'),
  (103, 2, 103, 1,  'USD', 'posted',     10.00,   -90.00,   0.00,   0.00, '2026-01-01T13:00:00Z'),
  (103, 3, 103, 1,  'USD', 'pending',   -10.00,   -90.00,   0.00,   0.00, '2026-01-01T13:00:00Z'),
  (104, 0, 104, 1,  'EUR', 'posted',    -50.00,   -50.00,   0.00,   0.00, '2026-01-01T14:00:00Z'),
  (104, 1, 104, 10, 'EUR', 'posted',     50.00,    50.00,   0.00,   0.00, '2026-01-01T14:00:00Z'),
  (105, 0, 105, 20, 'USD', 'posted',     -5.50,    19.50,   0.00,   0.00, '2026-01-01T15:00:00Z'),
  (105, 1, 105, 10, 'USD', 'posted',      5.50,    70.50,   0.00,   0.00, '2026-01-01T15:00:00Z'),
  (106, 0, 106, 10, 'USD', 'pending',   -20.00,    70.50,  20.00,   0.00, '2026-01-01T16:00:00Z'),
  (106, 1, 106, 1,  'USD', 'pending',    20.00,   -90.00,   0.00,  20.00, '2026-01-01T16:00:00Z'),
  (107, 0, 107, 20, 'USD', 'posted',     -1.00,    18.50,   0.00,   0.00, '2026-01-01T17:00:00Z'),
  (107, 1, 107, 30, 'USD', 'posted',      1.00,     1.00,   0.00,   0.00, '2026-01-01T17:00:00Z');
)sql";

// A database with the fixture, and a connection to it.
struct fixture {
  std::string conninfo;
  std::unique_ptr<pqxx::connection> conn;

  fixture() : conninfo(fresh_database(shared_server())), conn(connect_ledger(conninfo)) {
    exec_sql(*conn, fixture_sql);
  }
};

// A transfer between two wallets at a given time, for tests that add rows.
std::string transfer_sql(std::int64_t id, std::int64_t from, std::int64_t to, const std::string& at,
                         const std::string& reference = "") {
  return "INSERT INTO transactions (transaction_id, type, status, asset, amount, from_wallet_id, to_wallet_id, "
         "reference, principal, created_at, updated_seq, updated_at) VALUES (" +
         std::to_string(id) + ", 'transfer', 'completed', 'USD', 1.00, " + std::to_string(from) + ", " +
         std::to_string(to) + ", " + (reference.empty() ? "NULL" : "'" + reference + "'") + ", 'test', '" + at +
         "', " + std::to_string(id) + ", '" + at + "')";
}

// ---- JSON ------------------------------------------------------------------

// A parsed answer; the parser owns the document the root points into.
class json_doc {
 public:
  explicit json_doc(const std::string& text) : parser_(std::make_unique<simdjson::dom::parser>()) {
    auto err = parser_->parse(text).get(root_);
    REQUIRE_MESSAGE(err == simdjson::SUCCESS, "invalid JSON: " << text);
  }
  simdjson::dom::element operator[](std::string_view key) const { return root_[key]; }
  simdjson::dom::element root() const { return root_; }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
};

std::string str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

std::vector<std::int64_t> ids_of(simdjson::dom::element list) {
  std::vector<std::int64_t> out;
  for (auto t : simdjson::dom::array(list)) out.push_back(std::int64_t(t["transaction_id"]));
  return out;
}

std::vector<std::int64_t> ids(std::initializer_list<std::int64_t> l) { return l; }

bool has_key(simdjson::dom::element e, std::string_view key) { return e[key].error() == simdjson::SUCCESS; }

// History of a wallet with default paging; REQUIREs success.
json_doc history_ok(pqxx::connection& c, std::uint64_t wallet, const lp::history_filters& f = {},
                    std::string_view cursor = "", int limit = 50) {
  std::string out;
  const status s = lp::history(c, wallet, f, cursor, limit, out);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  return json_doc(out);
}

code history_code(pqxx::connection& c, std::uint64_t wallet, const lp::history_filters& f, std::string_view cursor,
                  int limit) {
  std::string out = "stale";
  const status s = lp::history(c, wallet, f, cursor, limit, out);
  if (!s.is_ok()) CHECK(out.empty());
  return s.error_code();
}

// ---- pool helpers ----------------------------------------------------------

// Outcomes of pool jobs, collected from worker threads.
class outcomes {
 public:
  void ok() { add(status::ok()); }
  void add(const status& s) {
    {
      std::lock_guard lock(mu_);
      list_.push_back(s);
    }
    changed_.notify_all();
  }
  lp::query_pool::failure_handler handler() {
    return [this](const status& s) { add(s); };
  }
  // Waits (bounded) until `n` outcomes arrived; returns them.
  std::vector<status> wait_for(std::size_t n, int timeout_ms = 20'000) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return list_.size() >= n; });
    REQUIRE_MESSAGE(list_.size() >= n, "only " << list_.size() << " of " << n << " jobs reported in time");
    return list_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<status> list_;
};

lp::query_pool_options pool_options(const std::string& conninfo) {
  lp::query_pool_options o;
  o.conninfo = conninfo;
  o.workers = 1;
  o.queue_max = 8;
  o.reconnect_backoff_min_ms = 20;
  o.reconnect_backoff_max_ms = 200;
  return o;
}

// A job that returns once `release` is set, signalling `started` first. Its
// wait is bounded so a failing test cannot hang the binary.
lp::query_pool::job blocker(std::promise<void>& started, std::shared_future<void> release) {
  return [&started, release](pqxx::connection&) {
    started.set_value();
    release.wait_for(std::chrono::seconds(20));
  };
}

}  // namespace

// ============================================================================
// history

TEST_CASE("history: a wallet's transactions newest first, holds included, exact JSON values") {
  fixture f;
  auto doc = history_ok(*f.conn, 10);
  CHECK(std::int64_t(doc["wallet_id"]) == 10);
  CHECK(ids_of(doc["transactions"]) == ids({106, 105, 104, 103, 102, 101, 100}));
  CHECK_FALSE(has_key(doc.root(), "next_cursor"));

  auto list = simdjson::dom::array(doc["transactions"]);
  simdjson::dom::element deposit, hold, withdrawal;
  for (auto t : list) {
    const auto id = std::int64_t(t["transaction_id"]);
    if (id == 100) deposit = t;
    if (id == 102) hold = t;
    if (id == 106) withdrawal = t;
  }
  CHECK(str(deposit["type"]) == "deposit");
  CHECK(str(deposit["status"]) == "completed");
  CHECK(str(deposit["amount"]) == "100.00");  // a string, as stored
  CHECK(str(deposit["fee"]) == "0.00");
  CHECK(std::int64_t(deposit["from_wallet_id"]) == 1);
  CHECK(std::int64_t(deposit["to_wallet_id"]) == 10);
  CHECK(str(deposit["provider"]) == "bank");
  CHECK(str(deposit["reference"]) == "dep-1");
  CHECK(str(deposit["metadata"]["note"]) == "say \"hi\"\nbye\\");
  CHECK(str(deposit["metadata"]["city"]) == "Zürich");
  CHECK(deposit["related_id"].is_null());
  CHECK(deposit["reversed_by"].is_null());
  CHECK(str(deposit["principal"]) == "alice");
  CHECK(str(deposit["request_id"]) == "req-100");
  CHECK(str(deposit["created_at"]) == "2026-01-01T10:00:00.000000Z");
  CHECK(str(deposit["updated_at"]) == "2026-01-01T10:00:00.000000Z");
  CHECK(std::int64_t(deposit["updated_seq"]) == 100);
  CHECK(deposit["hold"].is_null());

  CHECK(str(hold["type"]) == "hold");
  CHECK(str(hold["status"]) == "captured");
  CHECK(str(hold["hold"]["kind"]) == "hold");
  CHECK(str(hold["hold"]["status"]) == "captured");
  CHECK(str(hold["hold"]["expires_at"]) == "2026-01-02T12:00:00.000000Z");
  CHECK(str(hold["hold"]["posted_amount"]) == "10.00");
  CHECK(std::int64_t(hold["hold"]["resolved_seq"]) == 103);
  CHECK(str(hold["hold"]["resolved_at"]) == "2026-01-01T13:00:00.000000Z");

  CHECK(str(withdrawal["hold"]["kind"]) == "withdrawal");
  CHECK(str(withdrawal["hold"]["status"]) == "open");
  CHECK(withdrawal["hold"]["expires_at"].is_null());
  CHECK(withdrawal["hold"]["resolved_seq"].is_null());
  CHECK(withdrawal["provider"].is_null());
  CHECK(withdrawal["metadata"].is_null());

  // Both sides count: wallet 20 is debited in 105 and 107, credited in 101.
  CHECK(ids_of(history_ok(*f.conn, 20)["transactions"]) == ids({107, 105, 101}));
  // A wallet with no transactions.
  CHECK(ids_of(history_ok(*f.conn, 11)["transactions"]).empty());
}

TEST_CASE("history: filters by type, status, asset, time and reference") {
  fixture f;
  auto run = [&](const lp::history_filters& filters) {
    return ids_of(history_ok(*f.conn, 10, filters)["transactions"]);
  };
  lp::history_filters by;

  by = {};
  by.type = "transfer";
  CHECK(run(by) == ids({105, 101}));
  by = {};
  by.status = "pending";
  CHECK(run(by) == ids({106}));
  by = {};
  by.asset = "EUR";
  CHECK(run(by) == ids({104}));
  by = {};
  by.reference = "order-7";
  CHECK(run(by) == ids({102, 101}));
  by.type = "hold";
  CHECK(run(by) == ids({102}));

  SUBCASE("time: from inclusive, to exclusive") {
    by = {};
    by.from = "2026-01-01T12:00:00Z";
    by.to = "2026-01-01T15:00:00Z";
    CHECK(run(by) == ids({104, 103, 102}));
    // The same instants with offsets and a fraction.
    by.from = "2026-01-01T14:00:00.000+02:00";
    by.to = "2026-01-01T09:00:00-06:00";
    CHECK(run(by) == ids({104, 103, 102}));
    by = {};
    by.from = "2026-01-01T15:00:00.000001Z";
    CHECK(run(by) == ids({106}));
    by = {};
    by.to = "2026-01-01T10:00:00.000001Z";
    CHECK(run(by) == ids({100}));
  }
  SUBCASE("nothing matches") {
    by = {};
    by.type = "reversal";
    auto doc = history_ok(*f.conn, 10, by);
    CHECK(ids_of(doc["transactions"]).empty());
    CHECK_FALSE(has_key(doc.root(), "next_cursor"));
  }
}

TEST_CASE("history: invalid inputs are invalid_argument, unknown wallets not_found") {
  fixture f;
  auto& c = *f.conn;
  CHECK(history_code(c, 10, {}, "", 0) == code::invalid_argument);
  CHECK(history_code(c, 10, {}, "", 201) == code::invalid_argument);
  CHECK(history_code(c, 10, {}, "", -1) == code::invalid_argument);
  CHECK(history_code(c, 10, {}, "", 200) == code::ok);
  CHECK(history_code(c, 10, {}, "", 1) == code::ok);
  for (const char* cursor : {"abc", "0", "-5", "00104", "104 ", "1e3", "99999999999999999999", "9223372036854775808"})
    CHECK_MESSAGE(history_code(c, 10, {}, cursor, 10) == code::invalid_argument, cursor);
  CHECK(history_code(c, 10, {}, "9223372036854775807", 10) == code::ok);
  CHECK(history_code(c, 0, {}, "", 10) == code::invalid_argument);
  CHECK(history_code(c, std::uint64_t{1} << 63, {}, "", 10) == code::invalid_argument);
  CHECK(history_code(c, 999, {}, "", 10) == code::not_found);

  for (const char* t : {"", "2026-01-01", "2026-01-01 10:00:00Z", "2026-01-01T10:00:00", "2026-02-30T00:00:00Z",
                        "2026-01-01T24:00:00Z", "2026-01-01T10:60:00Z", "2026-01-01T10:00:60Z", "2026-13-01T00:00:00Z",
                        "1969-12-31T23:59:59Z", "2026-01-01T10:00:00.Z", "2026-01-01T10:00:00.1234567890Z",
                        "2026-01-01T10:00:00+2:00", "2026-01-01T10:00:00+24:00", "2026-01-01T10:00:00Zjunk",
                        "yesterday", "2026-1-01T10:00:00Z"}) {
    lp::history_filters by;
    by.from = t;
    CHECK_MESSAGE(history_code(c, 10, by, "", 10) == code::invalid_argument, t);
    by = {};
    by.to = t;
    CHECK_MESSAGE(history_code(c, 10, by, "", 10) == code::invalid_argument, t);
  }
  // Leap day exists in 2028, not in 2026.
  lp::history_filters leap;
  leap.from = "2028-02-29T00:00:00Z";
  CHECK(history_code(c, 10, leap, "", 10) == code::ok);

  lp::history_filters by;
  by.from = "2026-01-01T12:00:00Z";
  by.to = "2026-01-01T12:00:00Z";
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);
  by.to = "2026-01-01T11:00:00Z";
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);

  by = {};
  by.type = "bogus";
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);
  by = {};
  by.status = "open";  // a hold status, not a transaction status
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);
  by = {};
  by.asset = "";
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);
  by.asset = std::string(17, 'X');
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);
  by = {};
  by.reference = std::string(257, 'r');
  CHECK(history_code(c, 10, by, "", 10) == code::invalid_argument);
  by.reference = std::string(256, 'r');
  CHECK(history_code(c, 10, by, "", 10) == code::ok);
  // Quotes and backslashes are data, not SQL.
  by.reference = "x' OR '1'='1";
  CHECK(ids_of(history_ok(c, 10, by)["transactions"]).empty());
}

TEST_CASE("history: pages are stable under concurrent inserts: no duplicates, no gaps") {
  fixture f;
  auto& c = *f.conn;

  SUBCASE("the cursor appears only when more rows exist") {
    CHECK_FALSE(has_key(history_ok(c, 10, {}, "", 7).root(), "next_cursor"));
    auto doc = history_ok(c, 10, {}, "", 6);
    CHECK(str(doc["next_cursor"]) == "101");
    auto rest = history_ok(c, 10, {}, "101", 6);
    CHECK(ids_of(rest["transactions"]) == ids({100}));
    CHECK_FALSE(has_key(rest.root(), "next_cursor"));
  }

  SUBCASE("rows inserted between page fetches") {
    auto p1 = history_ok(c, 10, {}, "", 3);
    CHECK(ids_of(p1["transactions"]) == ids({106, 105, 104}));
    const std::string cursor1 = str(p1["next_cursor"]);
    CHECK(cursor1 == "104");

    exec_sql(c, transfer_sql(108, 10, 20, "2026-01-02T00:00:00Z"));
    exec_sql(c, transfer_sql(109, 20, 10, "2026-01-02T00:00:01Z"));
    auto p2 = history_ok(c, 10, {}, cursor1, 3);
    CHECK(ids_of(p2["transactions"]) == ids({103, 102, 101}));
    const std::string cursor2 = str(p2["next_cursor"]);

    exec_sql(c, transfer_sql(110, 10, 11, "2026-01-02T00:00:02Z"));
    auto p3 = history_ok(c, 10, {}, cursor2, 3);
    CHECK(ids_of(p3["transactions"]) == ids({100}));
    CHECK_FALSE(has_key(p3.root(), "next_cursor"));

    // The new rows are on a fresh first page.
    CHECK(ids_of(history_ok(c, 10, {}, "", 3)["transactions"]) == ids({110, 109, 108}));
  }

  SUBCASE("hundreds of rows on both sides, pages of 200, inserts after every page") {
    std::string sql = "INSERT INTO wallets VALUES (40, 'user', 'dave', 'active', 8, '2026-01-01T09:00:00Z', 8);";
    // Odd ids debit wallet 40, even ids credit it: both index scans interleave.
    sql += "INSERT INTO transactions (transaction_id, type, status, asset, amount, from_wallet_id, to_wallet_id, "
           "principal, created_at, updated_seq, updated_at) "
           "SELECT id, 'transfer', 'completed', 'USD', 1.00, CASE WHEN id % 2 = 1 THEN 40 ELSE 20 END, "
           "CASE WHEN id % 2 = 1 THEN 20 ELSE 40 END, 'test', "
           "timestamptz '2026-01-03T00:00:00Z' + id * interval '1 second', id, now() "
           "FROM generate_series(1000, 1449) AS id";
    exec_sql(c, sql);
    std::vector<std::int64_t> seen;
    std::string cursor;
    std::int64_t next_id = 5000;
    for (int page = 0; page < 10; ++page) {
      auto doc = history_ok(c, 40, {}, cursor, 200);
      for (auto id : ids_of(doc["transactions"])) seen.push_back(id);
      for (int k = 0; k < 5; ++k, ++next_id)
        exec_sql(c, transfer_sql(next_id, next_id % 2 ? 40 : 20, next_id % 2 ? 20 : 40, "2026-01-04T00:00:00Z"));
      if (!has_key(doc.root(), "next_cursor")) break;
      cursor = str(doc["next_cursor"]);
    }
    REQUIRE(seen.size() == 450);
    CHECK(std::is_sorted(seen.begin(), seen.end(), std::greater<>()));
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 450);
    CHECK(seen.front() == 1449);
    CHECK(seen.back() == 1000);
  }
}

// ============================================================================
// transaction_detail

TEST_CASE("transaction_detail: the row and its postings") {
  fixture f;
  auto& c = *f.conn;
  std::string out;

  REQUIRE(lp::transaction_detail(c, 103, out).is_ok());
  {
    json_doc doc(out);
    CHECK(std::int64_t(doc["transaction_id"]) == 103);
    CHECK(str(doc["type"]) == "capture");
    CHECK(std::int64_t(doc["related_id"]) == 102);
    CHECK(doc["hold"].is_null());
    CHECK_FALSE(bool(doc["postings_truncated"]));
    auto legs = simdjson::dom::array(doc["postings"]);
    REQUIRE(legs.size() == 4);
    auto first = legs.at(0).value();
    CHECK(std::int64_t(first["seq"]) == 103);
    CHECK(std::int64_t(first["leg"]) == 0);
    CHECK(std::int64_t(first["wallet_id"]) == 10);
    CHECK(str(first["asset"]) == "USD");
    CHECK(str(first["kind"]) == "posted");
    CHECK(str(first["amount"]) == "-10.00");
    CHECK(str(first["posted_after"]) == "65.00");
    CHECK(str(first["held_after"]) == "0.00");
    CHECK(str(first["incoming_after"]) == "0.00");
    CHECK(str(first["created_at"]) == "2026-01-01T13:00:00.000000Z");
  }

  // The hold's own legs, not its capture's (those belong to 103).
  REQUIRE(lp::transaction_detail(c, 102, out).is_ok());
  {
    json_doc doc(out);
    CHECK(str(doc["hold"]["status"]) == "captured");
    auto legs = simdjson::dom::array(doc["postings"]);
    REQUIRE(legs.size() == 2);
    for (auto leg : legs) CHECK(std::int64_t(leg["seq"]) == 102);
  }

  SUBCASE("a hold released by a later event lists that event's legs too") {
    exec_sql(c, R"sql(
      INSERT INTO transactions (transaction_id, type, status, asset, amount, from_wallet_id, to_wallet_id,
                                principal, created_at, updated_seq, updated_at)
        VALUES (120, 'hold', 'expired', 'USD', 3.00, 10, 1, 'alice', '2026-01-05T00:00:00Z',
                121, '2026-01-06T00:00:00Z');
      INSERT INTO holds VALUES (120, 'hold', 10, 1, 'USD', 3.00, '2026-01-06T00:00:00Z', 'expired', 0,
                                '2026-01-05T00:00:00Z', 121, '2026-01-06T00:00:00Z');
      INSERT INTO postings VALUES
        (120, 0, 120, 10, 'USD', 'pending', -3.00, 70.50, 23.00, 0, '2026-01-05T00:00:00Z'),
        (121, 0, 120, 10, 'USD', 'pending',  3.00, 70.50, 20.00, 0, '2026-01-06T00:00:00Z'),
        (121, 1, NULL, 11, 'USD', 'posted',  0.00,  0.00,  0.00, 0, '2026-01-06T00:00:00Z');
    )sql");
    REQUIRE(lp::transaction_detail(c, 120, out).is_ok());
    json_doc doc(out);
    std::vector<std::int64_t> seqs;
    for (auto leg : simdjson::dom::array(doc["postings"])) seqs.push_back(std::int64_t(leg["seq"]));
    CHECK(seqs == ids({120, 121}));
  }

  SUBCASE("visible_to_owner: only the owner's transactions and only their own legs") {
    REQUIRE(lp::transaction_detail(c, 103, out, std::string("alice")).is_ok());
    json_doc doc(out);
    auto legs = simdjson::dom::array(doc["postings"]);
    REQUIRE(legs.size() == 2);
    for (auto leg : legs) CHECK(std::int64_t(leg["wallet_id"]) == 10);

    CHECK(lp::transaction_detail(c, 103, out, std::string("bob")).error_code() == code::not_found);
    CHECK(out.empty());
    REQUIRE(lp::transaction_detail(c, 101, out, std::string("bob")).is_ok());
    CHECK(simdjson::dom::array(json_doc(out)["postings"]).size() == 1);
    // User "clearing" owns wallet 30, not the system account of that name.
    CHECK(lp::transaction_detail(c, 100, out, std::string("clearing")).error_code() == code::not_found);
    CHECK(lp::transaction_detail(c, 107, out, std::string("clearing")).is_ok());
    CHECK(lp::transaction_detail(c, 103, out, std::string("")).error_code() == code::invalid_argument);
  }

  CHECK(lp::transaction_detail(c, 9999, out).error_code() == code::not_found);
  CHECK(out.empty());
  CHECK(lp::transaction_detail(c, 0, out).error_code() == code::invalid_argument);
  CHECK(lp::transaction_detail(c, ~std::uint64_t{0}, out).error_code() == code::invalid_argument);
}

// ============================================================================
// statement

TEST_CASE("statement: opening and closing balances, posted entries, totals") {
  fixture f;
  auto& c = *f.conn;
  std::string out;

  SUBCASE("a period in the middle") {
    REQUIRE(lp::statement(c, 10, "USD", "2026-01-01T10:30:00Z", "2026-01-01T15:30:00Z", out).is_ok());
    json_doc doc(out);
    CHECK(std::int64_t(doc["wallet_id"]) == 10);
    CHECK(str(doc["asset"]) == "USD");
    CHECK(str(doc["from"]) == "2026-01-01T10:30:00.000000Z");
    CHECK(str(doc["to"]) == "2026-01-01T15:30:00.000000Z");
    CHECK(str(doc["opening"]["posted"]) == "100.00");
    CHECK(std::int64_t(doc["opening"]["seq"]) == 100);
    CHECK(str(doc["opening"]["at"]) == "2026-01-01T10:00:00.000000Z");
    CHECK(str(doc["closing"]["posted"]) == "70.50");
    CHECK(std::int64_t(doc["closing"]["seq"]) == 105);
    CHECK(str(doc["totals"]["debits"]) == "35.00");
    CHECK(str(doc["totals"]["credits"]) == "5.50");
    CHECK(std::int64_t(doc["totals"]["entries"]) == 3);
    // Pending legs (the hold at 102) are not entries.
    auto entries = simdjson::dom::array(doc["entries"]);
    REQUIRE(entries.size() == 3);
    std::vector<std::string> amounts, afters, types;
    std::vector<std::int64_t> seqs;
    for (auto e : entries) {
      seqs.push_back(std::int64_t(e["seq"]));
      amounts.push_back(str(e["amount"]));
      afters.push_back(str(e["posted_after"]));
      types.push_back(str(e["type"]));
    }
    CHECK(seqs == ids({101, 103, 105}));
    CHECK(amounts == std::vector<std::string>{"-25.00", "-10.00", "5.50"});
    CHECK(afters == std::vector<std::string>{"75.00", "65.00", "70.50"});
    CHECK(types == std::vector<std::string>{"transfer", "capture", "transfer"});
    auto first = entries.at(0).value();
    CHECK(std::int64_t(first["transaction_id"]) == 101);
    CHECK(str(first["reference"]) == "order-7");
    CHECK(str(first["at"]) == "2026-01-01T11:00:00.000000Z");
    CHECK(std::int64_t(first["leg"]) == 0);
  }

  SUBCASE("the whole history: opening zero at the asset's scale") {
    REQUIRE(lp::statement(c, 10, "USD", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", out).is_ok());
    json_doc doc(out);
    CHECK(str(doc["opening"]["posted"]) == "0.00");
    CHECK(doc["opening"]["seq"].is_null());
    CHECK(doc["opening"]["at"].is_null());
    CHECK(str(doc["closing"]["posted"]) == "70.50");
    CHECK(std::int64_t(doc["closing"]["seq"]) == 106);
    CHECK(str(doc["totals"]["debits"]) == "35.00");
    CHECK(str(doc["totals"]["credits"]) == "105.50");
    CHECK(std::int64_t(doc["totals"]["entries"]) == 4);
  }

  SUBCASE("a period without entries") {
    REQUIRE(lp::statement(c, 10, "USD", "2025-12-01T00:00:00Z", "2025-12-02T00:00:00Z", out).is_ok());
    json_doc doc(out);
    CHECK(str(doc["opening"]["posted"]) == "0.00");
    CHECK(str(doc["closing"]["posted"]) == "0.00");
    CHECK(str(doc["totals"]["debits"]) == "0.00");
    CHECK(str(doc["totals"]["credits"]) == "0.00");
    CHECK(std::int64_t(doc["totals"]["entries"]) == 0);
    CHECK(simdjson::dom::array(doc["entries"]).size() == 0);

    // After the last change: opening = closing = the last balance.
    REQUIRE(lp::statement(c, 10, "USD", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", out).is_ok());
    json_doc later(out);
    CHECK(str(later["opening"]["posted"]) == "70.50");
    CHECK(str(later["closing"]["posted"]) == "70.50");
    CHECK(str(later["totals"]["debits"]) == "0.00");
  }

  SUBCASE("only credits") {
    REQUIRE(lp::statement(c, 10, "EUR", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", out).is_ok());
    json_doc doc(out);
    CHECK(str(doc["totals"]["debits"]) == "0.00");
    CHECK(str(doc["totals"]["credits"]) == "50.00");
  }

  SUBCASE("errors") {
    CHECK(lp::statement(c, 999, "USD", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", out).error_code() ==
          code::not_found);
    CHECK(out.empty());
    CHECK(lp::statement(c, 20, "EUR", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", out).error_code() ==
          code::not_found);
    CHECK(lp::statement(c, 10, "USD", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", out).error_code() ==
          code::invalid_argument);
    CHECK(lp::statement(c, 10, "USD", "2026-01-03T00:00:00Z", "2026-01-02T00:00:00Z", out).error_code() ==
          code::invalid_argument);
    CHECK(lp::statement(c, 10, "USD", "2026-01-01", "2026-01-02T00:00:00Z", out).error_code() ==
          code::invalid_argument);
    CHECK(lp::statement(c, 10, "USD", "2026-01-01T00:00:00Z", "tomorrow", out).error_code() ==
          code::invalid_argument);
    CHECK(lp::statement(c, 10, "", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", out).error_code() ==
          code::invalid_argument);
    CHECK(lp::statement(c, 0, "USD", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", out).error_code() ==
          code::invalid_argument);
  }
}

TEST_CASE("statement: more than 10,000 entries asks to narrow the period") {
  fixture f;
  auto& c = *f.conn;
  // Wallet 50 receives 0.01 every second from 2026-02-01T00:00:00Z: 10,001 entries.
  exec_sql(c, R"sql(
    INSERT INTO wallets VALUES (50, 'user', 'erin', 'active', 9, '2026-01-01T09:00:00Z', 9);
    INSERT INTO balances (wallet_id, asset, is_system, posted, held, incoming, overdraft_limit, updated_seq, updated_at)
      VALUES (50, 'USD', false, 100.01, 0, 0, 0, 30000, '2026-02-01T03:00:00Z');
    INSERT INTO postings
      SELECT 20000 + i, 0, 20000 + i, 50, 'USD', 'posted', 0.01, (i + 1) * 0.01, 0, 0,
             timestamptz '2026-02-01T00:00:00Z' + i * interval '1 second'
      FROM generate_series(0, 10000) AS i;
  )sql");
  std::string out;
  const status s = lp::statement(c, 50, "USD", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", out);
  CHECK(s.error_code() == code::invalid_argument);
  CHECK(s.message().find("narrow the period") != std::string::npos);
  CHECK(out.empty());

  // Exactly 10,000 entries (seconds 0..9999) is allowed.
  REQUIRE(lp::statement(c, 50, "USD", "2026-02-01T00:00:00Z", "2026-02-01T02:46:40Z", out).is_ok());
  json_doc doc(out);
  CHECK(std::int64_t(doc["totals"]["entries"]) == 10'000);
  CHECK(str(doc["totals"]["credits"]) == "100.00");
  CHECK(str(doc["opening"]["posted"]) == "0.00");
  CHECK(str(doc["closing"]["posted"]) == "100.00");
}

// ============================================================================
// balance_at

TEST_CASE("balance_at: the latest change at or before the time") {
  fixture f;
  auto& c = *f.conn;
  std::string out;

  REQUIRE(lp::balance_at(c, 10, "USD", "2026-01-01T12:30:00Z", out).is_ok());
  {
    json_doc doc(out);
    CHECK(std::int64_t(doc["wallet_id"]) == 10);
    CHECK(str(doc["asset"]) == "USD");
    CHECK(str(doc["at"]) == "2026-01-01T12:30:00.000000Z");
    CHECK(str(doc["posted"]) == "75.00");
    CHECK(str(doc["held"]) == "10.00");
    CHECK(str(doc["incoming"]) == "0.00");
    CHECK(str(doc["total"]) == "75.00");
    CHECK(str(doc["pending_outgoing"]) == "10.00");
    CHECK(str(doc["pending_incoming"]) == "0.00");
    CHECK(std::int64_t(doc["seq"]) == 102);
    CHECK(str(doc["changed_at"]) == "2026-01-01T12:00:00.000000Z");
  }
  // At the very instant of a change, the change counts (at <= `at`).
  REQUIRE(lp::balance_at(c, 10, "USD", "2026-01-01T15:00:00+02:00", out).is_ok());
  {
    json_doc doc(out);
    CHECK(str(doc["at"]) == "2026-01-01T13:00:00.000000Z");
    CHECK(std::int64_t(doc["seq"]) == 103);
    CHECK(str(doc["posted"]) == "65.00");
    CHECK(str(doc["held"]) == "0.00");
  }
  REQUIRE(lp::balance_at(c, 10, "USD", "2099-01-01T00:00:00Z", out).is_ok());
  CHECK(std::int64_t(json_doc(out)["seq"]) == 106);

  // Before the first change: zeros, seq 0, no changed_at.
  REQUIRE(lp::balance_at(c, 10, "USD", "2026-01-01T09:59:59.999999Z", out).is_ok());
  {
    json_doc doc(out);
    CHECK(str(doc["posted"]) == "0.00");
    CHECK(str(doc["held"]) == "0.00");
    CHECK(str(doc["incoming"]) == "0.00");
    CHECK(std::int64_t(doc["seq"]) == 0);
    CHECK(doc["changed_at"].is_null());
  }
  // A wallet that holds the asset but never moved it.
  REQUIRE(lp::balance_at(c, 11, "USD", "2026-06-01T00:00:00Z", out).is_ok());
  CHECK(std::int64_t(json_doc(out)["seq"]) == 0);

  // The same answer as the latest balance_history row (read there through the view).
  for (const char* t : {"2026-01-01T10:00:00Z", "2026-01-01T12:59:59Z", "2026-01-01T13:00:00Z",
                        "2026-01-01T15:30:00Z", "2026-01-01T16:00:00Z", "2030-01-01T00:00:00Z"}) {
    REQUIRE(lp::balance_at(c, 10, "USD", t, out).is_ok());
    json_doc doc(out);
    pqxx::read_transaction tx(c);
    const pqxx::row r = tx.exec1(
        "SELECT posted::text, held::text, incoming::text, seq FROM balance_history WHERE wallet_id = 10 "
        "AND asset = 'USD' AND at <= '" + std::string(t) + "'::timestamptz ORDER BY at DESC, seq DESC LIMIT 1");
    CHECK_MESSAGE(str(doc["posted"]) == r[0].c_str(), t);
    CHECK_MESSAGE(str(doc["held"]) == r[1].c_str(), t);
    CHECK_MESSAGE(str(doc["incoming"]) == r[2].c_str(), t);
    CHECK_MESSAGE(std::int64_t(doc["seq"]) == r[3].as<std::int64_t>(), t);
  }

  CHECK(lp::balance_at(c, 999, "USD", "2026-01-01T12:00:00Z", out).error_code() == code::not_found);
  CHECK(out.empty());
  CHECK(lp::balance_at(c, 20, "EUR", "2026-01-01T12:00:00Z", out).error_code() == code::not_found);
  CHECK(lp::balance_at(c, 10, "USD", "2026-01-01T12:00:00", out).error_code() == code::invalid_argument);
  CHECK(lp::balance_at(c, 10, "USD", "", out).error_code() == code::invalid_argument);
  CHECK(lp::balance_at(c, 10, std::string(17, 'U'), "2026-01-01T12:00:00Z", out).error_code() ==
        code::invalid_argument);
}

// ============================================================================
// by_reference, wallet_owner, projection_position

TEST_CASE("a user sees its own side only: the request's fields are its issuer's") {
  fixture f;
  auto& c = *f.conn;
  std::string out;
  // 105: bob sent 5.50 to alice's wallet 10 with his reference "refund-3".
  REQUIRE(lp::transaction_detail(c, 105, out, std::string("alice")).is_ok());
  {
    json_doc doc(out);
    CHECK(str(doc["amount"]) == "5.50");
    CHECK(str(doc["asset"]) == "USD");
    CHECK(str(doc["status"]) == "completed");
    CHECK(std::int64_t(doc["from_wallet_id"]) == 20);
    CHECK(std::int64_t(doc["to_wallet_id"]) == 10);
    for (const char* k : {"principal", "request_id", "reference", "metadata"}) CHECK_MESSAGE(doc[k].is_null(), k);
    CHECK(simdjson::dom::array(doc["postings"]).size() == 1);
  }
  // The sender sees what it wrote; so does an admin (no viewer).
  REQUIRE(lp::transaction_detail(c, 105, out, std::string("bob")).is_ok());
  CHECK(str(json_doc(out)["reference"]) == "refund-3");
  CHECK(str(json_doc(out)["principal"]) == "bob");
  REQUIRE(lp::transaction_detail(c, 105, out).is_ok());
  CHECK(str(json_doc(out)["reference"]) == "refund-3");
  // Alice's own deposit keeps every field for her.
  REQUIRE(lp::transaction_detail(c, 100, out, std::string("alice")).is_ok());
  CHECK(str(json_doc(out)["request_id"]) == "req-100");
  CHECK(str(json_doc(out)["metadata"]["city"]) == "Zürich");

  // History: the same row as alice's side; her reference filter finds only her own.
  REQUIRE(lp::history(c, 10, {}, "", 50, out, std::string("alice")).is_ok());
  json_doc seen(out);
  for (auto t : simdjson::dom::array(seen["transactions"])) {
    const bool own = std::int64_t(t["transaction_id"]) != 105 && std::int64_t(t["transaction_id"]) != 103;
    CHECK_MESSAGE(t["principal"].is_null() != own, std::int64_t(t["transaction_id"]));
  }
  lp::history_filters by_ref;
  by_ref.reference = "refund-3";
  REQUIRE(lp::history(c, 10, by_ref, "", 50, out, std::string("alice")).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]).empty());
  REQUIRE(lp::history(c, 10, by_ref, "", 50, out).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]) == ids({105}));
  CHECK(lp::history(c, 10, {}, "", 50, out, std::string("")).error_code() == code::invalid_argument);

  // Statement entries: bob's reference is not alice's to read.
  REQUIRE(lp::statement(c, 10, "USD", "2026-01-01T10:30:00Z", "2026-01-01T15:30:00Z", out, std::string("alice")).is_ok());
  std::vector<std::string> refs;
  json_doc stmt(out);
  for (auto e : simdjson::dom::array(stmt["entries"]))
    refs.push_back(e["reference"].is_null() ? "null" : str(e["reference"]));
  CHECK(refs == std::vector<std::string>{"order-7", "null", "null"});
}

TEST_CASE("by_reference: exact match, newest first, bounded, visibility") {
  fixture f;
  auto& c = *f.conn;
  std::string out;

  REQUIRE(lp::by_reference(c, "order-7", out).is_ok());
  {
    json_doc doc(out);
    CHECK(str(doc["reference"]) == "order-7");
    CHECK(ids_of(doc["transactions"]) == ids({107, 102, 101}));
    CHECK_FALSE(bool(doc["truncated"]));
  }
  REQUIRE(lp::by_reference(c, "order-7", out, std::string("alice")).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]) == ids({102, 101}));
  // User "clearing" received 107 from bob, who wrote the reference: a
  // receiver finds nothing by it, as for a reference nobody used.
  REQUIRE(lp::by_reference(c, "order-7", out, std::string("clearing")).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]).empty());
  REQUIRE(lp::by_reference(c, "order-7", out, std::string("bob")).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]) == ids({107}));
  REQUIRE(lp::by_reference(c, "refund-3", out, std::string("alice")).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]).empty());
  REQUIRE(lp::by_reference(c, "dep-1", out, std::string("clearing")).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]).empty());

  REQUIRE(lp::by_reference(c, "ORDER-7", out).is_ok());
  CHECK(ids_of(json_doc(out)["transactions"]).empty());

  CHECK(lp::by_reference(c, "", out).error_code() == code::invalid_argument);
  CHECK(out.empty());
  CHECK(lp::by_reference(c, std::string(257, 'r'), out).error_code() == code::invalid_argument);

  exec_sql(c, "INSERT INTO transactions (transaction_id, type, status, asset, amount, from_wallet_id, to_wallet_id, "
              "reference, principal, created_at, updated_seq, updated_at) "
              "SELECT id, 'transfer', 'completed', 'USD', 1.00, 10, 20, 'bulk', 'test', now(), id, now() "
              "FROM generate_series(2000, 2100) AS id");
  REQUIRE(lp::by_reference(c, "bulk", out).is_ok());
  json_doc doc(out);
  auto got = ids_of(doc["transactions"]);
  REQUIRE(got.size() == 100);
  CHECK(got.front() == 2100);
  CHECK(got.back() == 2001);
  CHECK(bool(doc["truncated"]));
}

TEST_CASE("wallet_owner: user wallets only") {
  fixture f;
  auto& c = *f.conn;
  std::optional<std::string> owner;
  REQUIRE(lp::wallet_owner(c, 10, owner).is_ok());
  CHECK(owner == std::optional<std::string>("alice"));
  REQUIRE(lp::wallet_owner(c, 30, owner).is_ok());
  CHECK(owner == std::optional<std::string>("clearing"));
  REQUIRE(lp::wallet_owner(c, 1, owner).is_ok());  // a system account
  CHECK_FALSE(owner.has_value());
  REQUIRE(lp::wallet_owner(c, 999, owner).is_ok());
  CHECK_FALSE(owner.has_value());
  CHECK(lp::wallet_owner(c, 0, owner).error_code() == code::invalid_argument);
}

TEST_CASE("projection_position: the checkpoint, or not_found before the first") {
  fixture f;
  auto& c = *f.conn;
  lp::projection_position_info pos;
  std::string out;
  CHECK(lp::projection_position(c, "read_models", pos, out).error_code() == code::not_found);
  CHECK(lp::projection_position(c, "", pos, out).error_code() == code::invalid_argument);
  CHECK(lp::projection_position(c, std::string(129, 'p'), pos, out).error_code() == code::invalid_argument);

  exec_sql(c, "INSERT INTO projection_checkpoints VALUES ('read_models', 107, '\\x00', '2026-01-01T17:00:00Z', "
              "'2026-01-01T17:00:01.5Z'), ('fresh', 0, '\\x00', NULL, '2026-01-01T09:00:00Z')");
  REQUIRE(lp::projection_position(c, "read_models", pos, out).is_ok());
  CHECK(pos.last_seq == 107);
  CHECK(pos.last_at == std::optional<std::string>("2026-01-01T17:00:00.000000Z"));
  json_doc doc(out);
  CHECK(str(doc["projection"]) == "read_models");
  CHECK(std::int64_t(doc["last_seq"]) == 107);
  CHECK(str(doc["last_at"]) == "2026-01-01T17:00:00.000000Z");
  CHECK(str(doc["updated_at"]) == "2026-01-01T17:00:01.500000Z");

  REQUIRE(lp::projection_position(c, "fresh", pos, out).is_ok());
  CHECK(pos.last_seq == 0);
  CHECK_FALSE(pos.last_at.has_value());
  CHECK(json_doc(out)["last_at"].is_null());
}

// ============================================================================
// database failures become status values

TEST_CASE("queries: database failures are statuses, never exceptions") {
  fixture f;
  std::string out;

  SUBCASE("a lost connection is unavailable") {
    auto victim = connect_ledger(f.conninfo);
    const int pid = victim->backendpid();
    exec_sql(*f.conn, "SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    const status s = lp::history(*victim, 10, {}, "", 10, out);
    CHECK(s.error_code() == code::unavailable);
    CHECK(s.retryable());
    CHECK(out.empty());
  }
  SUBCASE("a missing table (wrong search_path) is io_error") {
    auto lost = std::make_unique<pqxx::connection>(with_timeout(f.conninfo));  // search_path: public
    const status s = lp::by_reference(*lost, "order-7", out);
    CHECK(s.error_code() == code::io_error);
    CHECK(s.message().find("42P01") != std::string::npos);
  }
  SUBCASE("a statement timeout is unavailable") {
    pqxx::nontransaction(*f.conn).exec("SET statement_timeout = 1");
    // The queries take no sleep, so make one wait: another session holds an
    // exclusive lock on the table it reads.
    auto holder = connect_ledger(f.conninfo);
    pqxx::work lock_tx(*holder);
    lock_tx.exec("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE");
    const status s = lp::by_reference(*f.conn, "order-7", out);
    CHECK(s.error_code() == code::unavailable);
    CHECK(s.message().find("57014") != std::string::npos);
    lock_tx.abort();
  }
}

// ============================================================================
// query_pool

TEST_CASE("query_pool: options are validated") {
  lp::query_pool_options o;
  o.conninfo = "host=127.0.0.1";
  CHECK(lp::validate(o).is_ok());
  auto bad = [](auto change) {
    lp::query_pool_options x;
    x.conninfo = "host=127.0.0.1";
    change(x);
    return lp::validate(x).error_code() == code::invalid_argument;
  };
  CHECK(bad([](auto& x) { x.conninfo.clear(); }));
  CHECK(bad([](auto& x) { x.workers = 0; }));
  CHECK(bad([](auto& x) { x.workers = lp::query_pool_workers_max + 1; }));
  CHECK(bad([](auto& x) { x.queue_max = 0; }));
  CHECK(bad([](auto& x) { x.statement_timeout_ms = 0; }));
  CHECK(bad([](auto& x) { x.connect_timeout_s = 0; }));
  CHECK(bad([](auto& x) { x.reconnect_backoff_min_ms = 0; }));
  CHECK(bad([](auto& x) { x.reconnect_backoff_max_ms = x.reconnect_backoff_min_ms - 1; }));
  CHECK(bad([](auto& x) { x.queue_wait_max_ms = 0; }));
  CHECK(bad([](auto& x) { x.schema = std::string(64, 's'); }));
}

TEST_CASE("query_pool: jobs run on connections with statement_timeout and search_path set") {
  fixture f;
  auto o = pool_options(f.conninfo);
  o.workers = 2;
  o.statement_timeout_ms = 1234;
  lp::query_pool pool(o);
  outcomes done;
  std::mutex mu;
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(pool.submit(
        [&](pqxx::connection& c) {
          std::string timeout, path;
          {
            pqxx::read_transaction tx(c);
            timeout = tx.exec1("SHOW statement_timeout")[0].c_str();
            path = tx.exec1("SHOW search_path")[0].c_str();
          }
          std::string json;
          const status s = lp::history(c, 10, {}, "", 2, json);
          {
            std::lock_guard lock(mu);
            seen.push_back(timeout + "|" + path + "|" + (s.is_ok() ? "ok" : s.to_string()));
          }
          done.ok();
        },
        done.handler()));
  }
  auto results = done.wait_for(4);
  for (const auto& s : results) CHECK(s.is_ok());
  for (const auto& s : seen) CHECK(s == "1234ms|ledger|ok");
  pool.stop();
  const auto st = pool.stats();
  CHECK(st.completed == 4);
  CHECK(st.submitted == 4);
  CHECK(st.connects >= 1);
  CHECK(st.connects <= 2);
}

TEST_CASE("query_pool: a full queue refuses at once") {
  fixture f;
  auto o = pool_options(f.conninfo);
  o.queue_max = 2;
  lp::query_pool pool(o);
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  outcomes done;
  REQUIRE(pool.submit(blocker(started, released), done.handler()));
  REQUIRE(started.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready);

  auto quick = [&](pqxx::connection&) { done.ok(); };
  CHECK(pool.submit(quick, done.handler()));
  CHECK(pool.submit(quick, done.handler()));
  const auto before = std::chrono::steady_clock::now();
  CHECK_FALSE(pool.submit(quick, done.handler()));
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(100));
  CHECK(pool.stats().rejected_full == 1);
  CHECK(pool.stats().queue_depth == 2);

  release.set_value();
  auto results = done.wait_for(2);
  CHECK(results.size() == 2);
  pool.stop();
  CHECK(pool.stats().completed == 3);
  CHECK_FALSE(pool.submit(quick));  // stopped
}

TEST_CASE("query_pool: a throwing job does not kill its worker") {
  fixture f;
  lp::query_pool pool(pool_options(f.conninfo));  // one worker: every job runs on it
  outcomes done;
  REQUIRE(pool.submit([](pqxx::connection&) { throw std::runtime_error("boom"); }, done.handler()));
  REQUIRE(pool.submit([](pqxx::connection&) { throw 42; }, done.handler()));
  REQUIRE(pool.submit(
      [](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        tx.exec("SELECT no_such_column FROM transactions");
      },
      done.handler()));
  // A failing job whose failure handler throws as well.
  REQUIRE(pool.submit([](pqxx::connection&) { throw std::runtime_error("again"); },
                      [](const status&) { throw std::logic_error("handler too"); }));
  // A job without a failure handler.
  REQUIRE(pool.submit([](pqxx::connection&) { throw std::runtime_error("unheard"); }));
  REQUIRE(pool.submit(
      [&](pqxx::connection& c) {
        pqxx::read_transaction tx(c);
        CHECK(tx.exec1("SELECT count(*) FROM transactions")[0].as<int>() == 8);
        done.ok();
      },
      done.handler()));
  auto results = done.wait_for(4);
  REQUIRE(results.size() == 4);
  CHECK(results[0].error_code() == code::io_error);
  CHECK(results[0].message().find("boom") != std::string::npos);
  CHECK(results[1].error_code() == code::io_error);
  CHECK(results[1].message().find("unknown exception") != std::string::npos);
  CHECK(results[2].error_code() == code::io_error);
  CHECK(results[2].message().find("42703") != std::string::npos);
  CHECK(results[3].is_ok());
  pool.stop();
  const auto st = pool.stats();
  CHECK(st.failed == 5);
  CHECK(st.completed == 1);
  CHECK(st.connects == 1);  // the SQL error did not cost the connection
}

TEST_CASE("query_pool: the statement timeout cancels a slow query, and the worker goes on") {
  fixture f;
  auto o = pool_options(f.conninfo);
  o.statement_timeout_ms = 300;
  lp::query_pool pool(o);
  outcomes done;
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(pool.submit(
      [](pqxx::connection& c) {
        pqxx::nontransaction n(c);
        n.exec("SELECT pg_sleep(10)");
      },
      done.handler()));
  auto first = done.wait_for(1);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(first[0].error_code() == code::unavailable);
  CHECK(first[0].message().find("57014") != std::string::npos);
  CHECK(elapsed < std::chrono::seconds(5));

  REQUIRE(pool.submit(
      [&](pqxx::connection& c) {
        pqxx::nontransaction n(c);
        n.exec("SELECT pg_sleep(0.01)");
        done.ok();
      },
      done.handler()));
  auto both = done.wait_for(2);
  CHECK(both[1].is_ok());
  CHECK(pool.stats().connects == 1);
}

TEST_CASE("query_pool: jobs that waited too long in the queue fail instead of running") {
  fixture f;
  auto o = pool_options(f.conninfo);
  o.queue_wait_max_ms = 100;
  lp::query_pool pool(o);
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  outcomes done;
  REQUIRE(pool.submit(blocker(started, released), done.handler()));
  REQUIRE(started.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  std::atomic<bool> ran{false};
  REQUIRE(pool.submit([&](pqxx::connection&) { ran = true; }, done.handler()));
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  release.set_value();
  auto results = done.wait_for(1);
  CHECK(results[0].error_code() == code::unavailable);
  CHECK(results[0].message().find("queue") != std::string::npos);
  pool.stop();
  CHECK_FALSE(ran.load());
  CHECK(pool.stats().expired == 1);
}

TEST_CASE("query_pool: stop drains the queue and joins") {
  fixture f;
  lp::query_pool pool(pool_options(f.conninfo));
  std::atomic<int> ran{0};
  for (int i = 0; i < 8; ++i)
    REQUIRE(pool.submit([&](pqxx::connection& c) {
      pqxx::nontransaction(c).exec("SELECT pg_sleep(0.01)");
      ++ran;
    }));
  pool.stop();
  CHECK(ran.load() == 8);
  CHECK_FALSE(pool.submit([](pqxx::connection&) {}));
  pool.stop();  // idempotent
}

TEST_CASE("query_pool: an unreachable server fails jobs fast, with backoff between attempts") {
  // A port nobody listens on: connect() is refused at once.
  auto o = pool_options("host=127.0.0.1 port=1 user=postgres dbname=postgres");
  o.reconnect_backoff_min_ms = 5'000;
  o.reconnect_backoff_max_ms = 5'000;
  lp::query_pool pool(o);
  outcomes done;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) REQUIRE(pool.submit([&](pqxx::connection&) { done.ok(); }, done.handler()));
  auto results = done.wait_for(3);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  for (const auto& s : results) {
    CHECK(s.error_code() == code::unavailable);
    CHECK(s.retryable());
  }
  CHECK(results[1].message().find("next connection attempt") != std::string::npos);
  const auto st = pool.stats();
  CHECK(st.connect_failures == 1);  // the later jobs fell inside the backoff
  CHECK(st.unavailable == 3);
  CHECK(st.connects == 0);
}

TEST_CASE("query_pool: reconnects after the server restarts") {
  // A server of its own: stopping it must not disturb the other tests.
  pg_instance pg(disposable_pg_options());
  const std::string conninfo = fresh_database(pg);
  lp::query_pool pool(pool_options(conninfo));

  auto count_wallets = [&]() {
    auto done = std::make_shared<outcomes>();
    const bool queued = pool.submit(
        [done](pqxx::connection& c) {
          pqxx::read_transaction tx(c);
          tx.exec("SELECT count(*) FROM wallets");
          done->ok();
        },
        done->handler());
    REQUIRE(queued);
    return done->wait_for(1).at(0);
  };

  REQUIRE(count_wallets().is_ok());
  CHECK(pool.stats().connects == 1);

  SUBCASE("a restart between jobs costs no job") {
    pg.stop();
    pg.start();
    // The idle connection saw the server's goodbye; the next job reconnects first.
    CHECK(count_wallets().is_ok());
    CHECK(pool.stats().connects == 2);
    CHECK(pool.stats().failed == 0);
  }

  SUBCASE("jobs while the server is down fail as unavailable, then the pool recovers") {
    pg.stop();
    const auto start = std::chrono::steady_clock::now();
    const status down = count_wallets();
    CHECK(down.error_code() == code::unavailable);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    pg.start();
    // Within the backoff (at most 200 ms here) jobs fail fast; then one succeeds.
    status up = status::unavailable("not tried");
    for (int attempt = 0; attempt < 100 && !up.is_ok(); ++attempt) {
      up = count_wallets();
      if (!up.is_ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK_MESSAGE(up.is_ok(), up.to_string());
    CHECK(pool.stats().connects == 2);
  }
  pool.stop();
}
