// The event journal over HTTP (issue 12), against a real ledgerd: NDJSON
// pages with a cursor and filters, Server-Sent Events resumed with
// Last-Event-ID while commands flow, a slow consumer cut off with its
// position, a user's redacted view, the WebSocket, the subscriber limit and
// metrics, and the auditor routes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "tests/api/e2e_support.h"
#include "tests/api/sse_client.h"
#include "tools/audit/signing.h"

using namespace ledger::e2e;

namespace {

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < body.size()) {
    auto nl = body.find('\n', at);
    if (nl == std::string::npos) nl = body.size();
    if (nl > at) out.push_back(body.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

// Every event of a paged read from after_seq=0, following X-Next-After-Seq.
std::vector<std::string> page_all(ledger_env& env, const std::string& token, const std::string& filter,
                                  std::size_t limit) {
  std::vector<std::string> out;
  std::string after = "0";
  for (int pages = 0; pages < 10'000; ++pages) {
    auto r = env.get("/v1/events?after_seq=" + after + "&limit=" + std::to_string(limit) + filter, token);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    CHECK(r.header("Content-Type") == "application/x-ndjson");
    auto lines = lines_of(r.body);
    CHECK(lines.size() <= limit);
    for (auto& l : lines) out.push_back(l);
    auto next = r.header("X-Next-After-Seq");
    CHECK(contains(r.header("Link"), "after_seq=" + next));
    if (lines.empty() && next == r.header("Ledger-Seq")) break;
    after = next;
  }
  return out;
}

std::uint64_t seq_of(const std::string& line) { return json(line).u64("/seq"); }

std::string metric_line(const std::string& metrics, std::string_view name) {
  for (const auto& l : lines_of(metrics))
    if (l.rfind(name, 0) == 0 && l.size() > name.size() && l[name.size()] == ' ') return l.substr(name.size() + 1);
  return "";
}

// Every line validates against schemas/event.schema.json (python3's jsonschema).
void check_schema(const std::vector<std::string>& events, const std::filesystem::path& dir) {
  auto data = dir / "events.ndjson", script = dir / "validate.py";
  {
    std::ofstream out(data);
    for (const auto& e : events) out << e << "\n";
    std::ofstream(script) << "import json, sys, jsonschema\n"
                             "v = jsonschema.Draft202012Validator(json.load(open(sys.argv[2])))\n"
                             "n = 0\n"
                             "for line in open(sys.argv[1]):\n"
                             "    v.validate(json.loads(line)); n += 1\n"
                             "assert n > 0\n";
  }
  auto schema = std::filesystem::path(LEDGER_SOURCE_DIR) / "schemas/event.schema.json";
  std::string cmd = "python3 " + script.string() + " " + data.string() + " " + schema.string() + " > " +
                    (dir / "validate.out").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(dir / "validate.out");
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_MESSAGE(rc == 0, out);
}

// A small history: alice (4) and bob (5) wallets, deposits, transfers both ways.
void make_history(ledger_env& env) {
  REQUIRE(check_command(env.post("/v1/wallets", env.alice, R"({"assets":[{"asset":"USD"}]})"), 201) == 5);
  REQUIRE(check_command(env.post("/v1/wallets", env.bob, R"({"assets":[{"asset":"USD"}]})"), 201) == 6);
  env.deposit(4, "100.00");  // seq 7
  env.deposit(5, "50.00");   // seq 8
  auto t = R"({"from_wallet_id":5,"to_wallet_id":4,"asset":"USD","amount":"5.00","fee":"0.00","reference":"bob-secret-ref"})";
  REQUIRE(check_command(env.post("/v1/transfers", env.bob, t), 201) == 9);
  t = R"({"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00","fee":"0.00"})";
  REQUIRE(check_command(env.post("/v1/transfers", env.alice, t), 201) == 10);
  env.deposit(5, "7.00");  // seq 11: bob only
}

}  // namespace

TEST_CASE("event pages: the cursor covers every event exactly once; filters; precise 400s") {
  ledger_env env;
  make_history(env);
  for (int i = 0; i < 20; ++i) env.deposit(4, "1.00");  // seq 12..31
  auto head = env.seq();
  REQUIRE(head == 31);
  for (std::size_t limit : {1u, 3u, 7u, 1000u}) {
    CAPTURE(limit);
    auto all = page_all(env, env.admin, "", limit);
    REQUIRE(all.size() == head);
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(seq_of(all[i]) == i + 1);
  }
  auto transfers = page_all(env, env.auditor, "&type=transfer", 2);
  REQUIRE(transfers.size() == 2);
  for (auto& l : transfers) CHECK(json(l).str("/type") == "transfer");
  auto bobs = page_all(env, env.admin, "&wallet=5", 4);
  CHECK(bobs.size() == 5);  // open, deposit, two transfers, deposit
  for (auto& l : bobs) CHECK(contains(json(l).raw("/accounts"), "5"));
  CHECK(page_all(env, env.admin, "&principal=bob", 10).size() == 2);  // open wallet, transfer
  CHECK(page_all(env, env.admin, "&type=deposit,transfer&wallet=4", 10).size() == 23);
  CHECK(page_all(env, env.admin, "&asset=EUR", 10).empty());
  // from_time: the first event at or after the time.
  auto first = json(page_all(env, env.admin, "", 1000)[9]);
  auto r = env.get("/v1/events?limit=1&from_time=" + first.str("/log_time"), env.admin);
  REQUIRE(r.status == 200);
  CHECK(seq_of(lines_of(r.body).at(0)) <= 10);

  struct bad {
    std::string query, field;
    unsigned status = 400;
  };
  for (const auto& b : std::vector<bad>{{"after_seq=-1", "after_seq"},
                                        {"after_seq=01", "after_seq"},
                                        {"after_seq=1&from_time=2026-01-01T00:00:00Z", "from_time"},
                                        {"from_time=yesterday", "from_time"},
                                        {"limit=0", "limit"},
                                        {"limit=1001", "limit"},
                                        {"type=teleport", "type"},
                                        {"wallet=abc", "wallet"},
                                        {"asset=", "asset"},
                                        {"colour=red", "colour"}}) {
    CAPTURE(b.query);
    r = env.get("/v1/events?" + b.query, env.admin);
    CHECK(r.status == b.status);
    CHECK(json(r.body).str("/field") == b.field);
  }
  r = env.get("/v1/events?principal=bob", env.alice);
  CHECK(r.status == 403);
  CHECK(json(r.body).str("/field") == "principal");
  r = env.get("/v1/events?wallet=5", env.alice);  // bob's wallet: as if it did not exist
  CHECK(r.status == 404);
  CHECK(env.get("/v1/events", "").status == 401);
  CHECK(env.get("/v1/events", env.service).status == 403);
}

TEST_CASE("a user's view: only its own wallets' events, nothing of the counterparty but its wallet id") {
  ledger_env env;
  make_history(env);
  auto alice = page_all(env, env.alice, "", 100);
  std::vector<std::uint64_t> seqs;
  for (auto& l : alice) seqs.push_back(seq_of(l));
  CHECK(seqs == std::vector<std::uint64_t>{5, 7, 9, 10});
  for (auto& l : alice) {
    CAPTURE(l);
    json j(l);
    CHECK(j.boolean("/redacted") == 1);
    CHECK_FALSE(contains(l, "bob"));  // no owner, principal or reference of bob's (hex and digits have no 'o')
  }
  // Bob's transfer to alice: who sent it and how is withheld, and bob's
  // balance after it; the amount moved and bob's wallet id stay.
  json t(alice[2]);
  CHECK(t.str("/type") == "transfer");
  CHECK(t.str("/principal") == "");
  CHECK(t.str("/request_id") == "");
  CHECK(t.str("/idempotency_key") == "");
  CHECK(t.str("/payload_hash") == std::string(64, '0'));
  CHECK(t.raw("/accounts") == "[4,5]");
  for (std::size_t i = 0; i < t.size("/effects"); ++i) {
    auto fx = "/effects/" + std::to_string(i);
    if (t.str(fx + "/effect") != "balance_changed") continue;
    bool own = t.u64(fx + "/account") == 4;
    CHECK(t.has(fx + "/posted_after") == own);
  }
  // Alice's own transfer keeps her request's identifiers.
  json mine(alice[3]);
  CHECK(mine.str("/principal") == "alice");
  CHECK_FALSE(mine.str("/idempotency_key").empty());
  check_schema(alice, env.proc.dir());
  // The same events, whole, for an auditor.
  auto whole = page_all(env, env.auditor, "&wallet=4", 100);
  check_schema(whole, env.proc.dir());
  REQUIRE(whole.size() == 4);
  CHECK(json(whole[2]).str("/principal") == "bob");
  CHECK(json(whole[2]).boolean("/redacted") == -1);

  // The same rule on the live stream.
  sse_client s(env.proc.port(), "/v1/events/stream?after_seq=0", env.alice);
  std::vector<std::uint64_t> live;
  while (live.size() < 4) {
    auto e = s.next();
    REQUIRE(e);
    live.push_back(std::stoull(e->id));
    for (auto leak : {"bob", "bob-secret-ref"}) CHECK_FALSE(contains(e->data, leak));
    CHECK(json(e->data).boolean("/redacted") == 1);
  }
  CHECK(live == seqs);
  env.deposit(5, "1.00");  // bob's: never on alice's stream
  env.deposit(4, "2.00");  // alice's
  auto e = s.next();
  REQUIRE(e);
  CHECK(e->id == "13");
}

// A deposit of `amount` to `wallet` as the bound service, on its own client.
response deposit_on(http_client& c, const std::string& token, std::uint64_t wallet, const std::string& key) {
  return c.send(request{"POST",
                        "/v1/deposits",
                        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}, {"Idempotency-Key", key}},
                        R"({"wallet_id":)" + std::to_string(wallet) + R"(,"asset":"USD","amount":"1.00","provider":"stripe"})"});
}

TEST_CASE("SSE: resumed with Last-Event-ID while commands flow, no gap and no duplicate") {
  ledger_env env;
  REQUIRE(env.open_wallet("alice") == 4);  // seq 5
  const int commands = 300;
  std::atomic<std::uint64_t> final_head{0};
  std::atomic<int> refused{0};
  std::thread writer([&] {
    auto c = env.proc.client();
    for (int i = 0; i < commands; ++i)
      if (deposit_on(c, env.service, 4, "flow-" + std::to_string(i)).status != 201) refused++;
    final_head = 5 + commands;
  });
  std::vector<std::uint64_t> seen;
  std::string last = "0";
  int reconnects = 0;
  while (final_head.load() == 0 || seen.empty() || seen.back() < final_head.load()) {
    // Each connection reads a few events (a different number each time), then goes.
    sse_client s(env.proc.port(), "/v1/events/stream?after_seq=0", env.admin, {{"Last-Event-ID", last}});
    REQUIRE(s.read_head());
    REQUIRE(s.status == 200);
    CHECK(contains(s.header_block(), "text/event-stream"));
    for (int i = 0; i < 17 + 13 * (reconnects % 5); ++i) {
      auto e = s.next(ms(500));
      if (!e) break;  // nothing new yet
      REQUIRE(e->name.empty());
      seen.push_back(std::stoull(e->id));
      CHECK(json(e->data).u64("/seq") == seen.back());
      last = e->id;
      if (final_head.load() != 0 && seen.back() >= final_head.load()) break;
    }
    REQUIRE(++reconnects < 1000);
  }
  writer.join();
  CHECK(refused.load() == 0);
  CHECK(reconnects > 5);
  REQUIRE(seen.size() == final_head.load());
  for (std::size_t i = 0; i < seen.size(); ++i) REQUIRE(seen[i] == i + 1);
}

TEST_CASE("SSE: a slow consumer is cut off with its resume position and resumes from it") {
  ledgerd_options o;
  o.args = {"--events-queue-max", "4", "--events-stall-ms", "200", "--write-timeout-ms", "60000"};
  ledger_env env(o);
  REQUIRE(env.open_wallet("alice") == 4);
  // Subscribes from the start, with a tiny receive buffer, and stops reading.
  sse_client slow(env.proc.port(), "/v1/events/stream?after_seq=0", env.admin, {}, 4096);
  REQUIRE(slow.read_head());
  REQUIRE(slow.status == 200);
  // Enough events to fill the socket buffers and the queue (about 1 MB of JSON).
  std::string batch = R"({"commands":[)";
  for (int i = 0; i < 1000; ++i)
    batch += std::string(i ? "," : "") + R"({"type":"deposit","idempotency_key":"slow-)" + std::to_string(i) +
             R"(","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"})";
  batch += "]}";
  for (int round = 0; round < 3; ++round) {
    auto b = batch;
    for (std::size_t at = 0; (at = b.find("slow-", at)) != std::string::npos; at += 5) b.replace(at, 5, "s" + std::to_string(round) + "-");
    auto r = env.post("/v1/batch", env.service, b, no_key);
    REQUIRE_MESSAGE(r.status == 200, r.body.substr(0, 300));
  }
  auto head = env.seq();
  REQUIRE(head == 3005);
  // The hub counts the cut-off once the queue has stayed full long enough.
  std::string cutoffs;
  for (int i = 0; i < 400 && (cutoffs = metric_line(env.ops_get("/metrics").body, "ledger_events_cutoffs_total")) != "1"; ++i)
    std::this_thread::sleep_for(ms(25));  // polling the server's state with a deadline, not a timing assumption
  REQUIRE(cutoffs == "1");
  // Reading again: what was queued, then the cut-off event with the position, then the end.
  std::uint64_t last = 0, count = 0;
  std::optional<sse_event> e;
  while ((e = slow.next()) && e->name.empty()) {
    auto seq = std::stoull(e->id);
    REQUIRE(seq == last + 1);
    last = seq;
    count++;
  }
  REQUIRE(e);
  CHECK(e->name == "cutoff");
  CHECK(json(e->data).u64("/resume_after_seq") == last);
  CHECK(json(e->data).str("/reason") == "slow consumer");
  CHECK(last < head);
  CHECK_FALSE(slow.next(ms(5000)));
  CHECK(slow.closed());
  // Resuming after the position misses nothing and repeats nothing.
  sse_client again(env.proc.port(), "/v1/events/stream?after_seq=" + std::to_string(last), env.admin);
  while (last < head) {
    auto n = again.next();
    REQUIRE(n);
    REQUIRE(n->name.empty());
    REQUIRE(std::stoull(n->id) == last + 1);
    last++;
  }
  CHECK(count > 0);
}

TEST_CASE("WebSocket: live events as JSON text frames, with the same filters and view") {
  ledger_env env;
  make_history(env);
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  namespace net = boost::asio;
  net::io_context ioc;
  auto connect = [&](const std::string& target, const std::string& token) {
    auto ws = std::make_unique<websocket::stream<net::ip::tcp::socket>>(ioc);
    ws->next_layer().connect({net::ip::make_address("127.0.0.1"), env.proc.port()});
    timeval tv{10, 0};
    ::setsockopt(ws->next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (!token.empty())
      ws->set_option(websocket::stream_base::decorator(
          [token](websocket::request_type& req) { req.set(beast::http::field::authorization, "Bearer " + token); }));
    ws->handshake("127.0.0.1", target);
    return ws;
  };
  auto read_json = [](websocket::stream<net::ip::tcp::socket>& ws) {
    beast::flat_buffer b;
    ws.read(b);
    CHECK(ws.got_text());
    return beast::buffers_to_string(b.data());
  };
  auto admin = connect("/v1/events/ws?type=deposit", env.admin);
  auto alice = connect("/v1/events/ws", env.alice);
  env.deposit(5, "3.00");  // seq 12, bob's
  env.deposit(4, "4.00");  // seq 13, alice's
  auto a1 = read_json(*admin), a2 = read_json(*admin);
  CHECK(json(a1).u64("/seq") == 12);
  CHECK(json(a2).u64("/seq") == 13);
  CHECK(json(a2).str("/type") == "deposit");
  auto mine = read_json(*alice);
  CHECK(json(mine).u64("/seq") == 13);
  CHECK(json(mine).boolean("/redacted") == 1);
  // Resuming from a position replays from there.
  auto resumed = connect("/v1/events/ws?after_seq=10", env.auditor);
  CHECK(json(read_json(*resumed)).u64("/seq") == 11);
  // A browser cannot set Authorization on a WebSocket: the token as access_token.
  auto browser = connect("/v1/events/ws?after_seq=12&access_token=" + env.alice, "");
  CHECK(json(read_json(*browser)).u64("/seq") == 13);
  CHECK_THROWS(connect("/v1/events/ws?access_token=not-a-token", ""));
  admin->close(websocket::close_code::normal);
  // A plain GET on the WebSocket route is told to upgrade.
  auto r = env.get("/v1/events/ws", env.admin);
  CHECK(r.status == 426);
  CHECK(r.header("Upgrade") == "websocket");
}

TEST_CASE("WebSocket: a slow consumer is closed with its resume position") {
  namespace beast = boost::beast;
  namespace websocket = beast::websocket;
  namespace net = boost::asio;
  ledgerd_options o;
  o.args = {"--events-queue-max", "4", "--events-stall-ms", "200", "--write-timeout-ms", "60000"};
  ledger_env env(o);
  REQUIRE(env.open_wallet("alice") == 4);
  net::io_context ioc;
  websocket::stream<net::ip::tcp::socket> ws(ioc);
  ws.next_layer().open(net::ip::tcp::v4());
  ws.next_layer().set_option(net::socket_base::receive_buffer_size(4096));
  ws.next_layer().connect({net::ip::make_address("127.0.0.1"), env.proc.port()});
  timeval tv{10, 0};
  ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ws.set_option(websocket::stream_base::decorator(
      [&](websocket::request_type& req) { req.set(beast::http::field::authorization, "Bearer " + env.admin); }));
  ws.handshake("127.0.0.1", "/v1/events/ws?after_seq=0");
  for (int round = 0; round < 3; ++round) {  // about 2.4 MB of events the client does not read
    std::string batch = R"({"commands":[)";
    for (int i = 0; i < 1000; ++i)
      batch += std::string(i ? "," : "") + R"({"type":"deposit","idempotency_key":"ws-)" + std::to_string(round) + "-" +
               std::to_string(i) + R"(","wallet_id":4,"asset":"USD","amount":"1.00","provider":"stripe"})";
    REQUIRE(env.post("/v1/batch", env.service, batch + "]}", no_key).status == 200);
  }
  std::string cutoffs;
  for (int i = 0; i < 400 && (cutoffs = metric_line(env.ops_get("/metrics").body, "ledger_events_cutoffs_total")) != "1"; ++i)
    std::this_thread::sleep_for(ms(25));  // polling the server's state with a deadline
  REQUIRE(cutoffs == "1");
  std::uint64_t last = 0;
  beast::error_code ec;
  for (;;) {
    beast::flat_buffer b;
    ws.read(b, ec);
    if (ec) break;
    auto seq = json(beast::buffers_to_string(b.data())).u64("/seq");
    REQUIRE(seq == last + 1);
    last = seq;
  }
  CHECK(ec == websocket::error::closed);
  CHECK(ws.reason().code == websocket::close_code::try_again_later);
  CHECK(std::string(ws.reason().reason.data(), ws.reason().reason.size()) ==
        "slow consumer; resume_after_seq=" + std::to_string(last));
  CHECK(last > 0);
  CHECK(last < 3005);
}

TEST_CASE("event streams: the subscriber limit answers 503; subscribers and lag in /metrics") {
  ledgerd_options o;
  o.args = {"--events-subscribers-max", "1"};
  ledger_env env(o);
  {
    sse_client first(env.proc.port(), "/v1/events/stream?after_seq=0", env.auditor);
    REQUIRE(first.read_head());
    REQUIRE(first.status == 200);
    REQUIRE(first.next());
    sse_client second(env.proc.port(), "/v1/events/stream", env.admin);
    REQUIRE(second.read_head());
    CHECK(second.status == 503);
    CHECK(contains(second.rest() + second.header_block(), "too-many-subscribers"));
    auto m = env.ops_get("/metrics").body;
    CHECK(metric_line(m, "ledger_events_subscribers") == "1");
    CHECK(contains(m, "ledger_events_subscriber_lag_events{subscriber=\"1\"}"));
    CHECK(metric_line(m, "ledger_events_subscriptions_refused_total") == "1");
    CHECK(metric_line(m, "ledger_events_sent_total") != "0");
  }
  // Once the first one has gone, a new subscriber is welcome.
  for (int i = 0; i < 200; ++i) {
    sse_client next(env.proc.port(), "/v1/events/stream", env.admin);
    REQUIRE(next.read_head());
    if (next.status == 200) break;
    std::this_thread::sleep_for(ms(25));  // the server notices the closed connection on its own time
    REQUIRE(i < 199);
  }
}

TEST_CASE("auditor routes: state at a seq equals the balances then; checkpoints; 403 for users; public key") {
  auto dir = std::filesystem::temp_directory_path() / ("ledger-audit-key-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto key_path = (dir / "audit.pem").string();
  REQUIRE(ledger::audit::signing_key::generate(key_path).is_ok());
  std::unique_ptr<ledger::audit::signing_key> key;
  REQUIRE(ledger::audit::signing_key::load(key_path, key).is_ok());

  ledgerd_options o;
  o.args = {"--audit-signing-key", key_path};
  ledger_env env(o);
  make_history(env);  // alice 100 + 5 - 1 = 104.00, bob 50 - 5 + 1 + 7 = 53.00 after seq 11
  auto w4 = env.posted(4), w5 = env.posted(5);
  env.deposit(4, "1000.00");  // after the point
  auto r = env.get("/v1/audit/state?seq=11", env.auditor);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.header("Content-Type") == "application/x-ndjson");
  auto lines = lines_of(r.body);
  REQUIRE(!lines.empty());
  CHECK(json(lines[0]).str("/record") == "state");
  CHECK(json(lines[0]).u64("/seq") == 11);
  std::map<std::uint64_t, std::string> posted;
  for (auto& l : lines)
    if (json(l).str("/record") == "balance") posted[json(l).u64("/account")] = json(l).str("/posted");
  CHECK(posted[4] == "104.00");
  CHECK(posted[5] == "53.00");
  CHECK(w4 == "104.00");
  CHECK(w5 == "53.00");
  r = env.get("/v1/audit/state?seq=11&wallet=5", env.admin);
  REQUIRE(r.status == 200);
  for (auto& l : lines_of(r.body))
    if (json(l).str("/record") == "balance") CHECK(json(l).u64("/account") == 5);
  // at= a time: the state after the last event at or before it.
  auto t11 = json(page_all(env, env.admin, "", 1000)[10]).str("/log_time");
  r = env.get("/v1/audit/state?at=" + t11, env.auditor);
  REQUIRE(r.status == 200);
  CHECK(json(lines_of(r.body)[0]).u64("/seq") >= 11);

  for (auto bad : {"/v1/audit/state", "/v1/audit/state?seq=1&at=2026-01-01T00:00:00Z", "/v1/audit/state?seq=x",
                   "/v1/audit/state?seq=99999", "/v1/audit/state?seq=1&colour=red"}) {
    CAPTURE(bad);
    r = env.get(bad, env.auditor);
    CHECK(r.status == 400);
    CHECK_FALSE(json(r.body).str("/field").empty());
  }
  for (auto path : {"/v1/audit/state?seq=1", "/v1/audit/checkpoints"}) {
    CHECK(env.get(path, env.alice).status == 403);
    CHECK(env.get(path, env.service).status == 403);
  }
  r = env.get("/v1/audit/checkpoints", env.auditor);
  REQUIRE(r.status == 200);
  CHECK(json(r.body).u64("/head_seq") == 12);
  r = env.get("/v1/audit/public-key", env.auditor);
  REQUIRE(r.status == 200);
  CHECK(json(r.body).str("/public_key_pem") == key->public_key_pem());
  CHECK(json(r.body).str("/algorithm") == "Ed25519");

  ledger_env plain;
  r = plain.get("/v1/audit/public-key", plain.auditor);
  CHECK(r.status == 404);
  CHECK(json(r.body).str("/type") == "/problems/no-audit-key");
  std::filesystem::remove_all(dir);
}
