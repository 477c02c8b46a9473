// History reads over real HTTP against a real ledgerd projecting into a
// private PostgreSQL: a user sees its own side of a transaction only
// (issue 9 finding 3), and min_seq is bounded by the journal head and waits
// without holding a query worker (finding 4).
#include <pqxx/pqxx>

#include <chrono>
#include <memory>
#include <thread>

#include "tests/api/e2e_support.h"
#include "tests/api/e2e_pg.h"

using namespace ledger;
using namespace ledger::e2e;

namespace {


void sql(const std::string& conninfo, const std::string& statement) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec(statement);
  tx.commit();
}

std::string metric(ledger_env& env, const std::string& name) {
  auto body = env.ops_get("/metrics").body;
  auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  auto start = at + name.size() + 2;
  return body.substr(start, body.find('\n', start) - start);
}

std::string history_target(std::uint64_t wallet, std::uint64_t min_seq) {
  return "/v1/wallets/" + std::to_string(wallet) + "/transactions?min_seq=" + std::to_string(min_seq);
}

void check_other_side_hidden(const json& j, std::string_view at) {
  for (const char* k : {"principal", "request_id", "reference", "metadata"}) {
    std::string ptr = std::string(at) + "/" + k;
    CHECK_MESSAGE(j.raw(ptr) == "null", ptr, " = ", j.raw(ptr));
  }
}

}  // namespace

TEST_CASE("a user sees its own side of a transfer: never the sender's principal, request id, reference or metadata") {
  ledger_env env(pg_options(e2e_pg().create_database("e2e_own_side")));
  auto alice = env.open_wallet("alice");
  auto bob = env.open_wallet("bob");
  env.deposit(alice, "50.00");
  auto r = env.post("/v1/transfers", env.alice,
                    R"({"from_wallet_id":)" + std::to_string(alice) + R"(,"to_wallet_id":)" + std::to_string(bob) +
                        R"(,"asset":"USD","amount":"10.00","reference":"rent-alice","metadata":{"note":"for the flat"}})",
                    auto_key, {{"X-Request-ID", "req-alice-1"}});
  auto seq = check_command(r, 201);
  auto id = json(r.body).u64("/transaction_id");

  // Bob, the receiver: amounts, asset, status, times and both wallet ids.
  auto h = env.get(history_target(bob, seq), env.bob);
  REQUIRE_MESSAGE(h.status == 200, h.body);
  json hist(h.body);
  REQUIRE(hist.u64("/transactions/0/transaction_id") == id);
  CHECK(hist.str("/transactions/0/amount") == "10.00");
  CHECK(hist.str("/transactions/0/asset") == "USD");
  CHECK(hist.str("/transactions/0/status") == "completed");
  CHECK(hist.u64("/transactions/0/from_wallet_id") == alice);
  CHECK(hist.u64("/transactions/0/to_wallet_id") == bob);
  CHECK(hist.has("/transactions/0/created_at"));
  check_other_side_hidden(hist, "/transactions/0");
  CHECK(h.body.find("alice") == std::string::npos);

  auto d = env.get("/v1/transactions/" + std::to_string(id), env.bob);
  REQUIRE_MESSAGE(d.status == 200, d.body);
  json detail(d.body);
  check_other_side_hidden(detail, "");
  REQUIRE(detail.size("/postings") == 1);
  CHECK(detail.u64("/postings/0/wallet_id") == bob);
  CHECK(d.body.find("alice") == std::string::npos);

  // Guessing the sender's reference finds what a reference nobody used finds.
  auto guessed = env.get("/v1/transactions?reference=rent-alice", env.bob);
  auto unused = env.get("/v1/transactions?reference=never-used", env.bob);
  REQUIRE_MESSAGE(guessed.status == 200, guessed.body);
  CHECK(guessed.status == unused.status);
  CHECK(json(guessed.body).raw("/transactions") == "[]");
  CHECK(json(guessed.body).raw("/transactions") == json(unused.body).raw("/transactions"));
  CHECK(json(guessed.body).raw("/truncated") == json(unused.body).raw("/truncated"));
  auto filtered = env.get("/v1/wallets/" + std::to_string(bob) + "/transactions?reference=rent-alice", env.bob);
  REQUIRE_MESSAGE(filtered.status == 200, filtered.body);
  CHECK(json(filtered.body).raw("/transactions") == "[]");
  auto st = env.get("/v1/wallets/" + std::to_string(bob) +
                        "/statement?asset=USD&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
                    env.bob);
  REQUIRE_MESSAGE(st.status == 200, st.body);
  CHECK(json(st.body).raw("/entries/0/reference") == "null");

  // Alice, who sent it, sees what she wrote; so do the auditor and the admin.
  for (const auto* token : {&env.alice, &env.auditor, &env.admin}) {
    auto own = env.get("/v1/transactions/" + std::to_string(id), *token);
    REQUIRE_MESSAGE(own.status == 200, own.body);
    json j(own.body);
    CHECK(j.str("/principal") == "alice");
    CHECK(j.str("/request_id") == "req-alice-1");
    CHECK(j.str("/reference") == "rent-alice");
    CHECK(j.str("/metadata/note") == "for the flat");
  }
  auto mine = env.get("/v1/transactions?reference=rent-alice", env.alice);
  CHECK(json(mine.body).u64("/transactions/0/transaction_id") == id);
}

TEST_CASE("min_seq beyond the journal head is refused with 400 naming the head") {
  ledger_env env(pg_options(e2e_pg().create_database("e2e_min_seq_head")));
  auto alice = env.open_wallet("alice");
  auto head = env.seq();
  auto r = env.get(history_target(alice, head + 1), env.alice);
  CHECK(r.status == 400);
  json j(r.body);
  CHECK(j.str("/type") == "/problems/invalid-field");
  CHECK(j.str("/field") == "min_seq");
  CHECK(j.str("/detail") == "must not be beyond the journal head, seq " + std::to_string(head));
  r = env.get(history_target(alice, 1'000'000'000'000ULL), env.alice);
  CHECK(r.status == 400);
  CHECK(env.get(history_target(alice, head), env.alice).status == 200);
}

TEST_CASE("reads waiting for min_seq hold no query worker: ordinary history reads still complete") {
  const std::string conninfo = e2e_pg().create_database("e2e_min_seq_flood");
  constexpr int waiters = 12;  // three times the query workers
  ledger_env env(pg_options(conninfo, {"--min-seq-wait-ms", "60000", "--min-seq-waiters-max", std::to_string(waiters)}));
  auto alice = env.open_wallet("alice");
  env.deposit(alice, "1.00");
  REQUIRE(env.get(history_target(alice, env.seq()), env.alice).status == 200);

  // The projection cannot pass the next event while its table is away.
  sql(conninfo, "ALTER TABLE ledger.postings RENAME TO postings_away");
  env.deposit(alice, "2.00");
  const auto stuck = env.seq();
  std::string wait_request = "GET " + history_target(alice, stuck) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                             "Authorization: Bearer " + env.alice + "\r\nConnection: close\r\n\r\n";
  std::vector<std::unique_ptr<raw_connection>> waiting;
  for (int i = 0; i < waiters; ++i) {
    waiting.push_back(std::make_unique<raw_connection>(env.proc.port()));
    REQUIRE(waiting.back()->write(wait_request));
  }
  REQUIRE(eventually([&] { return metric(env, "ledger_read_min_seq_waiters") == std::to_string(waiters); }));

  // One more waiter is refused at once; ordinary reads, more of them than
  // there are query workers, all complete.
  auto refused = env.get(history_target(alice, stuck), env.alice);
  CHECK(refused.status == 503);
  CHECK(refused.has_header("Retry-After"));
  for (int i = 0; i < 8; ++i) {
    auto r = env.get("/v1/wallets/" + std::to_string(alice) + "/transactions", env.alice);
    CHECK_MESSAGE(r.status == 200, r.body);
  }
  CHECK(metric(env, "ledger_read_min_seq_waiters") == std::to_string(waiters));

  // Once the projection passes the seq, every waiter gets its answer.
  sql(conninfo, "ALTER TABLE ledger.postings_away RENAME TO postings");
  for (auto& c : waiting) {
    CHECK(c->wait_closed(ms(30'000)));
    CHECK_MESSAGE(c->received().rfind("HTTP/1.1 200", 0) == 0, c->received().substr(0, 200));
    CHECK(c->received().find("\"amount\":\"2.00\"") != std::string::npos);
  }
  CHECK(metric(env, "ledger_read_min_seq_waiters") == "0");
}
