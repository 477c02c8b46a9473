// ledgerctl (tools/audit): archives and tampering, point-in-time state
// against the read models and the engine's checkpoints, live follow and CSV.
// Real parts throughout: a real engine on RocksDB, a real PostgreSQL
// (tests/support), the ledgerctl executable for the command-line paths and
// python3's csv module for the CSV round trip.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <algorithm>
#include <sstream>

#include <pqxx/pqxx>
#include <simdjson.h>

#include "engine/journal_source.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "schemas/event_json.h"
#include "schemas/time.h"
#include "tests/support/ledger_traffic.h"
#include "tests/support/pg_instance.h"
#include "tests/support/temp_dir.h"
#include "tools/audit/commands.h"
#include "tools/audit/signing.h"

namespace {

namespace fs = std::filesystem;
using namespace ledger;
using namespace ledger::audit;

// A ledger in a temporary data directory, written by a real engine.
struct ledger_dir {
  testing::temp_dir dir{"ledgerctl-test"};
  testing::manual_clock clk;
  std::unique_ptr<engine> eng;
  std::unique_ptr<testing::ledger_traffic> traffic;

  explicit ledger_dir(std::uint64_t seed, std::uint64_t snapshot_every = 0) {
    engine_options o;
    o.store.path = (dir.path() / "ledger").string();
    o.store.sync = false;  // durability is not under test here
    o.store.write_buffer_bytes = 8u << 20;
    o.store.block_cache_bytes = 8u << 20;
    o.clk = &clk;
    o.snapshot_every_events = snapshot_every;
    o.snapshot_dir = (dir.path() / "snapshots").string();
    o.store.ledger_id = "audit-test-" + std::to_string(seed);
    auto s = engine::open(o, eng);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    traffic = std::make_unique<testing::ledger_traffic>(*eng, clk, seed);
  }
  std::unique_ptr<source> open() const {
    std::unique_ptr<source> src;
    auto s = open_data_dir(dir.str(), src);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    return src;
  }
};

std::string new_key(const testing::temp_dir& d, const std::string& name) {
  auto p = (d.path() / name).string();
  REQUIRE(signing_key::generate(p).is_ok());
  return p;
}

std::string export_archive(const ledger_dir& l, const std::string& key, const std::string& name) {
  auto src = l.open();
  auto path = (l.dir.path() / name).string();
  export_report r;
  auto s = run_export(*src, path, std::numeric_limits<std::uint64_t>::max(), key, r);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  return path;
}

// An archive taken apart, to be tampered with and put back together.
struct archive_parts {
  std::string manifest, sig;
  std::vector<journal_entry> events;
};

archive_parts take_apart(const std::string& path) {
  std::unique_ptr<archive_reader> r;
  REQUIRE(archive_reader::open(path, r).is_ok());
  archive_parts p{r->manifest_bytes(), r->signature(), {}};
  std::vector<journal_entry> batch;
  for (std::uint64_t next = 1;; next = p.events.back().seq + 1) {
    REQUIRE(r->read(next, 4096, batch).is_ok());
    if (batch.empty()) break;
    p.events.insert(p.events.end(), batch.begin(), batch.end());
  }
  return p;
}

// Segments of segment_events_max, named by position (as an attacker would).
void put_together(const archive_parts& p, const std::string& path, std::size_t drop_last_segments = 0) {
  std::unique_ptr<archive_writer> w;
  REQUIRE(archive_writer::open(path, w).is_ok());
  REQUIRE(w->add("manifest.json", p.manifest).is_ok());
  REQUIRE(w->add("manifest.sig", p.sig).is_ok());
  std::size_t segments = (p.events.size() + segment_events_max - 1) / segment_events_max;
  for (std::size_t i = 0; i + drop_last_segments < segments; ++i) {
    auto from = p.events.begin() + std::ptrdiff_t(i * segment_events_max);
    auto to = p.events.begin() + std::ptrdiff_t(std::min(p.events.size(), (i + 1) * segment_events_max));
    std::vector<journal_entry> seg(from, to);
    for (std::size_t j = 0; j < seg.size(); ++j) seg[j].seq = 1 + i * segment_events_max + j;  // seqs are positional
    REQUIRE(w->add(segment_name(1 + i * segment_events_max), encode_journal_batch(1 + i * segment_events_max, seg)).is_ok());
  }
  REQUIRE(w->finish().is_ok());
}

status verify_archive(const std::string& path, std::optional<std::string> public_key = std::nullopt) {
  std::unique_ptr<source> src;
  if (auto s = open_archive(path, src); !s) return s;
  verify_options o;
  o.public_key = std::move(public_key);
  verify_report r;
  return run_verify(*src, o, r);
}

void check_fails_at(const status& s, std::uint64_t seq) {
  INFO(s.to_string());
  CHECK(s.error_code() == status::code::corruption);
  CHECK(s.message().rfind("seq " + std::to_string(seq) + ": ", 0) == 0);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a program to completion, stdout into `out_path`; its exit code.
int run_program(const std::vector<std::string>& argv, const std::string& out_path) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// A 20,000-ish event ledger with checkpoints, exported once for the tamper cases.
struct tamper_fixture {
  ledger_dir l{1};
  ledger_dir other{2};
  std::string key = new_key(l.dir, "signing.pem");
  std::string archive;
  archive_parts parts;
  tamper_fixture() {
    for (auto* d : {&l, &other}) {
      d->traffic->setup(20, 100'000'000);
      d->traffic->mixed(50, 100, 1'000'000);
    }
    checkpoint cp;
    REQUIRE(l.eng->checkpoint(cp).is_ok());
    l.traffic->mixed(50, 100, 1'000'000);
    archive = export_archive(l, key, "ledger.tar.zst");
    parts = take_apart(archive);
    REQUIRE(parts.events.size() > 2 * segment_events_max);
  }
  std::string tampered(const archive_parts& p, std::size_t drop_last_segments = 0) {
    auto path = (l.dir.path() / "tampered.tar.zst").string();
    put_together(p, path, drop_last_segments);
    return path;
  }
};

}  // namespace

TEST_CASE_FIXTURE(tamper_fixture, "an exported archive verifies; every kind of tampering is named at its seq") {
  std::unique_ptr<signing_key> k;
  REQUIRE(signing_key::load(key, k).is_ok());
  {
    std::unique_ptr<source> src;
    REQUIRE(open_archive(archive, src).is_ok());
    verify_report r;
    auto s = run_verify(*src, verify_options{k->public_key_pem(), false}, r);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    CHECK(r.events == parts.events.size());
    CHECK(r.checkpoints_checked == 1);
    CHECK(r.signer_pinned);
  }
  SUBCASE("a flipped byte") {
    auto p = parts;
    p.events[5000].event_bytes[30] ^= 0x01;
    check_fails_at(verify_archive(tampered(p)), 5001);
  }
  SUBCASE("a deleted event") {
    auto p = parts;
    p.events.erase(p.events.begin() + 6000);
    check_fails_at(verify_archive(tampered(p)), 6001);
  }
  SUBCASE("two events swapped") {
    auto p = parts;
    std::swap(p.events[7000], p.events[7001]);
    check_fails_at(verify_archive(tampered(p)), 7001);
  }
  SUBCASE("a segment of another ledger spliced in") {
    auto p = parts;
    auto foreign = take_apart(export_archive(other, key, "other.tar.zst"));
    REQUIRE(foreign.events.size() > segment_events_max + 900);
    for (std::size_t i = segment_events_max; i < segment_events_max + 900; ++i) p.events[i] = foreign.events[i];
    check_fails_at(verify_archive(tampered(p)), segment_events_max + 1);
  }
  SUBCASE("a manifest naming another ledger, signed by the ledger's key") {
    auto p = parts;
    auto at = p.manifest.find("\"ledger_id\": \"audit-test-1\"");
    REQUIRE(at != std::string::npos);
    p.manifest.replace(at, 27, "\"ledger_id\": \"audit-test-2\"");
    REQUIRE(k->sign(p.manifest, p.sig).is_ok());
    check_fails_at(verify_archive(tampered(p), k->public_key_pem()), 1);
  }
  SUBCASE("a forged signature") {
    auto p = parts;
    p.sig[10] = char(p.sig[10] ^ 0x40);
    auto s = verify_archive(tampered(p));
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("signature does not verify") != std::string::npos);
  }
  SUBCASE("a manifest re-signed by another key, checked against the ledger's") {
    auto p = parts;
    std::unique_ptr<signing_key> forger;
    REQUIRE(signing_key::load(new_key(l.dir, "forger.pem"), forger).is_ok());
    auto at = p.manifest.find(k->public_key_hex());
    REQUIRE(at != std::string::npos);
    p.manifest.replace(at, 64, forger->public_key_hex());
    REQUIRE(forger->sign(p.manifest, p.sig).is_ok());
    auto path = tampered(p);
    CHECK(verify_archive(path).is_ok());  // self-consistent, so only pinning the key catches it
    auto s = verify_archive(path, k->public_key_pem());
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().find("not by the key given") != std::string::npos);
  }
  SUBCASE("an archive missing its last segment") {
    std::size_t segments = (parts.events.size() + segment_events_max - 1) / segment_events_max;
    check_fails_at(verify_archive(tampered(parts, 1)), (segments - 1) * segment_events_max + 1);
  }
  SUBCASE("an archive cut short") {
    auto bytes = read_text(archive);
    auto cut = (l.dir.path() / "cut.tar.zst").string();
    std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
    auto s = verify_archive(cut);
    INFO(s.to_string());
    CHECK(s.error_code() == status::code::corruption);
    CHECK(s.message().rfind("seq ", 0) == 0);
    CHECK(s.message().find("seq 1: ") != 0);  // the events before the cut were read and checked
  }
}

TEST_CASE("verify over a data directory checks the chain and every checkpoint digest") {
  ledger_dir l(5);
  l.traffic->setup(10, 1'000'000);
  l.traffic->mixed(10, 50, 1'000'000);
  checkpoint a, b;
  REQUIRE(l.eng->checkpoint(a).is_ok());
  l.traffic->mixed(10, 50, 1'000'000);
  REQUIRE(l.eng->checkpoint(b).is_ok());
  auto src = l.open();
  verify_report r;
  auto s = run_verify(*src, verify_options{std::nullopt, false}, r);
  REQUIRE_MESSAGE(s.is_ok(), s.to_string());
  CHECK(r.checkpoints_checked == 2);
  CHECK(r.head.seq == l.eng->head().seq);
}

TEST_CASE("audit state at random times equals the read models' balance-at and the engine's checkpoints") {
  ledger_dir l(3, 400);
  l.traffic->setup(15, 50'000'000);
  std::vector<checkpoint> cps;
  for (int round = 0; round < 4; ++round) {
    l.traffic->mixed(10, 60, 1'000'000);
    checkpoint cp;
    REQUIRE(l.eng->checkpoint(cp).is_ok());
    cps.push_back(cp);
  }
  testing::pg_instance pg;
  projections::projector_options po;
  po.conninfo = pg.connection_string();
  projections::projector proj(engine_journal(*l.eng), po);
  REQUIRE(proj.catch_up().is_ok());
  pqxx::connection conn(pg.connection_string());
  pqxx::nontransaction(conn).exec("SET search_path TO ledger");

  auto src = l.open();
  REQUIRE(!src->snapshots().empty());
  ledger_head head = l.eng->head();
  std::int64_t t0 = l.clk.now_us() - 40'000'000;
  std::mt19937_64 rng(42);
  MESSAGE("seed 42");
  for (int i = 0; i < 6; ++i) {
    std::int64_t at = t0 + std::int64_t(rng() % 40'000'000);
    state_options o;
    o.bound.log_ts_max_us = at;
    o.progress_bar = false;
    state_report r, scratch;
    REQUIRE(run_state(*src, o, r).is_ok());
    o.use_snapshots = false;
    REQUIRE(run_state(*src, o, scratch).is_ok());
    CHECK(r.summary.digest == scratch.summary.digest);
    CHECK(r.head.seq <= head.seq);
    for (const auto& t : trial_balance(r.summary)) CHECK((t.posted_sum == 0 && t.pending_sum == 0));
    simdjson::dom::parser parser;
    for (const auto& b : r.summary.balances) {
      if (b.kind != account_kind::user) continue;
      std::string json;
      auto q = projections::balance_at(conn, b.account, "USD", format_rfc3339_us(at), json);
      REQUIRE_MESSAGE(q.is_ok(), q.to_string());
      simdjson::dom::element e = parser.parse(json);
      INFO("wallet " << b.account << " at " << format_rfc3339_us(at) << ": " << json);
      CHECK(std::string(e["posted"].get_string().value()) == format_amount(b.balance.posted(), 2));
      CHECK(std::string(e["held"].get_string().value()) == format_amount(b.balance.debits_pending, 2));
      CHECK(std::string(e["incoming"].get_string().value()) == format_amount(b.balance.credits_pending, 2));
    }
  }
  for (const auto& cp : cps) {
    state_options o;
    o.bound.seq_max = cp.seq;
    o.progress_bar = false;
    state_report r;
    auto s = run_state(*src, o, r);
    REQUIRE_MESSAGE(s.is_ok(), s.to_string());
    REQUIRE(r.checkpoint_at_head.has_value());
    CHECK(r.summary.digest == cp.state_digest);
    CHECK(r.head.chain == cp.chain);
  }
}

TEST_CASE("audit diff names each account whose balance differs") {
  ledger_dir l(7);
  l.traffic->setup(8, 1'000'000);
  auto mid = l.eng->head().seq;
  l.traffic->mixed(2, 5, 1'000'000);
  auto src = l.open();
  state_report a, b;
  state_options o;
  o.progress_bar = false;
  o.bound.seq_max = mid;
  REQUIRE(run_state(*src, o, a).is_ok());
  o.bound.seq_max = l.eng->head().seq;
  REQUIRE(run_state(*src, o, b).is_ok());
  auto pa = (l.dir.path() / "a.csv").string(), pb = (l.dir.path() / "b.ndjson").string();
  std::FILE* f = std::fopen(pa.c_str(), "w");
  write_state(a, std::nullopt, true, f);
  std::fclose(f);
  f = std::fopen(pb.c_str(), "w");
  write_state(b, std::nullopt, false, f);
  std::fclose(f);
  std::set<std::string> expected;
  for (std::size_t i = 0; i < a.summary.balances.size(); ++i) {
    const auto &x = a.summary.balances[i].balance, &y = b.summary.balances[i].balance;
    if (x.posted() != y.posted() || x.debits_pending != y.debits_pending || x.credits_pending != y.credits_pending)
      expected.insert("account " + std::to_string(a.summary.balances[i].account) + " USD");
  }
  REQUIRE(!expected.empty());
  std::vector<std::string> d;
  REQUIRE(run_diff(pa, pb, d).is_ok());
  std::set<std::string> named;
  for (const auto& line : d) named.insert(line.substr(0, line.find(':')));
  CHECK(named == expected);
  REQUIRE(run_diff(pa, pa, d).is_ok());
  CHECK(d.empty());
}

TEST_CASE("events --follow picks up live events") {
  ledger_dir l(11);
  l.traffic->setup(5, 1'000'000);
  auto from = l.eng->head().seq + 1;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  std::string from_arg = std::to_string(from);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::execl(LEDGERCTL_PATH, LEDGERCTL_PATH, "events", "--data-dir", l.dir.str().c_str(), "--from-seq", from_arg.c_str(),
            "--follow", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  l.traffic->mixed(3, 10, 1'000'000);
  auto last = l.eng->head().seq;
  std::string got;
  std::uint64_t seen = 0, lines = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen < last && std::chrono::steady_clock::now() < deadline) {
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) continue;
    char buf[65536];
    auto n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, std::size_t(n));
    for (std::size_t nl; (nl = got.find('\n')) != std::string::npos; got.erase(0, nl + 1)) {
      simdjson::dom::parser parser;
      simdjson::dom::element e = parser.parse(got.substr(0, nl));
      std::uint64_t seq = e["seq"].get_uint64().value();
      CHECK(seq == from + lines);  // in order, no gap, no duplicate
      seen = seq;
      ++lines;
    }
  }
  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ::close(pipe_fds[0]);
  CHECK(seen == last);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}

TEST_CASE("events CSV round-trips through Python's csv module") {
  ledger_dir l(13);
  l.traffic->setup(4, 1'000'000);
  testing::ledger_traffic odd(*l.eng, l.clk, 1, "ana,\"lyst\"");
  auto w = l.traffic->wallets();
  auto o = odd.run({command{"ana,\"lyst\"", "key, with \"quotes\"", "req,1",
                            transfer_cmd{w[0], w[1], "USD", 12345, 0, "", ""}}});
  REQUIRE_MESSAGE(o.at(0).accepted(), o.at(0).detail);
  auto csv = (l.dir.path() / "events.csv").string();
  REQUIRE(run_program({LEDGERCTL_PATH, "events", "--data-dir", l.dir.str(), "--format", "csv"}, csv) == 0);
  auto script = (l.dir.path() / "roundtrip.py").string();
  std::ofstream(script) << "import csv, sys\n"
                           "rows = list(csv.reader(open(sys.argv[1], newline='')))\n"
                           "w = csv.writer(open(sys.argv[2], 'w', newline=''), lineterminator='\\r\\n')\n"
                           "w.writerows(rows)\n"
                           "odd = [r for r in rows[1:] if r[5] == 'ana,\"lyst\"']\n"
                           "assert len(odd) == 2, odd\n"
                           "assert odd[0][6] == 'key, with \"quotes\"', odd[0][6]\n"
                           "assert sorted(r[11] for r in odd) == ['-12345', '12345'], odd\n";
  auto back = (l.dir.path() / "back.csv").string();
  REQUIRE(run_program({"/usr/bin/python3", script, csv, back}, (l.dir.path() / "py.out").string()) == 0);
  auto original = read_text(csv);
  CHECK(original.rfind(std::string(event_csv_header()), 0) == 0);
  CHECK(read_text(back) == original);
}

TEST_CASE("every NDJSON event validates against schemas/event.schema.json, which the OpenAPI document repeats") {
  ledger_dir l(19);
  l.traffic->setup(6, 1'000'000);
  l.traffic->mixed(6, 40, 20'000'000);  // holds expire: system events too
  auto ndjson = (l.dir.path() / "events.ndjson").string();
  REQUIRE(run_program({LEDGERCTL_PATH, "events", "--data-dir", l.dir.str()}, ndjson) == 0);
  auto script = (l.dir.path() / "validate.py").string();
  std::ofstream(script) << "import json, sys, jsonschema\n"
                           "schema = json.load(open(sys.argv[2]))\n"
                           "v = jsonschema.Draft202012Validator(schema)\n"
                           "types, effects, n = set(), set(), 0\n"
                           "for line in open(sys.argv[1]):\n"
                           "    e = json.loads(line); v.validate(e); n += 1\n"
                           "    types.add(e['type']); effects.update(x['effect'] for x in e['effects'])\n"
                           "assert n > 200 and 'system' in types and 'pending_closed' in effects, (n, types, effects)\n"
                           "api = json.load(open(sys.argv[3]))['components']['schemas']['Event']\n"
                           "assert api['required'] == schema['required'] and api['properties'].keys() == schema['properties'].keys()\n"
                           "assert len(api['properties']['effects']['items']['oneOf']) == len(schema['properties']['effects']['items']['oneOf'])\n";
  fs::path root = LEDGER_SOURCE_DIR;
  CHECK(run_program({"/usr/bin/python3", script, ndjson, (root / "schemas/event.schema.json").string(),
                     (root / "schemas/openapi.json").string()},
                    (l.dir.path() / "py.out").string()) == 0);
}

TEST_CASE("events filters by wallet, type and seq range") {
  ledger_dir l(17);
  l.traffic->setup(6, 1'000'000);
  l.traffic->mixed(4, 25, 1'000'000);
  auto src = l.open();
  std::uint64_t wallet = l.traffic->wallets()[2];
  events_options o;
  o.wallets = {wallet};
  o.types = {"transfer"};
  o.from_seq = 5;
  o.progress_bar = false;
  std::FILE* f = std::tmpfile();
  events_report r;
  REQUIRE(run_events(*src, o, f, r).is_ok());
  std::rewind(f);
  std::uint64_t expected = 0;
  std::vector<journal_entry> all;
  REQUIRE(src->read(5, 100000, all).is_ok());
  for (const auto& je : all) {
    event e;
    REQUIRE(decode_event(je.event_bytes, e).is_ok());
    auto ids = event_accounts(e);
    if (event_type_name(e) == "transfer" && std::find(ids.begin(), ids.end(), wallet) != ids.end()) ++expected;
  }
  CHECK(expected > 0);
  CHECK(r.written == expected);
  char line[1 << 16];
  std::uint64_t n = 0;
  simdjson::dom::parser parser;
  while (std::fgets(line, sizeof line, f)) {
    simdjson::dom::element e = parser.parse(std::string(line));
    CHECK(std::string(e["type"].get_string().value()) == "transfer");
    CHECK(e["seq"].get_uint64().value() >= 5);
    bool touches = false;
    for (auto id : e["accounts"].get_array()) touches = touches || id.get_uint64().value() == wallet;
    CHECK(touches);
    ++n;
  }
  std::fclose(f);
  CHECK(n == expected);
}
